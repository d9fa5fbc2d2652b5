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
