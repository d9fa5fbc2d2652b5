using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench.Floors;

/// <summary>
/// Gated delta net (decode and prefill): q, k, v, gates and output once; the state read once
/// (when given) and written once. Arithmetic per token and value head: q.S, k.S and the rank-1
/// update, 6*K*V, plus the chunked form's intra-chunk products, 4*64*(K+V).
/// </summary>
public sealed class GdnWorkModel : IWorkModel
{
    public Work Estimate(Definition definition, InputSet inputs)
    {
        var bytes = inputs.Arguments.Sum(a => FloorCalculator.Bytes(a.Value)) + FloorCalculator.OutputBytes(definition, inputs);
        var v = ((TensorArgument)inputs["v"]).Tensor;
        var tokens = v.Shape.Length == 4 ? v.Shape[0] * v.Shape[1] : v.Shape[0];
        var heads = v.Shape[^2];
        var dim = v.Shape[^1];
        var chunked = definition.Name.Contains("prefill", StringComparison.Ordinal) ? 4.0 * 64 * (2 * dim) : 0;
        var flops = tokens * heads * (6.0 * dim * dim + chunked);
        return new Work(bytes, flops, $"{tokens} tokens x {heads} heads; state in+out");
    }
}

/// <summary>DSA sparse attention: each valid selected row of both caches gathered once per token.</summary>
public sealed class SparseAttentionWorkModel : IWorkModel
{
    public Work Estimate(Definition definition, InputSet inputs)
    {
        var indices = ((TensorArgument)inputs["sparse_indices"]).Tensor;
        var q = ((TensorArgument)inputs["q_nope"]).Tensor;
        var ckv = ((TensorArgument)inputs["ckv_cache"]).Tensor;
        var kpe = ((TensorArgument)inputs["kpe_cache"]).Tensor;
        var rowBytes = (ckv.Shape[^1] + kpe.Shape[^1]) * 2;
        long valid = 0;
        var span = indices.Bytes.Span;
        for (long i = 0; i < indices.ElementCount; i++)
        {
            if (ElementCodec.GetInteger(DType.Int32, span, i) >= 0)
            {
                valid++;
            }
        }
        var heads = q.Shape[1];
        var bytes = valid * rowBytes + FloorCalculator.Bytes(inputs["q_nope"]) + FloorCalculator.Bytes(inputs["q_pe"])
            + indices.Bytes.Length + FloorCalculator.OutputBytes(definition, inputs);
        var flops = 2.0 * valid * heads * (ckv.Shape[^1] + kpe.Shape[^1] + ckv.Shape[^1]);
        return new Work(bytes, flops, $"{valid} gathered rows");
    }
}

/// <summary>DSA top-k indexer: each sequence's cached keys (128 fp8 + 4-byte scale) read once.</summary>
public sealed class TopKIndexerWorkModel : IWorkModel
{
    public Work Estimate(Definition definition, InputSet inputs)
    {
        var seqLens = ((TensorArgument)inputs["seq_lens"]).Tensor;
        var q = ((TensorArgument)inputs["q_index_fp8"]).Tensor;
        long tokens = 0;
        for (long i = 0; i < seqLens.ElementCount; i++)
        {
            tokens += ElementCodec.GetInteger(DType.Int32, seqLens.Bytes.Span, i);
        }
        var heads = q.Shape[1];
        var dim = q.Shape[2];
        var bytes = tokens * (dim + 4) + q.Bytes.Length + FloorCalculator.Bytes(inputs["weights"])
            + seqLens.Bytes.Length + FloorCalculator.Bytes(inputs["block_table"]) + FloorCalculator.OutputBytes(definition, inputs);
        return new Work(bytes, 2.0 * tokens * heads * dim, $"{tokens} cached tokens scored", "fp8");
    }
}

/// <summary>
/// DeepSeek MoE with local experts: the weights (and scales) of each local expert that receives at
/// least one token are read once; activations, logits and output once. Arithmetic: both GEMMs for
/// every (token, local expert) pair. Routing is recomputed here on the CPU from the inputs.
/// </summary>
public sealed class DeepSeekMoeWorkModel : IWorkModel
{
    public Work Estimate(Definition definition, InputSet inputs)
    {
        var logits = ((TensorArgument)inputs["routing_logits"]).Tensor;
        var bias = ((TensorArgument)inputs["routing_bias"]).Tensor;
        var w1 = ((TensorArgument)inputs["gemm1_weights"]).Tensor;
        var w2 = ((TensorArgument)inputs["gemm2_weights"]).Tensor;
        var offset = inputs["local_expert_offset"] is ScalarArgument s ? (int)s.Value.AsInteger : 0;
        var localExperts = (int)w1.Shape[0];
        var routed = DeepSeekRouting.Route(logits, bias, offset, localExperts);
        var active = routed.TokensPerLocalExpert.Count(c => c > 0);
        var pairs = routed.TokensPerLocalExpert.Sum();

        double perExpert = w1.Bytes.Length / localExperts + w2.Bytes.Length / localExperts
            + FloorCalculator.Bytes(inputs["gemm1_weights_scale"]) / localExperts + FloorCalculator.Bytes(inputs["gemm2_weights_scale"]) / localExperts;
        var bytes = active * perExpert + logits.Bytes.Length + FloorCalculator.Bytes(inputs["hidden_states"])
            + FloorCalculator.Bytes(inputs["hidden_states_scale"]) + bias.Bytes.Length + FloorCalculator.OutputBytes(definition, inputs);
        var hidden = w1.Shape[2];
        var gemm1Out = w1.Shape[1];
        var intermediate = w2.Shape[2];
        var flops = 2.0 * pairs * (hidden * gemm1Out + intermediate * hidden);
        return new Work(bytes, flops, $"{active} active local experts, {pairs} token-expert pairs", "fp8");
    }
}

/// <summary>DeepSeek-V3 no-aux routing (sigmoid, biased group top-2 sums, top-4 groups, top-8 experts).</summary>
public static class DeepSeekRouting
{
    public sealed record Result(int[] TokensPerLocalExpert, int[][] TopExperts);

    public static Result Route(HostTensor logits, HostTensor bias, int localOffset, int localExperts, int topK = 8, int groups = 8, int keptGroups = 4)
    {
        var tokens = (int)logits.Shape[0];
        var experts = (int)logits.Shape[1];
        var groupSize = experts / groups;
        var counts = new int[localExperts];
        var top = new int[tokens][];
        var biasValues = ElementCodec.ToFloat32(bias);
        var span = logits.Bytes.Span;
        var scores = new float[experts];
        var groupScores = new float[groups];
        for (var t = 0; t < tokens; t++)
        {
            for (var e = 0; e < experts; e++)
            {
                var x = ElementCodec.GetFloat(logits.DType, span, (long)t * experts + e);
                scores[e] = 1f / (1f + MathF.Exp(-x)) + biasValues[e];
            }
            for (var g = 0; g < groups; g++)
            {
                var slice = scores.AsSpan(g * groupSize, groupSize).ToArray();
                Array.Sort(slice);
                groupScores[g] = slice[^1] + slice[^2];
            }
            var kept = Enumerable.Range(0, groups).OrderByDescending(g => groupScores[g]).Take(keptGroups).ToHashSet();
            top[t] = Enumerable.Range(0, experts).Where(e => kept.Contains(e / groupSize))
                .OrderByDescending(e => scores[e]).Take(topK).ToArray();
            foreach (var e in top[t])
            {
                var local = e - localOffset;
                if (local >= 0 && local < localExperts)
                {
                    counts[local]++;
                }
            }
        }
        return new Result(counts, top);
    }
}
