using System.Runtime.InteropServices;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// Gated delta net <c>q</c> and <c>k</c>: N(0,1) vectors scaled to unit L2 norm along the last axis
/// (one vector per token and head), then rounded to the input's dtype. Models normalize q and k
/// before the delta rule; unnormalized random keys make the recurrence diverge and the reference
/// overflows to inf within tens of tokens.
/// </summary>
public static class UnitNormSynthesis
{
    public static bool Applies(Definition definition, TensorSpec spec) =>
        definition.OpType == "gdn" && spec.Shape is { Count: >= 1 } && spec.DType.IsFloatingPoint() && spec.DType != DType.Float4E2M1;

    public static DataResult<HostTensor> Synthesize(SynthesisContext context)
    {
        var dim = context.Shape[^1];
        if (dim < 1)
        {
            return DataResult<HostTensor>.Ok(context.Allocate());
        }
        var tensor = context.Allocate();
        var bytes = MemoryMarshal.AsMemory(tensor.Bytes);
        var vectors = tensor.ElementCount / dim;
        var rng = new CounterRng(context.Key);
        const long VectorsPerItem = 256;
        Parallel.For(0, (vectors + VectorsPerItem - 1) / VectorsPerItem,
            new ParallelOptions { MaxDegreeOfParallelism = context.Options.MaxDegreeOfParallelism }, item =>
            {
                var values = new float[dim];
                var span = bytes.Span;
                var end = Math.Min(vectors, (item + 1) * VectorsPerItem);
                for (var v = item * VectorsPerItem; v < end; v++)
                {
                    var sum = 0.0;
                    for (var j = 0; j < dim; j++)
                    {
                        values[j] = RandomTensors.NormalAt(rng, v * dim + j);
                        sum += (double)values[j] * values[j];
                    }
                    var inverse = 1 / Math.Sqrt(sum);
                    for (var j = 0; j < dim; j++)
                    {
                        ElementEncoder.SetFloat(context.Spec.DType, span, v * dim + j, (float)(values[j] * inverse));
                    }
                }
            });
        return DataResult<HostTensor>.Ok(tensor);
    }
}
