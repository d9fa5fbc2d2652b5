using System.Buffers.Binary;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Tensors;

/// <summary>Decodes stored elements of any <see cref="DType"/> to float32 / int64 for comparison.</summary>
public static class ElementCodec
{
    public static float BFloat16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>fp8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa; no infinities, S.1111.111 is NaN.</summary>
    public static float Float8E4M3FNToFloat(byte bits)
    {
        var sign = (bits & 0x80) != 0 ? -1f : 1f;
        var exponent = (bits >> 3) & 0xF;
        var mantissa = bits & 0x7;
        if (exponent == 0xF && mantissa == 0x7)
        {
            return float.NaN;
        }
        return exponent == 0
            ? sign * mantissa / 8f * MathF.Pow(2, -6)
            : sign * (1 + mantissa / 8f) * MathF.Pow(2, exponent - 7);
    }

    /// <summary>fp8 e5m2: 1 sign, 5 exponent (bias 15), 2 mantissa; IEEE-like infinities and NaNs.</summary>
    public static float Float8E5M2ToFloat(byte bits) => (float)BitConverter.UInt16BitsToHalf((ushort)(bits << 8));

    /// <summary>fp4 e2m1 (low nibble first): values 0, 0.5, 1, 1.5, 2, 3, 4, 6 with a sign bit.</summary>
    public static float Float4E2M1ToFloat(byte nibble)
    {
        ReadOnlySpan<float> magnitudes = [0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f];
        var value = magnitudes[nibble & 0x7];
        return (nibble & 0x8) != 0 ? -value : value;
    }

    /// <summary>Element <paramref name="index"/> of <paramref name="bytes"/> as float (integers converted).</summary>
    public static float GetFloat(DType dtype, ReadOnlySpan<byte> bytes, long index)
    {
        var i = checked((int)index);
        return dtype switch
        {
            DType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]),
            DType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]),
            DType.BFloat16 => BFloat16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..])),
            DType.Float8E4M3FN => Float8E4M3FNToFloat(bytes[i]),
            DType.Float8E5M2 => Float8E5M2ToFloat(bytes[i]),
            DType.Float4E2M1 => Float4E2M1ToFloat((byte)(bytes[i / 2] >> (4 * (i % 2)))),
            _ => GetInteger(dtype, bytes, index),
        };
    }

    public static long GetInteger(DType dtype, ReadOnlySpan<byte> bytes, long index)
    {
        var i = checked((int)index);
        return dtype switch
        {
            DType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..]),
            DType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]),
            DType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(bytes[(i * 2)..]),
            DType.Int8 => (sbyte)bytes[i],
            DType.Bool => bytes[i] != 0 ? 1 : 0,
            _ => (long)GetFloat(dtype, bytes, index),
        };
    }

    /// <summary>The whole tensor as float32, the precision FlashInfer-Bench compares in.</summary>
    public static float[] ToFloat32(HostTensor tensor)
    {
        var count = checked((int)tensor.ElementCount);
        var result = new float[count];
        var bytes = tensor.Bytes.Span;
        for (var i = 0; i < count; i++)
        {
            result[i] = GetFloat(tensor.DType, bytes, i);
        }
        return result;
    }
}
