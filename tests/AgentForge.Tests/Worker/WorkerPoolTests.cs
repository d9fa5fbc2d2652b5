using System.Diagnostics;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Worker;

namespace AgentForge.Tests.Worker;

/// <summary>The pool over real worker processes (fake_worker.py speaks the protocol without a GPU).</summary>
public sealed class WorkerPoolTests
{
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(20);

    private static string FakeWorker => Path.Combine(AppContext.BaseDirectory, "Worker", "fake_worker.py");

    private static WorkerSlot Fake(params string[] arguments) => Fake(null, arguments);

    private static WorkerSlot Fake(TimeSpan? startTimeout, params string[] arguments) =>
        new(new WorkerCommand("python3", ["-u", FakeWorker, .. arguments]), startTimeout);

    private static WorkerPool Pool(params IWorkerChannel[] channels) => Pool(null, channels);

    private static WorkerPool Pool(WorkerPoolOptions? options, params IWorkerChannel[] channels) =>
        new(channels.Select((c, i) => ($"slot {i}", c)), options);

    private static WorkerRequest Run(string inputs) => new(0, "run", Handle: 0, InputsPath: inputs, OutputPath: "/tmp/out.safetensors");

    [Fact]
    public async Task Idle_slots_run_calls_at_the_same_time_and_waiting_callers_are_served_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pool = Pool(Fake(), Fake(), Fake());
        Assert.Equal(3, (await pool.StartAsync(ct)).Live);

