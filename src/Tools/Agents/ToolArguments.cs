using System.Text.Json;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Agents;

/// <summary>Resolves what tool arguments name (definitions, workloads, candidates) into values or an error message.</summary>
internal static class ToolArguments
{
    public static Definition? Definition(TraceDataset dataset, string name, out string? error)
    {
        var definition = dataset.FindDefinition(name);
        error = definition is null
            ? $"unknown definition '{name}'; known: {string.Join(", ", dataset.Definitions.Keys.Order(StringComparer.Ordinal))}"
            : null;
        return definition;
    }

    /// <summary>The definition's workloads whose uuid starts with each prefix (all when none given).</summary>
    public static List<WorkloadEntry>? Workloads(TraceDataset dataset, Definition definition, IReadOnlyList<string>? prefixes, out string? error)
    {
        var all = dataset.Workloads(definition.Name).ToList();
        error = null;
        if (prefixes is null || prefixes.Count == 0)
        {
            if (all.Count == 0)
            {
                error = $"{definition.Name} has no workloads in the dataset";
                return null;
            }
            return all;
        }
        var chosen = new List<WorkloadEntry>();
        foreach (var prefix in prefixes)
        {
            var matches = all.Where(w => w.Workload.Uuid.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToList();
            if (matches.Count != 1)
            {
                error = matches.Count == 0
                    ? $"no workload of {definition.Name} has a uuid starting with '{prefix}' (list_workloads shows them)"
                    : $"'{prefix}' matches {matches.Count} workloads of {definition.Name}; give more of the uuid";
                return null;
            }
            if (!chosen.Contains(matches[0]))
            {
                chosen.Add(matches[0]);
            }
        }
        return chosen;
    }

    /// <summary>A candidate from either an id (from compile) or sources; stored so it gets an id.</summary>
    public static StoredCandidate? Candidate(ToolServices services, Definition definition, string? candidateId, IReadOnlyDictionary<string, string>? sources,
        string entry, TargetKind target, IReadOnlyDictionary<string, string>? defines, out string? error)
    {
        error = null;
        if (!string.IsNullOrWhiteSpace(candidateId))
        {
            if (sources is { Count: > 0 })
            {
                error = "give either candidate_id or sources, not both";
                return null;
            }
            var stored = services.Candidates.Find(candidateId.Trim());
            if (stored is null)
            {
                error = $"unknown candidate_id '{candidateId}': compile the sources first, or pass sources";
                return null;
            }
            if (stored.Definition != definition.Name)
            {
                error = $"candidate {candidateId} is for {stored.Definition}, not {definition.Name}";
                return null;
            }
            return stored;
        }
        if (sources is null)
        {
            error = "give sources ({\"kernel.cu\": \"...\"}) or the candidate_id that compile returned";
            return null;
        }
        error = CandidateSolutions.Check(sources, entry, defines);
        if (error is not null)
        {
            return null;
        }
        var files = sources.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new SourceFile(s.Key, s.Value)).ToList();
        var definesCopy = defines is { Count: > 0 } ? new Dictionary<string, string>(defines, StringComparer.Ordinal) : null;
        return services.Candidates.Add(new CandidateSource("agent", definition.Name, files, entry, target, definesCopy));
    }

    /// <summary>
    /// FlashInfer-Bench's "solution" argument: a Solution object, a path to a solution.json, or (our
    /// addition) a candidate id from compile.
    /// </summary>
    public static CandidateSource? Solution(ToolServices services, JsonElement solution, out string? candidateId, out string? error)
    {
        candidateId = null;
        error = null;
        Solution? parsed = null;
        switch (solution.ValueKind)
        {
            case JsonValueKind.String:
                var text = solution.GetString()!.Trim();
                if (CandidateStore.IsId(text) && services.Candidates.Find(text) is { } stored)
                {
                    candidateId = stored.Id;
                    return stored.ToSource();
                }
                if (!File.Exists(text))
                {
                    error = $"solution '{text}' is neither a candidate id from compile nor an existing solution.json";
                    return null;
                }
                var read = TraceJson.ReadSolutionFile(text);
                if (!read.IsOk)
                {
                    error = string.Join("; ", read.Errors);
                    return null;
                }
                parsed = read.Value;
                break;
            case JsonValueKind.Object:
                var fromObject = TraceJson.ReadSolution(solution.GetRawText(), "(solution argument)");
                if (!fromObject.IsOk)
                {
                    error = string.Join("; ", fromObject.Errors);
                    return null;
                }
                parsed = fromObject.Value;
                break;
            default:
                error = "solution must be a FlashInfer-Bench Solution object, a path to a solution.json, or a candidate id";
                return null;
        }
        var candidate = CandidateSolutions.FromSolution(parsed);
        candidateId = services.Candidates.Add(candidate).Id;
        return candidate;
    }

