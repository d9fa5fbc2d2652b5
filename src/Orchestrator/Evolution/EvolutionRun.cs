using AgentForge.Tools.Processes;
using AgentForge.Tools.Sanitizer;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>The pieces of one `evolve` session; the command composes the real ones, tests the fakes.</summary>
public sealed record EvolutionParts(
    EvolutionProblem Problem,
    ICandidateEvaluator Evaluator,
    ICandidateGenerator Generator,
    ISanitizer? Sanitizer,
    TimeProvider Time,
    IUsageMeter? Usage = null,
    ICandidateProfiler? Profiler = null,
    ChampionRelay? Champions = null);

/// <summary>
/// One session of a run: writes run.json for a new run, runs the loop, and always leaves
/// report.md and progress.png behind, also when cancelled.
/// </summary>
public static class EvolutionRun
{
    public static async Task<RunSummary> RunAsync(RunStore store, bool fresh, EvolutionParts parts, EvolutionOptions options, IReadOnlyList<string> commandLine, string gitCommit, CancellationToken cancellationToken)
    {
        if (fresh || store.ReadRunInfo() is null)
        {
            var environment = await parts.Evaluator.DescribeAsync(cancellationToken);
            store.WriteRunInfo(new RunInfo(store.Id, options.Track, parts.Problem.Definitions.Select(d => d.Name).ToList(), commandLine, options, options.Seed,
                parts.Generator.Name, gitCommit, environment, parts.Time.GetUtcNow()));
        }
        var loop = new EvolutionLoop(parts.Problem, parts.Evaluator, parts.Generator, parts.Sanitizer, store, options, parts.Time, parts.Usage, parts.Profiler, parts.Champions);
        try
        {
            return await loop.RunAsync(cancellationToken);
        }
        finally
        {
            WriteReport(store);
        }
    }

    /// <summary>report.md and progress.png; a plot that cannot be drawn (no native graphics library) does not cost the report.</summary>
    public static string? WriteReport(RunStore store)
    {
        try
        {
            RunReport.Write(store);
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or IOException)
        {
            var replay = RunReplay.From(store.ReadEvents());
            var markdown = RunReport.Markdown(store.Id, store.ReadRunInfo(), replay) + $"\n(progress.png could not be drawn: {e.GetType().Name}: {e.Message})\n";
            RunStore.WriteAtomically(Path.Combine(store.Root, RunStore.ReportFile), markdown);
            return e.Message;
        }
    }

    /// <summary>The commit of the working directory's repository, or "unknown".</summary>
    public static async Task<string> GitCommitAsync(CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunAsync("git", ["rev-parse", "HEAD"], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            return "unknown";
        }
        var dirty = await ProcessRunner.RunAsync("git", ["status", "--porcelain", "--untracked-files=no"], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken);
        return result.Output.Trim() + (dirty.Succeeded && dirty.Output.Trim().Length > 0 ? " (modified)" : "");
    }
}
