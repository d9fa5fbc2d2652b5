using AgentForge.Tools.Profiler;

namespace AgentForge.Tests.Agents;

/// <summary>ncu 2024/2025 output (CSV of the details and raw pages, --list-sets, --list-sections), values made up.</summary>
public sealed class NcuOutputTests
{
    private const string Header = "\"ID\",\"Process ID\",\"Process Name\",\"Host Name\",\"Kernel Name\",\"Context\",\"Stream\",\"Block Size\",\"Grid Size\",\"Device\",\"CC\",\"Section Name\",\"Metric Name\",\"Metric Unit\",\"Metric Value\",\"Rule Name\",\"Rule Type\",\"Rule Description\",\"Estimated Speedup Type\",\"Estimated Speedup\"";

    private static string Row(string id, string kernel, string section, string metric, string unit, string value) =>
        $"\"{id}\",\"4242\",\"dotnet\",\"127.0.0.1\",\"{kernel}\",\"1\",\"13\",\"(256, 1, 1)\",\"(132, 1, 1)\",\"0\",\"9.0\",\"{section}\",\"{metric}\",\"{unit}\",\"{value}\",\"\",\"\",\"\",\"\",\"\"";

    private static string Rule(string id, string kernel, string section, string name, string type, string description, string speedup) =>
        $"\"{id}\",\"4242\",\"dotnet\",\"127.0.0.1\",\"{kernel}\",\"1\",\"13\",\"(256, 1, 1)\",\"(132, 1, 1)\",\"0\",\"9.0\",\"{section}\",\"\",\"\",\"\",\"{name}\",\"{type}\",\"{description}\",\"local\",\"{speedup}\"";

    private const string Kernel = "moe_gemm1_kernel(const unsigned char *, const float *, __nv_bfloat16 *, int)";

    private static readonly string Details = string.Join('\n',
    [
        "==PROF== Connected to process 4242 (/usr/share/dotnet/dotnet)",
        "==PROF== Profiling \"moe_gemm1_kernel\" - 0: 0%....50%....100% - 40 passes",
        "==PROF== Disconnected from process 4242",
        Header,
        Row("0", Kernel, "GPU Speed Of Light Throughput", "DRAM Frequency", "Ghz", "2.62"),
        Row("0", Kernel, "GPU Speed Of Light Throughput", "SM Frequency", "Ghz", "1.75"),
        Row("0", Kernel, "GPU Speed Of Light Throughput", "Elapsed Cycles", "cycle", "1,215,310"),
        Row("0", Kernel, "GPU Speed Of Light Throughput", "Memory Throughput", "%", "71.35"),
        Row("0", Kernel, "GPU Speed Of Light Throughput", "DRAM Throughput", "%", "68.02"),
        Row("0", Kernel, "GPU Speed Of Light Throughput", "Duration", "msecond", "1.21"),
        Row("0", Kernel, "GPU Speed Of Light Throughput", "Compute (SM) Throughput", "%", "22.48"),
        Rule("0", Kernel, "SpeedOfLight", "SOLBottleneck", "OPT", "Memory is more heavily utilized than Compute: Look at the Memory Workload Analysis section to identify the DRAM bottleneck. Check memory replay (coalescing) metrics.", "31.2"),
        Row("0", Kernel, "Launch Statistics", "Registers Per Thread", "register/thread", "168"),
        Row("0", Kernel, "Launch Statistics", "Static Shared Memory Per Block", "Kbyte/block", "49.15"),
        Row("0", Kernel, "Launch Statistics", "Dynamic Shared Memory Per Block", "byte/block", "0"),
        Row("0", Kernel, "Memory Workload Analysis", "Memory Throughput", "Tbyte/second", "2.27"),
        Row("0", Kernel, "Memory Workload Analysis", "L1/TEX Hit Rate", "%", "3.10"),
        Row("0", Kernel, "Memory Workload Analysis", "L2 Hit Rate", "%", "41.77"),
        Row("0", Kernel, "Occupancy", "Theoretical Occupancy", "%", "18.75"),
        Row("0", Kernel, "Occupancy", "Achieved Occupancy", "%", "17.92"),
        Rule("0", Kernel, "Occupancy", "AchievedOccupancy", "OPT", "The difference between calculated theoretical (18.8%) and measured achieved occupancy (17.9%) can be the result of warp scheduling overheads. Optimize.", "4.4"),
        Row("0", Kernel, "Warp State Statistics", "Warp Cycles Per Issued Instruction", "cycle", "29.84"),
        Rule("0", Kernel, "WarpStateStats", "CPIStall", "OPT", "On average, each warp of this kernel spends 17.3 cycles being stalled waiting for a scoreboard dependency on a L1TEX (local, global, surface, texture) operation. Find the instruction producing the data being waited upon.", "58.0"),
        Row("1", "moe_combine_kernel", "GPU Speed Of Light Throughput", "Duration", "usecond", "38.40"),
        Row("1", "moe_combine_kernel", "Launch Statistics", "Registers Per Thread", "register/thread", "32"),
        Row("1", "moe_combine_kernel", "Occupancy", "Achieved Occupancy", "%", "n/a"),
    ]);

