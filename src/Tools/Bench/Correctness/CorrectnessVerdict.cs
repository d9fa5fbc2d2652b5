using System.Globalization;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// The correctness part of an evaluation, as FlashInfer-Bench writes it: status, correctness
/// (null after a shape or dtype failure) and log.
/// </summary>
public sealed record CorrectnessVerdict(EvaluationStatus Status, Correctness? Correctness, string Log)
{
    public bool Passed => Status == EvaluationStatus.PASSED;

    /// <summary>
    /// The trace's evaluation. FlashInfer-Bench stamps it with Python's <c>datetime.now().isoformat()</c>:
    /// local time, microseconds, no offset.
    /// </summary>
    public Evaluation ToEvaluation(TraceEnvironment environment, DateTimeOffset timestamp, Performance? performance = null) =>
        new(Status, environment, timestamp.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture), Log, Correctness,
            Passed ? performance : null);
}
