using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Sanitizer;

/// <summary>How compute-sanitizer is run: its path, the time one tool may take, where temporary files go.</summary>
public sealed record SanitizerOptions(
    string SanitizerPath = "compute-sanitizer",
    TimeSpan? Timeout = null,
    string? TemporaryDirectory = null,
    IReadOnlyList<string>? ExtraArguments = null)
{
    public TimeSpan Limit => Timeout ?? TimeSpan.FromSeconds(300);
}

/// <summary>
/// <see cref="ISanitizer"/> over compute-sanitizer: the candidate's single call on one workload runs
/// in a one-shot worker under `compute-sanitizer --tool T`, and the tool's log is read into a
/// verdict. A verdict needs the tool's summary line; a missing tool, a timeout or a worker that
/// never called the candidate (with nothing found) is a <see cref="SanitizerReport.Problem"/>.
/// </summary>
public sealed class ComputeSanitizer(WrappedCandidateRunner runner, SanitizerOptions options) : ISanitizer
{
    private const int LogCharacters = 64_000;

    public static string ToolName(SanitizerTool tool) => tool.ToString().ToLowerInvariant();

    public static IReadOnlyList<string> Arguments(SanitizerTool tool, string logPath, IReadOnlyList<string>? extra)
    {
        // The tool's report goes to a file: the worker's stdout carries its answers.
        var arguments = new List<string> { "--tool", ToolName(tool), "--log-file", logPath };
        arguments.AddRange(extra ?? []);
        return arguments;
    }

    public async Task<SanitizerReport> RunAsync(BuildResult build, Definition definition, WorkloadEntry workload, SanitizerTool tool, CancellationToken cancellationToken)
    {
        var uuid = workload.Workload.Uuid;
        var run = await runner.RunAsync(options.SanitizerPath, "compute-sanitizer", log => Arguments(tool, log, options.ExtraArguments),
            build, definition, workload, options.Limit, options.TemporaryDirectory, cancellationToken);
        return Judge(tool, uuid, run);
    }

    /// <summary>The verdict from a finished run; separate so it can be tested on captured output.</summary>
    public static SanitizerReport Judge(SanitizerTool tool, string workloadUuid, WrappedRunResult run)
    {
        var log = Trim(run.ToolLog);
        if (run.Problem is { } problem)
        {
            return new SanitizerReport(tool, workloadUuid, false, 0, $"{ToolName(tool)}: no verdict: {problem}", log, problem);
        }
        var parsed = SanitizerOutputParser.Parse(run.ToolLog, tool);
        if (parsed.ErrorCount is not { } errors)
        {
            var why = parsed.ToolError ?? $"compute-sanitizer ended (exit code {run.Process?.ExitCode}) without its summary line";
            var detail = run.CallFailure is { } failure ? $"{why}; {failure}" : why;
            return new SanitizerReport(tool, workloadUuid, false, 0, $"{ToolName(tool)}: no verdict: {detail}", log, detail);
        }
        if (errors > 0)
        {
            return new SanitizerReport(tool, workloadUuid, false, errors, parsed.Describe(tool), log);
        }
        if (run.CallFailure is { } callFailure)
        {
            // Nothing found, but the candidate never ran to completion: that proves nothing.
            var detail = parsed.ToolError is { } toolError ? $"{callFailure}; {toolError}" : callFailure;
            return new SanitizerReport(tool, workloadUuid, false, 0, $"{ToolName(tool)}: no verdict: {detail}", log, detail);
        }
        return new SanitizerReport(tool, workloadUuid, true, 0, parsed.Describe(tool), log);
    }

    private static string Trim(string log) => log.Length <= LogCharacters ? log : log[..(LogCharacters / 2)] + "\n...\n" + log[^(LogCharacters / 2)..];
}
