using System.CommandLine;
using AgentForge.Tools.Inputs;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Commands;

/// <summary>
/// `agentforge dataset`: inspect a FlashInfer-Trace dataset. Subcommands are listed in
/// <see cref="Subcommands"/>; a new one (synth, ...) is one more entry there.
/// </summary>
public static class DatasetCommand
{
    public const int ExitClean = 0;
    public const int ExitDataErrors = 2;

    public static Command Create() => Create(SafetensorsBlobInspector.Instance);

    /// <param name="blobInspector">Reads safetensors headers so `validate` can compare blobs with the definitions.</param>
    public static Command Create(IBlobInspector? blobInspector)
    {
        var command = new Command("dataset", "Inspect a FlashInfer-Trace dataset (definitions, workloads, solutions, traces).");
        foreach (var subcommand in Subcommands(blobInspector))
        {
            command.Subcommands.Add(subcommand);
        }
        return command;
    }

    private static IEnumerable<Command> Subcommands(IBlobInspector? blobInspector) =>
    [
        Validate(blobInspector),
        List(),
        Synth(),
    ];

    private static Command Synth()
    {
        var dataset = DatasetOption();
        var command = new Command("synth", "Write every absent safetensors blob of the dataset (synthesized, deterministic per workload uuid); existing files are never overwritten.");
        command.Options.Add(dataset);
        command.SetAction((parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (LoadDataset(parse, dataset) is not { } loaded)
            {
                return Task.FromResult(ExitDataErrors);
            }
            foreach (var problem in loaded.Errors)
            {
                error.WriteLine(problem);
            }
            var report = new DatasetSynthesizer().Synthesize(loaded.Root, loaded.Definitions.Values.ToList(), loaded.AllWorkloads.ToList(), cancellationToken);
            foreach (var problem in report.Errors)
            {
                error.WriteLine(problem);
            }
            output.WriteLine($"wrote {report.Written.Count} blob file(s), kept {report.SkippedExisting.Count} existing");
            return Task.FromResult(report.Succeeded && loaded.Errors.Count == 0 ? ExitClean : ExitDataErrors);
        });
        return command;
    }

    /// <summary>The shared --dataset option; FIB_DATASET_PATH when left out.</summary>
    public static Option<string?> DatasetOption() => new("--dataset")
    {
        Description = $"Dataset root folder (default: ${TraceDataset.EnvironmentVariable}).",
    };

    /// <summary>Resolves and loads the dataset, or writes why it can't and returns null.</summary>
    public static TraceDataset? LoadDataset(ParseResult parse, Option<string?> datasetOption)
    {
        var root = TraceDataset.ResolveRoot(parse.GetValue(datasetOption));
        if (!root.IsOk)
        {
            foreach (var error in root.Errors)
            {
                parse.InvocationConfiguration.Error.WriteLine(error);
            }
            return null;
        }
        return TraceDataset.Load(root.Value);
    }

    private static Command Validate(IBlobInspector? blobInspector)
    {
        var dataset = DatasetOption();
        var strictBlobs = new Option<bool>("--strict-blobs")
        {
            Description = "Treat a missing safetensors blob as an error (by default its input is synthesized).",
        };
        var command = new Command("validate", "Load every definition, workload, solution and trace and report each problem as file:line: field: message.");
        command.Options.Add(dataset);
        command.Options.Add(strictBlobs);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (LoadDataset(parse, dataset) is not { } loaded)
            {
                return ExitDataErrors;
            }
            var problems = loaded.Errors.Concat(loaded.CheckBlobs(blobInspector, parse.GetValue(strictBlobs))).ToList();
            foreach (var problem in problems)
            {
                error.WriteLine(problem);
            }
            WriteSummary(output, loaded);
            output.WriteLine(problems.Count == 0 ? "clean" : $"{problems.Count} problem(s)");
            return problems.Count == 0 ? ExitClean : ExitDataErrors;
        });
        return command;
    }

    private static Command List()
    {
        var dataset = DatasetOption();
        var command = new Command("list", "List the definitions with their workload counts and hashes.");
        command.Options.Add(dataset);
        command.SetAction(parse =>
        {
            if (LoadDataset(parse, dataset) is not { } loaded)
            {
                return ExitDataErrors;
            }
            WriteSummary(parse.InvocationConfiguration.Output, loaded, withHashes: true);
            if (loaded.Errors.Count > 0)
            {
                parse.InvocationConfiguration.Error.WriteLine($"{loaded.Errors.Count} problem(s) while loading; run `agentforge dataset validate` for details.");
            }
            return ExitClean;
        });
        return command;
    }

    private static void WriteSummary(TextWriter output, TraceDataset dataset, bool withHashes = false)
    {
        var workloadCount = dataset.AllWorkloads.Count();
        output.WriteLine($"dataset {dataset.Root}: {dataset.Definitions.Count} definitions, {workloadCount} workloads, {dataset.Solutions.Count} solutions, {dataset.Traces.Count} traces");
        foreach (var definition in dataset.Definitions.Values.OrderBy(d => d.OpType, StringComparer.Ordinal).ThenBy(d => d.Name, StringComparer.Ordinal))
        {
            var hash = withHashes ? $"  {TraceJson.DefinitionHash(definition)[..12]}" : "";
            output.WriteLine($"  {definition.OpType}/{definition.Name}: {dataset.Workloads(definition.Name).Count} workloads{hash}");
        }
    }
}
