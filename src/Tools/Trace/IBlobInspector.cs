namespace AgentForge.Tools.Trace;

/// <summary>
/// Reads what a safetensors blob holds under a key, from its header only. Implemented next to the
/// safetensors reader (Inputs); the dataset only compares the answer with the definition, so every
/// blob error reads the same whoever inspects the file.
/// </summary>
public interface IBlobInspector
{
    /// <summary>Describes <paramref name="tensorKey"/> in the existing file <paramref name="fullPath"/>.</summary>
    BlobProbe Probe(string fullPath, string tensorKey);
}

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
