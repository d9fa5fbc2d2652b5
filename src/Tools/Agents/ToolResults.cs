using System.Text.Json;
using AgentForge.Tools.Build;
using AgentForge.Tools.Profiler;
using AgentForge.Tools.Sanitizer;

namespace AgentForge.Tools.Agents;

// Tool results, serialized in snake_case for the model. Every result has "error": set (and most
// other fields absent) when the tool could not do its job; expected failures are values.

public sealed record DefinitionResult(
    string? Name = null,
    string? OpType = null,
    string? Description = null,
    JsonElement? Definition = null,
    string? EntryDeclaration = null,
    string? CandidateContract = null,
    int? WorkloadCount = null,
    string? Baseline = null,
    string? Error = null);

public sealed record WorkloadSummary(string Uuid, IReadOnlyDictionary<string, long> Axes);

public sealed record WorkloadsResult(string? Definition = null, int? Count = null, IReadOnlyList<WorkloadSummary>? Workloads = null, string? Error = null);

public sealed record CompileResult(
    bool Ok,
    string? CandidateId = null,
    string? Architecture = null,
    bool? FromCache = null,
    string? Log = null,
    string? Error = null);

public sealed record WorkloadCheck(
    string Uuid,
    string Status,
    double? MaxAbsoluteError = null,
    double? MaxRelativeError = null,
    double? MatchedRatio = null,
    string? Log = null);

public sealed record CorrectnessResult(
    string? CandidateId = null,
    int? Passed = null,
    int? Total = null,
    IReadOnlyList<WorkloadCheck>? Workloads = null,
    string? CompileLog = null,
    string? Error = null);

public sealed record WorkloadTiming(
    string Uuid,
    string Status,
    double? LatencyMs = null,
    double? ReferenceLatencyMs = null,
    double? Speedup = null,
    double? FloorMs = null,
    double? FloorRatio = null,
    string? Log = null);

public sealed record BenchmarkResult(
    string? CandidateId = null,
    string? Device = null,
    int? Passed = null,
    int? Total = null,
    double? MeanSpeedup = null,
    double? GeomeanFloorRatio = null,
    string? TimingMethod = null,
    IReadOnlyList<WorkloadTiming>? Workloads = null,
    string? CompileLog = null,
    string? Error = null);

public sealed record SanitizerToolResult(SanitizerTool Tool, bool Clean, int ErrorCount, string Summary, string? Problem = null);

public sealed record SanitizerResult(
    string? Definition = null,
    string? Workload = null,
    string? CandidateId = null,
    bool? Clean = null,
    IReadOnlyList<SanitizerToolResult>? Reports = null,
    string? Output = null,
    string? Error = null);

public sealed record NcuResult(
    string? Definition = null,
    string? Workload = null,
    string? CandidateId = null,
    string? Summary = null,
    double? TotalDurationUs = null,
    IReadOnlyList<NcuKernelSummary>? Kernels = null,
    string? Output = null,
    string? Error = null);

public sealed record NcuOptionsResult(IReadOnlyList<NcuSet> Sets, IReadOnlyList<NcuSection> Sections, string Source, string? Note = null);

public sealed record BestResult(
    string? Definition = null,
    bool? Found = null,
    string? Source = null,
    string? SolutionName = null,
    string? EntryPoint = null,
    TargetKind? Target = null,
    IReadOnlyDictionary<string, string>? Sources = null,
    double? MeanSpeedup = null,
    IReadOnlyList<ChampionWorkload>? Workloads = null,
    string? Note = null,
    string? Error = null);

public sealed record SubmitResult(string? SubmissionId = null, string? CandidateId = null, bool? Accepted = null, string? Message = null, string? Error = null);
