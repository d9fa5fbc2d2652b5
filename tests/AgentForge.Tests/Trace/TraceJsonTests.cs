using System.Text.Json.Nodes;
using AgentForge.Tools.Trace;
using TraceRecord = AgentForge.Tools.Trace.Trace;

namespace AgentForge.Tests.Trace;

public sealed class TraceJsonTests
{
    private static readonly Workload Workload = new(
        "u1",
        new Dictionary<string, long> { ["n"] = 3 },
        [
            new("x", new RandomInput()),
            new("idx", new SafetensorsInput("./blob/workloads/demo/tiny/tiny_u1.safetensors", "idx")),
            new("scale", new ScalarInput(ScalarValue.Of(1.0))),
            new("flag", new ScalarInput(ScalarValue.Of(true))),
            new("offset", new ScalarInput(ScalarValue.Of(192L))),
        ]);

    private static TraceRecord Passed(double relative, double absolute, JsonObject? extra = null) => new(
        "tiny",
        Workload,
        "tiny_cuda_v1",
        new Evaluation(
            EvaluationStatus.PASSED,
            new TraceEnvironment("NVIDIA_H100", new Dictionary<string, string> { ["torch"] = "2.9.0", ["cuda"] = "13.0" }),
            "2026-01-01T00:00:00",
            "log line",
            new Correctness(relative, absolute, extra),
            new Performance(0.5, 2.0, 4.0)));

    [Fact]
    public void A_trace_is_written_as_flashinfer_bench_writes_it()
    {
        var line = TraceJson.WriteTrace(Passed(double.NaN, double.PositiveInfinity));

        Assert.Equal(
            """{"definition":"tiny","workload":{"axes":{"n":3},"inputs":{"x":{"type":"random"},"idx":{"type":"safetensors","path":"./blob/workloads/demo/tiny/tiny_u1.safetensors","tensor_key":"idx"},"scale":{"type":"scalar","value":1.0},"flag":{"type":"scalar","value":true},"offset":{"type":"scalar","value":192}},"uuid":"u1"},"solution":"tiny_cuda_v1","evaluation":{"status":"PASSED","environment":{"hardware":"NVIDIA_H100","libs":{"torch":"2.9.0","cuda":"13.0"}},"timestamp":"2026-01-01T00:00:00","log":"log line","correctness":{"max_relative_error":"NaN","max_absolute_error":"Infinity","extra":null},"performance":{"latency_ms":0.5,"reference_latency_ms":2.0,"speedup_factor":4.0}}}""",
            line);
    }

    [Theory]
    [InlineData(double.NaN, double.PositiveInfinity)]
    [InlineData(double.PositiveInfinity, 0.0)]
    [InlineData(1e-05, 0.25)]
    public void A_trace_with_an_evaluation_round_trips(double relative, double absolute)
    {
        var extra = new JsonObject { ["matched_ratio"] = 0.95, ["bad_elements"] = 12, ["note"] = "ok" };
        var trace = Passed(relative, absolute, extra);

        var line = TraceJson.WriteTrace(trace);
        var read = TraceJson.ReadTrace(line, "traces.jsonl", 7);

        Assert.True(read.IsOk, string.Join("\n", read.Errors));
        Assert.Equal(trace, read.Value);
        Assert.Equal(line, TraceJson.WriteTrace(read.Value));
        Assert.Equal(relative, read.Value.Evaluation!.Correctness!.MaxRelativeError);
        Assert.Equal(absolute, read.Value.Evaluation.Correctness.MaxAbsoluteError);
        Assert.Contains("\"extra\":{\"matched_ratio\":0.95,\"bad_elements\":12,\"note\":\"ok\"}", line);
        Assert.Empty(SchemaCheck.KeyOrderProblems("trace", line));
        if (double.IsFinite(relative) && double.IsFinite(absolute))
        {
            Assert.Empty(SchemaCheck.Errors("trace", line));
        }
    }

    [Fact]
    public void Non_finite_floats_in_extras_are_written_as_strings()
    {
        var line = TraceJson.WriteTrace(Passed(0, 0, new JsonObject { ["worst"] = double.NegativeInfinity, ["ratio"] = double.NaN }));

        Assert.Contains("\"extra\":{\"worst\":\"-Infinity\",\"ratio\":\"NaN\"}", line);
        Assert.True(TraceJson.ReadTrace(line, "traces.jsonl", 1).IsOk);
    }

