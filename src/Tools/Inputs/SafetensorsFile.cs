using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// A safetensors file opened for reading: the header is validated up front, then the file is
/// memory-mapped and every tensor is a zero-copy <see cref="HostTensor"/> view of the mapping.
/// Views stay valid until <see cref="Dispose"/>; after it they throw instead of reading freed
/// memory. Copy a tensor (<see cref="ReadCopy"/>) to keep it beyond the file's lifetime.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly MappedFile? _mapping;

    private SafetensorsFile(string path, SafetensorsHeader header, MappedFile? mapping)
    {
        Path = path;
        Header = header;
        _mapping = mapping;
    }

    public string Path { get; }

    public SafetensorsHeader Header { get; }

    public IReadOnlyList<SafetensorsEntry> Entries => Header.Entries;

    public IReadOnlyDictionary<string, string> Metadata => Header.Metadata;

    /// <summary>
    /// Opens and validates <paramref name="path"/>. A missing, truncated or corrupt file is a
    /// <see cref="DataError"/> naming the file and what is wrong; I/O failures other than a missing
    /// file (permissions, a broken disk) are exceptions.
    /// </summary>
    public static DataResult<SafetensorsFile> Open(string path)
    {
        SafetensorsHeader header;
        long fileLength;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
            fileLength = stream.Length;
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
            var size = SafetensorsHeader.ReadHeaderSize(prefix, fileLength, path);
            if (!size.IsOk)
            {
                return size.Error;
            }
            var json = new byte[size.Value];
            stream.ReadExactly(json);
            var parsed = SafetensorsHeader.Parse(json, fileLength - 8 - size.Value, path);
            if (!parsed.IsOk)
            {
                return parsed.Error;
            }
            header = parsed.Value;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new DataError(path, null, "file", "not found");
        }
        // A file whose tensors are all empty may be too short to be worth mapping.
        var mapping = header.Entries.Any(e => e.ByteLength > 0) ? new MappedFile(path, fileLength) : null;
        return DataResult<SafetensorsFile>.Ok(new SafetensorsFile(path, header, mapping));
    }

    public SafetensorsEntry? Find(string name) => Header.Find(name);

    /// <summary>A zero-copy view of tensor <paramref name="name"/>, or null when the file has no such tensor.</summary>
    public HostTensor? Read(string name)
    {
        var entry = Find(name);
        if (entry is null)
        {
            return null;
        }
        if (entry.ByteLength > Array.MaxLength)
        {
            throw new NotSupportedException($"{Path}: tensor '{name}' has {entry.ByteLength} bytes, more than one host view can address");
        }
        var bytes = entry.ByteLength == 0 || _mapping is null
            ? ReadOnlyMemory<byte>.Empty
            : (ReadOnlyMemory<byte>)_mapping.View(Header.DataStart + entry.Begin, (int)entry.ByteLength);
        return new HostTensor(entry.DType, (long[])entry.Shape.Clone(), bytes);
    }

    /// <summary>Tensor <paramref name="name"/> copied to managed memory, independent of this file.</summary>
    public HostTensor? ReadCopy(string name)
    {
        var view = Read(name);
        return view is null ? null : view with { Bytes = view.Bytes.ToArray() };
    }

    public void Dispose() => _mapping?.Dispose();
}
