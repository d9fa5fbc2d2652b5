namespace AgentForge.Tools.Packaging;

/// <summary>What the packing checks look for: each is something the official builders reject or miscompile.</summary>
public enum PackCheck
{
    /// <summary>sm_90a/sm_100a-only instructions or feature macros, or a candidate built for an 'a' target.</summary>
    ArchSpecific,

    /// <summary>Compiler flags the official builders do not pass (they take none).</summary>
    CustomFlags,

    /// <summary>An #include that is neither among the sources nor part of the CUDA toolkit or C++ library.</summary>
    HeaderOutsideSources,

    /// <summary>The kernel entry is missing, only declared, or not callable from another file.</summary>
    EntryNotExported,

    /// <summary>The kernel entry's parameter count differs from inputs + outputs + stream.</summary>
    ArityMismatch,

    /// <summary>A parameter type differs from the contract's, so the binding's call would not link.</summary>
    ParameterType,

    /// <summary>CUDA syntax in a file the builders give to the host C++ compiler.</summary>
    HostCompiledCuda,

    /// <summary>A source path that packing generates itself (binding.cu).</summary>
    ReservedPath,

    /// <summary>Libraries beyond what the builders link.</summary>
    Libraries,

    /// <summary>The folder's agentforge.h differs from the contract header, which is packed instead.</summary>
    ContractHeader,

    /// <summary>Tuned parameter values written into the sources as #defines.</summary>
    BakedDefines,

    /// <summary>A header from the shared include folder that a source includes, packed with the sources.</summary>
    SharedHeader,

    /// <summary>Source paths the official builders cannot write (absolute, "..", duplicates), or no kernel sources at all.</summary>
    SourcePaths,

    /// <summary>A generated optional source (side-loaded PTX) left out because the files it was made from changed.</summary>
    StaleGeneratedSource,
}

public enum FindingSeverity
{
    /// <summary>Said for the record; packing goes on.</summary>
    Note,

    /// <summary>Worth a look; packing goes on.</summary>
    Warning,

    /// <summary>Packing refuses, unless forced (then it is reported as a forced warning).</summary>
    Error,
}

/// <summary>
/// One result of the packing checks, located at a file and line where it has one.
/// <paramref name="Forced"/>: an error that --force turned into a warning.
/// </summary>
public sealed record PackFinding(PackCheck Check, FindingSeverity Severity, string? File, int? Line, string Message, bool Forced = false)
{
    /// <summary>Errors --force cannot override: the packed file itself would be broken.</summary>
    public bool Blocking => Severity == FindingSeverity.Error && Check is PackCheck.ReservedPath or PackCheck.SourcePaths;

    /// <summary>kebab-case name for logs: arch-specific, custom-flags, ...</summary>
    public string Code => string.Concat(Check.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    public override string ToString()
    {
        var where = File is null ? "" : Line is { } line ? $"{File}:{line}: " : $"{File}: ";
        var severity = Forced ? "warning (forced)" : Severity.ToString().ToLowerInvariant();
        return $"{severity} [{Code}] {where}{Message}";
    }
}
