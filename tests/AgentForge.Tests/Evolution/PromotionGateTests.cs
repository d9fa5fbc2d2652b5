using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;

namespace AgentForge.Tests.Evolution;

/// <summary>
/// The gate's real decision logic against planted cheats. Each cheat first passes the plain
/// evaluation (one input set, no re-check) with a flattering latency, which is why the gate exists.
/// </summary>
public sealed class PromotionGateTests
{
    private static readonly EvaluatorOptions Plain = new(Seed: 7);

    private sealed record Setup(FakeEvaluator Evaluator, FakeSanitizer Sanitizer, PromotionGate Gate, Candidate Champion, BuildResult ChampionBuild);

    private static async Task<Setup> ArrangeAsync(double floorMs = 0, GateOptions? options = null, bool withSanitizer = true)
    {
        var evaluator = new FakeEvaluator(floorMs: floorMs);
        var sanitizer = new FakeSanitizer();
        var gate = new PromotionGate(evaluator, withSanitizer ? sanitizer : null, options ?? new GateOptions());
        var champion = Candidate(FakeProblem.Kernel("honest", 1.0), 0);
        var build = await evaluator.BuildAsync(champion.Source, FakeProblem.Definition, default);
        return new Setup(evaluator, sanitizer, gate, champion, build);
    }

    private static Candidate Candidate(string kernel, int generation)
    {
        var source = FakeProblem.Source(kernel);
        return new Candidate(Orchestrator.Evolution.Candidate.MakeId(generation, 0, CandidateHash.Of(source)), generation, 0, FakeProblem.DefinitionName, "test", null, source);
    }

    private static async Task<(GateVerdict Verdict, IReadOnlyList<WorkloadResult> Full)> ChallengeAsync(Setup setup, string kernel, bool incumbent = true)
    {
        var challenger = Candidate(kernel, 1);
        var build = await setup.Evaluator.BuildAsync(challenger.Source, FakeProblem.Definition, default);
        var outcomes = await setup.Evaluator.EvaluateAsync(build, FakeProblem.Definition, FakeProblem.Workloads, Plain, default);
        var full = outcomes.Select(o => WorkloadResult.From(o, WorkloadBands.Of(FakeProblem.DefinitionName, o.Workload.Workload))).ToList();
        IReadOnlyList<Incumbent> incumbents = incumbent
            ? new[] { WorkloadBands.All }.Concat(WorkloadBands.Names(FakeProblem.DefinitionName)).Select(b => new Incumbent(b, setup.Champion, _ => Task.FromResult(setup.ChampionBuild))).ToList()
            : [];
        var verdict = await setup.Gate.DecideAsync(FakeProblem.Definition, FakeProblem.Workloads, challenger, build, full, incumbents, Plain, default);
        return (verdict, full);
    }

    [Fact]
    public async Task An_honest_faster_kernel_is_promoted_in_every_band()
    {
        var setup = await ArrangeAsync();
        var (verdict, _) = await ChallengeAsync(setup, FakeProblem.Kernel("honest", 0.5));
        Assert.True(verdict.Promoted, verdict.Reason);
        Assert.Equal([WorkloadBands.All, "b<=4", "b5-16", "b>16"], verdict.PromotedBands);
        Assert.All(verdict.Checks, c => Assert.True(c.Passed, c.Detail));
        Assert.Equal(8, setup.Sanitizer.Runs); // four tools on the smallest and the largest workload
        Assert.Single(verdict.ChampionsRemeasured);
    }

    [Fact]
    public async Task A_caching_cheat_passes_plain_timing_but_not_rotated_inputs()
    {
        var setup = await ArrangeAsync();
        var (verdict, full) = await ChallengeAsync(setup, FakeProblem.Kernel("caching", 2.0));
        // With one input set the cache serves every timed call: correct outputs, a tiny latency.
        Assert.All(full, r => Assert.True(r.Passed));
        Assert.All(full, r => Assert.True(r.LatencyMs < 0.01, $"{r.LatencyMs}"));
        Assert.False(verdict.Promoted);
        Assert.Contains(verdict.Checks, c => c is { Name: "rotation_consistency", Passed: false });
        Assert.Contains("cached", verdict.Reason);
        Assert.Equal(0, setup.Sanitizer.Runs);
    }

    [Fact]
    public async Task An_output_written_only_on_the_first_call_fails_the_recheck_after_timing()
    {
        var setup = await ArrangeAsync();
        var (verdict, full) = await ChallengeAsync(setup, FakeProblem.Kernel("write-once", 1.0));
        Assert.All(full, r => Assert.True(r.Passed));
        Assert.False(verdict.Promoted);
        var check = Assert.Single(verdict.Checks, c => !c.Passed);
        Assert.Equal("rotation_recheck", check.Name);
        Assert.Contains("INCORRECT_NUMERICAL", check.Detail);
    }

