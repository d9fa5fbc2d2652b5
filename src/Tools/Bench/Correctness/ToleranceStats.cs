namespace AgentForge.Tools.Bench;

/// <summary>One element of a comparison, located by its flat (row-major) index.</summary>
public readonly record struct ElementPair(long Index, float Candidate, float Reference);

/// <summary>
/// What the element-wise comparison of one tensor pair found. Errors are float32 values (the
/// precision of the comparison) widened to double; they cover the pairs where both sides are finite
/// and become +inf as soon as any non-finite value is left unmatched.
/// <see cref="MatchedRatioAtDefaultTolerance"/> is the matched ratio under FlashInfer-Bench's default
/// tolerance (atol = rtol = 1e-2), counted in the same pass whatever tolerance decided.
/// </summary>
public sealed record ToleranceStats(
    long TotalElements,
    long MismatchedElements,
    double MatchedRatio,
    double MaxAbsoluteError,
    double MaxRelativeError,
    long CandidateNonFinite,
    long CandidateInfinite,
    long SharedNonFinite,
    long ReferenceNonFinite,
    ElementPair? FirstMismatch,
    ElementPair? FirstCandidateNonFinite,
    double MatchedRatioAtDefaultTolerance)
{
    /// <summary>FlashInfer-Bench's test, <c>matched_ratio &lt; required</c> fails; kept literally for identical edges.</summary>
    public bool MeetsRatio(double requiredMatchedRatio) => !(MatchedRatio < requiredMatchedRatio);
}
