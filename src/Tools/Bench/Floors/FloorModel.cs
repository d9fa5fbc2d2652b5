using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench.Floors;

/// <summary>
/// The work a call cannot avoid: bytes through device memory and arithmetic, with the precision
/// of the tensor-core path that arithmetic can use ("bf16", "fp8").
/// </summary>
public sealed record Work(double Bytes, double Flops, string Notes, string Precision = "bf16");

/// <summary>The hardware ceilings a floor divides by, with where each number came from.</summary>
public sealed record Ceilings(double CopyBandwidthBytesPerSecond, Func<string, double> PeakFlopsPerSecond, string BandwidthMethod, Func<string, string> PeakMethod);

/// <summary>A latency floor: the larger of the memory and arithmetic times.</summary>
public sealed record Floor(double Milliseconds, double MemoryMilliseconds, double ComputeMilliseconds, Work Work, string Method);

/// <summary>Compulsory work of one definition on one input set.</summary>
public interface IWorkModel
{
    Work Estimate(Definition definition, InputSet inputs);
}

public static class FloorCalculator
{
    /// <summary>The ceilings of a floor: bandwidth measured by the worker, peak as given.</summary>
    public static Floor Compute(Work work, Ceilings ceilings)
    {
        var memory = work.Bytes / ceilings.CopyBandwidthBytesPerSecond * 1e3;
        var peak = ceilings.PeakFlopsPerSecond(work.Precision);
        var compute = peak > 0 ? work.Flops / peak * 1e3 : 0;
        return new Floor(Math.Max(memory, compute), memory, compute, work,
            $"bytes/{ceilings.BandwidthMethod}; flops/{ceilings.PeakMethod(work.Precision)}");
    }

    /// <summary>The work model for a definition: a specific one where we know it, else every input read and output written once.</summary>
    public static IWorkModel ModelFor(string definitionName) => definitionName switch
    {
        _ when definitionName.StartsWith("gdn_decode", StringComparison.Ordinal) => new GdnWorkModel(),
        _ when definitionName.StartsWith("gdn_prefill", StringComparison.Ordinal) => new GdnWorkModel(),
        _ when definitionName.StartsWith("dsa_sparse_attention", StringComparison.Ordinal) => new SparseAttentionWorkModel(),
        _ when definitionName.StartsWith("dsa_topk_indexer", StringComparison.Ordinal) => new TopKIndexerWorkModel(),
        _ when definitionName.StartsWith("moe_fp8_block_scale_ds_routing", StringComparison.Ordinal) => new DeepSeekMoeWorkModel(),
        _ => new TouchEverythingWorkModel(),
    };

    internal static long Bytes(ArgumentValue value) => value is TensorArgument t ? t.Tensor.Bytes.Length : 0;

    internal static long OutputBytes(Definition definition, InputSet inputs)
    {
        var axes = AxisValues.Infer(definition, inputs);
        return definition.Outputs.Sum(o => o.Spec.DType.ByteCount(definition.ResolveShape(o.Spec, axes).Aggregate(1L, (a, b) => a * b)));
    }
}

/// <summary>Every input read once and every output written once; no arithmetic floor.</summary>
public sealed class TouchEverythingWorkModel : IWorkModel
{
    public Work Estimate(Definition definition, InputSet inputs) =>
        new(inputs.Arguments.Sum(a => FloorCalculator.Bytes(a.Value)) + FloorCalculator.OutputBytes(definition, inputs), 0, "all inputs + outputs");
}

/// <summary>
/// Var-axis values recovered from the shapes of an input set, then from the definition's
/// constraints of the form "a == b + k" (or - k, or == b) for axes no present input shows: with an
/// absent optional input (GDN's state) num_seqs comes from "len_cu_seqlens == num_seqs + 1".
/// </summary>
public static partial class AxisValues
{
    public static Dictionary<string, long> Infer(Definition definition, InputSet inputs)
    {
        var axes = new Dictionary<string, long>();
        foreach (var input in definition.Inputs)
        {
            if (input.Spec.Shape is null || inputs.Arguments.FirstOrDefault(a => a.Key == input.Name).Value is not TensorArgument t)
            {
                continue;
            }
            for (var i = 0; i < input.Spec.Shape.Count && i < t.Tensor.Shape.Length; i++)
            {
                axes.TryAdd(input.Spec.Shape[i], t.Tensor.Shape[i]);
            }
        }
        ApplyOffsetConstraints(definition.Constraints, axes);
        return axes;
    }

    /// <summary>Fills axes from "a == b + k" constraints (either side known), until nothing changes.</summary>
    internal static void ApplyOffsetConstraints(IEnumerable<string> constraints, Dictionary<string, long> axes)
    {
        var offsets = new List<(string Left, string Right, long Offset)>();
        foreach (var constraint in constraints)
        {
            var match = OffsetConstraint().Match(constraint);
            if (!match.Success)
            {
                continue;
            }
            var k = match.Groups["k"].Success ? long.Parse(match.Groups["k"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
            offsets.Add((match.Groups["a"].Value, match.Groups["b"].Value, match.Groups["sign"].Value == "-" ? -k : k));
        }
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var (left, right, offset) in offsets)
            {
                if (axes.TryGetValue(right, out var b) && !axes.ContainsKey(left))
                {
                    axes[left] = b + offset;
                    changed = true;
                }
                else if (axes.TryGetValue(left, out var a) && !axes.ContainsKey(right))
                {
                    axes[right] = a - offset;
                    changed = true;
                }
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*(?<a>[A-Za-z_]\w*)\s*==\s*(?<b>[A-Za-z_]\w*)\s*(?:(?<sign>[+-])\s*(?<k>\d+))?\s*$")]
    private static partial System.Text.RegularExpressions.Regex OffsetConstraint();
}
