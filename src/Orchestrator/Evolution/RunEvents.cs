using System.Text.Json.Serialization;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// One line of events.jsonl. The file is the run's memory: appended and flushed as things happen,
/// replayed by --resume and by the `runs` commands. Everything else in the run folder can be
/// rebuilt from it.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(RunStarted), "run_started")]
[JsonDerivedType(typeof(CandidateProposed), "candidate_proposed")]
[JsonDerivedType(typeof(CandidateSkipped), "candidate_skipped")]
[JsonDerivedType(typeof(CandidateBuilt), "candidate_built")]
[JsonDerivedType(typeof(CandidateEvaluated), "candidate_evaluated")]
[JsonDerivedType(typeof(GateDecided), "gate_decided")]
[JsonDerivedType(typeof(ChampionChanged), "champion_changed")]
[JsonDerivedType(typeof(CandidateFinished), "candidate_finished")]
[JsonDerivedType(typeof(GenerationFinished), "generation_finished")]
[JsonDerivedType(typeof(ModelUsage), "model_usage")]
[JsonDerivedType(typeof(GeneratorNote), "generator_note")]
[JsonDerivedType(typeof(RunStopped), "run_stopped")]
public abstract record RunEvent
{
    public DateTimeOffset Time { get; init; }
}

/// <summary>A session began: the first, or a resumed one (<see cref="Session"/> &gt; 1).</summary>
public sealed record RunStarted(int Session, ulong Seed, string Track, string Generator) : RunEvent;

/// <summary>A candidate with its full code, so a resumed run evaluates it without asking the generator again.</summary>
public sealed record CandidateProposed(Candidate Candidate) : RunEvent;

/// <summary>A proposal not evaluated because equal code already was in this run.</summary>
public sealed record CandidateSkipped(string Definition, string Hash, string Generator, string Reason) : RunEvent;

public sealed record CandidateBuilt(string Id, bool Succeeded, string CacheKey, string Architecture, bool FromCache) : RunEvent;

/// <summary>Verdicts of one evaluation phase: "screen" (a few workloads per band) or "full" (every workload).</summary>
public sealed record CandidateEvaluated(string Id, string Phase, IReadOnlyList<WorkloadResult> Workloads) : RunEvent;

public sealed record GateDecided(string Id, IReadOnlyList<string> PromotedBands, string Reason, IReadOnlyList<GateCheck> Checks) : RunEvent;

public sealed record ChampionChanged(string Definition, string Band, string Id, string? PreviousId, double GeomeanLatencyMs, double? GeomeanFloorRatio) : RunEvent;

/// <summary>The end of a candidate: a resumed run never evaluates it again.</summary>
public sealed record CandidateFinished(CandidateRecord Record) : RunEvent;

public sealed record GenerationFinished(int Generation, int Candidates) : RunEvent;

/// <summary>Tokens spent by model calls since the previous such event (the token and cost budgets add these up).</summary>
public sealed record ModelUsage(long InputTokens, long OutputTokens, int Calls) : RunEvent;

/// <summary>Something the generator wants on record: nothing to tune, a model error after retries.</summary>
public sealed record GeneratorNote(int Generation, string Message) : RunEvent;

/// <summary>A session ended on purpose: budget spent, generator exhausted, cancelled.</summary>
public sealed record RunStopped(string Reason) : RunEvent;
