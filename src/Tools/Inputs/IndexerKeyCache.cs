using System.Buffers.Binary;
using System.Runtime.InteropServices;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// The DSA indexer's packed fp8 key cache (deep_gemm's layout), int8 [num_pages, page_size, 1,
/// head_dim + 4]. Despite the shape, each page is page_size x head_dim fp8 e4m3fn bytes (token
/// major) followed by page_size float32 scales, one per token. A random int8 tensor would hold
/// NaN codes and absurd scales, so a <c>random</c> cache is replaced by a valid one: per token
/// x ~ N(0,1) rounded to bfloat16, scale = max(max|x|, 1e-4) / 448, payload = e4m3fn(x / scale),
/// all in float32 as torch computes it.
/// </summary>
public static class IndexerKeyCache
{
    public const string InputName = "k_index_cache_fp8";
    public const float Fp8Max = 448f;
    public const float MinAbsMax = 1e-4f;

    public static bool Applies(Definition definition, TensorSpec spec) =>
        spec.DType == DType.Int8 && spec.Shape is { Count: 4 } shape
        && definition.FindAxis(shape[2]) is ConstAxis { Value: 1 }
        && definition.FindAxis(shape[3]) is ConstAxis { Value: > 4 };

    public static DataResult<HostTensor> Synthesize(SynthesisContext context)
    {
        if (context.Shape[2] != 1 || context.Shape[3] <= 4)
        {
            return context.Fail($"expected [num_pages, page_size, 1, head_dim + 4], got [{string.Join(", ", context.Shape)}]");
        }
        return DataResult<HostTensor>.Ok(Generate(context.Shape, context.Key, context.Options.MaxDegreeOfParallelism));
    }

    /// <summary>A valid packed cache of <paramref name="shape"/> [num_pages, page_size, 1, head_dim + 4].</summary>
    public static HostTensor Generate(long[] shape, ulong key, int maxDegreeOfParallelism = -1)
    {
        var (pages, pageSize, headDim) = (shape[0], (int)shape[1], (int)shape[3] - 4);
        var tensor = RandomTensors.AllocateUninitialized(DType.Int8, shape);
        var bytes = MemoryMarshal.AsMemory(tensor.Bytes);
        var pageBytes = (long)pageSize * (headDim + 4);
        var rng = new CounterRng(key);
        const long PagesPerItem = 8;
        Parallel.For(0, (pages + PagesPerItem - 1) / PagesPerItem,
            new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, item =>
            {
                var x = new float[headDim];
                var end = Math.Min(pages, (item + 1) * PagesPerItem);
                for (var page = item * PagesPerItem; page < end; page++)
                {
                    var span = bytes.Span.Slice(checked((int)(page * pageBytes)), (int)pageBytes);
                    for (var token = 0; token < pageSize; token++)
                    {
                        var absMax = 0f;
                        var first = (page * pageSize + token) * headDim;
                        for (var d = 0; d < headDim; d++)
                        {
                            // Pairs share one draw; an odd head_dim makes pairs straddle tokens.
                            if ((first + d) % 2 == 0 && d + 1 < headDim)
                            {
                                var (even, odd) = RandomTensors.NormalPairAt(rng, (first + d) / 2);
                                x[d] = RoundToBFloat16(even);
                                x[d + 1] = RoundToBFloat16(odd);
                                absMax = MathF.Max(absMax, MathF.Max(MathF.Abs(x[d]), MathF.Abs(x[d + 1])));
                                d++;
                                continue;
                            }
                            x[d] = SourceValue(rng, page, token, d, pageSize, headDim);
                            absMax = MathF.Max(absMax, MathF.Abs(x[d]));
                        }
                        var scale = MathF.Max(absMax, MinAbsMax) / Fp8Max;
                        var payload = span.Slice(token * headDim, headDim);
                        for (var d = 0; d < headDim; d++)
                        {
                            payload[d] = ElementEncoder.FloatToFloat8E4M3FN(x[d] / scale);
                        }
                        BinaryPrimitives.WriteSingleLittleEndian(span[(pageSize * headDim + token * 4)..], scale);
                    }
                }
            });
        return tensor;
    }

    private static float RoundToBFloat16(float value) => ElementCodec.BFloat16ToFloat(ElementEncoder.FloatToBFloat16(value));

    /// <summary>The bfloat16 key element the cache quantizes (exposed so tests can check the packing).</summary>
    public static float SourceValue(CounterRng rng, long page, int token, int dim, int pageSize, int headDim) =>
        RoundToBFloat16(RandomTensors.NormalAt(rng, (page * pageSize + token) * headDim + dim));

    /// <summary>Dequantizes token <paramref name="token"/> of page <paramref name="page"/>, as the reference's dequant_fp8_kv_cache.</summary>
    public static void Decode(ReadOnlySpan<byte> cache, int pageSize, int headDim, long page, int token, Span<float> destination)
    {
        var pageBytes = pageSize * (headDim + 4);
        var span = cache.Slice(checked((int)(page * pageBytes)), pageBytes);
        var scale = BinaryPrimitives.ReadSingleLittleEndian(span[(pageSize * headDim + token * 4)..]);
        for (var d = 0; d < headDim; d++)
        {
            destination[d] = ElementCodec.Float8E4M3FNToFloat(span[token * headDim + d]) * scale;
        }
    }
}
