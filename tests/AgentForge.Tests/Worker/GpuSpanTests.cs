using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Cuda;

namespace AgentForge.Tests.Worker;

public sealed class GpuSpanTests
{
    private const long Flush = 125829120;

    private static GpuActivity Kernel(ulong start, ulong end) => new(GpuActivity.ConcurrentKernel, start, end, 0);

    private static GpuActivity FlushAt(ulong start) => new(GpuActivity.Memset, start, start + 30_000, Flush);

    [Fact]
    public void Each_call_spans_its_first_start_to_its_last_end_gaps_included()
    {
        var activities = new List<GpuActivity>
        {
            FlushAt(0), Kernel(31_000, 33_000), Kernel(34_000, 40_000),       // 9 us with a 1 us gap
            FlushAt(50_000), Kernel(81_000, 83_500),                           // 2.5 us
            FlushAt(90_000), new(GpuActivity.Memset, 121_000, 121_500, 4096), Kernel(122_000, 125_000), // the candidate's own memset counts
        };
        var calls = GpuWorker.GpuSpans(activities, Flush, 3);
        Assert.NotNull(calls);
        Assert.Equal([0.009, 0.0025, 0.004], calls.Select(c => Math.Round(c.SpanMs, 6)));
        // Busy time: the kernels' (and the candidate's memset's) own durations; the 1 us gap is the difference.
        Assert.Equal([0.008, 0.0025, 0.0035], calls.Select(c => Math.Round(c.BusyMs, 6)));
    }

    [Fact]
    public void A_call_count_that_does_not_match_the_flushes_falls_back_to_events()
    {
        var activities = new List<GpuActivity> { FlushAt(0), Kernel(31_000, 33_000) };
        Assert.Null(GpuWorker.GpuSpans(activities, Flush, 2));
    }

    [Fact]
    public void A_call_that_launched_nothing_has_a_zero_span()
    {
        var calls = GpuWorker.GpuSpans([FlushAt(0), FlushAt(40_000), Kernel(71_000, 72_000)], Flush, 2);
        Assert.Equal([0.0, 0.001], calls!.Select(c => c.SpanMs));
    }
}
