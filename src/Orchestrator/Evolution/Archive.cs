namespace AgentForge.Orchestrator.Evolution;

/// <summary>A champion as archive.json lists it, with its lineage.</summary>
public sealed record ChampionEntry(
    string Definition,
    string Band,
    string CandidateId,
    double GeomeanLatencyMs,
    double? GeomeanFloorRatio,
    string Generator,
    string? ParentId,
    int Generation,
    DateTimeOffset Since);

/// <summary>A change of champion, for the progress plot and the report.</summary>
public sealed record ChampionHistoryEntry(DateTimeOffset Time, string Definition, string Band, string CandidateId, string? PreviousId, double GeomeanLatencyMs);

/// <summary>A member of the population as archive.json lists it (verdict and numbers, no workloads).</summary>
public sealed record PopulationEntry(
    string Id,
    string Definition,
    int Generation,
    string Generator,
    string? ParentId,
    IReadOnlyDictionary<string, string> Defines,
    CandidateVerdict Verdict,
    string Reason,
    double? GeomeanLatencyMs,
    double? GeomeanFloorRatio,
    IReadOnlyList<string> PromotedBands);

/// <summary>archive.json: the champions per definition and band, the population, and the history of changes.</summary>
public sealed record ArchiveSnapshot(
    IReadOnlyList<ChampionEntry> Champions,
    IReadOnlyList<PopulationEntry> Population,
    IReadOnlyList<ChampionHistoryEntry> History,
    IReadOnlyDictionary<string, string> Seeds);

/// <summary>
/// The population and the champions: one per definition and workload band, plus one per
/// definition as a whole (<see cref="WorkloadBands.All"/>). Rebuilt from events.jsonl on resume.
/// Serves get_best through <see cref="IChampionStore"/>.
/// </summary>
public sealed class Archive : IChampionStore
{
    private readonly object gate = new();
    private readonly Dictionary<string, Candidate> candidates = [];
    private readonly Dictionary<string, CandidateRecord> records = [];
    private readonly List<CandidateRecord> order = [];
    private readonly Dictionary<(string Definition, string Band), ChampionEntry> champions = [];
    private readonly List<ChampionHistoryEntry> history = [];
    private readonly Dictionary<string, string> seeds = [];

    public void AddCandidate(Candidate candidate)
    {
        lock (gate)
        {
            candidates[candidate.Id] = candidate;
            if (candidate.Generation == 0)
            {
                seeds.TryAdd(candidate.Definition, candidate.Id);
            }
        }
    }

    public Candidate? FindCandidate(string id)
    {
        lock (gate)
        {
            return candidates.GetValueOrDefault(id);
        }
    }

    public void AddRecord(CandidateRecord record)
    {
        lock (gate)
        {
            if (records.TryAdd(record.Id, record))
            {
                order.Add(record);
            }
        }
    }

    public CandidateRecord? FindRecord(string id)
    {
        lock (gate)
        {
            return records.GetValueOrDefault(id);
        }
    }

    public IReadOnlyList<CandidateRecord> Records()
    {
        lock (gate)
        {
            return order.ToList();
        }
    }

    /// <summary>The baseline's candidate id for a definition (generation 0).</summary>
    public string? SeedOf(string definition)
    {
        lock (gate)
        {
            return seeds.GetValueOrDefault(definition);
        }
    }

    public void SetChampion(ChampionChanged change, string generator, string? parentId, int generation)
    {
        lock (gate)
        {
            champions[(change.Definition, change.Band)] = new ChampionEntry(change.Definition, change.Band, change.Id, change.GeomeanLatencyMs,
                change.GeomeanFloorRatio, generator, parentId, generation, change.Time);
            history.Add(new ChampionHistoryEntry(change.Time, change.Definition, change.Band, change.Id, change.PreviousId, change.GeomeanLatencyMs));
        }
    }

    public ChampionEntry? Champion(string definition, string band = WorkloadBands.All)
    {
        lock (gate)
        {
            return champions.GetValueOrDefault((definition, band));
        }
    }

    public IReadOnlyList<ChampionEntry> ChampionEntries()
    {
        lock (gate)
        {
            return champions.Values.OrderBy(c => c.Definition, StringComparer.Ordinal).ThenBy(c => c.Band == WorkloadBands.All ? "" : c.Band, StringComparer.Ordinal).ToList();
        }
    }

    public IReadOnlyList<ChampionHistoryEntry> History()
    {
        lock (gate)
        {
            return history.ToList();
        }
    }

    public ChampionView? Best(string definition, string band = WorkloadBands.All)
    {
        lock (gate)
        {
            return champions.TryGetValue((definition, band), out var entry) ? View(entry) : null;
        }
    }

    public IReadOnlyList<ChampionView> Champions()
    {
        lock (gate)
        {
            return champions.Values.Select(View).OfType<ChampionView>().ToList();
        }
    }

    public ArchiveSnapshot Snapshot()
    {
        lock (gate)
        {
            return new ArchiveSnapshot(
                ChampionEntries(),
                order.Select(r => new PopulationEntry(r.Id, r.Definition, r.Generation, r.Generator, r.ParentId, r.Defines, r.Verdict, r.Reason,
                    r.GeomeanLatencyMs, r.GeomeanFloorRatio, r.PromotedBands)).ToList(),
                history.ToList(),
                new Dictionary<string, string>(seeds));
        }
    }

    private ChampionView? View(ChampionEntry entry)
    {
        if (!candidates.TryGetValue(entry.CandidateId, out var candidate))
        {
            return null;
        }
        var workloads = records.TryGetValue(entry.CandidateId, out var record)
            ? record.Workloads.Where(w => entry.Band == WorkloadBands.All || w.Band == entry.Band).ToList()
            : [];
        return new ChampionView(entry.Definition, entry.Band, entry.CandidateId, candidate.Source, entry.GeomeanLatencyMs, entry.GeomeanFloorRatio,
            entry.Generator, entry.ParentId, entry.Generation, workloads);
    }
}
