using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// manifest.json of a solution folder (what `agentforge extract` writes and `pack --solution`
/// reads); every field is optional. <paramref name="Entry"/> is the kernel's entry function
/// (default "run"), <paramref name="Target"/> "portable" or an architecture-specific target such
/// as "sm_90a", <paramref name="Binding"/> the binding it was last packed with (informative),
/// <paramref name="Flags"/> compiler flags the kernel needs (packing refuses them),
/// <paramref name="Defines"/> tuned values to write into the sources.
/// </summary>
public sealed record SolutionManifest(
    string? Name = null,
    string? Definition = null,
    string? Author = null,
    string? Description = null,
    string? Entry = null,
    string? Target = null,
    string? Binding = null,
    IReadOnlyList<string>? Flags = null,
    IReadOnlyDictionary<string, string>? Defines = null)
{
    public const string Portable = "portable";

    public static DataResult<SolutionManifest> Read(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new DataError(path, null, "(manifest)", "must be a JSON object");
            }
            var errors = new List<DataError>();
            string? Text(string key)
            {
                if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
                {
                    return null;
                }
                if (value.ValueKind != JsonValueKind.String)
                {
                    errors.Add(new DataError(path, null, key, $"must be a string, found {value.ValueKind}"));
                    return null;
                }
                return value.GetString();
            }
            var flags = new List<string>();
            if (root.TryGetProperty("flags", out var flagsNode) && flagsNode.ValueKind != JsonValueKind.Null)
            {
                if (flagsNode.ValueKind != JsonValueKind.Array || flagsNode.EnumerateArray().Any(f => f.ValueKind != JsonValueKind.String))
                {
                    errors.Add(new DataError(path, null, "flags", "must be a list of strings"));
                }
                else
                {
                    flags.AddRange(flagsNode.EnumerateArray().Select(f => f.GetString()!));
                }
            }
            var defines = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("defines", out var definesNode) && definesNode.ValueKind != JsonValueKind.Null)
            {
                if (definesNode.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(new DataError(path, null, "defines", "must be an object of NAME: value"));
                }
                else
                {
                    foreach (var define in definesNode.EnumerateObject())
                    {
                        defines[define.Name] = define.Value.ValueKind == JsonValueKind.String ? define.Value.GetString()! : define.Value.GetRawText();
                    }
                }
            }
            var manifest = new SolutionManifest(Text("name"), Text("definition"), Text("author"), Text("description"), Text("entry"), Text("target"), Text("binding"), flags, defines);
            if (manifest.Entry is { } entry && !IsIdentifier(entry))
            {
                errors.Add(new DataError(path, null, "entry", $"'{entry}' is not a C++ function name"));
            }
            if (manifest.Target is { } target && target != Portable && !PackedSolution.IsArchSpecificTarget(target) && !target.StartsWith("sm_", StringComparison.Ordinal))
            {
                errors.Add(new DataError(path, null, "target", $"'{target}' is neither \"portable\" nor an sm_XY target"));
            }
            return errors.Count > 0 ? DataResult<SolutionManifest>.Fail(errors) : DataResult<SolutionManifest>.Ok(manifest);
        }
        catch (JsonException e)
        {
            return new DataError(path, (int?)e.LineNumber + 1, "(manifest)", e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new DataError(path, null, "(file)", e.Message);
        }
    }

    /// <summary>Pretty-printed, keys in declaration order; empty flags and defines left out.</summary>
    public string Write()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 2, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            void Text(string key, string? value)
            {
                if (value is not null)
                {
                    w.WriteString(key, value);
                }
            }
            Text("name", Name);
            Text("definition", Definition);
            Text("author", Author);
            Text("description", Description);
            Text("entry", Entry);
            Text("target", Target);
            Text("binding", Binding);
            if (Flags is { Count: > 0 })
            {
                w.WriteStartArray("flags");
                foreach (var flag in Flags)
                {
                    w.WriteStringValue(flag);
                }
                w.WriteEndArray();
            }
            if (Defines is { Count: > 0 })
            {
                w.WriteStartObject("defines");
                foreach (var (name, value) in Defines.OrderBy(d => d.Key, StringComparer.Ordinal))
                {
                    w.WriteString(name, value);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    private static bool IsIdentifier(string text) =>
        text.Length > 0 && (char.IsLetter(text[0]) || text[0] == '_') && text.All(CppSource.IsIdentifierChar);
}
