using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentForge.Tools.Profiler;

/// <summary>
/// Reads `ncu --csv` output of the details page (one row per metric or rule result, columns named
/// in a header row: "ID", "Kernel Name", "Section Name", "Metric Name", "Metric Unit", "Metric
/// Value", and in recent versions "Block Size", "Grid Size", "Rule Name", "Rule Type", "Rule
/// Description", "Estimated Speedup") or of the raw page (one row per kernel, a column per metric,
/// a units row under the header). Numbers may carry thousands separators; "n/a" is no value.
/// </summary>
public static partial class NcuOutputParser
{
    private const int MaxStalls = 4;
    private const int MaxAdvice = 4;

    [GeneratedRegex(@"^smsp__average_warps_issue_stalled_(\w+?)_per_issue_active\.ratio$")]
    private static partial Regex StallMetric();

    public static NcuProfile Parse(string output)
    {
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var headerIndex = lines.FindIndex(l => l.StartsWith("\"ID\",", StringComparison.Ordinal));
        if (headerIndex < 0)
        {
            return new NcuProfile([], Problem(output) ?? "ncu printed no results (no CSV header in its output)");
        }
        var header = NcuCsv.Fields(lines[headerIndex]);
        var kernels = header.Contains("Metric Name")
            ? ParseDetails(header, lines.Skip(headerIndex + 1))
            : ParseRaw(header, lines.Skip(headerIndex + 1));
        return new NcuProfile(kernels, kernels.Count == 0 ? Problem(output) ?? "ncu reported no kernels" : null);
    }

    /// <summary>The reason ncu gave for producing nothing, from its ==ERROR== / ==WARNING== lines.</summary>
    public static string? Problem(string output)
    {
        var lines = output.Split('\n').Select(l => l.Trim()).ToList();
        if (lines.Any(l => l.Contains("ERR_NVGPUCTRPERM", StringComparison.Ordinal)))
        {
            return "ncu may not read the GPU performance counters (ERR_NVGPUCTRPERM): run as root or set NVreg_RestrictProfilingToAdminUsers=0";
        }
        var error = lines.FirstOrDefault(l => l.StartsWith("==ERROR==", StringComparison.Ordinal));
        if (error is not null)
        {
            return "ncu: " + error["==ERROR==".Length..].Trim();
        }
        var warning = lines.FirstOrDefault(l => l.StartsWith("==WARNING==", StringComparison.Ordinal) && l.Contains("No kernels were profiled", StringComparison.Ordinal));
        return warning is null ? null : "ncu: no kernels were profiled (check kernel_name, or the candidate launched no kernel)";
    }

    private sealed class KernelRows(string id, string name)
    {
        public string Id { get; } = id;
        public string Name { get; } = name;
        public string? Grid { get; set; }
        public string? Block { get; set; }
        public Dictionary<string, (string Unit, string Value)> Metrics { get; } = new(StringComparer.Ordinal);
        public List<(string Name, string Type, string Description, double Speedup)> Rules { get; } = [];
    }

    private static List<NcuKernelSummary> ParseDetails(List<string> header, IEnumerable<string> rows)
    {
        int Column(string name) => header.IndexOf(name);
        int id = Column("ID"), kernel = Column("Kernel Name"), grid = Column("Grid Size"), block = Column("Block Size");
        int metric = Column("Metric Name"), unit = Column("Metric Unit"), value = Column("Metric Value");
        int ruleName = Column("Rule Name"), ruleType = Column("Rule Type"), ruleDescription = Column("Rule Description"), speedup = Column("Estimated Speedup");
        var kernels = new List<KernelRows>();
        foreach (var line in rows)
        {
            if (!line.StartsWith('"'))
            {
                continue;
            }
            var fields = NcuCsv.Fields(line);
            string Field(int index) => index >= 0 && index < fields.Count ? fields[index] : "";
            var key = Field(id);
            var rowsOfKernel = kernels.FirstOrDefault(k => k.Id == key);
            if (rowsOfKernel is null)
            {
                rowsOfKernel = new KernelRows(key, Field(kernel)) { Grid = NullIfEmpty(Field(grid)), Block = NullIfEmpty(Field(block)) };
                kernels.Add(rowsOfKernel);
            }
            var name = Field(metric);
            if (name.Length > 0)
            {
                // Details pages name some metrics in two sections ("Memory Throughput" in % and in byte/s): keep both by unit.
                var metricKey = rowsOfKernel.Metrics.ContainsKey(name) ? $"{name} [{Field(unit)}]" : name;
                rowsOfKernel.Metrics[metricKey] = (Field(unit), Field(value));
                rowsOfKernel.Metrics.TryAdd($"{name} [{Field(unit)}]", (Field(unit), Field(value)));
            }
            if (Field(ruleName).Length > 0 && Field(ruleDescription).Length > 0)
            {
                rowsOfKernel.Rules.Add((Field(ruleName), Field(ruleType), Field(ruleDescription), Number(Field(speedup)) ?? 0));
            }
        }
        return kernels.Select(Summarize).ToList();
    }

