using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Agents;

/// <summary>One workload's numbers of a champion (from its traces).</summary>
public sealed record ChampionWorkload(string Uuid, string Status, double? LatencyMs, double? ReferenceLatencyMs, double? Speedup);

/// <summary>
/// The best known correct solution of a definition: its FlashInfer-Bench solution, where it comes
/// from (a run id, "baseline", ...), and its numbers when known.
/// </summary>
public sealed record Champion(string Definition, Solution Solution, string Source, double? MeanSpeedup, IReadOnlyList<ChampionWorkload> Workloads, string? Note = null);

/// <summary>Where get_best reads the current champion. The evolution loop implements it over its archive.</summary>
public interface IChampionStore
{
    Task<Champion?> GetBestAsync(string definition, CancellationToken cancellationToken);
}
