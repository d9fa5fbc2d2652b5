using AgentForge.Tools.Bench.Worker;

namespace AgentForge.Tests.Worker;

public sealed class WorkerSlotTests
{
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(20);

    private static WorkerSlot FakeSlot() =>
        new(new WorkerCommand("python3", ["-u", Path.Combine(AppContext.BaseDirectory, "Worker", "fake_worker.py")]));

    private static WorkerRequest Run(string inputs, int handle = 0) =>
        new(0, "run", Handle: handle, InputsPath: inputs, OutputPath: "/tmp/out.safetensors");

    [Fact]
    public async Task Hello_reports_the_device_and_measured_bandwidth()
    {
        await using var slot = FakeSlot();
        var started = await slot.EnsureStartedAsync(TestContext.Current.CancellationToken);
        Assert.True(started.Answered, started.Detail);
        Assert.Equal("Fake GPU", slot.Hello!.Device);
        Assert.Equal(3000.0, slot.Hello.CopyBandwidthGbps);
        Assert.Equal(52428800, slot.Hello.L2Bytes);
    }

    [Fact]
    public async Task A_crash_mid_call_is_reported_with_stderr_and_the_next_call_runs_on_a_new_worker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var slot = FakeSlot();
        var (handle, load) = await slot.LoadAsync("/lib/a.so", "sig", CallLimit, ct);
        Assert.Equal(0, handle);
        var firstPid = slot.Hello!.ProcessId;

        var crash = await slot.CallAsync(Run("crash"), CallLimit, ct);
        Assert.Equal(WorkerFault.Crashed, crash.Fault);
        Assert.Contains("ILLEGAL_ADDRESS", crash.Detail);
        Assert.Contains("134", crash.Detail);

        var next = await slot.CallAsync(Run("ok"), CallLimit, ct);
        Assert.True(next.Response?.Ok, next.Detail);
        Assert.NotEqual(firstPid, slot.Hello!.ProcessId);
        Assert.Equal(1, slot.Restarts);
        // The new worker was given the library again, so handle 0 still names it.
        Assert.Contains("loads=/lib/a.so;handle=0", next.Response!.Error);
    }

    [Fact]
    public async Task A_call_that_never_returns_times_out_and_the_worker_is_replaced()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var slot = FakeSlot();
        var hang = await slot.CallAsync(Run("hang"), TimeSpan.FromSeconds(2), ct);
        Assert.Equal(WorkerFault.TimedOut, hang.Fault);
        Assert.Contains("within 2 s", hang.Detail);

        var next = await slot.CallAsync(Run("ok"), CallLimit, ct);
        Assert.True(next.Response?.Ok, next.Detail);
        Assert.Equal(new[] { 0.5, 0.25, 0.75 }, next.Response!.LatenciesMs);
    }

    [Fact]
    public async Task A_fatal_answer_is_returned_and_the_following_call_restarts_the_worker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var slot = FakeSlot();
        var fatal = await slot.CallAsync(Run("fatal"), CallLimit, ct);
        Assert.True(fatal.Answered);
        Assert.True(fatal.Response!.Fatal);
        Assert.Equal("RUNTIME_ERROR", fatal.Response.Status);

        var next = await slot.CallAsync(Run("ok"), CallLimit, ct);
        Assert.True(next.Response?.Ok, next.Detail);
        Assert.Equal(1, slot.Restarts);
    }

    [Fact]
    public async Task Lines_a_candidate_prints_to_stdout_do_not_break_the_protocol()
    {
        await using var slot = FakeSlot();
        var result = await slot.CallAsync(Run("noisy"), CallLimit, TestContext.Current.CancellationToken);
        Assert.True(result.Response?.Ok, result.Detail);
    }

    [Fact]
    public async Task A_missing_worker_program_is_a_clear_error()
    {
        await using var slot = new WorkerSlot(new WorkerCommand("/nonexistent/agentforge", ["worker"]));
        var result = await slot.EnsureStartedAsync(TestContext.Current.CancellationToken);
        Assert.Equal(WorkerFault.CouldNotStart, result.Fault);
        Assert.Contains("/nonexistent/agentforge", result.Detail);
    }

    [Fact]
    public void Templates_expand_the_executable_and_gpu()
    {
        var command = WorkerCommand.FromTemplate("srun --gres=gpu:1 {agentforge} worker --gpu {gpu}", 3);
        Assert.Equal("srun", command.FileName);
        Assert.Equal("--gres=gpu:1", command.Arguments[0]);
        Assert.Equal(new[] { "worker", "--gpu", "3" }, command.Arguments.TakeLast(3));
    }
}
