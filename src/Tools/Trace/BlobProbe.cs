namespace AgentForge.Tools.Trace;

/// <summary>What an <see cref="IBlobInspector"/> found.</summary>
public abstract record BlobProbe
{
    private BlobProbe()
    {
    }

    /// <summary>The tensor exists; <paramref name="DType"/> is the header's spelling (BF16, I32, ...).</summary>
    public sealed record Found(IReadOnlyList<long> Shape, string DType) : BlobProbe;

    public sealed record KeyMissing(IReadOnlyList<string> AvailableKeys) : BlobProbe;

    /// <summary>Not a readable safetensors file (truncated header, bad JSON, ...).</summary>
    public sealed record Unreadable(string Reason) : BlobProbe;
}
