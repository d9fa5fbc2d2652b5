namespace AgentForge.Tools.Profiler;

/// <summary>
/// Reads the tables `ncu --list-sets` and `ncu --list-sections` print: a header row between dashed
/// rules gives the column positions; a long cell wraps onto following rows whose first column is
/// blank, so the wrapped pieces are joined back.
/// </summary>
public static class NcuOptionsParser
{
    /// <summary>What ncu 2025.x lists on Hopper; stands in when ncu is not installed.</summary>
    public static NcuOptionsList Builtin(string note) => new(
        [
            new("basic", ["LaunchStats", "Occupancy", "SpeedOfLight", "WorkloadDistribution"]),
            new("detailed", ["ComputeWorkloadAnalysis", "InstructionStats", "LaunchStats", "MemoryWorkloadAnalysis", "MemoryWorkloadAnalysis_Chart", "MemoryWorkloadAnalysis_Tables", "Occupancy", "SchedulerStats", "SourceCounters", "SpeedOfLight", "SpeedOfLight_RooflineChart", "WarpStateStats", "WorkloadDistribution"]),
            new("full", ["ComputeWorkloadAnalysis", "InstructionStats", "LaunchStats", "MemoryWorkloadAnalysis", "MemoryWorkloadAnalysis_Chart", "MemoryWorkloadAnalysis_Tables", "NumaAffinity", "Nvlink_Tables", "Nvlink_Topology", "Occupancy", "PmSampling", "PmSampling_WarpStates", "SchedulerStats", "SourceCounters", "SpeedOfLight", "SpeedOfLight_HierarchicalDoubleRooflineChart", "SpeedOfLight_HierarchicalHalfRooflineChart", "SpeedOfLight_HierarchicalSingleRooflineChart", "SpeedOfLight_HierarchicalTensorRooflineChart", "SpeedOfLight_RooflineChart", "WarpStateStats", "WorkloadDistribution"]),
            new("nvlink", ["Nvlink", "Nvlink_Tables", "Nvlink_Topology"]),
            new("pmsampling", ["PmSampling", "PmSampling_WarpStates"]),
            new("roofline", ["SpeedOfLight", "SpeedOfLight_HierarchicalDoubleRooflineChart", "SpeedOfLight_HierarchicalHalfRooflineChart", "SpeedOfLight_HierarchicalSingleRooflineChart", "SpeedOfLight_HierarchicalTensorRooflineChart", "SpeedOfLight_RooflineChart", "WorkloadDistribution"]),
        ],
        [
            new("ComputeWorkloadAnalysis", "Compute Workload Analysis"),
            new("InstructionStats", "Instruction Statistics"),
            new("LaunchStats", "Launch Statistics"),
            new("MemoryWorkloadAnalysis", "Memory Workload Analysis"),
            new("MemoryWorkloadAnalysis_Chart", "Memory Workload Analysis Chart"),
            new("MemoryWorkloadAnalysis_Tables", "Memory Workload Analysis Tables"),
            new("NumaAffinity", "NUMA Affinity"),
            new("Nvlink", "NVLink"),
            new("Nvlink_Tables", "NVLink Tables"),
            new("Nvlink_Topology", "NVLink Topology"),
            new("Occupancy", "Occupancy"),
            new("PmSampling", "PM Sampling"),
            new("PmSampling_WarpStates", "PM Sampling: Warp States"),
            new("SchedulerStats", "Scheduler Statistics"),
            new("SourceCounters", "Source Counters"),
            new("SpeedOfLight", "GPU Speed Of Light Throughput"),
            new("SpeedOfLight_HierarchicalDoubleRooflineChart", "GPU Speed Of Light Hierarchical Roofline Chart (Double Precision)"),
            new("SpeedOfLight_HierarchicalHalfRooflineChart", "GPU Speed Of Light Hierarchical Roofline Chart (Half Precision)"),
            new("SpeedOfLight_HierarchicalSingleRooflineChart", "GPU Speed Of Light Hierarchical Roofline Chart (Single Precision)"),
            new("SpeedOfLight_HierarchicalTensorRooflineChart", "GPU Speed Of Light Hierarchical Roofline Chart (Tensor Core)"),
            new("SpeedOfLight_RooflineChart", "GPU Speed Of Light Roofline Chart"),
            new("WarpStateStats", "Warp State Statistics"),
            new("WorkloadDistribution", "GPU and Memory Workload Distribution"),
        ],
        "builtin",
        note);

    public static IReadOnlyList<NcuSet> ParseSets(string output)
    {
        // Section lists wrap mid-word: the pieces join without a space.
        var table = Table(output, "Identifier", "Sections", "Enabled", "");
        return table.Select(r => new NcuSet(r.Key, r.Second.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))).ToList();
    }

    public static IReadOnlyList<NcuSection> ParseSections(string output)
    {
        var table = Table(output, "Identifier", "Display Name", "Enabled", " ");
        return table.Select(r => new NcuSection(r.Key, r.Second.Length == 0 ? null : r.Second)).ToList();
    }

    /// <summary>Rows as (first column, second column joined across wrapped rows).</summary>
    private static List<(string Key, string Second)> Table(string output, string first, string second, string third, string joiner)
    {
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var headerIndex = lines.FindIndex(l => l.StartsWith(first, StringComparison.Ordinal) && l.Contains(second, StringComparison.Ordinal));
        var rows = new List<(string Key, string Second)>();
        if (headerIndex < 0)
        {
            return rows;
        }
        var header = lines[headerIndex];
        var secondStart = header.IndexOf(second, StringComparison.Ordinal);
        var thirdStart = header.IndexOf(third, secondStart, StringComparison.Ordinal);
        foreach (var line in lines.Skip(headerIndex + 1))
        {
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith("---", StringComparison.Ordinal))
            {
                continue;
            }
            string Slice(int start, int end) =>
                start >= line.Length ? "" : line[start..(end < 0 || end > line.Length ? line.Length : end)].TrimEnd();
            var key = Slice(0, secondStart).Trim();
            var cell = Slice(secondStart, thirdStart).TrimStart();
            if (key.Length == 0 && rows.Count > 0)
            {
                rows[^1] = (rows[^1].Key, rows[^1].Second + joiner + cell);
            }
            else if (key.Length > 0)
            {
                rows.Add((key, cell));
            }
        }
        return rows;
    }
}
