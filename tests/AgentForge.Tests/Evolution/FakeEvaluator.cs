using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Floors;
using AgentForge.Tools.Build;
using AgentForge.Tools.Sanitizer;
using AgentForge.Tools.Trace;
using Microsoft.Extensions.Time.Testing;

namespace AgentForge.Tests.Evolution;

/// <summary>
/// A GPU-free stand-in for nvcc + the worker that follows the worker's call sequence per trial:
/// fresh inputs (new contents at new addresses) and a fresh output buffer; outputs poisoned; one
/// checked call on input set 0; then, when timing, warm-up and measured calls rotating over the
/// input sets; then, with <see cref="EvaluatorOptions.RecheckAfterTiming"/>, outputs poisoned
/// again and set 0 called and checked once more. A kernel's behaviour decides what each call
/// writes and costs, and its state lives as long as its library (across trials and requests),
/// as a real kernel's static state would. Cheats are behaviours, not verdicts: the gate must
/// catch them with its real decision logic.
/// </summary>
internal sealed partial class FakeEvaluator(FakeTimeProvider? clock = null, double floorMs = 0.01) : ICandidateEvaluator
{
    private const int Poison = -1;
    private const int Warmup = 10;
    private const int Iterations = 50;

    private readonly ConcurrentDictionary<string, FakeLibrary> libraries = new();
    private readonly ConcurrentDictionary<string, int> evaluations = new();
    private readonly ConcurrentDictionary<string, int> ownEvaluations = new();
    private long nextAddress = 0x1000;
    private int nextContent = 1;

    /// <summary>Simulated GPU time per evaluated workload (advances the fake clock, for the time budget).</summary>
    public TimeSpan TimePerWorkload { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Called before each evaluation with the candidate hash and how many evaluations came before (a test can cancel there).</summary>
    public Action<string, int>? BeforeEvaluation { get; set; }

    /// <summary>Workload evaluations per candidate hash.</summary>
    public IReadOnlyDictionary<string, int> Evaluations => evaluations;

    /// <summary>Workload evaluations per candidate hash outside the gate's re-measurements (a champion is re-measured whenever challenged).</summary>
    public IReadOnlyDictionary<string, int> OwnEvaluations => ownEvaluations;

    public int TotalEvaluations => evaluations.Values.Sum();

    public Task<RunEnvironment> DescribeAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new RunEnvironment("Fake GPU (sm_90, 132 SMs)", "13.0", "Cuda compilation tools, release 13.0 (fake)", 3000));

