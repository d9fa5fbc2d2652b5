using System.Text.Json;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Build;

/// <summary>
/// One hand-written baseline as listed in src/Kernels.Baseline/manifest.json. <see cref="OptionalSources"/>:
/// generated files (side-loaded PTX) that join the sources when they exist and are skipped when not.
/// </summary>
public sealed record BaselineEntry(string Definition, string Name, IReadOnlyList<string> Sources, string EntryPoint, string Target, string? Description,
    IReadOnlyList<string>? OptionalSources = null);

/// <summary>
/// The baseline kernels: a folder with manifest.json, include/agentforge.h and one folder per
/// definition. Found next to the executable (kernels/), else in the source tree.
/// </summary>
public sealed partial class BaselineCatalog
{
    private BaselineCatalog(string root, IReadOnlyList<BaselineEntry> entries)
    {
        Root = root;
        Entries = entries;
    }

    public string Root { get; }

    public IReadOnlyList<BaselineEntry> Entries { get; }

    public string IncludeDirectory => Path.Combine(Root, "include");

    /// <summary>The environment variable that names the baseline kernels folder when no --kernels is
    /// given (the device scripts point it at the working tree, so an edited kernel is never measured
    /// from the copy packed beside the executable).</summary>
    public const string RootVariable = "AGENTFORGE_KERNELS";

    public static string? Locate(string? explicitRoot) => Locate(explicitRoot, Environment.GetEnvironmentVariable(RootVariable));

    /// <summary>The kernels folder: the explicit one, else the environment's, else beside the executable, else src/Kernels.Baseline above it.</summary>
    public static string? Locate(string? explicitRoot, string? environmentRoot)
    {
        if (!string.IsNullOrEmpty(explicitRoot))
        {
            return explicitRoot;
        }
        if (!string.IsNullOrEmpty(environmentRoot))
        {
            return environmentRoot;
        }
        var beside = Path.Combine(AppContext.BaseDirectory, "kernels");
        if (File.Exists(Path.Combine(beside, "manifest.json")))
        {
            return beside;
        }
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var source = Path.Combine(directory.FullName, "src", "Kernels.Baseline");
            if (File.Exists(Path.Combine(source, "manifest.json")))
            {
                return source;
            }
        }
        return null;
    }

    public static DataResult<BaselineCatalog> Load(string root)
    {
        var manifest = Path.Combine(root, "manifest.json");
        if (!File.Exists(manifest))
        {
            return new DataError(manifest, null, "manifest", "no baseline manifest here");
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(manifest));
            var entries = new List<BaselineEntry>();
            var index = 0;
            foreach (var item in document.RootElement.GetProperty("baselines").EnumerateArray())
            {
                string Text(string name) => item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                    ? v.GetString()!
                    : throw new KeyNotFoundException($"baselines[{index}].{name}");
                entries.Add(new BaselineEntry(
                    Text("definition"),
                    Text("name"),
                    item.GetProperty("sources").EnumerateArray().Select(s => s.GetString()!).ToList(),
                    Text("entry_point"),
                    item.TryGetProperty("target", out var t) ? t.GetString() ?? "portable" : "portable",
                    item.TryGetProperty("description", out var d) ? d.GetString() : null,
                    item.TryGetProperty("optional_sources", out var o) ? o.EnumerateArray().Select(x => x.GetString()!).ToList() : null));
                index++;
            }
            return DataResult<BaselineCatalog>.Ok(new BaselineCatalog(root, entries));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new DataError(manifest, null, "baselines", e.Message);
        }
    }

    public BaselineEntry? For(string definition) => Entries.FirstOrDefault(e => e.Definition == definition);

    /// <summary>
    /// The candidate for a baseline, sources read from disk (optional ones only where they exist
    /// and are current, see <see cref="Resolve"/>); a target of "sm_90a" asks for
    /// architecture-specific code.
    /// </summary>
    public CandidateSource Candidate(BaselineEntry entry) => Resolve(entry).Candidate;

    /// <summary>Why present optional sources are left out (see <see cref="Resolve"/>).</summary>
    public IReadOnlyList<string> OptionalSourceProblems(BaselineEntry entry) => Resolve(entry).LeftOut;

    /// <summary>
    /// The candidate, and why present optional sources were left out: a generated file records
    /// the files it was made from (lines "// source-sha256 RELATIVE_PATH HEX", paths relative to
    /// its folder), and one whose sources changed since is stale (side-loaded PTX of kernels
    /// edited after it was generated would run old code, or call it with new arguments). Each
    /// optional source is read and checked once.
    /// </summary>
    public (CandidateSource Candidate, IReadOnlyList<string> LeftOut) Resolve(BaselineEntry entry)
    {
        var leftOut = new List<string>();
        var optional = new List<string>();
        foreach (var source in (entry.OptionalSources ?? []).Where(s => File.Exists(Path.Combine(Root, s))))
        {
            if (StaleBecause(source) is { } why)
            {
                leftOut.Add($"{source} left out: {why}");
            }
            else
            {
                optional.Add(source);
            }
        }
        var candidate = new CandidateSource(
            entry.Name,
            entry.Definition,
            entry.Sources.Concat(optional).Select(s => new SourceFile(s, File.ReadAllText(Path.Combine(Root, s)))).ToList(),
            EntrySymbol(entry.EntryPoint),
            entry.Target.EndsWith('a') ? TargetKind.ArchSpecific : TargetKind.Portable);
        return (candidate, leftOut);
    }

    private string? StaleBecause(string optionalSource)
    {
        var path = Path.Combine(Root, optionalSource);
        var folder = Path.GetDirectoryName(path)!;
        foreach (var line in File.ReadLines(path).Take(64))
        {
            var match = SourceHashLine().Match(line);
            if (!match.Success)
            {
                continue;
            }
            var source = Path.GetFullPath(Path.Combine(folder, match.Groups["path"].Value));
            if (!File.Exists(source))
            {
                return $"it was generated from {match.Groups["path"].Value}, which is missing";
            }
            var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(source)));
            if (actual != match.Groups["hash"].Value)
            {
                return $"{match.Groups["path"].Value} changed since it was generated (regenerate it)";
            }
        }
        return null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^// source-sha256 (?<path>\S+) (?<hash>[0-9a-f]{64})\s*$")]
    private static partial System.Text.RegularExpressions.Regex SourceHashLine();

    /// <summary>"path/kernel.cu::run" -> "run".</summary>
    public static string EntrySymbol(string entryPoint)
    {
        var separator = entryPoint.IndexOf("::", StringComparison.Ordinal);
        return separator < 0 ? entryPoint : entryPoint[(separator + 2)..];
    }
}