    private static List<NcuKernelSummary> ParseRaw(List<string> header, IEnumerable<string> rows)
    {
        var kernels = new List<KernelRows>();
        List<string>? units = null;
        int id = header.IndexOf("ID"), kernel = header.IndexOf("Kernel Name");
        foreach (var line in rows)
        {
            if (!line.StartsWith('"'))
            {
                continue;
            }
            var fields = NcuCsv.Fields(line);
            if (units is null && id >= 0 && id < fields.Count && fields[id].Length == 0)
            {
                units = fields;
                continue;
            }
            var rowsOfKernel = new KernelRows(id >= 0 && id < fields.Count ? fields[id] : kernels.Count.ToString(CultureInfo.InvariantCulture),
                kernel >= 0 && kernel < fields.Count ? fields[kernel] : "");
            for (var i = 0; i < Math.Min(header.Count, fields.Count); i++)
            {
                rowsOfKernel.Metrics[header[i]] = (units is not null && i < units.Count ? units[i] : "", fields[i]);
            }
            rowsOfKernel.Grid = Dimension(rowsOfKernel.Metrics, "launch__grid_size", "Grid Size");
            rowsOfKernel.Block = Dimension(rowsOfKernel.Metrics, "launch__block_size", "Block Size");
            kernels.Add(rowsOfKernel);
        }
        return kernels.Select(Summarize).ToList();
    }

    private static string? Dimension(Dictionary<string, (string Unit, string Value)> metrics, string raw, string details) =>
        metrics.TryGetValue(details, out var d) && d.Value.Length > 0 ? d.Value
        : metrics.TryGetValue(raw, out var r) && r.Value.Length > 0 ? r.Value
        : null;

    private static NcuKernelSummary Summarize(KernelRows k)
    {
        double? Get(params string[] names)
        {
            foreach (var name in names)
            {
                if (k.Metrics.TryGetValue(name, out var m) && Number(m.Value) is { } v)
                {
                    return v;
                }
            }
            return null;
        }

        double? Scaled(Func<string, double?> scale, params string[] names)
        {
            foreach (var name in names)
            {
                if (k.Metrics.TryGetValue(name, out var m) && Number(m.Value) is { } v && scale(m.Unit) is { } factor)
                {
                    return v * factor;
                }
            }
            return null;
        }

        var staticShared = Scaled(BytesFactor, "Static Shared Memory Per Block", "launch__shared_mem_per_block_static");
        var dynamicShared = Scaled(BytesFactor, "Dynamic Shared Memory Per Block", "launch__shared_mem_per_block_dynamic");
        var stalls = k.Metrics
            .Select(m => (Match: StallMetric().Match(m.Key), Value: Number(m.Value.Value)))
            .Where(s => s.Match.Success && s.Value is > 0)
            .OrderByDescending(s => s.Value)
            .Take(MaxStalls)
            .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Match.Groups[1].Value}: {s.Value:0.##} cycles per issued instruction"))
            .ToList();
        if (stalls.Count == 0)
        {
            // The details page states the dominant stall reason in the CPIStall rules' text.
            stalls = k.Rules.Where(r => r.Name.StartsWith("CPIStall", StringComparison.Ordinal) || r.Description.Contains("being stalled", StringComparison.Ordinal))
                .OrderByDescending(r => r.Speedup)
                .Select(r => FirstSentence(r.Description))
                .Distinct()
                .Take(MaxStalls)
                .ToList();
        }
        var advice = k.Rules.Where(r => r.Type is "OPT" or "WRN" && !stalls.Contains(FirstSentence(r.Description)))
            .OrderByDescending(r => r.Speedup)
            .Select(r => r.Speedup > 0
                ? string.Create(CultureInfo.InvariantCulture, $"[{r.Name}, est. speedup {r.Speedup:0.#}%] {FirstSentence(r.Description)}")
                : $"[{r.Name}] {FirstSentence(r.Description)}")
            .Distinct()
            .Take(MaxAdvice)
            .ToList();

        return new NcuKernelSummary(
            k.Id,
            k.Name,
            k.Grid,
            k.Block,
            Scaled(MicrosecondsFactor, "Duration", "gpu__time_duration.sum"),
            Get("Compute (SM) Throughput", "sm__throughput.avg.pct_of_peak_sustained_elapsed"),
            Get("Memory Throughput [%]", "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed"),
            Get("DRAM Throughput [%]", "DRAM Throughput", "dram__throughput.avg.pct_of_peak_sustained_elapsed", "gpu__dram_throughput.avg.pct_of_peak_sustained_elapsed"),
            Get("Achieved Occupancy", "sm__warps_active.avg.pct_of_peak_sustained_active"),
            Get("Theoretical Occupancy", "sm__maximum_warps_per_active_cycle_pct"),
            Get("Registers Per Thread", "launch__registers_per_thread"),
            staticShared is null && dynamicShared is null ? null : (staticShared ?? 0) + (dynamicShared ?? 0),
            Get("L2 Hit Rate", "lts__t_sector_hit_rate.pct"),
            Get("L1/TEX Hit Rate", "l1tex__t_sector_hit_rate.pct"),
            Get("Warp Cycles Per Issued Instruction", "smsp__average_warp_latency_per_inst_issued.ratio"),
            stalls,
            advice);
    }

