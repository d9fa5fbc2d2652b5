using System.ComponentModel;
using System.Text;
using System.Text.Json;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Processes;
using AgentForge.Tools.Profiler;
using AgentForge.Tools.Sanitizer;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Agents;

/// <summary>
/// run_sanitizer, run_ncu and list_ncu_options, with the parameters of FlashInfer-Bench's
/// flashinfer_bench_* tools (same names, meanings and defaults). The candidate runs once, on one
/// workload's inputs, in a worker process of its own that compute-sanitizer or ncu starts.
/// </summary>
public sealed class DiagnosticTools(ToolServices services)
{
    private const string SolutionDescription = "The solution to check: a FlashInfer-Bench Solution object, a path to a solution.json, or a candidate_id returned by compile.";
    private const string WorkloadDescription = "The workload: a FlashInfer-Bench Workload object, a path to a workload JSON file, or the uuid (or a unique prefix) of a workload of the solution's definition.";
    private const string DeviceDescription = "CUDA device to run on. Default is \"cuda:0\".";
    private const string TraceSetDescription = "Path to the trace set. If not provided, uses the dataset AgentForge was started with (FIB_DATASET_PATH).";
    private const string MaxLinesDescription = "Maximum number of lines of raw tool output to return. If omitted, only the summary is returned.";

    [Description("Runs compute-sanitizer checks (memcheck: out-of-bounds and misaligned accesses; racecheck: shared-memory races; "
        + "initcheck: reads of uninitialized global memory; synccheck: invalid barrier use) on one call of a solution on one "
        + "workload. Returns per tool whether it is clean, the error count and the first findings with their source lines.")]
    public async Task<SanitizerResult> RunSanitizerAsync(
        [Description(SolutionDescription)] JsonElement solution,
        [Description(WorkloadDescription)] JsonElement workload,
        [Description(DeviceDescription)] string device = "cuda:0",
        [Description(TraceSetDescription)] string? trace_set_path = null,
        [Description("List of sanitizer tools to run. Default runs all: memcheck, racecheck, initcheck, synccheck.")] SanitizerTool[]? sanitizer_types = null,
        [Description("Path to the compute-sanitizer executable. Default is \"compute-sanitizer\".")] string sanitizer_path = "compute-sanitizer",
        [Description("Timeout in seconds for each sanitizer check. Default is 300.")] int timeout = 300,
        [Description("Temporary directory. If not provided, uses system default.")] string? tmpdir = null,
        [Description(MaxLinesDescription)] int? max_lines = null,
        CancellationToken cancellationToken = default)
    {
        var target = await ResolveAsync(solution, workload, device, trace_set_path, sanitizer_path, "compute-sanitizer", cancellationToken);
        if (target.Error is not null)
        {
            return new SanitizerResult(target.Definition?.Name, target.Workload?.Workload.Uuid, target.CandidateId, Error: target.Error, Output: target.CompileLog);
        }
        var tools = sanitizer_types is { Length: > 0 } ? sanitizer_types.Distinct().ToArray() : [SanitizerTool.Memcheck, SanitizerTool.Racecheck, SanitizerTool.Initcheck, SanitizerTool.Synccheck];
        var sanitizer = new ComputeSanitizer(Runner(target), new SanitizerOptions(sanitizer_path, TimeSpan.FromSeconds(Math.Max(1, timeout)), tmpdir));
        var reports = new List<SanitizerReport>();
        foreach (var tool in tools)
        {
            reports.Add(await sanitizer.RunAsync(target.Build!, target.Definition!, target.Workload!, tool, cancellationToken));
        }
        var output = new StringBuilder();
        foreach (var report in reports)
        {
            output.AppendLine($"===== {ComputeSanitizer.ToolName(report.Tool)} =====").AppendLine(report.Log.TrimEnd());
        }
        return new SanitizerResult(
            target.Definition!.Name,
            target.Workload!.Workload.Uuid,
            target.CandidateId,
            reports.All(r => r.Clean),
            reports.Select(r => new SanitizerToolResult(r.Tool, r.Clean, r.ErrorCount, r.Summary, r.Problem)).ToList(),
            max_lines is > 0 ? ToolArguments.Lines(output.ToString(), max_lines) : null);
    }

