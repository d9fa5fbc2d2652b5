using System.Globalization;
using System.Text;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// What to pack: a candidate (its sources may include a previous binding.cu and agentforge.h,
/// which are regenerated) and what is known about it. <paramref name="Target"/> names an
/// architecture-specific target ("sm_90a") the candidate was built for; null derives it from
/// the candidate. <paramref name="Findings"/> were found while reading it.
/// </summary>
public sealed record PackInput(
    CandidateSource Candidate,
    string? Author = null,
    string? Description = null,
    string? Target = null,
    IReadOnlyList<string>? Flags = null,
    IReadOnlyList<PackFinding>? Findings = null);

/// <summary>How to pack: the binding, overrides of name and author, and whether errors are forced through.</summary>
public sealed record PackOptions(BindingKind Binding, string? Author = null, string? Name = null, bool Force = false);

/// <summary>The packed solution, or null when packing refused; the findings say why either way.</summary>
public sealed record PackResult(Solution? Solution, IReadOnlyList<PackFinding> Findings)
{
    public bool Refused => Solution is null;
}

/// <summary>
/// Packs a candidate into a FlashInfer-Bench solution: kernel sources, the contract header and a
/// binding generated from the definition (layout in <see cref="PackLayout"/>), after the checks
/// of <see cref="PackChecker"/>. The output depends only on its inputs, so packing an extracted
/// solution again gives the same bytes.
/// </summary>
public sealed class SolutionPacker(string contractHeader, IReadOnlyDictionary<string, string>? sharedHeaders = null)
{
    public const string DefaultAuthor = "agentforge";

