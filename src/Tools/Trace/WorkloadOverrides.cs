using System.Globalization;

namespace AgentForge.Tools.Trace;

/// <summary>
/// Input overrides applied to every selected workload (`bench --input NAME=VALUE`): "absent" for an
/// input the definition marks optional, a number for a scalar input. The cases a definition allows
/// but its workloads never hold (GDN without an initial state, scale 0) run as derived workloads:
/// same uuid, axes and other inputs, the overrides as their <see cref="Workload.Variant"/>.
/// </summary>
public sealed class WorkloadOverrides
{
    private WorkloadOverrides(IReadOnlyList<KeyValuePair<string, WorkloadInput>> inputs)
    {
        Inputs = inputs;
        Variant = string.Join(",", inputs.Select(i => $"{i.Key}={(i.Value is ScalarInput s ? s.Value.ToString() : "absent")}"));
    }

    /// <summary>The overriding inputs, in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, WorkloadInput>> Inputs { get; }

    /// <summary>"name=value,..." in the order given, e.g. "state=absent,scale=0".</summary>
    public string Variant { get; }

    /// <summary>
    /// The overrides of <paramref name="pairs"/> (NAME=VALUE each) for <paramref name="definition"/>;
    /// null with no pairs, or with <paramref name="error"/> set when one names no input of the
    /// definition, repeats a name, leaves out a required input or gives a value its input cannot take.
    /// </summary>
    public static WorkloadOverrides? Parse(Definition definition, IReadOnlyList<string> pairs, out string? error)
    {
        error = null;
        if (pairs.Count == 0)
        {
            return null;
        }
        var inputs = new List<KeyValuePair<string, WorkloadInput>>();
        foreach (var pair in pairs)
        {
            var parts = pair.Split('=', 2);
            var name = parts[0].Trim();
            var text = parts.Length == 2 ? parts[1].Trim() : "";
            if (parts.Length != 2 || name.Length == 0 || text.Length == 0)
            {
                error = $"--input '{pair}': expected NAME=VALUE (VALUE 'absent' or a number)";
                return null;
            }
            var named = definition.FindInput(name);
            if (named is null)
            {
                error = $"--input {name}: not an input of {definition.Name} (its inputs: {string.Join(", ", definition.Inputs.Select(i => i.Name))})";
                return null;
            }
            if (inputs.Any(i => i.Key == name))
            {
                error = $"--input {name}: given twice";
                return null;
            }
            var input = ParseValue(definition, name, named.Spec, text, out error);
            if (input is null)
            {
                return null;
            }
            inputs.Add(new(name, input));
        }
        return new WorkloadOverrides(inputs);
    }

    /// <summary>The workload with the overriding inputs in place of its own (or added, where it left one out).</summary>
    public WorkloadEntry Apply(WorkloadEntry entry)
    {
        var replaced = entry.Workload.Inputs
            .Select(i => Inputs.FirstOrDefault(o => o.Key == i.Key) is { Value: not null } o ? o : i)
            .Concat(Inputs.Where(o => entry.Workload.FindInput(o.Key) is null))
            .ToList();
        return entry with { Workload = entry.Workload with { Inputs = replaced, Variant = Variant } };
    }

    private static WorkloadInput? ParseValue(Definition definition, string name, TensorSpec spec, string text, out string? error)
    {
        error = null;
        if (string.Equals(text, "absent", StringComparison.OrdinalIgnoreCase))
        {
            if (!spec.Optional)
            {
                error = $"--input {name}=absent: {definition.Name} does not mark '{name}' optional";
                return null;
            }
            return new AbsentInput();
        }
        if (!spec.IsScalar)
        {
            error = $"--input {name}={text}: '{name}' is a tensor input; only 'absent' (for an optional input) can replace it";
            return null;
        }
        if (spec.DType == DType.Bool)
        {
            if (bool.TryParse(text, out var flag))
            {
                return new ScalarInput(ScalarValue.Of(flag));
            }
        }
        else if (spec.DType.IsFloatingPoint())
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
            {
                return new ScalarInput(ScalarValue.Of(value));
            }
        }
        else if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var integer))
        {
            return new ScalarInput(ScalarValue.Of(integer));
        }
        error = $"--input {name}={text}: not a value of the scalar input's dtype {spec.DType.Name()}";
        return null;
    }
}
