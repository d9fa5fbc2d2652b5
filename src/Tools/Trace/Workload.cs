namespace AgentForge.Tools.Trace;

/// <summary>How a workload provides one input.</summary>
public abstract record WorkloadInput;

public sealed record RandomInput : WorkloadInput;

/// <summary>A tensor read from a safetensors file; <paramref name="Path"/> is relative to the dataset root.</summary>
public sealed record SafetensorsInput(string Path, string TensorKey) : WorkloadInput;

public sealed record ScalarInput(ScalarValue Value) : WorkloadInput;

/// <summary>An optional input left out of the call (`bench --input NAME=absent`): the kernel gets a
/// null tensor and the reference None.</summary>
public sealed record AbsentInput : WorkloadInput;

public enum ScalarKind
{
    Integer,
    Float,
    Boolean,
}

/// <summary>A JSON scalar literal, keeping whether it was written as an integer, a float or a bool.</summary>
public readonly record struct ScalarValue(ScalarKind Kind, long Integer, double Float, bool Boolean)
{
    public static ScalarValue Of(long value) => new(ScalarKind.Integer, value, value, value != 0);

    public static ScalarValue Of(double value) => new(ScalarKind.Float, (long)value, value, value != 0);

    public static ScalarValue Of(bool value) => new(ScalarKind.Boolean, value ? 1 : 0, value ? 1 : 0, value);

    public double AsDouble => Kind switch
    {
        ScalarKind.Integer => Integer,
        ScalarKind.Boolean => Boolean ? 1 : 0,
        _ => Float,
    };

    public long AsInteger => Kind switch
    {
        ScalarKind.Float => (long)Float,
        ScalarKind.Boolean => Boolean ? 1 : 0,
        _ => Integer,
    };

    public override string ToString() => Kind switch
    {
        ScalarKind.Integer => Integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ScalarKind.Boolean => Boolean ? "true" : "false",
        _ => Float.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>One concrete workload: var-axis values and the provider of each input.</summary>
public sealed record Workload(
    string Uuid,
    IReadOnlyDictionary<string, long> Axes,
    IReadOnlyList<KeyValuePair<string, WorkloadInput>> Inputs)
{
    /// <summary>
    /// Set on a workload derived from a dataset one by input overrides (`bench --input`), e.g.
    /// "state=absent,scale=0"; null for the dataset's own. The derived workload keeps the uuid, so
    /// its random draws and synthesized blobs are the original's, and differs in <see cref="CacheId"/>.
    /// </summary>
    public string? Variant { get; init; }

    /// <summary>What the input and reference caches key this workload by: the uuid, plus the variant.</summary>
    public string CacheId => Variant is null ? Uuid : $"{Uuid}+{Variant}";

    public WorkloadInput? FindInput(string name) => Inputs.FirstOrDefault(i => i.Key == name).Value;

    public bool Equals(Workload? other) =>
        other is not null
        && Uuid == other.Uuid
        && Variant == other.Variant
        && Structural.DictionaryEqual(Axes, other.Axes)
        && Structural.PairsEqual(Inputs, other.Inputs);

    public override int GetHashCode() => CacheId.GetHashCode(StringComparison.Ordinal);
}