    /// <summary>The contract header and the other headers of the catalog's include folder (the
    /// harness compiles with that folder on the include path, so kernels may include them).</summary>
    public static SolutionPacker FromCatalog(BaselineCatalog catalog) =>
        new(File.ReadAllText(Path.Combine(catalog.IncludeDirectory, PackLayout.HeaderPath)),
            IncludeFolder.SharedFiles(catalog.IncludeDirectory)
                .Where(f => PackLayout.IsSource(f.Key) && !PackLayout.IsTranslationUnit(f.Key))
                .ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal));

    public string ContractHeader { get; } = contractHeader;

    /// <summary>Headers a kernel may include from the shared include folder, by path within it.</summary>
    public IReadOnlyDictionary<string, string> SharedHeaders { get; } = sharedHeaders ?? new Dictionary<string, string>();

    public PackResult Pack(Definition definition, PackInput input, PackOptions options)
    {
        var candidate = input.Candidate;
        if (candidate.DefinitionName != definition.Name)
        {
            throw new ArgumentException($"candidate {candidate.Name} is for {candidate.DefinitionName}, not {definition.Name}", nameof(input));
        }
        var findings = new List<PackFinding>(input.Findings ?? []);
        var kernel = KernelSources(candidate, findings);
        BundleSharedHeaders(kernel, findings);
        var target = input.Target ?? (candidate.Target == TargetKind.ArchSpecific ? "sm_90a" : null);
        findings.AddRange(PackChecker.Check(new PackCheckInput(definition, kernel, candidate.EntrySymbol, options.Binding, target, input.Flags)));

        if (findings.Any(f => f.Blocking) || (!options.Force && findings.Any(f => f.Severity == FindingSeverity.Error)))
        {
            return new PackResult(null, findings);
        }
        findings = [.. findings.Select(f => f.Severity == FindingSeverity.Error ? f with { Severity = FindingSeverity.Warning, Forced = true } : f)];

        var sources = new List<SourceFile>(kernel)
        {
            new(PackLayout.HeaderPath, ContractHeader),
            new(PackLayout.BindingPath, BindingGenerator.Generate(definition, options.Binding, candidate.EntrySymbol)),
        };
        var python = options.Binding == BindingKind.Python;
        if (python)
        {
            sources.Add(new SourceFile(PackLayout.LauncherPath, PythonLauncher.Generate(definition, candidate.EntrySymbol, target, sources)));
        }
        var spec = new BuildSpec(
            python ? "python" : "cuda",
            target is null ? ["cuda"] : ["cuda", target],
            python ? PackLayout.LauncherEntryPoint : PackLayout.EntryPoint,
            [],
            DestinationPassingStyle: true,
            Binding: python ? null : options.Binding.WireName());
        var solution = new Solution(options.Name ?? candidate.Name, definition.Name, options.Author ?? input.Author ?? DefaultAuthor, spec, sources, input.Description);
        return new PackResult(solution, findings);
    }

    /// <summary>
    /// The candidate's own sources, sorted by path: a previous generated binding is dropped, the
    /// contract header is the one packed, and tuned values are written in as #defines.
    /// </summary>
    private List<SourceFile> KernelSources(CandidateSource candidate, List<PackFinding> findings)
    {
        var kernel = new List<SourceFile>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in candidate.Sources)
        {
            var path = source.Path.Replace('\\', '/');
            if (path.StartsWith('/') || path.Split('/').Contains("..") || PackChecker.Normalize(path) != path)
            {
                findings.Add(new PackFinding(PackCheck.SourcePaths, FindingSeverity.Error, source.Path, null,
                    "source paths must be relative, without '..', '.' or empty segments: FlashInfer-Bench writes each source at its path under the build folder."));
                continue;
            }
            if (!seen.Add(path))
            {
                findings.Add(new PackFinding(PackCheck.SourcePaths, FindingSeverity.Error, path, null, "appears twice among the sources."));
                continue;
            }
            if (path == PackLayout.HeaderPath)
            {
                if (source.Content != ContractHeader)
                {
                    findings.Add(new PackFinding(PackCheck.ContractHeader, FindingSeverity.Warning, path, null,
                        "differs from the contract header; the contract's agentforge.h is packed in its place (it defines afg::Tensor as the binding fills it)."));
                }
                continue;
            }
            if (PythonLauncher.IsGenerated(source with { Path = path }))
            {
                continue;  // a launcher packing wrote before: written again if the binding asks for one
            }
            if (path == PackLayout.BindingPath)
            {
                if (!PackedSolution.IsGeneratedBinding(source))
                {
                    findings.Add(new PackFinding(PackCheck.ReservedPath, FindingSeverity.Error, path, null,
                        "is where packing writes the generated binding; rename the candidate's file."));
                }
                continue;
            }
            kernel.Add(source with { Path = path });
        }
        if (kernel.Count == 0 && !findings.Any(f => f.Check == PackCheck.SourcePaths))
        {
            findings.Add(new PackFinding(PackCheck.SourcePaths, FindingSeverity.Error, null, null, "the candidate has no kernel sources."));
        }
        if (candidate.Defines is { Count: > 0 } defines)
        {
            kernel = [.. kernel.Select(s => PackLayout.IsTranslationUnit(s.Path) ? s with { Content = BakeDefines(defines) + s.Content } : s)];
            findings.Add(new PackFinding(PackCheck.BakedDefines, FindingSeverity.Note, null, null,
                $"tuned values {string.Join(", ", defines.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}={d.Value}"))} are written as #defines at the top of each .cu file (the official builders take no -D flags)."));
        }
        kernel.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return kernel;
    }

    /// <summary>
    /// Adds, at the root of the packed folder, each shared header that a source includes and that
    /// no source provides (and the shared headers those include, in turn): FlashInfer-Bench's
    /// build folder is the only extra include path, so a header from the harness's include folder
    /// must travel with the sources. A source of the candidate with the same path wins.
    /// </summary>
    private void BundleSharedHeaders(List<SourceFile> kernel, List<PackFinding> findings)
    {
        var packed = new HashSet<string>(kernel.Select(s => s.Path).Append(PackLayout.HeaderPath), StringComparer.Ordinal);
        for (var next = 0; next < kernel.Count; next++)
        {
            foreach (var (target, quoted, line) in CppSource.Parse(kernel[next]).Includes())
            {
                if (PackChecker.Resolve(kernel[next].Path, target, quoted, packed)
                    || PackChecker.Normalize(target) is not { } path || !SharedHeaders.TryGetValue(path, out var content))
                {
                    continue;
                }
                packed.Add(path);
                kernel.Add(new SourceFile(path, content));
                findings.Add(new PackFinding(PackCheck.SharedHeader, FindingSeverity.Note, kernel[next].Path, line,
                    $"includes {path} from the shared include folder; it is packed at the root of the sources."));
            }
        }
        kernel.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
    }

    internal static string BakeDefines(IReadOnlyDictionary<string, string> defines)
    {
        var text = new StringBuilder("// AgentForge: the tuned setting, fixed here because FlashInfer-Bench's builders take no -D flags.\n");
        foreach (var (name, value) in defines.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"#define {name} {value}\n");
        }
        return text.Append('\n').ToString();
    }
}
