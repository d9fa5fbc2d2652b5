using AgentForge.Orchestrator.Evolution;
using Microsoft.Extensions.Time.Testing;

namespace AgentForge.Tests.Evolution;

/// <summary>A runs folder in a temp directory, a fake clock, the fake evaluator and sanitizer, and a way to run a session.</summary>
internal sealed class LoopFixture : IDisposable
{
    public LoopFixture()
    {
        RunsRoot = Directory.CreateTempSubdirectory("agentforge-runs-").FullName;
        Evaluator = new FakeEvaluator(Clock);
    }

    public string RunsRoot { get; }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    public FakeEvaluator Evaluator { get; }

    public FakeSanitizer Sanitizer { get; } = new();

    public static EvolutionOptions Options(Budget budget, int perGeneration = 2) =>
        new("gated_delta_net", budget, Seed: 3, CandidatesPerGeneration: perGeneration, Trials: 3);

    public RunStore NewStore() => RunStore.Create(RunsRoot, "gated_delta_net", Clock.GetUtcNow());

    public async Task<RunSummary> RunAsync(RunStore store, ICandidateGenerator generator, EvolutionOptions options, EvolutionProblem? problem = null, IUsageMeter? usage = null,
        bool fresh = true, CancellationToken? cancellation = null, ICandidateEvaluator? evaluator = null)
    {
        var parts = new EvolutionParts(problem ?? FakeProblem.Problem(), evaluator ?? Evaluator, generator, Sanitizer, Clock, usage);
        return await EvolutionRun.RunAsync(store, fresh, parts, options, ["agentforge", "evolve", "--track", "gated_delta_net"], "0123abc", cancellation ?? TestContext.Current.CancellationToken);
    }

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("AGENTFORGE_KEEP_TEST_RUNS") == "1")
        {
            return;
        }
        try
        {
            Directory.Delete(RunsRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A generator that proposes given kernels, one list per generation, then runs dry.</summary>
internal sealed class ScriptedGenerator(params IReadOnlyList<string>[] generations) : ICandidateGenerator
{
    public string Name => "scripted";

    public List<CandidateRecord> Observed { get; } = [];

    public Task<GenerationProposal> ProposeAsync(GenerationContext context, CancellationToken cancellationToken)
    {
        if (context.Generation > generations.Length)
        {
            return Task.FromResult(GenerationProposal.Nothing("script finished"));
        }
        var parent = context.Champions.Best(FakeProblem.DefinitionName)?.CandidateId;
        return Task.FromResult(new GenerationProposal(generations[context.Generation - 1]
            .Select(kernel => new ProposedCandidate(FakeProblem.DefinitionName, FakeProblem.Source(kernel), parent)).ToList()));
    }

    public void Observe(CandidateRecord record) => Observed.Add(record);
}
