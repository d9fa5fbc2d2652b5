namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// The state of a run rebuilt from its events: the archive, the candidates proposed and
/// finished, the last generation, and the spending of every earlier session. --resume starts
/// from it; the `runs` commands read it.
/// </summary>
public sealed class RunReplay
{
    private RunReplay(Archive archive) => Archive = archive;

    public Archive Archive { get; }

    /// <summary>Every proposed candidate, in proposal order.</summary>
    public List<Candidate> Proposed { get; } = [];

    public HashSet<string> Finished { get; } = [];

    /// <summary>Hashes of every proposed candidate: equal code is evaluated once per run.</summary>
    public HashSet<string> Hashes { get; } = [];

    public int Sessions { get; private set; }

    public int LastGeneration { get; private set; }

    public HashSet<int> FinishedGenerations { get; } = [];

    public TimeSpan Elapsed { get; private set; }

    public long InputTokens { get; private set; }

    public long OutputTokens { get; private set; }

    public int ModelCalls { get; private set; }

    public DateTimeOffset? Started { get; private set; }

    public DateTimeOffset? LastEventTime { get; private set; }

    public string? StopReason { get; private set; }

    public int Skipped { get; private set; }

    public List<RunEvent> Events { get; } = [];

    /// <summary>Proposed but not finished: the candidates in flight when the last session ended.</summary>
    public IReadOnlyList<Candidate> InFlight => Proposed.Where(c => !Finished.Contains(c.Id)).ToList();

    /// <summary>Finished candidates that count against --candidates (the baselines do not).</summary>
    public int GeneratedFinished => Archive.Records().Count(r => r.Generation > 0);

    /// <summary>Token use recorded during the current session (the loop appends the event and updates the state together).</summary>
    public void AddUsage(ModelUsage usage)
    {
        InputTokens += usage.InputTokens;
        OutputTokens += usage.OutputTokens;
        ModelCalls += usage.Calls;
    }

    public static RunReplay From(IEnumerable<RunEvent> events)
    {
        var replay = new RunReplay(new Archive());
        DateTimeOffset? sessionStart = null;
        foreach (var item in events)
        {
            replay.Apply(item, ref sessionStart);
        }
        if (sessionStart is { } start && replay.LastEventTime is { } last)
        {
            replay.Elapsed += last - start;
        }
        return replay;
    }

    private void Apply(RunEvent item, ref DateTimeOffset? sessionStart)
    {
        Events.Add(item);
        switch (item)
        {
            case RunStarted:
                // A session's time runs from its start to its last event; a killed session ends where its events stop.
                if (sessionStart is { } start && LastEventTime is { } last)
                {
                    Elapsed += last - start;
                }
                sessionStart = item.Time;
                Started ??= item.Time;
                Sessions++;
                StopReason = null;
                break;
            case CandidateProposed proposed:
                if (Archive.FindCandidate(proposed.Candidate.Id) is null)
                {
                    Proposed.Add(proposed.Candidate);
                    Archive.AddCandidate(proposed.Candidate);
                    Hashes.Add(proposed.Candidate.Hash);
                }
                LastGeneration = Math.Max(LastGeneration, proposed.Candidate.Generation);
                break;
            case CandidateSkipped:
                Skipped++;
                break;
            case ChampionChanged change:
                var candidate = Archive.FindCandidate(change.Id);
                Archive.SetChampion(change, candidate?.Generator ?? "?", candidate?.ParentId, candidate?.Generation ?? 0);
                break;
            case CandidateFinished finished:
                Finished.Add(finished.Record.Id);
                Archive.AddRecord(finished.Record);
                break;
            case GenerationFinished generation:
                FinishedGenerations.Add(generation.Generation);
                LastGeneration = Math.Max(LastGeneration, generation.Generation);
                break;
            case ModelUsage usage:
                InputTokens += usage.InputTokens;
                OutputTokens += usage.OutputTokens;
                ModelCalls += usage.Calls;
                break;
            case RunStopped stopped:
                StopReason = stopped.Reason;
                break;
        }
        LastEventTime = item.Time;
    }
}
