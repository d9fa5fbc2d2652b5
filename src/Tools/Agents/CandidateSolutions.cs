using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Agents;

/// <summary>Converts between AgentForge candidates and FlashInfer-Bench solutions, and checks candidate arguments.</summary>
public static class CandidateSolutions
{
    /// <summary>A candidate from a solution: "sm_XYa" in target_hardware asks for architecture-specific code.</summary>
    public static CandidateSource FromSolution(Solution solution)
    {
        var target = solution.Spec.TargetHardware.Any(t => t.StartsWith("sm_", StringComparison.Ordinal) && t.EndsWith('a'))
            ? TargetKind.ArchSpecific
            : TargetKind.Portable;
        return new CandidateSource(solution.Name, solution.Definition, solution.Sources, BaselineCatalog.EntrySymbol(solution.Spec.EntryPoint), target);
    }

    /// <summary>A solution.json for a candidate; the entry point names the first source that defines the entry.</summary>
    public static Solution ToSolution(CandidateSource candidate, string name, string author, string? description = null)
    {
        var file = candidate.Sources.FirstOrDefault(s => s.Content.Contains(candidate.EntrySymbol + "(", StringComparison.Ordinal) && s.Path.EndsWith(".cu", StringComparison.Ordinal))
            ?? candidate.Sources.First();
        var hardware = candidate.Target == TargetKind.ArchSpecific ? "sm_90a" : "cuda";
        return new Solution(name, candidate.DefinitionName, author,
            new BuildSpec("cuda", [hardware], $"{file.Path}::{candidate.EntrySymbol}", [], true, null),
            candidate.Sources, description);
    }

    /// <summary>Why these candidate arguments cannot be built, or null.</summary>
    public static string? Check(IReadOnlyDictionary<string, string> sources, string entry, IReadOnlyDictionary<string, string>? defines)
    {
        if (sources.Count == 0)
        {
            return "sources is empty: give at least one .cu file as {\"kernel.cu\": \"...\"}";
        }
        foreach (var path in sources.Keys)
        {
            if (path.Length == 0 || Path.IsPathRooted(path) || path.Split('/', '\\').Contains(".."))
            {
                return $"source path '{path}' must be relative and must not contain '..'";
            }
        }
        if (!sources.Keys.Any(p => p.EndsWith(".cu", StringComparison.Ordinal) || p.EndsWith(".cpp", StringComparison.Ordinal)))
        {
            return "no .cu source among " + string.Join(", ", sources.Keys);
        }
        if (!IsIdentifier(entry))
        {
            return $"entry '{entry}' is not a C identifier";
        }
        foreach (var name in (defines ?? new Dictionary<string, string>()).Keys)
        {
            if (!IsIdentifier(name))
            {
                return $"define '{name}' is not a C identifier";
            }
        }
        return null;
    }

    private static bool IsIdentifier(string text) =>
        text.Length > 0 && (char.IsAsciiLetter(text[0]) || text[0] == '_') && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
