using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// The outputs of one trial checked in definition order, up to and including the first output
/// whose failure stops the evaluation (later outputs are not looked at, as in FlashInfer-Bench).
/// </summary>
public sealed record TrialComparison(int Trial, IReadOnlyList<OutputCheck> Outputs)
{
    public bool StopsEvaluation => Outputs.Any(o => o.StopsEvaluation);

    /// <summary>The stopping failure if any, else INCORRECT_NUMERICAL when an output missed its ratio, else PASSED.</summary>
    public EvaluationStatus Status =>
        Outputs.FirstOrDefault(o => o.StopsEvaluation)?.Status
        ?? (Outputs.All(o => o.Passed) ? EvaluationStatus.PASSED : EvaluationStatus.INCORRECT_NUMERICAL);
}
