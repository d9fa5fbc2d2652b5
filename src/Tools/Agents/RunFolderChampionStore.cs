using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Agents;

/// <summary>
/// Champions as earlier runs left them: the newest runs/&lt;stamp&gt;-&lt;track&gt;/best/&lt;definition&gt;/solution.json,
/// with its numbers from that run's traces.jsonl (the traces of that solution on that definition).
/// Run folder names start with a UTC stamp, so the newest sorts last.
/// </summary>
public sealed class RunFolderChampionStore(string runsRoot) : IChampionStore
{
    public Task<Champion?> GetBestAsync(string definition, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(runsRoot))
        {
            return Task.FromResult<Champion?>(null);
        }
        foreach (var run in Directory.EnumerateDirectories(runsRoot).Order(StringComparer.Ordinal).Reverse())
        {
            var path = Path.Combine(run, "best", definition, "solution.json");
            if (!File.Exists(path))
            {
                continue;
            }
            var read = TraceJson.ReadSolutionFile(path);
            if (!read.IsOk)
            {
                continue;
            }
            var workloads = Numbers(Path.Combine(run, "traces.jsonl"), definition, read.Value.Name);
            var speedups = workloads.Select(w => w.Speedup).OfType<double>().ToList();
            return Task.FromResult<Champion?>(new Champion(definition, read.Value, Path.GetFileName(run),
                speedups.Count > 0 ? speedups.Average() : null, workloads));
        }
        return Task.FromResult<Champion?>(null);
    }

    private static List<ChampionWorkload> Numbers(string tracesPath, string definition, string solution)
    {
        if (!File.Exists(tracesPath))
        {
            return [];
        }
        var (traces, _) = TraceJson.ReadTraceFile(tracesPath);
        // The last trace per workload wins: a champion re-measured later supersedes its first numbers.
        return traces.Select(t => t.Trace)
            .Where(t => t.Definition == definition && t.Solution == solution && t.Evaluation is not null)
            .GroupBy(t => t.Workload.Uuid)
            .Select(g => g.Last())
            .Select(t => new ChampionWorkload(t.Workload.Uuid, t.Evaluation!.Status.ToString(), t.Evaluation.Performance?.LatencyMs,
                t.Evaluation.Performance?.ReferenceLatencyMs, t.Evaluation.Performance?.SpeedupFactor))
            .ToList();
    }
}
