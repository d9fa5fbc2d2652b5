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

    /// <summary>
    /// The matched ratio under FlashInfer-Bench's default tolerance (atol = rtol = 1e-2), reported
    /// beside the one the verdict used when a definition runs looser (the MoE contest's atol 1,
    /// rtol 0.3): how much slack a kernel leans on. Null where no element-wise comparison ran.
    /// </summary>
    public double? MatchedRatioAtDefaultTolerance { get; init; }

    public static OutputCheck FromTolerance(string output, ToleranceStats stats, double requiredMatchedRatio, string log) => new(
        output,
        stats.MeetsRatio(requiredMatchedRatio) ? EvaluationStatus.PASSED : EvaluationStatus.INCORRECT_NUMERICAL,
        StopsEvaluation: false,
        stats.MaxAbsoluteError,
        stats.MaxRelativeError,
        stats,
        log);
}