        var leases = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => pool.LeaseAsync(ct)));
        Assert.Equal([0, 1, 2], leases.Select(l => l.Slot).Order());

        // Three one-second calls on three slots take about one second, not three.
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(leases.Select(l => l.Worker.CallAsync(Run("sleep=1"), CallLimit, ct)));
        Assert.All(results, r => Assert.True(r.Response?.Ok, r.Detail));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 2.9);
        Assert.Equal(3, leases.Select(l => l.Worker.Hello!.ProcessId).Distinct().Count());

        // All busy: the next callers wait, and get slots back in the order they asked.
        var first = pool.LeaseAsync(ct);
        var second = pool.LeaseAsync(ct);
        await Task.Delay(100, ct);
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);
        await leases[2].DisposeAsync();
        Assert.Equal(2, (await first).Slot);
        Assert.False(second.IsCompleted);
        await leases[0].DisposeAsync();
        Assert.Equal(0, (await second).Slot);
        await (await first).DisposeAsync();
        await (await second).DisposeAsync();
        await leases[1].DisposeAsync();
    }

    [Fact]
    public async Task A_slot_whose_worker_died_gets_a_new_worker_and_stays_in_the_pool()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pool = Pool(Fake(), Fake());
        await pool.StartAsync(ct);
        int diedPid;
        await using (var lease = await pool.LeaseAsync(ct))
        {
            diedPid = lease.Worker.Hello!.ProcessId;
            var crash = await lease.Worker.CallAsync(Run("crash"), CallLimit, ct);
            Assert.Equal(WorkerFault.Crashed, crash.Fault);
        }

        await using (var again = await pool.LeaseAsync(ct))
        {
            Assert.Equal(0, again.Slot);
            var health = await again.Worker.CallAsync(new WorkerRequest(0, "health"), CallLimit, ct);
            Assert.True(health.Response?.Ok, health.Detail);
            Assert.NotEqual(diedPid, again.Worker.Hello!.ProcessId);
        }
        Assert.Equal(2, pool.Live);
        Assert.Equal(1, pool.Status()[0].Restarts);
    }

    [Fact]
    public async Task A_slot_that_never_answers_is_retired_after_its_start_timeout_and_the_others_go_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pool = Pool(Fake(), Fake(TimeSpan.FromSeconds(2), "--mute"), Fake());

        var status = await pool.StartAsync(ct);

        Assert.Equal(2, status.Live);
        var retired = Assert.Single(status.Slots, s => s.Retired);
        Assert.Equal(1, retired.Index);
        Assert.Contains("slot 1", retired.RetiredBecause);
        Assert.Contains("no answer to 'hello' within 2 s", retired.RetiredBecause);
        Assert.Null(status.Problem);
        Assert.Equal("Fake GPU (sm_90) x 2 slots (1 of 3 retired)", status.Describe());

        var leases = await Task.WhenAll(pool.LeaseAsync(ct), pool.LeaseAsync(ct));
        Assert.Equal([0, 2], leases.Select(l => l.Slot).Order());
        foreach (var lease in leases)
        {
            Assert.True((await lease.Worker.CallAsync(Run("ok"), CallLimit, ct)).Response?.Ok);
            await lease.DisposeAsync();
        }
    }

    [Fact]
    public async Task When_no_slot_can_start_a_lease_is_refused_with_every_slots_reason()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pool = Pool(
            new WorkerSlot(new WorkerCommand("/nonexistent/agentforge-a", ["worker"])),
            new WorkerSlot(new WorkerCommand("/nonexistent/agentforge-b", ["worker"])));

        var lease = await pool.LeaseAsync(ct);

        Assert.False(lease.Granted);
        Assert.StartsWith("no worker slot is left: slot 0", lease.Error);
        Assert.Contains("/nonexistent/agentforge-a", lease.Error);
        Assert.Contains("/nonexistent/agentforge-b", lease.Error);
        Assert.Equal(0, pool.Live);
        Assert.Equal(lease.Error, pool.Problem);
    }

    [Fact]
    public async Task Callers_waiting_for_the_last_slot_are_refused_when_it_is_retired()
    {
        var ct = TestContext.Current.CancellationToken;
        // The only slot is held while a second caller waits; then GPU work finds it has no GPU.
        await using var pool = Pool(new WorkerPoolOptions(RequireDevice: false), Fake("--no-device"));
        var held = await pool.LeaseAsync(ct);
        var waiting = pool.LeaseAsync(ct);
        Assert.False(waiting.IsCompleted);

        var (handle, load) = await held.Worker.LoadAsync("/lib/a.so", "sig", CallLimit, ct);

        Assert.Null(handle);
        Assert.Equal(WorkerFault.NoDevice, load.Fault);
        var refused = await waiting;
        Assert.False(refused.Granted);
        Assert.Contains("has no GPU: no CUDA driver", refused.Error);
        await held.DisposeAsync();
        Assert.Equal(0, pool.Live);
    }

    [Fact]
    public async Task A_worker_without_a_gpu_answers_the_protocol_but_is_retired_for_gpu_work()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gpuWork = Pool(Fake("--no-device"), Fake());
        var status = await gpuWork.StartAsync(ct);
        Assert.Equal(1, status.Live);
        Assert.Contains("slot 0: no GPU on ", status.Slots[0].RetiredBecause);
        Assert.Contains("no CUDA driver", status.Slots[0].RetiredBecause);
        Assert.Equal("Fake GPU", status.Hello!.Device);

        // Checking a launcher needs no GPU: hello and health answer.
        await using var protocolOnly = Pool(new WorkerPoolOptions(RequireDevice: false), Fake("--no-device"));
        await using var lease = await protocolOnly.LeaseAsync(ct);
        Assert.True(lease.Granted, lease.Error);
        Assert.False(lease.Worker.Hello!.HasDevice);
        Assert.Equal(WorkerHello.NoDevice, lease.Worker.Hello.Device);
        var health = await lease.Worker.CallAsync(new WorkerRequest(0, "health"), CallLimit, ct);
        Assert.True(health.Response?.Ok, health.Detail);
        var run = await lease.Worker.CallAsync(Run("ok"), CallLimit, ct);
        Assert.Equal(WorkerFault.NoDevice, run.Fault);
        Assert.Contains("has no GPU: no CUDA driver", run.Detail);
    }

    [Fact]
    public async Task A_slot_on_another_kind_of_gpu_is_retired_so_latencies_of_a_run_compare()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pool = Pool(Fake(), Fake("--device", "Other GPU"));

        var status = await pool.StartAsync(ct);

        Assert.Equal(1, status.Live);
        Assert.Contains("slot 1: runs on Other GPU (sm_90) but the pool on Fake GPU (sm_90)", status.Slots[1].RetiredBecause);
    }

    [Fact]
    public async Task Disposing_the_pool_shuts_every_worker_down()
    {
        var ct = TestContext.Current.CancellationToken;
        var pool = Pool(Fake(), Fake());
        var status = await pool.StartAsync(ct);
        var pids = status.Slots.Select(s => s.Hello!.ProcessId).ToList();

        await pool.DisposeAsync();

        foreach (var pid in pids)
        {
            Assert.True(Exited(pid), $"worker {pid} still runs");
        }
    }

    [Fact]
    public async Task A_lease_of_one_slot_waits_for_that_slot_and_others_keep_serving_the_rest()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pool = Pool(Fake(), Fake());
        await pool.StartAsync(ct);
        var busy = await pool.LeaseAsync(ct);
        Assert.Equal(0, busy.Slot);

        // Slot 1 is idle, but this caller wants slot 0 (the GPU compute-sanitizer is about to use).
        var wantsZero = pool.LeaseAsync(0, ct);
        await Task.Delay(100, ct);
        Assert.False(wantsZero.IsCompleted);
        var any = await pool.LeaseAsync(ct);
        Assert.Equal(1, any.Slot);

        await busy.DisposeAsync();
        var held = await wantsZero;
        Assert.Equal(0, held.Slot);
        Assert.True((await held.Worker.CallAsync(new WorkerRequest(0, "health"), CallLimit, ct)).Response?.Ok);
        await held.DisposeAsync();
        await any.DisposeAsync();
    }

    [Fact]
    public void Wrapped_tools_run_inside_the_launcher_next_to_the_worker()
    {
        string[] tool = ["/cuda/bin/compute-sanitizer", "--tool", "memcheck"];
        string[] requests = ["--requests", "/shared/r.jsonl"];

        var underSrun = WorkerCommand.Wrapped("srun --gres=gpu:1 {agentforge} worker --gpu {gpu}", 2, tool, requests);
        Assert.Equal("srun", underSrun.FileName);
        Assert.Equal("--gres=gpu:1", underSrun.Arguments[0]);
        Assert.Equal(tool, underSrun.Arguments.Skip(1).Take(3));
        Assert.Equal(["worker", "--gpu", "2", "--requests", "/shared/r.jsonl"], underSrun.Arguments.TakeLast(5));

        var local = WorkerCommand.Wrapped("{agentforge} worker --gpu {gpu}", 0, tool, requests);
        Assert.Equal("/cuda/bin/compute-sanitizer", local.FileName);
        Assert.Equal(["--tool", "memcheck"], local.Arguments.Take(2));

        var named = WorkerCommand.Wrapped("/opt/agentforge worker --gpu {gpu}", 1, tool, requests);
        Assert.Equal("/cuda/bin/compute-sanitizer", named.FileName);
        Assert.Equal(["--tool", "memcheck", "/opt/agentforge", "worker", "--gpu", "1", "--requests", "/shared/r.jsonl"], named.Arguments);
    }

    [Fact]
    public void Templates_give_each_slot_its_gpu_and_index()
    {
        var pool = WorkerPool.Launch("srun --job-name=w{slot} {agentforge} worker --gpu {gpu}", [2, 5]);
        var commands = pool.Channels.Cast<WorkerSlot>().Select(s => s.Command).ToList();
        Assert.Equal("--job-name=w0", commands[0].Arguments[0]);
        Assert.Equal("--job-name=w1", commands[1].Arguments[0]);
        Assert.Equal(["--gpu", "5"], commands[1].Arguments.TakeLast(2));
        Assert.Equal(["slot 0 (gpu 2)", "slot 1 (gpu 5)"], pool.Status().Select(s => s.Name));
        Assert.Equal(["slot 0", "slot 1"], WorkerPool.Launch("ssh node {agentforge} worker", [0, 1]).Status().Select(s => s.Name));
    }

    private static bool Exited(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
