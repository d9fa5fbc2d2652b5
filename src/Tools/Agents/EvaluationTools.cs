using System.ComponentModel;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Agents;

/// <summary>compile, check_correctness and benchmark: the build -> verdict -> timing path of the harness.</summary>
public sealed class EvaluationTools(ToolServices services)
{
    /// <summary>The prepared candidate on its workloads, in workload order (correctness only, or timed too).</summary>
    private async Task<List<WorkloadOutcome>> EvaluateAllAsync(Prepared prepared, bool time, CancellationToken cancellationToken)
    {
        var outcomes = new List<WorkloadOutcome>();
        await foreach (var outcome in services.Backend.EvaluateAsync(prepared.Build!, prepared.Definition!, prepared.Workloads!,
            new EvaluatorOptions(Seed: services.Options.Seed, Time: time, PerCallLimit: services.Options.CallLimit), cancellationToken))
        {
            outcomes.Add(outcome);
        }
        return outcomes;
    }

    private const string CandidateIdDescription = "Id of a candidate returned by compile (instead of sources).";
    private const string SourcesDescription = "CUDA sources as {relative path: file content}, e.g. {\"kernel.cu\": \"#include \\\"agentforge.h\\\" ...\"}.";
    private const string EntryDescription = "Name of the host entry function in the sources.";
    private const string TargetDescription = "portable: plain sm_XY of the GPU, as FlashInfer-Bench builds; arch_specific: sm_XYa (sm_90a on Hopper) for wgmma, TMA multicast, setmaxnreg.";
    private const string DefinesDescription = "Preprocessor defines passed as -DNAME=VALUE (how tunable parameters are set).";
    private const string WorkloadsDescription = "Workload uuids (or unique prefixes) to run; all workloads of the definition when omitted.";

    [Description("Compiles a candidate with nvcc for the GPU (with the generated shim for the definition's signature). Returns "
        + "ok and a candidate_id to use in later calls, or the compiler errors.")]
    public async Task<CompileResult> CompileAsync(
        [Description("Definition name.")] string definition,
        [Description(SourcesDescription)] Dictionary<string, string>? sources = null,
        [Description(EntryDescription)] string entry = "run",
        [Description(TargetDescription)] TargetKind target = TargetKind.Portable,
        [Description(DefinesDescription)] Dictionary<string, string>? defines = null,
        [Description(CandidateIdDescription)] string? candidate_id = null,
        CancellationToken cancellationToken = default)
    {
        var found = ToolArguments.Definition(services.Backend.Dataset, definition, out var error);
        var candidate = found is null ? null : ToolArguments.Candidate(services, found, candidate_id, sources, entry, target, defines, out error);
        if (found is null || candidate is null)
        {
            return new CompileResult(false, Error: error);
        }
        var build = await services.Backend.BuildAsync(candidate.ToSource(), found, cancellationToken);
        return new CompileResult(build.Succeeded, candidate.Id, build.Architecture, build.FromCache,
            ToolArguments.CompilerLog(build.Log, services.Options.MaxLogCharacters),
            build.Succeeded ? null : "COMPILE_ERROR: see log");
    }

    [Description("Runs a candidate on the definition's workloads with fresh random inputs (3 trials) and compares its outputs "
        + "with the reference implementation, like FlashInfer-Bench. Returns the status per workload (PASSED, INCORRECT_NUMERICAL, "
        + "INCORRECT_SHAPE, RUNTIME_ERROR, TIMEOUT, COMPILE_ERROR) and the worst errors; no timing. Needs a GPU.")]
    public async Task<CorrectnessResult> CheckCorrectnessAsync(
        [Description("Definition name.")] string definition,
        [Description(CandidateIdDescription)] string? candidate_id = null,
        [Description(SourcesDescription)] Dictionary<string, string>? sources = null,
        [Description(EntryDescription)] string entry = "run",
        [Description(TargetDescription)] TargetKind target = TargetKind.Portable,
        [Description(DefinesDescription)] Dictionary<string, string>? defines = null,
        [Description(WorkloadsDescription)] string[]? workloads = null,
        CancellationToken cancellationToken = default)
    {
        var prepared = await PrepareAsync(definition, candidate_id, sources, entry, target, defines, workloads, cancellationToken);
        if (prepared.Error is not null)
        {
            return new CorrectnessResult(prepared.CandidateId, Error: prepared.Error, CompileLog: prepared.CompileLog);
        }
        var outcomes = await EvaluateAllAsync(prepared, time: false, cancellationToken);
        var checks = outcomes.Select(o => new WorkloadCheck(
            o.Workload.Workload.Uuid,
            o.StatusText,
            o.Correctness?.MaxAbsoluteError,
            o.Correctness?.MaxRelativeError,
            MatchedRatio(o.Correctness),
            o.Status == EvaluationStatus.PASSED ? null : ToolArguments.Tail(o.Problem ?? o.Log, 1500))).ToList();
        return new CorrectnessResult(prepared.CandidateId, checks.Count(c => c.Status == nameof(EvaluationStatus.PASSED)), checks.Count, checks);
    }

