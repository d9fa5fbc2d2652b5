using AgentForge.Tools.Bench;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Comparison;

public sealed class ToleranceComparerTests
{
    [Fact]
    public void Identical_tensors_match_with_zero_error()
    {
        var stats = ToleranceComparer.Compare(TestTensors.F32(1, -2, 3.5f), TestTensors.F32(1, -2, 3.5f), 1e-2, 1e-2);
        Assert.Equal(1.0, stats.MatchedRatio);
        Assert.Equal(0, stats.MismatchedElements);
        Assert.Equal(0, stats.MaxAbsoluteError);
        Assert.Null(stats.FirstMismatch);
    }

    [Theory]
    [InlineData(1.5f, 1.0f, true)]        // abs 0.5 > atol and rel 0.5 > rtol
    [InlineData(100.5f, 100f, false)]     // abs 0.5 > atol but rel 0.005 <= rtol
    [InlineData(0.005f, 0f, false)]       // rel is huge but abs <= atol
    [InlineData(-0.02f, 0f, true)]        // both exceeded around zero
    public void An_element_is_bad_only_when_both_bounds_are_exceeded(float x, float y, bool bad)
    {
        var stats = ToleranceComparer.Compare(TestTensors.F32(x), TestTensors.F32(y), 1e-2, 1e-2);
        Assert.Equal(bad ? 1 : 0, stats.MismatchedElements);
    }

    [Fact]
    public void The_default_tolerance_is_counted_in_the_same_pass_on_the_vector_path_too()
    {
        // 1000 elements (whole SIMD vectors and a scalar tail); every tenth off by 0.05 from 1.0.
        var reference = Enumerable.Repeat(1f, 1000).ToArray();
        var candidate = reference.Select((v, i) => i % 10 == 0 ? v + 0.05f : v).ToArray();
        var stats = ToleranceComparer.Compare(TestTensors.F32(candidate), TestTensors.F32(reference), atol: 1, rtol: 0.3);
        Assert.Equal(1.0, stats.MatchedRatio);
        Assert.Equal(0.9, stats.MatchedRatioAtDefaultTolerance, 12);
    }

    [Fact]
    public void Bounds_are_strict_inequalities()
    {
        // |2 - 1| = 1 is not > atol 1, whatever the relative error.
        var stats = ToleranceComparer.Compare(TestTensors.F32(2), TestTensors.F32(1), atol: 1, rtol: 0.3);
        Assert.Equal(0, stats.MismatchedElements);
        Assert.Equal(1.0, stats.MaxAbsoluteError);
    }

    [Fact]
    public void Relative_bound_is_compared_in_float32_as_torch_does()
    {
        // 1 - 0.7f is exactly 0.3f = 0.30000001192...: not > rtol in float32 (torch), though > 0.3 in double.
        var stats = ToleranceComparer.Compare(TestTensors.F32(-0.7f), TestTensors.F32(-1f), atol: 0.01, rtol: 0.3);
        Assert.Equal(0, stats.MismatchedElements);
        Assert.Equal((double)0.3f, stats.MaxRelativeError);
    }

    [Theory]
    [InlineData(10, 1, 0.9, true)]    // 1 - 1/10 == 0.9 exactly: passes at the edge
    [InlineData(10, 2, 0.9, false)]
    [InlineData(20, 1, 0.95, true)]
    [InlineData(20, 2, 0.95, false)]
    [InlineData(1000, 0, 1.0, true)]
    [InlineData(1000, 1, 1.0, false)]
    public void Matched_ratio_follows_flashinfer_bench_formula_at_the_edges(int total, int bad, double required, bool passes)
    {
        var candidate = new float[total];
        var reference = new float[total];
        for (var i = 0; i < bad; i++)
        {
            candidate[i * 3 % total] = 5; // far outside both bounds
        }
        var stats = ToleranceComparer.Compare(TestTensors.F32(candidate), TestTensors.F32(reference), 1e-2, 1e-2);
        Assert.Equal(bad, stats.MismatchedElements);
        Assert.Equal(1.0 - bad / (double)total, stats.MatchedRatio);
        Assert.Equal(passes, stats.MeetsRatio(required));
    }

