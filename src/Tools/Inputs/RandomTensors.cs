using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// Seeded random tensors with FlashInfer-Bench's distributions: float32/float16/bfloat16 ~ N(0,1)
/// rounded to the target type; fp8 ~ clamp(N(0,1), -2, 2) cast; int8 uniform [-128, 127];
/// int16/32/64 uniform [-1024, 1023]; bool 0/1. Element i depends only on (key, i), so the output
/// is the same for any degree of parallelism; large tensors are filled in parallel chunks.
/// </summary>
public static class RandomTensors
{
    /// <summary>Elements per parallel work item; even, so a Box-Muller pair never straddles two.</summary>
    public const int ChunkElements = 1 << 16;

    private const double TwoPow32 = 4294967296.0;

    static RandomTensors()
    {
        if (!BitConverter.IsLittleEndian)
        {
            // Tensors are stored little-endian (safetensors, the GPU); fills write native order.
            throw new PlatformNotSupportedException("AgentForge inputs need a little-endian host");
        }
    }

    /// <summary>A tensor with FlashInfer-Bench's distribution for <paramref name="dtype"/>.</summary>
    public static HostTensor Generate(DType dtype, long[] shape, ulong key, int maxDegreeOfParallelism = -1)
    {
        var tensor = AllocateUninitialized(dtype, shape);
        Fill(dtype, MemoryMarshal.AsMemory(tensor.Bytes), key, maxDegreeOfParallelism);
        return tensor;
    }

    /// <summary>
    /// N(0, <paramref name="std"/>^2) rounded to a floating dtype (for fp8 the draw is clamped to
    /// [-2, 2] before the scaling, as the default distribution does).
    /// </summary>
    public static HostTensor GenerateNormal(DType dtype, long[] shape, ulong key, float std, int maxDegreeOfParallelism = -1)
    {
        if (!dtype.IsFloatingPoint())
        {
            throw new ArgumentException($"normal values need a floating dtype, not {dtype.Name()}", nameof(dtype));
        }
        var tensor = AllocateUninitialized(dtype, shape);
        Fill(dtype, MemoryMarshal.AsMemory(tensor.Bytes), key, maxDegreeOfParallelism, std);
        return tensor;
    }

