using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// Samples fp8(clamp(N(0,1), -2, 2)) directly as codes. The result of that expression can only be
/// one of the 2 x 65 codes of magnitude &lt;= 2, so its exact distribution is a table: code c of
/// magnitude v_c has P(|X| rounds to v_c), the normal mass between the midpoints around v_c
/// (the top code 2.0 also gets the clamped tail), and the sign is an independent fair bit (which is
/// what makes -0.0, code 0x80, appear for small negative draws, as torch's cast produces).
/// One table lookup per element replaces a logarithm, a sine and a cast: the MoE weights are
/// 939 M fp8 elements per input set.
/// </summary>
/// <remarks>
/// Thresholds are quantized to 2^-32; every code's probability is at least ~1e-5, so the
/// distribution is exact to a relative 1e-4 or better. Ties of the cast (exact midpoints) have
/// probability zero under a continuous normal and are irrelevant here.
/// </remarks>
internal sealed class Fp8NormalTable
{
    private const int GuideBits = 10;
    private readonly ulong[] _thresholds;
    private readonly byte[] _guide;

    public static readonly Fp8NormalTable E4M3FN = new(DType.Float8E4M3FN);
    public static readonly Fp8NormalTable E5M2 = new(DType.Float8E5M2);

    public static Fp8NormalTable For(DType dtype) => dtype switch
    {
        DType.Float8E4M3FN => E4M3FN,
        DType.Float8E5M2 => E5M2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not an fp8 type"),
    };

    /// <summary>Magnitudes of codes 0..<see cref="TopCode"/> (2.0 is 0x40 in both formats).</summary>
    public const int TopCode = 0x40;

    public IReadOnlyList<double> Probabilities { get; }

    private Fp8NormalTable(DType dtype)
    {
        var values = new double[TopCode + 1];
        for (var c = 0; c <= TopCode; c++)
        {
            values[c] = ElementCodec.GetFloat(dtype, [(byte)c], 0);
        }
        if (values[TopCode] != 2.0)
        {
            throw new InvalidOperationException($"{dtype}: code 0x40 is {values[TopCode]}, expected 2.0");
        }
        _thresholds = new ulong[TopCode + 1];
        var probabilities = new double[TopCode + 1];
        var previous = 0.0;
        for (var c = 0; c < TopCode; c++)
        {
            var cumulative = HalfNormalMass((values[c] + values[c + 1]) / 2);
            probabilities[c] = cumulative - previous;
            previous = cumulative;
            _thresholds[c] = (ulong)Math.Round(cumulative * 4294967296.0);
        }
        probabilities[TopCode] = 1 - previous;
        _thresholds[TopCode] = 1UL << 32;
        Probabilities = probabilities;

        _guide = new byte[1 << GuideBits];
        var code = 0;
        for (var bucket = 0; bucket < _guide.Length; bucket++)
        {
            var lowest = (ulong)bucket << (32 - GuideBits);
            while (_thresholds[code] <= lowest)
            {
                code++;
            }
            _guide[bucket] = (byte)code;
        }
    }

    /// <summary>The code for 64 random bits: the low 32 pick the magnitude, the top bit the sign.</summary>
    public byte Sample(ulong random)
    {
        var u = (uint)random;
        int code = _guide[u >> (32 - GuideBits)];
        while (u >= _thresholds[code])
        {
            code++;
        }
        return (byte)(code | (int)((random >> 56) & 0x80));
    }

    /// <summary>P(|X| &lt; x) for X ~ N(0,1), by composite Simpson integration of the density.</summary>
    internal static double HalfNormalMass(double x)
    {
        // 4096 panels on [0, 2]: the error term is below 1e-15, far under the 2^-32 quantization.
        const int Panels = 4096;
        var h = x / Panels;
        var sum = Density(0) + Density(x);
        for (var i = 1; i < Panels; i++)
        {
            sum += (i % 2 == 1 ? 4 : 2) * Density(i * h);
        }
        return 2 * sum * h / 3;

        static double Density(double t) => Math.Exp(-t * t / 2) / Math.Sqrt(2 * Math.PI);
    }
}
