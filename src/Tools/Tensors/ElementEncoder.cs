using System.Buffers.Binary;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Tensors;

/// <summary>
/// float32 to narrow formats, bit for bit as torch's CPU <c>Tensor.to(dtype)</c> does it
/// (c10/util: BFloat16.h round_to_nearest_even, Half.h, Float8_e4m3fn.h, Float8_e5m2.h), so that
/// inputs generated here equal what FlashInfer-Bench would hand the reference after the same cast.
/// </summary>
/// <remarks>
/// All casts round to nearest, ties to even. Out-of-range values are not saturated, because torch
/// does not saturate: e4m3fn has no infinity, so |x| &gt;= 464 (the midpoint above 448 rounds to
/// the odd code 0x7F) and inf become NaN (0x7F, sign kept); e5m2 overflows to infinity. NaN stays
/// NaN in every format. Callers that want saturation (the indexer's scaled keys) stay in range.
/// </remarks>
public static class ElementEncoder
{
    /// <summary>bfloat16 bits; NaN becomes the canonical quiet NaN 0x7FC0 as in c10.</summary>
    public static ushort FloatToBFloat16(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7FC0;
        }
        var bits = BitConverter.SingleToUInt32Bits(value);
        // Adding 0x7FFF plus the lowest kept bit rounds to nearest with ties to the even result.
        var roundingBias = ((bits >> 16) & 1) + 0x7FFFu;
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>IEEE binary16 bits (the runtime's conversion rounds to nearest even, as c10 does).</summary>
    public static ushort FloatToFloat16(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>fp8 e4m3fn (bias 7, no infinities, S.1111.111 = NaN), as c10's fp8e4m3fn_from_fp32_value.</summary>
    public static byte FloatToFloat8E4M3FN(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        var sign = bits & 0x8000_0000u;
        bits ^= sign;
        byte result;
        // 480.0f: the first magnitude whose rounding lands beyond 0x7E; also catches inf and NaN.
        const uint Fp8Max = 1087u << 20;
        // 2^14: adding it pushes a subnormal's bits into the float mantissa at 2^-9 resolution,
        // letting the FPU do the round-to-nearest-even.
        const uint DenormMask = 141u << 23;
        if (bits >= Fp8Max)
        {
            result = 0x7F;
        }
        else if (bits < 121u << 23)
        {
            // Below 2^-6, the smallest normal: subnormal or zero.
            var shifted = BitConverter.SingleToUInt32Bits(
                BitConverter.UInt32BitsToSingle(bits) + BitConverter.UInt32BitsToSingle(DenormMask));
            result = (byte)(shifted - DenormMask);
        }
        else
        {
            var mantissaOdd = (bits >> 20) & 1;
            // Rebias the exponent (127 -> 7) and round the 20 dropped bits to nearest even.
            bits += unchecked((uint)(7 - 127) << 23) + 0x7FFFFu;
            bits += mantissaOdd;
            result = (byte)(bits >> 20);
        }
        return (byte)(result | (sign >> 24));
    }

    /// <summary>fp8 e5m2 (bias 15, IEEE-like inf/NaN), as c10's fp8e5m2_from_fp32_value.</summary>
    public static byte FloatToFloat8E5M2(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        var sign = bits & 0x8000_0000u;
        bits ^= sign;
        byte result;
        const uint Fp32Inf = 255u << 23;
        // 65536.0f: anything at or above overflows (57344 is the largest finite e5m2 value; the
        // values in between round normally, 61440 and up to infinity).
        const uint Fp8Max = 143u << 23;
        const uint DenormMask = 134u << 23;
        if (bits >= Fp8Max)
        {
            result = bits > Fp32Inf ? (byte)0x7F : (byte)0x7C;
        }
        else if (bits < 113u << 23)
        {
            var shifted = BitConverter.SingleToUInt32Bits(
                BitConverter.UInt32BitsToSingle(bits) + BitConverter.UInt32BitsToSingle(DenormMask));
            result = (byte)(shifted - DenormMask);
        }
        else
        {
            var mantissaOdd = (bits >> 21) & 1;
            bits += unchecked((uint)(15 - 127) << 23) + 0xFFFFFu;
            bits += mantissaOdd;
            result = (byte)(bits >> 21);
        }
        return (byte)(result | (sign >> 24));
    }

    /// <summary>Stores <paramref name="value"/> as element <paramref name="index"/> of a floating tensor.</summary>
    public static void SetFloat(DType dtype, Span<byte> bytes, long index, float value)
    {
        var i = checked((int)index);
        switch (dtype)
        {
            case DType.Float32:
                BinaryPrimitives.WriteSingleLittleEndian(bytes[(i * 4)..], value);
                break;
            case DType.Float16:
                BinaryPrimitives.WriteUInt16LittleEndian(bytes[(i * 2)..], FloatToFloat16(value));
                break;
            case DType.BFloat16:
                BinaryPrimitives.WriteUInt16LittleEndian(bytes[(i * 2)..], FloatToBFloat16(value));
                break;
            case DType.Float8E4M3FN:
                bytes[i] = FloatToFloat8E4M3FN(value);
                break;
            case DType.Float8E5M2:
                bytes[i] = FloatToFloat8E5M2(value);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a byte-addressable floating type");
        }
    }

    /// <summary>Stores <paramref name="value"/> as element <paramref name="index"/> of an integer tensor.</summary>
    public static void SetInteger(DType dtype, Span<byte> bytes, long index, long value)
    {
        var i = checked((int)index);
        switch (dtype)
        {
            case DType.Int64:
                BinaryPrimitives.WriteInt64LittleEndian(bytes[(i * 8)..], value);
                break;
            case DType.Int32:
                BinaryPrimitives.WriteInt32LittleEndian(bytes[(i * 4)..], checked((int)value));
                break;
            case DType.Int16:
                BinaryPrimitives.WriteInt16LittleEndian(bytes[(i * 2)..], checked((short)value));
                break;
            case DType.Int8:
                bytes[i] = (byte)checked((sbyte)value);
                break;
            case DType.Bool:
                bytes[i] = value != 0 ? (byte)1 : (byte)0;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not an integer type");
        }
    }
}
