using System.CommandLine;
using AgentForge.Tools.Build;
using AgentForge.Tools.Packaging;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Commands;

/// <summary>
/// `agentforge pack`: writes a FlashInfer-Bench solution.json for a definition from a baseline,
/// a run's best candidate or a folder of sources, with a TVM-FFI or torch binding generated from
/// the definition. Refuses (or, with --force, warns about) what the official builders would
/// reject or miscompile.
/// </summary>
public static class PackCommand
{
    public const int ExitPacked = 0;
    public const int ExitRefused = 1;
    public const int ExitUsage = 2;

    public static Command Create()
    {
        var definition = new Option<string>("--definition") { Description = "Definition name.", Required = true };
        var baseline = new Option<bool>("--baseline") { Description = "Pack the definition's hand-written baseline." };
        var run = new Option<string?>("--run") { Description = "Pack a run's best candidate: a run id under --runs, or a run folder (reads best/<definition>/solution.json)." };
        var solution = new Option<string?>("--solution") { Description = "Pack a folder of sources (.cu, .cuh, .h, ...) with an optional manifest.json, such as one written by `agentforge extract`." };
        var binding = new Option<string>("--binding")
        {
            Description = "How FlashInfer-Bench loads it: tvm-ffi (its default), torch, or python (a Python solution whose main.py builds the CUDA sources "
                + "itself, for the candidate's arch-specific target where the device has it: the FAQ's way around the builders' fixed flags).",
            DefaultValueFactory = _ => "tvm-ffi",
        };
        binding.AcceptOnlyFromAmong("tvm-ffi", "torch", "python");
        var author = new Option<string?>("--author") { Description = $"Solution author (default: the source's, else {SolutionPacker.DefaultAuthor})." };
        var name = new Option<string?>("--name") { Description = "Solution name (default: the source's)." };
        var output = new Option<string>("--out") { Description = "Where to write the solution.", DefaultValueFactory = _ => "solution.json" };
        var force = new Option<bool>("--force") { Description = "Pack despite check errors, reporting them as warnings." };
        var dataset = DatasetCommand.DatasetOption();
        var kernels = new Option<string?>("--kernels") { Description = "Baseline kernels folder with include/agentforge.h (default: beside the executable)." };
        var runs = new Option<string>("--runs") { Description = "Folder of runs for --run.", DefaultValueFactory = _ => "runs" };

        var command = new Command("pack", "Write a FlashInfer-Bench solution.json (kernel sources + generated TVM-FFI or torch binding) for a definition.")
        {
            definition, baseline, run, solution, binding, author, name, output, force, dataset, kernels, runs,
        };
        command.SetAction(parse =>
        {
            var error = parse.InvocationConfiguration.Error;
            var sources = (parse.GetValue(baseline) ? 1 : 0) + (parse.GetValue(run) is null ? 0 : 1) + (parse.GetValue(solution) is null ? 0 : 1);
            if (sources != 1)
            {
                error.WriteLine("give exactly one of --baseline, --run RUN or --solution DIR");
                return ExitUsage;
            }
            if (DatasetCommand.LoadDataset(parse, dataset) is not { } loaded)
            {
                return ExitUsage;
            }
            var definitionName = parse.GetValue(definition)!;
            if (loaded.FindDefinition(definitionName) is not { } found)
            {
                error.WriteLine($"unknown definition '{definitionName}'; known: {string.Join(", ", loaded.Definitions.Keys.Order(StringComparer.Ordinal))}");
                return ExitUsage;
            }
            if (BaselineCatalog.Locate(parse.GetValue(kernels)) is not { } kernelsRoot || BaselineCatalog.Load(kernelsRoot) is not { IsOk: true } catalog)
            {
                error.WriteLine("baseline kernels (manifest.json, include/agentforge.h) not found: pass --kernels DIR");
                return ExitUsage;
            }
            var input = parse.GetValue(baseline) ? PackSources.FromBaseline(catalog.Value, definitionName)
                : parse.GetValue(run) is { } runName ? PackSources.FromRun(parse.GetValue(runs)!, runName, definitionName)
                : SolutionFolder.Read(parse.GetValue(solution)!, definitionName);
            if (!input.IsOk)
            {
                input.Errors.ToList().ForEach(e => error.WriteLine(e.ToString()));
                return ExitUsage;
            }
            BindingKinds.TryParse(parse.GetValue(binding), out var kind);
            var options = new PackOptions(kind, parse.GetValue(author), parse.GetValue(name), parse.GetValue(force));
            return Write(parse, SolutionPacker.FromCatalog(catalog.Value).Pack(found, input.Value, options), parse.GetValue(output)!);
        });
        return command;
    }

    private static int Write(ParseResult parse, PackResult result, string path)
    {
        var output = parse.InvocationConfiguration.Output;
        foreach (var finding in result.Findings)
        {
            output.WriteLine(finding.ToString());
        }
        if (result.Solution is not { } solution)
        {
            var errors = result.Findings.Count(f => f.Severity == FindingSeverity.Error);
            output.WriteLine(result.Findings.Any(f => f.Blocking)
                ? $"refused: {errors} error(s), some of which --force cannot override"
                : $"refused: {errors} error(s). Fix them, or pass --force to pack anyway (they become warnings).");
            return ExitRefused;
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        File.WriteAllText(path, TraceJson.WriteSolution(solution));
        output.WriteLine($"packed {solution.Name} for {solution.Definition} ({solution.Spec.Binding ?? solution.Spec.Language} binding, entry {solution.Spec.EntryPoint}) -> {path}: "
            + string.Join(", ", solution.Sources.Select(s => s.Path)));
        return ExitPacked;
    }
}
