using System.Text.Json;
using AgentForge.Tools.Agents;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Agents;

/// <summary>The tools over a fake backend: candidate ids, results, and the errors a model gets back.</summary>
public sealed class ToolBehaviourTests : IDisposable
{
    private const string Definition = "gdn_decode_qk4_v8_d128_k_last";
    private readonly string scratch = Directory.CreateTempSubdirectory("afg-behaviour-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<JsonElement> CallAsync(ToolServices services, string tool, string arguments)
    {
        var function = ToolCatalog.Create(services).Single(f => f.Name == tool);
        using var json = JsonDocument.Parse(arguments);
        using var result = JsonDocument.Parse(await ToolCatalog.InvokeAsync(function, json.RootElement, TestContext.Current.CancellationToken));
        return result.RootElement.Clone();
    }

    private ToolServices Services(FakeBackend backend, IChampionStore? champions = null, ICandidateSink? sink = null) =>
        new(backend, new CandidateStore(Path.Combine(scratch, "candidates")), champions ?? new FakeChampions(), sink ?? new FakeSink());

    [Fact]
    public async Task Compile_returns_a_content_addressed_id_that_later_calls_accept()
    {
        var backend = FakeBackend.Shared();
        var services = Services(backend);
        const string sources = "{\"kernel.cu\": \"void run() {}\"}";

        var first = await CallAsync(services, "compile", $"{{\"definition\": \"{Definition}\", \"sources\": {sources}, \"target\": \"arch_specific\", \"defines\": {{\"TILE\": \"64\"}}}}");
        var again = await CallAsync(services, "compile", $"{{\"definition\": \"{Definition}\", \"sources\": {sources}, \"target\": \"arch_specific\", \"defines\": {{\"TILE\": \"64\"}}}}");
        var other = await CallAsync(services, "compile", $"{{\"definition\": \"{Definition}\", \"sources\": {sources}}}");

        Assert.True(first.GetProperty("ok").GetBoolean());
        var id = first.GetProperty("candidate_id").GetString()!;
        Assert.Equal(id, again.GetProperty("candidate_id").GetString());
        Assert.NotEqual(id, other.GetProperty("candidate_id").GetString());
        Assert.Equal(TargetKind.ArchSpecific, backend.Built[0].Target);
        Assert.Equal("64", backend.Built[0].Defines!["TILE"]);

        // Another process (a fresh store over the same folder) resolves the id from disk.
        var fresh = new ToolServices(backend, new CandidateStore(Path.Combine(scratch, "candidates")), new FakeChampions(), new FakeSink());
        var byId = await CallAsync(fresh, "compile", $"{{\"definition\": \"{Definition}\", \"candidate_id\": \"{id}\"}}");
        Assert.Equal(id, byId.GetProperty("candidate_id").GetString());
        Assert.Equal(TargetKind.ArchSpecific, backend.Built[^1].Target);
    }

    [Theory]
    [InlineData("{\"definition\": \"gdn_decode_qk4_v8_d128_k_last\"}", "give sources")]
    [InlineData("{\"definition\": \"gdn_decode_qk4_v8_d128_k_last\", \"candidate_id\": \"c000000000000\"}", "unknown candidate_id 'c000000000000'")]
    [InlineData("{\"definition\": \"gdn_decode_qk4_v8_d128_k_last\", \"sources\": {\"../x.cu\": \"\"}}", "must be relative and must not contain '..'")]
    [InlineData("{\"definition\": \"gdn_decode_qk4_v8_d128_k_last\", \"sources\": {\"k.cu\": \"\"}, \"entry\": \"run me\"}", "entry 'run me' is not a C identifier")]
    [InlineData("{\"definition\": \"gdn_decode_qk4_v8_d128_k_last\", \"sources\": {\"notes.txt\": \"\"}}", "no .cu source")]
    public async Task Bad_candidates_are_error_values(string arguments, string message)
    {
        var result = await CallAsync(Services(FakeBackend.Shared()), "compile", arguments);

        Assert.False(result.GetProperty("ok").GetBoolean());
        Assert.Contains(message, result.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Benchmark_reports_latency_speedup_and_floor_per_workload()
    {
        var backend = new FakeBackend(FakeBackend.SharedDatasetLoaded, FakeBackend.CacheRoot)
        {
            Hello = FakeBackend.FakeHello,
            Outcome = w => new WorkloadOutcome(w, EvaluationStatus.PASSED, "", new Correctness(1e-3, 2e-3), 0.02, 0.4, [0.02], null, "cuda_events; reference: torch_cuda_events"),
        };

        var result = await CallAsync(Services(backend), "benchmark", $"{{\"definition\": \"{Definition}\", \"sources\": {{\"k.cu\": \"void run() {{}}\"}}, \"workloads\": [\"901e\", \"a5714b69\"]}}");

        Assert.False(result.TryGetProperty("error", out _));
        Assert.Equal("Fake H100", result.GetProperty("device").GetString());
        Assert.Equal(2, result.GetProperty("passed").GetInt32());
        Assert.Equal(20.0, result.GetProperty("mean_speedup").GetDouble(), 9);
        var first = result.GetProperty("workloads")[0];
        Assert.Equal("901e5104-dccb-4c3f-ae13-ef4d31a4d456", first.GetProperty("uuid").GetString());
        Assert.Equal(0.02, first.GetProperty("latency_ms").GetDouble());
        Assert.Equal(0.4, first.GetProperty("reference_latency_ms").GetDouble());
    }

    [Fact]
    public async Task Check_correctness_gives_statuses_and_the_log_of_failures()
    {
        var backend = new FakeBackend(FakeBackend.SharedDatasetLoaded, FakeBackend.CacheRoot)
        {
            Hello = FakeBackend.FakeHello,
            Outcome = w => new WorkloadOutcome(w, EvaluationStatus.INCORRECT_NUMERICAL, "trial 0: output: 12 of 4096 elements exceed atol/rtol", new Correctness(3.5, 0.9), null, null, [], null, ""),
        };

        var result = await CallAsync(Services(backend), "check_correctness", $"{{\"definition\": \"{Definition}\", \"sources\": {{\"k.cu\": \"void run() {{}}\"}}, \"workloads\": [\"901e\"]}}");

        Assert.Equal(0, result.GetProperty("passed").GetInt32());
        var check = Assert.Single(result.GetProperty("workloads").EnumerateArray().ToList());
        Assert.Equal("INCORRECT_NUMERICAL", check.GetProperty("status").GetString());
        Assert.Equal(3.5, check.GetProperty("max_relative_error").GetDouble());
        Assert.Contains("exceed atol/rtol", check.GetProperty("log").GetString());
    }

    [Fact]
    public async Task A_compile_error_comes_back_with_the_compiler_log()
    {
        var backend = new FakeBackend(FakeBackend.SharedDatasetLoaded, FakeBackend.CacheRoot)
        {
            Hello = FakeBackend.FakeHello,
            Build = c => BuildResult.Failed("kernel.cu(3): error: identifier \"blockIdx_x\" is undefined", "k", "sm_90"),
        };

        var result = await CallAsync(Services(backend), "check_correctness", $"{{\"definition\": \"{Definition}\", \"sources\": {{\"k.cu\": \"void run() {{}}\"}}}}");

        Assert.StartsWith("COMPILE_ERROR", result.GetProperty("error").GetString());
        Assert.Contains("identifier \"blockIdx_x\" is undefined", result.GetProperty("compile_log").GetString());
    }

    [Fact]
    public async Task Get_best_reads_the_newest_run_and_its_traces()
    {
        var runs = Path.Combine(scratch, "runs");
        var dataset = FakeBackend.Shared().Dataset;
        var workload = dataset.Workloads(Definition)[0].Workload;
        foreach (var (run, name) in new[] { ("20261120T000000Z-gated_delta_net", "old"), ("20261125T000000Z-gated_delta_net", "champ") })
        {
            var folder = Path.Combine(runs, run, "best", Definition);
            Directory.CreateDirectory(folder);
            var solution = CandidateSolutions.ToSolution(new CandidateSource(name, Definition, [new SourceFile("k.cu", $"// {name}\nvoid run() {{}}")]), name, "evolve");
            File.WriteAllText(Path.Combine(folder, "solution.json"), TraceJson.WriteSolution(solution));
            var evaluation = new Evaluation(EvaluationStatus.PASSED, new TraceEnvironment("H100", new Dictionary<string, string>()), "2026-11-25T00:00:00.000000", "", new Correctness(1e-3, 1e-3), new Performance(0.01, 0.3, 30));
            File.WriteAllText(Path.Combine(runs, run, "traces.jsonl"), TraceJson.WriteTrace(new AgentForge.Tools.Trace.Trace(Definition, workload, name, evaluation)) + "\n");
        }
        var services = Services(FakeBackend.Shared(), new RunFolderChampionStore(runs));

        var result = await CallAsync(services, "get_best", $"{{\"definition\": \"{Definition}\"}}");

        Assert.True(result.TryGetProperty("mean_speedup", out _), result.ToString());
        Assert.Equal("20261125T000000Z-gated_delta_net", result.GetProperty("source").GetString());
        Assert.Equal("champ", result.GetProperty("solution_name").GetString());
        Assert.Equal("k.cu::run", result.GetProperty("entry_point").GetString());
        Assert.StartsWith("// champ", result.GetProperty("sources").GetProperty("k.cu").GetString());
        Assert.Equal(30, result.GetProperty("mean_speedup").GetDouble());
        Assert.Equal(workload.Uuid, result.GetProperty("workloads")[0].GetProperty("uuid").GetString());
    }

    [Fact]
    public async Task Submit_candidate_hands_the_candidate_and_note_to_the_sink()
    {
        var sink = new FakeSink();
        var services = Services(FakeBackend.Shared(), sink: sink);

        var result = await CallAsync(services, "submit_candidate", $"{{\"definition\": \"{Definition}\", \"sources\": {{\"k.cu\": \"void go() {{}}\"}}, \"entry\": \"go\", \"note\": \"vectorized loads\"}}");

        Assert.Equal("s1", result.GetProperty("submission_id").GetString());
        var submission = Assert.Single(sink.Received);
        Assert.Equal(result.GetProperty("candidate_id").GetString(), submission.CandidateId);
        Assert.Equal("go", submission.Candidate.EntrySymbol);
        Assert.Equal("vectorized loads", submission.Note);
    }
}
