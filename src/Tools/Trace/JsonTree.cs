using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgentForge.Tools.Trace;

internal enum JsonKind
{
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// <summary>
/// A parsed JSON value that remembers its 1-based line in the source file. System.Text.Json's
/// DOMs drop positions, and a field error is only useful when it says where the field is.
/// Numbers keep their source text so that 1.0 stays a float and 192 an integer.
/// </summary>
internal sealed class JsonTree
{
    private JsonTree(JsonKind kind, int line)
    {
        Kind = kind;
        Line = line;
    }

    public JsonKind Kind { get; }

    public int Line { get; }

    /// <summary>A string's value, or a number's source text.</summary>
    public string? Text { get; private init; }

    public IReadOnlyList<KeyValuePair<string, JsonTree>> Properties { get; private init; } = [];

    public IReadOnlyList<JsonTree> Items { get; private init; } = [];

    public JsonTree? this[string key]
    {
        get
        {
            foreach (var property in Properties)
            {
                if (property.Key == key)
                {
                    return property.Value;
                }
            }
            return null;
        }
    }

    /// <summary>True for a number written with a fraction or an exponent (Python's float).</summary>
    public bool IsFloatLiteral => Kind == JsonKind.Number && Text!.AsSpan().IndexOfAny(".eE") >= 0;

    /// <summary>How the value reads in an error message.</summary>
    public string Describe() => Kind switch
    {
        JsonKind.Object => "an object",
        JsonKind.Array => "an array",
        JsonKind.String => $"the string \"{(Text!.Length <= 40 ? Text : Text[..40] + "...")}\"",
        JsonKind.Number => $"the number {Text}",
        JsonKind.True => "true",
        JsonKind.False => "false",
        _ => "null",
    };

    /// <summary>
    /// Parses one JSON document. <paramref name="firstLine"/> is the 1-based line of the first byte
    /// in <paramref name="file"/> (a .jsonl record starts on its own line).
    /// </summary>
    public static DataResult<JsonTree> Parse(ReadOnlySpan<byte> utf8, string file, int firstLine)
    {
        if (utf8.StartsWith("\uFEFF"u8))
        {
            utf8 = utf8[3..];
        }
        var parser = new Parser(file, LineStarts(utf8), firstLine);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            reader.Read();
            var root = parser.ReadValue(ref reader, "");
            parser.Path = "";
            // Reading past the root value is what makes the reader reject trailing content.
            reader.Read();
            return parser.Errors.Count == 0 ? DataResult<JsonTree>.Ok(root) : DataResult<JsonTree>.Fail(parser.Errors);
        }
        catch (JsonException e)
        {
            var line = firstLine + (int)(e.LineNumber ?? 0);
            var column = (e.BytePositionInLine ?? 0) + 1;
            return DataResult<JsonTree>.Fail(new DataError(file, line, FieldLabel(parser.Path), $"malformed JSON: {StripPosition(e.Message)} (column {column})"));
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader reports invalid UTF-8 inside a string this way.
            return DataResult<JsonTree>.Fail(new DataError(file, parser.LastLine, FieldLabel(parser.Path), $"malformed JSON: {e.Message}"));
        }
    }

    /// <summary>The label of a field path in an error; the document itself has an empty path.</summary>
    public static string FieldLabel(string path) => path.Length == 0 ? "(document)" : path;

    private static string StripPosition(string message)
    {
        var at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at >= 0 ? message[..at] : message).TrimEnd('.', ' ');
    }

    private static int[] LineStarts(ReadOnlySpan<byte> utf8)
    {
        var starts = new List<int> { 0 };
        for (var i = utf8.IndexOf((byte)'\n'); i >= 0;)
        {
            starts.Add(i + 1);
            var next = utf8[(i + 1)..].IndexOf((byte)'\n');
            i = next < 0 ? -1 : i + 1 + next;
        }
        return [.. starts];
    }

    private sealed class Parser(string file, int[] lineStarts, int firstLine)
    {
        private int lastLine;

        public List<DataError> Errors { get; } = [];

        /// <summary>Path of the value being read, so a syntax error can name the field it broke in.</summary>
        public string Path { get; set; } = "";

        public int LastLine => Math.Max(lastLine, firstLine);

        private int LineAt(long offset)
        {
            var index = Array.BinarySearch(lineStarts, (int)offset);
            lastLine = firstLine + (index >= 0 ? index : ~index - 1);
            return lastLine;
        }

        public JsonTree ReadValue(ref Utf8JsonReader reader, string path)
        {
            Path = path;
            var line = LineAt(reader.TokenStartIndex);
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                {
                    var properties = new List<KeyValuePair<string, JsonTree>>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        var name = reader.GetString()!;
                        var nameLine = LineAt(reader.TokenStartIndex);
                        var childPath = Join(path, name);
                        Path = childPath;
                        reader.Read();
                        var value = ReadValue(ref reader, childPath);
                        if (properties.Exists(p => p.Key == name))
                        {
                            Errors.Add(new DataError(file, nameLine, childPath, "duplicate key"));
                        }
                        else
                        {
                            properties.Add(new(name, value));
                        }
                    }
                    Path = path;
                    return new JsonTree(JsonKind.Object, line) { Properties = properties };
                }
                case JsonTokenType.StartArray:
                {
                    var items = new List<JsonTree>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        items.Add(ReadValue(ref reader, $"{path}[{items.Count}]"));
                    }
                    Path = path;
                    return new JsonTree(JsonKind.Array, line) { Items = items };
                }
                case JsonTokenType.String:
                    return new JsonTree(JsonKind.String, line) { Text = reader.GetString() };
                case JsonTokenType.Number:
                    return new JsonTree(JsonKind.Number, line) { Text = Encoding.UTF8.GetString(reader.ValueSpan) };
                case JsonTokenType.True:
                    return new JsonTree(JsonKind.True, line);
                case JsonTokenType.False:
                    return new JsonTree(JsonKind.False, line);
                default:
                    return new JsonTree(JsonKind.Null, line);
            }
        }
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    /// <summary>Converts to a System.Text.Json node, for free-form payloads such as correctness extras.</summary>
    public System.Text.Json.Nodes.JsonNode? ToJsonNode() => Kind switch
    {
        JsonKind.Object => new System.Text.Json.Nodes.JsonObject(Properties.Select(p => KeyValuePair.Create(p.Key, p.Value.ToJsonNode()))),
        JsonKind.Array => new System.Text.Json.Nodes.JsonArray([.. Items.Select(i => i.ToJsonNode())]),
        JsonKind.String => System.Text.Json.Nodes.JsonValue.Create(Text),
        JsonKind.Number => IsFloatLiteral
            ? System.Text.Json.Nodes.JsonValue.Create(double.Parse(Text!, CultureInfo.InvariantCulture))
            : long.TryParse(Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)
                ? System.Text.Json.Nodes.JsonValue.Create(integer)
                : System.Text.Json.Nodes.JsonValue.Create(double.Parse(Text!, CultureInfo.InvariantCulture)),
        JsonKind.True => System.Text.Json.Nodes.JsonValue.Create(true),
        JsonKind.False => System.Text.Json.Nodes.JsonValue.Create(false),
        _ => null,
    };
}
