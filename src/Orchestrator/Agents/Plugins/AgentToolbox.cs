using AgentForge.Orchestrator.Harness;
using AgentForge.Tools.Agents;
using Microsoft.Extensions.AI;

namespace AgentForge.Orchestrator.Agents.Plugins;

/// <summary>
/// Ready-made tool sets. The evolution loop calls <see cref="ForHarness"/> with its own harness,
/// champion store and candidate sink; `agentforge tools call` and `agentforge mcp` use
/// <see cref="Standalone"/>, which reads champions from runs/ and writes submissions to runs/inbox/.
/// </summary>
public static class AgentToolbox
{
    public static string CandidatesDirectory(HarnessOptions options) => Path.Combine(options.CacheRoot, "candidates");

    /// <summary>The tools over a harness the caller owns (one GPU worker shared with the caller).</summary>
    public static IReadOnlyList<AIFunction> ForHarness(Harness.Harness harness, IChampionStore champions, ICandidateSink sink, ToolSettings? settings = null) =>
        ToolCatalog.Create(new ToolServices(HarnessBackend.Over(harness), new CandidateStore(CandidatesDirectory(harness.Options)), champions, sink, settings));

    /// <summary>The tools of a process without an evolution loop; dispose the backend when done.</summary>
    public static (IReadOnlyList<AIFunction> Tools, HarnessBackend Backend) Standalone(HarnessOptions options, string runsRoot, ToolSettings? settings = null)
    {
        var backend = HarnessBackend.Lazy(options);
        var services = new ToolServices(backend, new CandidateStore(CandidatesDirectory(options)), new RunFolderChampionStore(runsRoot),
            new InboxCandidateSink(Path.Combine(runsRoot, "inbox")), settings ?? new ToolSettings(WorkerTemplate: options.WorkerTemplate));
        return (ToolCatalog.Create(services), backend);
    }
}
