namespace AgentForge.Tools.Trace;

/// <summary>How a workload provides one input.</summary>
public abstract record WorkloadInput;

public sealed record RandomInput : WorkloadInput;

/// <summary>A tensor read from a safetensors file; <paramref name="Path"/> is relative to the dataset root.</summary>
public sealed record SafetensorsInput(string Path, string TensorKey) : WorkloadInput;

public sealed record ScalarInput(ScalarValue Value) : WorkloadInput;

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
    public WorkloadInput? FindInput(string name) => Inputs.FirstOrDefault(i => i.Key == name).Value;

    public bool Equals(Workload? other) =>
        other is not null
        && Uuid == other.Uuid
        && Structural.DictionaryEqual(Axes, other.Axes)
        && Structural.PairsEqual(Inputs, other.Inputs);

    public override int GetHashCode() => Uuid.GetHashCode(StringComparison.Ordinal);
}
