using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using AgentForge.Tools.Build;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// A candidate as the loop tracks it. <see cref="Id"/> is "gen-n-hash" (e.g. "003-01-1a2b3c4d5e6f"),
/// also the name of its folder under candidates/.
/// </summary>
public sealed record Candidate(
    string Id,
    int Generation,
    int Index,
    string Definition,
    string Generator,
    string? ParentId,
    CandidateSource Source,
    string? Prompt = null,
    string? Reply = null,
    string? Note = null)
{
    [JsonIgnore]
    public string Hash => CandidateHash.Of(Source);

    public static string MakeId(int generation, int index, string hash) =>
        string.Create(CultureInfo.InvariantCulture, $"{generation:D3}-{index:D2}-{hash}");
}

/// <summary>What a generator proposes; the loop numbers it and turns it into a <see cref="Candidate"/>.</summary>
public sealed record ProposedCandidate(
    string Definition,
    CandidateSource Source,
    string? ParentId,
    string? Prompt = null,
    string? Reply = null,
    string? Note = null);

/// <summary>A generation's proposals; <see cref="Exhausted"/>: the generator has nothing left to try.</summary>
public sealed record GenerationProposal(IReadOnlyList<ProposedCandidate> Candidates, bool Exhausted = false, string? Note = null)
{
    public static GenerationProposal Nothing(string why) => new([], true, why);
}

/// <summary>Content hash of a candidate: sources, entry, target and defines. Equal code is evaluated once per run.</summary>
public static class CandidateHash
{
    public static string Of(CandidateSource source)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }
        Add(source.DefinitionName);
        foreach (var file in source.Sources.OrderBy(s => s.Path, StringComparer.Ordinal))
        {
            Add(file.Path);
            Add(file.Content.Replace("\r\n", "\n", StringComparison.Ordinal));
        }
        Add(source.EntrySymbol);
        Add(source.Target.ToString());
        foreach (var (name, value) in (source.Defines ?? new Dictionary<string, string>()).OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            Add(name);
            Add(value);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..12];
    }
}