    public Task<BuildResult> BuildAsync(CandidateSource source, Definition definition, CancellationToken cancellationToken)
    {
        var hash = CandidateHash.Of(source);
        var text = string.Join("\n", source.Sources.Select(s => s.Content));
        if (text.Contains("#error", StringComparison.Ordinal))
        {
            return Task.FromResult(BuildResult.Failed($"kernel.cu(3): error: {text[text.IndexOf("#error", StringComparison.Ordinal)..].Split('\n')[0]}", hash, "sm_90"));
        }
        libraries.GetOrAdd(hash, _ => new FakeLibrary(Parse(source)));
        return Task.FromResult(new BuildResult(true, $"fake://{hash}", "nvcc (fake) ok", hash, false, "sm_90"));
    }

    public Task<IReadOnlyList<WorkloadOutcome>> EvaluateAsync(BuildResult build, Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions options, CancellationToken cancellationToken)
    {
        var hash = build.CacheKey;
        BeforeEvaluation?.Invoke(hash, TotalEvaluations);
        cancellationToken.ThrowIfCancellationRequested();
        if (!build.Succeeded)
        {
            return Task.FromResult<IReadOnlyList<WorkloadOutcome>>(Evaluator.CompileFailed(workloads, build.Log).ToList());
        }
        var library = libraries[hash];
        var outcomes = new List<WorkloadOutcome>();
        foreach (var workload in workloads)
        {
            evaluations.AddOrUpdate(hash, 1, (_, n) => n + 1);
            if (options.RotationSets <= 1)
            {
                ownEvaluations.AddOrUpdate(hash, 1, (_, n) => n + 1);
            }
            clock?.Advance(TimePerWorkload);
            outcomes.Add(Evaluate(library, workload, options, hash));
        }
        return Task.FromResult<IReadOnlyList<WorkloadOutcome>>(outcomes);
    }

    private WorkloadOutcome Evaluate(FakeLibrary library, WorkloadEntry workload, EvaluatorOptions options, string hash)
    {
        var kernel = library.Kernel;
        var batch = workload.Workload.Axes["batch_size"];
        var floor = new Floor(floorMs, floorMs, 0, new Work(0, 0, "fake"), "fake floor");
        if (kernel.Behaviour == "crash")
        {
            return new WorkloadOutcome(workload, EvaluationStatus.RUNTIME_ERROR, "trial 0: illegal address (fake)", null, null, null, [], null, "");
        }
        var trials = options.Trials ?? 3;
        var trialLatencies = new List<double>();
        // Stable across processes (string.GetHashCode is not), so the noise is the same in every run.
        var noise = new Random(StableSeed($"{hash}/{workload.Workload.Uuid}/{options.RotationSets}/{evaluations[hash]}"));
        for (var trial = 0; trial < trials; trial++)
        {
            var sets = Enumerable.Range(0, Math.Max(1, options.RotationSets))
                .Select(_ => new InputSet(Interlocked.Increment(ref nextAddress), Interlocked.Increment(ref nextContent)))
                .ToList();
            var output = new OutputBuffer(Interlocked.Increment(ref nextAddress));
            output.Content = Poison;
            library.Call(sets[0], output, kernel.CostMs(batch));
            if (output.Content != sets[0].Content)
            {
                return Wrong(workload, trial, output, "after the first call");
            }
            if (options.Time)
            {
                var measured = new List<double>();
                for (var i = 0; i < Warmup + Iterations; i++)
                {
                    var cost = library.Call(sets[i % sets.Count], output, kernel.CostMs(batch));
                    if (i >= Warmup)
                    {
                        measured.Add(cost);
                    }
                }
                trialLatencies.Add(Statistics.Median(measured) * (1 + kernel.Noise * (noise.NextDouble() - 0.5)));
                if (options.RecheckAfterTiming)
                {
                    output.Content = Poison;
                    library.Call(sets[0], output, kernel.CostMs(batch));
                    if (output.Content != sets[0].Content)
                    {
                        return new WorkloadOutcome(workload, EvaluationStatus.INCORRECT_NUMERICAL,
                            $"trial {trial}: outputs after the timed calls differ from the reference (stale or cached outputs)", null, null, null, [], null, "");
                    }
                }
            }
        }
        return new WorkloadOutcome(workload, EvaluationStatus.PASSED, "", new Correctness(0, 0), options.Time ? trialLatencies.Average() : null,
            10.0 * batch, trialLatencies, floor, "fake events");
    }

    private static int StableSeed(string text)
    {
        var value = 17;
        foreach (var ch in text)
        {
            value = unchecked(value * 31 + ch);
        }
        return value;
    }

    private static WorkloadOutcome Wrong(WorkloadEntry workload, int trial, OutputBuffer output, string when) =>
        new(workload, EvaluationStatus.INCORRECT_NUMERICAL,
            $"trial {trial}: {(output.Content == Poison ? "NaN in the output (poisoned elements never written)" : "wrong values")} {when}",
            new Correctness(1, 1), null, null, [], null, "");

    [GeneratedRegex(@"@fake behaviour=(?<behaviour>\S+) cost=(?<cost>[0-9.]+)")]
    private static partial Regex Marker();

    /// <summary>
    /// Behaviour and cost from the source's marker; the tunable BLOCK scales the cost
    /// (64 fastest, then 128, 32, 16) so the tuner has something to find.
    /// </summary>
    private static FakeKernel Parse(CandidateSource source)
    {
        var text = string.Join("\n", source.Sources.Select(s => s.Content));
        var match = Marker().Match(text);
        var behaviour = match.Success ? match.Groups["behaviour"].Value : "honest";
        var cost = match.Success ? double.Parse(match.Groups["cost"].Value, CultureInfo.InvariantCulture) : 1.0;
        var block = source.Defines?.GetValueOrDefault("BLOCK") ?? (text.Contains("#define BLOCK 64", StringComparison.Ordinal) ? "64" : "32");
        var factor = block switch
        {
            "16" => 1.3,
            "64" => 0.6,
            "128" => 0.8,
            _ => 1.0,
        };
        var noise = text.Contains("@fake noisy", StringComparison.Ordinal) ? 0.2 : 0.002;
        return new FakeKernel(behaviour, batch => cost * factor * (1 + batch / 64.0), noise);
    }

    private sealed record FakeKernel(string Behaviour, Func<long, double> CostMs, double Noise);

    private sealed record InputSet(long Address, int Content);

    private sealed class OutputBuffer(long address)
    {
        public long Address { get; } = address;

        public int Content { get; set; }
    }

    /// <summary>A loaded candidate: its behaviour and the state a real kernel could keep between calls.</summary>
    private sealed class FakeLibrary(FakeKernel kernel)
    {
        private const double Skipped = 0.0005;
        private readonly HashSet<long> outputsWritten = [];
        private long lastInputAddress;
        private int? cachedContent;

        public FakeKernel Kernel { get; } = kernel;

        /// <summary>One call: writes (or not) the output and returns what it cost.</summary>
        public double Call(InputSet inputs, OutputBuffer output, double cost)
        {
            switch (Kernel.Behaviour)
            {
                case "caching":
                    // Skips the work when called again with the inputs it saw last (a pointer-keyed cache).
                    var same = inputs.Address == lastInputAddress;
                    lastInputAddress = inputs.Address;
                    if (same)
                    {
                        return Skipped;
                    }
                    output.Content = inputs.Content;
                    return cost;
                case "fingerprint":
                    // Serves the first result it ever computed to any input of the same shape.
                    cachedContent ??= inputs.Content;
                    output.Content = cachedContent.Value;
                    return Skipped;
                case "write-once":
                    // Writes an output buffer only on the first call that sees it.
                    if (!outputsWritten.Add(output.Address))
                    {
                        return Skipped;
                    }
                    output.Content = inputs.Content;
                    return cost;
                case "wrong":
                    output.Content = inputs.Content + 1;
                    return cost;
                default:
                    output.Content = inputs.Content;
                    return cost;
            }
        }
    }
}

/// <summary>compute-sanitizer stand-in: a kernel whose source says "@fake racy" has a race.</summary>
internal sealed class FakeSanitizer : ISanitizer
{
    public int Runs { get; private set; }

    public Task<SanitizerReport> RunAsync(BuildResult build, Definition definition, WorkloadEntry workload, SanitizerTool tool, CancellationToken cancellationToken)
    {
        Runs++;
        var racy = build.Log.Contains("racy", StringComparison.Ordinal) || RacyHashes.Contains(build.CacheKey);
        var dirty = racy && tool == SanitizerTool.Racecheck;
        return Task.FromResult(new SanitizerReport(tool, workload.Workload.Uuid, !dirty, dirty ? 2 : 0,
            dirty ? "2 hazards: shared memory write-after-read in gdn_decode_kernel" : "clean", dirty ? "========= RACECHECK SUMMARY: 2 hazards" : ""));
    }

    public HashSet<string> RacyHashes { get; } = [];
}
