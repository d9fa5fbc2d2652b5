namespace AgentForge.GpuTests;

// GPU tests skip themselves when no GPU is present, so CI reports them as skipped, never passed.
internal static class Gpu
{
    public static void RequireDevice()
    {
        var hasDriver = File.Exists("/dev/nvidiactl") || Environment.GetEnvironmentVariable("AGENTFORGE_FORCE_GPU_TESTS") == "1";
        Assert.SkipUnless(hasDriver, "no NVIDIA GPU on this machine");
    }
}

public sealed class PlaceholderGpuTests
{
    [Fact]
    public void Driver_is_present_on_the_gpu_machine()
    {
        Gpu.RequireDevice();
        Assert.True(File.Exists("/dev/nvidiactl"));
    }
}
