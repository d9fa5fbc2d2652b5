using System.Text.Json.Nodes;
using AgentForge.Orchestrator.Commands;
using AgentForge.Tests.Evolution;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Build;

/// <summary>`bench --json`: one row per workload, which names the measured code by its source hash.</summary>
public sealed class BenchJsonTests
{
    [Fact]
    public void A_row_carries_the_source_hash_beside_the_candidate_name_and_its_numbers()
    {
        var outcome = new WorkloadOutcome(FakeProblem.Workloads[0], EvaluationStatus.PASSED, "", new Correctness(0, 0), 0.5, 2.0, [0.5], null,
                                          "cupti", EventLatencyMs: 0.52, KernelSumMs: 0.49);
        var hello = new WorkerHello("NVIDIA H200", "sm_90", 132, 50L << 20, 141L << 30, 13000, 4250, 1);

        var row = JsonNode.Parse(BenchRun.JsonLine(FakeProblem.Definition, "cand", outcome, hello, "/lib.so", "0123456789abcdef"))!;

        Assert.Equal("cand", row["candidate"]!.GetValue<string>());
        Assert.Equal("0123456789abcdef", row["source_hash"]!.GetValue<string>());
        Assert.Equal("PASSED", row["status"]!.GetValue<string>());
        Assert.Equal(0.5, row["latency_ms"]!.GetValue<double>());
        Assert.Equal(4.0, row["speedup"]!.GetValue<double>(), 6);
        Assert.Equal(0.01, row["launch_gaps_ms"]!.GetValue<double>(), 6);
    }

    [Fact]
    public void A_variant_row_names_its_overrides_beside_the_dataset_uuid_and_a_plain_row_has_none()
    {
        var plain = new WorkloadOutcome(FakeProblem.Workloads[0], EvaluationStatus.PASSED, "", new Correctness(0, 0), 0.5, 2.0, [0.5], null, "cupti");
        var entry = FakeProblem.Workloads[0];
        var variant = plain with { Workload = entry with { Workload = entry.Workload with { Variant = "state=absent,scale=0" } } };
        var hello = new WorkerHello("NVIDIA H200", "sm_90", 132, 50L << 20, 141L << 30, 13000, 4250, 1);

        var row = JsonNode.Parse(BenchRun.JsonLine(FakeProblem.Definition, "cand", variant, hello, null, "0123456789abcdef"))!;
        var without = JsonNode.Parse(BenchRun.JsonLine(FakeProblem.Definition, "cand", plain, hello, null, "0123456789abcdef"))!;

        Assert.Equal(entry.Workload.Uuid, row["uuid"]!.GetValue<string>());
        Assert.Equal("state=absent,scale=0", row["variant"]!.GetValue<string>());
        Assert.Null(without["variant"]);
        Assert.Equal($"{entry.Workload.Uuid[..8]} [state=absent,scale=0]", BenchRun.Label(variant.Workload.Workload));
        Assert.Equal(entry.Workload.Uuid[..8], BenchRun.Label(entry.Workload));
    }

    [Fact]
    public void A_row_carries_the_host_issue_times_when_the_worker_reported_them()
    {
        var outcome = new WorkloadOutcome(FakeProblem.Workloads[0], EvaluationStatus.PASSED, "", new Correctness(0, 0), 0.5, 2.0, [0.5], null,
                                          "cupti", HostIssue: new HostIssue(12.345, 40.06, 3));
        var hello = new WorkerHello("NVIDIA H200", "sm_90", 132, 50L << 20, 141L << 30, 13000, 4250, 1);

        var row = JsonNode.Parse(BenchRun.JsonLine(FakeProblem.Definition, "cand", outcome, hello, null, "0123456789abcdef"))!;
        var without = JsonNode.Parse(BenchRun.JsonLine(FakeProblem.Definition, "cand", outcome with { HostIssue = null }, hello, null, "0123456789abcdef"))!;

        Assert.Equal(12.3, row["host_issue_us"]!.GetValue<double>());
        Assert.Equal(40.1, row["host_issue_max_us"]!.GetValue<double>());
        Assert.Equal(3, row["host_issue_max_call"]!.GetValue<int>());
        Assert.Null(without["host_issue_us"]);
        Assert.Null(without["host_issue_max_us"]);
        Assert.Null(without["host_issue_max_call"]);
    }

