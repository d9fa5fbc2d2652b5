using AgentForge.Tests.Inputs;
using AgentForge.Tools.Trace;
using TraceRecord = AgentForge.Tools.Trace.Trace;

namespace AgentForge.Tests.Packaging;

public sealed class TraceLayoutTests
{
    [Fact]
    public void Traces_go_where_flashinfer_bench_puts_them()
    {
        Assert.Equal(Path.Combine("/data", "traces", "agentforge", "gdn", "gdn_decode_qk4_v8_d128_k_last.jsonl"),
            TraceLayout.PathFor("/data", "agentforge", "gdn", "gdn_decode_qk4_v8_d128_k_last"));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("..", "is not a folder name")]
    [InlineData("team/a", "contains a path separator")]
    public void Names_that_are_not_one_path_component_are_rejected(string author, string problem)
    {
        var error = Assert.Throws<ArgumentException>(() => TraceLayout.PathFor("/data", author, "gdn", "d"));

        Assert.StartsWith($"author '{author}' {problem}", error.Message);
        Assert.Equal(problem, TraceLayout.CheckComponent(author));
        Assert.Null(TraceLayout.CheckComponent("team-a"));
    }

    [Fact]
    public void Appended_traces_are_read_back_by_the_dataset_loader()
    {
        using var temp = new TempDirectory();
        var definition = Packing.Definition(Packing.GdnDecode);
        var workload = Packing.Dataset.Workloads(Packing.GdnDecode)[0].Workload;
        var environment = new TraceEnvironment("NVIDIA_H200", new Dictionary<string, string> { ["torch"] = "2.9" });
        TraceRecord Line(EvaluationStatus status, double latency) => new(definition.Name, workload, "gdn_v1",
            new Evaluation(status, environment, "2026-11-26T10:00:00", "", new Correctness(0, double.NaN),
            status == EvaluationStatus.PASSED ? new Performance(latency, 2 * latency, 2) : null));
        File.Copy(Packing.Dataset.DefinitionFile(definition.Name)!, Directory.CreateDirectory(temp.Combine("definitions", "gdn")).FullName + "/gdn_decode_qk4_v8_d128_k_last.json");

        var path = TraceLayout.Append(temp.Path, "team", definition, [Line(EvaluationStatus.PASSED, 0.01)]);
        TraceLayout.Append(temp.Path, "team", definition, [Line(EvaluationStatus.INCORRECT_NUMERICAL, 0.02), Line(EvaluationStatus.PASSED, 0.03)]);
        TraceLayout.Append(temp.Path, "team", definition, []);

        Assert.Equal(temp.Combine("traces", "team", "gdn", "gdn_decode_qk4_v8_d128_k_last.jsonl"), path);
        var lines = File.ReadAllText(path);
        Assert.Equal(3, lines.Count(c => c == '\n'));
        Assert.EndsWith("}\n", lines);
        Assert.Contains("\"max_absolute_error\":\"NaN\"", lines);
        var loaded = TraceDataset.Load(temp.Path);
        Assert.Empty(loaded.Errors);
        Assert.Equal([EvaluationStatus.PASSED, EvaluationStatus.INCORRECT_NUMERICAL, EvaluationStatus.PASSED], loaded.Traces.Select(t => t.Trace.Evaluation!.Status));
        Assert.Equal([0.01, 0.03], loaded.Traces.Select(t => t.Trace.Evaluation!.Performance?.LatencyMs).OfType<double>());
    }
}
