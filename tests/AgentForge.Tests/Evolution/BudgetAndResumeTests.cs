using AgentForge.Orchestrator.Evolution;

namespace AgentForge.Tests.Evolution;

/// <summary>Every budget ends a run; a killed run resumes without losing or repeating a finished candidate.</summary>
public sealed class BudgetAndResumeTests
{
    /// <summary>An endless supply of distinct, honest, ever so slightly different kernels.</summary>
    private sealed class EndlessGenerator(IUsageMeter? meter = null) : ICandidateGenerator
    {
        private int next;

        public string Name => "endless";

        public Task<GenerationProposal> ProposeAsync(GenerationContext context, CancellationToken cancellationToken)
        {
            (meter as FakeMeter)?.Spend(1000, 200);
            var kernels = Enumerable.Range(0, 2).Select(_ => FakeProblem.Kernel("honest", 2.0, tunable: false, extra: $"// variant {next++}\n"));
            return Task.FromResult(new GenerationProposal(kernels.Select(k => new ProposedCandidate(FakeProblem.DefinitionName, FakeProblem.Source(k), null)).ToList()));
        }

        public void Observe(CandidateRecord record)
        {
        }
    }

    private sealed class FakeMeter : IUsageMeter
    {
        public long InputTokens { get; private set; }

        public long OutputTokens { get; private set; }

        public int Calls { get; private set; }

        public void Spend(long input, long output)
        {
            InputTokens += input;
            OutputTokens += output;
            Calls++;
        }
    }