    [Description("Profiles one call of a solution on one workload with NVIDIA Nsight Compute (ncu). Returns per kernel a short "
        + "summary: duration, compute and memory throughput (% of peak), DRAM throughput, achieved and theoretical occupancy, "
        + "registers per thread, shared memory per block, L1/L2 hit rates, warp stall reasons and ncu's advice.")]
    public async Task<NcuResult> RunNcuAsync(
        [Description(SolutionDescription)] JsonElement solution,
        [Description(WorkloadDescription)] JsonElement workload,
        [Description(DeviceDescription)] string device = "cuda:0",
        [Description(TraceSetDescription)] string? trace_set_path = null,
        [Description("NCU section set to collect. Use list_ncu_options to see available sets. Default is \"detailed\".")] string set = "detailed",
        [Description("Additional sections to collect beyond the set. Use list_ncu_options to see available sections.")] string[]? sections = null,
        [Description("Filter to profile only kernels matching this name (supports regex).")] string? kernel_name = null,
        [Description("NCU output page format. One of: \"raw\", \"details\", \"source\". Default is \"details\".")] string page = "details",
        [Description("Path to the NCU executable. Default is \"ncu\".")] string ncu_path = "ncu",
        [Description("Timeout in seconds for NCU profiling. Default is 60.")] int timeout = 60,
        [Description("Temporary directory for NCU. If not provided, uses system default.")] string? tmpdir = null,
        [Description(MaxLinesDescription)] int? max_lines = null,
        CancellationToken cancellationToken = default)
    {
        if (!NcuRequest.Pages.Contains(page))
        {
            return new NcuResult(Error: $"page must be one of {string.Join(", ", NcuRequest.Pages)}, not '{page}'");
        }
        var target = await ResolveAsync(solution, workload, device, trace_set_path, ncu_path, "ncu", cancellationToken);
        if (target.Error is not null)
        {
            return new NcuResult(target.Definition?.Name, target.Workload?.Workload.Uuid, target.CandidateId, Error: target.Error, Output: target.CompileLog);
        }
        var request = new NcuRequest(set, sections, kernel_name, page, ncu_path, TimeSpan.FromSeconds(Math.Max(1, timeout)), tmpdir);
        var run = await new NcuProfiler(Runner(target)).ProfileAsync(target.Build!, target.Definition!, target.Workload!, request, cancellationToken);
        // The source page is text for reading: return it (up to max_lines, 400 by default) instead of a summary.
        var lines = page == "source" ? max_lines ?? 400 : max_lines;
        return new NcuResult(
            target.Definition!.Name,
            target.Workload!.Workload.Uuid,
            target.CandidateId,
            page == "source" && run.Profile.Problem is null ? null : NcuOutputParser.Describe(run.Profile),
            run.Profile.TotalDurationUs,
            run.Profile.Kernels.Count > 0 ? run.Profile.Kernels : null,
            lines is > 0 ? ToolArguments.Lines(run.Output, lines) : null,
            run.Profile.Problem);
    }

    [Description("Lists the ncu section sets and sections that run_ncu accepts (from `ncu --list-sets` and `ncu --list-sections`; "
        + "a built-in list when ncu is not installed).")]
    public async Task<NcuOptionsResult> ListNcuOptionsAsync(
        [Description("Path to the NCU executable. Default is \"ncu\".")] string ncu_path = "ncu",
        CancellationToken cancellationToken = default)
    {
        var options = await NcuProfiler.ListOptionsAsync(ncu_path, cancellationToken);
        return new NcuOptionsResult(options.Sets, options.Sections, options.Source, options.Note);
    }

    private sealed record Target(Definition? Definition, WorkloadEntry? Workload, string? CandidateId, BuildResult? Build, int Gpu, Bench.IInputProvider? Inputs, string? Error, string? CompileLog = null);

    private WrappedCandidateRunner Runner(Target target) =>
        new(target.Inputs!, new WrappedRunSettings(target.Gpu, services.Options.WorkerTemplate, services.Options.Seed, services.Options.WorkerLauncher));

    private async Task<Target> ResolveAsync(JsonElement solution, JsonElement workload, string device, string? traceSetPath, string toolPath, string toolName, CancellationToken cancellationToken)
    {
        var gpu = ToolArguments.Gpu(device, out var error);
        if (gpu is null)
        {
            return new Target(null, null, null, null, 0, null, error);
        }
        var dataset = services.Backend.Dataset;
        if (!string.IsNullOrWhiteSpace(traceSetPath) && Path.GetFullPath(traceSetPath) != Path.GetFullPath(dataset.Root))
        {
            if (!Directory.Exists(traceSetPath))
            {
                return new Target(null, null, null, null, 0, null, $"trace_set_path '{traceSetPath}' does not exist");
            }
            dataset = TraceDataset.Load(traceSetPath);
        }
        var candidate = ToolArguments.Solution(services, solution, out var candidateId, out error);
        if (candidate is null)
        {
            return new Target(null, null, null, null, 0, null, error);
        }
        var definition = ToolArguments.Definition(dataset, candidate.DefinitionName, out error);
        if (definition is null)
        {
            return new Target(null, null, candidateId, null, 0, null, error);
        }
        var entry = ToolArguments.Workload(dataset, definition, workload, out error);
        if (entry is null)
        {
            return new Target(definition, null, candidateId, null, 0, null, error);
        }
        // A missing tool is reported before anything is built: CI and CPU machines end here.
        if (ExecutableLocator.Find(toolPath) is null)
        {
            return new Target(definition, entry, candidateId, null, 0, null,
                $"{toolName} not found at '{toolPath}': it comes with the CUDA toolkit (and needs a GPU); put it on PATH or pass its path");
        }
        var build = await services.Backend.BuildAsync(candidate, definition, cancellationToken);
        if (!build.Succeeded)
        {
            return new Target(definition, entry, candidateId, build, 0, null, "COMPILE_ERROR: the candidate did not build (see output)",
                ToolArguments.CompilerLog(build.Log, services.Options.MaxLogCharacters));
        }
        return new Target(definition, entry, candidateId, build, gpu.Value, services.Backend.InputsFor(dataset.Root), null);
    }
}
