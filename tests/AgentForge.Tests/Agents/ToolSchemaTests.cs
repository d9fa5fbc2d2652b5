using System.Text.Json;
using System.Text.Json.Nodes;
using AgentForge.Orchestrator.Agents.Plugins;
using AgentForge.Tools.Agents;
using Microsoft.SemanticKernel;

namespace AgentForge.Tests.Agents;

public sealed class ToolSchemaTests
{
    private static string Exported() =>
        ToolCatalog.OpenAiSchemas(ToolCatalog.Declarations()).ToJsonString(new JsonSerializerOptions(ToolJson.Options) { WriteIndented = true }) + "\n";

    /// <summary>
    /// The schemas are what models see: any change to a name, description or parameter must be
    /// deliberate. Set AGENTFORGE_UPDATE_SNAPSHOTS=1 to rewrite the snapshot after such a change.
    /// </summary>
    [Fact]
    public void Exported_openai_schemas_match_the_snapshot()
    {
        var path = AgentPaths.SnapshotPath("tools.openai.json");
        var exported = Exported();
        if (Environment.GetEnvironmentVariable("AGENTFORGE_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, exported);
        }
        Assert.True(File.Exists(path), $"no snapshot at {path}; run once with AGENTFORGE_UPDATE_SNAPSHOTS=1 and review it");
        Assert.Equal(File.ReadAllText(path), exported);
    }

    [Fact]
    public void The_tools_are_the_ten_of_the_issue_in_order()
    {
        Assert.Equal(
            ["get_definition", "list_workloads", "compile", "check_correctness", "benchmark", "run_sanitizer", "run_ncu", "list_ncu_options", "get_best", "submit_candidate"],
            ToolCatalog.Declarations().Select(d => d.Name));
        var schemas = ToolCatalog.OpenAiSchemas(ToolCatalog.Declarations());
        Assert.All(schemas, tool =>
        {
            Assert.Equal("function", tool!["type"]!.GetValue<string>());
            Assert.Equal("object", tool["function"]!["parameters"]!["type"]!.GetValue<string>());
            Assert.False(string.IsNullOrWhiteSpace(tool["function"]!["description"]!.GetValue<string>()));
        });
    }

    public static TheoryData<string, string> FibTools => new()
    {
        { "flashinfer_bench_run_sanitizer", "run_sanitizer" },
        { "flashinfer_bench_run_ncu", "run_ncu" },
        { "flashinfer_bench_list_ncu_options", "list_ncu_options" },
    };

    [Theory]
    [MemberData(nameof(FibTools))]
    public void Sanitizer_and_ncu_tools_take_flashinfer_bench_parameters(string fibName, string ourName)
    {
        var fib = JsonNode.Parse(File.ReadAllText(AgentPaths.FibToolSchemas))!.AsArray().Single(t => t!["name"]!.GetValue<string>() == fibName)!["parameters"]!;
        var ours = JsonNode.Parse(ToolCatalog.Declarations().Single(d => d.Name == ourName).JsonSchema.GetRawText())!;

        var fibProperties = fib["properties"]!.AsObject();
        var ourProperties = ours["properties"]!.AsObject();
        Assert.Equal(fibProperties.Select(p => p.Key), ourProperties.Select(p => p.Key));
        Assert.Equal(
            (fib["required"]?.AsArray() ?? []).Select(r => r!.GetValue<string>()).Order(),
            (ours["required"]?.AsArray() ?? []).Select(r => r!.GetValue<string>()).Order());
        foreach (var (name, property) in fibProperties)
        {
            if (property!["default"] is { } fibDefault)
            {
                Assert.True(JsonNode.DeepEquals(fibDefault, ourProperties[name]!["default"]), $"{ourName}.{name}: default {ourProperties[name]!["default"]} differs from FlashInfer-Bench's {fibDefault}");
            }
            if (property["items"]?["enum"] is JsonArray values)
            {
                Assert.Equal(values.Select(v => v!.GetValue<string>()).Order(), ourProperties[name]!["items"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()).Order());
            }
        }
    }

    [Fact]
    public void The_semantic_kernel_plugin_keeps_names_descriptions_and_parameters()
    {
        var declarations = ToolCatalog.Declarations();
        var functions = ToolCatalog.Create(new ToolServices(FakeBackend.Shared(), new CandidateStore(Path.GetTempPath()), new FakeChampions(), new FakeSink()));
        var plugin = AgentForgePlugin.Create(functions);

        Assert.Equal("agentforge", plugin.Name);
        Assert.Equal(ToolNames.All.Order(), plugin.Select(f => f.Name).Order());
        foreach (var function in plugin)
        {
            var declaration = declarations.Single(d => d.Name == function.Name);
            Assert.Equal(declaration.Description, function.Description);
            var expected = JsonNode.Parse(declaration.JsonSchema.GetRawText())!["properties"]!.AsObject().Select(p => p.Key);
            Assert.Equal(expected, function.Metadata.Parameters.Select(p => p.Name));
            Assert.Equal("agentforge", function.PluginName);
        }
        // What an OpenAI-compatible model sees with automatic function calling: plugin "-" function.
        Assert.Equal(
            ["agentforge-get_definition", "agentforge-list_workloads", "agentforge-compile", "agentforge-check_correctness", "agentforge-benchmark",
             "agentforge-run_sanitizer", "agentforge-run_ncu", "agentforge-list_ncu_options", "agentforge-get_best", "agentforge-submit_candidate"],
            functions.Select(f => plugin[f.Name]).Select(f => $"{f.PluginName}-{f.Name}"));
    }

    [Fact]
    public async Task A_kernel_invokes_a_tool_through_the_plugin()
    {
        var functions = ToolCatalog.Create(new ToolServices(FakeBackend.Shared(), new CandidateStore(Path.GetTempPath()), new FakeChampions(), new FakeSink()));
        var kernel = new Kernel();
        kernel.Plugins.Add(AgentForgePlugin.Create(functions));

        var result = await kernel.InvokeAsync("agentforge", "list_workloads", new KernelArguments { ["definition"] = "gdn_decode_qk4_v8_d128_k_last" }, TestContext.Current.CancellationToken);

        using var document = JsonDocument.Parse(JsonSerializer.Serialize(result.GetValue<object>(), ToolJson.Options));
        Assert.Equal(54, document.RootElement.GetProperty("count").GetInt32());
    }
}
