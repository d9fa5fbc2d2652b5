using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Trace;

/// <summary>Every definition and workload of the shared dataset loads, round-trips and fits the schemas.</summary>
public sealed class SharedDatasetTests
{
    public static TheoryData<string> DefinitionFiles => [.. SharedData.DefinitionFiles.Select(f => Path.GetFileName(f))];

    public static TheoryData<string> WorkloadFiles => [.. SharedData.WorkloadFiles.Select(f => Path.GetFileName(f))];

    private static string Find(IEnumerable<string> files, string name) => files.Single(f => Path.GetFileName(f) == name);

    [Fact]
    public void The_whole_dataset_loads_without_errors()
    {
        var dataset = TraceDataset.Load(SharedData.DatasetRoot);

        Assert.Empty(dataset.Errors);
        Assert.Equal(SharedData.DefinitionFiles.Count(), dataset.Definitions.Count);
        var lines = SharedData.WorkloadFiles.Sum(f => File.ReadLines(f).Count(l => l.Trim().Length > 0));
        Assert.Equal(lines, dataset.AllWorkloads.Count());
        Assert.All(dataset.Definitions.Keys, name => Assert.NotEmpty(dataset.Workloads(name)));
    }

    [Theory]
    [MemberData(nameof(DefinitionFiles))]
    public void Definitions_round_trip_and_fit_the_schema(string fileName)
    {
        var file = Find(SharedData.DefinitionFiles, fileName);
        var read = TraceJson.ReadDefinitionFile(file);
        Assert.True(read.IsOk, string.Join("\n", read.Errors));

        var written = TraceJson.WriteDefinition(read.Value);
        var reread = TraceJson.ReadDefinition(written, "written.json");

        Assert.True(reread.IsOk, string.Join("\n", reread.Errors));
        Assert.Equal(read.Value, reread.Value);
        Assert.Equal(written, TraceJson.WriteDefinition(reread.Value));
        Assert.Empty(SchemaCheck.Errors("definition", written));
        Assert.Empty(SchemaCheck.Errors("definition", File.ReadAllText(file)));
        Assert.Empty(SchemaCheck.KeyOrderProblems("definition", written, "optional"));
    }

    [Theory]
    [MemberData(nameof(WorkloadFiles))]
    public void Workload_lines_round_trip_and_fit_the_schemas(string fileName)
    {
        var file = Find(SharedData.WorkloadFiles, fileName);
        var (traces, errors) = TraceJson.ReadTraceFile(file);
        Assert.Empty(errors);
        Assert.NotEmpty(traces);

        foreach (var entry in traces)
        {
            var line = TraceJson.WriteTrace(entry.Trace);
            var reread = TraceJson.ReadTrace(line, "written.jsonl", 1);

            Assert.True(reread.IsOk, string.Join("\n", reread.Errors));
            Assert.Equal(entry.Trace, reread.Value);
            Assert.Equal(line, TraceJson.WriteTrace(reread.Value));
            Assert.DoesNotContain('\n', line);
            Assert.Empty(SchemaCheck.Errors("trace", line));
            Assert.Empty(SchemaCheck.KeyOrderProblems("trace", line));
            var workload = TraceJson.WriteWorkload(entry.Trace.Workload);
            Assert.Empty(SchemaCheck.Errors("workload", workload));
            Assert.Equal(entry.Trace.Workload, TraceJson.ReadWorkload(workload, "workload.json").Value);
        }
    }

    [Fact]
    public void Scalar_inputs_keep_integer_and_float_forms()
    {
        var moe = TraceDataset.Load(SharedData.DatasetRoot).AllWorkloads.First(w => w.DefinitionName.StartsWith("moe_", StringComparison.Ordinal));

        var offset = Assert.IsType<ScalarInput>(moe.Workload.FindInput("local_expert_offset"));
        var factor = Assert.IsType<ScalarInput>(moe.Workload.FindInput("routed_scaling_factor"));
        Assert.Equal(ScalarKind.Integer, offset.Value.Kind);
        Assert.Equal(ScalarKind.Float, factor.Value.Kind);
        Assert.Equal(2.5, factor.Value.Float);
        var line = TraceJson.WriteTrace(new AgentForge.Tools.Trace.Trace(moe.DefinitionName, moe.Workload));
        Assert.Contains($"\"local_expert_offset\":{{\"type\":\"scalar\",\"value\":{offset.Value.Integer}}}", line);
        Assert.Contains("\"routed_scaling_factor\":{\"type\":\"scalar\",\"value\":2.5}", line);
    }

    [Fact]
    public void The_optional_flag_on_gdn_state_survives_a_round_trip()
    {
        var file = SharedData.DefinitionFiles.First(f => Path.GetFileName(f).StartsWith("gdn_decode", StringComparison.Ordinal));
        var definition = TraceJson.ReadDefinitionFile(file).Value!;

        Assert.True(definition.FindInput("state")!.Spec.Optional);
        Assert.False(definition.FindInput("q")!.Spec.Optional);
        var reread = TraceJson.ReadDefinition(TraceJson.WriteDefinition(definition), "written.json").Value!;
        Assert.True(reread.FindInput("state")!.Spec.Optional);
        Assert.Contains("\"optional\": true", TraceJson.WriteDefinition(definition));
    }

    [Fact]
    public void Definition_hashes_are_stable_and_distinct()
    {
        var definitions = SharedData.DefinitionFiles.Select(f => TraceJson.ReadDefinitionFile(f).Value!).ToList();
        var hashes = definitions.Select(TraceJson.DefinitionHash).ToList();

        Assert.All(hashes, h => Assert.Matches("^[0-9a-f]{64}$", h));
        Assert.Equal(hashes.Count, hashes.Distinct().Count());
        // The dataset's files list keys in another order than the writer: the hash ignores that.
        var reread = definitions.Select(d => TraceJson.ReadDefinition(TraceJson.WriteDefinition(d), "x.json").Value!);
        Assert.Equal(hashes, reread.Select(TraceJson.DefinitionHash));
    }

    [Fact]
    public void The_schema_checks_are_not_vacuous()
    {
        var original = File.ReadLines(SharedData.WorkloadFiles.First()).First();

        // The dataset's own lines put "solution" before "workload"; the writer follows pydantic.
        Assert.NotEmpty(SchemaCheck.KeyOrderProblems("trace", original));
        Assert.NotEmpty(SchemaCheck.Errors("trace", original.Replace("\"axes\":{", "\"axes\":{\"bad\":-1,")));
        Assert.NotEmpty(SchemaCheck.Errors("definition", "{\"name\": \"x\"}"));
    }
}
