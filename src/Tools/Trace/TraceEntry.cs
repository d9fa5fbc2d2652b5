namespace AgentForge.Tools.Trace;

/// <summary>A trace as loaded from a .jsonl file, with where it came from for error messages.</summary>
public sealed record TraceEntry(Trace Trace, string SourceFile, int SourceLine);
