using AgentForge.Tools.Tensors;

namespace AgentForge.Tests.Inputs;

public sealed class ElementEncoderTests
{
    private static float Bits(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    [Theory]
    [InlineData(1.0f, 0x3F80)]
    [InlineData(-2.0f, 0xC000)]
    [InlineData(0.0f, 0x0000)]
    [InlineData(-0.0f, 0x8000)]
    [InlineData(float.PositiveInfinity, 0x7F80)]
    [InlineData(float.NegativeInfinity, 0xFF80)]
    [InlineData(3.14159265f, 0x4049)]
    [InlineData(float.MaxValue, 0x7F80)]
    public void BFloat16_known_values(float value, int expected) =>
        Assert.Equal((ushort)expected, ElementEncoder.FloatToBFloat16(value));

    [Theory]
    // Exactly halfway: ties go to the even mantissa, down from 0x3F80 and up from 0x3F81.
    [InlineData(0x3F808000u, 0x3F80)]
    [InlineData(0x3F818000u, 0x3F82)]
    [InlineData(0x3F808001u, 0x3F81)]
    [InlineData(0x3F807FFFu, 0x3F80)]
    // A float32 subnormal keeps its top bits.
    [InlineData(0x00010000u, 0x0001)]
    public void BFloat16_rounds_to_nearest_even(uint input, int expected) =>
        Assert.Equal((ushort)expected, ElementEncoder.FloatToBFloat16(Bits(input)));

    [Fact]
    public void BFloat16_NaN_stays_NaN_as_the_canonical_quiet_NaN()
    {
        Assert.Equal(0x7FC0, ElementEncoder.FloatToBFloat16(float.NaN));
        Assert.Equal(0x7FC0, ElementEncoder.FloatToBFloat16(Bits(0xFF800001u)));
        Assert.True(float.IsNaN(ElementCodec.BFloat16ToFloat(ElementEncoder.FloatToBFloat16(Bits(0x7F800001u)))));
    }

    [Fact]
    public void BFloat16_every_finite_value_round_trips()
    {
        for (var bits = 0; bits <= 0xFFFF; bits++)
        {
            var value = ElementCodec.BFloat16ToFloat((ushort)bits);
            if (!float.IsNaN(value))
            {
                Assert.Equal((ushort)bits, ElementEncoder.FloatToBFloat16(value));
            }
        }
    }

    [Theory]
    [InlineData(1.0f, 0x3C00)]
    [InlineData(65504f, 0x7BFF)]
    [InlineData(65520f, 0x7C00)] // the midpoint above the maximum rounds to infinity (odd mantissa)
    [InlineData(5.9604645e-8f, 0x0001)] // 2^-24, the smallest subnormal
    [InlineData(-2.0f, 0xC000)]
    public void Float16_known_values(float value, int expected) =>
        Assert.Equal((ushort)expected, ElementEncoder.FloatToFloat16(value));

    [Theory]
    [InlineData(1.0f, 0x38)]
    [InlineData(2.0f, 0x40)]
    [InlineData(-2.0f, 0xC0)]
    [InlineData(448f, 0x7E)]
    [InlineData(-448f, 0xFE)]
    [InlineData(464f, 0x7E)] // halfway between 448 (even) and the NaN code: ties to even
    [InlineData(464.0001f, 0x7F)] // above the midpoint: torch does not saturate, the result is NaN
    [InlineData(480f, 0x7F)]
    [InlineData(1e6f, 0x7F)]
    [InlineData(float.PositiveInfinity, 0x7F)]
    [InlineData(float.NegativeInfinity, 0xFF)]
    [InlineData(0.0f, 0x00)]
    [InlineData(-0.0f, 0x80)]
    [InlineData(0.015625f, 0x08)] // 2^-6, the smallest normal
    [InlineData(0.001953125f, 0x01)] // 2^-9, the smallest subnormal
    [InlineData(0.0009765625f, 0x00)] // 2^-10: halfway between 0 and 2^-9, ties to even 0
    [InlineData(0.0029296875f, 0x02)] // 1.5 x 2^-9: halfway between codes 1 and 2, ties to even 2
    [InlineData(-0.0001f, 0x80)] // a small negative value keeps its sign: -0
    [InlineData(1.0625f, 0x38)] // halfway between 1 and 1.125: even 1
    [InlineData(1.1875f, 0x3A)] // halfway between 1.125 and 1.25: even 1.25
    [InlineData(0.0166015625f, 0x08)] // halfway between 2^-6 and 1.125 x 2^-6: even 0x08
    public void Float8E4M3FN_known_values(float value, int expected) =>
        Assert.Equal((byte)expected, ElementEncoder.FloatToFloat8E4M3FN(value));

    [Fact]
    public void Float8E4M3FN_NaN_is_NaN_with_its_sign()
    {
        Assert.Equal(0xFF, ElementEncoder.FloatToFloat8E4M3FN(float.NaN));
        Assert.Equal(0x7F, ElementEncoder.FloatToFloat8E4M3FN(Bits(0x7FC00000u)));
        Assert.True(float.IsNaN(ElementCodec.Float8E4M3FNToFloat(ElementEncoder.FloatToFloat8E4M3FN(Bits(0xFFC00000u)))));
    }

    [Theory]
    [InlineData(1.0f, 0x3C)]
    [InlineData(2.0f, 0x40)]
    [InlineData(57344f, 0x7B)]
    [InlineData(61439f, 0x7B)]
    [InlineData(61440f, 0x7C)] // halfway above the maximum: the odd mantissa rounds up to infinity
    [InlineData(1e6f, 0x7C)]
    [InlineData(float.PositiveInfinity, 0x7C)]
    [InlineData(float.NegativeInfinity, 0xFC)]
    [InlineData(1.52587890625e-5f, 0x01)] // 2^-16
    [InlineData(-0.0f, 0x80)]
    [InlineData(1.125f, 0x3C)] // halfway between 1 and 1.25: even 1
    public void Float8E5M2_known_values(float value, int expected) =>
        Assert.Equal((byte)expected, ElementEncoder.FloatToFloat8E5M2(value));

    [Fact]
    public void Float8E5M2_NaN_stays_NaN_with_its_sign()
    {
        // .NET's float.NaN has the sign bit set (0xFFC00000).
        Assert.Equal(0xFF, ElementEncoder.FloatToFloat8E5M2(float.NaN));
        Assert.Equal(0x7F, ElementEncoder.FloatToFloat8E5M2(Bits(0x7FC00000u)));
    }

    public static TheoryData<string> Fp8Formats => ["e4m3fn", "e5m2"];

    [Theory]
    [MemberData(nameof(Fp8Formats))]
    public void Fp8_every_finite_code_round_trips_and_midpoints_tie_to_even(string format)
    {
        var (encode, decode) = Codec(format);
        var positive = Enumerable.Range(0, 0x80).Select(c => (Code: (byte)c, Value: decode((byte)c)))
            .Where(c => float.IsFinite(c.Value)).ToList();
        foreach (var (code, value) in positive)
        {
            Assert.Equal(code, encode(value));
            Assert.Equal((byte)(code | 0x80), encode(-value));
        }
        for (var i = 0; i + 1 < positive.Count; i++)
        {
            var (low, high) = (positive[i], positive[i + 1]);
            // Midpoints of adjacent fp8 values are exact in float32.
            var midpoint = (low.Value + high.Value) / 2;
            var even = (low.Code & 1) == 0 ? low.Code : high.Code;
            Assert.Equal(even, encode(midpoint));
            Assert.Equal(low.Code, encode(MathF.BitDecrement(midpoint)));
            Assert.Equal(high.Code, encode(MathF.BitIncrement(midpoint)));
        }
    }

    [Theory]
    [MemberData(nameof(Fp8Formats))]
    public void Fp8_encoding_matches_a_brute_force_nearest_even_search(string format)
    {
        var (encode, decode) = Codec(format);
        var finite = Enumerable.Range(0, 0x80).Select(c => (Code: (byte)c, Value: (double)decode((byte)c)))
            .Where(c => double.IsFinite(c.Value)).ToArray();
        var largest = finite[^1].Value;
        var random = new Random(12345);
        for (var n = 0; n < 20000; n++)
        {
            var value = (float)((random.NextDouble() * 2 - 1) * largest * Math.Pow(2, -random.Next(0, 20)));
            var magnitude = Math.Abs((double)value);
            var best = finite.OrderBy(c => Math.Abs(c.Value - magnitude)).ThenBy(c => c.Code & 1).First();
            var expected = (byte)(best.Code | (value < 0 || (value == 0 && float.IsNegative(value)) ? 0x80 : 0));
            Assert.Equal(expected, encode(value));
        }
    }

    private static (Func<float, byte> Encode, Func<byte, float> Decode) Codec(string format) => format == "e4m3fn"
        ? (ElementEncoder.FloatToFloat8E4M3FN, ElementCodec.Float8E4M3FNToFloat)
        : (ElementEncoder.FloatToFloat8E5M2, ElementCodec.Float8E5M2ToFloat);
}
