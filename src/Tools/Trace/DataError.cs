namespace AgentForge.Tools.Trace;

/// <summary>
/// A problem with user data (dataset files, blobs, solutions), located precisely enough to fix:
/// the file, the 1-based line where known, and the field path (e.g. "workload.inputs.q.dtype").
/// Expected failures are values: loaders return these rather than throwing.
/// </summary>
public sealed record DataError(string File, int? Line, string Field, string Message)
{
    public override string ToString() =>
        Line is { } line ? $"{File}:{line}: {Field}: {Message}" : $"{File}: {Field}: {Message}";
}

/// <summary>A workload as loaded from a dataset, with where it came from for error messages.</summary>
public sealed record WorkloadEntry(string DefinitionName, Workload Workload, string SourceFile, int SourceLine);
