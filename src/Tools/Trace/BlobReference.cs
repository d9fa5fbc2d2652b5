namespace AgentForge.Tools.Trace;

/// <summary>
/// A workload input read from a safetensors blob, with everything needed to check the blob
/// without re-reading the workload: the file as written and as resolved, the tensor it must hold,
/// and where the reference sits in the dataset (for "file:line: field: message" errors).
/// </summary>
public sealed record BlobReference(
    string DefinitionName,
    string WorkloadUuid,
    string InputName,
    string Path,
    string FullPath,
    string TensorKey,
    IReadOnlyList<long> Shape,
    DType DType,
    string SourceFile,
    int SourceLine)
{
    /// <summary>Field path of the input in its trace line.</summary>
    public string Field => $"workload.inputs.{InputName}";

    public DataError Error(string subfield, string message) =>
        new(SourceFile, SourceLine, subfield.Length == 0 ? Field : $"{Field}.{subfield}", message);

    public bool Equals(BlobReference? other) =>
        other is not null
        && DefinitionName == other.DefinitionName
        && WorkloadUuid == other.WorkloadUuid
        && InputName == other.InputName
        && Path == other.Path
        && FullPath == other.FullPath
        && TensorKey == other.TensorKey
        && Structural.ListEqual(Shape, other.Shape)
        && DType == other.DType
        && SourceFile == other.SourceFile
        && SourceLine == other.SourceLine;

    public override int GetHashCode() => HashCode.Combine(FullPath, TensorKey, SourceLine);
}
