using AgentForge.Tools.Inputs;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Inputs;

public sealed class RandomTensorsTests
{
    private const int N = 1 << 18;

    private static double[] Values(HostTensor tensor)
    {
        var bytes = tensor.Bytes.Span;
        var result = new double[tensor.ElementCount];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = tensor.DType.IsFloatingPoint()
                ? ElementCodec.GetFloat(tensor.DType, bytes, i)
                : ElementCodec.GetInteger(tensor.DType, bytes, i);
        }
        return result;
    }

    private static (double Mean, double Variance) Moments(double[] values)
    {
        var mean = values.Average();
        return (mean, values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    [InlineData(DType.BFloat16)]
    public void Float_types_are_standard_normal(DType dtype)
    {
        var values = Values(RandomTensors.Generate(dtype, [N], 42));
        var (mean, variance) = Moments(values);
        // Five standard errors: a false alarm is a one-in-a-million event, and the seed is fixed.
        Assert.InRange(mean, -5 / Math.Sqrt(N), 5 / Math.Sqrt(N));
        Assert.InRange(variance, 1 - 5 * Math.Sqrt(2.0 / N), 1 + 5 * Math.Sqrt(2.0 / N));
        var withinOneSigma = values.Count(v => Math.Abs(v) < 1) / (double)N;
        Assert.InRange(withinOneSigma, 0.6827 - 0.005, 0.6827 + 0.005);
        var beyondThree = values.Count(v => Math.Abs(v) > 3) / (double)N;
        Assert.InRange(beyondThree, 0.0027 - 0.0006, 0.0027 + 0.0006);
        Assert.All(values, v => Assert.True(double.IsFinite(v) && Math.Abs(v) < 6.7));
    }

    [Theory]
    [InlineData(DType.Float8E4M3FN)]
    [InlineData(DType.Float8E5M2)]
    public void Fp8_is_a_clamped_normal_cast_to_fp8(DType dtype)
    {
        var tensor = RandomTensors.Generate(dtype, [N], 7);
        var values = Values(tensor);
        Assert.All(values, v => Assert.InRange(v, -2.0, 2.0));
        var (mean, variance) = Moments(values);
        Assert.InRange(mean, -5 / Math.Sqrt(N), 5 / Math.Sqrt(N));
        // Var(clamp(N(0,1), -2, 2)) = 0.9205; fp8 rounding adds at most ~0.3%.
        Assert.InRange(variance, 0.9205 - 0.015, 0.9205 + 0.015);
        var atTheClamp = values.Count(v => Math.Abs(v) == 2.0) / (double)N;
        // P(|X| >= midpoint below 2): e4m3fn 1.9375 -> 0.0527, e5m2 1.875 -> 0.0608.
        var expected = dtype == DType.Float8E4M3FN ? 0.0527 : 0.0608;
        Assert.InRange(atTheClamp, expected - 0.003, expected + 0.003);
    }

    [Theory]
    [InlineData(DType.Float8E4M3FN)]
    [InlineData(DType.Float8E5M2)]
    public void Fp8_table_sampling_matches_box_muller_then_cast_code_by_code(DType dtype)
    {
        // The fast table sampler must draw each code as often as the literal recipe does:
        // N(0,1) floats, clamped to [-2, 2], cast with torch's rounding.
        Func<float, byte> encode = dtype == DType.Float8E4M3FN ? ElementEncoder.FloatToFloat8E4M3FN : ElementEncoder.FloatToFloat8E5M2;
        var sampled = new int[256];
        foreach (var b in RandomTensors.Generate(dtype, [N], 11).Bytes.Span)
        {
            sampled[b]++;
        }
        var literal = new int[256];
        var rng = new CounterRng(99);
        for (var i = 0; i < N; i++)
        {
            literal[encode(Math.Clamp(RandomTensors.NormalAt(rng, i), -2f, 2f))]++;
        }
        for (var code = 0; code < 256; code++)
        {
            // Difference of two binomial counts: within 5 standard deviations (plus a little slack for tiny p).
            var p = (sampled[code] + literal[code]) / (2.0 * N);
            var sigma = Math.Sqrt(2 * N * p * (1 - p));
            Assert.True(Math.Abs(sampled[code] - literal[code]) <= 5 * sigma + 3,
                $"code 0x{code:X2}: table {sampled[code]}, literal recipe {literal[code]}");
        }
    }

    [Fact]
    public void Fp8_tables_are_probability_distributions()
    {
        foreach (var dtype in new[] { DType.Float8E4M3FN, DType.Float8E5M2 })
        {
            var table = Fp8NormalTable.For(dtype);
            Assert.Equal(1.0, table.Probabilities.Sum(), 12);
            Assert.All(table.Probabilities, p => Assert.True(p > 1e-6));
            // Spot check: P(|X| < 0.5 x 2^-9) for e4m3fn's zero code.
            Assert.Equal(2 * 0.3989422804 * 0.0009765625, Fp8NormalTable.E4M3FN.Probabilities[0], 9);
        }
        Assert.Equal(0.9544997361, Fp8NormalTable.HalfNormalMass(2.0), 9);
    }

    [Fact]
    public void Int8_is_uniform_over_its_whole_range()
    {
        var values = Values(RandomTensors.Generate(DType.Int8, [N], 3));
        Assert.Equal(-128, values.Min());
        Assert.Equal(127, values.Max());
        var (mean, variance) = Moments(values);
        Assert.InRange(mean, -0.5 - 0.8, -0.5 + 0.8);
        Assert.InRange(variance, 5461.25 * 0.98, 5461.25 * 1.02);
    }

    [Theory]
    [InlineData(DType.Int16)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Int64)]
    public void Wide_integers_are_uniform_on_minus_1024_to_1023(DType dtype)
    {
        var values = Values(RandomTensors.Generate(dtype, [N], 5));
        Assert.Equal(-1024, values.Min());
        Assert.Equal(1023, values.Max());
        var (mean, variance) = Moments(values);
        Assert.InRange(mean, -0.5 - 6, -0.5 + 6);
        Assert.InRange(variance, 349525.25 * 0.98, 349525.25 * 1.02);
    }

    [Fact]
    public void Bool_is_a_fair_coin_of_zeros_and_ones()
    {
        var tensor = RandomTensors.Generate(DType.Bool, [N], 8);
        Assert.All(tensor.Bytes.ToArray(), b => Assert.True(b is 0 or 1));
        var ones = tensor.Bytes.ToArray().Count(b => b == 1) / (double)N;
        Assert.InRange(ones, 0.5 - 0.005, 0.5 + 0.005);
    }

    [Fact]
    public void Normal_with_a_standard_deviation_scales_the_draws()
    {
        var values = Values(RandomTensors.GenerateNormal(DType.BFloat16, [N], 1, 0.01f));
        var (mean, variance) = Moments(values);
        Assert.InRange(mean, -5e-2 / Math.Sqrt(N), 5e-2 / Math.Sqrt(N));
        Assert.InRange(Math.Sqrt(variance), 0.0098, 0.0102);
    }

    public static TheoryData<DType> AllTypes =>
        [DType.Float32, DType.Float16, DType.BFloat16, DType.Float8E4M3FN, DType.Float8E5M2, DType.Float4E2M1,
         DType.Int64, DType.Int32, DType.Int16, DType.Int8, DType.Bool];

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Output_depends_only_on_the_key_not_on_threads(DType dtype)
    {
        // 3.5 chunks, so the parallel path really splits the work.
        long[] shape = [7, RandomTensors.ChunkElements / 2];
        var serial = RandomTensors.Generate(dtype, shape, 1234, maxDegreeOfParallelism: 1).Bytes.ToArray();
        var two = RandomTensors.Generate(dtype, shape, 1234, maxDegreeOfParallelism: 2).Bytes.ToArray();
        var all = RandomTensors.Generate(dtype, shape, 1234).Bytes.ToArray();
        Assert.Equal(serial, two);
        Assert.Equal(serial, all);
        Assert.NotEqual(serial, RandomTensors.Generate(dtype, shape, 1235).Bytes.ToArray());
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Element_i_does_not_depend_on_the_tensor_size(DType dtype)
    {
        var small = RandomTensors.Generate(dtype, [1001], 77).Bytes.ToArray();
        var large = RandomTensors.Generate(dtype, [RandomTensors.ChunkElements + 3], 77).Bytes.ToArray();
        // fp4 packs two per byte; the 1001st element shares its byte with a neighbour.
        var prefix = dtype == DType.Float4E2M1 ? 500 : small.Length;
        Assert.Equal(small.AsSpan(0, prefix).ToArray(), large.AsSpan(0, prefix).ToArray());
    }

    [Fact]
    public void Random_scalars_are_deterministic_and_follow_the_dtype()
    {
        Assert.Equal(RandomTensors.Scalar(DType.Float32, 9), RandomTensors.Scalar(DType.Float32, 9));
        Assert.Equal(ScalarKind.Float, RandomTensors.Scalar(DType.Float32, 9).Kind);
        var integer = RandomTensors.Scalar(DType.Int32, 9);
        Assert.Equal(ScalarKind.Integer, integer.Kind);
        Assert.InRange(integer.Integer, -1024, 1023);
        Assert.Equal(ScalarKind.Boolean, RandomTensors.Scalar(DType.Bool, 9).Kind);
    }

    [Fact]
    public void Seeds_separate_runs_workloads_trials_and_inputs()
    {
        var set = InputSeeds.ForSet(1, "uuid-a", 0);
        Assert.Equal(set, InputSeeds.ForSet(1, "uuid-a", 0));
        var others = new[]
        {
            InputSeeds.ForSet(2, "uuid-a", 0),
            InputSeeds.ForSet(1, "uuid-b", 0),
            InputSeeds.ForSet(1, "uuid-a", 1),
            InputSeeds.ForStructure("uuid-a", "q"),
            InputSeeds.ForStructure("uuid-a", "k"),
            InputSeeds.ForStructure("uuid-b", "q"),
            InputSeeds.ForInput(set, "q"),
            InputSeeds.ForInput(set, "k"),
            set,
        };
        Assert.Equal(others.Length, others.Distinct().Count());
        // Labels are length-prefixed: concatenations do not collide.
        Assert.NotEqual(CounterRng.Derive(CounterRng.Derive(0, "ab"), "c"), CounterRng.Derive(CounterRng.Derive(0, "a"), "bc"));
        Assert.NotEqual(CounterRng.Derive(0, "a"), CounterRng.Derive(0, "a\0"));
    }

    [Fact]
    public void Counter_stream_bits_are_balanced()
    {
        var rng = new CounterRng(InputSeeds.ForSet(0, "x", 0));
        var ones = new int[64];
        const int Draws = 100_000;
        for (var i = 0UL; i < Draws; i++)
        {
            var value = rng.At(i);
            for (var bit = 0; bit < 64; bit++)
            {
                ones[bit] += (int)((value >> bit) & 1);
            }
        }
        Assert.All(ones, count => Assert.InRange(count, Draws / 2 - 800, Draws / 2 + 800));
    }
}
