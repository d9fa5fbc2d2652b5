using System.Globalization;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Processes;
using AgentForge.Tools.Trace;
using Polly;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// The evaluation seam over the real harness: nvcc through <see cref="Harness.Harness.BuildAsync"/>,
/// untimed references computed ahead in parallel, then the GPU worker. Each step runs under a
/// tool pipeline with a hard timeout on top of the worker's own per-call limits.
/// </summary>
public sealed class HarnessCandidateEvaluator(Harness.Harness host, TimeProvider time) : ICandidateEvaluator
{
    private static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(15);

    public async Task<RunEnvironment> DescribeAsync(CancellationToken cancellationToken)
    {
        var started = await host.Worker.EnsureStartedAsync(cancellationToken);
        var toolkit = await ProcessRunner.RunAsync(host.Options.NvccPath, ["--version"], TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        var toolkitLine = toolkit.Succeeded ? toolkit.Output.Trim().Split('\n')[^1].Trim() : "nvcc unavailable";
        if (host.Worker.Hello is not { } hello)
        {
            return new RunEnvironment($"no GPU worker: {started.Detail}{started.Response?.Error}", "unknown", toolkitLine);
        }
        var driver = string.Create(CultureInfo.InvariantCulture, $"{hello.DriverVersion / 1000}.{hello.DriverVersion % 1000 / 10}");
        return new RunEnvironment($"{hello.Device} ({hello.Architecture}, {hello.Multiprocessors} SMs)", driver, toolkitLine, hello.CopyBandwidthGbps);
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
        foreach (var workload in workloads)
        {
            var pipeline = Resilience.ToolPipeline(perWorkload, time);
            try
            {
                outcomes.Add(await pipeline.ExecuteAsync(async token => await host.Evaluator.EvaluateWorkloadAsync(build.LibraryPath!, definition, workload, options, token), cancellationToken));
            }
            catch (Polly.Timeout.TimeoutRejectedException)
            {
                outcomes.Add(new WorkloadOutcome(workload, EvaluationStatus.TIMEOUT, $"evaluation took longer than {perWorkload.TotalSeconds:0} s", null, null, null, [], null, ""));
            }
        }
        return outcomes;
    }
}
