using AgentForge.Orchestrator.Commands;
using AgentForge.Tools.Bench.Worker;

namespace AgentForge.Tests.Scale;

public sealed class GpuSelectionTests
{
    private static GpuCount Two() => new(2, "test");

    private static GpuCount None() => new(0, "nvidia-smi -L");

    [Theory]
    [InlineData("all", "0,1")]
    [InlineData("ALL", "0,1")]
    [InlineData("1", "0")]
    [InlineData("3", "0,1,2")]
    [InlineData("0,1", "0,1")]
    [InlineData("2, 5", "2,5")]
    [InlineData("3,", null)]
    public void Gpus_are_all_a_count_or_a_list_of_ordinals(string text, string? expected)
    {
        var selection = GpuSelection.TryParse(text, out var error);
        if (expected is null)
        {
            Assert.Null(selection);
            Assert.NotNull(error);
            return;
        }
        Assert.Null(error);
        Assert.Equal(expected, string.Join(',', selection!.Resolve(Two, out _)!));
    }

    [Theory]
    [InlineData("0", "expected all, a count N >= 1")]
    [InlineData("-1", "expected all, a count N >= 1")]
    [InlineData("two", "expected all, a count N >= 1")]
    [InlineData("0,0", "GPU 0 is listed twice")]
    [InlineData("0,x", "'x' is not a GPU ordinal")]
    public void Bad_gpu_lists_are_refused_with_the_reason(string text, string reason)
    {
        Assert.Null(GpuSelection.TryParse(text, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void All_with_no_gpu_found_says_how_it_looked()
    {
        var selection = GpuSelection.TryParse("all", out _)!;
        Assert.Null(selection.Resolve(None, out var error));
        Assert.Equal("--gpus all: no GPU found (nvidia-smi -L)", error);
    }

    [Fact]
    public void Gpus_are_counted_from_cuda_visible_devices_then_nvidia_smi_then_the_driver_folder()
    {
        var proc = Directory.CreateTempSubdirectory("afg-gpus-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(proc, "0000:19:00.0"));
            Directory.CreateDirectory(Path.Combine(proc, "0000:3b:00.0"));
            Directory.CreateDirectory(Path.Combine(proc, "0000:4c:00.0"));
            const string smi = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-a)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-b)\n  MIG 1g.10gb     Device  0: (UUID: MIG-c)\n";

            Assert.Equal(new GpuCount(1, "CUDA_VISIBLE_DEVICES=3"), GpuInventory.Count("3", () => smi, proc));
            Assert.Equal(2, GpuInventory.Count("GPU-a,GPU-b", () => smi, proc).Count);
            Assert.Equal(0, GpuInventory.Count("", () => smi, proc).Count);
            Assert.Equal(new GpuCount(2, "nvidia-smi -L"), GpuInventory.Count(null, () => smi, proc));
            Assert.Equal(new GpuCount(3, proc), GpuInventory.Count(null, () => null, proc));
            Assert.Equal(0, GpuInventory.Count(null, () => null, Path.Combine(proc, "absent")).Count);
        }
        finally
        {
            Directory.Delete(proc, recursive: true);
        }
    }

    [Theory]
    [InlineData(null, null, "0")]
    [InlineData(3, null, "3")]
    [InlineData(null, "all", "0,1")]
    [InlineData(null, "0,1", "0,1")]
    public void Gpu_stays_the_one_gpu_spelling_of_gpus(int? gpu, string? gpus, string expected)
    {
        var slots = HarnessArguments.SlotGpus(gpu, gpus, Two, out var error);
        Assert.Null(error);
        Assert.Equal(expected, string.Join(',', slots!));
    }

    [Fact]
    public void Gpu_and_gpus_together_are_refused()
    {
        Assert.Null(HarnessArguments.SlotGpus(1, "0,1", Two, out var error));
        Assert.Contains("not both", error);
    }

    [Fact]
    public void Bench_and_evolve_take_gpus_and_worker_command_on_the_command_line()
    {
        foreach (var command in new[] { BenchCommand.Create(), EvolveCommand.Create(new AgentForge.Orchestrator.Evolution.NoAgentTools()) })
        {
            var names = command.Options.Select(o => o.Name).ToList();
            Assert.Contains("--gpus", names);
            Assert.Contains("--gpu", names);
            Assert.Contains("--worker-command", names);
            Assert.Contains("--worker-start-timeout", names);
        }
    }
}
