namespace AgentForge.Tools.Profiler;

/// <summary>
/// One profiled kernel launch, reduced to what steers an optimization: time, how close to the
/// compute and memory roofs, occupancy and what limits it, caches, and why warps stall.
/// Null means ncu did not report the metric (not in the collected sections, or n/a).
/// </summary>
public sealed record NcuKernelSummary(
    string Id,
    string Name,
    string? Grid,
    string? Block,
    double? DurationUs,
    double? ComputeThroughputPct,
    double? MemoryThroughputPct,
    double? DramThroughputPct,
    double? AchievedOccupancyPct,
    double? TheoreticalOccupancyPct,
    double? RegistersPerThread,
    double? SharedMemoryPerBlockBytes,
    double? L2HitRatePct,
    double? L1HitRatePct,
    double? WarpCyclesPerIssuedInstruction,
    IReadOnlyList<string> StallReasons,
    IReadOnlyList<string> Advice);

/// <summary>What ncu reported for the candidate's call: the kernels, and a problem when there is no profile.</summary>
public sealed record NcuProfile(IReadOnlyList<NcuKernelSummary> Kernels, string? Problem)
{
    public double? TotalDurationUs => Kernels.Count == 0 || Kernels.Any(k => k.DurationUs is null) ? null : Kernels.Sum(k => k.DurationUs!.Value);
}

/// <summary>An ncu section set (as `ncu --list-sets` prints it) and the sections it collects.</summary>
public sealed record NcuSet(string Name, IReadOnlyList<string> Sections);

/// <summary>An ncu section (as `ncu --list-sections` prints it).</summary>
public sealed record NcuSection(string Name, string? DisplayName);

/// <summary>The sets and sections run_ncu accepts; <paramref name="Source"/> says whether ncu listed them or the built-in list stood in.</summary>
public sealed record NcuOptionsList(IReadOnlyList<NcuSet> Sets, IReadOnlyList<NcuSection> Sections, string Source, string? Note);
