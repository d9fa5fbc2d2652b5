using System.Globalization;
using System.Text;
using ScottPlot;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// report.md and progress.png, what a person reads first: where each champion stands against
/// the seeded baseline per definition and band, how the best latency moved over time, and every
/// candidate with its verdict. Built from events.jsonl alone, so `runs report` can redo it.
/// </summary>
public static class RunReport
{
    public static (string Markdown, string Plot) Write(RunStore store)
    {
        var replay = RunReplay.From(store.ReadEvents());
        var info = store.ReadRunInfo();
        var plot = Path.Combine(store.Root, RunStore.PlotFile);
        WritePlot(replay, plot);
        var markdown = Markdown(store.Id, info, replay);
        RunStore.WriteAtomically(Path.Combine(store.Root, RunStore.ReportFile), markdown);
        return (Path.Combine(store.Root, RunStore.ReportFile), plot);
    }

    public static string Markdown(string id, RunInfo? info, RunReplay replay)
    {
        var text = new StringBuilder();
        var records = replay.Archive.Records();
        text.AppendLine(CultureInfo.InvariantCulture, $"# AgentForge run {id}");
        text.AppendLine();
        if (info is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Track `{info.Track}` ({string.Join(", ", info.Definitions.Select(d => $"`{d}`"))}), generator `{info.Generator}`, seed {info.Seed}, budget {info.Options.Budget}.");
            text.AppendLine(CultureInfo.InvariantCulture, $"GPU {info.Environment.Gpu}{(info.Environment.Slots > 1 ? $" x {info.Environment.Slots} worker slots" : "")}, driver {info.Environment.Driver}, toolkit {info.Environment.Toolkit}; commit {info.GitCommit}.");
            text.AppendLine(CultureInfo.InvariantCulture, $"Command: `{string.Join(' ', info.CommandLine)}`");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"Started {replay.Started:yyyy-MM-dd HH:mm:ss} UTC; {replay.Sessions} session(s); {Duration(replay.Elapsed)} spent; "
            + $"{records.Count(r => r.Generation > 0)} candidates evaluated (+{records.Count(r => r.Generation == 0)} baselines), {replay.Skipped} duplicates skipped; "
            + $"{replay.InputTokens + replay.OutputTokens} model tokens in {replay.ModelCalls} calls.");
        text.AppendLine(CultureInfo.InvariantCulture, $"Status: {(replay.StopReason is { } stop ? $"stopped: {stop}" : replay.InFlight.Count > 0 ? $"interrupted with {replay.InFlight.Count} candidate(s) in flight (resume with `agentforge evolve --resume {id}`)" : "running or interrupted")}.");
        text.AppendLine();
        text.AppendLine("![best latency per definition over time](progress.png)");
        text.AppendLine();

        text.AppendLine("## Champions against the baselines");
        text.AppendLine();
        text.AppendLine("Latencies are geometric means over the band's workloads, from each candidate's full evaluation; x floor is the geometric mean of latency / physical floor.");
        text.AppendLine();
        text.AppendLine("| definition | band | workloads | baseline ms | champion ms | vs baseline | x floor | champion | generator | lineage |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        var definitions = info?.Definitions ?? records.Select(r => r.Definition).Distinct().ToList();
        foreach (var definition in definitions)
        {
            var seed = replay.Archive.SeedOf(definition) is { } seedId ? replay.Archive.FindRecord(seedId) : null;
            var bands = new[] { WorkloadBands.All }.Concat(WorkloadBands.Names(definition)).Distinct();
            foreach (var band in bands)
            {
                var champion = replay.Archive.Champion(definition, band);
                var seedResults = seed?.Workloads.Where(w => w.Passed && (band == WorkloadBands.All || w.Band == band)).ToList() ?? [];
                var count = seed?.Workloads.Count(w => band == WorkloadBands.All || w.Band == band) ?? 0;
                var baseline = seedResults.Count > 0 && seedResults.Count == count ? ResultMath.GeomeanLatency(seedResults) : double.NaN;
                if (champion is null && double.IsNaN(baseline))
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"| {definition} | {band} | {count} | {(seed is null ? "-" : seed.Verdict.ToString())} | no champion | - | - | - | - | - |");
                    continue;
                }
                var speedup = champion is not null && double.IsFinite(baseline) ? baseline / champion.GeomeanLatencyMs : double.NaN;
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {definition} | {band} | {count} | {Number(baseline)} | {(champion is null ? "no champion" : Number(champion.GeomeanLatencyMs))} | {(double.IsFinite(speedup) ? $"{speedup:0.00}x" : "-")} | {Number(champion?.GeomeanFloorRatio, "0.00")} | {champion?.CandidateId ?? "-"} | {champion?.Generator ?? "-"} | {Lineage(replay.Archive, champion?.CandidateId)} |");
            }
        }
        text.AppendLine();

        text.AppendLine("## Verdicts");
        text.AppendLine();
        text.AppendLine("| definition | " + string.Join(" | ", Enum.GetNames<CandidateVerdict>()) + " |");
        text.AppendLine("|---|" + string.Concat(Enum.GetNames<CandidateVerdict>().Select(_ => "---|")));
        foreach (var definition in definitions)
        {
            text.AppendLine($"| {definition} | " + string.Join(" | ", Enum.GetValues<CandidateVerdict>().Select(v => records.Count(r => r.Definition == definition && r.Verdict == v).ToString(CultureInfo.InvariantCulture))) + " |");
        }
        text.AppendLine();

