using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Cuda;

namespace AgentForge.Tests.Worker;

/// <summary>The SM clock readings a timed run reports (NVML, read while its timed calls ran).</summary>
public sealed class ClockSummaryTests
{
    private const ulong Idle = 0x1;

    [Fact]
    public void Readings_give_the_median_and_lowest_clock_and_the_share_of_each_limit_that_held()
    {
        var samples = new[]
        {
            new ClockSample(1605, ClockLimitReasons.SoftwarePowerCap),
            new ClockSample(1590, ClockLimitReasons.SoftwarePowerCap | ClockLimitReasons.SoftwareThermal),
            new ClockSample(1980, Idle),
            new ClockSample(1620, ClockLimitReasons.SoftwarePowerCap),
        };

        var summary = ClockSummary.Of(samples)!;

        Assert.Equal(1612.5, summary.MedianMhz);
        Assert.Equal(1590, summary.MinMhz);
        Assert.Equal(4, summary.Samples);
        // The idle bit is a state, not a limit: it is not named.
        Assert.Equal("power cap 75%, thermal 25%", summary.Limits);
    }

    [Fact]
    public void Readings_with_no_limit_have_no_limits_and_no_readings_have_no_summary()
    {
        Assert.Null(ClockSummary.Of([new ClockSample(1980, 0), new ClockSample(1980, Idle)])!.Limits);
        Assert.Null(ClockSummary.Of([]));
    }

    [Fact]
    public void Trials_merge_into_the_median_of_their_medians_the_lowest_reading_and_every_reading()
    {
        var merged = ClockSummary.Merge([new ClockSummary(1600, 1500, 10, null), new ClockSummary(1700, 1650, 12, "power cap 50%"),
                                         new ClockSummary(1650, 1600, 8, "thermal 10%")])!;

        Assert.Equal(1650, merged.MedianMhz);
        Assert.Equal(1500, merged.MinMhz);
        Assert.Equal(30, merged.Samples);
        Assert.Equal("power cap 50%", merged.Limits);
        Assert.Null(ClockSummary.Merge([]));
    }

    [Fact]
    public void A_worker_response_carries_the_clock_over_the_wire_and_one_without_it_has_none()
    {
        var response = new WorkerResponse(7, true, LatenciesMs: [1.25], SmClockMhz: 1605, SmClockMinMhz: 1545, ClockSamples: 40,
                                          ClockLimits: "power cap 97%");

        var line = WorkerJson.Serialize(response);
        var parsed = WorkerJson.ParseResponse(line)!;

        Assert.Contains("\"sm_clock_mhz\":1605", line);
        Assert.Equal(new ClockSummary(1605, 1545, 40, "power cap 97%"), ClockSummary.FromResponse(parsed));
        Assert.Null(ClockSummary.FromResponse(new WorkerResponse(8, true, LatenciesMs: [1.0])));
    }

    [Fact]
    public void Without_a_bus_id_nvml_is_not_opened_and_says_why()
    {
        Assert.Null(Nvml.TryOpen(null, out var error));
        Assert.Contains("PCI bus id", error);
    }
}