    [Fact]
    public void The_details_page_reduces_to_the_numbers_that_steer_a_kernel()
    {
        var profile = NcuOutputParser.Parse(Details);

        Assert.Null(profile.Problem);
        Assert.Equal(2, profile.Kernels.Count);
        var gemm = profile.Kernels[0];
        Assert.Equal(Kernel, gemm.Name);
        Assert.Equal("(132, 1, 1)", gemm.Grid);
        Assert.Equal("(256, 1, 1)", gemm.Block);
        Assert.Equal(1210, gemm.DurationUs!.Value, 6);
        Assert.Equal(22.48, gemm.ComputeThroughputPct);
        Assert.Equal(71.35, gemm.MemoryThroughputPct);
        Assert.Equal(68.02, gemm.DramThroughputPct);
        Assert.Equal(17.92, gemm.AchievedOccupancyPct);
        Assert.Equal(18.75, gemm.TheoreticalOccupancyPct);
        Assert.Equal(168, gemm.RegistersPerThread);
        Assert.Equal(49150, gemm.SharedMemoryPerBlockBytes!.Value, 6);
        Assert.Equal(41.77, gemm.L2HitRatePct);
        Assert.Equal(3.10, gemm.L1HitRatePct);
        Assert.Equal(29.84, gemm.WarpCyclesPerIssuedInstruction);
        Assert.StartsWith("On average, each warp of this kernel spends 17.3 cycles being stalled waiting for a scoreboard dependency", Assert.Single(gemm.StallReasons));
        Assert.Equal(2, gemm.Advice.Count);
        Assert.StartsWith("[SOLBottleneck, est. speedup 31.2%] Memory is more heavily utilized than Compute", gemm.Advice[0]);

        var combine = profile.Kernels[1];
        Assert.Equal(38.4, combine.DurationUs);
        Assert.Null(combine.AchievedOccupancyPct);
        Assert.Equal(1248.4, profile.TotalDurationUs!.Value, 6);

        var text = NcuOutputParser.Describe(profile);
        Assert.StartsWith("2 kernels, 1248.4 us in all\n#0 moe_gemm1_kernel", text);
        Assert.Contains("1210 us, SM throughput 22.5%, memory throughput 71.4%, DRAM 68%, achieved occupancy 17.9%", text);
        Assert.Contains("  stall: On average", text);
    }

    [Fact]
    public void The_raw_page_reads_metric_columns_and_ranks_stall_reasons()
    {
        var raw = string.Join('\n',
        [
            "\"ID\",\"Process ID\",\"Process Name\",\"Host Name\",\"Kernel Name\",\"gpu__time_duration.sum\",\"launch__grid_size\",\"launch__block_size\",\"launch__registers_per_thread\",\"sm__throughput.avg.pct_of_peak_sustained_elapsed\",\"sm__warps_active.avg.pct_of_peak_sustained_active\",\"smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio\",\"smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio\",\"smsp__average_warps_issue_stalled_math_pipe_throttle_per_issue_active.ratio\"",
            "\"\",\"\",\"\",\"\",\"\",\"nsecond\",\"\",\"\",\"register/thread\",\"%\",\"%\",\"inst\",\"inst\",\"inst\"",
            "\"0\",\"4242\",\"dotnet\",\"127.0.0.1\",\"gdn_decode_kernel\",\"5,120\",\"64\",\"128\",\"40\",\"12.5\",\"61.2\",\"3.2\",\"7.75\",\"0.4\"",
        ]);

        var kernel = Assert.Single(NcuOutputParser.Parse(raw).Kernels);

        Assert.Equal("gdn_decode_kernel", kernel.Name);
        Assert.Equal(5.12, kernel.DurationUs!.Value, 6);
        Assert.Equal("64", kernel.Grid);
        Assert.Equal(40, kernel.RegistersPerThread);
        Assert.Equal(61.2, kernel.AchievedOccupancyPct);
        Assert.Equal(["barrier: 7.75 cycles per issued instruction", "long_scoreboard: 3.2 cycles per issued instruction", "math_pipe_throttle: 0.4 cycles per issued instruction"], kernel.StallReasons);
    }

