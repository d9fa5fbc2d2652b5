namespace AgentForge.Tools.Trace;

/// <summary>A symbolic dimension of a definition: a constant or a per-workload variable.</summary>
public abstract record AxisSpec(string? Description);

public sealed record ConstAxis(long Value, string? Description = null) : AxisSpec(Description);

public sealed record VarAxis(string? Description = null) : AxisSpec(Description);

/// <summary>
/// Shape (axis names, or null for a scalar) and dtype of one input or output.
/// <paramref name="Optional"/> carries the dataset's non-schema "optional" flag (GDN's state).
/// </summary>
public sealed record TensorSpec(IReadOnlyList<string>? Shape, DType DType, string? Description = null, bool Optional = false)
{
    public bool IsScalar => Shape is null;

    public bool Equals(TensorSpec? other) =>
        other is not null
        && Structural.ListEqual(Shape, other.Shape)
        && DType == other.DType
        && Description == other.Description
        && Optional == other.Optional;

    public override int GetHashCode() => HashCode.Combine(Shape?.Count, DType, Optional);
}

/// <summary>A named input or output, kept in definition order (the kernel's interface order).</summary>
public sealed record NamedTensorSpec(string Name, TensorSpec Spec);

/// <summary>A FlashInfer-Bench definition: axes, inputs and outputs in interface order, reference code.</summary>
public sealed record Definition(
    string Name,
    string OpType,
    IReadOnlyList<KeyValuePair<string, AxisSpec>> Axes,
    IReadOnlyList<NamedTensorSpec> Inputs,
    IReadOnlyList<NamedTensorSpec> Outputs,
    string Reference,
    IReadOnlyList<string> Tags,
    string? Description,
    IReadOnlyList<string> Constraints)
{
    public bool Equals(Definition? other) =>
        other is not null
        && Name == other.Name
        && OpType == other.OpType
        && Structural.PairsEqual(Axes, other.Axes)
        && Structural.ListEqual(Inputs, other.Inputs)
        && Structural.ListEqual(Outputs, other.Outputs)
        && Reference == other.Reference
        && Structural.ListEqual(Tags, other.Tags)
        && Description == other.Description
        && Structural.ListEqual(Constraints, other.Constraints);

    public override int GetHashCode() => HashCode.Combine(Name, OpType, Reference);

    /// <summary>Names of the var axes that some input or output shape uses: a workload must give each a value.</summary>
    public IEnumerable<string> UsedVarAxes() =>
        Inputs.Concat(Outputs)
            .SelectMany(t => t.Spec.Shape ?? [])
            .Distinct()
            .Where(a => FindAxis(a) is VarAxis);

    public AxisSpec? FindAxis(string name) => Axes.FirstOrDefault(a => a.Key == name).Value;

    public NamedTensorSpec? FindInput(string name) => Inputs.FirstOrDefault(i => i.Name == name);

    public NamedTensorSpec? FindOutput(string name) => Outputs.FirstOrDefault(o => o.Name == name);

    /// <summary>Concrete shape of a tensor spec under a workload's var-axis values.</summary>
    public long[] ResolveShape(TensorSpec spec, IReadOnlyDictionary<string, long> varAxes)
    {
        if (spec.Shape is null)
        {
            return [];
        }
        var shape = new long[spec.Shape.Count];
        for (var i = 0; i < shape.Length; i++)
        {
            var axisName = spec.Shape[i];
            shape[i] = FindAxis(axisName) switch
            {
                ConstAxis c => c.Value,
                VarAxis when varAxes.TryGetValue(axisName, out var v) => v,
                VarAxis => throw new KeyNotFoundException($"var axis '{axisName}' has no value in the workload"),
                _ => throw new KeyNotFoundException($"axis '{axisName}' is not declared by definition '{Name}'"),
            };
        }
        return shape;
    }
}
