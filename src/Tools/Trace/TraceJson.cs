using System.Security.Cryptography;
using System.Text;

namespace AgentForge.Tools.Trace;

/// <summary>
/// Reads and writes FlashInfer-Trace JSON: definitions and solutions (one pretty-printed document
/// per file), workloads and traces (one compact object per .jsonl line). Reads return located
/// <see cref="DataError"/>s; writes follow FlashInfer-Bench's key order.
/// </summary>
public static class TraceJson
{
    public static DataResult<Definition> ReadDefinition(string json, string file) =>
        Read(Encoding.UTF8.GetBytes(json), file, 1, (r, tree) => r.ReadDefinition(tree, ""));

    public static DataResult<Definition> ReadDefinitionFile(string path) =>
        ReadFile(path, bytes => Read(bytes, path, 1, (r, tree) => r.ReadDefinition(tree, "")));

    public static DataResult<Solution> ReadSolution(string json, string file) =>
        Read(Encoding.UTF8.GetBytes(json), file, 1, (r, tree) => r.ReadSolution(tree, ""));

    public static DataResult<Solution> ReadSolutionFile(string path) =>
        ReadFile(path, bytes => Read(bytes, path, 1, (r, tree) => r.ReadSolution(tree, "")));

    /// <summary>A bare workload object (the "workload" of a trace line).</summary>
    public static DataResult<Workload> ReadWorkload(string json, string file, int line = 1) =>
        Read(Encoding.UTF8.GetBytes(json), file, line, (r, tree) => r.ReadWorkload(tree, ""));

    /// <summary>One .jsonl line; <paramref name="line"/> is its 1-based number in <paramref name="file"/>.</summary>
    public static DataResult<Trace> ReadTrace(string jsonLine, string file, int line) =>
        Read(Encoding.UTF8.GetBytes(jsonLine), file, line, (r, tree) => r.ReadTrace(tree, ""));

    /// <summary>
    /// Every trace of a .jsonl file (a workloads file holds traces without solution and evaluation).
    /// Blank lines are skipped, as FlashInfer-Bench does; a bad line costs only itself.
    /// </summary>
    public static (IReadOnlyList<TraceEntry> Traces, IReadOnlyList<DataError> Errors) ReadTraceFile(string path)
    {
        var traces = new List<TraceEntry>();
        var errors = new List<DataError>();
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (traces, [new DataError(path, null, "(file)", e.Message)]);
        }
        var rest = bytes.AsMemory();
        for (var line = 1; !rest.IsEmpty; line++)
        {
            var end = rest.Span.IndexOf((byte)'\n');
            var text = end < 0 ? rest : rest[..end];
            rest = end < 0 ? Memory<byte>.Empty : rest[(end + 1)..];
            if (text.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }
            var result = Read(text.Span, path, line, (r, tree) => r.ReadTrace(tree, ""));
            if (result.IsOk)
            {
                traces.Add(new TraceEntry(result.Value, path, line));
            }
            else
            {
                errors.AddRange(result.Errors);
            }
        }
        return (traces, errors);
    }

    /// <summary>Pretty-printed with 2-space indentation, as FlashInfer-Bench saves a definition.</summary>
    public static string WriteDefinition(Definition definition) =>
        TraceJsonWriter.Write(indented: true, w => TraceJsonWriter.Definition(w, definition));

    public static string WriteSolution(Solution solution) =>
        TraceJsonWriter.Write(indented: true, w => TraceJsonWriter.Solution(w, solution));

    public static string WriteWorkload(Workload workload) =>
        TraceJsonWriter.Write(indented: false, w => TraceJsonWriter.Workload(w, workload));

    /// <summary>One compact line without the trailing newline, ready to append to a .jsonl file.</summary>
    public static string WriteTrace(Trace trace) =>
        TraceJsonWriter.Write(indented: false, w => TraceJsonWriter.Trace(w, trace));

    /// <summary>
    /// SHA-256 (lowercase hex) of the definition as <see cref="WriteDefinition"/> writes it: equal
    /// definitions hash equally whatever the key order or whitespace of their files. A cache key.
    /// </summary>
    public static string DefinitionHash(Definition definition) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(WriteDefinition(definition))));

    private static DataResult<T> ReadFile<T>(string path, Func<byte[], DataResult<T>> read)
        where T : class
    {
        try
        {
            return read(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return DataResult<T>.Fail(new DataError(path, null, "(file)", e.Message));
        }
    }

    private static DataResult<T> Read<T>(ReadOnlySpan<byte> utf8, string file, int line, Func<TraceJsonReader, JsonTree, T?> map)
        where T : class
    {
        var tree = JsonTree.Parse(utf8, file, line);
        if (!tree.IsOk)
        {
            return DataResult<T>.Fail(tree.Errors);
        }
        var reader = new TraceJsonReader(file);
        var value = map(reader, tree.Value);
        return reader.Errors.Count > 0 || value is null
            ? DataResult<T>.Fail(reader.Errors)
            : DataResult<T>.Ok(value);
    }
}
