using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// Workload bands: ranges of one axis where a kernel's bottleneck stays the same (KERNELS.md), so
/// the archive keeps a champion per band besides the definition-wide one (<see cref="All"/>).
/// Per-shape dispatch wins in this contest; band champions show where a specialised path pays.
/// </summary>
public static class WorkloadBands
{
    public const string All = "all";

    /// <summary>A band: workloads whose <see cref="BandScheme.Axis"/> value is at most <paramref name="UpTo"/> (and above the previous band's).</summary>
    public sealed record Band(string Name, long UpTo);

    /// <summary>How a definition's workloads are banded: by one axis, in increasing bands.</summary>
    public sealed record BandScheme(string Axis, IReadOnlyList<Band> Bands);

    private static readonly (string Prefix, BandScheme Scheme)[] Schemes =
    [
        // Prefill: short sequences are bound by the serial chain of chunks, long ones by bytes and flops.
        ("gdn_prefill", new BandScheme("total_seq_len", [new("t<=128", 128), new("t129-1024", 1024), new("t1025-5709", 5709), new("t>=5710", long.MaxValue)])),
        // Decode: B <= 4 is launch-bound, B >= 16 should stream the state at copy bandwidth.
        ("gdn_decode", new BandScheme("batch_size", [new("b<=4", 4), new("b5-16", 16), new("b>16", long.MaxValue)])),
        // MoE: decode sizes starve for parallelism, mid sizes stream weights, large sizes are compute-bound.
        ("moe_fp8_block_scale_ds_routing", new BandScheme("seq_len", [new("t<=15", 15), new("t16-1024", 1024), new("t>1024", long.MaxValue)])),
        // Indexer: <= 32 pages is the launch floor; above, bytes plus selection.
        ("dsa_topk_indexer", new BandScheme("max_num_pages", [new("p<=32", 32), new("p>32", long.MaxValue)])),
        ("dsa_sparse_attention", new BandScheme("num_tokens", [new("t<=2", 2), new("t>2", long.MaxValue)])),
    ];

    public static BandScheme? SchemeFor(string definition) =>
        Schemes.FirstOrDefault(s => definition.StartsWith(s.Prefix, StringComparison.Ordinal)).Scheme;

    /// <summary>The band of a workload; definitions without a scheme (or workloads without its axis) have one band, <see cref="All"/>.</summary>
    public static string Of(string definition, Workload workload)
    {
        var scheme = SchemeFor(definition);
        if (scheme is null || !workload.Axes.TryGetValue(scheme.Axis, out var value))
        {
            return All;
        }
        return scheme.Bands.First(b => value <= b.UpTo).Name;
    }

    /// <summary>The bands of a definition, smallest first (without <see cref="All"/>).</summary>
    public static IReadOnlyList<string> Names(string definition) =>
        SchemeFor(definition)?.Bands.Select(b => b.Name).ToList() ?? [All];

    /// <summary>A workload's size for picking small and large ones: the band axis, else the product of all axes.</summary>
    public static double Size(string definition, Workload workload)
    {
        var scheme = SchemeFor(definition);
        if (scheme is not null && workload.Axes.TryGetValue(scheme.Axis, out var value))
        {
            return value;
        }
        return workload.Axes.Values.Aggregate(1.0, (product, v) => product * Math.Max(1, v));
    }

    /// <summary>
    /// Up to <paramref name="perBand"/> workloads per band, spread over the band from smallest to
    /// largest (always its extremes): the screening set, cheap but covering every regime.
    /// </summary>
    public static IReadOnlyList<WorkloadEntry> Representative(string definition, IReadOnlyList<WorkloadEntry> workloads, int perBand)
    {
        var chosen = new List<WorkloadEntry>();
        foreach (var band in workloads.GroupBy(w => Of(definition, w.Workload)))
        {
            var sorted = band.OrderBy(w => Size(definition, w.Workload)).ThenBy(w => w.Workload.Uuid, StringComparer.Ordinal).ToList();
            var count = Math.Min(perBand, sorted.Count);
            var picks = count <= 1
                ? [sorted[0]]
                : Enumerable.Range(0, count).Select(i => sorted[(int)Math.Round(i * (sorted.Count - 1) / (double)(count - 1))]).Distinct().ToList();
            chosen.AddRange(picks);
        }
        return chosen;
    }

    /// <summary>The smallest and the largest workload (one when there is only one): where the sanitizers run.</summary>
    public static IReadOnlyList<WorkloadEntry> SmallAndLarge(string definition, IReadOnlyList<WorkloadEntry> workloads)
    {
        var sorted = workloads.OrderBy(w => Size(definition, w.Workload)).ThenBy(w => w.Workload.Uuid, StringComparer.Ordinal).ToList();
        return sorted.Count <= 1 ? sorted : [sorted[0], sorted[^1]];
    }

    public static string Describe(string definition)
    {
        var scheme = SchemeFor(definition);
        return scheme is null
            ? "one band"
            : $"by {scheme.Axis}: {string.Join(", ", scheme.Bands.Select(b => b.Name))}";
    }
}
