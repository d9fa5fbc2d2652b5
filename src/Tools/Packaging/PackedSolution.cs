using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// Reads a solution back into what was packed: the kernel sources (without the generated binding,
/// the generated Python launcher and the bundled contract header), the kernel's entry and its target. This is also what the
/// harness builds when benchmarking a packed solution.json: its own shim replaces the binding.
/// </summary>
public static class PackedSolution
{
    /// <summary>binding.cu carrying AgentForge's marker (a file of that name without it is the candidate's own).</summary>
    public static bool IsGeneratedBinding(SourceFile source) =>
        source.Path == PackLayout.BindingPath && BindingGenerator.ParseMarker(source.Content) is not null;

    public static bool IsBundledHeader(SourceFile source) => source.Path == PackLayout.HeaderPath;

    public static BindingMarker? Marker(Solution solution) =>
        solution.Sources.Where(IsGeneratedBinding).Select(s => BindingGenerator.ParseMarker(s.Content)).FirstOrDefault();

    public static IReadOnlyList<SourceFile> KernelSources(Solution solution) =>
        [.. solution.Sources.Where(s => !IsGeneratedBinding(s) && !IsBundledHeader(s) && !PythonLauncher.IsGenerated(s))];

    /// <summary>The kernel's entry: from the binding's marker, else the entry point's symbol (a solution packed elsewhere).</summary>
    public static string KernelEntry(Solution solution) =>
        Marker(solution)?.KernelEntry ?? BaselineCatalog.EntrySymbol(solution.Spec.EntryPoint);

    /// <summary>An 'a'/'f' target named in target_hardware ("sm_90a"), or null for portable code.</summary>
    public static string? ArchSpecificTarget(Solution solution) =>
        solution.Spec.TargetHardware.FirstOrDefault(IsArchSpecificTarget);

    public static bool IsArchSpecificTarget(string target) =>
        target.StartsWith("sm_", StringComparison.Ordinal) && (target.EndsWith('a') || target.EndsWith('f'));

    /// <summary>The candidate the harness builds for a solution (kernel sources and entry only).</summary>
    public static CandidateSource ToCandidate(Solution solution) => new(
        solution.Name,
        solution.Definition,
        KernelSources(solution),
        KernelEntry(solution),
        ArchSpecificTarget(solution) is null ? TargetKind.Portable : TargetKind.ArchSpecific);
}
