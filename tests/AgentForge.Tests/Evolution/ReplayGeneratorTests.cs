using AgentForge.Orchestrator.Commands;
using AgentForge.Orchestrator.Evolution;

namespace AgentForge.Tests.Evolution;

/// <summary>`evolve --replay RUN`: the candidates of an earlier run, proposed again generation by generation.</summary>
public sealed class ReplayGeneratorTests
{
    private static List<Candidate> Proposed(RunStore store) =>
        store.ReadEvents().OfType<CandidateProposed>().Select(p => p.Candidate).ToList();

    /// <summary>(generation, hash) of every candidate a generator proposed, the baselines left out.</summary>
    private static List<(int Generation, string Hash)> Work(RunStore store) =>
        Proposed(store).Where(c => c.Generation > 0).Select(c => (c.Generation, c.Hash)).ToList();

    [Fact]
    public async Task A_replay_proposes_the_same_candidates_in_the_same_generations()
    {
        using var fixture = new LoopFixture();
        var script = new ScriptedGenerator(
            [FakeProblem.Kernel(costMs: 0.9), FakeProblem.Kernel(costMs: 1.2)],
            [FakeProblem.Kernel(costMs: 0.8), FakeProblem.Kernel("wrong"), FakeProblem.Kernel(costMs: 0.7)],
            [FakeProblem.Kernel(costMs: 0.95)]);
        using var original = fixture.NewStore();
        await fixture.RunAsync(original, script, LoopFixture.Options(new Budget(Candidates: 100)));
        var work = Work(original);
        Assert.Equal([1, 1, 2, 2, 2, 3], work.Select(w => w.Generation));

        var replay = new ReplayGenerator(RunReplay.From(original.ReadEvents()).Proposed, original.Id);
        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        using var again = fixture.NewStore();
        var summary = await fixture.RunAsync(again, replay, LoopFixture.Options(new Budget(Candidates: 100)));

        Assert.Equal(work, Work(again));
        Assert.StartsWith("generator exhausted: all", summary.StopReason);
        Assert.All(Proposed(again).Where(c => c.Generation > 0), c => Assert.Equal($"replay:{original.Id}", c.Generator));
    }

    [Fact]
    public async Task Candidates_of_other_definitions_are_left_out_with_a_note_and_the_end_is_said()
    {
        var mine = new Candidate("001-00-aaaa", 1, 0, FakeProblem.DefinitionName, "tuner", null, FakeProblem.Source(FakeProblem.Kernel(costMs: 0.5)));
        var other = new Candidate("001-01-bbbb", 1, 1, "some_other_definition", "tuner", null, FakeProblem.Source(FakeProblem.Kernel(costMs: 0.7)));
        var seed = new Candidate("000-00-cccc", 0, 0, FakeProblem.DefinitionName, "baseline", null, FakeProblem.Source(FakeProblem.Kernel()));
        var replay = new ReplayGenerator([other, seed, mine], "earlier");
        var context = new GenerationContext(1, FakeProblem.Problem(), new Archive(), [], "test");

        var first = await replay.ProposeAsync(context, TestContext.Current.CancellationToken);
        var done = await replay.ProposeAsync(context with { Generation = 2 }, TestContext.Current.CancellationToken);

        Assert.Equal(1, replay.Generations);
        Assert.Equal(2, replay.Candidates);
        Assert.Equal([mine.Source], first.Candidates.Select(c => c.Source));
        Assert.Equal("1 candidates of definitions outside this run left out", first.Note);
        Assert.Equal("replay of 001-00-aaaa (tuner)", first.Candidates[0].Note);
        Assert.True(done.Exhausted);
        Assert.Empty(done.Candidates);
    }

    [Fact]
    public async Task The_command_refuses_a_run_of_another_track_and_a_run_with_nothing_to_replay()
    {
        using var fixture = new LoopFixture();
        using var empty = fixture.NewStore();
        await fixture.RunAsync(empty, new ScriptedGenerator(), LoopFixture.Options(new Budget(Candidates: 3)));

        Assert.Null(EvolveCommand.LoadReplay(fixture.RunsRoot, empty.Id, "fused_moe", out var trackError, out _));
        Assert.Equal($"--replay: run {empty.Id} evolved track gated_delta_net, not fused_moe", trackError);
        Assert.Null(EvolveCommand.LoadReplay(fixture.RunsRoot, empty.Id, "gated_delta_net", out var emptyError, out _));
        Assert.Equal($"--replay: run {empty.Id} proposed no candidates besides its baselines", emptyError);
        Assert.Null(EvolveCommand.LoadReplay(fixture.RunsRoot, "no-such-run", "gated_delta_net", out var missing, out _));
        Assert.StartsWith("--replay: ", missing);
    }
}
