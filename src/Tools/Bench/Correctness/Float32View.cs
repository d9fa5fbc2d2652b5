using System.Numerics;
using System.Runtime.InteropServices;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// Reads a tensor of any dtype as float32, chunk by chunk, the precision FlashInfer-Bench compares
/// in (<c>tensor.to(torch.float32)</c>). Outputs reach 100M elements, so nothing decodes the whole
/// tensor at once: float32 chunks are views, the others decode into a caller's scratch buffer.
/// </summary>
internal sealed class Float32View
{
    private static readonly float[] Float8E4M3FNTable = BuildTable(ElementCodec.Float8E4M3FNToFloat);
    private static readonly float[] Float8E5M2Table = BuildTable(ElementCodec.Float8E5M2ToFloat);

    private readonly DType _dtype;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly ReadOnlyMemory<float> _floats;
    private readonly bool _isFloatArray;

    private Float32View(DType dtype, ReadOnlyMemory<byte> bytes, ReadOnlyMemory<float> floats, bool isFloatArray, long length)
    {
        _dtype = dtype;
        _bytes = bytes;
        _floats = floats;
        _isFloatArray = isFloatArray;
        Length = length;
    }

    public long Length { get; }

    public static Float32View Of(HostTensor tensor)
    {
        var count = tensor.ElementCount;
        var needed = tensor.DType.ByteCount(count);
        if (tensor.Bytes.Length < needed)
        {
            throw new ArgumentException(
                $"tensor {tensor.DType.Name()}{tensor.ShapeText} holds {tensor.Bytes.Length} bytes, needs {needed}");
        }
        return new Float32View(tensor.DType, tensor.Bytes, default, false, count);
    }

    public static Float32View Of(ReadOnlyMemory<float> values) => new(DType.Float32, default, values, true, values.Length);

    /// <summary>Elements [start, start+count) as float32; <paramref name="scratch"/> must hold count floats.</summary>
    public ReadOnlySpan<float> Read(long start, int count, Span<float> scratch)
    {
        if (_isFloatArray)
        {
            return _floats.Span.Slice(checked((int)start), count);
        }
        var dst = scratch[..count];
        var bytes = _bytes.Span;
        switch (_dtype)
        {
            case DType.Float32:
                return MemoryMarshal.Cast<byte, float>(bytes.Slice(checked((int)(start * 4)), count * 4));
            case DType.BFloat16:
                DecodeBFloat16(MemoryMarshal.Cast<byte, ushort>(bytes.Slice(checked((int)(start * 2)), count * 2)), dst);
                return dst;
            case DType.Float16:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes.Slice(checked((int)(start * 2)), count * 2));
                for (var i = 0; i < count; i++)
                {
                    dst[i] = (float)halves[i];
                }
                return dst;
            case DType.Float8E4M3FN:
                Lookup(bytes.Slice(checked((int)start), count), Float8E4M3FNTable, dst);
                return dst;
            case DType.Float8E5M2:
                Lookup(bytes.Slice(checked((int)start), count), Float8E5M2Table, dst);
                return dst;
            default:
                // Integers, bool and packed fp4 are rare as outputs: the generic decoder is fast enough.
                for (var i = 0; i < count; i++)
                {
                    dst[i] = ElementCodec.GetFloat(_dtype, bytes, start + i);
                }
                return dst;
        }
    }

    private static void DecodeBFloat16(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<ushort>.Count;
            var half = Vector<uint>.Count;
            for (; i <= src.Length - width; i += width)
            {
                Vector.Widen(new Vector<ushort>(src[i..]), out var low, out var high);
                Vector.AsVectorSingle(Vector.ShiftLeft(low, 16)).CopyTo(dst[i..]);
                Vector.AsVectorSingle(Vector.ShiftLeft(high, 16)).CopyTo(dst[(i + half)..]);
            }
        }
        for (; i < src.Length; i++)
        {
            dst[i] = ElementCodec.BFloat16ToFloat(src[i]);
        }
    }

    private static void Lookup(ReadOnlySpan<byte> src, float[] table, Span<float> dst)
    {
        for (var i = 0; i < src.Length; i++)
        {
            dst[i] = table[src[i]];
        }
    }

    private static float[] BuildTable(Func<byte, float> decode)
    {
        var table = new float[256];
        for (var b = 0; b < 256; b++)
        {
            table[b] = decode((byte)b);
        }
        return table;
    }

    internal static float DecodeFloat8E4M3FN(byte bits) => Float8E4M3FNTable[bits];
}
