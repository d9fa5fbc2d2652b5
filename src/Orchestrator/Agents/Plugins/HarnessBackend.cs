using AgentForge.Orchestrator.Harness;
using AgentForge.Tools.Agents;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Inputs;
using AgentForge.Tools.Oracle;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Agents.Plugins;

/// <summary>
/// The tools' <see cref="IEvaluationBackend"/> over the <see cref="Harness.Harness"/>. Either over a
/// harness the caller owns (the evolution loop: tools and loop share the GPU worker), or lazily:
/// the dataset and baselines load at once (get_definition needs nothing else) and the harness,
/// with its worker and oracle, is created by the first tool that needs it.
/// </summary>
public sealed class HarnessBackend : IEvaluationBackend, IAsyncDisposable
{
    /// <summary>Compiling needs no GPU: without a worker, candidates are built for Hopper, the main target.</summary>
    public const int DefaultMajor = 9;

    private readonly HarnessOptions options;
    private readonly bool ownsHarness;
    private readonly SemaphoreSlim creating = new(1, 1);
    private Harness.Harness? harness;
    private string? harnessProblem;

    private HarnessBackend(HarnessOptions options, TraceDataset dataset, BaselineCatalog? baselines, Harness.Harness? harness, bool ownsHarness)
    {
        this.options = options;
        Dataset = dataset;
        Baselines = baselines;
        this.harness = harness;
        this.ownsHarness = ownsHarness;
    }

    public TraceDataset Dataset { get; }

    public BaselineCatalog? Baselines { get; }

    /// <summary>Tools over a harness the caller keeps and disposes.</summary>
    public static HarnessBackend Over(Harness.Harness harness) =>
        new(harness.Options, harness.Dataset, harness.Baselines, harness, ownsHarness: false);

    /// <summary>Tools that create (and own) a harness on first use.</summary>
    public static HarnessBackend Lazy(HarnessOptions options)
    {
        var dataset = TraceDataset.Load(options.DatasetRoot);
        var kernels = BaselineCatalog.Locate(options.KernelsRoot);
        var baselines = kernels is null ? null : BaselineCatalog.Load(kernels);
        return new HarnessBackend(options, dataset, baselines is { IsOk: true } ? baselines.Value : null, null, ownsHarness: true);
    }

    private async Task<Harness.Harness?> HarnessAsync(CancellationToken cancellationToken)
    {
        if (harness is not null || harnessProblem is not null)
        {
            return harness;
        }
        await creating.WaitAsync(cancellationToken);
        try
        {
            if (harness is null && harnessProblem is null)
            {
                var created = Harness.Harness.Create(options, new OracleTiming(1, 3));
                if (created.IsOk)
                {
                    harness = created.Value;
                }
                else
                {
                    harnessProblem = string.Join("; ", created.Errors);
                }
            }
            return harness;
        }
        finally
        {
            creating.Release();
        }
    }

    public async Task<GpuStatus> EnsureGpuAsync(CancellationToken cancellationToken)
    {
        var host = await HarnessAsync(cancellationToken);
        if (host is null)
        {
            return new GpuStatus(null, harnessProblem);
        }
        var pool = await host.StartWorkersAsync(cancellationToken);
        return pool.Hello is { } hello
            ? new GpuStatus(hello, null)
            : new GpuStatus(null, pool.Problem);
    }

    public async Task<BuildResult> BuildAsync(CandidateSource candidate, Definition definition, CancellationToken cancellationToken)
    {
        var host = await HarnessAsync(cancellationToken);
        if (host is null)
        {
            return BuildResult.Failed($"the harness could not be set up: {harnessProblem}", "", "");
        }
        var architecture = await host.ArchitectureAsync(candidate.Target, cancellationToken)
            ?? NvccBuilder.Architecture(DefaultMajor, 0, candidate.Target);
        return await host.Builder.BuildAsync(candidate, definition, architecture, cancellationToken);
    }

    public async IAsyncEnumerable<WorkloadOutcome> EvaluateAsync(BuildResult build, Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions evaluatorOptions,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var host = await HarnessAsync(cancellationToken);
        if (host is null)
        {
            foreach (var workload in workloads)
            {
                yield return new WorkloadOutcome(workload, null, harnessProblem ?? "", null, null, null, [], null, "", harnessProblem);
            }
            yield break;
        }
        await foreach (var outcome in host.Evaluator.EvaluateAsync(build, definition, workloads, evaluatorOptions, cancellationToken))
        {
            yield return outcome;
        }
    }

    public IInputProvider InputsFor(string datasetRoot)
    {
        if (harness is not null && Path.GetFullPath(datasetRoot) == Path.GetFullPath(harness.Dataset.Root))
        {
            return harness.Inputs;
        }
        // Another dataset (trace_set_path): same on-disk cache, which is keyed by definition hash and uuid.
        return new MaterializingInputProvider(datasetRoot, new InputMaterializer(),
            new InputCache(Path.Combine(options.CacheRoot, "inputs"), options.InputCacheBytes));
    }

    public async ValueTask DisposeAsync()
    {
        if (ownsHarness && harness is not null)
        {
            await harness.DisposeAsync();
        }
        creating.Dispose();
    }
}
