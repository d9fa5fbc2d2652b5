using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>run.json: how the run was started and where it ran.</summary>
public sealed record RunInfo(
    string Id,
    string Track,
    IReadOnlyList<string> Definitions,
    IReadOnlyList<string> CommandLine,
    EvolutionOptions Options,
    ulong Seed,
    string Generator,
    string GitCommit,
    RunEnvironment Environment,
    DateTimeOffset Started);

/// <summary>
/// A run folder (ARCHITECTURE.md, "Run history"): runs/&lt;utc-stamp&gt;-&lt;track&gt;/ with run.json,
/// events.jsonl, traces.jsonl, archive.json, candidates/, best/, report.md and progress.png.
/// Events are appended and flushed to disk one by one, so a kill loses at most the line being
/// written; <see cref="ReadEvents"/> skips such a torn last line.
/// </summary>
public sealed class RunStore : IDisposable
{
    public const string RunFile = "run.json";
    public const string EventsFile = "events.jsonl";
    public const string TracesFile = "traces.jsonl";
    public const string ArchiveFile = "archive.json";
    public const string ReportFile = "report.md";
    public const string PlotFile = "progress.png";

    private readonly object writeLock = new();
    private FileStream? events;

    private RunStore(string root) => Root = root;

    public string Root { get; }

    public string Id => Path.GetFileName(Root);

    public string EventsPath => Path.Combine(Root, EventsFile);

    /// <summary>Called after every appended event (progress output).</summary>
    public Action<RunEvent>? Appended { get; set; }

    public static string NewId(DateTimeOffset now, string track) =>
        $"{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}-{track}";

    /// <summary>A new run folder under <paramref name="runsRoot"/>; a second run in the same second gets a suffix.</summary>
    public static RunStore Create(string runsRoot, string track, DateTimeOffset now)
    {
        var id = NewId(now, track);
        var root = Path.Combine(runsRoot, id);
        for (var n = 2; Directory.Exists(root); n++)
        {
            root = Path.Combine(runsRoot, $"{id}-{n}");
        }
        Directory.CreateDirectory(root);
        return new RunStore(Path.GetFullPath(root));
    }

    /// <summary>An existing run folder to read (a live run may be writing it: nothing is repaired).</summary>
    public static RunStore OpenForReading(string root) => new(Path.GetFullPath(root));

    /// <summary>An existing run folder to resume: a torn last line, left by a kill, is dropped first.</summary>
    public static RunStore Open(string root)
    {
        var store = new RunStore(Path.GetFullPath(root));
        if (File.Exists(store.EventsPath))
        {
            DropTornTail(store.EventsPath);
        }
        return store;
    }

    /// <summary>A run folder named by path, by id, or by a unique prefix of an id under <paramref name="runsRoot"/>.</summary>
    public static string? Resolve(string runsRoot, string name, out string? error)
    {
        error = null;
        if (Directory.Exists(name) && File.Exists(Path.Combine(name, EventsFile)))
        {
            return Path.GetFullPath(name);
        }
        if (!Directory.Exists(runsRoot))
        {
            error = $"no runs folder at {Path.GetFullPath(runsRoot)}";
            return null;
        }
        var matches = Directory.GetDirectories(runsRoot)
            .Where(d => File.Exists(Path.Combine(d, EventsFile)))
            .Where(d => Path.GetFileName(d).StartsWith(name, StringComparison.Ordinal))
            .ToList();
        var exact = matches.FirstOrDefault(d => Path.GetFileName(d) == name);
        if (exact is not null)
        {
            return Path.GetFullPath(exact);
        }
        if (matches.Count == 1)
        {
            return Path.GetFullPath(matches[0]);
        }
        error = matches.Count == 0 ? $"no run '{name}' in {Path.GetFullPath(runsRoot)}" : $"'{name}' matches {matches.Count} runs; give more of the id";
        return null;
    }

    public void WriteRunInfo(RunInfo info) =>
        WriteAtomically(Path.Combine(Root, RunFile), JsonSerializer.Serialize(info, EvolutionJsonContext.Indented.RunInfo));

