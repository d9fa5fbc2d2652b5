using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Sanitizer;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>Token counts of model calls so far (the agent's chat client keeps them; the tuner has none).</summary>
public interface IUsageMeter
{
    long InputTokens { get; }

    long OutputTokens { get; }

    int Calls { get; }
}

/// <summary>How a session ended.</summary>
public sealed record RunSummary(string RunFolder, string StopReason, Spending Spending, IReadOnlyList<ChampionEntry> Champions);

/// <summary>
/// The evolution loop (ARCHITECTURE.md, "Data flow"): seed the archive with the baselines, then
/// per generation ask the generator for candidates, build them in parallel, screen each on a few
/// workloads per band, evaluate the promising ones on every workload, put the correct and faster
/// ones through the promotion gate, update the archive, and feed the verdicts back. Every step is
/// an event in events.jsonl before the next starts; a resumed run replays them and re-runs only
/// the candidate that was in flight.
/// With several worker slots (<see cref="ICandidateEvaluator.Parallelism"/> above 1) the screening
/// of a generation's candidates is measured ahead, all at once, while the loop judges them one by
/// one in proposal order as before: screening does not depend on the archive (fixed workloads,
/// fixed options), so only its timing moves, and every decision, event and trace stays where a
/// one-GPU run puts it.
/// </summary>
public sealed class EvolutionLoop
{
    private const int MaxConsecutiveNoVerdicts = 3;
    private const int MaxConsecutiveGeneratorFailures = 3;
    private const int MaxEmptyGenerations = 3;

    private readonly EvolutionProblem problem;
    private readonly RecordingEvaluator evaluator;
    private readonly ICandidateGenerator generator;
    private readonly PromotionGate gate;
    private readonly RunStore store;
    private readonly EvolutionOptions options;
    private readonly TimeProvider time;
    private readonly IUsageMeter? usage;
    private readonly ICandidateProfiler? profiler;
    private readonly ChampionRelay? relay;
    private readonly ConcurrentDictionary<string, Task<BuildResult>> builds = new();
    private readonly ICandidateEvaluator measurer;
    private readonly ConcurrentDictionary<string, Task<IReadOnlyList<WorkloadOutcome>?>> screensAhead = new();
    private readonly CancellationTokenSource aheadStop = new();
    private RunReplay state = null!;
    private DateTimeOffset sessionStart;
    private TimeSpan earlierSessions;
    private long reportedInput;
    private long reportedOutput;
    private int reportedCalls;
    private int consecutiveNoVerdicts;

    public EvolutionLoop(
        EvolutionProblem problem,
        ICandidateEvaluator evaluator,
        ICandidateGenerator generator,
        ISanitizer? sanitizer,
        RunStore store,
        EvolutionOptions options,
        TimeProvider time,
        IUsageMeter? usage = null,
        ICandidateProfiler? profiler = null,
        ChampionRelay? relay = null)
    {
        this.relay = relay;
        this.profiler = profiler;
        this.problem = problem;
        measurer = evaluator;
        this.evaluator = new RecordingEvaluator(evaluator, store, time);
        this.generator = generator;
        this.store = store;
        this.options = options;
        this.time = time;
        this.usage = usage;
        gate = new PromotionGate(this.evaluator, sanitizer, options.GateOptions);
    }

    public Archive Archive => state.Archive;

    public Spending Spent() => new(
        earlierSessions + (time.GetUtcNow() - sessionStart),
        state.GeneratedFinished,
        state.InputTokens + (usage?.InputTokens ?? 0) - reportedInput,
        state.OutputTokens + (usage?.OutputTokens ?? 0) - reportedOutput);

    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken)
    {
        state = RunReplay.From(store.ReadEvents());
        relay?.Attach(state.Archive);
        earlierSessions = state.Elapsed;
        sessionStart = time.GetUtcNow();
        foreach (var record in state.Archive.Records())
        {
            generator.Observe(record);
        }
        Append(new RunStarted(state.Sessions + 1, options.Seed, problem.Track, generator.Name));
        RestorePromotions();
        await evaluator.DescribeAsync(cancellationToken);

        string? stop = null;
        try
        {
            stop = await SeedAsync(cancellationToken) ?? await ResumeInFlightAsync(cancellationToken) ?? await GenerationsAsync(cancellationToken);
        }
        finally
        {
            await StopScreensAheadAsync();
            // Cancellation (Ctrl+C) still leaves a readable archive; the events already say everything else.
            ReportUsage();
            store.WriteArchive(state.Archive.Snapshot());
        }
        Append(new RunStopped(stop));
        return new RunSummary(store.Root, stop, Spent(), state.Archive.ChampionEntries());
    }

    /// <summary>Generation 0: every definition's baseline, evaluated and gated like any candidate (no champion to beat yet).</summary>
    private async Task<string?> SeedAsync(CancellationToken cancellationToken)
    {
        var seeds = new List<Candidate>();
        for (var i = 0; i < problem.Definitions.Count; i++)
        {
            var task = problem.Definitions[i];
            var hash = CandidateHash.Of(task.Baseline);
            if (state.Hashes.Contains(hash))
            {
                continue;
            }
            var candidate = new Candidate(Candidate.MakeId(0, i, hash), 0, i, task.Name, "baseline", null, task.Baseline, Note: "hand-written baseline");
            seeds.Add(candidate);
        }
        Propose(seeds);
        return null;
    }

    /// <summary>Candidates proposed but not finished when the last session ended (all of them, for a fresh run's seeds).</summary>
    private async Task<string?> ResumeInFlightAsync(CancellationToken cancellationToken)
    {
        var inFlight = state.InFlight;
        StartBuilds(inFlight);
        ScreenAhead(inFlight);
        foreach (var candidate in inFlight)
        {
            if (Exhausted() is { } spent && candidate.Generation > 0)
            {
                return spent;
            }
            if (await ProcessAsync(candidate, cancellationToken) is { } stop)
            {
                return stop;
            }
        }
        foreach (var generation in inFlight.Select(c => c.Generation).Distinct().Where(g => !state.FinishedGenerations.Contains(g)))
        {
            FinishGeneration(generation);
        }
        if (!state.FinishedGenerations.Contains(0))
        {
            FinishGeneration(0);
        }
        return null;
    }

    private async Task<string> GenerationsAsync(CancellationToken cancellationToken)
    {
        var generatorFailures = 0;
        var empty = 0;
        // Generation numbers only go up, also past generations that produced nothing new.
        var generation = state.LastGeneration;
        while (true)
        {
            if (Exhausted() is { } spent)
            {
                return spent;
            }
            generation++;
            GenerationProposal proposal;
            try
            {
                proposal = await generator.ProposeAsync(new GenerationContext(generation, problem, state.Archive, state.Archive.Records(), Spent().Describe(options.Budget)), cancellationToken);
                generatorFailures = 0;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Model errors that survived the retries: note them and try again next generation, a few times.
                ReportUsage();
                Append(new GeneratorNote(generation, $"generator failed: {e.GetType().Name}: {e.Message}"));
                if (++generatorFailures >= MaxConsecutiveGeneratorFailures)
                {
                    return $"generator failed {generatorFailures} times in a row: {e.Message}";
                }
                continue;
            }
            ReportUsage();
            if (proposal.Note is { } note)
            {
                Append(new GeneratorNote(generation, note));
            }
            var candidates = Number(generation, proposal.Candidates);
            if (candidates.Count == 0)
            {
                FinishGeneration(generation);
                if (proposal.Exhausted)
                {
                    return $"generator exhausted: {proposal.Note ?? "nothing left to try"}";
                }
                if (++empty >= MaxEmptyGenerations)
                {
                    return $"no new candidates in {empty} generations";
                }
                continue;
            }
            empty = 0;
            Propose(candidates);
            StartBuilds(candidates);
            ScreenAhead(candidates);
            foreach (var candidate in candidates)
            {
                if (Exhausted() is { } mid)
                {
                    return mid;
                }
                if (await ProcessAsync(candidate, cancellationToken) is { } stop)
                {
                    return stop;
                }
            }
            FinishGeneration(generation);
        }
    }

    private List<Candidate> Number(int generation, IReadOnlyList<ProposedCandidate> proposals)
    {
        var numbered = new List<Candidate>();
        var hashes = new HashSet<string>();
        foreach (var proposal in proposals)
        {
            if (problem.Find(proposal.Definition) is null)
            {
                Append(new GeneratorNote(generation, $"proposal for unknown definition '{proposal.Definition}' ignored"));
                continue;
            }
            var hash = CandidateHash.Of(proposal.Source);
            if (state.Hashes.Contains(hash) || !hashes.Add(hash))
            {
                Append(new CandidateSkipped(proposal.Definition, hash, generator.Name, "equal code was already evaluated in this run"));
                continue;
            }
            numbered.Add(new Candidate(Candidate.MakeId(generation, numbered.Count, hash), generation, numbered.Count, proposal.Definition, generator.Name,
                proposal.ParentId, proposal.Source with { DefinitionName = proposal.Definition }, proposal.Prompt, proposal.Reply, proposal.Note));
        }
        return numbered;
    }

    /// <summary>Writes the candidates' folders and events before any is evaluated, so a kill never loses a proposal.</summary>
    private void Propose(IReadOnlyList<Candidate> candidates)
    {
        foreach (var candidate in candidates)
        {
            store.WriteCandidate(candidate);
            Append(new CandidateProposed(candidate));
        }
    }

    /// <summary>nvcc runs on the CPU cores while the GPU evaluates earlier candidates.</summary>
    private void StartBuilds(IEnumerable<Candidate> candidates)
    {
        foreach (var candidate in candidates)
        {
            BuildOf(candidate, CancellationToken.None);
        }
    }

    private Task<BuildResult> BuildOf(Candidate candidate, CancellationToken cancellationToken)
    {
        var task = problem.Find(candidate.Definition)!;
        return builds.GetOrAdd(candidate.Id, _ => Task.Run(async () =>
        {
            var build = await evaluator.BuildAsync(candidate.Source, task.Definition, cancellationToken);
            evaluator.Register(build, SolutionName(candidate));
            return build;
        }, cancellationToken));
    }

    private EvaluatorOptions BaseOptions => new(Seed: options.Seed, Trials: options.Trials, Time: true, PerCallLimit: TimeSpan.FromSeconds(options.PerCallTimeoutSeconds));

    /// <summary>
    /// With several worker slots, measures ahead the screening each candidate will need (those of
    /// a definition that has a champion: champions never go away, so the loop will screen them),
    /// so the slots stay busy while the loop judges earlier candidates one at a time. Nothing is
    /// recorded until the loop consumes the result in its turn.
    /// </summary>
    private void ScreenAhead(IEnumerable<Candidate> candidates)
    {
        if (measurer.Parallelism <= 1)
        {
            return;
        }
        var token = aheadStop.Token;
        foreach (var candidate in candidates)
        {
            var task = problem.Find(candidate.Definition);
            if (candidate.Generation == 0 || task is null || state.Archive.Champion(task.Name) is null)
            {
                continue;
            }
            var screenSet = WorkloadBands.Representative(task.Name, task.Workloads, options.ScreeningPerBand);
            screensAhead.TryAdd(candidate.Id, Task.Run(async () =>
            {
                var build = await BuildOf(candidate, CancellationToken.None);
                return build.Succeeded ? await measurer.EvaluateAsync(build, task.Definition, screenSet, BaseOptions, token) : null;
            }, token));
        }
    }

    /// <summary>Screenings measured ahead that no candidate consumed (the budget ran out): stop them before the harness goes away.</summary>
    private async Task StopScreensAheadAsync()
    {
        await aheadStop.CancelAsync();
        foreach (var pending in screensAhead.Values)
        {
            try
            {
                await pending;
            }
            catch (Exception)
            {
                // Unconsumed work: its result, or its failure, no longer matters.
            }
        }
        screensAhead.Clear();
    }

    /// <summary>One candidate from build to verdict; a non-null result stops the run.</summary>
    private async Task<string?> ProcessAsync(Candidate candidate, CancellationToken cancellationToken)
    {
        var task = problem.Find(candidate.Definition);
        if (task is null)
        {
            Finish(candidate, CandidateVerdict.NoVerdict, $"definition '{candidate.Definition}' is not part of this run", [], null, []);
            return null;
        }
        var build = await BuildOf(candidate, cancellationToken);
        Append(new CandidateBuilt(candidate.Id, build.Succeeded, build.CacheKey, build.Architecture, build.FromCache));
        store.WriteCandidateFile(candidate.Id, "build.log", build.Log);
        if (!build.Succeeded)
        {
            Finish(candidate, CandidateVerdict.CompileError, "COMPILE_ERROR: " + CompilerErrors(build.Log), [], build.Log, []);
            return null;
        }

        var baseOptions = BaseOptions;
        var champion = state.Archive.Champion(task.Name);
        var screened = new List<WorkloadResult>();
        if (candidate.Generation > 0 && champion is not null)
        {
            var screenSet = WorkloadBands.Representative(task.Name, task.Workloads, options.ScreeningPerBand);
            screened = await EvaluateAsync(candidate, build, task, screenSet, "screen", baseOptions, cancellationToken, ahead: screensAhead.TryRemove(candidate.Id, out var ahead) ? ahead : null);
            if (Unjudged(candidate, screened) is { } failure)
            {
                return failure;
            }
            if (!screened.All(r => r.Passed))
            {
                var first = screened.First(r => !r.Passed);
                Finish(candidate, CandidateVerdict.Failed, $"screening: {first.Uuid} {first.Status}", screened, build.Log, []);
                return null;
            }
            if (ScreenAgainstChampions(task, screened) is { } slower)
            {
                Finish(candidate, CandidateVerdict.Slower, slower, screened, build.Log, []);
                return null;
            }
        }

        var rest = task.Workloads.Where(w => screened.All(s => s.Uuid != w.Workload.Uuid)).ToList();
        var remaining = await EvaluateAsync(candidate, build, task, rest, "full-rest", baseOptions, cancellationToken, record: false);
        var full = task.Workloads
            .Select(w => screened.Concat(remaining).FirstOrDefault(r => r.Uuid == w.Workload.Uuid))
            .OfType<WorkloadResult>()
            .ToList();
        Append(new CandidateEvaluated(candidate.Id, "full", full));
        store.WriteCandidateFile(candidate.Id, "verdicts.json", JsonSerializer.Serialize(full, EvolutionJsonContext.Indented.IReadOnlyListWorkloadResult));
        if (Unjudged(candidate, full) is { } broken)
        {
            return broken;
        }
        if (!full.All(r => r.Passed))
        {
            var failedOnes = full.Where(r => !r.Passed).ToList();
            Finish(candidate, CandidateVerdict.Failed, $"{failedOnes.Count}/{full.Count} workloads failed (first: {failedOnes[0].Uuid} {failedOnes[0].Status})", full, build.Log, []);
            return null;
        }

        var incumbents = new List<Incumbent>();
        foreach (var band in new[] { WorkloadBands.All }.Concat(WorkloadBands.Names(task.Name)).Distinct())
        {
            if (state.Archive.Champion(task.Name, band) is { } holder && state.Archive.FindCandidate(holder.CandidateId) is { } held)
            {
                incumbents.Add(new Incumbent(band, held, ct => BuildOf(held, ct)));
            }
        }
        var verdict = await gate.DecideAsync(task.Definition, task.Workloads, candidate, build, full, incumbents, baseOptions, cancellationToken);
        Append(new GateDecided(candidate.Id, verdict.PromotedBands, verdict.Reason, verdict.Checks));
        store.WriteCandidateFile(candidate.Id, "gate.json", JsonSerializer.Serialize(new GateVerdictFile(candidate.Id, verdict.PromotedBands, verdict.Reason, verdict.Checks,
            verdict.ChallengerRemeasured, verdict.ChampionsRemeasured,
            verdict.SanitizerReports.Select(r => new SanitizerSummary(r.Tool.ToString(), r.WorkloadUuid, r.Clean, r.ErrorCount, r.Summary)).ToList()), EvolutionJsonContext.Indented.GateVerdictFile));
        foreach (var report in verdict.SanitizerReports.Where(r => !r.Clean))
        {
            store.WriteCandidateFile(candidate.Id, $"sanitizer-{report.Tool.ToString().ToLowerInvariant()}-{report.WorkloadUuid[..Math.Min(8, report.WorkloadUuid.Length)]}.log", report.Log);
        }
        if (!verdict.Promoted)
        {
            Finish(candidate, CandidateVerdict.Rejected, verdict.Reason, full, build.Log, verdict.Checks, profile: await ProfileAsync(candidate, build, task, cancellationToken));
            return null;
        }
        // The record goes on file before the champion changes: a kill in between is repaired on resume (RestorePromotions).
        var record = Finish(candidate, CandidateVerdict.Promoted, verdict.Reason, full, build.Log, verdict.Checks, verdict.PromotedBands, await ProfileAsync(candidate, build, task, cancellationToken));
        Promote(record, build.Architecture);
        return null;
    }

    private void Promote(CandidateRecord record, string? architecture)
    {
        var candidate = state.Archive.FindCandidate(record.Id)!;
        foreach (var band in record.PromotedBands)
        {
            var inBand = band == WorkloadBands.All ? record.Workloads : record.Workloads.Where(r => r.Band == band).ToList();
            var previous = state.Archive.Champion(record.Definition, band)?.CandidateId;
            if (previous == record.Id)
            {
                continue;
            }
            var change = new ChampionChanged(record.Definition, band, record.Id, previous, ResultMath.GeomeanLatency(inBand), ResultMath.GeomeanFloorRatio(inBand)) { Time = time.GetUtcNow() };
            Append(change);
            state.Archive.SetChampion(change, candidate.Generator, candidate.ParentId, candidate.Generation);
            if (band == WorkloadBands.All)
            {
                store.WriteSolution(SolutionExport.ToSolution(candidate, architecture, SolutionName(candidate)));
            }
        }
        store.WriteArchive(state.Archive.Snapshot());
    }

    /// <summary>A promoted candidate whose champion changes were not all written (killed in between) gets them now.</summary>
    private void RestorePromotions()
    {
        var history = state.Archive.History();
        foreach (var record in state.Archive.Records().Where(r => r.Verdict == CandidateVerdict.Promoted))
        {
            if (record.PromotedBands.Any(band => !history.Any(h => h.CandidateId == record.Id && h.Band == band)))
            {
                Promote(record, null);
            }
        }
    }

    /// <summary>The profiler's summary of a correct candidate on its largest workload, when a profiler is wired in (feedback for the agent).</summary>
    private async Task<string?> ProfileAsync(Candidate candidate, BuildResult build, DefinitionTask task, CancellationToken cancellationToken)
    {
        if (profiler is null)
        {
            return null;
        }
        var largest = WorkloadBands.SmallAndLarge(task.Name, task.Workloads)[^1];
        var summary = await profiler.SummarizeAsync(build, task.Definition, largest, cancellationToken);
        if (summary is not null)
        {
            store.WriteCandidateFile(candidate.Id, "profile.txt", summary);
        }
        return summary;
    }

    /// <summary>No verdict (bad data, no worker) is not the candidate's fault; several in a row mean the harness is broken.</summary>
    private string? Unjudged(Candidate candidate, IReadOnlyList<WorkloadResult> results)
    {
        var unjudged = results.Where(r => r.Status == "NO_VERDICT").ToList();
        if (unjudged.Count == 0)
        {
            consecutiveNoVerdicts = 0;
            return null;
        }
        Finish(candidate, CandidateVerdict.NoVerdict, $"no verdict on {unjudged.Count} workloads: {unjudged[0].Log}", results, null, []);
        return ++consecutiveNoVerdicts >= MaxConsecutiveNoVerdicts
            ? $"no verdict for {consecutiveNoVerdicts} candidates in a row (the harness is failing): {unjudged[0].Log}"
            : null;
    }

    /// <summary>
    /// Screening keeps what measures faster: the candidate goes on to every workload only if it
    /// beats, in some band, the latency the band's champion recorded on the same workloads.
    /// </summary>
    private string? ScreenAgainstChampions(DefinitionTask task, IReadOnlyList<WorkloadResult> screened)
    {
        var ratios = new List<string>();
        foreach (var band in new[] { WorkloadBands.All }.Concat(WorkloadBands.Names(task.Name)).Distinct())
        {
            var holder = state.Archive.Champion(task.Name, band);
            var record = holder is null ? null : state.Archive.FindRecord(holder.CandidateId);
            var mine = band == WorkloadBands.All ? screened : screened.Where(r => r.Band == band).ToList();
            if (mine.Count == 0)
            {
                continue;
            }
            if (record is null)
            {
                return null;
            }
            var ratio = Statistics.GeometricMean(mine.Select(m => m.LatencyMs!.Value / (record.Workloads.FirstOrDefault(w => w.Uuid == m.Uuid)?.LatencyMs ?? double.NaN)));
            if (!double.IsFinite(ratio) || ratio < 1 - options.ScreenSlack)
            {
                return null;
            }
            ratios.Add(string.Create(CultureInfo.InvariantCulture, $"{band} {ratio:0.###}x"));
        }
        return $"screening: not faster than the champions ({string.Join(", ", ratios)})";
    }

    private async Task<List<WorkloadResult>> EvaluateAsync(Candidate candidate, BuildResult build, DefinitionTask task, IReadOnlyList<WorkloadEntry> workloads, string phase, EvaluatorOptions evaluation, CancellationToken cancellationToken, bool record = true,
        Task<IReadOnlyList<WorkloadOutcome>?>? ahead = null)
    {
        if (workloads.Count == 0)
        {
            return [];
        }
        var outcomes = ahead is not null && await ahead.WaitAsync(cancellationToken) is { } measured
            ? evaluator.Record(build, task.Definition, evaluation, measured)
            : await evaluator.EvaluateAsync(build, task.Definition, workloads, evaluation, cancellationToken);
        var results = outcomes.Select(o => WorkloadResult.From(o, WorkloadBands.Of(task.Name, o.Workload.Workload))).ToList();
        if (record)
        {
            Append(new CandidateEvaluated(candidate.Id, phase, results));
        }
        return results;
    }

    private CandidateRecord Finish(Candidate candidate, CandidateVerdict verdict, string reason, IReadOnlyList<WorkloadResult> workloads, string? buildLog, IReadOnlyList<GateCheck> checks,
        IReadOnlyList<string>? promoted = null, string? profile = null)
    {
        var defines = candidate.Source.Defines ?? new Dictionary<string, string>();
        var record = new CandidateRecord(candidate.Id, candidate.Definition, candidate.Generation, candidate.Generator, candidate.ParentId, candidate.Hash,
            new Dictionary<string, string>(defines), verdict, reason,
            workloads.Count > 0 && workloads.All(w => w.Passed) ? ResultMath.GeomeanLatency(workloads) : null,
            workloads.Count > 0 && workloads.All(w => w.Passed) ? ResultMath.GeomeanFloorRatio(workloads) : null,
            workloads, promoted ?? [], buildLog is null || verdict != CandidateVerdict.CompileError ? null : WorkloadResult.Truncate(buildLog, 8000), checks, time.GetUtcNow(), profile);
        state.Archive.AddRecord(record);
        Append(new CandidateFinished(record));
        state.Finished.Add(candidate.Id);
        generator.Observe(record);
        store.WriteArchive(state.Archive.Snapshot());
        return record;
    }

    private void FinishGeneration(int generation)
    {
        state.FinishedGenerations.Add(generation);
        Append(new GenerationFinished(generation, state.Proposed.Count(c => c.Generation == generation)));
    }

    private string? Exhausted()
    {
        ReportUsage();
        return Spent().Exhausted(options.Budget);
    }

    /// <summary>Tokens spent since the last report go on record, so the token and cost budgets survive a restart.</summary>
    private void ReportUsage()
    {
        if (usage is null)
        {
            return;
        }
        var (input, output, calls) = (usage.InputTokens, usage.OutputTokens, usage.Calls);
        if (input == reportedInput && output == reportedOutput && calls == reportedCalls)
        {
            return;
        }
        var delta = new ModelUsage(input - reportedInput, output - reportedOutput, calls - reportedCalls);
        (reportedInput, reportedOutput, reportedCalls) = (input, output, calls);
        Append(delta);
    }

    private void Append(RunEvent item)
    {
        var stamped = item with { Time = item.Time == default ? time.GetUtcNow() : item.Time };
        switch (stamped)
        {
            case CandidateProposed proposed:
                state.Proposed.Add(proposed.Candidate);
                state.Hashes.Add(proposed.Candidate.Hash);
                state.Archive.AddCandidate(proposed.Candidate);
                break;
            case ModelUsage used:
                state.AddUsage(used);
                break;
        }
        store.Append(stamped);
    }

    internal static string SolutionName(Candidate candidate) => $"{candidate.Definition}_agentforge_{candidate.Id}";

    /// <summary>The error lines of an nvcc log, for the verdict and the agent's feedback.</summary>
    internal static string CompilerErrors(string log)
    {
        var errors = log.Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Take(20).ToList();
        return errors.Count > 0 ? string.Join("\n", errors) : WorkloadResult.Truncate(log, 2000);
    }
}
