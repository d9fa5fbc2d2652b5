using System.Text.Json;
using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Evolution;

public sealed class EvolutionLoopTests
{
    [Fact]
    public async Task The_tuner_finds_the_fastest_setting_and_the_run_folder_shows_every_candidate()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var summary = await fixture.RunAsync(store, new TunerGenerator(2, 3), LoopFixture.Options(new Budget(Candidates: 20)));

        // BLOCK has four values; 64 is fastest in the fake. The baseline (32) is the seed.
        Assert.StartsWith("generator exhausted", summary.StopReason);
        var champion = Assert.Single(summary.Champions, c => c.Band == WorkloadBands.All);
        var records = RunReplay.From(store.ReadEvents()).Archive.Records();
        Assert.Equal("64", records.Single(r => r.Id == champion.CandidateId).Defines["BLOCK"]);
        Assert.Equal(4, records.Count); // the seed and the three other settings, each once

        foreach (var file in new[] { "run.json", "events.jsonl", "traces.jsonl", "archive.json", "report.md", "progress.png" })
        {
            Assert.True(File.Exists(Path.Combine(store.Root, file)), file);
        }
        foreach (var record in records)
        {
            var folder = store.CandidateFolder(record.Id);
            Assert.True(File.Exists(Path.Combine(folder, "sources", FakeProblem.DefinitionName, "kernel.cu")), record.Id);
            Assert.True(File.Exists(Path.Combine(folder, "build.log")), record.Id);
            Assert.True(File.Exists(Path.Combine(folder, "candidate.json")), record.Id);
        }
        Assert.True(File.Exists(Path.Combine(store.CandidateFolder(champion.CandidateId), "gate.json")));

        // best/<definition>/solution.json is a FlashInfer-Bench solution with the setting written into the source.
        var solution = TraceJson.ReadSolutionFile(Path.Combine(store.Root, "best", FakeProblem.DefinitionName, "solution.json"));
        Assert.True(solution.IsOk, string.Join("\n", solution.Errors));
        Assert.Equal($"{FakeProblem.DefinitionName}/kernel.cu::run", solution.Value.Spec.EntryPoint);
        Assert.Equal("cuda", solution.Value.Spec.Language);
        Assert.StartsWith("// Tuned by AgentForge", solution.Value.Sources[0].Content);
        Assert.Contains("#define BLOCK 64\n", solution.Value.Sources[0].Content);

        // Traces: one line per workload of every evaluation, readable as FlashInfer-Bench traces.
        var (traces, errors) = TraceJson.ReadTraceFile(Path.Combine(store.Root, "traces.jsonl"));
        Assert.Empty(errors);
        Assert.Contains(traces, t => t.Trace.Solution == $"{FakeProblem.DefinitionName}_agentforge_{champion.CandidateId}");

        var info = store.ReadRunInfo()!;
        Assert.Equal(3UL, info.Seed);
        Assert.Equal("0123abc", info.GitCommit);
        Assert.Equal("Fake GPU (sm_90, 132 SMs)", info.Environment.Gpu);
        Assert.Equal("tuner", info.Generator);

        var archive = JsonDocument.Parse(File.ReadAllText(Path.Combine(store.Root, "archive.json"))).RootElement;
        Assert.Equal(4, archive.GetProperty("population").GetArrayLength());
        var all = archive.GetProperty("champions").EnumerateArray().Single(c => c.GetProperty("band").GetString() == "all");
        Assert.Equal(champion.CandidateId, all.GetProperty("candidate_id").GetString());
        Assert.False(string.IsNullOrEmpty(all.GetProperty("parent_id").GetString())); // lineage: the tuned setting's parent

