using System.Collections.Concurrent;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Inputs;
using AgentForge.Tools.Oracle;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Scale;

/// <summary>
/// The evaluator over a pool of in-process worker stand-ins, with the real input cache, reference
/// cache and comparator: a "copy" definition (y = x) whose reference and candidate both copy the
/// inputs file, so every workload PASSES and the latency depends on the workload only.
/// </summary>
public sealed class PooledEvaluatorTests : IDisposable
{
    private static readonly Definition Copy = new("copy_f32", "test",
        [new("n", new VarAxis())],
        [new("x", new TensorSpec(["n"], DType.Float32))],
        [new("y", new TensorSpec(["n"], DType.Float32))],
        "import torch\n\ndef run(x):\n    return x.clone()\n", [], "copy", []);

    private static readonly BuildResult Built = new(true, "/fake/candidate.so", "built", "key", false, "sm_90");

    private readonly string work = Directory.CreateTempSubdirectory("afg-pooled-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static IReadOnlyList<WorkloadEntry> Workloads(int count) =>
        Enumerable.Range(0, count)
            .Select(i => new WorkloadEntry(Copy.Name, new Workload($"w{i}", new Dictionary<string, long> { ["n"] = 256L * (i + 1) }, [new("x", new RandomInput())]), "memory", i + 1))
            .ToList();

    private static EvaluatorOptions Options => new(Seed: 7, Trials: 3, RequestOverhead: TimeSpan.FromSeconds(10));

    /// <summary>An evaluator with its own caches under <paramref name="name"/>, over the given slots.</summary>
    private (Evaluator Evaluator, InputCache Inputs, CountingOracle Oracle) Build(string name, params IWorkerChannel[] slots) =>
        Build(name, new CountingOracle(), slots);

    private (Evaluator Evaluator, InputCache Inputs, CountingOracle Oracle) Build(string name, CountingOracle oracle, params IWorkerChannel[] slots)
    {
        var root = Path.Combine(work, name);
        var inputs = new InputCache(Path.Combine(root, "inputs"), 1L << 30);
        var scratch = Directory.CreateDirectory(Path.Combine(root, "scratch")).FullName;
        var references = new OracleReferenceProvider(new CachingOracle(oracle, new ReferenceCache(Path.Combine(root, "references"))), scratch, new OracleTiming(1, 3));
        var pool = new WorkerPool(slots.Select((s, i) => ($"slot {i}", s)));
        return (new Evaluator(new MaterializingInputProvider(root, new InputMaterializer(), inputs), references, pool, SafetensorsTensorFiles.Instance, scratch), inputs, oracle);
    }

    private static async Task<List<WorkloadOutcome>> EvaluateAsync(Evaluator evaluator, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions? options = null)
    {
        var outcomes = new List<WorkloadOutcome>();
        await foreach (var outcome in evaluator.EvaluateAsync(Built, Copy, workloads, options ?? Options, TestContext.Current.CancellationToken))
        {
            outcomes.Add(outcome);
        }
        return outcomes;
    }

    private static string Fingerprint(WorkloadOutcome o) =>
        $"{o.Workload.Workload.Uuid} {o.Status} {o.LatencyMs} {o.ReferenceLatencyMs} [{string.Join(",", o.TrialLatenciesMs)}] floor {o.Floor?.Milliseconds} {o.Correctness?.MaxAbsoluteError} {o.Correctness?.MaxRelativeError} {o.TimingMethod}";

    [Fact]
    public async Task Workloads_spread_over_the_slots_and_the_outcomes_equal_a_one_slot_run_in_workload_order()
    {
        var workloads = Workloads(6);
        var inFlight = new InFlight();
        var slots = Enumerable.Range(0, 3).Select(i => new CopyChannel(i, inFlight)).ToArray();
        var (pooled, _, _) = Build("three", slots);
        var (single, _, _) = Build("one", new CopyChannel(0));

        var spread = await EvaluateAsync(pooled, workloads);
        var alone = await EvaluateAsync(single, workloads);

        Assert.All(spread, o => Assert.Equal(EvaluationStatus.PASSED, o.Status));
        Assert.Equal(workloads.Select(w => w.Workload.Uuid), spread.Select(o => o.Workload.Workload.Uuid));
        // Slots report different copy bandwidths: floors come from the pool's card, not the slot's.
        Assert.Equal(alone.Select(Fingerprint), spread.Select(Fingerprint));
        Assert.True(slots.Count(s => s.Runs > 0) >= 2, string.Join(", ", slots.Select(s => s.Runs)));
        Assert.True(inFlight.Most >= 2, $"at most {inFlight.Most} run requests were in flight at once");
        // Every trial of a workload ran on one slot.
        Assert.All(workloads, w => Assert.Single(slots, s => s.Workloads.Contains(w.Workload.Uuid)));
    }

    [Fact]
    public async Task Inputs_and_references_are_made_once_however_many_slots_and_candidates_need_them()
    {
        var workloads = Workloads(4);
        var (evaluator, inputs, oracle) = Build("shared", new CopyChannel(0), new CopyChannel(1), new CopyChannel(2));

        // Two candidates at once (the evolution loop screens ahead like this), both on every workload.
        var both = await Task.WhenAll(EvaluateAsync(evaluator, workloads), EvaluateAsync(evaluator, workloads));

        Assert.All(both.SelectMany(o => o), o => Assert.Equal(EvaluationStatus.PASSED, o.Status));
        var sets = workloads.Count * 3;
        Assert.Equal(sets, inputs.Misses);
        Assert.Equal(sets, Directory.GetFiles(inputs.Directory, "*.safetensors").Length);
        Assert.Equal(sets, oracle.Runs.Count);
        Assert.All(oracle.Runs, r => Assert.Equal(1, r.Value));
        // Trial 0 is the timed reference, and it was timed once.
        Assert.Equal(workloads.Count, oracle.TimedRuns);
    }

    [Fact]
    public async Task An_outcome_carries_the_host_issue_time_of_the_median_call_and_the_longest_of_its_trial()
    {
        // Spans x, x + 0.001, x + 0.002: the median call is the second, issued in 12 us; 40 us the longest.
        var (evaluator, _, _) = Build("host-issue", new CopyChannel(0) { IssueTimesUs = [40.0, 12.0, 30.0] });
        var (older, _, _) = Build("no-host-issue", new CopyChannel(0));

        var outcome = Assert.Single(await EvaluateAsync(evaluator, Workloads(1)));
        var without = Assert.Single(await EvaluateAsync(older, Workloads(1)));

        Assert.Equal(new HostIssue(12.0, 40.0, 0), outcome.HostIssue);
        Assert.Null(without.HostIssue);
    }

    [Fact]
    public async Task With_one_slot_no_timed_reference_runs_while_the_worker_times_a_workload()
    {
        var inFlight = new InFlight();
        var oracle = new CountingOracle { WorkerCalls = inFlight };
        var (evaluator, _, _) = Build("one-slot-references", oracle, new CopyChannel(0, inFlight));

        var outcomes = await EvaluateAsync(evaluator, Workloads(5));

        Assert.All(outcomes, o => Assert.Equal(EvaluationStatus.PASSED, o.Status));
        Assert.Equal(5, oracle.TimedRuns);
        Assert.Equal(0, oracle.TimedBesideWorkerCalls);
    }

    [Fact]
    public async Task A_slot_retired_during_a_workload_costs_no_verdict_the_workload_moves_to_another_slot()
    {
        var workloads = Workloads(6);
        var broken = new CopyChannel(1) { FailLoadAfter = 0 };
        var (evaluator, _, _) = Build("retire", new CopyChannel(0), broken, new CopyChannel(2));

        var outcomes = await EvaluateAsync(evaluator, workloads);

        Assert.All(outcomes, o => Assert.Equal(EvaluationStatus.PASSED, o.Status));
        Assert.Equal(2, evaluator.Workers.Live);
        Assert.Contains("slot 1: worker 'fake 1' did not start: the node went away", evaluator.Workers.Status()[1].RetiredBecause);
    }

    [Fact]
    public async Task A_run_request_carries_the_per_call_limit_and_a_workers_timeout_answer_is_a_timeout_verdict()
    {
        var hung = new CopyChannel(0) { HangAnswer = true };
        var (evaluator, _, _) = Build("hang", hung);

        var outcomes = await EvaluateAsync(evaluator, Workloads(2), Options with { PerCallLimit = TimeSpan.FromSeconds(3) });

        Assert.Equal(3.0, hung.SeenCallLimitSeconds);
        Assert.All(outcomes, o => Assert.Equal(EvaluationStatus.TIMEOUT, o.Status));
        Assert.Contains("the correctness call did not finish within 3 s", outcomes[0].Log);
    }

    [Fact]
    public async Task With_every_slot_retired_the_workloads_get_no_verdict_and_say_why()
    {
        var (evaluator, _, _) = Build("none-left", new CopyChannel(0) { FailLoadAfter = 0 });

        var outcomes = await EvaluateAsync(evaluator, Workloads(3));

        Assert.All(outcomes, o => Assert.Null(o.Status));
        Assert.Contains("the node went away", outcomes[0].Log);
        Assert.StartsWith("no worker slot is left: slot 0: worker 'fake 0' did not start", outcomes[2].Problem);
    }

    [Fact]
    public async Task The_workload_limit_counts_from_the_slot_not_from_the_wait_for_it()
    {
        var (evaluator, _, _) = Build("limit", new CopyChannel(0) { Delay = TimeSpan.FromMilliseconds(100) });

        // Fourteen workloads queue for one slot; each takes about 0.3 s on it (3 trials), far under
        // its 3 s limit (room for a loaded CI machine), while the last one waits at least 13 x 0.3 =
        // 3.9 s for the slot (a lower bound whatever the load): from the moment it asked, it takes
        // longer than its limit, and must not time out for that.
        var outcomes = await EvaluateAsync(evaluator, Workloads(14), Options with { WorkloadLimit = TimeSpan.FromSeconds(3) });
        Assert.Equal(14, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal(EvaluationStatus.PASSED, o.Status));

        var (hung, _, _) = Build("hung", new CopyChannel(0) { Delay = Timeout.InfiniteTimeSpan });
        var timedOut = await EvaluateAsync(hung, Workloads(1), Options with { WorkloadLimit = TimeSpan.FromSeconds(1) });
        Assert.Equal(EvaluationStatus.TIMEOUT, timedOut[0].Status);
        Assert.Equal("evaluation took longer than 1 s", timedOut[0].Log);
    }

    /// <summary>The reference: y = x, from the inputs file, counted per cache key.</summary>
    private sealed class CountingOracle : IReferenceOracle
    {
        private int timed;

        public ConcurrentDictionary<ReferenceKey, int> Runs { get; } = new();

        public int TimedRuns => timed;

        /// <summary>The worker calls in flight, when a test watches for timed references beside them.</summary>
        public InFlight? WorkerCalls { get; init; }

        /// <summary>Timed reference runs that began or ended while a worker call was in flight.</summary>
        public int TimedBesideWorkerCalls => beside;

        private int beside;

        public Task<OracleProbeResult> ProbeAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new OracleProbeResult(null, new OracleFailure(OracleFailureKind.PythonMissing, "fake")));

        public async Task<OracleResult> RunAsync(OracleRequest request, CancellationToken cancellationToken)
        {
            Runs.AddOrUpdate(request.CacheKey!, 1, (_, n) => n + 1);
            var watched = request.Timing is not null && WorkerCalls is not null;
            if (request.Timing is not null)
            {
                Interlocked.Increment(ref timed);
            }
            if (watched && WorkerCalls!.Now > 0)
            {
                Interlocked.Increment(ref beside);
            }
            // Long enough for concurrent askers of the same key to overlap.
            await Task.Delay(20, cancellationToken);
            if (watched && WorkerCalls!.Now > 0)
            {
                Interlocked.Increment(ref beside);
            }
            CopyInputs(request.InputsPath, request.OutputPath);
            return new OracleSuccess(request.OutputPath, request.Timing is null ? null : 2.0);
        }
    }

