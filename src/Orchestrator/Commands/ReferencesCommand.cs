using System.CommandLine;
using System.Diagnostics;
using AgentForge.Tools.Trace;
using Spectre.Console;

namespace AgentForge.Orchestrator.Commands;

/// <summary>
/// `agentforge references`: produces (and caches) the reference outputs of every workload and
/// trial of the chosen definitions, several oracle processes at once, and reports the time taken.
/// </summary>
public static class ReferencesCommand
{
    public static Command Create()
    {
        var definitions = new Option<string[]>("--definition") { Description = "Definitions (default: all in the dataset).", AllowMultipleArgumentsPerToken = true };
        var trials = new Option<int>("--trials") { Description = "Trials (input sets) per workload.", DefaultValueFactory = _ => 3 };
        var seed = new Option<ulong>("--seed") { Description = "Run seed for random inputs.", DefaultValueFactory = _ => 0 };
        var harness = HarnessArguments.Create();
        var command = new Command("references", "Produce and cache the reference outputs of every workload (untimed), in parallel.") { definitions, trials, seed };
        harness.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var console = AnsiConsole.Console;
            var options = harness.Read(parse, out var error);
            if (options is null)
            {
                console.WriteLine(error ?? "bad options");
                return BenchCommand.ExitUsage;
            }
            var created = Harness.Harness.Create(options, null);
            if (!created.IsOk)
            {
                created.Errors.ToList().ForEach(e => console.WriteLine(e.ToString()));
                return BenchCommand.ExitUsage;
            }
            await using var host = created.Value;
            var names = parse.GetValue(definitions) is { Length: > 0 } given ? given : host.Dataset.Definitions.Keys.ToArray();
            var unknown = names.Where(n => host.Dataset.FindDefinition(n) is null).ToList();
            if (unknown.Count > 0)
            {
                console.WriteLine($"unknown definition(s): {string.Join(", ", unknown)}");
                return BenchCommand.ExitUsage;
            }
            var trialCount = Math.Max(1, parse.GetValue(trials));
            var clock = Stopwatch.StartNew();
            var failures = 0;
            var produced = 0;
            foreach (var name in names)
            {
                var definition = host.Dataset.FindDefinition(name)!;
                var items = host.Dataset.Workloads(name).SelectMany(w => Enumerable.Range(0, trialCount).Select(t => (definition, w, t))).ToList();
                var report = await host.Precomputer.RunAsync(items, parse.GetValue(seed), null, cancellationToken);
                produced += report.Produced;
                failures += report.Failures.Count;
                console.WriteLine($"{name}: {report.Produced}/{items.Count} reference outputs in {report.Elapsed.TotalSeconds:0.0} s");
                foreach (var failure in report.Failures.Take(5))
                {
                    console.WriteLine($"  {failure.WorkloadUuid} trial {failure.Trial}: {failure.Error}");
                }
            }
            console.WriteLine($"total: {produced} reference outputs, {failures} failed, {clock.Elapsed.TotalSeconds:0.0} s with {options.OracleProcesses} oracle process(es)");
            return failures == 0 ? 0 : 1;
        });
        return command;
    }
}
