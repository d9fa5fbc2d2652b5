using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// Writes safetensors files as huggingface/safetensors does: an 8-byte little-endian header size,
/// a compact JSON header (<c>__metadata__</c> first, then tensors) padded with spaces to a multiple
/// of 8 bytes, then the tensors' bytes back to back. Tensors are laid out by element size, largest
/// first, then by name (the reference writer's order), so every tensor starts at a multiple of its
/// element size and torch can view it in place without a copy.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>The tensors in the order their bytes are laid out.</summary>
    public static IReadOnlyList<KeyValuePair<string, HostTensor>> LayoutOrder(IEnumerable<KeyValuePair<string, HostTensor>> tensors) =>
        tensors
            .OrderByDescending(t => Math.Max(1, t.Value.DType.Bits() / 8))
            .ThenBy(t => t.Key, StringComparer.Ordinal)
            .ToList();

    /// <summary>The size prefix and padded JSON header for <paramref name="tensors"/>.</summary>
    public static byte[] EncodeHeader(IReadOnlyList<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Validate(tensors);
        var ordered = LayoutOrder(tensors);
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            var offset = 0L;
            foreach (var (name, tensor) in ordered)
            {
                var length = tensor.DType.ByteCount(tensor.ElementCount);
                writer.WriteStartObject(name);
                writer.WriteString("dtype", tensor.DType.SafetensorsName());
                writer.WriteStartArray("shape");
                foreach (var dim in tensor.Shape)
                {
                    writer.WriteNumberValue(dim);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += length;
            }
            writer.WriteEndObject();
        }
        var headerLength = (int)json.Length;
        var padded = (headerLength + 7) / 8 * 8;
        var result = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded);
        json.GetBuffer().AsSpan(0, headerLength).CopyTo(result.AsSpan(8));
        result.AsSpan(8 + headerLength).Fill((byte)' ');
        return result;
    }

    public static void Write(Stream stream, IReadOnlyList<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        stream.Write(EncodeHeader(tensors, metadata));
        foreach (var (_, tensor) in LayoutOrder(tensors))
        {
            stream.Write(tensor.Bytes.Span);
        }
    }

    /// <summary>
    /// Writes <paramref name="path"/> atomically: a temporary file in the same folder, flushed, then
    /// renamed, so a reader (another process mapping the file) never sees a partial file. With
    /// <paramref name="overwrite"/> false an existing file is left alone and false is returned,
    /// also when another writer wins the race.
    /// </summary>
    public static bool WriteFile(string path, IReadOnlyList<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null, bool overwrite = false)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!overwrite && File.Exists(full))
        {
            return false;
        }
        var folder = System.IO.Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temporary = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Write(stream, tensors, metadata);
                stream.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temporary, full, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(full))
            {
                return false;
            }
            return true;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    private static void Validate(IReadOnlyList<KeyValuePair<string, HostTensor>> tensors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name == SafetensorsHeader.MetadataKey || !names.Add(name))
            {
                throw new ArgumentException($"tensor name '{name}' is reserved or repeated", nameof(tensors));
            }
            var expected = tensor.DType.ByteCount(tensor.ElementCount);
            if (tensor.Bytes.Length != expected)
            {
                throw new ArgumentException(
                    $"tensor '{name}' has {tensor.Bytes.Length} bytes but {tensor.DType.Name()} {tensor.ShapeText} needs {expected}",
                    nameof(tensors));
            }
        }
    }
}
