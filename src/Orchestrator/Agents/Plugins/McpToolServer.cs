using Microsoft.Extensions.AI;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentForge.Orchestrator.Agents.Plugins;

/// <summary>
/// The tools over the Model Context Protocol, for coding agents (Claude Code, Codex). Over stdio
/// the process's stdout carries protocol messages only: nothing else may write to it.
/// </summary>
public static class McpToolServer
{
    public static McpServerOptions Options(IEnumerable<AIFunction> tools)
    {
        var collection = new McpServerPrimitiveCollection<McpServerTool>();
        foreach (var tool in tools)
        {
            collection.Add(McpServerTool.Create(tool));
        }
        return new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "agentforge", Version = typeof(McpToolServer).Assembly.GetName().Version?.ToString() ?? "0.0.0" },
            ServerInstructions = "AgentForge tools: write CUDA kernels for FlashInfer-Bench definitions, then compile, check, benchmark, "
                + "sanitize and profile them on the GPU. Start with get_definition and get_best.",
            ToolCollection = collection,
        };
    }

    /// <summary>Serves until the client closes the connection or <paramref name="cancellationToken"/> fires.</summary>
    public static async Task RunAsync(ITransport transport, IEnumerable<AIFunction> tools, CancellationToken cancellationToken)
    {
        await using var server = McpServer.Create(transport, Options(tools));
        await server.RunAsync(cancellationToken);
    }
}
