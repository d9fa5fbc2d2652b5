using System.CommandLine;
using System.Globalization;
using AgentForge.Orchestrator.Harness;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Oracle;
using AgentForge.Tools.Trace;
using Spectre.Console;

namespace AgentForge.Orchestrator.Commands;

/// <summary>
/// `agentforge bench`: builds one candidate (a solution.json or the baseline), runs it on the
/// definition's workloads against the reference, prints a table per workload and a summary, and
/// appends FlashInfer-Bench traces.
/// </summary>
public static class BenchCommand
{
    public const int ExitAllPassed = 0;
    public const int ExitSomeFailed = 1;
    public const int ExitUsage = 2;
    public const int ExitNoWorker = 3;

    public static Command Create()
    {
        var definition = new Option<string>("--definition") { Description = "Definition name.", Required = true };
        var solution = new Option<string?>("--solution") { Description = "A FlashInfer-Bench solution.json to benchmark." };
        var baseline = new Option<bool>("--baseline") { Description = "Benchmark the hand-written baseline of the definition." };
        var workloads = new Option<string[]>("--workloads") { Description = "Workload uuids (or unique prefixes) to run; all when left out.", AllowMultipleArgumentsPerToken = true };
        var trials = new Option<int?>("--trials") { Description = "Trials per workload (default: the definition's setting, 3)." };
        var seed = new Option<ulong>("--seed") { Description = "Run seed for random inputs.", DefaultValueFactory = _ => 0 };
        var traces = new Option<string>("--traces") { Description = "FlashInfer-Bench traces are appended here (default: traces/agentforge/<op_type>/<definition>.jsonl, FlashInfer-Bench's layout).", DefaultValueFactory = _ => "" };
        var noTiming = new Option<bool>("--no-timing") { Description = "Check correctness only." };
        var referenceIterations = new Option<int>("--reference-iterations") { Description = "Timed calls of the reference per trial (0: not timed).", DefaultValueFactory = _ => 3 };
        var matchedRatio = new Option<double?>("--matched-ratio") { Description = "Override the required matched ratio (e.g. 0.95 for MoE)." };
        var callLimit = new Option<double>("--call-timeout") { Description = "Seconds one candidate call may take before TIMEOUT.", DefaultValueFactory = _ => 10 };
        var markdown = new Option<string?>("--markdown") { Description = "Append the result table as Markdown to this file (for results records)." };
        var defines = new Option<string[]>("--define") { Description = "Set a declared tunable parameter: NAME=VALUE (repeatable).", AllowMultipleArgumentsPerToken = true };
        var buildOnly = new Option<bool>("--build-only") { Description = "Build the candidate into the build cache and stop (no workload runs): build several settings in parallel, then time them one at a time." };
        var json = new Option<string?>("--json") { Description = "Append one JSON line per workload (latencies, floor, speedup) to this file, for scripts." };
        var target = new Option<string?>("--target") { Description = "Build target instead of the candidate's own: portable (plain sm_XY, as FlashInfer-Bench builds) or arch_specific (sm_XYa)." };
        var inputs = new Option<string[]>("--input") { Description = "Override an input of every selected workload: NAME=absent (an optional input left out) or NAME=NUMBER (a scalar input), repeatable; e.g. --input state=absent --input scale=0.", AllowMultipleArgumentsPerToken = true };
        var harness = HarnessArguments.Create();

        var command = new Command("bench", "Check and time one candidate on a definition's workloads.")
        {
            definition, solution, baseline, workloads, trials, seed, traces, noTiming, referenceIterations, matchedRatio, callLimit, markdown, json, buildOnly, defines, target, inputs,
        };
        harness.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var console = AnsiConsole.Console;
            if ((parse.GetValue(solution) is null) == !parse.GetValue(baseline))
            {
                console.MarkupLine("[red]give exactly one of --solution PATH or --baseline[/]");
                return ExitUsage;
            }
            var targetOverride = ParseTarget(parse.GetValue(target), out var targetError);
            if (targetError is not null)
            {
                console.WriteLine(targetError);
                return ExitUsage;
            }
            var options = harness.Read(parse, out var optionsError);
            if (options is null)
            {
                console.WriteLine(optionsError ?? "bad options");
                return ExitUsage;
            }
            var iterations = parse.GetValue(referenceIterations);
            var created = Harness.Harness.Create(options, iterations > 0 ? new OracleTiming(1, iterations) : null);
            if (!created.IsOk)
            {
                created.Errors.ToList().ForEach(e => console.WriteLine(e.ToString()));
                return ExitUsage;
            }
            await using var host = created.Value;
            var run = new BenchRun(host, console)
            {
                Defines = ParseDefines(parse.GetValue(defines) ?? []), Target = targetOverride, BuildOnly = parse.GetValue(buildOnly),
                InputOverrides = parse.GetValue(inputs) ?? [],
            };
            return await run.ExecuteAsync(
                parse.GetValue(definition)!,
                parse.GetValue(solution),
                parse.GetValue(workloads) ?? [],
                new EvaluatorOptions(
                    Seed: parse.GetValue(seed),
                    Trials: parse.GetValue(trials),
                    Time: !parse.GetValue(noTiming),
                    PerCallLimit: TimeSpan.FromSeconds(parse.GetValue(callLimit)),
                    Overrides: parse.GetValue(matchedRatio) is { } ratio ? new EvaluationSettingsOverrides(RequiredMatchedRatio: ratio) : null),
                parse.GetValue(traces)!,
                parse.GetValue(markdown),
                parse.GetValue(json),
                cancellationToken);
        });
        return command;
    }

    /// <summary>"portable" / "arch_specific" (or null: the candidate's own target); anything else is a usage error.</summary>
    internal static TargetKind? ParseTarget(string? text, out string? error)
    {
        error = null;
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "":
                return null;
            case "portable":
                return TargetKind.Portable;
            case "arch_specific" or "arch-specific":
                return TargetKind.ArchSpecific;
            default:
                error = $"--target '{text}': expected portable or arch_specific";
                return null;
        }
    }

    internal static IReadOnlyDictionary<string, string> ParseDefines(IEnumerable<string> pairs) =>
        pairs.Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0].Trim(), p => p[1].Trim());
}

