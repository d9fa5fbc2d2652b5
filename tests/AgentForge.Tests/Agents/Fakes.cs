using System.Runtime.CompilerServices;
using AgentForge.Tests.Trace;
using AgentForge.Tools.Agents;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Inputs;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Agents;

/// <summary>
/// A backend over the shared dataset with a scripted GPU: none by default (as in CI), or a fake
/// hello; builds succeed or fail as told; every evaluated workload gets the scripted outcome.
/// </summary>
internal sealed class FakeBackend(TraceDataset dataset, string cacheRoot) : IEvaluationBackend
{
    private static readonly Lazy<TraceDataset> SharedDataset = new(() => TraceDataset.Load(SharedData.DatasetRoot));

    public static string CacheRoot => Path.Combine(Path.GetTempPath(), "agentforge-tests-cache");

    public static FakeBackend Shared() => new(SharedDataset.Value, CacheRoot);

    public static TraceDataset SharedDatasetLoaded => SharedDataset.Value;

    public TraceDataset Dataset => dataset;

    public BaselineCatalog? Baselines { get; init; }

    public WorkerHello? Hello { get; init; }

    public Func<CandidateSource, BuildResult> Build { get; init; } = c => new BuildResult(true, "/tmp/fake/candidate.so", "built", "key", false, "sm_90");

    public Func<WorkloadEntry, WorkloadOutcome>? Outcome { get; init; }

    public List<CandidateSource> Built { get; } = [];

    public Task<GpuStatus> EnsureGpuAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Hello is null ? new GpuStatus(null, "no CUDA driver (fake)") : new GpuStatus(Hello, null));

    public Task<BuildResult> BuildAsync(CandidateSource candidate, Definition definition, CancellationToken cancellationToken)
    {
        Built.Add(candidate);
        return Task.FromResult(Build(candidate));
    }

    public async IAsyncEnumerable<WorkloadOutcome> EvaluateAsync(BuildResult build, Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var workload in workloads)
        {
            await Task.Yield();
            yield return Outcome?.Invoke(workload) ?? new WorkloadOutcome(workload, EvaluationStatus.PASSED, "", null, options.Time ? 0.01 : null, options.Time ? 0.5 : null, [], null, "cuda_events");
        }
    }

    public IInputProvider InputsFor(string datasetRoot) =>
        new MaterializingInputProvider(datasetRoot, new InputMaterializer(), new InputCache(Path.Combine(cacheRoot, "inputs"), 1L << 30));

    public static WorkerHello FakeHello => new("Fake H100", "sm_90", 132, 50 << 20, 80L << 30, 13000, 3000, 1);
}

internal sealed class FakeChampions(Champion? champion = null) : IChampionStore
{
    public Task<Champion?> GetBestAsync(string definition, CancellationToken cancellationToken) =>
        Task.FromResult(champion?.Definition == definition ? champion : null);
}

internal sealed class FakeSink : ICandidateSink
{
    public List<CandidateSubmission> Received { get; } = [];

    public Task<SubmissionReceipt> SubmitAsync(CandidateSubmission submission, CancellationToken cancellationToken)
    {
        Received.Add(submission);
        return Task.FromResult(new SubmissionReceipt($"s{Received.Count}", true, "queued"));
    }
}
