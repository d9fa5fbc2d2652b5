namespace AgentForge.Tools.Trace;

/// <summary>
/// Checks a workload against its definition: what FlashInfer-Bench would trip over only when it
/// runs the workload (a var axis without a value, a scalar where a tensor is due), found at load.
/// </summary>
public static class WorkloadValidator
{
    /// <summary>
    /// The problems of <paramref name="workload"/>, located at <paramref name="file"/>:<paramref name="line"/>
    /// with field paths under <paramref name="path"/> ("workload" for a trace line).
    /// </summary>
    public static IReadOnlyList<DataError> Check(Definition definition, Workload workload, string file, int line, string path = "workload")
    {
        var errors = new List<DataError>();
        void Error(string field, string message) => errors.Add(new DataError(file, line, JsonTree.Join(path, field), message));

        foreach (var axis in definition.UsedVarAxes())
        {
            if (!workload.Axes.ContainsKey(axis))
            {
                var user = definition.Inputs.Concat(definition.Outputs).First(t => t.Spec.Shape?.Contains(axis) == true);
                Error($"axes.{axis}", $"missing value for var axis '{axis}' (used by {Kind(definition, user.Name)} '{user.Name}')");
            }
        }
        foreach (var (axis, value) in workload.Axes)
        {
            switch (definition.FindAxis(axis))
            {
                case null:
                    Error($"axes.{axis}", $"definition '{definition.Name}' has no axis '{axis}'");
                    break;
                case ConstAxis c when c.Value != value:
                    Error($"axes.{axis}", $"const axis '{axis}' is {c.Value} in the definition, not {value}");
                    break;
            }
        }
        foreach (var (name, input) in workload.Inputs)
        {
            var spec = definition.FindInput(name)?.Spec;
            if (spec is null)
            {
                Error($"inputs.{name}", definition.FindOutput(name) is null
                    ? $"definition '{definition.Name}' has no input '{name}'"
                    : $"'{name}' is an output of definition '{definition.Name}', not an input");
                continue;
            }
            switch (input)
            {
                case ScalarInput when !spec.IsScalar:
                    Error($"inputs.{name}.type", $"input '{name}' is a tensor of shape [{string.Join(", ", spec.Shape!)}], but the workload gives a scalar");
                    break;
                case ScalarInput s when s.Value.Kind == ScalarKind.Float && !spec.DType.IsFloatingPoint():
                    Error($"inputs.{name}.value", $"input '{name}' is {spec.DType.Name()}, but the workload gives the float {s.Value}");
                    break;
                case RandomInput or SafetensorsInput when spec.IsScalar:
                    var given = input is RandomInput ? "random" : "safetensors";
                    Error($"inputs.{name}.type", $"input '{name}' is a scalar (shape null), but the workload gives a tensor ({given})");
                    break;
            }
        }
        return errors;
    }

    private static string Kind(Definition definition, string tensor) =>
        definition.FindInput(tensor) is null ? "output" : "input";
}
