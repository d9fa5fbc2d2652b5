using System.CommandLine;
using System.Globalization;
using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Oracle;
using AgentForge.Tools.Trace;
using Spectre.Console;

namespace AgentForge.Orchestrator.Commands;

/// <summary>
/// `agentforge evolve --track T`: runs generations until a budget is spent, seeded with the
/// baselines. Without --model the built-in tuner searches the kernels' @tunable parameters; with
/// --model an agent on an OpenAI-compatible endpoint writes CUDA through the tools.
/// `--resume RUN` continues a run after a crash or a kill.
/// </summary>
public static class EvolveCommand
{
    public const int ExitDone = 0;
    public const int ExitUsage = 2;
    public const int ExitNoWorker = 3;
    public const int ExitInterrupted = 130;

    public const string EndpointVariable = "AGENTFORGE_OPENAI_ENDPOINT";

    /// <param name="toolProvider">Where the agent's tools, the sanitizer and the profiler come from.</param>
    public static Command Create(IAgentToolProvider toolProvider)
    {
        var track = new Option<string?>("--track") { Description = $"Track to evolve: {string.Join(", ", Tracks.Names)}." };
        var resume = new Option<string?>("--resume") { Description = "Continue this run (folder, id, or unique id prefix under --runs)." };
        var runs = RunsCommand.RunsOption();
        var seed = new Option<ulong>("--seed") { Description = "Run seed: inputs and the tuner's choices follow from it.", DefaultValueFactory = _ => 0 };
        var time = new Option<string?>("--time") { Description = "Wall-time budget, e.g. 15m, 2h, 90s (default 1h when no budget is given)." };
        var candidates = new Option<int?>("--candidates") { Description = "Budget: candidates evaluated (baselines not counted)." };
        var tokens = new Option<long?>("--tokens") { Description = "Budget: model tokens (input + output)." };
        var cost = new Option<double?>("--cost") { Description = "Budget: model cost in USD (needs --price-per-1k-tokens)." };
        var price = new Option<double>("--price-per-1k-tokens") { Description = "USD per 1000 tokens, for --cost.", DefaultValueFactory = _ => 0 };
        var population = new Option<int>("--population") { Description = "Tuner candidates per definition and generation.", DefaultValueFactory = _ => 4 };
        var screen = new Option<int>("--screen-per-band") { Description = "Workloads per band in the screening evaluation.", DefaultValueFactory = _ => 1 };
        var gatePerBand = new Option<int>("--gate-per-band") { Description = "Workloads per band the gate re-measures with rotated inputs.", DefaultValueFactory = _ => 2 };
        var trials = new Option<int?>("--trials") { Description = "Trials per workload (default: the definition's setting, 3)." };
        var callLimit = new Option<double>("--call-timeout") { Description = "Seconds one candidate call may take before TIMEOUT.", DefaultValueFactory = _ => 10 };
        var referenceIterations = new Option<int>("--reference-iterations") { Description = "Timed calls of the reference (for speedups; 0: not timed).", DefaultValueFactory = _ => 1 };
        var model = new Option<string?>("--model") { Description = "Chat model for the agent (OpenAI-compatible); the tuner runs without one." };
        var endpoint = new Option<string?>("--endpoint") { Description = $"OpenAI-compatible base URL (default ${EndpointVariable}, else OpenAI). Key: $AGENTFORGE_API_KEY or $OPENAI_API_KEY." };
        var prompts = new Option<string?>("--prompts") { Description = "Prompt templates folder (default: prompts/ beside the executable)." };
        var replay = new Option<string?>("--replay") { Description = "Propose the candidates of this earlier run again (folder, id or prefix under --runs), its generations in order, instead of the tuner or the agent: the same work measured on another card or GPU count." };
        var noSanitizer = new Option<bool>("--no-sanitizer") { Description = "Promote without compute-sanitizer (recorded in every gate verdict)." };
        var harness = HarnessArguments.Create();

        var command = new Command("evolve", "Evolve faster kernels for a track: generations of candidates, a promotion gate, a run folder.")
        {
            track, resume, runs, seed, time, candidates, tokens, cost, price, population, screen, gatePerBand, trials, callLimit, referenceIterations, model, endpoint, prompts, replay, noSanitizer,
        };
        harness.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            // First of all: no child process (worker, nvcc, sanitizer, oracle) may inherit a key.
            var apiKey = Secrets.TakeApiKey();
            var console = AnsiConsole.Console;
            var runsRoot = parse.GetValue(runs)!;

            RunStore? existing = null;
            RunInfo? previous = null;
            if (parse.GetValue(resume) is { } name)
            {
                var folder = RunStore.Resolve(runsRoot, name, out var error);
                if (folder is null)
                {
                    console.WriteLine(error ?? "no such run");
                    return ExitUsage;
                }
                existing = RunStore.Open(folder);
                previous = existing.ReadRunInfo();
            }
            var trackName = parse.GetValue(track) ?? previous?.Track;
            if (trackName is null || Tracks.Resolve(trackName) is not { } definitionNames)
            {
                console.WriteLine($"give --track ({string.Join(", ", Tracks.Names)}) or --resume RUN");
                existing?.Dispose();
                return ExitUsage;
            }

            var budget = new Budget(
                Budget.ParseDuration(parse.GetValue(time)),
                parse.GetValue(candidates),
                parse.GetValue(tokens),
                parse.GetValue(cost),
                parse.GetValue(price));
            if (parse.GetValue(time) is { } timeText && budget.Time is null)
            {
                console.WriteLine($"--time '{timeText}': expected e.g. 15m, 2h, 90s or 00:15:00");
                return ExitUsage;
            }
            if (budget.IsUnlimited)
            {
                budget = previous?.Options.Budget ?? budget with { Time = TimeSpan.FromHours(1) };
            }
            var modelName = parse.GetValue(model) ?? previous?.Options.Model;
            var endpointText = parse.GetValue(endpoint) ?? previous?.Options.Endpoint ?? Environment.GetEnvironmentVariable(EndpointVariable);
            var replayName = parse.GetValue(replay) ?? previous?.Options.Replay;
            ReplayGenerator? replayGenerator = null;
            if (replayName is not null)
            {
                if (modelName is not null)
                {
                    console.WriteLine("--replay and --model both choose the candidates: give one");
                    existing?.Dispose();
                    return ExitUsage;
                }
                replayGenerator = LoadReplay(runsRoot, replayName, trackName, out var replayError, out var replayFolder);
                if (replayGenerator is null)
                {
                    console.WriteLine(replayError ?? "--replay: no such run");
                    existing?.Dispose();
                    return ExitUsage;
                }
                replayName = replayFolder;
                console.WriteLine($"replaying {replayGenerator.Candidates} candidates in {replayGenerator.Generations} generations of {replayFolder}");
            }
            var options = new EvolutionOptions(
                trackName,
                budget,
                previous?.Seed ?? parse.GetValue(seed),
                Math.Max(1, parse.GetValue(population)),
                Math.Max(1, parse.GetValue(screen)),
                new GateOptions(WorkloadsPerBand: Math.Max(1, parse.GetValue(gatePerBand)), RequireSanitizers: !parse.GetValue(noSanitizer)),
                parse.GetValue(trials),
                parse.GetValue(callLimit),
                Model: modelName,
                Endpoint: endpointText,
                Replay: replayName);

            if (modelName is not null && apiKey is null)
            {
                console.WriteLine("--model needs a key in $AGENTFORGE_API_KEY or $OPENAI_API_KEY");
                return ExitUsage;
            }
            Uri? endpointUri = null;
            if (endpointText is { Length: > 0 } && !Uri.TryCreate(endpointText, UriKind.Absolute, out endpointUri))
            {
                console.WriteLine($"--endpoint '{endpointText}' is not an absolute URL");
                return ExitUsage;
            }

            var harnessOptions = harness.Read(parse, out var optionsError);
            if (harnessOptions is null)
            {
                console.WriteLine(optionsError ?? "bad options");
                return ExitUsage;
            }
            var iterations = parse.GetValue(referenceIterations);
            var created = Harness.Harness.Create(harnessOptions, iterations > 0 ? new OracleTiming(1, iterations) : null);
            if (!created.IsOk)
            {
                created.Errors.ToList().ForEach(e => console.WriteLine(e.ToString()));
                return ExitUsage;
            }
            await using var host = created.Value;

            var pool = await host.StartWorkersAsync(cancellationToken);
            if (pool.Hello is null)
            {
                console.WriteLine($"no GPU worker: {pool.Problem}");
                return ExitNoWorker;
            }
            BenchRun.WriteSlots(console, pool);
            var problem = Problem(host, trackName, definitionNames, out var problemError);
            if (problem is null)
            {
                console.WriteLine(problemError!);
                return ExitUsage;
            }
            var sanitizer = toolProvider.Sanitizer(host);
            if (sanitizer is null && options.GateOptions.RequireSanitizers)
            {
                console.WriteLine("no compute-sanitizer integration is wired into this build, and the promotion gate requires it; pass --no-sanitizer to promote without it");
                return ExitUsage;
            }

            var relay = new ChampionRelay();
            ICandidateGenerator generator;
            IUsageMeter? usage = null;
            if (replayGenerator is not null)
            {
                generator = replayGenerator;
            }
            else if (modelName is null)
            {
                generator = new TunerGenerator(options.CandidatesPerGeneration, options.Seed);
            }
            else
            {
                var promptFolder = PromptLibrary.Locate(parse.GetValue(prompts));
                if (promptFolder is null)
                {
                    console.WriteLine("no prompts/ folder found (give --prompts DIR)");
                    return ExitUsage;
                }
                var library = new PromptLibrary(promptFolder);
                if (library.Check() is { Count: > 0 } templateErrors)
                {
                    templateErrors.ToList().ForEach(console.WriteLine);
                    return ExitUsage;
                }
                var inbox = new CandidateInbox(problem);
                var kernel = AgentKernel.Create(toolProvider.Tools(new AgentToolContext(host, problem, relay, inbox)));
                var (chat, meter) = AgentKernel.ChatStack(AgentKernel.OpenAiCompatible(modelName, endpointUri, apiKey!), Resilience.ModelPipeline(new ModelResilienceOptions(), TimeProvider.System));
                usage = meter;
                generator = new AgentGenerator(chat, kernel, library, inbox, new AgentOptions(modelName));
            }

            var store = existing ?? RunStore.Create(runsRoot, trackName, DateTimeOffset.UtcNow);
            using var _ = store;
            store.Appended = e => Progress(console, e);
            console.WriteLine($"run {store.Root}");
            console.WriteLine($"track {trackName}: {string.Join(", ", definitionNames)}; generator {generator.Name}; budget {budget}; seed {options.Seed}{(sanitizer is null ? "; sanitizers SKIPPED (--no-sanitizer)" : "")}");
            var parts = new EvolutionParts(problem, new HarnessCandidateEvaluator(host, TimeProvider.System), generator, sanitizer, TimeProvider.System, usage, toolProvider.Profiler(host), relay);
            try
            {
                var summary = await EvolutionRun.RunAsync(store, existing is null, parts, options, PortableCommandLine.From(Environment.GetCommandLineArgs(), Environment.CurrentDirectory), await EvolutionRun.GitCommitAsync(cancellationToken), cancellationToken);
                console.WriteLine($"stopped: {summary.StopReason}; {summary.Spending.Describe(budget)}");
                foreach (var champion in summary.Champions.Where(c => c.Band == WorkloadBands.All))
                {
                    console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"champion {champion.Definition}: {champion.CandidateId} ({champion.Generator}) {champion.GeomeanLatencyMs:0.0000} ms geomean"));
                }
                console.WriteLine($"report: {Path.Combine(store.Root, RunStore.ReportFile)}");
                return ExitDone;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                store.Append(new RunStopped("interrupted") { Time = DateTimeOffset.UtcNow });
                EvolutionRun.WriteReport(store);
                console.WriteLine($"interrupted; continue with: agentforge evolve --resume {store.Id}");
                return ExitInterrupted;
            }
        });
        return command;
    }

    /// <summary>The track's definitions with their workloads and baselines, from the dataset and the kernels folder.</summary>
    internal static EvolutionProblem? Problem(Harness.Harness host, string track, IReadOnlyList<string> names, out string? error)
    {
        var tasks = new List<DefinitionTask>();
        foreach (var name in names)
        {
            var definition = host.Dataset.FindDefinition(name);
            if (definition is null)
            {
                error = $"definition '{name}' of track {track} is not in the dataset at {host.Dataset.Root}";
                return null;
            }
            var workloads = host.Dataset.Workloads(name);
            if (workloads.Count == 0)
            {
                error = $"definition '{name}' has no workloads in {host.Dataset.Root}";
                return null;
            }
            var baseline = host.Baselines.For(name);
            if (baseline is null)
            {
                error = $"no baseline kernel for '{name}' in {host.Baselines.Root}/manifest.json";
                return null;
            }
            tasks.Add(new DefinitionTask(definition, workloads, host.Baselines.Candidate(baseline)));
        }
        error = null;
        return new EvolutionProblem(track, tasks);
    }

    /// <summary>The generator that replays run <paramref name="name"/> (which must be of the same track), or null with the reason.</summary>
    internal static ReplayGenerator? LoadReplay(string runsRoot, string name, string track, out string? error, out string? folder)
    {
        folder = RunStore.Resolve(runsRoot, name, out var resolveError);
        if (folder is null)
        {
            error = $"--replay: {resolveError ?? "no such run"}";
            return null;
        }
        using var earlier = RunStore.OpenForReading(folder);
        if (earlier.ReadRunInfo() is { } info && info.Track != track)
        {
            error = $"--replay: run {earlier.Id} evolved track {info.Track}, not {track}";
            return null;
        }
        var generator = new ReplayGenerator(RunReplay.From(earlier.ReadEvents()).Proposed, earlier.Id);
        if (generator.Generations == 0)
        {
            error = $"--replay: run {earlier.Id} proposed no candidates besides its baselines";
            return null;
        }
        error = null;
        return generator;
    }

    private static void Progress(IAnsiConsole console, RunEvent item)
    {
        var line = item switch
        {
            CandidateProposed p => $"+ {p.Candidate.Id} {p.Candidate.Definition} ({p.Candidate.Generator}){(p.Candidate.Note is { } n ? ": " + n : "")}",
            CandidateFinished f => string.Create(CultureInfo.InvariantCulture, $"= {f.Record.Id} {f.Record.Verdict}{(f.Record.GeomeanLatencyMs is { } l ? $" {l:0.0000} ms" : "")}: {WorkloadResult.Truncate(f.Record.Reason.ReplaceLineEndings(" "), 200)}"),
            ChampionChanged c => string.Create(CultureInfo.InvariantCulture, $"* champion {c.Definition} [{c.Band}] = {c.Id} ({c.GeomeanLatencyMs:0.0000} ms)"),
            GeneratorNote g => $"! generation {g.Generation}: {g.Message}",
            RunStopped s => $"stopped: {s.Reason}",
            _ => null,
        };
        if (line is not null)
        {
            console.WriteLine($"{item.Time.UtcDateTime:HH:mm:ss} {line}");
        }
    }
}
