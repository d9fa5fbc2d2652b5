using AgentForge.Tools.Tensors;

namespace AgentForge.Tools.Inputs;

/// <summary><see cref="ITensorFiles"/> over safetensors: memory-mapped reads, atomic writes.</summary>
public sealed class SafetensorsTensorFiles : ITensorFiles
{
    public static SafetensorsTensorFiles Instance { get; } = new();

    public ITensorFileReader OpenRead(string path)
    {
        var opened = SafetensorsFile.Open(path);
        return opened.IsOk
            ? new Reader(opened.Value)
            : throw new InvalidDataException(opened.Error.ToString());
    }

    public void Write(string path, IReadOnlyList<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        SafetensorsWriter.WriteFile(path, tensors, metadata, overwrite: true);
    }

    private sealed class Reader(SafetensorsFile file) : ITensorFileReader
    {
        public IReadOnlyList<string> Names => file.Entries.Select(e => e.Name).ToList();

        public HostTensor? Find(string name) => file.Find(name) is null ? null : file.Read(name);

        public void Dispose() => file.Dispose();
    }
}
