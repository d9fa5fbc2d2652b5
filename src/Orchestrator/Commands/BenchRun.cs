using System.Globalization;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;
using Spectre.Console;

namespace AgentForge.Orchestrator.Commands;

/// <summary>One `bench` invocation: resolve the candidate, build, evaluate with progress, report.</summary>
public sealed class BenchRun(Harness.Harness host, IAnsiConsole console)
{
    /// <summary>Tunable parameters to set on the candidate (checked against its declarations).</summary>
    public IReadOnlyDictionary<string, string> Defines { get; init; } = new Dictionary<string, string>();

    /// <summary>A build target that replaces the candidate's own (the portable build of an sm_90a baseline, say); null keeps it.</summary>
    public TargetKind? Target { get; init; }

    /// <summary>Build into the cache and stop: scripts build several settings in parallel (nvcc is the slow part), then time them one by one.</summary>
    public bool BuildOnly { get; init; }

    /// <summary>Input overrides (NAME=VALUE, `--input`) applied to every selected workload: the cases a definition allows but its workloads never hold.</summary>
    public IReadOnlyList<string> InputOverrides { get; init; } = [];

    public async Task<int> ExecuteAsync(string definitionName, string? solutionPath, IReadOnlyList<string> workloadFilter, EvaluatorOptions options, string tracesPath, string? markdownPath, string? jsonPath, CancellationToken cancellationToken)
    {
        var definition = host.Dataset.FindDefinition(definitionName);
        if (definition is null)
        {
            console.WriteLine($"unknown definition '{definitionName}'; known: {string.Join(", ", host.Dataset.Definitions.Keys)}");
            return BenchCommand.ExitUsage;
        }
        var candidate = solutionPath is null ? Baseline(definition) : FromSolution(solutionPath, definition);
        if (candidate.Value is null)
        {
            console.WriteLine(candidate.Error!);
            return BenchCommand.ExitUsage;
        }
        if (Defines.Count > 0)
        {
            var declared = TunableParameters.Parse(candidate.Value.Sources);
            var problem = declared.IsOk ? TunableParameters.Validate(declared.Value, Defines) : string.Join("\n", declared.Errors);
            if (problem is not null)
            {
                console.WriteLine(problem);
                return BenchCommand.ExitUsage;
            }
            candidate = (candidate.Value with { Defines = Defines, Name = candidate.Value.Name + "[" + string.Join(",", Defines.Select(d => $"{d.Key}={d.Value}")) + "]" }, null);
        }
        if (Target is { } target && target != candidate.Value.Target)
        {
            // Named apart so that traces and --json rows of the two builds never mix.
            candidate = (candidate.Value with { Target = target, Name = candidate.Value.Name + (target == TargetKind.Portable ? "@portable" : "@arch_specific") }, null);
        }
        var workloads = SelectWorkloads(definition, workloadFilter, out var filterError);
        if (workloads is null)
        {
            console.WriteLine(filterError!);
            return BenchCommand.ExitUsage;
        }
        var overrides = WorkloadOverrides.Parse(definition, InputOverrides, out var overrideError);
        if (overrideError is not null)
        {
            console.WriteLine(overrideError);
            return BenchCommand.ExitUsage;
        }
        if (overrides is not null)
        {
            workloads = workloads.Select(overrides.Apply).ToList();
            console.WriteLine($"every workload with {overrides.Variant} (its own uuid, axes and other inputs); no FlashInfer-Bench traces: a trace's workload cannot say so");
        }

        var pool = await host.StartWorkersAsync(cancellationToken);
        if (pool.Hello is not { } hello)
        {
            console.WriteLine($"no GPU worker: {pool.Problem}");
            return BenchCommand.ExitNoWorker;
        }
        // The source hash tells two measurements of one candidate name apart when the code differs
        // (an edited kernel measured from a stale copy looked identical before).
        var sourceHash = SourceHashOf(candidate.Value);
        var from = solutionPath is null ? $" from {host.Baselines.Root}" : "";
        console.WriteLine($"{hello.Device} ({hello.Architecture}, {hello.Multiprocessors} SMs), copy bandwidth {hello.CopyBandwidthGbps:0} GB/s, timing {hello.TimingMethod}; candidate {candidate.Value.Name} ({candidate.Value.Target}, source {sourceHash}){from}");
        WriteSlots(console, pool);

        var build = await host.BuildAsync(candidate.Value, definition, cancellationToken);
        console.WriteLine(build.Succeeded
            ? $"built for {build.Architecture}{(build.FromCache ? " (cached)" : "")}"
            : "COMPILE_ERROR:\n" + build.Log);
        if (BuildOnly)
        {
            return build.Succeeded ? BenchCommand.ExitAllPassed : BenchCommand.ExitSomeFailed;
        }

        var outcomes = new List<WorkloadOutcome>();
        var settings = host.Evaluator.SettingsFor(definition, options);
        // Untimed reference outputs (every trial but the timed first one) are produced first, in
        // parallel; the evaluation then runs alone on the GPU and only reads caches for them.
        var ahead = workloads.SelectMany(w => Enumerable.Range(0, settings.NumTrials).Where(t => t > 0 || !options.Time).Select(t => (definition, w, t))).ToList();
        PrecomputeReport? precomputed = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                if (ahead.Count > 0 && build.Succeeded)
                {
                    var references = context.AddTask("references", maxValue: ahead.Count);
                    precomputed = await host.Precomputer.RunAsync(ahead, options.Seed, () => references.Increment(1), cancellationToken);
                }
                var task = context.AddTask(definition.Name, maxValue: workloads.Count);
                await foreach (var outcome in host.Evaluator.EvaluateAsync(build, definition, workloads, options, cancellationToken))
                {
                    outcomes.Add(outcome);
                    task.Increment(1);
                }
            });

        if (precomputed is { } report)
        {
            console.WriteLine($"references ahead: {report.Produced} in {report.Elapsed.TotalSeconds:0.0} s, {report.Failures.Count} failed");
        }
        // Variant runs write no traces: a FlashInfer-Bench trace's workload cannot say it was overridden.
        var tracesWritten = "(none: --input)";
        if (overrides is null)
        {
            tracesWritten = string.IsNullOrEmpty(tracesPath) ? TraceLayout.PathFor(".", "agentforge", definition.OpType, definition.Name) : tracesPath;
            AppendTraces(tracesWritten, definition, candidate.Value.Name, outcomes, hello);
        }
        console.Write(Table(definition, outcomes));
        var passed = outcomes.Count(o => o.Status == EvaluationStatus.PASSED);
        var speedups = outcomes.Where(o => o.Speedup is not null).Select(o => o.Speedup!.Value).ToList();
        var floorRatios = outcomes.Select(o => o.FloorRatio).OfType<double>().ToList();
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{definition.Name}: {passed}/{outcomes.Count} passed; mean speedup {(speedups.Count > 0 ? speedups.Average() : double.NaN):0.##}x; geomean floor ratio {Statistics.GeometricMean(floorRatios):0.##}; card {hello.Device}; traces -> {tracesWritten}"));
        if (jsonPath is not null)
        {
            File.AppendAllLines(jsonPath, outcomes.Select(o => JsonLine(definition, candidate.Value.Name, o, hello, build.LibraryPath, sourceHash)));
        }
        if (markdownPath is not null)
        {
            File.AppendAllText(markdownPath, Markdown(definition, candidate.Value.Name, outcomes, hello, options));
        }
        foreach (var failed in outcomes.Where(o => o.Status != EvaluationStatus.PASSED).Take(5))
        {
            console.WriteLine($"--- {failed.Workload.Workload.CacheId} {failed.StatusText}: {Truncate(failed.Log, 2000)}");
        }
        return passed == outcomes.Count ? BenchCommand.ExitAllPassed : BenchCommand.ExitSomeFailed;
    }

    /// <summary>With several slots (or a retired one), which worker runs where: what a person checks first on a cluster.</summary>
    internal static void WriteSlots(IAnsiConsole console, Tools.Bench.Worker.WorkerPoolStatus pool)
    {
        if (pool.Size == 1 && pool.Live == 1)
        {
            return;
        }
        console.WriteLine($"worker slots: {pool.Describe()}");
        foreach (var slot in pool.Slots)
        {
            console.WriteLine(slot.Retired
                ? $"  {slot.Name}: retired: {slot.RetiredBecause}"
                : $"  {slot.Name}: {slot.Hello?.Device} on {slot.Hello?.Host ?? "?"} (pid {slot.Hello?.ProcessId})");
        }
    }

    private (CandidateSource? Value, string? Error) Baseline(Definition definition)
    {
        var entry = host.Baselines.For(definition.Name);
        if (entry is null)
        {
            return (null, $"no baseline for {definition.Name} in {host.Baselines.Root}/manifest.json");
        }
        var (candidate, leftOut) = host.Baselines.Resolve(entry);
        foreach (var problem in leftOut)
        {
            console.WriteLine(problem);
        }
        return (candidate, null);
    }

    internal static (CandidateSource? Value, string? Error) FromSolution(string path, Definition definition)
    {
        var read = TraceJson.ReadSolutionFile(path);
        if (!read.IsOk)
        {
            return (null, string.Join('\n', read.Errors));
        }
        var solution = read.Value;
        if (solution.Definition != definition.Name)
        {
            return (null, $"{path}: solution '{solution.Name}' is for '{solution.Definition}', not '{definition.Name}'");
        }
        // A packed solution carries a generated binding (TVM-FFI or torch) and the bundled header:
        // the harness builds its kernel sources with its own shim instead.
        return (Tools.Packaging.PackedSolution.ToCandidate(solution), null);
    }

    private List<WorkloadEntry>? SelectWorkloads(Definition definition, IReadOnlyList<string> filter, out string? error)
    {
        var all = host.Dataset.Workloads(definition.Name).ToList();
        error = null;
        if (filter.Count == 0)
        {
            return all;
        }
        var chosen = new List<WorkloadEntry>();
        foreach (var prefix in filter)
        {
            var matches = all.Where(w => w.Workload.Uuid.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToList();
            if (matches.Count != 1)
            {
                error = matches.Count == 0 ? $"no workload of {definition.Name} starts with '{prefix}'" : $"'{prefix}' matches {matches.Count} workloads; give more of the uuid";
                return null;
            }
            chosen.Add(matches[0]);
        }
        return chosen;
    }

    /// <summary>A workload in tables: its uuid's first 8 characters, and its variant in brackets.</summary>
    internal static string Label(Workload workload) =>
        workload.Variant is null ? workload.Uuid[..8] : $"{workload.Uuid[..8]} [{workload.Variant}]";

    private static Table Table(Definition definition, IReadOnlyList<WorkloadOutcome> outcomes)
    {
        var table = new Table().Title(definition.Name);
        foreach (var column in new[] { "workload", "axes", "status", "latency ms", "gaps us", "ref ms", "speedup", "floor ms", "x floor" })
        {
            table.AddColumn(column);
        }
        foreach (var o in outcomes)
        {
            var axes = string.Join(" ", o.Workload.Workload.Axes.Select(a => $"{a.Key}={a.Value}"));
            table.AddRow(
                Markup.Escape(Label(o.Workload.Workload)),
                Markup.Escape(axes),
                o.Status == EvaluationStatus.PASSED ? "[green]PASSED[/]" : $"[red]{o.StatusText}[/]",
                Number(o.LatencyMs, "0.0000"),
                Number(o.LaunchGapsMs * 1e3, "0.0"),
                Number(o.ReferenceLatencyMs, "0.000"),
                Number(o.Speedup, "0.0"),
                Number(o.Floor?.Milliseconds, "0.0000"),
                Number(o.FloorRatio, "0.00"));
        }
        return table;
    }

    private static void AppendTraces(string path, Definition definition, string solutionName, IReadOnlyList<WorkloadOutcome> outcomes, Tools.Bench.Worker.WorkerHello hello)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        var environment = new TraceEnvironment(hello.Device.Replace(' ', '_'), new Dictionary<string, string>
        {
            ["cuda_driver"] = hello.DriverVersion.ToString(CultureInfo.InvariantCulture),
            ["agentforge"] = typeof(BenchRun).Assembly.GetName().Version?.ToString() ?? "dev",
        });
        var lines = outcomes.Where(o => o.Status is not null).Select(o =>
        {
            var performance = o.LatencyMs is { } latency && o.ReferenceLatencyMs is { } reference
                ? new Performance(latency, reference, o.Speedup ?? 0)
                : null;
            var evaluation = new Evaluation(o.Status!.Value, environment,
                DateTimeOffset.Now.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture), o.Log, o.Correctness,
                o.Status == EvaluationStatus.PASSED ? performance : null);
            return TraceJson.WriteTrace(new Trace(definition.Name, o.Workload.Workload, solutionName, evaluation));
        });
        File.AppendAllLines(path, lines);
    }

    internal static string Markdown(Definition definition, string candidate, IReadOnlyList<WorkloadOutcome> outcomes, Tools.Bench.Worker.WorkerHello hello, EvaluatorOptions options)
    {
        var text = new System.Text.StringBuilder();
        var passed = outcomes.Count(o => o.Status == EvaluationStatus.PASSED);
        var speedups = outcomes.Select(o => o.Speedup).OfType<double>().ToList();
        text.AppendLine(CultureInfo.InvariantCulture, $"### {definition.Name}: {candidate}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{hello.Device}, copy bandwidth {hello.CopyBandwidthGbps:0} GB/s (measured by the worker), {DateTime.UtcNow:yyyy-MM-dd}; seed {options.Seed}; "
            + $"{passed}/{outcomes.Count} PASSED; mean speedup {(speedups.Count > 0 ? speedups.Average() : double.NaN):0.##}x; geomean floor ratio {Statistics.GeometricMean(outcomes.Select(o => o.FloorRatio).OfType<double>()):0.##}.");
        text.AppendLine(CultureInfo.InvariantCulture, $"Timing: {outcomes.FirstOrDefault(o => o.TimingMethod.Length > 0)?.TimingMethod}.");
        text.AppendLine();
        text.AppendLine("| workload | axes | status | latency ms | launch gaps us | reference ms | speedup | floor ms | x floor | matched | matched at 1e-2 |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var o in outcomes)
        {
            var axes = string.Join(" ", o.Workload.Workload.Axes.Select(a => $"{a.Key}={a.Value}"));
            var matched = o.Correctness?.Extra?["matched_ratio"]?.ToString() ?? "-";
            var matchedAtDefault = o.Correctness?.Extra?["matched_ratio_at_default_tolerance"]?.ToString() ?? "-";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {Label(o.Workload.Workload)} | {axes} | {o.StatusText} | {Number(o.LatencyMs, "0.0000")} | {Number(o.LaunchGapsMs * 1e3, "0.0")} | {Number(o.ReferenceLatencyMs, "0.000")} | {Number(o.Speedup, "0.0")} | {Number(o.Floor?.Milliseconds, "0.0000")} | {Number(o.FloorRatio, "0.00")} | {matched} | {matchedAtDefault} |");
        }
        text.AppendLine();
        return text.ToString();
    }

    internal static string JsonLine(Definition definition, string candidate, WorkloadOutcome o, Tools.Bench.Worker.WorkerHello hello, string? library,
                                    string sourceHash)
    {
        var node = new System.Text.Json.Nodes.JsonObject
        {
            ["definition"] = definition.Name,
            ["candidate"] = candidate,
            ["source_hash"] = sourceHash,
            ["uuid"] = o.Workload.Workload.Uuid,
            ["variant"] = o.Workload.Workload.Variant,
            ["axes"] = new System.Text.Json.Nodes.JsonObject(o.Workload.Workload.Axes.Select(a => KeyValuePair.Create(a.Key, (System.Text.Json.Nodes.JsonNode?)a.Value))),
            ["status"] = o.StatusText,
            ["latency_ms"] = Finite(o.LatencyMs),
            ["event_latency_ms"] = Finite(o.EventLatencyMs),
            ["kernel_sum_ms"] = Finite(o.KernelSumMs),
            ["launch_gaps_ms"] = Finite(o.LaunchGapsMs),
            ["host_issue_us"] = Finite(o.HostIssue?.MedianCallUs is { } issue ? Math.Round(issue, 1) : null),
            ["host_issue_max_us"] = Finite(o.HostIssue?.MaxUs is { } most ? Math.Round(most, 1) : null),
            ["host_issue_max_call"] = o.HostIssue?.MaxCall,
            ["reference_latency_ms"] = Finite(o.ReferenceLatencyMs),
            ["speedup"] = Finite(o.Speedup),
            ["floor_ms"] = Finite(o.Floor?.Milliseconds),
            ["floor_memory_ms"] = Finite(o.Floor?.MemoryMilliseconds),
            ["floor_compute_ms"] = Finite(o.Floor?.ComputeMilliseconds),
            ["floor_ratio"] = Finite(o.FloorRatio),
            ["matched_ratio"] = o.Correctness?.Extra?["matched_ratio"]?.DeepClone(),
            ["matched_ratio_at_default_tolerance"] = o.Correctness?.Extra?["matched_ratio_at_default_tolerance"]?.DeepClone(),
            ["trial_latencies_ms"] = new System.Text.Json.Nodes.JsonArray(o.TrialLatenciesMs.Select(l => (System.Text.Json.Nodes.JsonNode?)l).ToArray()),
            ["timing_method"] = o.TimingMethod,
            // NVML's SM clock while the trials were timed (absent without NVML). It is the clock domain's
            // setting, not the clock a kernel ran at: NVML read 1980 MHz through a T=14107 MoE bench whose
            // GEMMs ncu measured at 1.59 GHz in one pass (H100, scripts/device/clock-check.sh). It shows
            // the slower throttling (power cap, thermal) and its reasons, hence the nvml_ prefix.
            ["nvml_sm_clock_mhz"] = Finite(o.Clock?.MedianMhz),
            ["nvml_sm_clock_min_mhz"] = Finite(o.Clock?.MinMhz),
            ["nvml_clock_limits"] = o.Clock?.Limits,
            ["device"] = hello.Device,
            ["copy_bandwidth_gbps"] = hello.CopyBandwidthGbps,
            ["library"] = library,
        };
        if (o.Timeline is { } timeline)
        {
            // The worker's wire form of the entries (snake_case, nulls left out), microseconds rounded
            // to 0.01: the call's activities in start order (scripts/device/timeline.py prints them).
            IReadOnlyList<Tools.Bench.Worker.TimelineEntry> rounded =
                timeline.Select(e => e with { StartUs = Math.Round(e.StartUs, 2), DurationUs = Math.Round(e.DurationUs, 2) }).ToList();
            node["timeline"] = System.Text.Json.JsonSerializer.SerializeToNode(rounded, Tools.Bench.Worker.WorkerJson.Default.IReadOnlyListTimelineEntry);
        }
        return node.ToJsonString();

        static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
    }

    private static string Number(double? value, string format) =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    /// <summary>The content hash the bench prints and writes per row: the candidate's own hash, whole.</summary>
    internal static string SourceHashOf(CandidateSource candidate) => Evolution.CandidateHash.Of(candidate);

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "...";
}