    /// <summary>
    /// FlashInfer-Bench's "workload" argument: a Workload object, a path to a workload JSON file, or
    /// (our addition) a workload uuid or unique uuid prefix of the definition in the dataset.
    /// </summary>
    public static WorkloadEntry? Workload(TraceDataset dataset, Definition definition, JsonElement workload, out string? error)
    {
        error = null;
        string json;
        string file;
        switch (workload.ValueKind)
        {
            case JsonValueKind.String:
                var text = workload.GetString()!.Trim();
                if (!File.Exists(text))
                {
                    var found = Workloads(dataset, definition, [text], out error);
                    if (found is null)
                    {
                        error = $"workload '{text}' is neither a file nor a workload uuid: {error}";
                        return null;
                    }
                    return found[0];
                }
                json = File.ReadAllText(text);
                file = text;
                break;
            case JsonValueKind.Object:
                json = workload.GetRawText();
                file = "(workload argument)";
                break;
            default:
                error = "workload must be a FlashInfer-Bench Workload object, a path to a workload JSON file, or a workload uuid";
                return null;
        }
        // A file may hold a bare workload or a workloads/*.jsonl trace line.
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.TryGetProperty("workload", out var inner) && inner.ValueKind == JsonValueKind.Object)
        {
            json = inner.GetRawText();
        }
        var read = TraceJson.ReadWorkload(json, file);
        if (!read.IsOk)
        {
            error = string.Join("; ", read.Errors);
            return null;
        }
        var problems = WorkloadValidator.Check(definition, read.Value, file, 1);
        if (problems.Count > 0)
        {
            error = string.Join("; ", problems);
            return null;
        }
        var known = dataset.Workloads(definition.Name).FirstOrDefault(w => w.Workload.Uuid == read.Value.Uuid);
        if (known is not null && !known.Workload.Equals(read.Value))
        {
            // Inputs are cached by uuid: the same uuid must mean the same workload.
            error = $"workload uuid {read.Value.Uuid} exists in the dataset with other axes or inputs; give the workload a new uuid";
            return null;
        }
        return known ?? new WorkloadEntry(definition.Name, read.Value, file, 1);
    }

    /// <summary>"cuda:1" -> 1; "cuda" -> 0.</summary>
    public static int? Gpu(string device, out string? error)
    {
        error = null;
        var text = device.Trim();
        if (text is "cuda" or "")
        {
            return 0;
        }
        if (text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text[5..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ordinal))
        {
            return ordinal;
        }
        error = $"device must look like \"cuda:0\", not '{device}'";
        return null;
    }

    public static string Tail(string text, int characters) => text.Length <= characters ? text : "...\n" + text[^characters..];

    /// <summary>Keeps compiler output short: error lines first (they say what to fix), then the tail.</summary>
    public static string CompilerLog(string log, int characters)
    {
        if (log.Length <= characters)
        {
            return log;
        }
        var errors = log.Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Take(30).ToList();
        var head = string.Join('\n', errors);
        return head.Length >= characters ? head[..characters] + "\n..." : head + "\n...\n" + log[^(characters - head.Length)..];
    }

    public static string Lines(string text, int? maxLines)
    {
        if (maxLines is not { } max || max <= 0)
        {
            return text;
        }
        var lines = text.Split('\n');
        return lines.Length <= max
            ? text
            : string.Join('\n', lines.Take(max)) + $"\n[output truncated: {lines.Length - max} more lines]";
    }
}
