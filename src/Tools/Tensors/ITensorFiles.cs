namespace AgentForge.Tools.Tensors;

/// <summary>An open tensor file (memory-mapped where possible); tensors stay valid until disposal.</summary>
public interface ITensorFileReader : IDisposable
{
    IReadOnlyList<string> Names { get; }

    HostTensor? Find(string name);
}

/// <summary>How processes exchange tensors on disk (safetensors in practice).</summary>
public interface ITensorFiles
{
    ITensorFileReader OpenRead(string path);

    void Write(string path, IReadOnlyList<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null);
}
