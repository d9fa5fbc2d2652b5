using AgentForge.Tools.Oracle;

namespace AgentForge.Tests.Oracle;

public sealed class OraclePoolTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("agentforge-oracle-pool-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Concurrent_requests_run_in_different_python_processes()
    {
        FakeTorch.RequirePython();
        // Each call reports its process id and holds its process long enough for the others to need another.
        const string reference = "import os, time, torch\n\ndef run(x):\n    time.sleep(1.0)\n    return torch.Tensor([float(os.getpid())])\n";
        var inputs = FakeTorch.WriteInputs(_work, ("x", "float32", [1]));
        await using var pool = OraclePool.Create(FakeTorch.Options(), size: 3);

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => pool.RunAsync(
            new OracleRequest("pool_def", reference, ["x"], ["out"], inputs, Path.Combine(_work, $"out{i}.json")) { Device = "cpu" },
            TestContext.Current.CancellationToken)));

        var pids = results.Select(r => FakeTorch.ReadOutput(Assert.IsType<OracleSuccess>(r).OutputsPath, "out")[0]).ToHashSet();
        Assert.Equal(3, pids.Count);
        Assert.All(pool.Oracles, o => Assert.Equal(1, ((OracleProcess)o).Starts));
    }

    [Fact]
    public async Task More_requests_than_processes_queue_for_an_idle_one()
    {
        var fakes = new List<CountingOracle>();
        await using var pool = new OraclePool(2, _ =>
        {
            var fake = new CountingOracle();
            fakes.Add(fake);
            return fake;
        });
        var request = new OracleRequest("d", "", [], ["out"], "in", "out");
        await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => pool.RunAsync(request, TestContext.Current.CancellationToken)));
        Assert.Equal(10, fakes.Sum(f => f.Runs));
        Assert.All(fakes, f => Assert.Equal(1, f.MaxConcurrent));
    }

    private sealed class CountingOracle : IReferenceOracle
    {
        private int _active;

        public int Runs { get; private set; }

        public int MaxConcurrent { get; private set; }

        public Task<OracleProbeResult> ProbeAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public async Task<OracleResult> RunAsync(OracleRequest request, CancellationToken cancellationToken)
        {
            var active = Interlocked.Increment(ref _active);
            MaxConcurrent = Math.Max(MaxConcurrent, active);
            await Task.Delay(10, cancellationToken);
            Runs++;
            Interlocked.Decrement(ref _active);
            return new OracleSuccess(request.OutputPath, null);
        }
    }
}
