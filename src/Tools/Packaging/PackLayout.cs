using AgentForge.Tools.Build;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// The file layout of a packed solution (its "sources", paths relative to the build folder that
/// FlashInfer-Bench writes them into):
/// <code>
/// &lt;kernel sources&gt;   the candidate's files at their relative paths (a baseline's kernel.cu), sorted
/// agentforge.h       the contract header, at the root: both official builders put the build folder
///                    on the include path, so `#include "agentforge.h"` resolves from any depth
/// binding.cu         generated from the definition; the entry point is binding.cu::run
/// main.py            with the python binding only: builds the sources with torch.utils.cpp_extension
///                    for the candidate's target and exports run (the entry point is main.py::run)
/// </code>
/// An extracted folder holds the same files plus <see cref="ManifestFile"/> (name, author, kernel
/// entry, target) and FlashInfer-Bench's <see cref="MetadataFile"/>.
/// </summary>
public static class PackLayout
{
    public const string HeaderPath = IncludeFolder.ContractHeader;
    public const string BindingPath = "binding.cu";

    /// <summary>The exported function of both bindings.</summary>
    public const string EntrySymbol = "run";
    public const string EntryPoint = BindingPath + "::" + EntrySymbol;

    /// <summary>A Python solution's generated launcher (BindingKind.Python): it builds the CUDA sources itself.</summary>
    public const string LauncherPath = "main.py";
    public const string LauncherEntryPoint = LauncherPath + "::" + EntrySymbol;

    public const string ManifestFile = "manifest.json";

    /// <summary>What FlashInfer-Bench's extract_solution_to_files writes beside the sources.</summary>
    public const string MetadataFile = "SOLUTION.md";

    /// <summary>Source extensions packed from a folder: FlashInfer-Bench's list without Python.</summary>
    public static readonly IReadOnlyList<string> SourceExtensions = [".cu", ".cuh", ".cpp", ".c", ".h", ".hpp", ".cc", ".cxx"];

    public static bool IsSource(string path) => SourceExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Files both official builders compile (the rest are only included).</summary>
    public static bool IsTranslationUnit(string path) => Path.GetExtension(path).ToLowerInvariant() is ".cu" or ".cpp" or ".cc" or ".cxx" or ".c";

    /// <summary>Compiled by the host C++ compiler, not nvcc, in both official builders.</summary>
    public static bool IsHostCompiled(string path) => Path.GetExtension(path).ToLowerInvariant() is ".cpp" or ".cc" or ".cxx" or ".c";
}
