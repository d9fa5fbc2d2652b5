using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Evolution;

/// <summary>The loop with several worker slots: screening measured ahead, decisions as with one.</summary>
public sealed class ParallelLoopTests
{
    /// <summary>What a run decided, without the times: the same for one slot and for several.</summary>
    private static List<string> Decisions(RunStore store) => store.ReadEvents().Select(e => e switch
    {
        CandidateProposed p => $"proposed {p.Candidate.Id}",
        CandidateEvaluated v => $"evaluated {v.Id} {v.Phase}: {string.Join("; ", v.Workloads.Select(w => $"{w.Uuid} {w.Status} {w.LatencyMs}"))}",
        GateDecided g => $"gate {g.Id}: {g.Reason}",
        CandidateFinished f => $"finished {f.Record.Id} {f.Record.Verdict} {f.Record.GeomeanLatencyMs}: {f.Record.Reason}",
        ChampionChanged c => $"champion {c.Definition} {c.Band} {c.Id}",
        _ => null,
    }).OfType<string>().ToList();

    [Fact]
    public async Task With_several_slots_the_tuner_run_decides_exactly_as_with_one_while_screenings_overlap()
    {
        using var one = new LoopFixture();
        using var oneStore = one.NewStore();
        var sequential = new SlotsEvaluator(one.Evaluator, 1);
        var oneSummary = await one.RunAsync(oneStore, new TunerGenerator(4, 3), LoopFixture.Options(new Budget(Candidates: 40), perGeneration: 4), evaluator: sequential);

        using var two = new LoopFixture();
        using var twoStore = two.NewStore();
        var parallel = new SlotsEvaluator(two.Evaluator, 2);
        var twoSummary = await two.RunAsync(twoStore, new TunerGenerator(4, 3), LoopFixture.Options(new Budget(Candidates: 40), perGeneration: 4), evaluator: parallel);

        Assert.Equal(oneSummary.StopReason, twoSummary.StopReason);
        Assert.Equal(Decisions(oneStore), Decisions(twoStore));
        Assert.Equal(oneSummary.Champions.Select(c => (c.Band, c.CandidateId)), twoSummary.Champions.Select(c => (c.Band, c.CandidateId)));
        Assert.Equal(File.ReadAllLines(Path.Combine(oneStore.Root, "traces.jsonl")).Length, File.ReadAllLines(Path.Combine(twoStore.Root, "traces.jsonl")).Length);
        Assert.Equal(1, sequential.MostAtOnce);
        Assert.True(parallel.MostAtOnce >= 2, $"at most {parallel.MostAtOnce} evaluations ran at once");
        // Nothing was measured twice: every workload evaluation of the parallel run was used.
        Assert.Equal(one.Evaluator.TotalEvaluations, two.Evaluator.TotalEvaluations);
    }

    [Fact]
    public async Task Screenings_measured_ahead_and_never_used_are_stopped_when_the_budget_runs_out()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var parallel = new SlotsEvaluator(fixture.Evaluator, 2);

        var summary = await fixture.RunAsync(store, new TunerGenerator(4, 3), LoopFixture.Options(new Budget(Candidates: 2), perGeneration: 4), evaluator: parallel);

        Assert.StartsWith("candidate budget", summary.StopReason);
        Assert.Equal(0, parallel.InFlight);
        // Only consumed measurements are on record.
        var evaluated = store.ReadEvents().OfType<CandidateEvaluated>().Select(e => e.Id).Distinct().ToList();
        Assert.All(evaluated, id => Assert.Contains(store.ReadEvents().OfType<CandidateFinished>(), f => f.Record.Id == id));
    }

    /// <summary>The fake evaluator behind N slots: calls overlap (each yields first), and it counts how many at once.</summary>
    private sealed class SlotsEvaluator(ICandidateEvaluator inner, int slots) : ICandidateEvaluator
    {
        private readonly object gate = new();
        private int inFlight;
        private int most;

        public int Parallelism => slots;

        public int MostAtOnce => most;

        public int InFlight => Volatile.Read(ref inFlight);

        public Task<RunEnvironment> DescribeAsync(CancellationToken cancellationToken) => inner.DescribeAsync(cancellationToken);

        public Task<BuildResult> BuildAsync(CandidateSource source, Definition definition, CancellationToken cancellationToken) => inner.BuildAsync(source, definition, cancellationToken);

        public async Task<IReadOnlyList<WorkloadOutcome>> EvaluateAsync(BuildResult build, Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions options, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref inFlight);
            lock (gate)
            {
                most = Math.Max(most, now);
            }
            try
            {
                await Task.Delay(20, cancellationToken);
                return await inner.EvaluateAsync(build, definition, workloads, options, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }
    }
}
