using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Evolution;

public sealed class TunerGeneratorTests
{
    // IMPL selects between two kernels; WARPS only matters for IMPL=1, THREADS only for IMPL=0.
    private const string ConditionalKernel =
        "// @tunable IMPL: 0, 1 (default 1)\n#ifndef IMPL\n#define IMPL 1\n#endif\n" +
        "// @tunable WARPS: 4, 8 (default 8) when IMPL=1\n#ifndef WARPS\n#define WARPS 8\n#endif\n" +
        "// @tunable THREADS: 128, 256 (default 256) when IMPL=0\n#ifndef THREADS\n#define THREADS 256\n#endif\n";

    private sealed class NoChampions : IChampionStore
    {
        public ChampionView? Best(string definition, string band = WorkloadBands.All) => null;

        public IReadOnlyList<ChampionView> Champions() => [];
    }

    private static IReadOnlyList<TunableParameter> Declared() =>
        TunableParameters.Parse([new SourceFile("k.cu", ConditionalKernel)]).Value!;

    [Fact]
    public void Neighbours_never_move_a_parameter_without_effect()
    {
        var declared = Declared();
        var underDefault = TunerGenerator.Neighbours(declared, new Dictionary<string, string> { ["IMPL"] = "1", ["WARPS"] = "8", ["THREADS"] = "256" }).ToList();
        // IMPL 1 -> 0 and WARPS 8 -> 4; THREADS is not read by IMPL=1.
        Assert.Equal(2, underDefault.Count);
        Assert.DoesNotContain(underDefault, s => s["THREADS"] != "256");
        var underOther = TunerGenerator.Neighbours(declared, new Dictionary<string, string> { ["IMPL"] = "0", ["WARPS"] = "8", ["THREADS"] = "256" }).ToList();
        Assert.Equal(2, underOther.Count);
        Assert.DoesNotContain(underOther, s => s["WARPS"] != "8");
    }

    [Fact]
    public async Task A_diagnostic_parameter_is_never_proposed()
    {
        const string kernel = "// @tunable WARPS: 4, 8 (default 8)\n#ifndef WARPS\n#define WARPS 8\n#endif\n" +
                              "// @diagnostic NO_LOADS: 0, 1 (default 0)\n#ifndef NO_LOADS\n#define NO_LOADS 0\n#endif\n";
        var baseline = FakeProblem.Source(FakeProblem.Kernel(tunable: false, extra: kernel));
        var problem = new EvolutionProblem("gated_delta_net", [new DefinitionTask(FakeProblem.Definition, FakeProblem.Workloads, baseline)]);
        var tuner = new TunerGenerator(perDefinition: 16, seed: 3);
        var proposed = new List<ProposedCandidate>();
        for (var generation = 1; generation <= 3; generation++)
        {
            var proposal = await tuner.ProposeAsync(new GenerationContext(generation, problem, new NoChampions(), [], "test"), TestContext.Current.CancellationToken);
            proposed.AddRange(proposal.Candidates);
        }
        Assert.Contains(proposed, c => c.Source.Defines?.ContainsKey("WARPS") == true);
        Assert.DoesNotContain(proposed, c => c.Source.Defines?.ContainsKey("NO_LOADS") == true);
    }

    [Fact]
    public async Task Proposals_carry_no_define_for_a_parameter_without_effect_and_are_never_the_same_kernel_twice()
    {
        var baseline = FakeProblem.Source(FakeProblem.Kernel(tunable: false, extra: ConditionalKernel));
        var problem = new EvolutionProblem("gated_delta_net", [new DefinitionTask(FakeProblem.Definition, FakeProblem.Workloads, baseline)]);
        var tuner = new TunerGenerator(perDefinition: 16, seed: 3);
        var proposed = new List<ProposedCandidate>();
        for (var generation = 1; generation <= 4; generation++)
        {
            var proposal = await tuner.ProposeAsync(new GenerationContext(generation, problem, new NoChampions(), [], "test"), TestContext.Current.CancellationToken);
            proposed.AddRange(proposal.Candidates);
        }
        Assert.NotEmpty(proposed);
        foreach (var candidate in proposed)
        {
            var defines = candidate.Source.Defines ?? new Dictionary<string, string>();
            var impl = defines.GetValueOrDefault("IMPL") ?? "1";
            Assert.False(impl == "1" && defines.ContainsKey("THREADS"), $"THREADS set under IMPL=1: {candidate.Note}");
            Assert.False(impl == "0" && defines.ContainsKey("WARPS"), $"WARPS set under IMPL=0: {candidate.Note}");
        }
        // The distinct kernels besides the baseline (all defaults: not observed here, so it may be
        // proposed once): IMPL=1 with WARPS 4, IMPL=0 with THREADS 256 or 128. Without the
        // conditions the tuner would also propose IMPL=0 with WARPS=4 and IMPL=1 with THREADS=128.
        var kernels = proposed.Select(c => string.Join(",", (c.Source.Defines ?? new Dictionary<string, string>()).OrderBy(d => d.Key).Select(d => $"{d.Key}={d.Value}"))).ToList();
        Assert.Equal(kernels.Count, kernels.Distinct().Count());
        Assert.Equal(["IMPL=0", "IMPL=0,THREADS=128", "WARPS=4"], kernels.Where(k => k.Length > 0).Order(StringComparer.Ordinal));
    }
}
