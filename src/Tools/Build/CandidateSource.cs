using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Build;

/// <summary>Which machine code a candidate is built for.</summary>
public enum TargetKind
{
    /// <summary>Plain sm_XY of the card found (what FlashInfer-Bench's official build uses).</summary>
    Portable,

    /// <summary>sm_XYa: architecture-specific instructions (wgmma, setmaxnreg) allowed.</summary>
    ArchSpecific,
}

/// <summary>
/// A kernel candidate as AgentForge builds it: CUDA sources (relative paths), the host entry
/// function, the target, and preprocessor defines (how the tuner sets declared parameters).
/// </summary>
public sealed record CandidateSource(
    string Name,
    string DefinitionName,
    IReadOnlyList<SourceFile> Sources,
    string EntrySymbol = "run",
    TargetKind Target = TargetKind.Portable,
    IReadOnlyDictionary<string, string>? Defines = null);
