namespace AgentForge.Tools.Trace;

public sealed record SourceFile(string Path, string Content);

public sealed record BuildSpec(
    string Language,
    IReadOnlyList<string> TargetHardware,
    string EntryPoint,
    IReadOnlyList<string> Dependencies,
    bool DestinationPassingStyle = true,
    string? Binding = null);

/// <summary>A FlashInfer-Bench solution: sources plus how to build and call them.</summary>
public sealed record Solution(
    string Name,
    string Definition,
    string Author,
    BuildSpec Spec,
    IReadOnlyList<SourceFile> Sources,
    string? Description = null);
