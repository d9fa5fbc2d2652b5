using System.Text;

namespace AgentForge.Tools.Trace;

/// <summary>
/// Where traces go in a FlashInfer-Trace dataset: <c>traces/&lt;author&gt;/&lt;op_type&gt;/&lt;definition&gt;.jsonl</c>
/// under the dataset root, the file FlashInfer-Bench's TraceSet.add_traces appends to (author of
/// the evaluated solution), so its loaders and reports read AgentForge's traces as their own.
/// </summary>
public static class TraceLayout
{
    public const string TracesFolder = "traces";

    /// <summary>
    /// The .jsonl file of one author's traces of one definition under <paramref name="root"/> (a
    /// dataset root, which holds traces/). Each name becomes one path component: one that is
    /// empty, "." or "..", or holds a path separator, throws (see <see cref="CheckComponent"/>).
    /// </summary>
    public static string PathFor(string root, string author, string opType, string definitionName)
    {
        foreach (var (value, what) in new[] { (author, "author"), (opType, "op_type"), (definitionName, "definition") })
        {
            if (CheckComponent(value) is { } problem)
            {
                throw new ArgumentException($"{what} '{value}' {problem}", what);
            }
        }
        return Path.Combine(root, TracesFolder, author, opType, definitionName + ".jsonl");
    }

    /// <summary>Why a name cannot be a path component of the layout, or null when it can.</summary>
    public static string? CheckComponent(string name) => name switch
    {
        "" => "is empty",
        "." or ".." => "is not a folder name",
        _ when name.IndexOfAny(['/', '\\', '\0']) >= 0 => "contains a path separator",
        _ => null,
    };

    /// <summary>
    /// Appends traces, one compact JSON object per line (non-finite numbers as "NaN"/"Infinity"),
    /// creating the folders; lines go out in one write so concurrent appenders do not interleave
    /// within a line. Returns the file written.
    /// </summary>
    public static string Append(string root, string author, Definition definition, IEnumerable<Trace> traces)
    {
        var path = PathFor(root, author, definition.OpType, definition.Name);
        AppendLines(path, traces);
        return path;
    }

    /// <summary>Appends traces to a .jsonl file (any layout), creating its folder.</summary>
    public static void AppendLines(string path, IEnumerable<Trace> traces)
    {
        var text = new StringBuilder();
        foreach (var trace in traces)
        {
            text.Append(TraceJson.WriteTrace(trace)).Append('\n');
        }
        if (text.Length == 0)
        {
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.Write(bytes);
    }
}