    /// <summary>A metric value as a number: thousands separators dropped, "n/a" and empty as null.</summary>
    public static double? Number(string text)
    {
        var cleaned = text.Replace(",", "", StringComparison.Ordinal).Trim();
        return double.TryParse(cleaned, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value : null;
    }

    private static double? MicrosecondsFactor(string unit) => unit switch
    {
        "nsecond" or "ns" => 1e-3,
        "usecond" or "us" => 1,
        "msecond" or "ms" => 1e3,
        "second" or "s" => 1e6,
        _ => null,
    };

    private static double? BytesFactor(string unit) => unit.Split('/')[0] switch
    {
        "byte" or "" => 1,
        "Kbyte" or "KB" => 1e3,
        "Mbyte" or "MB" => 1e6,
        "Gbyte" or "GB" => 1e9,
        "KiB" => 1024,
        "MiB" => 1024 * 1024,
        _ => null,
    };

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    private static string FirstSentence(string text)
    {
        var end = text.IndexOf(". ", StringComparison.Ordinal);
        var sentence = end > 0 ? text[..(end + 1)] : text;
        return sentence.Length <= 400 ? sentence : sentence[..400] + "...";
    }

    /// <summary>A few lines per kernel for a model.</summary>
    public static string Describe(NcuProfile profile)
    {
        if (profile.Problem is { } problem)
        {
            return problem;
        }
        var text = new StringBuilder();
        if (profile.Kernels.Count > 1 && profile.TotalDurationUs is { } total)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{profile.Kernels.Count} kernels, {total:0.##} us in all");
        }
        foreach (var k in profile.Kernels)
        {
            text.Append(CultureInfo.InvariantCulture, $"#{k.Id} {k.Name}");
            if (k.Grid is not null || k.Block is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $" grid {k.Grid} block {k.Block}");
            }
            text.Append(": ");
            var parts = new List<string>();
            void Add(double? value, string format) { if (value is { } v) { parts.Add(string.Format(CultureInfo.InvariantCulture, format, v)); } }
            Add(k.DurationUs, "{0:0.##} us");
            Add(k.ComputeThroughputPct, "SM throughput {0:0.#}%");
            Add(k.MemoryThroughputPct, "memory throughput {0:0.#}%");
            Add(k.DramThroughputPct, "DRAM {0:0.#}%");
            Add(k.AchievedOccupancyPct, "achieved occupancy {0:0.#}%");
            Add(k.TheoreticalOccupancyPct, "theoretical occupancy {0:0.#}%");
            Add(k.RegistersPerThread, "{0:0} registers/thread");
            Add(k.SharedMemoryPerBlockBytes, "{0:0} B shared memory/block");
            Add(k.L2HitRatePct, "L2 hit {0:0.#}%");
            Add(k.L1HitRatePct, "L1 hit {0:0.#}%");
            Add(k.WarpCyclesPerIssuedInstruction, "{0:0.#} warp cycles per issued instruction");
            text.AppendLine(string.Join(", ", parts));
            foreach (var stall in k.StallReasons)
            {
                text.AppendLine("  stall: " + stall);
            }
            foreach (var advice in k.Advice)
            {
                text.AppendLine("  advice: " + advice);
            }
        }
        return text.ToString().TrimEnd();
    }
}
