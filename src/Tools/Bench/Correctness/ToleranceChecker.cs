using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// FlashInfer-Bench's default check of one output: a non-finite candidate value fails at once
/// (INCORRECT_NUMERICAL, errors inf when any is infinite, else NaN, as FlashInfer-Bench writes
/// them), then the tolerance rule with the matched ratio. One refinement, see
/// <see cref="ToleranceComparer"/>: a candidate infinity exactly where the reference holds the same
/// infinity is a match, not a failure, because some references define such values (the -inf
/// base-2 lse of a DSA sparse-attention row that selects no token); FlashInfer-Bench's own DSA
/// sparse-attention evaluator accepts those too.
/// </summary>
public sealed class ToleranceChecker : IOutputChecker
{
    public static ToleranceChecker Instance { get; } = new();

    public OutputCheck Check(OutputCheckContext context)
    {
        var settings = context.Settings;
        var stats = ToleranceComparer.Compare(context.Candidate, context.Reference, settings.Atol, settings.Rtol);
        var shape = context.Candidate.Shape;
        if (stats.CandidateNonFinite > 0)
        {
            var error = stats.CandidateInfinite > 0 ? double.PositiveInfinity : double.NaN;
            var first = stats.FirstCandidateNonFinite!.Value;
            var log =
                $"output '{context.OutputName}': {stats.CandidateNonFinite} non-finite value(s) the reference does not hold at the same place " +
                $"({stats.CandidateInfinite} inf, {stats.CandidateNonFinite - stats.CandidateInfinite} NaN); first at {ElementFormat.Index(first.Index, shape)}: " +
                $"got {ElementFormat.Value(first.Candidate)}, expected {ElementFormat.Value(first.Reference)}" +
                $"{(float.IsNaN(first.Candidate) ? " (NaN is also the poison of an element the kernel did not write)" : "")}";
            return new OutputCheck(context.OutputName, EvaluationStatus.INCORRECT_NUMERICAL, StopsEvaluation: true, error, error, stats, log);
        }
        return OutputCheck.FromTolerance(context.OutputName, stats, settings.RequiredMatchedRatio, ElementFormat.Summary($"output '{context.OutputName}'", stats, settings, shape))
            with { MatchedRatioAtDefaultTolerance = stats.MatchedRatioAtDefaultTolerance };
    }
}
