namespace AgentForge.Tools.Trace;

/// <summary>FlashInfer-Bench's EvaluationStatus values; written with these exact names.</summary>
public enum EvaluationStatus
{
    PASSED,
    INCORRECT_SHAPE,
    INCORRECT_NUMERICAL,
    INCORRECT_DTYPE,
    RUNTIME_ERROR,
    COMPILE_ERROR,
    TIMEOUT,
}

public sealed record TraceEnvironment(string Hardware, IReadOnlyDictionary<string, string> Libs)
{
    public bool Equals(TraceEnvironment? other) =>
        other is not null && Hardware == other.Hardware && Structural.DictionaryEqual(Libs, other.Libs);

    public override int GetHashCode() => Hardware.GetHashCode(StringComparison.Ordinal);
}

/// <summary>Worst errors observed; <paramref name="Extra"/> holds free-form metrics (matched ratio, ...).</summary>
public sealed record Correctness(double MaxRelativeError, double MaxAbsoluteError, System.Text.Json.Nodes.JsonObject? Extra = null)
{
    public bool Equals(Correctness? other) =>
        other is not null
        && MaxRelativeError.Equals(other.MaxRelativeError)
        && MaxAbsoluteError.Equals(other.MaxAbsoluteError)
        && System.Text.Json.Nodes.JsonNode.DeepEquals(Extra, other.Extra);

    public override int GetHashCode() => HashCode.Combine(MaxRelativeError, MaxAbsoluteError);
}

public sealed record Performance(double LatencyMs, double ReferenceLatencyMs, double SpeedupFactor);

public sealed record Evaluation(
    EvaluationStatus Status,
    TraceEnvironment Environment,
    string Timestamp,
    string Log = "",
    Correctness? Correctness = null,
    Performance? Performance = null);

/// <summary>A trace line: a workload, optionally the solution evaluated on it and the result.</summary>
public sealed record Trace(string Definition, Workload Workload, string? Solution = null, Evaluation? Evaluation = null);
