using System.Text.Json;
using AgentForge.Tests.Trace;
using AgentForge.Tools.Agents;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace AgentForge.Tests.Agents;

/// <summary>`agentforge mcp` as a coding agent sees it: a child process speaking MCP over stdio.</summary>
public sealed class McpServerTests : IDisposable
{
    private readonly string scratch = Directory.CreateTempSubdirectory("afg-mcp-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_client_initializes_lists_the_tools_and_calls_list_workloads()
    {
        var ct = TestContext.Current.CancellationToken;
        var stderr = new List<string>();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "agentforge",
            Command = "dotnet",
            Arguments = [AgentPaths.AgentForgeDll, "mcp", "--dataset", SharedData.DatasetRoot, "--cache", Path.Combine(scratch, "cache"), "--runs", Path.Combine(scratch, "runs")],
            StandardErrorLines = line => { lock (stderr) { stderr.Add(line); } },
        });
        await using var client = await McpClient.CreateAsync(transport, cancellationToken: ct);

        Assert.Equal("agentforge", client.ServerInfo?.Name);
        var tools = await client.ListToolsAsync(cancellationToken: ct);
        Assert.Equal(ToolNames.All.Order(), tools.Select(t => t.Name).Order());
        var sanitizer = tools.Single(t => t.Name == ToolNames.RunSanitizer);
        Assert.Equal(
            ["solution", "workload", "device", "trace_set_path", "sanitizer_types", "sanitizer_path", "timeout", "tmpdir", "max_lines"],
            sanitizer.JsonSchema.GetProperty("properties").EnumerateObject().Select(p => p.Name));

        var result = await client.CallToolAsync(ToolNames.ListWorkloads, new Dictionary<string, object?> { ["definition"] = "gdn_prefill_qk4_v8_d128_k_last" }, cancellationToken: ct);

        Assert.NotEqual(true, result.IsError);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        using var document = JsonDocument.Parse(text);
        Assert.Equal("gdn_prefill_qk4_v8_d128_k_last", document.RootElement.GetProperty("definition").GetString());
        Assert.True(document.RootElement.GetProperty("count").GetInt32() > 0);
        lock (stderr)
        {
            // The server's own words go to stderr, never into the protocol stream.
            Assert.Contains(stderr, l => l.Contains("agentforge mcp: 10 tools over stdio", StringComparison.Ordinal));
        }
    }
}
