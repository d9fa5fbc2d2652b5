using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// The verdict on one output of one trial. <see cref="StopsEvaluation"/> marks the failures after
/// which FlashInfer-Bench returns at once (shape, dtype, non-finite candidate values, invalid
/// indices); a tolerance failure does not stop: every trial still runs and the worst error counts.
/// <see cref="MaxAbsoluteError"/> and <see cref="MaxRelativeError"/> are what goes into the trace's
/// correctness (null where FlashInfer-Bench writes none: shape and dtype failures).
/// </summary>
public sealed record OutputCheck(
    string Output,
    EvaluationStatus Status,
    bool StopsEvaluation,
    double? MaxAbsoluteError,
    double? MaxRelativeError,
    ToleranceStats? Stats,
    string Log)
{
    public bool Passed => Status == EvaluationStatus.PASSED;

    public static OutputCheck FromTolerance(string output, ToleranceStats stats, double requiredMatchedRatio, string log) => new(
        output,
        stats.MeetsRatio(requiredMatchedRatio) ? EvaluationStatus.PASSED : EvaluationStatus.INCORRECT_NUMERICAL,
        StopsEvaluation: false,
        stats.MaxAbsoluteError,
        stats.MaxRelativeError,
        stats,
        log);
}
