using AgentForge.Orchestrator.Commands;
using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Evolution;

public sealed class RunHistoryTests
{
    [Fact]
    public async Task Runs_are_found_by_prefix_and_diffed_by_champion()
    {
        using var fixture = new LoopFixture();
        string first, second;
        using (var store = fixture.NewStore())
        {
            first = store.Id;
            await fixture.RunAsync(store, new TunerGenerator(2, 3), LoopFixture.Options(new Budget(Candidates: 1)));
        }
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        using (var store = fixture.NewStore())
        {
            second = store.Id;
            await fixture.RunAsync(store, new TunerGenerator(2, 3), LoopFixture.Options(new Budget(Candidates: 20)));
        }
        Assert.NotEqual(first, second);
        Assert.Equal(Path.Combine(fixture.RunsRoot, first), RunStore.Resolve(fixture.RunsRoot, first, out _));
        Assert.Null(RunStore.Resolve(fixture.RunsRoot, "2026", out var ambiguous));
        Assert.Contains("matches 2 runs", ambiguous);
        Assert.Null(RunStore.Resolve(fixture.RunsRoot, "1999", out var missing));
        Assert.Contains("no run", missing);

        using var a = RunStore.OpenForReading(Path.Combine(fixture.RunsRoot, first));
        using var b = RunStore.OpenForReading(Path.Combine(fixture.RunsRoot, second));
        var diff = RunsCommand.DiffText(a, b);
        Assert.Contains($"A = {first}, B = {second}", diff);
        Assert.Contains("| gdn_decode_fake | all |", diff);
        Assert.Matches(@"\| gdn_decode_fake \| all \| [^|]+ \| [0-9.]+ \| [^|]+ \| [0-9.]+ \| [0-9.]+x \|", diff);

        // The report can be rebuilt from the events alone.
        File.Delete(Path.Combine(b.Root, RunStore.ReportFile));
        File.Delete(Path.Combine(b.Root, RunStore.PlotFile));
        Assert.Null(EvolutionRun.WriteReport(b));
        Assert.True(File.Exists(Path.Combine(b.Root, RunStore.ReportFile)));
        Assert.True(File.Exists(Path.Combine(b.Root, RunStore.PlotFile)));
    }

    [Fact]
    public void Exported_solutions_carry_the_tuned_values_in_the_declaring_file()
    {
        var source = new CandidateSource("k", "d",
            [new SourceFile("d/kernel.cu", "#include \"tile.h\"\n"), new SourceFile("d/tile.h", "// @tunable TILE: 32, 64 (default 32)\n#ifndef TILE\n#define TILE 32\n#endif\n")],
            "run", TargetKind.Portable, new Dictionary<string, string> { ["TILE"] = "64" });
        var candidate = new Candidate("001-00-abc", 1, 0, "d", "tuner", "000-00-xyz", source);
        var solution = SolutionExport.ToSolution(candidate, "sm_90", "d_agentforge_001-00-abc");
        Assert.Equal("d/kernel.cu::run", solution.Spec.EntryPoint);
        Assert.Equal(["sm_90"], solution.Spec.TargetHardware);
        Assert.Null(solution.Spec.Binding);
        Assert.Equal("#include \"tile.h\"\n", solution.Sources[0].Content);
        Assert.StartsWith("// Tuned by AgentForge (these values were -D flags in the harness):\n#define TILE 64\n// @tunable TILE", solution.Sources[1].Content);
        Assert.Contains("parent 000-00-xyz", solution.Description);
        Assert.True(TraceJson.ReadSolution(TraceJson.WriteSolution(solution), "solution.json").IsOk);
    }

    [Fact]
    public void Bands_follow_the_kernels_regimes_and_pick_representatives()
    {
        static Workload W(string axis, long value) => new($"u{value}", new Dictionary<string, long> { [axis] = value }, []);
        Assert.Equal("t<=128", WorkloadBands.Of("gdn_prefill_qk4_v8_d128_k_last", W("total_seq_len", 128)));
        Assert.Equal("t129-1024", WorkloadBands.Of("gdn_prefill_qk4_v8_d128_k_last", W("total_seq_len", 129)));
        Assert.Equal("t>=5710", WorkloadBands.Of("gdn_prefill_qk4_v8_d128_k_last", W("total_seq_len", 8192)));
        Assert.Equal("p<=32", WorkloadBands.Of("dsa_topk_indexer_fp8_h64_d128_topk2048_ps64", W("max_num_pages", 32)));
        Assert.Equal("t>1024", WorkloadBands.Of("moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048", W("seq_len", 14107)));
        Assert.Equal(WorkloadBands.All, WorkloadBands.Of("something_else", W("n", 3)));

        var entries = FakeProblem.Workloads;
        var one = WorkloadBands.Representative(FakeProblem.DefinitionName, entries, 1);
        Assert.Equal(3, one.Count); // one per band
        var two = WorkloadBands.Representative(FakeProblem.DefinitionName, entries, 2);
        Assert.Equal(4, two.Count); // b<=4 has two workloads, the others one
        Assert.Equal([1L, 64L], WorkloadBands.SmallAndLarge(FakeProblem.DefinitionName, entries).Select(e => e.Workload.Axes["batch_size"]));
    }
}
