using AgentForge.Tools.Bench;
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
    public void Each_calls_timeline_lists_its_activities_from_its_own_first_start_with_short_kernel_names()
    {
        var routing = new GpuActivity(GpuActivity.ConcurrentKernel, 33_000, 35_500, 0, "_ZN12_GLOBAL__N_118moe_routing_kernelEPKfi",
                                      new KernelShape(7, 1, 1, 256, 1, 1));
        var activities = new List<GpuActivity>
        {
            Kernel(1_000, 2_000),  // before the first flush: no call's
            FlushAt(10_000), new(GpuActivity.Memset, 41_000, 41_800, 128), routing with { Start = 42_000, End = 44_500 },
            FlushAt(50_000), new(GpuActivity.Memcpy, 81_000, 82_000, 64),
        };

        var calls = GpuWorker.GpuSpans(activities, Flush, 2)!;

        var first = calls[0].Timeline;
        Assert.Equal(["memset", "kernel"], first.Select(e => e.Kind));
        Assert.Equal([0.0, 1.0], first.Select(e => Math.Round(e.StartUs, 6)));
        Assert.Equal([0.8, 2.5], first.Select(e => Math.Round(e.DurationUs, 6)));
        Assert.Equal("moe_routing_kernel", first[1].Name);
        Assert.Equal([7, 1, 1], first[1].Grid!);
        Assert.Equal([256, 1, 1], first[1].Block!);
        Assert.Null(first[0].Name);
        Assert.Equal(["memcpy"], calls[1].Timeline.Select(e => e.Kind));
        Assert.Equal(0.0, calls[1].Timeline[0].StartUs);
    }

    [Fact]
    public void The_reported_timeline_is_the_call_with_the_median_span()
    {
        var activities = new List<GpuActivity>
        {
            FlushAt(0), Kernel(31_000, 39_000),          // 8 us
            FlushAt(50_000), Kernel(81_000, 83_000),     // 2 us
            FlushAt(90_000), Kernel(121_000, 125_000),   // 4 us: the median
            FlushAt(130_000), Kernel(161_000, 171_000),  // 10 us
        };

        var median = GpuWorker.MedianCall(GpuWorker.GpuSpans(activities, Flush, 4)!);

        Assert.Equal(0.004, median.SpanMs, 9);
        Assert.Equal(4.0, median.Timeline.Single().DurationUs, 6);
    }

    [Fact]
    public void The_median_call_is_the_lower_middle_and_the_earliest_of_equal_spans()
    {
        Assert.Equal(2, Statistics.MedianIndex([3.0, 1.0, 2.0]));
        Assert.Equal(2, Statistics.MedianIndex([2.0, 1.0, 1.0, 3.0]));  // sorted: 1 (call 1), 1 (call 2), 2, 3
        Assert.Equal(0, Statistics.MedianIndex([5.0]));
    }

    [Fact]
    public void Host_issue_times_pair_with_spans_only_when_every_call_has_one()
    {
        Assert.Equal(new HostIssue(7.0, 9.0, 0), HostIssue.Of([3.0, 1.0, 2.0], [9.0, 1.0, 7.0]));
        Assert.Equal(new HostIssue(1.0, 8.0, 2), HostIssue.Of([1.0, 2.0, 3.0], [4.0, 1.0, 8.0]));
        Assert.Null(HostIssue.Of([3.0, 1.0, 2.0], [9.0, 1.0]));
        Assert.Null(HostIssue.Of([3.0, 1.0, 2.0], null));
        Assert.Null(HostIssue.Of([], []));
    }

    [Theory]
    [InlineData("_ZN8split_kv12merge_kernelILi64EEEvPKfS2_P13__nv_bfloat16Pf", "merge_kernel")]
    [InlineData("_ZN12_GLOBAL__N_118moe_routing_kernelEPKfPK13__nv_bfloat16i", "moe_routing_kernel")]
    [InlineData("_Z18moe_to_bf16_kernelPKflP13__nv_bfloat16", "moe_to_bf16_kernel")]
    [InlineData("afg_moe_gemm1_wgmma_64", "afg_moe_gemm1_wgmma_64")]
    [InlineData("_Z", "_Z")]
    [InlineData("_ZN99x", "_ZN99x")]
    public void A_mangled_kernel_name_shortens_to_its_own_identifier(string mangled, string expected) =>
        Assert.Equal(expected, KernelNames.Short(mangled));

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
