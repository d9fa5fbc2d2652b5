using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Inputs;
using AgentForge.Tools.Oracle;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Harness;

/// <summary>
/// The evaluation pipeline wired together: dataset, baselines, nvcc, a pool of GPU workers (one
/// slot per GPU, or per launch of the worker template), the Python oracle and the caches, which
/// every slot shares. Commands (bench, evolve, tools) share it; tests build the pieces with
/// fakes instead.
/// </summary>
public sealed class Harness : IAsyncDisposable
{
    private Harness(HarnessOptions options, TraceDataset dataset, BaselineCatalog baselines, NvccBuilder builder, WorkerPool workers, CachingOracle oracle, Evaluator evaluator, string scratch,
        IInputProvider inputs, IReferenceProvider references)
    {
        Inputs = inputs;
        References = references;
        Options = options;
        Dataset = dataset;
        Baselines = baselines;
        Builder = builder;
        Workers = workers;
        Oracle = oracle;
        Evaluator = evaluator;
        Scratch = scratch;
    }

    public HarnessOptions Options { get; }
    public TraceDataset Dataset { get; }
    public BaselineCatalog Baselines { get; }
    public NvccBuilder Builder { get; }
    /// <summary>The worker slots; leases go through <see cref="Evaluator"/>.</summary>
    public WorkerPool Workers { get; }
    public CachingOracle Oracle { get; }
    public Evaluator Evaluator { get; }
    public string Scratch { get; }
    public IInputProvider Inputs { get; }
    public IReferenceProvider References { get; }

    /// <summary>Untimed reference outputs for many (workload, trial) pairs, one per oracle process at a time.</summary>
    public ReferencePrecomputer Precomputer => new(Inputs, References, Options.OracleProcesses);

    public static DataResult<Harness> Create(HarnessOptions options, OracleTiming? referenceTiming)
    {
        var dataset = TraceDataset.Load(options.DatasetRoot);
        if (dataset.Errors.Count > 0)
        {
            return DataResult<Harness>.Fail(dataset.Errors);
        }
        var kernels = BaselineCatalog.Locate(options.KernelsRoot);
        if (kernels is null)
        {
            return new DataError(options.KernelsRoot ?? "kernels", null, "kernels", "no baseline kernels found (manifest.json beside the executable or in src/Kernels.Baseline)");
        }
        var baselines = BaselineCatalog.Load(kernels);
        if (!baselines.IsOk)
        {
            return DataResult<Harness>.Fail(baselines.Errors);
        }
        var scratch = Path.Combine(options.CacheRoot, "scratch", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(scratch);

        var builder = new NvccBuilder(new NvccOptions(Path.Combine(options.CacheRoot, "builds"), baselines.Value.IncludeDirectory, options.NvccPath));
        var workers = WorkerPool.Launch(options.WorkerTemplate, options.SlotGpus, startTimeout: options.WorkerStartTimeout);
        var oracle = new CachingOracle(OraclePool.Create(new OracleOptions(), options.OracleProcesses), new ReferenceCache(Path.Combine(options.CacheRoot, "references")));
        var inputs = new MaterializingInputProvider(dataset.Root, new InputMaterializer(), new InputCache(Path.Combine(options.CacheRoot, "inputs"), options.InputCacheBytes));
        var references = new OracleReferenceProvider(oracle, scratch, referenceTiming);
        var peaks = new OraclePeakSource(options.CacheRoot);
        var evaluator = new Evaluator(inputs, references, workers, SafetensorsTensorFiles.Instance, scratch, peaks: peaks);
        return DataResult<Harness>.Ok(new Harness(options, dataset, baselines.Value, builder, workers, oracle, evaluator, scratch, inputs, references));
    }

    /// <summary>Starts every worker slot (at once) and reports which can work; later calls only report.</summary>
    public async Task<WorkerPoolStatus> StartWorkersAsync(CancellationToken cancellationToken)
    {
        await startingWorkers.WaitAsync(cancellationToken);
        try
        {
            workersStatus ??= await Workers.StartAsync(cancellationToken);
            return new WorkerPoolStatus(Workers.Live, Workers.Size, Workers.Hello, Workers.Status(), Workers.Problem);
        }
        finally
        {
            startingWorkers.Release();
        }
    }

    private readonly SemaphoreSlim startingWorkers = new(1, 1);
    private WorkerPoolStatus? workersStatus;

    /// <summary>Builds a candidate for the pool's card (starting the workers if needed).</summary>
    public async Task<BuildResult> BuildAsync(CandidateSource candidate, Definition definition, CancellationToken cancellationToken)
    {
        var architecture = await ArchitectureAsync(candidate.Target, cancellationToken);
        return architecture is null
            ? BuildResult.Failed("no worker: the target architecture is unknown", "", "")
            : await Builder.BuildAsync(candidate, definition, architecture, cancellationToken);
    }

    public async Task<string?> ArchitectureAsync(TargetKind target, CancellationToken cancellationToken)
    {
        await StartWorkersAsync(cancellationToken);
        if (Workers.Hello is not { } hello)
        {
            return null;
        }
        // "sm_90" -> (9, 0); "sm_100" -> (10, 0)
        var digits = hello.Architecture.Replace("sm_", "", StringComparison.Ordinal);
        return NvccBuilder.Architecture(int.Parse(digits[..^1], System.Globalization.CultureInfo.InvariantCulture), digits[^1] - '0', target);
    }

    public async ValueTask DisposeAsync()
    {
        await Workers.DisposeAsync();
        await Oracle.DisposeAsync();
        try
        {
            Directory.Delete(Scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