    [Fact]
    public void Failed_evaluations_round_trip_without_metrics()
    {
        var trace = new TraceRecord("tiny", Workload, "tiny_cuda_v1", new Evaluation(
            EvaluationStatus.COMPILE_ERROR, new TraceEnvironment("NVIDIA_H100", new Dictionary<string, string>()), "2026-01-01T00:00:00", "nvcc: error"));

        var line = TraceJson.WriteTrace(trace);

        Assert.Equal(trace, TraceJson.ReadTrace(line, "traces.jsonl", 1).Value);
        Assert.Empty(SchemaCheck.Errors("trace", line));
        Assert.Contains("\"correctness\":null,\"performance\":null", line);
    }

    [Fact]
    public void A_status_without_its_metrics_is_an_error()
    {
        var line = TraceJson.WriteTrace(Passed(0, 0)).Replace("\"performance\":{\"latency_ms\":0.5,\"reference_latency_ms\":2.0,\"speedup_factor\":4.0}", "\"performance\":null");

        var read = TraceJson.ReadTrace(line, "traces.jsonl", 4);

        var error = Assert.Single(read.Errors);
        Assert.Equal("traces.jsonl:4: evaluation.performance: required when status is PASSED", error.ToString());
    }

    [Fact]
    public void A_solution_round_trips_in_schema_order()
    {
        var solution = new Solution(
            "tiny_cuda_v1",
            "tiny",
            "agentforge",
            new BuildSpec("cuda", ["cuda"], "kernel.cu::run", ["cublas"], true, "tvm-ffi"),
            [new SourceFile("kernel.cu", "#include \"agentforge.h\"\n__global__ void k() {}\n"), new SourceFile("util.cuh", "// <helpers> & more\n")],
            "Tiled kernel.");

        var json = TraceJson.WriteSolution(solution);
        var read = TraceJson.ReadSolution(json, "solution.json");

        Assert.True(read.IsOk, string.Join("\n", read.Errors));
        Assert.Equal(solution, read.Value);
        Assert.Equal(json, TraceJson.WriteSolution(read.Value));
        Assert.Empty(SchemaCheck.Errors("solution", json));
        Assert.Empty(SchemaCheck.KeyOrderProblems("solution", json));
        Assert.Contains("<helpers> & more", json);
    }

    [Fact]
    public void A_solution_with_defaults_reads_them_as_pydantic_does()
    {
        const string json = """
            {"name": "s", "definition": "tiny", "author": "me",
             "spec": {"language": "cuda", "target_hardware": ["cuda"], "entry_point": "k.cu::run"},
             "sources": [{"path": "k.cu", "content": "x"}]}
            """;

        var solution = TraceJson.ReadSolution(json, "s.json").Value!;

        Assert.True(solution.Spec.DestinationPassingStyle);
        Assert.Null(solution.Spec.Binding);
        Assert.Empty(solution.Spec.Dependencies);
        Assert.Null(solution.Description);
    }

    [Fact]
    public void Definitions_are_pretty_printed_with_two_spaces_in_schema_order()
    {
        var definition = TraceJson.ReadDefinition(TinyDataset.Definition, "tiny.json").Value!;

        var json = TraceJson.WriteDefinition(definition);

        Assert.StartsWith("{\n  \"name\": \"tiny\",\n  \"op_type\": \"demo\",\n  \"axes\": {\n    \"n\": {\n      \"type\": \"var\",\n      \"description\": null\n    },", json);
        Assert.Empty(SchemaCheck.KeyOrderProblems("definition", json));
        Assert.Empty(SchemaCheck.Errors("definition", json));
    }

    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(2.5, "2.5")]
    [InlineData(192.0, "192.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(0.08838834764831843, "0.08838834764831843")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(1.5e-07, "1.5e-07")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(123456789.125, "123456789.125")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(5e-324, "5e-324")]
    public void Floats_are_written_as_python_repr_writes_them(double value, string expected)
    {
        Assert.Equal(expected, PythonFloat.Format(value));
        Assert.Equal(value, double.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Records_compare_by_value()
    {
        var a = TraceJson.ReadDefinition(TinyDataset.Definition, "a.json").Value!;
        var b = TraceJson.ReadDefinition(TinyDataset.Definition, "b.json").Value!;

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Tags = ["x"] });
        Assert.Equal(TraceJson.DefinitionHash(a), TraceJson.DefinitionHash(b));
        Assert.NotEqual(TraceJson.DefinitionHash(a), TraceJson.DefinitionHash(b with { Description = "changed" }));
    }
}
