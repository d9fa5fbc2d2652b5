namespace AgentForge.Tools.Trace;

public sealed record SourceFile(string Path, string Content);

public sealed record BuildSpec(
    string Language,
    IReadOnlyList<string> TargetHardware,
    string EntryPoint,
    IReadOnlyList<string> Dependencies,
    bool DestinationPassingStyle = true,
    string? Binding = null)
{
    public bool Equals(BuildSpec? other) =>
        other is not null
        && Language == other.Language
        && Structural.ListEqual(TargetHardware, other.TargetHardware)
        && EntryPoint == other.EntryPoint
        && Structural.ListEqual(Dependencies, other.Dependencies)
        && DestinationPassingStyle == other.DestinationPassingStyle
        && Binding == other.Binding;

    public override int GetHashCode() => HashCode.Combine(Language, EntryPoint);
}

/// <summary>A FlashInfer-Bench solution: sources plus how to build and call them.</summary>
public sealed record Solution(
    string Name,
    string Definition,
    string Author,
    BuildSpec Spec,
    IReadOnlyList<SourceFile> Sources,
    string? Description = null)
{
    public bool Equals(Solution? other) =>
        other is not null
        && Name == other.Name
        && Definition == other.Definition
        && Author == other.Author
        && Spec.Equals(other.Spec)
        && Structural.ListEqual(Sources, other.Sources)
        && Description == other.Description;

    public override int GetHashCode() => HashCode.Combine(Name, Definition);
}