        var report = File.ReadAllText(Path.Combine(store.Root, "report.md"));
        Assert.Contains("| gdn_decode_fake | all | 4 |", report);
        Assert.Contains("progress.png", report);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(store.Root, "progress.png"))[..4]);
    }

    [Fact]
    public async Task Planted_cheats_never_become_champions()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var generator = new ScriptedGenerator(
            [FakeProblem.Kernel("caching", 1.0, tunable: false), FakeProblem.Kernel("write-once", 1.0, tunable: false)],
            [FakeProblem.Kernel("fingerprint", 1.0, tunable: false), FakeProblem.Kernel("wrong", 0.1, tunable: false), FakeProblem.Kernel("crash", 0.1, tunable: false)],
            [FakeProblem.Kernel("honest", 0.5, tunable: false, extra: "#error not ready\n"), FakeProblem.Kernel("honest", 0.5, tunable: false)]);
        var summary = await fixture.RunAsync(store, generator, LoopFixture.Options(new Budget(Candidates: 50)));

        var records = RunReplay.From(store.ReadEvents()).Archive.Records().ToDictionary(r => r.Id);
        Assert.True(records.Count == 8, string.Join("\n", records.Values.Select(r => $"{r.Id} {r.Verdict} {r.Reason}")));
        var champion = Assert.Single(summary.Champions, c => c.Band == WorkloadBands.All);
        Assert.Contains("behaviour=honest cost=0.5", File.ReadAllText(Path.Combine(store.CandidateFolder(champion.CandidateId), "sources", FakeProblem.DefinitionName, "kernel.cu")));
        var verdicts = generator.Observed.Select(r => (Kernel: File.ReadAllText(Path.Combine(store.CandidateFolder(r.Id), "sources", FakeProblem.DefinitionName, "kernel.cu")), r.Verdict, r.Reason)).ToList();
        Assert.Equal(CandidateVerdict.Rejected, verdicts.Single(v => v.Kernel.Contains("behaviour=caching")).Verdict);
        Assert.Equal(CandidateVerdict.Rejected, verdicts.Single(v => v.Kernel.Contains("behaviour=write-once")).Verdict);
        Assert.Equal(CandidateVerdict.Failed, verdicts.Single(v => v.Kernel.Contains("behaviour=fingerprint")).Verdict);
        Assert.Equal(CandidateVerdict.Failed, verdicts.Single(v => v.Kernel.Contains("behaviour=wrong")).Verdict);
        Assert.Contains("RUNTIME_ERROR", verdicts.Single(v => v.Kernel.Contains("behaviour=crash")).Reason);
        Assert.Equal(CandidateVerdict.CompileError, verdicts.Single(v => v.Kernel.Contains("#error")).Verdict);
        Assert.Equal(CandidateVerdict.Promoted, verdicts.Single(v => v.Kernel.Contains("behaviour=honest cost=0.5") && !v.Kernel.Contains("#error")).Verdict);
        Assert.Contains("error: #error not ready", records.Values.Single(r => r.Verdict == CandidateVerdict.CompileError).Reason);
    }

    [Fact]
    public async Task Equal_code_is_evaluated_once()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var kernel = FakeProblem.Kernel("honest", 2.0, tunable: false);
        var generator = new ScriptedGenerator([kernel, kernel], [kernel]);
        await fixture.RunAsync(store, generator, LoopFixture.Options(new Budget(Candidates: 50)));
        Assert.Single(generator.Observed, r => r.Generation > 0);
        Assert.Equal(2, store.ReadEvents().OfType<CandidateSkipped>().Count());
    }

    [Fact]
    public async Task A_slower_candidate_stops_after_screening()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var generator = new ScriptedGenerator([FakeProblem.Kernel("honest", 3.0, tunable: false)]);
        await fixture.RunAsync(store, generator, LoopFixture.Options(new Budget(Candidates: 50)));
        var slow = Assert.Single(generator.Observed, r => r.Generation == 1);
        Assert.Equal(CandidateVerdict.Slower, slow.Verdict);
        Assert.Equal(3, slow.Workloads.Count); // one workload per band
        Assert.StartsWith("screening: not faster", slow.Reason);
    }
}
