using System.Diagnostics;
using AgentForge.Tests.Agents;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Processes;

namespace AgentForge.Tests.Scale;

/// <summary>The real `agentforge worker` of this build on a machine without a GPU, as a launcher test sees it.</summary>
public sealed class RealWorkerTests
{
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Without_a_gpu_the_worker_answers_hello_and_health_says_why_and_refuses_candidates()
    {
        Assert.SkipWhen(AgentPaths.HasGpuDriver, "this machine has a GPU: the worker opens it");
        var ct = TestContext.Current.CancellationToken;
        await using var slot = new WorkerSlot(WorkerCommand.FromTemplate(AgentPaths.WorkerTemplate, 0), CallLimit);

        var started = await slot.EnsureStartedAsync(ct);

        Assert.True(started.Answered, started.Detail);
        var hello = slot.Hello!;
        Assert.False(hello.HasDevice);
        Assert.Equal(WorkerHello.NoDevice, hello.Device);
        Assert.StartsWith("no CUDA driver", hello.DeviceError);
        Assert.Equal(Environment.MachineName, hello.Host);
        var health = await slot.CallAsync(new WorkerRequest(0, "health"), CallLimit, ct);
        Assert.True(health.Response?.Ok, health.Detail);
        var (handle, load) = await slot.LoadAsync("/nonexistent/candidate.so", "sig", CallLimit, ct);
        Assert.Null(handle);
        Assert.Equal(WorkerFault.NoDevice, load.Fault);
        Assert.Contains("has no GPU: no CUDA driver", load.Detail);
        Assert.Equal(0, slot.Restarts);
    }

    [Fact]
    public async Task A_worker_whose_launcher_is_gone_exits_even_with_its_input_still_open()
    {
        var ct = TestContext.Current.CancellationToken;
        // The shell starts a worker whose stdin stays open (a pipe from sleep), prints its pid and
        // exits: the worker is orphaned, as when srun's step or an ssh session dies under it.
        var script = $"sleep 60 2>/dev/null | dotnet {AgentPaths.AgentForgeDll} worker >/dev/null 2>&1 & echo $!; sleep 5";
        var launcher = await ProcessRunner.RunAsync("sh", ["-c", script], TimeSpan.FromSeconds(60), cancellationToken: ct);
        Assert.True(launcher.Succeeded, launcher.Output);
        var pid = int.Parse(launcher.Output.Trim().Split('\n')[0], System.Globalization.CultureInfo.InvariantCulture);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (Alive(pid))
        {
            Assert.True(DateTime.UtcNow < deadline, $"worker {pid} still runs 15 s after its launcher exited");
            await Task.Delay(200, ct);
        }
    }

    [Theory]
    [InlineData("1234 (dotnet) S 77 1234 1234 0 -1", 77)]
    [InlineData("1234 (my (odd) name) R 4321 1 1 0", 4321)]
    [InlineData("garbage", null)]
    public void The_parent_is_read_after_the_command_name(string stat, int? parent)
    {
        Assert.Equal(parent, ParentWatch.ParseParent(stat));
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
