using System.CommandLine;
using AgentForge.Tools.Packaging;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Commands;

/// <summary>
/// `agentforge extract SOLUTION DIR`: writes a solution.json's sources into DIR/&lt;name&gt;/ with
/// manifest.json and SOLUTION.md, the reverse of `agentforge pack --solution`.
/// </summary>
public static class ExtractCommand
{
    public const int ExitExtracted = 0;
    public const int ExitFailed = 2;

    public static Command Create()
    {
        var solution = new Argument<string>("solution") { Description = "A FlashInfer-Bench solution.json." };
        var directory = new Argument<string>("dir") { Description = "Folder to extract into (the solution goes to DIR/<name>/)." };
        var command = new Command("extract", "Write a solution.json's sources into a folder (with manifest.json and SOLUTION.md); `agentforge pack --solution` packs it again.")
        {
            solution, directory,
        };
        command.SetAction(parse =>
        {
            var error = parse.InvocationConfiguration.Error;
            var path = parse.GetValue(solution)!;
            var read = TraceJson.ReadSolutionFile(path);
            if (!read.IsOk)
            {
                read.Errors.ToList().ForEach(e => error.WriteLine(e.ToString()));
                return ExitFailed;
            }
            var extracted = SolutionFolder.Extract(read.Value, parse.GetValue(directory)!, path);
            if (!extracted.IsOk)
            {
                extracted.Errors.ToList().ForEach(e => error.WriteLine(e.ToString()));
                return ExitFailed;
            }
            var binding = PackedSolution.Marker(read.Value)?.Binding.WireName() ?? read.Value.Spec.Binding ?? BindingKind.TvmFfi.WireName();
            parse.InvocationConfiguration.Output.WriteLine(
                $"extracted {read.Value.Name} ({read.Value.Sources.Count} sources) -> {extracted.Value}; pack it again with: "
                + $"agentforge pack --definition {read.Value.Definition} --solution {extracted.Value} --binding {binding}");
            return ExitExtracted;
        });
        return command;
    }
}
