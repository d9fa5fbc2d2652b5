using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>One definition to evolve: its workloads and the baseline that seeds it.</summary>
public sealed record DefinitionTask(Definition Definition, IReadOnlyList<WorkloadEntry> Workloads, CandidateSource Baseline)
{
    public string Name => Definition.Name;
}

/// <summary>What a run works on: a track's definitions.</summary>
public sealed record EvolutionProblem(string Track, IReadOnlyList<DefinitionTask> Definitions)
{
    public DefinitionTask? Find(string definition) => Definitions.FirstOrDefault(d => d.Name == definition);
}

/// <summary>What a generator sees when asked for a generation.</summary>
public sealed record GenerationContext(
    int Generation,
    EvolutionProblem Problem,
    IChampionStore Champions,
    IReadOnlyList<CandidateRecord> History,
    string BudgetSummary);