    /// <summary>Copies x to y in the files the evaluator names; latency follows the workload's size only.</summary>
    private sealed class CopyChannel(int slot, InFlight? inFlight = null) : IWorkerChannel
    {
        private readonly InFlight counter = inFlight ?? new InFlight();
        private int loads;

        /// <summary>Loads that succeed before the slot's worker "cannot be restarted" (null: never fails).</summary>
        public int? FailLoadAfter { get; init; }

        public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(30);

        /// <summary>Answer every run as a worker whose watchdog caught a hung call does (TIMEOUT, fatal).</summary>
        public bool HangAnswer { get; init; }

        /// <summary>Host issue times to report with the three timed calls (null: none, as an older worker).</summary>
        public double[]? IssueTimesUs { get; init; }

        public double? SeenCallLimitSeconds { get; private set; }

        public int Runs { get; private set; }

        public ConcurrentBag<string> Workloads { get; } = [];

        public WorkerHello? Hello { get; } = new("Fake GPU", "sm_90", 132, 50 << 20, 80L << 30, 13000, 3000 + slot * 100, 1000 + slot);

        public Task<WorkerCallResult> EnsureStartedAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new WorkerCallResult(new WorkerResponse(0, true, Hello: Hello), WorkerFault.None, ""));

        public Task<(int? Handle, WorkerCallResult Result)> LoadAsync(string library, string? signature, TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (FailLoadAfter is { } limit && Interlocked.Increment(ref loads) > limit)
            {
                return Task.FromResult<(int?, WorkerCallResult)>((null, new WorkerCallResult(null, WorkerFault.CouldNotStart, $"worker 'fake {slot}' did not start: the node went away")));
            }
            return Task.FromResult<(int?, WorkerCallResult)>((0, new WorkerCallResult(new WorkerResponse(0, true, Handle: 0), WorkerFault.None, "")));
        }

