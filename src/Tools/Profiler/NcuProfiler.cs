using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Processes;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Profiler;

/// <summary>What to collect, with FlashInfer-Bench's run_ncu defaults.</summary>
public sealed record NcuRequest(
    string Set = "detailed",
    IReadOnlyList<string>? Sections = null,
    string? KernelName = null,
    string Page = "details",
    string NcuPath = "ncu",
    TimeSpan? Timeout = null,
    string? TemporaryDirectory = null)
{
    public static readonly IReadOnlyList<string> Pages = ["details", "raw", "source"];

    public TimeSpan Limit => Timeout ?? TimeSpan.FromSeconds(60);
}

/// <summary>A profile, the text ncu printed (for the raw and source pages, or to see everything), and why there is no profile.</summary>
public sealed record NcuRun(NcuProfile Profile, string Output, string? CallFailure);

/// <summary>
/// Nsight Compute over the candidate's single call on one workload, in a one-shot worker:
/// `ncu --set S [--section X]... [--kernel-name regex:K] --csv --page P --log-file LOG agentforge
/// worker --requests FILE`. Only the candidate's kernels run in that process (the worker's own
/// fills are memsets, which ncu does not profile).
/// </summary>
public sealed class NcuProfiler(WrappedCandidateRunner runner)
{
    public static IReadOnlyList<string> Arguments(NcuRequest request, string logPath)
    {
        var arguments = new List<string> { "--set", request.Set };
        foreach (var section in request.Sections ?? [])
        {
            arguments.AddRange(["--section", section]);
        }
        if (!string.IsNullOrWhiteSpace(request.KernelName))
        {
            // FlashInfer-Bench documents kernel_name as a regex; ncu wants the "regex:" prefix for that.
            var name = request.KernelName.StartsWith("regex:", StringComparison.Ordinal) || request.KernelName.StartsWith("demangled:", StringComparison.Ordinal)
                ? request.KernelName
                : "regex:" + request.KernelName;
            arguments.AddRange(["--kernel-name", name]);
        }
        if (request.Page == "source")
        {
            arguments.AddRange(["--page", "source", "--print-source", "sass"]);
        }
        else
        {
            arguments.AddRange(["--csv", "--page", request.Page]);
        }
        arguments.AddRange(["--log-file", logPath]);
        return arguments;
    }

    public async Task<NcuRun> ProfileAsync(BuildResult build, Definition definition, WorkloadEntry workload, NcuRequest request, CancellationToken cancellationToken)
    {
        if (!NcuRequest.Pages.Contains(request.Page))
        {
            return new NcuRun(new NcuProfile([], $"page must be one of {string.Join(", ", NcuRequest.Pages)}, not '{request.Page}'"), "", null);
        }
        var run = await runner.RunAsync(request.NcuPath, "ncu", log => Arguments(request, log), build, definition, workload, request.Limit, request.TemporaryDirectory, cancellationToken);
        if (run.Problem is { } problem)
        {
            return new NcuRun(new NcuProfile([], problem), run.ToolLog, run.CallFailure);
        }
        var profile = request.Page == "source"
            ? new NcuProfile([], NcuOutputParser.Problem(run.ToolLog))
            : NcuOutputParser.Parse(run.ToolLog);
        if (profile.Kernels.Count == 0 && run.CallFailure is { } failure && request.Page != "source")
        {
            profile = profile with { Problem = $"{profile.Problem}; {failure}" };
        }
        return new NcuRun(profile, run.ToolLog, run.CallFailure);
    }

    /// <summary>`ncu --list-sets` and `ncu --list-sections`, or the built-in list when ncu cannot be run.</summary>
    public static async Task<NcuOptionsList> ListOptionsAsync(string ncuPath, CancellationToken cancellationToken)
    {
        var ncu = ExecutableLocator.Find(ncuPath);
        if (ncu is null)
        {
            return NcuOptionsParser.Builtin($"ncu not found at '{ncuPath}': this is the list of Nsight Compute 2025 on Hopper; install the CUDA toolkit to profile");
        }
        var sets = await ProcessRunner.RunAsync(ncu, ["--list-sets"], TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        var sections = await ProcessRunner.RunAsync(ncu, ["--list-sections"], TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        var parsedSets = sets.Succeeded ? NcuOptionsParser.ParseSets(sets.Output) : [];
        var parsedSections = sections.Succeeded ? NcuOptionsParser.ParseSections(sections.Output) : [];
        if (parsedSets.Count == 0 || parsedSections.Count == 0)
        {
            var why = !sets.Succeeded ? sets.StartError ?? sets.Output : sections.StartError ?? sections.Output;
            return NcuOptionsParser.Builtin($"{ncu} did not list its sets and sections ({Tail(why)}): this is the built-in list");
        }
        return new NcuOptionsList(parsedSets, parsedSections, ncu, null);
    }

    private static string Tail(string text) => text.Trim().Length <= 300 ? text.Trim() : "..." + text.Trim()[^300..];
}