    [Fact]
    public async Task The_candidate_budget_stops_the_run()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var summary = await fixture.RunAsync(store, new EndlessGenerator(), LoopFixture.Options(new Budget(Candidates: 5)));
        Assert.StartsWith("candidate budget spent (5 of 5)", summary.StopReason);
        Assert.Equal(5, summary.Spending.Candidates);
        Assert.Equal("candidate budget spent (5 of 5)", store.ReadEvents().OfType<RunStopped>().Single().Reason);
    }

    [Fact]
    public async Task The_time_budget_stops_the_run()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        // Each workload evaluation costs one simulated second; the baseline alone takes 4 s.
        var summary = await fixture.RunAsync(store, new EndlessGenerator(), LoopFixture.Options(new Budget(Time: TimeSpan.FromSeconds(30))));
        Assert.StartsWith("time budget spent", summary.StopReason);
        Assert.InRange(summary.Spending.Elapsed, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(45));
        Assert.InRange(summary.Spending.Candidates, 1, 20);
    }

    [Fact]
    public async Task The_token_budget_stops_the_run()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var meter = new FakeMeter();
        var summary = await fixture.RunAsync(store, new EndlessGenerator(meter), LoopFixture.Options(new Budget(Tokens: 3000)), usage: meter);
        Assert.StartsWith("token budget spent (3600 of 3000)", summary.StopReason);
        Assert.Equal(3, meter.Calls);
        Assert.Equal(3600, store.ReadEvents().OfType<ModelUsage>().Sum(u => u.InputTokens + u.OutputTokens));
    }

    [Fact]
    public async Task The_cost_budget_stops_the_run()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var meter = new FakeMeter();
        // $0.01 per 1k tokens: each generation costs 1.2k tokens = $0.012; $0.03 lasts three generations.
        var summary = await fixture.RunAsync(store, new EndlessGenerator(meter), LoopFixture.Options(new Budget(CostUsd: 0.03, PricePer1kTokensUsd: 0.01)), usage: meter);
        Assert.StartsWith("cost budget spent ($0.036 of $0.03)", summary.StopReason);
    }

    [Fact]
    public async Task A_killed_run_resumes_without_repeating_finished_candidates()
    {
        // The uninterrupted run, for comparison.
        using var reference = new LoopFixture();
        using var referenceStore = reference.NewStore();
        var expected = await reference.RunAsync(referenceStore, new TunerGenerator(2, 3), LoopFixture.Options(new Budget(Candidates: 20)));

        using var fixture = new LoopFixture();
        var root = "";
        using (var store = fixture.NewStore())
        {
            root = store.Root;
            using var kill = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            // Kill in the middle of the third candidate's evaluation (the first tuned one is finished by then).
            var evaluationsOfThird = 0;
            fixture.Evaluator.BeforeEvaluation = (_, total) =>
            {
                if (total >= 9 && ++evaluationsOfThird == 1)
                {
                    kill.Cancel();
                }
            };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fixture.RunAsync(store, new TunerGenerator(2, 3), LoopFixture.Options(new Budget(Candidates: 20)), cancellation: kill.Token));
        }
        // A kill can also tear the line being written.
        File.AppendAllText(Path.Combine(root, RunStore.EventsFile), "{\"type\":\"candidate_evalu");

        var before = RunReplay.From(RunStore.ReadEvents(Path.Combine(root, RunStore.EventsFile)).Events);
        var finishedBefore = before.Finished.ToHashSet();
        Assert.NotEmpty(finishedBefore);
        var inFlight = Assert.Single(before.InFlight.Where(c => c.Generation > 0 && before.Archive.FindRecord(c.Id) is null).Take(1));
        var finishedHashes = before.Archive.Records().Select(r => r.Hash).ToHashSet();
        var countsBefore = fixture.Evaluator.OwnEvaluations.ToDictionary(e => e.Key, e => e.Value);

        fixture.Evaluator.BeforeEvaluation = null;
        using var resumed = RunStore.Open(root);
        var summary = await fixture.RunAsync(resumed, new TunerGenerator(2, 3), LoopFixture.Options(new Budget(Candidates: 20)), fresh: false);

        var after = RunReplay.From(resumed.ReadEvents());
        Assert.Equal(2, after.Sessions);
        Assert.Equal(0, RunStore.ReadEvents(resumed.EventsPath).BadLines); // the torn line was dropped on open
        // Finished candidates were not evaluated again; the in-flight one was.
        foreach (var hash in finishedHashes)
        {
            Assert.Equal(countsBefore[hash], fixture.Evaluator.OwnEvaluations[hash]);
        }
        Assert.True(fixture.Evaluator.OwnEvaluations[inFlight.Hash] > countsBefore.GetValueOrDefault(inFlight.Hash));
        Assert.Contains(after.Archive.Records(), r => r.Id == inFlight.Id);
        Assert.Equal(after.Archive.Records().Count, after.Archive.Records().Select(r => r.Id).Distinct().Count());
        // Same outcome as the run that was never killed.
        Assert.Equal(expected.Champions.Select(c => (c.Band, c.CandidateId)), summary.Champions.Select(c => (c.Band, c.CandidateId)));
        Assert.Equal(RunReplay.From(referenceStore.ReadEvents()).Archive.Records().Select(r => r.Id), after.Archive.Records().Select(r => r.Id));
    }

    [Fact]
    public async Task Resuming_a_spent_run_stops_at_once_and_keeps_its_spending()
    {
        using var fixture = new LoopFixture();
        string root;
        using (var store = fixture.NewStore())
        {
            root = store.Root;
            await fixture.RunAsync(store, new EndlessGenerator(), LoopFixture.Options(new Budget(Candidates: 3)));
        }
        using var again = RunStore.Open(root);
        var summary = await fixture.RunAsync(again, new EndlessGenerator(), LoopFixture.Options(new Budget(Candidates: 3)), fresh: false);
        Assert.StartsWith("candidate budget spent (3 of 3)", summary.StopReason);
        Assert.Equal(3, RunReplay.From(again.ReadEvents()).GeneratedFinished);
    }

    [Theory]
    [InlineData("15m", 900)]
    [InlineData("90s", 90)]
    [InlineData("1h30m", 5400)]
    [InlineData("00:02:00", 120)]
    [InlineData("20", 1200)]
    public void Durations_parse(string text, int seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), Budget.ParseDuration(text));

    [Fact]
    public void Bad_durations_do_not_parse() => Assert.Null(Budget.ParseDuration("15x"));
}
