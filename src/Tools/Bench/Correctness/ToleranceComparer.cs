using System.Numerics;
using AgentForge.Tools.Tensors;

namespace AgentForge.Tools.Bench;

/// <summary>
/// Element-wise comparison under FlashInfer-Bench's tolerance rule, extended to non-finite values.
/// <para>
/// Both sides are read as float32. An element pair is <b>matched</b> when
/// <list type="bullet">
/// <item>both are finite and NOT (<c>|x-y| &gt; atol</c> AND <c>|x-y|/(|y|+1e-8) &gt; rtol</c>), all in
/// float32 with atol, rtol and 1e-8 rounded to float32 as torch does with Python scalars; or</item>
/// <item>both are the same infinity (same sign); or both are NaN, only when
/// <c>nanMatchesNaN</c> (scores computed by the harness, never for kernel outputs: NaN is the
/// poison of an unwritten element).</item>
/// </list>
/// Anything else is a mismatch: a finite value against a non-finite reference, an infinity of the
/// other sign, a non-finite candidate where the reference is finite. On finite data this is exactly
/// FlashInfer-Bench's <c>compute_error_stats</c>, matched ratio formula included. Where the reference
/// is non-finite, FlashInfer-Bench lets IEEE NaN comparisons decide (a finite candidate against an
/// infinite reference counts as matched there); here it must produce the same value.
/// </para>
/// Outputs can hold 100M elements: the work is split into chunks compared in parallel, each
/// decoded into a thread's scratch buffer and compared with SIMD when all its lanes are finite.
/// </summary>
public static class ToleranceComparer
{
    private const int ChunkElements = 1 << 16;
    private const float Epsilon = 1e-8f;

    public static ToleranceStats Compare(HostTensor candidate, HostTensor reference, double atol, double rtol, bool nanMatchesNaN = false)
    {
        if (candidate.ElementCount != reference.ElementCount)
        {
            throw new ArgumentException(
                $"cannot compare {candidate.ShapeText} with {reference.ShapeText}: element counts differ");
        }
        return Compare(Float32View.Of(candidate), Float32View.Of(reference), atol, rtol, nanMatchesNaN);
    }

    public static ToleranceStats Compare(ReadOnlyMemory<float> candidate, ReadOnlyMemory<float> reference, double atol, double rtol, bool nanMatchesNaN = false)
    {
        if (candidate.Length != reference.Length)
        {
            throw new ArgumentException($"cannot compare {candidate.Length} elements with {reference.Length}");
        }
        return Compare(Float32View.Of(candidate), Float32View.Of(reference), atol, rtol, nanMatchesNaN);
    }

    internal static ToleranceStats Compare(Float32View candidate, Float32View reference, double atol, double rtol, bool nanMatchesNaN)
    {
        var total = candidate.Length;
        var standard = EvaluationSettings.Default;
        var bounds = new Bounds((float)atol, (float)rtol, nanMatchesNaN, (float)standard.Atol, (float)standard.Rtol);
        var chunks = (total + ChunkElements - 1) / ChunkElements;
        var merged = new Partial();
        var gate = new object();
        if (chunks <= 1)
        {
            var scratch = (int)Math.Min(total, ChunkElements);
            var (x, y) = (new float[scratch], new float[scratch]);
            for (long c = 0; c < chunks; c++)
            {
                merged.Merge(CompareChunk(candidate, reference, c, bounds, x, y));
            }
        }
        else
        {
            Parallel.For(
                0L,
                chunks,
                () => (X: new float[ChunkElements], Y: new float[ChunkElements], Acc: new Partial()),
                (c, _, local) =>
                {
                    local.Acc.Merge(CompareChunk(candidate, reference, c, bounds, local.X, local.Y));
                    return local;
                },
                local =>
                {
                    lock (gate)
                    {
                        merged.Merge(local.Acc);
                    }
                });
        }
        return merged.ToStats(total);
    }

    /// <summary>The tolerance that decides, and FlashInfer-Bench's default one, counted in the same pass.</summary>
    private readonly record struct Bounds(float Atol, float Rtol, bool NanMatchesNaN, float DefaultAtol, float DefaultRtol);

