using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>One tensor of a safetensors header; offsets are relative to the start of the data section.</summary>
public sealed record SafetensorsEntry(string Name, DType DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// The parsed and validated header of a safetensors file, with the checks of the reference
/// implementation (huggingface/safetensors): the header starts with '{', is at most 100 MB of
/// UTF-8 JSON, every tensor's byte range matches its dtype and shape, and the ranges tile the data
/// section exactly (no overlap, no hole, nothing past the end, nothing left over).
/// </summary>
public sealed record SafetensorsHeader(
    IReadOnlyList<SafetensorsEntry> Entries,
    IReadOnlyDictionary<string, string> Metadata,
    long DataStart)
{
    /// <summary>The reference implementation's limit on the header size.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    public SafetensorsEntry? Find(string name) => Entries.FirstOrDefault(e => e.Name == name);

    /// <summary>Reads the 8-byte size prefix; the error says how much is missing from a truncated file.</summary>
    public static DataResult<long> ReadHeaderSize(ReadOnlySpan<byte> prefix, long fileLength, string path)
    {
        if (fileLength < 8)
        {
            return Error(path, "header", $"truncated: the file has {fileLength} bytes, fewer than the 8-byte header size");
        }
        var size = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (size > MaxHeaderBytes)
        {
            return Error(path, "header", $"header size {size} exceeds the {MaxHeaderBytes}-byte limit (not a safetensors file, or corrupt)");
        }
        if (8 + (long)size > fileLength)
        {
            return Error(path, "header", $"truncated: the header claims {size} bytes but only {fileLength - 8} follow the size");
        }
        return DataResult<long>.Ok((long)size);
    }

    /// <summary>Parses the JSON header and checks it against a data section of <paramref name="dataLength"/> bytes.</summary>
    public static DataResult<SafetensorsHeader> Parse(ReadOnlySpan<byte> json, long dataLength, string path)
    {
        if (json.Length == 0 || json[0] != (byte)'{')
        {
            return Error(path, "header", "the JSON header does not start with '{'");
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(json);
        }
        catch (DecoderFallbackException)
        {
            return Error(path, "header", "the header is not valid UTF-8");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            return Error(path, "header", $"the header is not valid JSON: {e.Message}");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Error(path, "header", "the header is not a JSON object");
            }
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<SafetensorsEntry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    return Error(path, property.Name, "the name appears twice in the header");
                }
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                    {
                        return Error(path, MetadataKey, "must be an object of strings");
                    }
                    foreach (var item in property.Value.EnumerateObject())
                    {
                        if (item.Value.ValueKind != JsonValueKind.String)
                        {
                            return Error(path, $"{MetadataKey}.{item.Name}", "metadata values must be strings");
                        }
                        metadata[item.Name] = item.Value.GetString()!;
                    }
                    continue;
                }
                var entry = ParseEntry(property, path);
                if (!entry.IsOk)
                {
                    return entry.Error;
                }
                entries.Add(entry.Value);
            }

            var layout = CheckLayout(entries, dataLength, path);
            if (layout is not null)
            {
                return layout;
            }
            return DataResult<SafetensorsHeader>.Ok(new SafetensorsHeader(entries, metadata, 8 + json.Length));
        }
    }

    private static DataResult<SafetensorsEntry> ParseEntry(JsonProperty property, string path)
    {
        var name = property.Name;
        var info = property.Value;
        if (info.ValueKind != JsonValueKind.Object)
        {
            return Error(path, name, "a tensor entry must be an object with dtype, shape and data_offsets");
        }
        if (!info.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            return Error(path, $"{name}.dtype", "missing or not a string");
        }
        var dtypeName = dtypeElement.GetString();
        if (!DTypes.TryParseSafetensorsName(dtypeName, out var dtype))
        {
            return Error(path, $"{name}.dtype", $"unknown or unsupported dtype '{dtypeName}'");
        }
        if (!info.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            return Error(path, $"{name}.shape", "missing or not an array");
        }
        var shape = new long[shapeElement.GetArrayLength()];
        var elements = 1L;
        var index = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var size) || size < 0)
            {
                return Error(path, $"{name}.shape", $"dimension {index} is not a non-negative integer");
            }
            shape[index++] = size;
            if (size != 0 && elements > long.MaxValue / 8 / size)
            {
                return Error(path, $"{name}.shape", "the element count overflows");
            }
            elements *= size;
        }
        if (!info.TryGetProperty("data_offsets", out var offsetsElement)
            || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
        {
            return Error(path, $"{name}.data_offsets", "missing or not a [begin, end] pair");
        }
        var begin = offsetsElement[0];
        var end = offsetsElement[1];
        if (!begin.TryGetInt64(out var b) || !end.TryGetInt64(out var e) || b < 0 || e < b)
        {
            return Error(path, $"{name}.data_offsets", "must be integers with 0 <= begin <= end");
        }
        if (elements * dtype.Bits() % 8 != 0)
        {
            // As the reference reader: packed sub-byte tensors must fill whole bytes.
            return Error(path, $"{name}.shape", $"{elements} elements of {dtype.SafetensorsName()} do not fill whole bytes");
        }
        var expected = dtype.ByteCount(elements);
        if (e - b != expected)
        {
            return Error(path, $"{name}.data_offsets",
                $"[{b}, {e}] spans {e - b} bytes but {dtype.SafetensorsName()} [{string.Join(", ", shape)}] needs {expected}");
        }
        return DataResult<SafetensorsEntry>.Ok(new SafetensorsEntry(name, dtype, shape, b, e));
    }

    private static DataError? CheckLayout(List<SafetensorsEntry> entries, long dataLength, string path)
    {
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        var expectedBegin = 0L;
        SafetensorsEntry? previous = null;
        foreach (var entry in sorted)
        {
            if (entry.Begin < expectedBegin)
            {
                return new DataError(path, null, $"{entry.Name}.data_offsets",
                    $"[{entry.Begin}, {entry.End}] overlaps tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            }
            if (entry.Begin > expectedBegin)
            {
                return new DataError(path, null, $"{entry.Name}.data_offsets",
                    $"a hole of {entry.Begin - expectedBegin} bytes precedes it (offsets must tile the data section)");
            }
            if (entry.End > dataLength)
            {
                return new DataError(path, null, $"{entry.Name}.data_offsets",
                    $"truncated: the tensor ends at byte {entry.End} of the data section, which has only {dataLength} bytes");
            }
            expectedBegin = entry.End;
            previous = entry;
        }
        if (expectedBegin != dataLength)
        {
            return new DataError(path, null, "data",
                $"{dataLength - expectedBegin} bytes after the last tensor belong to no tensor (corrupt or wrong header)");
        }
        return null;
    }

    private static DataError Error(string path, string field, string message) => new(path, null, field, message);
}