        text.AppendLine("## Candidates");
        text.AppendLine();
        text.AppendLine("| candidate | definition | generator | parent | setting | verdict | geomean ms | x floor | reason |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var record in records)
        {
            var setting = record.Defines.Count == 0 ? "-" : string.Join(" ", record.Defines.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}={d.Value}"));
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {record.Id} | {record.Definition} | {record.Generator} | {record.ParentId ?? "-"} | {setting} | {record.Verdict} | {Number(record.GeomeanLatencyMs)} | {Number(record.GeomeanFloorRatio, "0.00")} | {Cell(record.Reason)} |");
        }
        foreach (var candidate in replay.InFlight)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {candidate.Id} | {candidate.Definition} | {candidate.Generator} | {candidate.ParentId ?? "-"} | - | in flight | - | - | - |");
        }
        text.AppendLine();
        text.AppendLine("Files: `events.jsonl` (every event), `traces.jsonl` (FlashInfer-Bench traces), `archive.json`, `candidates/<id>/` (sources, build log, verdicts, gate checks), `best/<definition>/solution.json`.");
        text.AppendLine();
        text.AppendLine("For the contest: `agentforge pack --run <this run> --definition D --binding tvm-ffi` packs a champion for FlashInfer-Bench's plain sm_XY build "
            + "(time that build with `agentforge bench --solution best/D/solution.json --target portable`); a champion measured for an arch-specific target (sm_90a) "
            + "keeps that build with `--binding python` (docs/contest-packaging.md).");
        return text.ToString();
    }

    /// <summary>
    /// A machine without fonts (the GPU machine) draws plots without any text. AGENTFORGE_FONT names
    /// a TrueType file to use instead (scripts/device/pack.sh carries one from the build machine).
    /// </summary>
    private static string? RegisterFont()
    {
        var path = Environment.GetEnvironmentVariable("AGENTFORGE_FONT");
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return null;
        }
        const string name = "AgentForge Report";
        ScottPlot.Fonts.AddFontFile(name, path);
        return name;
    }

    /// <summary>Best definition-wide latency over time, one panel per definition, with the baseline as a dashed line.</summary>
    public static void WritePlot(RunReplay replay, string path)
    {
        var definitions = replay.Archive.Records().Select(r => r.Definition).Concat(replay.Proposed.Select(c => c.Definition)).Distinct().ToList();
        var start = replay.Started ?? DateTimeOffset.UnixEpoch;
        var end = replay.LastEventTime ?? start;
        var font = RegisterFont();
        var multiplot = new Multiplot();
        // A new multiplot holds one plot already: the first definition draws on it.
        while (multiplot.Count() < Math.Max(1, definitions.Count))
        {
            multiplot.AddPlot();
        }
        if (definitions.Count == 0)
        {
            multiplot.GetPlot(0).Title("no candidates yet");
        }
        var minutes = Math.Max(1e-3, (end - start).TotalMinutes);
        for (var i = 0; i < definitions.Count; i++)
        {
            var definition = definitions[i];
            var plot = multiplot.GetPlot(i);
            if (font is not null)
            {
                plot.Font.Set(font);
            }
            var changes = replay.Archive.History().Where(h => h.Definition == definition && h.Band == WorkloadBands.All).ToList();
            plot.Title(definition);
            plot.XLabel("minutes since the run started");
            plot.YLabel("best geomean latency (ms)");
            if (changes.Count > 0)
            {
                var xs = changes.Select(c => (c.Time - start).TotalMinutes).Append((end - start).TotalMinutes).ToArray();
                var ys = changes.Select(c => c.GeomeanLatencyMs).Append(changes[^1].GeomeanLatencyMs).ToArray();
                var best = plot.Add.Scatter(xs, ys);
                best.ConnectStyle = ConnectStyle.StepHorizontal;
                best.LegendText = "champion";
                best.LineWidth = 2;
            }
            if (replay.Archive.SeedOf(definition) is { } seedId && replay.Archive.FindRecord(seedId) is { GeomeanLatencyMs: { } baseline })
            {
                var line = plot.Add.HorizontalLine(baseline);
                line.LinePattern = LinePattern.Dashed;
                line.LegendText = "baseline";
            }
            plot.ShowLegend();
            plot.Axes.AutoScale();
            plot.Axes.SetLimitsX(0, minutes * 1.02);
        }
        multiplot.SavePng(path, 1000, 320 * Math.Max(1, definitions.Count));
    }

    private static string Lineage(Archive archive, string? id)
    {
        var chain = new List<string>();
        for (var current = id; current is not null && chain.Count < 12; current = archive.FindCandidate(current)?.ParentId)
        {
            chain.Add(current);
        }
        return chain.Count <= 1 ? "-" : string.Join(" < ", chain.Skip(1));
    }

    private static string Number(double? value, string format = "0.0000") =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Cell(string text) => WorkloadResult.Truncate(text.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal), 160);

    private static string Duration(TimeSpan span) => $"{(int)span.TotalHours:00}:{span.Minutes:00}:{span.Seconds:00}";
}
