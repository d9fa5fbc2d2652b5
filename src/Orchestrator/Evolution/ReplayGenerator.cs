namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// Proposes the candidates of an earlier run again: generation n of this run is the n-th
/// generation the earlier run proposed, with its candidates in their order (the baselines are not
/// replayed: every run seeds its own). The same work measured again on another machine, card or
/// number of GPUs, so that two runs compare candidate for candidate (a tuner or an agent follows
/// the champions it measures, and two machines send it down different paths). Candidates of
/// definitions outside this run's problem are left out; equal code is still evaluated once.
/// </summary>
public sealed class ReplayGenerator : ICandidateGenerator
{
    private readonly IReadOnlyList<IReadOnlyList<Candidate>> generations;

    public ReplayGenerator(IEnumerable<Candidate> earlier, string runId)
    {
        generations = earlier
            .Where(c => c.Generation > 0)
            .GroupBy(c => c.Generation)
            .OrderBy(g => g.Key)
            .Select(g => (IReadOnlyList<Candidate>)g.OrderBy(c => c.Index).ToList())
            .ToList();
        Name = $"replay:{runId}";
    }

    public string Name { get; }

    /// <summary>Generations the earlier run proposed (its baselines not counted).</summary>
    public int Generations => generations.Count;

    /// <summary>Candidates in those generations.</summary>
    public int Candidates => generations.Sum(g => g.Count);

    public Task<GenerationProposal> ProposeAsync(GenerationContext context, CancellationToken cancellationToken)
    {
        // By generation number, not by a counter: a resumed replay continues where it stopped.
        if (context.Generation < 1 || context.Generation > generations.Count)
        {
            return Task.FromResult(GenerationProposal.Nothing($"all {generations.Count} generations of the replayed run have been proposed"));
        }
        var earlier = generations[context.Generation - 1];
        var proposals = earlier
            .Where(c => context.Problem.Definitions.Any(d => d.Name == c.Definition))
            .Select(c => new ProposedCandidate(c.Definition, c.Source, ParentId: null, Note: $"replay of {c.Id} ({c.Generator})"))
            .ToList();
        var note = proposals.Count < earlier.Count ? $"{earlier.Count - proposals.Count} candidates of definitions outside this run left out" : null;
        return Task.FromResult(new GenerationProposal(proposals, Note: note));
    }

    public void Observe(CandidateRecord record)
    {
    }
}