    [Fact]
    public void Empty_tensors_match()
    {
        var empty = new HostTensor(DType.Float32, [0, 4], Array.Empty<byte>());
        var stats = ToleranceComparer.Compare(empty, empty, 1e-2, 1e-2);
        Assert.Equal(1.0, stats.MatchedRatio);
        Assert.True(stats.MeetsRatio(1.0));
    }

    [Fact]
    public void Same_infinity_on_both_sides_matches_and_adds_no_error()
    {
        var stats = ToleranceComparer.Compare(
            TestTensors.F32(float.NegativeInfinity, 1, float.PositiveInfinity),
            TestTensors.F32(float.NegativeInfinity, 1, float.PositiveInfinity), 1e-2, 1e-2);
        Assert.Equal(2, stats.SharedNonFinite);
        Assert.Equal(0, stats.MismatchedElements);
        Assert.Equal(0, stats.CandidateNonFinite);
        Assert.Equal(0, stats.MaxAbsoluteError);
    }

    [Theory]
    [InlineData(float.PositiveInfinity, float.NegativeInfinity)] // other sign
    [InlineData(float.NaN, float.NegativeInfinity)]
    [InlineData(float.NaN, float.NaN)]                           // NaN is the poison of unwritten outputs
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(float.NaN, 1f)]
    public void Non_finite_candidate_not_equal_to_the_reference_is_counted(float x, float y)
    {
        var stats = ToleranceComparer.Compare(TestTensors.F32(0, x), TestTensors.F32(0, y), 1e-2, 1e-2);
        Assert.Equal(1, stats.CandidateNonFinite);
        Assert.Equal(1, stats.MismatchedElements);
        Assert.Equal(1, stats.FirstCandidateNonFinite!.Value.Index);
        Assert.Equal(double.PositiveInfinity, stats.MaxAbsoluteError);
    }

    [Fact]
    public void NaN_on_both_sides_matches_only_when_asked()
    {
        var stats = ToleranceComparer.Compare(new[] { float.NaN, 1f }.AsMemory(), new[] { float.NaN, 1f }.AsMemory(), 1e-2, 1e-2, nanMatchesNaN: true);
        Assert.Equal(1, stats.SharedNonFinite);
        Assert.Equal(0, stats.MismatchedElements);
    }

    [Theory]
    [InlineData(float.NegativeInfinity)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NaN)]
    public void Finite_candidate_against_non_finite_reference_is_a_mismatch(float y)
    {
        // FlashInfer-Bench lets IEEE comparisons call this matched (inf > atol but NaN > rtol is false).
        var stats = ToleranceComparer.Compare(TestTensors.F32(3, 1), TestTensors.F32(y, 1), 1e-2, 1e-2);
        Assert.Equal(1, stats.ReferenceNonFinite);
        Assert.Equal(0, stats.CandidateNonFinite);
        Assert.Equal(0.5, stats.MatchedRatio);
        Assert.Equal(double.PositiveInfinity, stats.MaxAbsoluteError);
        Assert.Equal(0, stats.FirstMismatch!.Value.Index);
    }

    [Fact]
    public void Overflowing_difference_is_an_infinite_error_like_torch()
    {
        var stats = ToleranceComparer.Compare(TestTensors.F32(3e38f), TestTensors.F32(-3e38f), 1e-2, 1e-2);
        Assert.Equal(1, stats.MismatchedElements);
        Assert.Equal(double.PositiveInfinity, stats.MaxAbsoluteError);
        Assert.Equal(0, stats.CandidateNonFinite);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.BFloat16)]
    [InlineData(DType.Float16)]
    [InlineData(DType.Float8E4M3FN)]
    public void Chunked_parallel_comparison_agrees_with_a_scalar_model(DType dtype)
    {
        // 300k elements spans several chunks; values are on the fp8 grid so every dtype holds them exactly.
        const int count = 300_001;
        var random = new Random(42);
        float[] grid = [0, 0.5f, 1, 1.5f, 2, -0.5f, -1, -1.25f, -2, 0.015625f];
        var x = new float[count];
        var y = new float[count];
        for (var i = 0; i < count; i++)
        {
            y[i] = grid[random.Next(grid.Length)];
            x[i] = random.Next(50) == 0 ? grid[random.Next(grid.Length)] : y[i];
        }
        // Non-finite values in the middle of a SIMD vector and across chunk boundaries.
        if (dtype != DType.Float8E4M3FN)
        {
            x[70_001] = y[70_001] = float.NegativeInfinity;
            x[131_075] = float.PositiveInfinity;
        }
        x[200_003] = float.NaN;
        if (dtype == DType.Float8E4M3FN)
        {
            x[200_003] = float.NaN; // fp8 e4m3fn has NaN but no infinities
        }

        var stats = ToleranceComparer.Compare(TestTensors.Floats(dtype, [count], x), TestTensors.Floats(dtype, [count], y), 1e-2, 1e-2);

        var model = Model(x, y, 1e-2f, 1e-2f);
        Assert.Equal(model.Bad, stats.MismatchedElements);
        Assert.Equal(model.CandidateNonFinite, stats.CandidateNonFinite);
        Assert.Equal(model.Shared, stats.SharedNonFinite);
        Assert.Equal(model.FirstBad, stats.FirstMismatch!.Value.Index);
        Assert.Equal(dtype == DType.Float8E4M3FN ? 200_003 : 131_075, stats.FirstCandidateNonFinite!.Value.Index);
        Assert.Equal(1.0 - model.Bad / (double)count, stats.MatchedRatio);
    }

    [Fact]
    public void Maximum_errors_match_a_scalar_model_on_finite_data()
    {
        const int count = 200_000;
        var random = new Random(7);
        var x = new float[count];
        var y = new float[count];
        for (var i = 0; i < count; i++)
        {
            y[i] = (float)(random.NextDouble() * 4 - 2);
            x[i] = y[i] + (float)(random.NextDouble() * 0.02 - 0.01);
        }
        var stats = ToleranceComparer.Compare(TestTensors.F32(x), TestTensors.F32(y), 1e-2, 1e-2);
        var model = Model(x, y, 1e-2f, 1e-2f);
        Assert.Equal(model.MaxAbs, stats.MaxAbsoluteError);
        Assert.Equal(model.MaxRel, stats.MaxRelativeError);
        Assert.Equal(model.Bad, stats.MismatchedElements);
    }

    private static (long Bad, long CandidateNonFinite, long Shared, long FirstBad, double MaxAbs, double MaxRel) Model(float[] x, float[] y, float atol, float rtol)
    {
        long bad = 0, nonFinite = 0, shared = 0, first = -1;
        float maxAbs = 0, maxRel = 0;
        for (var i = 0; i < x.Length; i++)
        {
            bool isBad;
            if (float.IsFinite(x[i]) && float.IsFinite(y[i]))
            {
                var d = MathF.Abs(x[i] - y[i]);
                var r = d / (MathF.Abs(y[i]) + 1e-8f);
                maxAbs = MathF.Max(maxAbs, d);
                maxRel = MathF.Max(maxRel, r);
                isBad = d > atol && r > rtol;
            }
            else if (x[i] == y[i])
            {
                shared++;
                isBad = false;
            }
            else
            {
                nonFinite += float.IsFinite(x[i]) ? 0 : 1;
                isBad = true;
            }
            if (isBad)
            {
                bad++;
                first = first < 0 ? i : first;
            }
        }
        return (bad, nonFinite, shared, first, maxAbs, maxRel);
    }
}
