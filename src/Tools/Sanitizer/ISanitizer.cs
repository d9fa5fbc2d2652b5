using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Sanitizer;

/// <summary>compute-sanitizer's tools, as FlashInfer-Bench's run_sanitizer names them.</summary>
public enum SanitizerTool
{
    Memcheck,
    Racecheck,
    Synccheck,
    Initcheck,
}

/// <summary>
/// What one sanitizer tool found on one workload: clean or not, an error count, a summary for people and models.
/// <paramref name="Problem"/> is set when there is no verdict (the sanitizer or the worker could not run,
/// or it timed out); <see cref="Clean"/> is then false and <see cref="ErrorCount"/> counts nothing.
/// </summary>
public sealed record SanitizerReport(SanitizerTool Tool, string WorkloadUuid, bool Clean, int ErrorCount, string Summary, string Log, string? Problem = null)
{
    /// <summary>Whether the tool ran to its summary (a verdict, clean or not).</summary>
    public bool Ran => Problem is null;
}

/// <summary>Runs a built candidate under compute-sanitizer (the worker in one-shot mode) on one workload.</summary>
public interface ISanitizer
{
    Task<SanitizerReport> RunAsync(BuildResult build, Definition definition, WorkloadEntry workload, SanitizerTool tool, CancellationToken cancellationToken);
}
