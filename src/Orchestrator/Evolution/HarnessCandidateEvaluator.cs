using System.Globalization;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Processes;
using AgentForge.Tools.Trace;
using Polly;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// The evaluation seam over the real harness: nvcc through <see cref="Harness.Harness.BuildAsync"/>,
/// untimed references computed ahead in parallel, then the pool of GPU workers, one workload per
/// slot at a time. Builds run under a tool pipeline with a hard timeout; each workload has a hard
/// limit on top of the worker's own per-call limits, counted from when it gets a slot.
/// </summary>
public sealed class HarnessCandidateEvaluator(Harness.Harness host, TimeProvider time) : ICandidateEvaluator
{
    private static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(15);

    /// <summary>Live worker slots: how many evaluations the loop may keep going at once.</summary>
    public int Parallelism => Math.Max(1, host.Workers.Live);

    public async Task<RunEnvironment> DescribeAsync(CancellationToken cancellationToken)
    {
        var pool = await host.StartWorkersAsync(cancellationToken);
        var toolkit = await ProcessRunner.RunAsync(host.Options.NvccPath, ["--version"], TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        var toolkitLine = toolkit.Succeeded ? toolkit.Output.Trim().Split('\n')[^1].Trim() : "nvcc unavailable";
        if (pool.Hello is not { } hello)
        {
            return new RunEnvironment($"no GPU worker: {pool.Problem}", "unknown", toolkitLine);
        }
        var driver = string.Create(CultureInfo.InvariantCulture, $"{hello.DriverVersion / 1000}.{hello.DriverVersion % 1000 / 10}");
        return new RunEnvironment($"{hello.Device} ({hello.Architecture}, {hello.Multiprocessors} SMs)", driver, toolkitLine, hello.CopyBandwidthGbps, pool.Live);
    }

    public async Task<BuildResult> BuildAsync(CandidateSource source, Definition definition, CancellationToken cancellationToken)
    {
        var pipeline = Resilience.ToolPipeline(BuildLimit, time);
        try
        {
            return await pipeline.ExecuteAsync(async token => await host.BuildAsync(source, definition, token), cancellationToken);
        }
        catch (Polly.Timeout.TimeoutRejectedException)
        {
            return BuildResult.Failed($"the build took longer than {BuildLimit.TotalMinutes:0} minutes", "", "");
        }
    }

    public async Task<IReadOnlyList<WorkloadOutcome>> EvaluateAsync(BuildResult build, Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions options, CancellationToken cancellationToken)
    {
        if (!build.Succeeded)
        {
            return Evaluator.CompileFailed(workloads, build.Log).ToList();
        }
        var settings = host.Evaluator.SettingsFor(definition, options);
        // Untimed reference outputs first, in parallel; cached, so only the first candidate pays.
        var ahead = workloads.SelectMany(w => Enumerable.Range(0, settings.NumTrials).Where(t => t > 0 || !options.Time).Select(t => (definition, w, t))).ToList();
        if (ahead.Count > 0)
        {
            await host.Precomputer.RunAsync(ahead, options.Seed, null, cancellationToken);
        }
        var calls = 2 + (options.Time ? settings.WarmupRuns + settings.Iterations : 0);
        var perWorkload = options.Overhead + options.CallLimit * calls * Math.Max(1, settings.NumTrials) + TimeSpan.FromMinutes(2);
        var outcomes = new List<WorkloadOutcome>();
        await foreach (var outcome in host.Evaluator.EvaluateAsync(build, definition, workloads, options with { WorkloadLimit = perWorkload }, cancellationToken))
        {
            outcomes.Add(outcome);
        }
        return outcomes;
    }
}