    private static Partial CompareChunk(Float32View candidate, Float32View reference, long chunk, Bounds bounds, float[] xScratch, float[] yScratch)
    {
        var start = chunk * ChunkElements;
        var count = (int)Math.Min(ChunkElements, candidate.Length - start);
        var x = candidate.Read(start, count, xScratch);
        var y = reference.Read(start, count, yScratch);
        var acc = new Partial();
        var i = 0;
        if (Vector.IsHardwareAccelerated && count >= Vector<float>.Count)
        {
            var width = Vector<float>.Count;
            var atol = new Vector<float>(bounds.Atol);
            var rtol = new Vector<float>(bounds.Rtol);
            var eps = new Vector<float>(Epsilon);
            var defaultAtol = new Vector<float>(bounds.DefaultAtol);
            var defaultRtol = new Vector<float>(bounds.DefaultRtol);
            var badAtDefaultLanes = Vector<int>.Zero;
            var maxAbs = Vector<float>.Zero;
            var maxRel = Vector<float>.Zero;
            var badLanes = Vector<int>.Zero;
            for (; i <= count - width; i += width)
            {
                var vx = new Vector<float>(x[i..]);
                var vy = new Vector<float>(y[i..]);
                // x - x is 0 exactly when x is finite (inf - inf and NaN give NaN).
                if (!Vector.EqualsAll(vx - vx, Vector<float>.Zero) || !Vector.EqualsAll(vy - vy, Vector<float>.Zero))
                {
                    for (var lane = i; lane < i + width; lane++)
                    {
                        acc.AddScalar(start + lane, x[lane], y[lane], bounds);
                    }
                    continue;
                }
                var diff = Vector.Abs(vx - vy);
                var rel = diff / (Vector.Abs(vy) + eps);
                var bad = Vector.GreaterThan(diff, atol) & Vector.GreaterThan(rel, rtol);
                badAtDefaultLanes -= Vector.GreaterThan(diff, defaultAtol) & Vector.GreaterThan(rel, defaultRtol);
                if (!Vector.EqualsAll(bad, Vector<int>.Zero))
                {
                    badLanes -= bad; // a true lane is -1
                    if (acc.FirstMismatch is null)
                    {
                        for (var lane = 0; lane < width; lane++)
                        {
                            if (bad[lane] != 0)
                            {
                                acc.FirstMismatch = new ElementPair(start + i + lane, x[i + lane], y[i + lane]);
                                break;
                            }
                        }
                    }
                }
                maxAbs = Vector.Max(maxAbs, diff);
                maxRel = Vector.Max(maxRel, rel);
            }
            acc.ToleranceBad += Vector.Sum(badLanes);
            acc.ToleranceBadAtDefault += Vector.Sum(badAtDefaultLanes);
            for (var lane = 0; lane < width; lane++)
            {
                acc.MaxAbs = Math.Max(acc.MaxAbs, maxAbs[lane]);
                acc.MaxRel = Math.Max(acc.MaxRel, maxRel[lane]);
            }
        }
        for (; i < count; i++)
        {
            acc.AddScalar(start + i, x[i], y[i], bounds);
        }
        return acc;
    }

    /// <summary>Counts of one chunk or of several merged; merging keeps the lowest first indices.</summary>
    private sealed class Partial
    {
        public long ToleranceBad;
        public long ToleranceBadAtDefault;
        public long CandidateNonFinite;
        public long CandidateInfinite;
        public long SharedNonFinite;
        public long ReferenceNonFinite;
        public float MaxAbs;
        public float MaxRel;
        public ElementPair? FirstMismatch;
        public ElementPair? FirstCandidateNonFinite;

        public void AddScalar(long index, float x, float y, Bounds bounds)
        {
            var xFinite = float.IsFinite(x);
            var yFinite = float.IsFinite(y);
            if (xFinite && yFinite)
            {
                var diff = MathF.Abs(x - y);
                var rel = diff / (MathF.Abs(y) + Epsilon);
                if (diff > bounds.Atol && rel > bounds.Rtol)
                {
                    ToleranceBad++;
                    FirstMismatch ??= new ElementPair(index, x, y);
                }
                if (diff > bounds.DefaultAtol && rel > bounds.DefaultRtol)
                {
                    ToleranceBadAtDefault++;
                }
                MaxAbs = Math.Max(MaxAbs, diff);
                MaxRel = Math.Max(MaxRel, rel);
                return;
            }
            // Same infinity on both sides (-inf lse of an empty row), or NaN on both when allowed.
            if (!xFinite && !yFinite && (x == y || (bounds.NanMatchesNaN && float.IsNaN(x) && float.IsNaN(y))))
            {
                SharedNonFinite++;
                return;
            }
            if (!xFinite)
            {
                CandidateNonFinite++;
                if (float.IsInfinity(x))
                {
                    CandidateInfinite++;
                }
                FirstCandidateNonFinite ??= new ElementPair(index, x, y);
            }
            else
            {
                ReferenceNonFinite++;
            }
            FirstMismatch ??= new ElementPair(index, x, y);
        }

        public void Merge(Partial other)
        {
            ToleranceBad += other.ToleranceBad;
            ToleranceBadAtDefault += other.ToleranceBadAtDefault;
            CandidateNonFinite += other.CandidateNonFinite;
            CandidateInfinite += other.CandidateInfinite;
            SharedNonFinite += other.SharedNonFinite;
            ReferenceNonFinite += other.ReferenceNonFinite;
            MaxAbs = Math.Max(MaxAbs, other.MaxAbs);
            MaxRel = Math.Max(MaxRel, other.MaxRel);
            FirstMismatch = Earlier(FirstMismatch, other.FirstMismatch);
            FirstCandidateNonFinite = Earlier(FirstCandidateNonFinite, other.FirstCandidateNonFinite);
        }

        public ToleranceStats ToStats(long total)
        {
            var mismatched = ToleranceBad + CandidateNonFinite + ReferenceNonFinite;
            var ratio = Ratio(mismatched, total);
            var unmatchedNonFinite = CandidateNonFinite + ReferenceNonFinite > 0;
            return new ToleranceStats(
                total,
                mismatched,
                ratio,
                unmatchedNonFinite ? double.PositiveInfinity : MaxAbs,
                unmatchedNonFinite ? double.PositiveInfinity : MaxRel,
                CandidateNonFinite,
                CandidateInfinite,
                SharedNonFinite,
                ReferenceNonFinite,
                FirstMismatch,
                FirstCandidateNonFinite,
                Ratio(ToleranceBadAtDefault + CandidateNonFinite + ReferenceNonFinite, total));
        }

        // FlashInfer-Bench: an empty tensor matches; otherwise 1 - bad/total, clamped, in double.
        private static double Ratio(long mismatched, long total) =>
            total == 0 ? 1.0 : Math.Clamp(1.0 - mismatched / (double)total, 0.0, 1.0);

        private static ElementPair? Earlier(ElementPair? a, ElementPair? b) =>
            a is null ? b : b is null ? a : a.Value.Index <= b.Value.Index ? a : b;
    }
}