    public RunInfo? ReadRunInfo()
    {
        var path = Path.Combine(Root, RunFile);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), EvolutionJsonContext.Default.RunInfo) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Appends one event and flushes it to disk before returning.</summary>
    public void Append(RunEvent item)
    {
        var line = JsonSerializer.Serialize(item, EvolutionJsonContext.Compact.RunEvent);
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (writeLock)
        {
            events ??= new FileStream(EventsPath, FileMode.Append, FileAccess.Write, FileShare.Read);
            events.Write(bytes);
            events.Flush(flushToDisk: true);
        }
        Appended?.Invoke(item);
    }

    /// <summary>Every readable event in order, and how many lines could not be read (a torn last line after a kill).</summary>
    public static (IReadOnlyList<RunEvent> Events, int BadLines) ReadEvents(string path)
    {
        var list = new List<RunEvent>();
        var bad = 0;
        if (!File.Exists(path))
        {
            return (list, 0);
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            try
            {
                if (JsonSerializer.Deserialize(line, EvolutionJsonContext.Default.RunEvent) is { } item)
                {
                    list.Add(item);
                }
            }
            catch (JsonException)
            {
                bad++;
            }
        }
        return (list, bad);
    }

    public IReadOnlyList<RunEvent> ReadEvents() => ReadEvents(EventsPath).Events;

    public void AppendTraces(IEnumerable<string> lines)
    {
        var text = string.Concat(lines.Select(l => l + "\n"));
        if (text.Length == 0)
        {
            return;
        }
        lock (writeLock)
        {
            File.AppendAllText(Path.Combine(Root, TracesFile), text);
        }
    }

    public string CandidateFolder(string id) => Path.Combine(Root, "candidates", id);

    /// <summary>candidates/&lt;id&gt;/: the sources as files, candidate.json, and the prompt and reply when a model wrote it.</summary>
    public void WriteCandidate(Candidate candidate)
    {
        var folder = CandidateFolder(candidate.Id);
        Directory.CreateDirectory(folder);
        foreach (var source in candidate.Source.Sources)
        {
            var path = SafeJoin(Path.Combine(folder, "sources"), source.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, source.Content);
        }
        WriteAtomically(Path.Combine(folder, "candidate.json"), JsonSerializer.Serialize(candidate.Source, EvolutionJsonContext.Indented.CandidateSource));
        if (candidate.Prompt is { } prompt)
        {
            File.WriteAllText(Path.Combine(folder, "prompt.md"), prompt);
        }
        if (candidate.Reply is { } reply)
        {
            File.WriteAllText(Path.Combine(folder, "reply.md"), reply);
        }
    }

    public void WriteCandidateFile(string id, string name, string text)
    {
        var folder = CandidateFolder(id);
        Directory.CreateDirectory(folder);
        WriteAtomically(Path.Combine(folder, name), text);
    }

    public void WriteArchive(ArchiveSnapshot snapshot) =>
        WriteAtomically(Path.Combine(Root, ArchiveFile), JsonSerializer.Serialize(snapshot, EvolutionJsonContext.Indented.ArchiveSnapshot));

    public void WriteSolution(Solution solution)
    {
        var folder = Path.Combine(Root, "best", solution.Definition);
        Directory.CreateDirectory(folder);
        WriteAtomically(Path.Combine(folder, "solution.json"), TraceJson.WriteSolution(solution));
    }

    /// <summary>Whole-file writes go through a temporary file, so a reader never sees half a file.</summary>
    public static void WriteAtomically(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    public void Dispose()
    {
        lock (writeLock)
        {
            events?.Dispose();
            events = null;
        }
    }

    /// <summary>A candidate-relative path under <paramref name="root"/>; absolute paths and ".." are refused (a model wrote them).</summary>
    public static string SafeJoin(string root, string relative)
    {
        if (string.IsNullOrWhiteSpace(relative) || Path.IsPathRooted(relative) || relative.Split('/', '\\').Contains(".."))
        {
            throw new ArgumentException($"source path '{relative}' must be relative and must not contain '..'");
        }
        return Path.Combine(root, relative);
    }

    private static void DropTornTail(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        if (stream.Length == 0)
        {
            return;
        }
        // A kill while a line was being written leaves it without its newline: cut back to the last one.
        var position = stream.Length;
        var buffer = new byte[1];
        while (position > 0)
        {
            stream.Position = position - 1;
            stream.ReadExactly(buffer);
            if (buffer[0] == (byte)'\n')
            {
                break;
            }
            position--;
        }
        if (position != stream.Length)
        {
            stream.SetLength(position);
        }
    }
}