    [Theory]
    [InlineData("==PROF== Connected to process 1\n==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access NVIDIA GPU Performance Counters on the target device 0.\n", "ERR_NVGPUCTRPERM")]
    [InlineData("==PROF== Connected to process 1\n==PROF== Disconnected from process 1\n==WARNING== No kernels were profiled.\n", "no kernels were profiled")]
    [InlineData("==ERROR== Option '--set bogus' is not valid.\n", "ncu: Option '--set bogus' is not valid.")]
    public void Output_without_results_says_why(string output, string expected)
    {
        var profile = NcuOutputParser.Parse(output);

        Assert.Empty(profile.Kernels);
        Assert.Contains(expected, profile.Problem);
    }

    [Fact]
    public void Sets_and_sections_are_read_from_their_tables_including_wrapped_cells()
    {
        const string sets = """
            ---------- --------------------------------------------------------------------------- ------- -----------------
            Identifier Sections                                                                    Enabled Estimated Metrics
            ---------- --------------------------------------------------------------------------- ------- -----------------
            basic      LaunchStats, Occupancy, SpeedOfLight, WorkloadDistribution                  yes     213
            detailed   ComputeWorkloadAnalysis, InstructionStats, LaunchStats, MemoryWorkloadAnaly no      906
                       sis, Occupancy, SourceCounters, SpeedOfLight, WarpStateStats
            roofline   SpeedOfLight, SpeedOfLight_RooflineChart                                    no      318
            """;
        const string sections = """
            ---------------------------------- ---------------------------------- ------- ------------------------------------
            Identifier                         Display Name                       Enabled Filename
            ---------------------------------- ---------------------------------- ------- ------------------------------------
            ComputeWorkloadAnalysis            Compute Workload Analysis          no      .../sections/ComputeWorkloadAnalysis.section
            SpeedOfLight_HierarchicalTensorRoo GPU Speed Of Light Hierarchical    no      .../sections/SpeedOfLight_Hierarchical
                                               Roofline Chart (Tensor Core)               TensorRooflineChart.section
            WarpStateStats                     Warp State Statistics              no      .../sections/WarpStateStats.section
            """;

        var parsedSets = NcuOptionsParser.ParseSets(sets);
        var parsedSections = NcuOptionsParser.ParseSections(sections);

        Assert.Equal(["basic", "detailed", "roofline"], parsedSets.Select(s => s.Name));
        Assert.Equal(["ComputeWorkloadAnalysis", "InstructionStats", "LaunchStats", "MemoryWorkloadAnalysis", "Occupancy", "SourceCounters", "SpeedOfLight", "WarpStateStats"], parsedSets[1].Sections);
        Assert.Equal(3, parsedSections.Count);
        Assert.Equal("GPU Speed Of Light Hierarchical Roofline Chart (Tensor Core)", parsedSections[1].DisplayName);
        Assert.Equal("Warp State Statistics", parsedSections[2].DisplayName);
    }

    [Fact]
    public void Arguments_follow_flashinfer_bench_with_csv_and_a_log_file()
    {
        var arguments = NcuProfiler.Arguments(new NcuRequest(Sections: ["WarpStateStats"], KernelName: "gemm.*"), "/tmp/ncu.log");

        Assert.Equal(["--set", "detailed", "--section", "WarpStateStats", "--kernel-name", "regex:gemm.*", "--csv", "--page", "details", "--log-file", "/tmp/ncu.log"], arguments);
    }
}
