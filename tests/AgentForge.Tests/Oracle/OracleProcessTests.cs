using AgentForge.Tools.Oracle;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Oracle;

public sealed class OracleProcessTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("agentforge-oracle-test-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private OracleRequest Request(string reference, string[] argOrder, string inputsPath, string definition = "test_def") =>
        new(definition, reference, argOrder, ["out"], inputsPath, Path.Combine(_work, $"out-{Guid.NewGuid():N}.json")) { Device = "cpu" };

    [Fact]
    public async Task Probe_reports_python_and_torch()
    {
        FakeTorch.RequirePython();
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var probe = await oracle.ProbeAsync(TestContext.Current.CancellationToken);
        Assert.True(probe.IsReady, probe.Failure?.ToString());
        Assert.Equal("0.0-fake", probe.Environment!.Torch);
        Assert.False(probe.Environment.CudaAvailable);
        Assert.StartsWith("3.", probe.Environment.Python);
    }

    [Fact]
    public async Task Runs_the_reference_verbatim_with_positional_arguments_scalars_and_none()
    {
        FakeTorch.RequirePython();
        // The reference checks what it receives: order, Python types after dtype, None for absent.
        const string reference = """
            import torch

            @torch.no_grad()
            def run(x, scale, state, steps, flag, y):
                assert isinstance(x, torch.Tensor) and x.tolist() == [1.0, 2.0], x.tolist()
                assert type(scale) is float and scale == 0.5, repr(scale)
                assert state is None
                assert type(steps) is int and steps == 3, repr(steps)
                assert type(flag) is bool and flag is True, repr(flag)
                assert y.tolist() == [10.0, 20.0]
                print("the reference's own print must not reach the protocol")
                return x * scale + y * steps
            """;
        var inputs = FakeTorch.WriteInputs(_work, ("x", "float32", [1, 2]), ("y", "float32", [10, 20]));
        var request = Request(reference, ["x", "scale", "state", "steps", "flag", "y"], inputs) with
        {
            Scalars = new Dictionary<string, OracleScalar>
            {
                ["scale"] = new(DType.Float32, ScalarValue.Of(0.5)),
                ["steps"] = new(DType.Int32, ScalarValue.Of(3L)),
                ["flag"] = new(DType.Bool, ScalarValue.Of(true)),
            },
            Absent = ["state"],
        };
        await using var oracle = new OracleProcess(FakeTorch.Options());

        var result = await oracle.RunAsync(request, TestContext.Current.CancellationToken);

        var success = Assert.IsType<OracleSuccess>(result, exactMatch: false);
        Assert.Equal(request.OutputPath, success.OutputsPath);
        Assert.Null(success.LatencyMs);
        Assert.Equal([30.5, 61.0], FakeTorch.ReadOutput(success.OutputsPath, "out"));
    }

    [Fact]
    public async Task A_raising_reference_gives_its_message_and_python_traceback()
    {
        FakeTorch.RequirePython();
        const string reference = """
            def helper(x):
                raise ValueError("boom")

            def run(x):
                return helper(x)
            """;
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var result = await oracle.RunAsync(Request(reference, ["x"], FakeTorch.WriteInputs(_work, ("x", "float32", [1]))), TestContext.Current.CancellationToken);

        var failure = Assert.IsType<OracleFailure>(result);
        Assert.Equal(OracleFailureKind.ReferenceError, failure.Kind);
        Assert.Contains("ValueError: boom", failure.Message);
        Assert.Contains("test_def", failure.Message);
        Assert.Contains("File \"<reference test_def>\", line 2, in helper", failure.Traceback);
        Assert.Contains("raise ValueError(\"boom\")", failure.Traceback); // the source line, quoted
        Assert.DoesNotContain("oracle_server", failure.Traceback);

        // The process survives a raising reference.
        var again = await oracle.RunAsync(Request("def run(x):\n    return x\n", ["x"], FakeTorch.WriteInputs(_work, ("x", "float32", [1]))), TestContext.Current.CancellationToken);
        Assert.IsType<OracleSuccess>(again);
        Assert.Equal(1, oracle.Starts);
    }

    [Theory]
    [InlineData("def run(x:\n    pass\n", "failed to load")]
    [InlineData("x = 1\n", "defines no function `run`")]
    [InlineData("def run(x):\n    return (x, x)\n", "returned 2 value(s)")]
    [InlineData("def run(x):\n    return 'text'\n", "returned str")]
    public async Task Unusable_references_are_reference_errors(string reference, string message)
    {
        FakeTorch.RequirePython();
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var result = await oracle.RunAsync(Request(reference, ["x"], FakeTorch.WriteInputs(_work, ("x", "float32", [1]))), TestContext.Current.CancellationToken);
        var failure = Assert.IsType<OracleFailure>(result);
        Assert.Equal(OracleFailureKind.ReferenceError, failure.Kind);
        Assert.Contains(message, failure.Message);
    }

    [Fact]
    public async Task A_missing_input_is_an_input_error()
    {
        FakeTorch.RequirePython();
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var result = await oracle.RunAsync(Request("def run(x, y):\n    return x\n", ["x", "y"], FakeTorch.WriteInputs(_work, ("x", "float32", [1]))), TestContext.Current.CancellationToken);
        var failure = Assert.IsType<OracleFailure>(result);
        Assert.Equal(OracleFailureKind.InputError, failure.Kind);
        Assert.Contains("input 'y'", failure.Message);

        var missingFile = await oracle.RunAsync(Request("def run(x):\n    return x\n", ["x"], Path.Combine(_work, "absent.json")), TestContext.Current.CancellationToken);
        Assert.Equal(OracleFailureKind.InputError, Assert.IsType<OracleFailure>(missingFile).Kind);
    }

    [Fact]
    public async Task Writes_to_fd_1_do_not_corrupt_the_protocol()
    {
        FakeTorch.RequirePython();
        const string reference = "import os, sys\n\ndef run(x):\n    os.write(1, b'native noise\\n')\n    sys.stdout.write('python noise\\n')\n    return x\n";
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var result = await oracle.RunAsync(Request(reference, ["x"], FakeTorch.WriteInputs(_work, ("x", "float32", [4]))), TestContext.Current.CancellationToken);
        Assert.Equal([4.0], FakeTorch.ReadOutput(Assert.IsType<OracleSuccess>(result).OutputsPath, "out"));
    }

    [Fact]
    public async Task A_crash_is_reported_with_stderr_and_the_next_request_restarts_python()
    {
        FakeTorch.RequirePython();
        const string reference = "import os, sys\n\ndef run(x):\n    sys.stderr.write('about to die\\n')\n    sys.stderr.flush()\n    os._exit(7)\n";
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var inputs = FakeTorch.WriteInputs(_work, ("x", "float32", [1]));

        var failure = Assert.IsType<OracleFailure>(await oracle.RunAsync(Request(reference, ["x"], inputs), TestContext.Current.CancellationToken));
        Assert.Equal(OracleFailureKind.Crashed, failure.Kind);
        Assert.Contains("exited with code 7", failure.Message);
        Assert.Contains("about to die", failure.Message);

        Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request("def run(x):\n    return x\n", ["x"], inputs), TestContext.Current.CancellationToken));
        Assert.Equal(2, oracle.Starts);
    }

    [Fact]
    public async Task A_request_past_its_timeout_kills_python_and_the_next_one_runs()
    {
        FakeTorch.RequirePython();
        await using var oracle = new OracleProcess(FakeTorch.Options(requestTimeout: TimeSpan.FromSeconds(3)));
        var inputs = FakeTorch.WriteInputs(_work, ("x", "float32", [1]));

        var failure = Assert.IsType<OracleFailure>(await oracle.RunAsync(Request("import time\n\ndef run(x):\n    time.sleep(60)\n", ["x"], inputs), TestContext.Current.CancellationToken));
        Assert.Equal(OracleFailureKind.Timeout, failure.Kind);

        Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request("def run(x):\n    return x\n", ["x"], inputs), TestContext.Current.CancellationToken));
        Assert.Equal(2, oracle.Starts);
    }

    [Fact]
    public async Task Cancellation_mid_request_throws_and_leaves_the_oracle_usable()
    {
        FakeTorch.RequirePython();
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var inputs = FakeTorch.WriteInputs(_work, ("x", "float32", [1]));
        Assert.True((await oracle.ProbeAsync(TestContext.Current.CancellationToken)).IsReady);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => oracle.RunAsync(Request("import time\n\ndef run(x):\n    time.sleep(60)\n", ["x"], inputs), cancel.Token));

        Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request("def run(x):\n    return x\n", ["x"], inputs), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Timing_returns_a_median_latency_when_asked()
    {
        FakeTorch.RequirePython();
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var request = Request("import time\n\ndef run(x):\n    time.sleep(0.01)\n    return x\n", ["x"], FakeTorch.WriteInputs(_work, ("x", "float32", [1]))) with
        {
            Timing = new OracleTiming(1, 3),
        };
        var success = Assert.IsType<OracleSuccess>(await oracle.RunAsync(request, TestContext.Current.CancellationToken));
        Assert.InRange(success.LatencyMs!.Value, 9.0, 5_000.0);
    }

    [Fact]
    public async Task The_reference_module_is_executed_once_per_definition_and_code()
    {
        FakeTorch.RequirePython();
        var marker = Path.Combine(_work, "module-loads.txt").Replace("\\", "/", StringComparison.Ordinal);
        var reference = $"with open('{marker}', 'a') as f:\n    f.write('load\\n')\n\ndef run(x):\n    return x\n";
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var inputs = FakeTorch.WriteInputs(_work, ("x", "float32", [1]));
        Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request(reference, ["x"], inputs), TestContext.Current.CancellationToken));
        Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request(reference, ["x"], inputs), TestContext.Current.CancellationToken));
        Assert.IsType<OracleSuccess>(await oracle.RunAsync(Request(reference, ["x"], inputs, definition: "other_def"), TestContext.Current.CancellationToken));
        Assert.Equal(2, File.ReadAllLines(marker).Length);
    }

    [Fact]
    public async Task Non_finite_float_scalars_reach_python_as_floats()
    {
        FakeTorch.RequirePython();
        const string reference = "import math\n\ndef run(x, a, b):\n    assert math.isnan(a) and b == -math.inf, (a, b)\n    return x\n";
        var request = Request(reference, ["x", "a", "b"], FakeTorch.WriteInputs(_work, ("x", "float32", [1]))) with
        {
            Scalars = new Dictionary<string, OracleScalar>
            {
                ["a"] = new(DType.Float32, ScalarValue.Of(double.NaN)),
                ["b"] = new(DType.Float32, ScalarValue.Of(double.NegativeInfinity)),
            },
        };
        await using var oracle = new OracleProcess(FakeTorch.Options());
        Assert.IsType<OracleSuccess>(await oracle.RunAsync(request, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_cuda_request_without_a_device_says_so()
    {
        FakeTorch.RequirePython();
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var request = Request("def run(x):\n    return x\n", ["x"], FakeTorch.WriteInputs(_work, ("x", "float32", [1]))) with { Device = "cuda" };
        var failure = Assert.IsType<OracleFailure>(await oracle.RunAsync(request, TestContext.Current.CancellationToken));
        Assert.Equal(OracleFailureKind.NoDevice, failure.Kind);
        Assert.Contains("sees no CUDA device", failure.Message);
    }
}