/// <summary>The options every GPU command shares: dataset, caches, kernels, GPUs and worker launcher.</summary>
public sealed class HarnessArguments
{
    private readonly Option<string?> dataset = DatasetCommand.DatasetOption();
    private readonly Option<string?> cache = new("--cache") { Description = $"Cache folder (default: ${HarnessOptions.CacheVariable} or ~/.cache/agentforge). Shared by every worker slot; on a cluster, a folder every node sees at the same path." };
    private readonly Option<string?> kernels = new("--kernels") { Description = "Baseline kernels folder (default: beside the executable)." };
    private readonly Option<int?> gpu = new("--gpu") { Description = "One worker on this GPU ordinal (default 0); the same as --gpus with one ordinal." };
    private readonly Option<string?> gpus = new("--gpus") { Description = "Worker slots: all (one per visible GPU), N (GPUs 0..N-1, or N launches of --worker-command), or ordinals 0,1,... Default: one worker on GPU 0." };
    private readonly Option<string?> workerCommand = new("--worker-command") { Description = "Worker launcher template per slot, e.g. \"srun --gres=gpu:1 --ntasks=1 {agentforge} worker\" or \"ssh HOST {agentforge} worker --gpu {gpu}\"; {gpu} is the slot's GPU ordinal, {slot} its index." };
    private readonly Option<double> workerStart = new("--worker-start-timeout") { Description = "Seconds a worker slot may take to answer hello (a launcher may queue) before it is retired.", DefaultValueFactory = _ => 120 };
    private readonly Option<int> oracles = new("--oracle-processes") { Description = "Python reference processes run in parallel.", DefaultValueFactory = _ => 2 };

    public static HarnessArguments Create() => new();

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { dataset, cache, kernels, gpu, gpus, workerCommand, workerStart, oracles })
        {
            command.Options.Add(option);
        }
    }

    public HarnessOptions? Read(ParseResult parse, out string? error) => Read(parse, GpuInventory.Count, out error);

    /// <param name="countGpus">Counts the visible GPUs for --gpus all (a seam for tests).</param>
    public HarnessOptions? Read(ParseResult parse, Func<GpuCount> countGpus, out string? error)
    {
        var root = TraceDataset.ResolveRoot(parse.GetValue(dataset));
        if (!root.IsOk)
        {
            error = string.Join('\n', root.Errors);
            return null;
        }
        var ordinals = SlotGpus(parse.GetValue(gpu), parse.GetValue(gpus), countGpus, out error);
        if (ordinals is null)
        {
            return null;
        }
        var seconds = parse.GetValue(workerStart);
        if (!(seconds > 0))
        {
            error = "--worker-start-timeout must be a positive number of seconds";
            return null;
        }
        return new HarnessOptions(root.Value, parse.GetValue(cache) ?? HarnessOptions.DefaultCacheRoot(), parse.GetValue(kernels),
            ordinals[0], parse.GetValue(workerCommand), Math.Max(1, parse.GetValue(oracles)), Gpus: ordinals, WorkerStartTimeout: TimeSpan.FromSeconds(seconds));
    }

    /// <summary>The GPU ordinal of each slot from --gpu K (kept as the one-GPU spelling) or --gpus.</summary>
    internal static IReadOnlyList<int>? SlotGpus(int? gpu, string? gpus, Func<GpuCount> countGpus, out string? error)
    {
        error = null;
        if (gpu is not null && gpus is not null)
        {
            error = "give --gpu K or --gpus LIST, not both (--gpu K is --gpus with one ordinal)";
            return null;
        }
        if (gpu is { } single)
        {
            if (single < 0)
            {
                error = $"--gpu {single}: a GPU ordinal is >= 0";
                return null;
            }
            return [single];
        }
        if (gpus is null)
        {
            return [0];
        }
        var selection = GpuSelection.TryParse(gpus, out error);
        return selection?.Resolve(countGpus, out error);
    }
}
