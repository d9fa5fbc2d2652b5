using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// A champion as a FlashInfer-Bench solution.json. The official build takes no custom flags, so
/// tuner settings (-DNAME=value) are written into the source that declares them, ahead of its
/// #ifndef guard: the exported file compiles to the same kernel with no flags.
/// </summary>
public static class SolutionExport
{
    public static Solution ToSolution(Candidate candidate, string? architecture, string name)
    {
        var sources = BakeDefines(candidate.Source);
        var entryFile = sources.FirstOrDefault(s => s.Path.EndsWith(".cu", StringComparison.Ordinal))?.Path ?? sources[0].Path;
        var target = architecture is { Length: > 0 } a ? a : (candidate.Source.Target == TargetKind.ArchSpecific ? "sm_90a" : "sm_90");
        var description = $"AgentForge {candidate.Generator} candidate {candidate.Id}"
            + (candidate.ParentId is null ? "" : $" (parent {candidate.ParentId})")
            + (candidate.Source.Defines is { Count: > 0 } d ? $"; tuned {string.Join(", ", d.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"))}" : "");
        return new Solution(
            name,
            candidate.Definition,
            "agentforge",
            new BuildSpec("cuda", [target], $"{entryFile}::{candidate.Source.EntrySymbol}", [], DestinationPassingStyle: true, Binding: null),
            sources,
            description);
    }

    /// <summary>Sources with every define written as a #define at the top of the file that declares it (the first .cu file for undeclared ones).</summary>
    public static IReadOnlyList<SourceFile> BakeDefines(CandidateSource source)
    {
        if (source.Defines is not { Count: > 0 } defines)
        {
            return source.Sources;
        }
        var declared = TunableParameters.Parse(source.Sources);
        var home = source.Sources.FirstOrDefault(s => s.Path.EndsWith(".cu", StringComparison.Ordinal))?.Path ?? source.Sources[0].Path;
        string FileOf(string name) => declared.IsOk ? declared.Value.FirstOrDefault(p => p.Name == name)?.SourcePath ?? home : home;
        return source.Sources.Select(file =>
        {
            var mine = defines.Where(d => FileOf(d.Key) == file.Path).OrderBy(d => d.Key, StringComparer.Ordinal).ToList();
            if (mine.Count == 0)
            {
                return file;
            }
            var header = "// Tuned by AgentForge (these values were -D flags in the harness):\n"
                + string.Concat(mine.Select(d => $"#define {d.Key} {d.Value}\n"));
            return file with { Content = header + file.Content };
        }).ToList();
    }
}