    [Fact]
    public async Task A_latency_under_the_floor_is_rejected_as_suspect()
    {
        var setup = await ArrangeAsync(floorMs: 0.5);
        var (verdict, full) = await ChallengeAsync(setup, FakeProblem.Kernel("honest", 0.2));
        Assert.All(full, r => Assert.True(r.Passed));
        Assert.False(verdict.Promoted);
        Assert.StartsWith("floor: suspect", verdict.Reason);
    }

    [Fact]
    public async Task A_gain_inside_the_measured_spread_is_not_a_win()
    {
        var setup = await ArrangeAsync();
        // 2% faster, but trial-to-trial noise of about 20%.
        var (verdict, _) = await ChallengeAsync(setup, FakeProblem.Kernel("honest", 0.98, extra: "// @fake noisy\n"));
        Assert.False(verdict.Promoted);
        Assert.Contains(verdict.Checks, c => c is { Name: "beats_champion", Passed: false });
    }

    [Fact]
    public async Task A_small_gain_on_quiet_measurements_is_a_win()
    {
        var setup = await ArrangeAsync();
        var (verdict, _) = await ChallengeAsync(setup, FakeProblem.Kernel("honest", 0.95));
        Assert.True(verdict.Promoted, verdict.Reason);
    }

    [Fact]
    public async Task A_failing_workload_or_a_dirty_sanitizer_blocks_promotion()
    {
        var setup = await ArrangeAsync();
        var (wrong, _) = await ChallengeAsync(setup, FakeProblem.Kernel("wrong", 0.5));
        Assert.StartsWith("all_workloads_passed", wrong.Reason);

        var racy = FakeProblem.Kernel("honest", 0.5, extra: "// racy\n");
        setup.Sanitizer.RacyHashes.Add(CandidateHash.Of(FakeProblem.Source(racy)));
        var (raced, _) = await ChallengeAsync(setup, racy);
        Assert.False(raced.Promoted);
        Assert.StartsWith("sanitizers: Racecheck", raced.Reason);
        Assert.Single(raced.SanitizerReports, r => !r.Clean);
    }

    [Fact]
    public async Task Without_a_sanitizer_the_gate_refuses_unless_told_to_skip_it()
    {
        var strict = await ArrangeAsync(withSanitizer: false);
        var (refused, _) = await ChallengeAsync(strict, FakeProblem.Kernel("honest", 0.5));
        Assert.StartsWith("sanitizers: no sanitizer", refused.Reason);

        var lenient = await ArrangeAsync(options: new GateOptions(RequireSanitizers: false), withSanitizer: false);
        var (allowed, _) = await ChallengeAsync(lenient, FakeProblem.Kernel("honest", 0.5));
        Assert.True(allowed.Promoted);
        Assert.Contains(allowed.Checks, c => c.Name == "sanitizers" && c.Detail.StartsWith("skipped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_no_champion_a_correct_kernel_seeds_every_band()
    {
        var setup = await ArrangeAsync();
        var (verdict, _) = await ChallengeAsync(setup, FakeProblem.Kernel("honest", 3.0), incumbent: false);
        Assert.True(verdict.Promoted, verdict.Reason);
        Assert.Empty(verdict.ChampionsRemeasured);
    }

    [Fact]
    public void Comparison_needs_the_ratio_below_one_minus_the_spread()
    {
        static WorkloadResult R(string uuid, double latency, params double[] trials) => new(uuid, "b", "PASSED", latency, null, trials, null);
        var quiet = PromotionGate.Compare("b", [R("a", 0.9, 0.9, 0.9, 0.9)], [R("a", 1.0, 1.0, 1.0, 1.0)], 0.01);
        Assert.True(quiet.ChallengerWins);
        Assert.Equal(0.9, quiet.Ratio, 6);
        var noisy = PromotionGate.Compare("b", [R("a", 0.9, 0.8, 0.9, 1.0)], [R("a", 1.0, 1.0, 1.0, 1.0)], 0.01);
        Assert.False(noisy.ChallengerWins); // spread (1.0-0.8)/0.9 = 0.22 > 10% gain
        var failingChampion = PromotionGate.Compare("b", [R("a", 2.0, 2.0)], [new WorkloadResult("a", "b", "INCORRECT_NUMERICAL", null, null, [], null)], 0.01);
        Assert.True(failingChampion.ChallengerWins);
    }
}
