using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// <c>cu_seqlens</c> of variable-length batching: 0 = c0 &lt; c1 &lt; ... &lt; cN = total_seq_len, a
/// uniformly random split of the tokens into N sequences of at least one token each (N is the
/// tensor's length minus one).
/// </summary>
public static class CuSeqlensSynthesis
{
    public const string TotalAxis = "total_seq_len";

    public static bool Applies(Definition definition, TensorSpec spec) =>
        spec.Shape is { Count: 1 } && spec.DType is DType.Int64 or DType.Int32 && definition.FindAxis(TotalAxis) is not null;

    public static DataResult<HostTensor> Synthesize(SynthesisContext context)
    {
        if (context.Axis(TotalAxis) is not { } total)
        {
            return context.Fail($"the workload gives no value for axis '{TotalAxis}'");
        }
        var sequences = context.Shape[0] - 1;
        if (sequences < 1)
        {
            return context.Fail($"cu_seqlens needs at least 2 entries, the shape gives {context.Shape[0]}");
        }
        if (context.Axis("num_seqs") is { } declared && declared != sequences)
        {
            return context.Fail($"len_cu_seqlens - 1 = {sequences} disagrees with num_seqs = {declared}");
        }
        if (total < sequences)
        {
            return context.Fail($"cannot split {TotalAxis} = {total} tokens into {sequences} sequences of at least one token");
        }
        if (context.Spec.DType == DType.Int32 && total > int.MaxValue)
        {
            return context.Fail($"{TotalAxis} = {total} does not fit int32");
        }
        var offsets = Split(total, (int)sequences, new RandomStream(context.Key));
        var tensor = context.Allocate();
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsMemory(tensor.Bytes).Span;
        for (var i = 0; i < offsets.Length; i++)
        {
            ElementEncoder.SetInteger(context.Spec.DType, bytes, i, offsets[i]);
        }
        return DataResult<HostTensor>.Ok(tensor);
    }

    /// <summary>The N + 1 offsets: N - 1 distinct cut points drawn from [1, total - 1], sorted.</summary>
    internal static long[] Split(long total, int sequences, RandomStream random)
    {
        var cuts = random.Distinct(sequences - 1, total - 1);
        var offsets = new long[sequences + 1];
        for (var i = 0; i < cuts.Length; i++)
        {
            offsets[i + 1] = cuts[i] + 1;
        }
        offsets[sequences] = total;
        Array.Sort(offsets, 1, sequences - 1);
        return offsets;
    }
}