    [Description("Checks and times a candidate on the definition's workloads (warm-up, then timed calls with the L2 flushed, "
        + "median per trial, mean over trials), next to the reference implementation on the same inputs. Returns per workload "
        + "the status, latency, reference latency, speedup (reference / candidate) and the ratio to the physical floor "
        + "(bytes moved / bandwidth or flops / peak: 1.0 is the hardware limit). Needs a GPU.")]
    public async Task<BenchmarkResult> BenchmarkAsync(
        [Description("Definition name.")] string definition,
        [Description(CandidateIdDescription)] string? candidate_id = null,
        [Description(SourcesDescription)] Dictionary<string, string>? sources = null,
        [Description(EntryDescription)] string entry = "run",
        [Description(TargetDescription)] TargetKind target = TargetKind.Portable,
        [Description(DefinesDescription)] Dictionary<string, string>? defines = null,
        [Description(WorkloadsDescription)] string[]? workloads = null,
        CancellationToken cancellationToken = default)
    {
        var prepared = await PrepareAsync(definition, candidate_id, sources, entry, target, defines, workloads, cancellationToken);
        if (prepared.Error is not null)
        {
            return new BenchmarkResult(prepared.CandidateId, Error: prepared.Error, CompileLog: prepared.CompileLog);
        }
        var outcomes = await EvaluateAllAsync(prepared, time: true, cancellationToken);
        var timings = outcomes.Select(o => new WorkloadTiming(
            o.Workload.Workload.Uuid,
            o.StatusText,
            Finite(o.LatencyMs),
            Finite(o.ReferenceLatencyMs),
            Finite(o.Speedup),
            Finite(o.Floor?.Milliseconds),
            Finite(o.FloorRatio),
            o.Status == EvaluationStatus.PASSED ? null : ToolArguments.Tail(o.Problem ?? o.Log, 1500))).ToList();
        var speedups = timings.Select(t => t.Speedup).OfType<double>().ToList();
        var floorRatios = timings.Select(t => t.FloorRatio).OfType<double>().ToList();
        return new BenchmarkResult(
            prepared.CandidateId,
            prepared.Device,
            timings.Count(t => t.Status == nameof(EvaluationStatus.PASSED)),
            timings.Count,
            speedups.Count > 0 ? speedups.Average() : null,
            floorRatios.Count > 0 ? Statistics.GeometricMean(floorRatios) : null,
            outcomes.Select(o => o.TimingMethod).FirstOrDefault(m => m.Length > 0),
            timings);
    }

    private sealed record Prepared(string? CandidateId, Definition? Definition, List<WorkloadEntry>? Workloads, BuildResult? Build, string? Device, string? Error, string? CompileLog = null);

    private async Task<Prepared> PrepareAsync(string definition, string? candidateId, Dictionary<string, string>? sources, string entry, TargetKind target,
        Dictionary<string, string>? defines, string[]? workloadPrefixes, CancellationToken cancellationToken)
    {
        var dataset = services.Backend.Dataset;
        var found = ToolArguments.Definition(dataset, definition, out var error);
        if (found is null)
        {
            return new Prepared(null, null, null, null, null, error);
        }
        var candidate = ToolArguments.Candidate(services, found, candidateId, sources, entry, target, defines, out error);
        if (candidate is null)
        {
            return new Prepared(null, found, null, null, null, error);
        }
        var workloads = ToolArguments.Workloads(dataset, found, workloadPrefixes, out error);
        if (workloads is null)
        {
            return new Prepared(candidate.Id, found, null, null, null, error);
        }
        var gpu = await services.Backend.EnsureGpuAsync(cancellationToken);
        if (!gpu.Available)
        {
            return new Prepared(candidate.Id, found, workloads, null, null, $"no GPU worker: {gpu.Problem} (compile still works without one)");
        }
        var build = await services.Backend.BuildAsync(candidate.ToSource(), found, cancellationToken);
        if (!build.Succeeded)
        {
            return new Prepared(candidate.Id, found, workloads, build, gpu.Hello!.Device, "COMPILE_ERROR: see compile_log",
                ToolArguments.CompilerLog(build.Log, services.Options.MaxLogCharacters));
        }
        return new Prepared(candidate.Id, found, workloads, build, gpu.Hello!.Device, null);
    }

    private static double? MatchedRatio(Correctness? correctness) =>
        correctness?.Extra?["matched_ratio"] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<double>(out var ratio) ? ratio : null;

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}
