using AgentForge.Tests.Agents;
using AgentForge.Tools.Bench.Worker;

namespace AgentForge.Tests.Scale;

/// <summary>
/// Worker slots launched through a real Slurm (the single-node cluster of
/// scripts/slurm/start-local.sh): the real `agentforge worker` under srun answers the requests that
/// need no GPU, Slurm lists the slots as jobs, a slot whose job is cancelled is replaced on its
/// next use, and shutting the pool down leaves no job behind.
/// </summary>
public sealed class SlurmTests
{
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Slots_launched_through_srun_answer_show_in_squeue_are_replaced_when_cancelled_and_leave_no_job()
    {
        var conf = LocalSlurm.RequireConf();
        var ct = TestContext.Current.CancellationToken;
        // A name of this run only: jobs left by an earlier, interrupted run cannot be mistaken for ours.
        var prefix = $"afg-test-{Guid.NewGuid():N}"[..17];
        var template = $"srun --ntasks=1 --job-name={prefix}-{{slot}} dotnet {AgentPaths.AgentForgeDll} worker";
        var pool = WorkerPool.Launch(template, [0, 0, 0], new WorkerPoolOptions(RequireDevice: false), TimeSpan.FromSeconds(90),
            new Dictionary<string, string?> { ["SLURM_CONF"] = conf });
        try
        {
            var status = await pool.StartAsync(ct);
            Assert.True(status.Live == 3, string.Join("\n", status.Slots.Select(s => $"{s.Name}: {s.RetiredBecause}")));
            Assert.Equal(3, status.Slots.Select(s => s.Hello!.ProcessId).Distinct().Count());
            Assert.All(status.Slots, s => Assert.Equal(Environment.MachineName, s.Hello!.Host));
            if (!AgentPaths.HasGpuDriver)
            {
                // No GPU on the CI machine: the worker says why, and still serves the protocol.
                Assert.All(status.Slots, s => Assert.False(string.IsNullOrEmpty(s.Hello!.DeviceError)));
                Assert.All(status.Slots, s => Assert.Equal(WorkerHello.NoDevice, s.Hello!.Device));
            }
            await HealthOfEverySlotAsync(pool, ct);

            var jobs = await LocalSlurm.JobsAsync(prefix);
            Assert.Equal([$"{prefix}-0", $"{prefix}-1", $"{prefix}-2"], jobs.Select(j => j.Name).Order());
            Assert.All(jobs, j => Assert.Equal("RUNNING", j.State));

            // Slurm takes slot 1 away; its srun ends, and the slot's next call starts a new job.
            var killed = jobs.Single(j => j.Name == $"{prefix}-1");
            var slot = (WorkerSlot)pool.Channels[1];
            var oldPid = slot.Hello!.ProcessId;
            await LocalSlurm.ClientAsync("scancel", killed.Id);
            await WaitAsync(() => Task.FromResult(slot.LauncherProcessId is null), "srun of the cancelled slot to exit", ct);

            await HealthOfEverySlotAsync(pool, ct);
            Assert.Equal(3, pool.Live);
            Assert.Equal(1, slot.Restarts);
            Assert.NotEqual(oldPid, slot.Hello!.ProcessId);
            var replaced = (await LocalSlurm.JobsAsync(prefix)).Single(j => j.Name == $"{prefix}-1");
            Assert.NotEqual(killed.Id, replaced.Id);
        }
        finally
        {
            await pool.DisposeAsync();
        }

        await WaitAsync(async () => (await LocalSlurm.JobsAsync(prefix)).Count == 0, "the slots' jobs to leave the queue", ct);
    }

    /// <summary>One lease per slot, all held at once, so every slot answers.</summary>
    private static async Task HealthOfEverySlotAsync(WorkerPool pool, CancellationToken ct)
    {
        var leases = await Task.WhenAll(Enumerable.Range(0, pool.Size).Select(_ => pool.LeaseAsync(ct)));
        try
        {
            Assert.All(leases, l => Assert.True(l.Granted, l.Error));
            var answers = await Task.WhenAll(leases.Select(l => l.Worker.CallAsync(new WorkerRequest(0, "health"), CallLimit, ct)));
            Assert.All(answers, a => Assert.True(a.Response?.Ok, a.Detail));
        }
        finally
        {
            foreach (var lease in leases)
            {
                await lease.DisposeAsync();
            }
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited 60 s for {what}");
            await Task.Delay(250, ct);
        }
    }
}