    [Fact]
    public void A_row_carries_the_sm_clock_of_its_timed_calls_when_nvml_answered()
    {
        var outcome = new WorkloadOutcome(FakeProblem.Workloads[0], EvaluationStatus.PASSED, "", new Correctness(0, 0), 0.5, 2.0, [0.5], null,
                                          "cupti", Clock: new ClockSummary(1605, 1545, 40, "power cap 97%"));
        var hello = new WorkerHello("NVIDIA H100", "sm_90", 132, 50L << 20, 80L << 30, 13000, 3000, 1);

        var row = JsonNode.Parse(BenchRun.JsonLine(FakeProblem.Definition, "cand", outcome, hello, null, "0123456789abcdef"))!;
        var without = JsonNode.Parse(BenchRun.JsonLine(FakeProblem.Definition, "cand", outcome with { Clock = null }, hello, null, "0123456789abcdef"))!;

        Assert.Equal(1605, row["nvml_sm_clock_mhz"]!.GetValue<double>());
        Assert.Equal(1545, row["nvml_sm_clock_min_mhz"]!.GetValue<double>());
        Assert.Equal("power cap 97%", row["nvml_clock_limits"]!.GetValue<string>());
        Assert.Null(without["nvml_sm_clock_mhz"]);
        Assert.Null(without["nvml_clock_limits"]);
    }

    [Fact]
    public void A_row_lists_the_timed_calls_activities_and_a_row_without_a_timeline_has_none()
    {
        var timeline = new List<TimelineEntry>
        {
            new("memset", 0, 1.234),
            new("kernel", 2.5, 3.456, "moe_routing_kernel", [1, 1, 1], [256, 1, 1]),
        };
        var outcome = new WorkloadOutcome(FakeProblem.Workloads[0], EvaluationStatus.PASSED, "", new Correctness(0, 0), 0.5, 2.0, [0.5], null,
                                          "cupti", Timeline: timeline);
        var hello = new WorkerHello("NVIDIA H200", "sm_90", 132, 50L << 20, 141L << 30, 13000, 4250, 1);

        var row = JsonNode.Parse(BenchRun.JsonLine(FakeProblem.Definition, "cand", outcome, hello, null, "0123456789abcdef"))!;
        var entries = row["timeline"]!.AsArray();

        Assert.Equal(2, entries.Count);
        Assert.Equal("memset", entries[0]!["kind"]!.GetValue<string>());
        Assert.Null(entries[0]!["name"]);
        Assert.Equal(1.23, entries[0]!["duration_us"]!.GetValue<double>());
        Assert.Equal("moe_routing_kernel", entries[1]!["name"]!.GetValue<string>());
        Assert.Equal(2.5, entries[1]!["start_us"]!.GetValue<double>());
        Assert.Equal([1, 1, 1], entries[1]!["grid"]!.AsArray().Select(n => n!.GetValue<int>()));
        Assert.Equal(256, entries[1]!["block"]![0]!.GetValue<int>());

        var without = JsonNode.Parse(BenchRun.JsonLine(FakeProblem.Definition, "cand", outcome with { Timeline = null }, hello, null, "0123456789abcdef"))!;
        Assert.Null(without["timeline"]);
    }

    [Fact]
    public void The_printed_source_hash_is_the_candidates_content_hash_and_follows_its_defines()
    {
        // Session 6 cut the 12-character hash to 16 and every bench call threw before its first build.
        var plain = new AgentForge.Tools.Build.CandidateSource("k", "d", [new SourceFile("kernel.cu", "int x;")]);
        var defined = plain with { Defines = new Dictionary<string, string> { ["TILE"] = "64" } };

        var hash = BenchRun.SourceHashOf(plain);

        Assert.Equal(AgentForge.Orchestrator.Evolution.CandidateHash.Of(plain), hash);
        Assert.Matches("^[0-9a-f]{12}$", hash);
        Assert.NotEqual(hash, BenchRun.SourceHashOf(defined));
    }
}
