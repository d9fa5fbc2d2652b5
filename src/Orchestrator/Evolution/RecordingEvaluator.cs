using System.Collections.Concurrent;
using System.Globalization;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// Writes a FlashInfer-Bench trace line for every workload of every evaluation (screening, full,
/// and the gate's re-measurements), named after the candidate whose build was evaluated.
/// </summary>
public sealed class RecordingEvaluator(ICandidateEvaluator inner, RunStore store, TimeProvider time) : ICandidateEvaluator
{
    private readonly ConcurrentDictionary<string, string> names = new();
    private RunEnvironment? environment;

    /// <summary>Names the candidate a build belongs to (builds are keyed by content).</summary>
    public void Register(BuildResult build, string solutionName) => names[build.CacheKey] = solutionName;

    public async Task<RunEnvironment> DescribeAsync(CancellationToken cancellationToken) =>
        environment ??= await inner.DescribeAsync(cancellationToken);

    public Task<BuildResult> BuildAsync(CandidateSource source, Definition definition, CancellationToken cancellationToken) =>
        inner.BuildAsync(source, definition, cancellationToken);

    public int Parallelism => inner.Parallelism;

    public async Task<IReadOnlyList<WorkloadOutcome>> EvaluateAsync(BuildResult build, Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions options, CancellationToken cancellationToken) =>
        Record(build, definition, options, await inner.EvaluateAsync(build, definition, workloads, options, cancellationToken));

    /// <summary>Writes the traces of outcomes measured elsewhere (ahead of their turn) and returns them.</summary>
    public IReadOnlyList<WorkloadOutcome> Record(BuildResult build, Definition definition, EvaluatorOptions options, IReadOnlyList<WorkloadOutcome> outcomes)
    {
        var where = environment ?? new RunEnvironment("unknown", "unknown", "unknown");
        var traceEnvironment = new TraceEnvironment(where.Gpu.Replace(' ', '_'), new Dictionary<string, string>
        {
            ["cuda_driver"] = where.Driver,
            ["cuda_toolkit"] = where.Toolkit,
            ["agentforge"] = typeof(RecordingEvaluator).Assembly.GetName().Version?.ToString() ?? "dev",
        });
        var name = names.GetValueOrDefault(build.CacheKey, build.CacheKey);
        var stamp = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        store.AppendTraces(outcomes.Where(o => o.Status is not null).Select(o =>
        {
            var performance = o.Status == EvaluationStatus.PASSED && o.LatencyMs is { } latency
                ? new Performance(latency, o.ReferenceLatencyMs ?? 0, o.Speedup ?? 0)
                : null;
            var log = options.RotationSets > 1 || options.RecheckAfterTiming
                ? $"[gate: {options.RotationSets} input sets in rotation, re-check after timing] {o.Log}"
                : o.Log;
            var evaluation = new Evaluation(o.Status!.Value, traceEnvironment, stamp, log, o.Correctness, performance);
            return TraceJson.WriteTrace(new Trace(definition.Name, o.Workload.Workload, name, evaluation));
        }));
        return outcomes;
    }
}