        public async Task<WorkerCallResult> CallAsync(WorkerRequest request, TimeSpan timeout, CancellationToken cancellationToken)
        {
            counter.Enter();
            try
            {
                await Task.Delay(Delay, cancellationToken);
                SeenCallLimitSeconds = request.CallLimitSeconds;
                if (HangAnswer)
                {
                    return new WorkerCallResult(new WorkerResponse(request.Id, false, nameof(EvaluationStatus.TIMEOUT),
                        $"the correctness call did not finish within {request.CallLimitSeconds:0.#} s (the candidate hangs or is far too slow); the worker exits", Fatal: true), WorkerFault.None, "");
                }
                Runs++;
                Workloads.Add(Path.GetFileName(request.OutputPath!).Split('-')[1]);
                CopyInputs(request.InputsPath!, request.OutputPath!);
                var n = request.Arguments![0].Shape![0];
                double[] latencies = [n / 1000.0, n / 1000.0 + 0.001, n / 1000.0 + 0.002];
                return new WorkerCallResult(new WorkerResponse(request.Id, true, OutputsPath: request.OutputPath, LatenciesMs: latencies, TimingMethod: "fake", HostIssueUs: IssueTimesUs), WorkerFault.None, "");
            }
            finally
            {
                counter.Leave();
            }
        }
    }

    /// <summary>Run requests in flight over several channels, and the most seen at once.</summary>
    private sealed class InFlight
    {
        private int now;
        private int most;

        public int Most => Volatile.Read(ref most);

        public int Now => Volatile.Read(ref now);

        public void Enter()
        {
            var current = Interlocked.Increment(ref now);
            int seen;
            while ((seen = Volatile.Read(ref most)) < current && Interlocked.CompareExchange(ref most, current, seen) != seen)
            {
            }
        }

        public void Leave() => Interlocked.Decrement(ref now);
    }

    private static void CopyInputs(string inputsPath, string outputPath)
    {
        using var reader = SafetensorsTensorFiles.Instance.OpenRead(inputsPath);
        var x = reader.Find("x")!;
        SafetensorsTensorFiles.Instance.Write(outputPath, [new("y", new HostTensor(x.DType, x.Shape, x.Bytes.ToArray()))]);
    }
}
