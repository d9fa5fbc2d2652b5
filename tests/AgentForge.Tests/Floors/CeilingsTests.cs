using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Floors;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Oracle;

namespace AgentForge.Tests.Floors;

public sealed class CeilingsTests
{
    private static readonly WorkerHello H100 = new("NVIDIA H100 80GB HBM3", "sm_90", 132, 52428800, 85899345920, 13000, 3000, 1);

    [Fact]
    public void Measured_peaks_replace_the_table_and_say_so()
    {
        var ceilings = Evaluator.Ceilings(H100, new MeasuredPeak(750e12, 1400e12, "measured through torch"));
        Assert.Equal(750e12, ceilings.PeakFlopsPerSecond("bf16"));
        Assert.Equal(1400e12, ceilings.PeakFlopsPerSecond("fp8"));
        Assert.Contains("measured through torch", ceilings.PeakMethod("fp8"));
        Assert.Equal(3000e9, ceilings.CopyBandwidthBytesPerSecond);
    }

    [Fact]
    public void Without_a_measured_fp8_peak_the_datasheet_figure_is_used_and_named()
    {
        var ceilings = Evaluator.Ceilings(H100, new MeasuredPeak(750e12, null, "measured"));
        Assert.Equal(1979e12, ceilings.PeakFlopsPerSecond("fp8"));
        Assert.Contains("datasheet", ceilings.PeakMethod("fp8"));
        Assert.Equal(798e12, Evaluator.Ceilings(H100).PeakFlopsPerSecond("bf16"));
    }

    [Fact]
    public void A_floor_is_the_larger_of_the_memory_and_compute_times()
    {
        var floor = FloorCalculator.Compute(new Work(3e9, 1.5e15, "x", "fp8"), Evaluator.Ceilings(H100, new MeasuredPeak(750e12, 1500e12, "m")));
        Assert.Equal(1.0, floor.MemoryMilliseconds, 6);
        Assert.Equal(1.0e3, floor.ComputeMilliseconds, 6);
        Assert.Equal(floor.ComputeMilliseconds, floor.Milliseconds);
    }

    [Fact]
    public async Task Peaks_measured_once_are_read_back_from_the_cache()
    {
        var root = Directory.CreateTempSubdirectory("afg-peaks-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "peaks"));
        await File.WriteAllTextAsync(Path.Combine(root, "peaks", "NVIDIA_H100_80GB_HBM3.json"),
            """{"device":"NVIDIA H100 80GB HBM3","bf16_flops":7.5e14,"fp8_flops":1.4e15,"method":"measured earlier"}""", TestContext.Current.CancellationToken);
        // A python that does not exist proves no measurement is attempted when the cache has one.
        var source = new OraclePeakSource(root, new OracleOptions { PythonExecutable = "/nonexistent/python3" });
        var peak = await source.GetAsync("NVIDIA H100 80GB HBM3", TestContext.Current.CancellationToken);
        Assert.NotNull(peak);
        Assert.Equal(7.5e14, peak.Bf16FlopsPerSecond);
        Assert.Equal("measured earlier", peak.Method);
        Assert.Null(await source.GetAsync("Other GPU", TestContext.Current.CancellationToken));
    }
}
