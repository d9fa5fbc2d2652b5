using AgentForge.Tools.Bench.Worker;

namespace AgentForge.Tools.Agents;

/// <summary>How the tools run: the input seed, how a one-shot worker starts (sanitizer, ncu), limits.</summary>
public sealed record ToolSettings(
    ulong Seed = 0,
    string? WorkerTemplate = null,
    Func<int, string, WorkerCommand>? WorkerLauncher = null,
    TimeSpan? CallLimit = null,
    int MaxLogCharacters = 6000);

/// <summary>
/// What the tools need. The evolution loop builds this with its own <see cref="IChampionStore"/>
/// and <see cref="ICandidateSink"/> and passes it to <see cref="ToolCatalog.Create"/>.
/// </summary>
public sealed record ToolServices(
    IEvaluationBackend Backend,
    CandidateStore Candidates,
    IChampionStore Champions,
    ICandidateSink Sink,
    ToolSettings? Settings = null)
{
    public ToolSettings Options => Settings ?? new ToolSettings();
}
