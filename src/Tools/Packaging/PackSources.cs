using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>Where `agentforge pack` takes a candidate from: a baseline, a run's best solution, a solution.json.</summary>
public static class PackSources
{
    /// <summary>
    /// The definition's baseline; its sources lose the "&lt;definition&gt;/" folder of the catalog
    /// (kernel.cu, not gdn_decode_.../kernel.cu).
    /// </summary>
    public static DataResult<PackInput> FromBaseline(BaselineCatalog catalog, string definitionName)
    {
        var entry = catalog.For(definitionName);
        if (entry is null)
        {
            return new DataError(Path.Combine(catalog.Root, "manifest.json"), null, "baselines", $"no baseline for '{definitionName}'");
        }
        CandidateSource candidate;
        IReadOnlyList<string> leftOut;
        try
        {
            (candidate, leftOut) = catalog.Resolve(entry);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new DataError(catalog.Root, null, $"baselines.{definitionName}", e.Message);
        }
        var prefix = entry.Definition + "/";
        candidate = candidate with
        {
            Sources = [.. candidate.Sources.Select(s => s.Path.StartsWith(prefix, StringComparison.Ordinal) ? s with { Path = s.Path[prefix.Length..] } : s)],
        };
        var target = PackedSolution.IsArchSpecificTarget(entry.Target) ? entry.Target : null;
        var stale = leftOut.Select(p => new PackFinding(PackCheck.StaleGeneratedSource, FindingSeverity.Warning, null, null, p)).ToList();
        return DataResult<PackInput>.Ok(new PackInput(candidate, null, entry.Description, target, Findings: stale));
    }

    /// <summary>
    /// The best solution of a run: <paramref name="run"/> is a run folder, or a run id under
    /// <paramref name="runsRoot"/>; the solution is best/&lt;definition&gt;/solution.json in it.
    /// </summary>
    public static DataResult<PackInput> FromRun(string runsRoot, string run, string definitionName)
    {
        var folder = Directory.Exists(run) ? run : Path.Combine(runsRoot, run);
        if (!Directory.Exists(folder))
        {
            return new DataError(folder, null, "--run", $"no run folder '{run}' (looked in {runsRoot})");
        }
        return FromSolutionFile(Path.Combine(folder, "best", definitionName, "solution.json"), definitionName);
    }

    public static DataResult<PackInput> FromSolutionFile(string path, string definitionName)
    {
        if (!File.Exists(path))
        {
            return new DataError(path, null, "(file)", "no solution.json here");
        }
        var read = TraceJson.ReadSolutionFile(path);
        if (!read.IsOk)
        {
            return DataResult<PackInput>.Fail(read.Errors);
        }
        if (read.Value.Definition != definitionName)
        {
            return new DataError(path, null, "definition", $"solution '{read.Value.Name}' is for '{read.Value.Definition}', not '{definitionName}'");
        }
        return DataResult<PackInput>.Ok(FromSolution(read.Value));
    }

    /// <summary>A solution repacked: its kernel sources and entry (a previous binding is regenerated), name, author, description, target.</summary>
    public static PackInput FromSolution(Solution solution) =>
        new(PackedSolution.ToCandidate(solution), solution.Author, solution.Description, PackedSolution.ArchSpecificTarget(solution));
}
