using System.CommandLine;
using AgentForge.Tools.Inputs;

namespace AgentForge.Orchestrator.Commands;

/// <summary>Builds the `agentforge` command tree; one class per verb supplies its command.</summary>
public static class AgentForgeCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("AgentForge: generates, checks and ranks CUDA kernels for FlashInfer-Bench definitions.");
        root.Subcommands.Add(DatasetCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ReferencesCommand.Create());
        root.Subcommands.Add(EvolveCommand.Create(new Evolution.HarnessAgentTools()));
        root.Subcommands.Add(RunsCommand.Create());
        root.Subcommands.Add(PackCommand.Create());
        root.Subcommands.Add(ExtractCommand.Create());
        root.Subcommands.Add(WorkerVerb.Create(() => SafetensorsTensorFiles.Instance));
        root.Subcommands.Add(ToolsCommand.Create());
        root.Subcommands.Add(McpCommand.Create());
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        if (Console.IsOutputRedirected)
        {
            // Logs and CI: wide tables instead of Spectre's 80-column default, no colours.
            Spectre.Console.AnsiConsole.Profile.Width = 200;
        }
        var parse = Build().Parse(args);
        return await parse.InvokeAsync(cancellationToken: cancellationToken);
    }
}
