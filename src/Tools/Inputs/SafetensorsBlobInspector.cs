using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>Answers the dataset loader's blob questions from safetensors headers (no data read).</summary>
public sealed class SafetensorsBlobInspector : IBlobInspector
{
    public static SafetensorsBlobInspector Instance { get; } = new();

    public BlobProbe Probe(string fullPath, string tensorKey)
    {
        var opened = SafetensorsFile.Open(fullPath);
        if (!opened.IsOk)
        {
            return new BlobProbe.Unreadable(opened.Error.Message);
        }
        using var file = opened.Value;
        var entry = file.Find(tensorKey);
        return entry is null
            ? new BlobProbe.KeyMissing(file.Entries.Select(e => e.Name).ToList())
            : new BlobProbe.Found(entry.Shape, entry.DType.SafetensorsName());
    }
}
