using System.CommandLine;
using System.Globalization;
using AgentForge.Orchestrator.Evolution;
using Spectre.Console;

namespace AgentForge.Orchestrator.Commands;

/// <summary>`agentforge runs list | show RUN | diff A B | report RUN`: reads the run history under runs/.</summary>
public static class RunsCommand
{
    public const int ExitOk = 0;
    public const int ExitUsage = 2;

    public static Option<string> RunsOption() =>
        new("--runs") { Description = "Folder holding the run folders.", DefaultValueFactory = _ => "runs" };

    public static Command Create()
    {
        var command = new Command("runs", "Read the run history: list, show, diff, report.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Diff());
        command.Subcommands.Add(Report());
        return command;
    }

    private static Command List()
    {
        var runs = RunsOption();
        var command = new Command("list", "Every run, newest first: track, generator, candidates, champions, status.") { runs };
        command.SetAction(parse =>
        {
            var console = AnsiConsole.Console;
            var root = parse.GetValue(runs)!;
            if (!Directory.Exists(root))
            {
                console.WriteLine($"no runs in {Path.GetFullPath(root)}");
                return ExitOk;
            }
            var table = new Table();
            foreach (var column in new[] { "run", "generator", "sessions", "spent", "candidates", "champions (definition-wide)", "status" })
            {
                table.AddColumn(column);
            }
            foreach (var folder in Directory.GetDirectories(root).Where(d => File.Exists(Path.Combine(d, RunStore.EventsFile))).OrderByDescending(d => Path.GetFileName(d), StringComparer.Ordinal))
            {
                using var store = RunStore.OpenForReading(folder);
                var replay = RunReplay.From(store.ReadEvents());
                var info = store.ReadRunInfo();
                var champions = replay.Archive.ChampionEntries().Where(c => c.Band == WorkloadBands.All)
                    .Select(c => string.Create(CultureInfo.InvariantCulture, $"{Short(c.Definition)} {c.GeomeanLatencyMs:0.0000} ms"));
                table.AddRow(
                    Markup.Escape(store.Id),
                    Markup.Escape(info?.Generator ?? "?"),
                    replay.Sessions.ToString(CultureInfo.InvariantCulture),
                    Duration(replay.Elapsed),
                    replay.Archive.Records().Count(r => r.Generation > 0).ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(string.Join("; ", champions)),
                    Markup.Escape(Status(replay)));
            }
            console.Write(table);
            return ExitOk;
        });
        return command;
    }

    private static Command Show()
    {
        var runs = RunsOption();
        var run = new Argument<string>("run") { Description = "Run folder, id, or unique id prefix." };
        var command = new Command("show", "One run: how it was started, its champions per band, and every candidate.") { runs, run };
        command.SetAction(parse =>
        {
            var console = AnsiConsole.Console;
            if (Open(parse.GetValue(runs)!, parse.GetValue(run)!, console) is not { } store)
            {
                return ExitUsage;
            }
            using var _ = store;
            var replay = RunReplay.From(store.ReadEvents());
            // The report's Markdown is also the most readable terminal view.
            console.WriteLine(RunReport.Markdown(store.Id, store.ReadRunInfo(), replay));
            return ExitOk;
        });
        return command;
    }

    private static Command Diff()
    {
        var runs = RunsOption();
        var first = new Argument<string>("a") { Description = "First run." };
        var second = new Argument<string>("b") { Description = "Second run." };
        var command = new Command("diff", "Champions of two runs side by side, per definition and band.") { runs, first, second };
        command.SetAction(parse =>
        {
            var console = AnsiConsole.Console;
            var root = parse.GetValue(runs)!;
            if (Open(root, parse.GetValue(first)!, console) is not { } a || Open(root, parse.GetValue(second)!, console) is not { } b)
            {
                return ExitUsage;
            }
            using var storeA = a;
            using var storeB = b;
            console.WriteLine(DiffText(storeA, storeB));
            return ExitOk;
        });
        return command;
    }

    private static Command Report()
    {
        var runs = RunsOption();
        var run = new Argument<string>("run") { Description = "Run folder, id, or unique id prefix." };
        var command = new Command("report", "Write report.md and progress.png of a run (from its events) and print the report.") { runs, run };
        command.SetAction(parse =>
        {
            var console = AnsiConsole.Console;
            if (Open(parse.GetValue(runs)!, parse.GetValue(run)!, console) is not { } store)
            {
                return ExitUsage;
            }
            using var _ = store;
            var plotProblem = EvolutionRun.WriteReport(store);
            console.WriteLine(File.ReadAllText(Path.Combine(store.Root, RunStore.ReportFile)));
            console.WriteLine($"written: {Path.Combine(store.Root, RunStore.ReportFile)}{(plotProblem is null ? $", {Path.Combine(store.Root, RunStore.PlotFile)}" : "")}");
            return ExitOk;
        });
        return command;
    }

    /// <summary>Champion latencies of two runs per definition and band, with B/A.</summary>
    public static string DiffText(RunStore a, RunStore b)
    {
        var left = RunReplay.From(a.ReadEvents()).Archive;
        var right = RunReplay.From(b.ReadEvents()).Archive;
        var keys = left.ChampionEntries().Concat(right.ChampionEntries()).Select(c => (c.Definition, c.Band)).Distinct()
            .OrderBy(k => k.Definition, StringComparer.Ordinal).ThenBy(k => k.Band == WorkloadBands.All ? "" : k.Band, StringComparer.Ordinal);
        var text = new System.Text.StringBuilder();
        text.AppendLine($"A = {a.Id}, B = {b.Id}");
        text.AppendLine("| definition | band | A champion | A ms | B champion | B ms | B/A |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (definition, band) in keys)
        {
            var x = left.Champion(definition, band);
            var y = right.Champion(definition, band);
            var ratio = x is not null && y is not null ? (y.GeomeanLatencyMs / x.GeomeanLatencyMs).ToString("0.000", CultureInfo.InvariantCulture) + "x" : "-";
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {definition} | {band} | {x?.CandidateId ?? "-"} | {(x is null ? "-" : x.GeomeanLatencyMs.ToString("0.0000", CultureInfo.InvariantCulture))} | {y?.CandidateId ?? "-"} | {(y is null ? "-" : y.GeomeanLatencyMs.ToString("0.0000", CultureInfo.InvariantCulture))} | {ratio} |"));
        }
        return text.ToString();
    }

    private static RunStore? Open(string root, string name, IAnsiConsole console)
    {
        var folder = RunStore.Resolve(root, name, out var error);
        if (folder is null)
        {
            console.WriteLine(error ?? $"no run '{name}'");
            return null;
        }
        return RunStore.OpenForReading(folder);
    }

    private static string Status(RunReplay replay) =>
        replay.StopReason is { } reason ? reason : replay.InFlight.Count > 0 ? $"interrupted ({replay.InFlight.Count} in flight)" : "running or interrupted";

    private static string Short(string definition) => definition.Length <= 24 ? definition : definition[..24] + "..";

    private static string Duration(TimeSpan span) => $"{(int)span.TotalHours:00}:{span.Minutes:00}:{span.Seconds:00}";
}
