using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Agents;

/// <summary>The GPU worker's greeting, or why there is no GPU worker (a value: CI has no GPU).</summary>
public sealed record GpuStatus(WorkerHello? Hello, string? Problem)
{
    public bool Available => Hello is not null;
}

/// <summary>
/// The evaluation pipeline as the tools use it: the dataset, nvcc, the GPU worker and the oracle.
/// The orchestrator implements it over its Harness (sharing the one worker per GPU with the
/// evolution loop); tests use fakes.
/// </summary>
public interface IEvaluationBackend
{
    TraceDataset Dataset { get; }

    /// <summary>The hand-written baselines, when known (get_best falls back to them).</summary>
    BaselineCatalog? Baselines { get; }

    /// <summary>Starts the GPU worker if needed; its hello or why it did not start.</summary>
    Task<GpuStatus> EnsureGpuAsync(CancellationToken cancellationToken);

    /// <summary>Builds for the worker's card (a default architecture when there is no GPU: compiling needs none).</summary>
    Task<BuildResult> BuildAsync(CandidateSource candidate, Definition definition, CancellationToken cancellationToken);

    IAsyncEnumerable<WorkloadOutcome> EvaluateAsync(BuildResult build, Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions options, CancellationToken cancellationToken);

    /// <summary>Inputs (from the shared input cache) of workloads of the dataset at <paramref name="datasetRoot"/>.</summary>
    IInputProvider InputsFor(string datasetRoot);
}
