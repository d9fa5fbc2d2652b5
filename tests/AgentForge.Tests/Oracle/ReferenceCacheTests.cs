using AgentForge.Tools.Oracle;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Oracle;

public sealed class ReferenceCacheTests : IDisposable
{
    private const string CountingReference = """
        import os

        COUNTER = os.environ["AGENTFORGE_TEST_COUNTER"]

        def run(x):
            with open(COUNTER, "a") as f:
                f.write("run\n")
            return x
        """;

    private readonly string _work = Directory.CreateTempSubdirectory("agentforge-refcache-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private string Counter => Path.Combine(_work, "runs.txt");

    private int PythonRuns => File.Exists(Counter) ? File.ReadAllLines(Counter).Length : 0;

    private OracleOptions Options => FakeTorch.Options() with
    {
        Environment = new Dictionary<string, string> { ["PYTHONPATH"] = FakeTorch.Directory, ["AGENTFORGE_TEST_COUNTER"] = Counter },
    };

    private OracleRequest Request(ulong seed = 1, OracleTiming? timing = null, string reference = CountingReference) =>
        new("cached_def", reference, ["x"], ["out"], FakeTorch.WriteInputs(_work, ("x", "float32", [seed])), Path.Combine(_work, "unused.json"))
        {
            Device = "cpu",
            Timing = timing,
            CacheKey = new ReferenceKey("ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12", "uuid-1", 0, seed),
        };

    [Fact]
    public async Task A_cached_result_is_returned_without_running_python()
    {
        FakeTorch.RequirePython();
        var process = new OracleProcess(Options);
        await using var oracle = new CachingOracle(process, new ReferenceCache(Path.Combine(_work, "cache")));

        var first = Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request(), TestContext.Current.CancellationToken));
        var second = Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request(), TestContext.Current.CancellationToken));

        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Equal(first.OutputsPath, second.OutputsPath);
        Assert.StartsWith(Path.Combine(_work, "cache", "cached_def", "ab12cd34ef56ab12", "uuid-1"), first.OutputsPath);
        Assert.Equal([1.0], FakeTorch.ReadOutput(second.OutputsPath, "out"));
        Assert.Equal(1, PythonRuns);
        Assert.Equal(1, process.RunsSent);
        Assert.Equal((1, 1), (oracle.Hits, oracle.Misses));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(first.OutputsPath)!, "*staging*"));
    }

    [Fact]
    public async Task A_new_oracle_on_the_same_directory_reuses_the_results()
    {
        FakeTorch.RequirePython();
        var cache = Path.Combine(_work, "cache");
        await using (var oracle = new CachingOracle(new OracleProcess(Options), new ReferenceCache(cache)))
        {
            await oracle.RunAsync(Request(), TestContext.Current.CancellationToken);
        }
        var process = new OracleProcess(Options);
        await using var again = new CachingOracle(process, new ReferenceCache(cache));
        Assert.True(Assert.IsType<OracleSuccess>(await again.RunAsync(Request(), TestContext.Current.CancellationToken)).FromCache);
        Assert.Equal(0, process.Starts);
    }

    [Fact]
    public async Task Another_seed_trial_or_definition_hash_is_a_miss()
    {
        FakeTorch.RequirePython();
        await using var oracle = new CachingOracle(new OracleProcess(Options), new ReferenceCache(Path.Combine(_work, "cache")));
        var request = Request();
        await oracle.RunAsync(request, TestContext.Current.CancellationToken);
        await oracle.RunAsync(Request(seed: 2), TestContext.Current.CancellationToken);
        await oracle.RunAsync(request with { CacheKey = request.CacheKey! with { Trial = 1 } }, TestContext.Current.CancellationToken);
        await oracle.RunAsync(request with { CacheKey = request.CacheKey! with { DefinitionHash = "ab12cd34ef56ab12ffff" } }, TestContext.Current.CancellationToken);
        Assert.Equal(4, PythonRuns);
    }

    [Fact]
    public async Task A_request_for_latency_misses_an_entry_without_one_then_hits()
    {
        FakeTorch.RequirePython();
        await using var oracle = new CachingOracle(new OracleProcess(Options), new ReferenceCache(Path.Combine(_work, "cache")));
        await oracle.RunAsync(Request(), TestContext.Current.CancellationToken);
        var timed = Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request(timing: new OracleTiming(0, 2)), TestContext.Current.CancellationToken));
        Assert.False(timed.FromCache);
        Assert.NotNull(timed.LatencyMs);
        var again = Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request(timing: new OracleTiming(0, 2)), TestContext.Current.CancellationToken));
        Assert.True(again.FromCache);
        Assert.Equal(timed.LatencyMs, again.LatencyMs);
        var untimed = Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request(), TestContext.Current.CancellationToken));
        Assert.True(untimed.FromCache);
        Assert.Equal(1 + 3, PythonRuns); // one untimed call, then one call and two timed calls
    }

    [Fact]
    public async Task Failures_are_not_cached()
    {
        FakeTorch.RequirePython();
        var process = new OracleProcess(Options);
        await using var oracle = new CachingOracle(process, new ReferenceCache(Path.Combine(_work, "cache")));
        var failing = Request(reference: "def run(x):\n    raise RuntimeError('no')\n");
        Assert.IsType<OracleFailure>(await oracle.RunAsync(failing, TestContext.Current.CancellationToken));
        Assert.IsType<OracleFailure>(await oracle.RunAsync(failing, TestContext.Current.CancellationToken));
        Assert.Equal(2, process.RunsSent);
        Assert.Empty(Directory.GetFiles(Path.Combine(_work, "cache"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Concurrent_requests_for_one_key_run_the_reference_once()
    {
        FakeTorch.RequirePython();
        await using var oracle = new CachingOracle(OraclePool.Create(Options, 2), new ReferenceCache(Path.Combine(_work, "cache")));
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => oracle.RunAsync(Request(), TestContext.Current.CancellationToken)));
        Assert.All(results, r => Assert.IsType<OracleSuccess>(r));
        Assert.Equal(1, PythonRuns);
    }

    [Fact]
    public void Entries_round_trip_and_a_foreign_key_in_the_same_place_is_a_miss()
    {
        var cache = new ReferenceCache(Path.Combine(_work, "cache"));
        var key = new ReferenceKey("0123456789abcdef0123", "u", 2, 99);
        var staged = cache.StagingPath("d", key);
        File.WriteAllText(staged, "outputs");
        var entry = cache.Commit("d", key, staged, 1.5, new OracleTiming(1, 5), "cuda");

        var hit = cache.TryGet("d", key);
        Assert.Equal(entry.OutputsPath, hit!.OutputsPath);
        Assert.Equal(1.5, hit.LatencyMs);
        Assert.Equal(new OracleTiming(1, 5), hit.Timing);
        Assert.Equal("outputs", File.ReadAllText(hit.OutputsPath));
        // Same 16-character prefix, different hash: shares the directory, must not share the entry.
        Assert.Null(cache.TryGet("d", key with { DefinitionHash = "0123456789abcdef9999" }));
    }

    [Fact]
    public void Names_from_datasets_cannot_escape_the_cache_directory()
    {
        var root = Path.Combine(_work, "cache");
        var cache = new ReferenceCache(root);
        var path = cache.StagingPath("../../etc", new ReferenceKey("../..", "../x", 0, 0));
        Assert.StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, Path.GetFullPath(path));
    }

    [Fact]
    public void Requests_for_an_input_set_carry_scalars_absent_inputs_and_the_cache_key()
    {
        var definition = new Definition(
            "gdn_like",
            "gdn",
            [new("n", new VarAxis())],
            [
                new("q", new TensorSpec(["n"], DType.BFloat16)),
                new("state", new TensorSpec(["n"], DType.Float32, Optional: true)),
                new("scale", new TensorSpec(null, DType.Float32)),
            ],
            [new("output", new TensorSpec(["n"], DType.BFloat16))],
            "def run(q, state, scale): return q",
            [],
            null,
            []);
        var inputs = new InputSet("gdn_like", "uuid-9", 2, 1234,
        [
            new("q", new TensorArgument(HostTensor.Allocate(DType.BFloat16, [4]))),
            new("state", new AbsentArgument()),
            new("scale", new ScalarArgument(DType.Float32, ScalarValue.Of(0.125))),
        ]);

        var request = OracleRequest.For(definition, inputs, "in.safetensors", "out.safetensors", new OracleTiming(1, 5));

        Assert.Equal(["q", "state", "scale"], request.ArgOrder);
        Assert.Equal(["output"], request.Outputs);
        Assert.Equal(["state"], request.Absent);
        Assert.Equal(0.125, request.Scalars["scale"].Value.AsDouble);
        Assert.Equal(DType.BFloat16, request.OutputDTypes["output"]);
        Assert.Equal(new ReferenceKey(DefinitionHash.Of(definition), "uuid-9", 2, 1234), request.CacheKey);
        Assert.Equal("cuda", request.Device);
    }

    [Fact]
    public void The_definition_hash_follows_code_and_interface_not_prose()
    {
        var definition = new Definition("d", "op", [new("n", new VarAxis())], [new("x", new TensorSpec(["n"], DType.Float32))],
            [new("y", new TensorSpec(["n"], DType.Float32))], "def run(x): return x", ["tag"], "words", []);
        var hash = DefinitionHash.Of(definition);
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, DefinitionHash.Of(definition with { Description = "other words", Tags = [] }));
        Assert.NotEqual(hash, DefinitionHash.Of(definition with { Reference = "def run(x): return x * 2" }));
        Assert.NotEqual(hash, DefinitionHash.Of(definition with { Outputs = [new("y", new TensorSpec(["n"], DType.BFloat16))] }));
    }
}
