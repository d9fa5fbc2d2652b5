using System.Globalization;
using AgentForge.Tools.Bench.Floors;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>How an evaluation runs: trials, seed, limits, and whether to time at all.</summary>
public sealed record EvaluatorOptions(
    ulong Seed = 0,
    int? Trials = null,
    bool Time = true,
    TimeSpan? PerCallLimit = null,
    int RotationSets = 1,
    bool RecheckAfterTiming = false,
    EvaluationSettingsOverrides? Overrides = null,
    TimeSpan? RequestOverhead = null,
    TimeSpan? WorkloadLimit = null)
{
    public TimeSpan CallLimit => PerCallLimit ?? TimeSpan.FromSeconds(10);

    /// <summary>Time a run request gets beyond its calls: uploading inputs, writing outputs.</summary>
    public TimeSpan Overhead => RequestOverhead ?? TimeSpan.FromSeconds(30);
}

/// <summary>
/// Judges one built candidate on the workloads of its definition, the way FlashInfer-Bench does
/// (trials with fresh inputs, poisoned outputs, the reference on the same inputs, timing), and
/// turns every failure into a status: a crashed or hung worker becomes RUNTIME_ERROR or TIMEOUT
/// for this candidate only; the slot restarts the worker for whatever comes next.
/// Workloads run in parallel over the pool's slots, each workload (all its trials) on one slot;
/// outcomes keep the workload order. Nothing in an outcome depends on the slot but the measured
/// latencies: inputs and references come from the shared caches, floors from the pool's card.
/// </summary>
public sealed class Evaluator(
    IInputProvider inputs,
    IReferenceProvider references,
    WorkerPool workers,
    ITensorFiles files,
    string scratchDirectory,
    EvaluationSettingsCatalog? catalog = null,
    IPeakSource? peaks = null)
{
    private readonly EvaluationSettingsCatalog settingsCatalog = catalog ?? EvaluationSettingsCatalog.Contest;

    /// <summary>The slots workloads are spread over.</summary>
    public WorkerPool Workers => workers;

    public EvaluationSettings SettingsFor(Definition definition, EvaluatorOptions options)
    {
        var settings = settingsCatalog.Resolve(definition.Name, options.Overrides);
        return options.Trials is { } trials ? settings with { NumTrials = trials } : settings;
    }

    /// <summary>Outcomes for a candidate that did not build: COMPILE_ERROR everywhere, with the log.</summary>
    public static IEnumerable<WorkloadOutcome> CompileFailed(IEnumerable<WorkloadEntry> workloads, string log) =>
        workloads.Select(w => new WorkloadOutcome(w, EvaluationStatus.COMPILE_ERROR, log, null, null, null, [], null, ""));

    public async IAsyncEnumerable<WorkloadOutcome> EvaluateAsync(
        BuildResult build,
        Definition definition,
        IReadOnlyList<WorkloadEntry> workloads,
        EvaluatorOptions options,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!build.Succeeded)
        {
            foreach (var outcome in CompileFailed(workloads, build.Log))
            {
                yield return outcome;
            }
            yield break;
        }
        if (workloads.Count > 1 && workers.Live > 1 && options.Time)
        {
            // The timed reference (trial 0) runs on a GPU too: measure those one at a time before
            // the workloads spread over the slots, so no worker's timing shares a GPU with them.
            await TimedReferencesAsync(definition, workloads, options, cancellationToken);
        }
        // Every workload waits for a slot in order (the pool serves first come, first served);
        // cancelling the run stops the ones not yet finished.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = workloads.Select(w => EvaluateWorkloadAsync(build.LibraryPath!, definition, w, options, stop.Token)).ToList();
        try
        {
            foreach (var outcome in running)
            {
                yield return await outcome;
            }
        }
        finally
        {
            // A consumer that stops early leaves no evaluation running behind it.
            stop.Cancel();
            try
            {
                await Task.WhenAll(running);
            }
            catch (Exception)
            {
                // Either already thrown to the consumer by its own await, or an outcome it chose not to read.
            }
        }
    }

    private async Task TimedReferencesAsync(Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions options, CancellationToken cancellationToken)
    {
        foreach (var workload in workloads)
        {
            var preparation = await inputs.PrepareAsync(definition, workload, 0, options.Seed, cancellationToken);
            if (preparation.Inputs is { } prepared)
            {
                using (prepared)
                {
                    // Cached by (definition, workload, trial, seed): the evaluation reads it back.
                    await references.GetAsync(definition, workload, prepared, timed: true, cancellationToken);
                }
            }
        }
    }

    /// <summary>
    /// One workload on one slot of the pool (waiting for a free one). A slot retired on the way
    /// (its worker could not be restarted, it has no GPU) costs no verdict: the workload starts
    /// again on another slot. <see cref="EvaluatorOptions.WorkloadLimit"/> bounds the time on the
    /// slot, not the wait for it.
    /// </summary>
    public async Task<WorkloadOutcome> EvaluateWorkloadAsync(string library, Definition definition, WorkloadEntry workload, EvaluatorOptions options, CancellationToken cancellationToken)
    {
        var ioRetries = 1;
        while (true)
        {
            await using var lease = await workers.LeaseAsync(cancellationToken);
            if (!lease.Granted)
            {
                return NoVerdict(workload, lease.Error!);
            }
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (options.WorkloadLimit is { } workloadLimit)
            {
                limit.CancelAfter(workloadLimit);
            }
            WorkloadOutcome outcome;
            try
            {
                outcome = await EvaluateOnAsync(lease.Worker, library, definition, workload, options, limit.Token);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested && options.WorkloadLimit is { } spent)
            {
                return new WorkloadOutcome(workload, EvaluationStatus.TIMEOUT, $"evaluation took longer than {spent.TotalSeconds:0} s", null, null, null, [], null, "");
            }
            catch (IOException) when (ioRetries-- > 0)
            {
                // A cache or scratch file vanished under us (eviction, a shared file system): once more.
                continue;
            }
            catch (IOException e)
            {
                return NoVerdict(workload, $"file error: {e.Message}");
            }
            if (outcome.Status is null && workers.Live > 0 && SlotRetired(lease.Slot))
            {
                continue;
            }
            return outcome;
        }
    }

    private bool SlotRetired(int slot) => workers.Status()[slot].Retired;

    /// <summary>One workload, every trial, on the given worker.</summary>
    public async Task<WorkloadOutcome> EvaluateOnAsync(IWorkerChannel worker, string library, Definition definition, WorkloadEntry workload, EvaluatorOptions options, CancellationToken cancellationToken)
    {
        var settings = SettingsFor(definition, options);
        var comparator = new OutputComparator(definition, settings);
        var aggregator = new CorrectnessAggregator(settings);
        var latencies = new List<double>();
        var eventLatencies = new List<double>();
        var kernelSums = new List<double>();
        IReadOnlyList<TimelineEntry>? timeline = null;  // the first timed trial's median call
        HostIssue? hostIssue = null;                     // and its host issue time
        var clocks = new List<ClockSummary>();           // the SM clock while each trial was timed (NVML)
        var referenceLatencies = new List<double>();
        Floor? floor = null;
        var timingMethod = "";
        var referenceMethod = "";

        for (var trial = 0; trial < settings.NumTrials; trial++)
        {
            var preparation = await inputs.PrepareAsync(definition, workload, trial, options.Seed, cancellationToken);
            if (preparation.Inputs is null)
            {
                return NoVerdict(workload, $"inputs: {preparation.Error}");
            }
            using var prepared = preparation.Inputs;
            using var leases = new DisposableList();
            var reference = await references.GetAsync(definition, workload, prepared, timed: trial == 0 && options.Time, cancellationToken);
            if (reference.OutputsPath is null)
            {
                return NoVerdict(workload, $"reference failed: {reference.Error}");
            }
            if (double.IsFinite(reference.LatencyMs))
            {
                referenceLatencies.Add(reference.LatencyMs);
                referenceMethod = reference.LatencyMethod;
            }

            var rotation = new List<string>();
            for (var extra = 1; extra < options.RotationSets; extra++)
            {
                // Extra input sets use trial numbers beyond the checked ones, so they never coincide.
                var other = await inputs.PrepareAsync(definition, workload, settings.NumTrials + trial * options.RotationSets + extra, options.Seed, cancellationToken);
                if (other.Inputs is not null)
                {
                    rotation.Add(other.Inputs.Path);
                }
            }

            var (handle, load) = await worker.LoadAsync(library, ShimGenerator.Signature(definition), TimeSpan.FromMinutes(2), cancellationToken);
            if (handle is null)
            {
                return Failed(workload, load, "loading the candidate");
            }
            var outputPath = Path.Combine(scratchDirectory, $"{definition.Name}-{workload.Workload.Uuid}-{trial}-{Guid.NewGuid():N}.safetensors");
            var request = BuildRunRequest(definition, prepared, handle.Value, outputPath, rotation, settings, options);
            var calls = 2 + (options.Time ? settings.WarmupRuns + settings.Iterations : 0);
            var limit = options.Overhead + options.CallLimit * calls;
            var run = await worker.CallAsync(request, limit, cancellationToken);
            if (run.Response is not { Ok: true } response)
            {
                return Failed(workload, run, $"trial {trial}");
            }

            try
            {
                var comparison = Compare(comparator, prepared.Inputs, response.OutputsPath!, reference.OutputsPath, definition);
                var keepGoing = aggregator.Add(comparison);
                if (response.RecheckOutputsPath is { } recheck && comparison.Status == EvaluationStatus.PASSED)
                {
                    var again = Compare(comparator, prepared.Inputs, recheck, reference.OutputsPath, definition);
                    if (again.Status != EvaluationStatus.PASSED)
                    {
                        return new WorkloadOutcome(workload, EvaluationStatus.INCORRECT_NUMERICAL,
                            $"trial {trial}: outputs after the timed calls differ from the reference (stale or cached outputs)",
                            null, null, null, [], null, "");
                    }
                }
                if (response.LatenciesMs is { Count: > 0 } measured)
                {
                    latencies.Add(Statistics.Median(measured));
                    timingMethod = response.TimingMethod ?? "";
                    if (response.EventLatenciesMs is { Count: > 0 } events)
                    {
                        eventLatencies.Add(Statistics.Median(events));
                    }
                    if (response.KernelSumsMs is { Count: > 0 } busy)
                    {
                        kernelSums.Add(Statistics.Median(busy));
                    }
                    timeline ??= response.Timeline;
                    hostIssue ??= HostIssue.Of(measured, response.HostIssueUs);
                    if (ClockSummary.FromResponse(response) is { } clock)
                    {
                        clocks.Add(clock);
                    }
                }
                if (trial == 0 && (workers.Hello ?? worker.Hello) is { } hello)
                {
                    var peak = peaks is null ? null : await peaks.GetAsync(hello.Device, cancellationToken);
                    floor = FloorCalculator.Compute(FloorCalculator.ModelFor(definition.Name).Estimate(definition, prepared.Inputs), Ceilings(hello, peak));
                }
                if (!keepGoing)
                {
                    break;
                }
            }
            finally
            {
                TryDelete(response.OutputsPath);
                TryDelete(response.RecheckOutputsPath);
            }
        }

        var verdict = aggregator.Verdict();
        var passed = verdict.Status == EvaluationStatus.PASSED;
        return new WorkloadOutcome(
            workload,
            verdict.Status,
            verdict.Log,
            verdict.Correctness,
            passed && latencies.Count > 0 ? latencies.Average() : null,
            referenceLatencies.Count > 0 ? referenceLatencies.Average() : null,
            latencies,
            floor,
            $"{timingMethod}; reference: {referenceMethod}",
            EventLatencyMs: passed && eventLatencies.Count > 0 ? eventLatencies.Average() : null,
            KernelSumMs: passed && kernelSums.Count > 0 ? kernelSums.Average() : null,
            Timeline: timeline,
            HostIssue: hostIssue,
            Clock: ClockSummary.Merge(clocks));
    }

    /// <summary>
    /// Ceilings: the copy bandwidth the worker measured at its start; dense peaks measured through
    /// torch on this GPU model where available (<paramref name="measured"/>), else the table.
    /// </summary>
    public static Ceilings Ceilings(WorkerHello hello, MeasuredPeak? measured = null) =>
        new(hello.CopyBandwidthGbps * 1e9,
            p => (p, measured) switch
            {
                ("fp8", { Fp8FlopsPerSecond: > 0 and var fp8 }) => fp8,
                ("fp8", _) => PeakFlops.For(hello.Device, p),
                (_, { } m) => m.Bf16FlopsPerSecond,
                _ => PeakFlops.For(hello.Device, p),
            },
            "copy bandwidth measured by the worker (1 GiB D2D, median of 10)",
            p => (p, measured) switch
            {
                ("fp8", { Fp8FlopsPerSecond: > 0 and var fp8 } m) => $"fp8 dense peak {fp8 / 1e12:0} TFLOP/s {m.Method}",
                (not "fp8", { } m) => $"bf16 dense peak {m.Bf16FlopsPerSecond / 1e12:0} TFLOP/s {m.Method}",
                _ => PeakFlops.Method(hello.Device, p),
            });

    private TrialComparison Compare(OutputComparator comparator, InputSet inputSet, string candidatePath, string referencePath, Definition definition)
    {
        using var candidate = files.OpenRead(candidatePath);
        using var reference = files.OpenRead(referencePath);
        var candidateTensors = definition.Outputs.Select(o => candidate.Find(o.Name) ?? throw new InvalidDataException($"worker output file lacks '{o.Name}'")).ToList();
        var referenceTensors = definition.Outputs.Select(o => reference.Find(o.Name) ?? throw new InvalidDataException($"reference output file lacks '{o.Name}'")).ToList();
        return comparator.Compare(inputSet, candidateTensors, referenceTensors);
    }

    public static WorkerRequest BuildRunRequest(Definition definition, PreparedInputs prepared, int handle, string outputPath, IReadOnlyList<string> rotation, EvaluationSettings settings, EvaluatorOptions options)
    {
        var axes = AxisValues.Infer(definition, prepared.Inputs);
        var arguments = new List<WireArgument>();
        foreach (var input in definition.Inputs)
        {
            var value = prepared.Inputs[input.Name];
            arguments.Add(value switch
            {
                TensorArgument t => new WireArgument(input.Name, WireArgument.Tensor, t.Tensor.DType.Name(), t.Tensor.Shape),
                ScalarArgument s => new WireArgument(input.Name, WireArgument.Scalar, input.Spec.DType.Name(), null, s.Value.AsDouble,
                    s.Value.Kind == ScalarKind.Float ? null : s.Value.AsInteger),
                _ => new WireArgument(input.Name, WireArgument.Absent, input.Spec.DType.Name(),
                    input.Spec.IsScalar ? null : definition.ResolveShape(input.Spec, axes)),
            });
        }
        var outputs = definition.Outputs.Select(o => new WireOutput(o.Name, o.Spec.DType.Name(), definition.ResolveShape(o.Spec, axes))).ToList();
        return new WorkerRequest(0, "run", Handle: handle, InputsPath: prepared.Path, RotationInputsPaths: rotation, Arguments: arguments,
            Outputs: outputs, OutputPath: outputPath,
            Timing: options.Time ? new WireTiming(settings.WarmupRuns, settings.Iterations) : null,
            RecheckAfterTiming: options.RecheckAfterTiming, CallLimitSeconds: options.CallLimit.TotalSeconds);
    }

    private static WorkloadOutcome NoVerdict(WorkloadEntry workload, string problem) =>
        new(workload, null, problem, null, null, null, [], null, "", problem);

    private static WorkloadOutcome Failed(WorkloadEntry workload, WorkerCallResult result, string during)
    {
        var (status, log) = result.Fault switch
        {
            WorkerFault.TimedOut => (EvaluationStatus.TIMEOUT, $"{during}: {result.Detail}"),
            WorkerFault.Crashed => (EvaluationStatus.RUNTIME_ERROR, $"{during}: {result.Detail}"),
            WorkerFault.CouldNotStart or WorkerFault.NoDevice => ((EvaluationStatus?)null, $"{during}: {result.Detail}"),
            _ => (ParseStatus(result.Response?.Status), $"{during}: {result.Response?.Error}"),
        };
        return status is null
            ? NoVerdict(workload, log)
            : new WorkloadOutcome(workload, status, log, null, null, null, [], null, "");
    }

    private static EvaluationStatus ParseStatus(string? status) =>
        Enum.TryParse<EvaluationStatus>(status, out var parsed) ? parsed : EvaluationStatus.RUNTIME_ERROR;

    private static void TryDelete(string? path)
    {
        if (path is null)
        {
            return;
        }
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

    internal static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Input sets a trial keeps mapped until it ends, however it ends.</summary>
    private sealed class DisposableList : IDisposable
    {
        private readonly List<IDisposable> items = [];

        public void Add(IDisposable item) => items.Add(item);

        public void Dispose() => items.ForEach(i => i.Dispose());
    }
}
