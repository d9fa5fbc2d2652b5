using System.CommandLine;
using AgentForge.Orchestrator.Agents.Plugins;
using ModelContextProtocol.Server;

namespace AgentForge.Orchestrator.Commands;

/// <summary>
/// `agentforge mcp`: serves the agent tools to coding agents over MCP on stdin/stdout, e.g.
/// `claude mcp add agentforge -- agentforge mcp --dataset DIR`. Diagnostics go to stderr only.
/// </summary>
public static class McpCommand
{
    public const int ExitOk = 0;
    public const int ExitUsage = 2;

    public static Command Create()
    {
        var runs = ToolsCommand.RunsOption();
        var harness = HarnessArguments.Create();
        var command = new Command("mcp", "Serve the agent tools over the Model Context Protocol (stdio) for coding agents.") { runs };
        harness.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = harness.Read(parse, out var optionsError);
            if (options is null)
            {
                Console.Error.WriteLine(optionsError ?? "bad options");
                return ExitUsage;
            }
            var (tools, backend) = AgentToolbox.Standalone(options, parse.GetValue(runs)!);
            await using (backend)
            {
                Console.Error.WriteLine($"agentforge mcp: {tools.Count} tools over stdio; dataset {options.DatasetRoot}");
                await McpToolServer.RunAsync(new StdioServerTransport("agentforge"), tools, cancellationToken);
            }
            return ExitOk;
        });
        return command;
    }
}