    /// <summary>Fills <paramref name="destination"/> (whole elements of <paramref name="dtype"/>).</summary>
    public static void Fill(DType dtype, Memory<byte> destination, ulong key, int maxDegreeOfParallelism = -1, float std = 1f)
    {
        var elements = dtype == DType.Float4E2M1 ? destination.Length * 2L : destination.Length / (dtype.Bits() / 8);
        var chunks = (int)((elements + ChunkElements - 1) / ChunkElements);
        var rng = new CounterRng(key);
        if (chunks <= 1 || maxDegreeOfParallelism == 1)
        {
            for (var c = 0; c < chunks; c++)
            {
                FillChunk(dtype, destination.Span, rng, c, elements, std);
            }
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism },
            c => FillChunk(dtype, destination.Span, rng, c, elements, std));
    }

    /// <summary>A random scalar for a scalar input the workload left to chance.</summary>
    public static ScalarValue Scalar(DType dtype, ulong key)
    {
        var bytes = new byte[Math.Max(1, dtype.Bits() / 8)];
        FillChunk(dtype, bytes, new CounterRng(key), 0, 1, 1f);
        return dtype switch
        {
            DType.Bool => ScalarValue.Of(bytes[0] != 0),
            _ when dtype.IsFloatingPoint() => ScalarValue.Of((double)ElementCodec.GetFloat(dtype, bytes, 0)),
            _ => ScalarValue.Of(ElementCodec.GetInteger(dtype, bytes, 0)),
        };
    }

    /// <summary>Element <paramref name="index"/> of the N(0,1) float32 stream that the float fills round.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float NormalAt(CounterRng rng, long index)
    {
        var (even, odd) = NormalPair(rng.At((ulong)index >> 1));
        return (index & 1) == 0 ? even : odd;
    }

    /// <summary>Elements 2p and 2p + 1 of the N(0,1) float32 stream at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (float Even, float Odd) NormalPairAt(CounterRng rng, long pair) => NormalPair(rng.At((ulong)pair));

    internal static HostTensor AllocateUninitialized(DType dtype, long[] shape)
    {
        var elements = shape.Aggregate(1L, (a, b) => a * b);
        var bytes = dtype.ByteCount(elements);
        if (bytes > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), $"{bytes} bytes exceed one host buffer");
        }
        return new HostTensor(dtype, shape, GC.AllocateUninitializedArray<byte>((int)bytes));
    }

    /// <summary>Box-Muller on one 64-bit draw: 32 bits for the radius, 32 for the angle.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float Even, float Odd) NormalPair(ulong random)
    {
        // u1 in (0, 1]: never 0, so the logarithm is finite (largest |z| is about 6.66).
        var u1 = (float)(((random >> 32) + 1) / TwoPow32);
        var radius = MathF.Sqrt(-2f * MathF.Log(u1));
        var angle = (float)((uint)random * (2 * Math.PI / TwoPow32));
        var (sin, cos) = MathF.SinCos(angle);
        return (radius * cos, radius * sin);
    }

    private static void FillChunk(DType dtype, Span<byte> all, CounterRng rng, int chunk, long elements, float std)
    {
        var first = (long)chunk * ChunkElements;
        var count = (int)Math.Min(ChunkElements, elements - first);
        switch (dtype)
        {
            case DType.Float32:
                {
                    var dst = MemoryMarshal.Cast<byte, float>(all.Slice(checked((int)(first * 4)), count * 4));
                    FillNormal(dst, rng, first, std, default(Float32Encoder));
                    break;
                }
            case DType.Float16:
                {
                    var dst = MemoryMarshal.Cast<byte, ushort>(all.Slice(checked((int)(first * 2)), count * 2));
                    FillNormal(dst, rng, first, std, default(Float16Encoder));
                    break;
                }
            case DType.BFloat16:
                {
                    var dst = MemoryMarshal.Cast<byte, ushort>(all.Slice(checked((int)(first * 2)), count * 2));
                    FillNormal(dst, rng, first, std, default(BFloat16Encoder));
                    break;
                }
            case DType.Float8E4M3FN:
            case DType.Float8E5M2:
                {
                    var dst = all.Slice(checked((int)first), count);
                    if (std == 1f)
                    {
                        var table = Fp8NormalTable.For(dtype);
                        for (var i = 0; i < dst.Length; i++)
                        {
                            dst[i] = table.Sample(rng.At((ulong)(first + i)));
                        }
                    }
                    else
                    {
                        FillNormal(dst, rng, first, 1f, new ClampedFp8Encoder(dtype == DType.Float8E4M3FN, std));
                    }
                    break;
                }
            case DType.Float4E2M1:
                {
                    // Not in FlashInfer-Bench's table: AgentForge's choice is N(0,1) rounded to the
                    // nearest e2m1 value (saturating at +-6), low nibble first.
                    var dst = all.Slice(checked((int)(first / 2)), (count + 1) / 2);
                    for (var i = 0; i < count; i++)
                    {
                        var nibble = NearestFloat4(NormalAt(rng, first + i) * std);
                        dst[i / 2] = (i & 1) == 0 ? nibble : (byte)(dst[i / 2] | (nibble << 4));
                    }
                    break;
                }
            case DType.Int8:
                {
                    var dst = all.Slice(checked((int)first), count);
                    for (var i = 0; i < dst.Length; i++)
                    {
                        dst[i] = (byte)(rng.At((ulong)(first + i)) >> 56);
                    }
                    break;
                }
            case DType.Int16:
                {
                    var dst = MemoryMarshal.Cast<byte, short>(all.Slice(checked((int)(first * 2)), count * 2));
                    for (var i = 0; i < dst.Length; i++)
                    {
                        dst[i] = (short)Uniform2048(rng.At((ulong)(first + i)));
                    }
                    break;
                }
            case DType.Int32:
                {
                    var dst = MemoryMarshal.Cast<byte, int>(all.Slice(checked((int)(first * 4)), count * 4));
                    for (var i = 0; i < dst.Length; i++)
                    {
                        dst[i] = (int)Uniform2048(rng.At((ulong)(first + i)));
                    }
                    break;
                }
            case DType.Int64:
                {
                    var dst = MemoryMarshal.Cast<byte, long>(all.Slice(checked((int)(first * 8)), count * 8));
                    for (var i = 0; i < dst.Length; i++)
                    {
                        dst[i] = Uniform2048(rng.At((ulong)(first + i)));
                    }
                    break;
                }
            case DType.Bool:
                {
                    var dst = all.Slice(checked((int)first), count);
                    for (var i = 0; i < dst.Length; i++)
                    {
                        dst[i] = (byte)(rng.At((ulong)(first + i)) >> 63);
                    }
                    break;
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null);
        }
    }

    /// <summary>Uniform on [-1024, 1023] from the top 11 bits: exact, the range is a power of two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Uniform2048(ulong random) => (long)(random >> 53) - 1024;

    // Struct encoders let the JIT inline the rounding into the fill loop (a delegate call per
    // element costs as much as the rounding itself).
    private interface IEncoder<T>
    {
        T Encode(float value);
    }

    private readonly struct Float32Encoder : IEncoder<float>
    {
        public float Encode(float value) => value;
    }

    private readonly struct Float16Encoder : IEncoder<ushort>
    {
        public ushort Encode(float value) => ElementEncoder.FloatToFloat16(value);
    }

    private readonly struct BFloat16Encoder : IEncoder<ushort>
    {
        public ushort Encode(float value) => ElementEncoder.FloatToBFloat16(value);
    }

    private readonly struct ClampedFp8Encoder(bool e4m3fn, float std) : IEncoder<byte>
    {
        public byte Encode(float value)
        {
            var scaled = Math.Clamp(value, -2f, 2f) * std;
            return e4m3fn ? ElementEncoder.FloatToFloat8E4M3FN(scaled) : ElementEncoder.FloatToFloat8E5M2(scaled);
        }
    }

    private static void FillNormal<T, TEncoder>(Span<T> destination, CounterRng rng, long first, float std, TEncoder encoder)
        where TEncoder : struct, IEncoder<T>
    {
        // first is a multiple of ChunkElements (even), so pairs align with the chunk.
        var i = 0;
        for (; i + 1 < destination.Length; i += 2)
        {
            var (even, odd) = NormalPair(rng.At((ulong)(first + i) >> 1));
            destination[i] = encoder.Encode(even * std);
            destination[i + 1] = encoder.Encode(odd * std);
        }
        if (i < destination.Length)
        {
            destination[i] = encoder.Encode(NormalPair(rng.At((ulong)(first + i) >> 1)).Even * std);
        }
    }

    private static byte NearestFloat4(float value)
    {
        ReadOnlySpan<float> magnitudes = [0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f];
        var magnitude = MathF.Abs(value);
        var best = 0;
        for (var m = 1; m < magnitudes.Length; m++)
        {
            if (MathF.Abs(magnitudes[m] - magnitude) < MathF.Abs(magnitudes[best] - magnitude))
            {
                best = m;
            }
        }
        return (byte)(best | (value < 0 ? 0x8 : 0));
    }
}
