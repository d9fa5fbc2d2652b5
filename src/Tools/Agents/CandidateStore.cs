using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Agents;

/// <summary>A candidate as kept by <see cref="CandidateStore"/> (the file format of candidates/&lt;id&gt;.json).</summary>
public sealed record StoredCandidate(string Id, string Definition, string EntrySymbol, TargetKind Target, IReadOnlyDictionary<string, string>? Defines, IReadOnlyList<SourceFile> Sources)
{
    public CandidateSource ToSource() => new($"agent-{Id}", Definition, Sources, EntrySymbol, Target, Defines);
}

/// <summary>
/// Candidate ids for the tools: content-addressed (the same sources, entry, target and defines
/// always get the same id) and kept on disk, so an id from `compile` works in a later call,
/// another `agentforge tools call` process or the MCP server alike.
/// </summary>
public sealed class CandidateStore(string directory)
{
    private readonly ConcurrentDictionary<string, StoredCandidate> known = new(StringComparer.Ordinal);

    public string Directory { get; } = directory;

    public static string IdOf(CandidateSource candidate)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }
        Add(candidate.DefinitionName);
        Add(candidate.EntrySymbol);
        Add(candidate.Target.ToString());
        foreach (var (name, value) in (candidate.Defines ?? new Dictionary<string, string>()).OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            Add(name);
            Add(value);
        }
        foreach (var source in candidate.Sources.OrderBy(s => s.Path, StringComparer.Ordinal))
        {
            Add(source.Path);
            Add(source.Content);
        }
        return "c" + Convert.ToHexStringLower(hash.GetHashAndReset())[..12];
    }

    /// <summary>Stores the candidate (idempotent) and returns its id.</summary>
    public StoredCandidate Add(CandidateSource candidate)
    {
        var id = IdOf(candidate);
        var stored = new StoredCandidate(id, candidate.DefinitionName, candidate.EntrySymbol, candidate.Target, candidate.Defines, candidate.Sources);
        if (known.TryAdd(id, stored))
        {
            System.IO.Directory.CreateDirectory(Directory);
            var path = PathOf(id);
            if (!File.Exists(path))
            {
                var temporary = path + "." + Guid.NewGuid().ToString("N")[..8];
                File.WriteAllText(temporary, JsonSerializer.Serialize(stored, ToolJson.Options));
                File.Move(temporary, path, overwrite: true);
            }
        }
        return stored;
    }

    public StoredCandidate? Find(string id)
    {
        if (known.TryGetValue(id, out var stored))
        {
            return stored;
        }
        if (!IsId(id) || !File.Exists(PathOf(id)))
        {
            return null;
        }
        try
        {
            stored = JsonSerializer.Deserialize<StoredCandidate>(File.ReadAllText(PathOf(id)), ToolJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
        return stored is null ? null : known.GetOrAdd(id, stored);
    }

    /// <summary>Whether the text has the shape of a candidate id ("c" and 12 hex digits).</summary>
    public static bool IsId(string text) => text.Length == 13 && text[0] == 'c' && text.Skip(1).All(char.IsAsciiHexDigitLower);

    private string PathOf(string id) => Path.Combine(Directory, id + ".json");
}
