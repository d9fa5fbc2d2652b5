using AgentForge.Orchestrator.Agents.Plugins;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Build;
using AgentForge.Tools.Profiler;
using AgentForge.Tools.Sanitizer;
using AgentForge.Tools.Trace;
using Microsoft.Extensions.AI;
using ToolChampion = AgentForge.Tools.Agents.Champion;
using ToolChampionStore = AgentForge.Tools.Agents.IChampionStore;
using ToolChampionWorkload = AgentForge.Tools.Agents.ChampionWorkload;
using ToolSink = AgentForge.Tools.Agents.ICandidateSink;
using ToolSubmission = AgentForge.Tools.Agents.CandidateSubmission;
using ToolReceipt = AgentForge.Tools.Agents.SubmissionReceipt;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// The real tools for the evolution loop: the agent's functions over the loop's own harness (its
/// worker slots), compute-sanitizer for the promotion gate and Nsight Compute for the feedback. The
/// tools speak their own champion/submission types; the adapters below map the archive and the
/// inbox onto them.
/// </summary>
public sealed class HarnessAgentTools : IAgentToolProvider
{
    public IReadOnlyList<AIFunction> Tools(AgentToolContext context) =>
        AgentToolbox.ForHarness(context.Host, new ArchiveChampions(context.Champions), new InboxSink(context.Sink),
            new Tools.Agents.ToolSettings(WorkerTemplate: context.Host.Options.WorkerTemplate));

    public ISanitizer? Sanitizer(Harness.Harness host) =>
        new SlotHeldSanitizer(new ComputeSanitizer(Runner(host), new SanitizerOptions(TemporaryDirectory: host.Scratch)), host);

    public ICandidateProfiler? Profiler(Harness.Harness host) => new SlotHeldProfiler(new NcuSummary(new NcuProfiler(Runner(host))), host);

    /// <summary>
    /// The worker slot on the GPU the wrapped tools use: they start a worker of their own through
    /// the same template on --gpu's ordinal, i.e. on the card (and host) of the slot with that
    /// ordinal. While a tool runs there the slot is held, so no workload is timed beside it. Null
    /// when the template names no {gpu} (srun picks the GPU: the tool runs as one more job).
    /// </summary>
    internal static int? ToolSlot(Harness.Harness host)
    {
        var template = host.Options.WorkerTemplate ?? WorkerCommand.DefaultTemplate;
        if (!template.Contains("{gpu}", StringComparison.Ordinal))
        {
            return null;
        }
        var index = host.Options.SlotGpus.ToList().IndexOf(host.Options.Gpu);
        return index < 0 ? null : index;
    }

    private static async Task<T> HoldingAsync<T>(Harness.Harness host, Func<Task<T>> run, CancellationToken cancellationToken)
    {
        if (ToolSlot(host) is not { } slot || host.Workers.Size == 1)
        {
            return await run();
        }
        // Refused (the slot was retired): nothing runs on that GPU any more, the tool may.
        await using var lease = await host.Workers.LeaseAsync(slot, cancellationToken);
        return await run();
    }

    private sealed class SlotHeldSanitizer(ISanitizer inner, Harness.Harness host) : ISanitizer
    {
        public Task<SanitizerReport> RunAsync(BuildResult build, Definition definition, WorkloadEntry workload, SanitizerTool tool, CancellationToken cancellationToken) =>
            HoldingAsync(host, () => inner.RunAsync(build, definition, workload, tool, cancellationToken), cancellationToken);
    }

    private sealed class SlotHeldProfiler(ICandidateProfiler inner, Harness.Harness host) : ICandidateProfiler
    {
        public Task<string?> SummarizeAsync(BuildResult build, Definition definition, WorkloadEntry workload, CancellationToken cancellationToken) =>
            HoldingAsync(host, () => inner.SummarizeAsync(build, definition, workload, cancellationToken), cancellationToken);
    }

    private static WrappedCandidateRunner Runner(Harness.Harness host) =>
        new(host.Inputs, new WrappedRunSettings(host.Options.Gpu, host.Options.WorkerTemplate));

    private sealed class NcuSummary(NcuProfiler profiler) : ICandidateProfiler
    {
        public async Task<string?> SummarizeAsync(BuildResult build, Definition definition, WorkloadEntry workload, CancellationToken cancellationToken)
        {
            var run = await profiler.ProfileAsync(build, definition, workload, new NcuRequest(Set: "basic"), cancellationToken);
            return NcuOutputParser.Describe(run.Profile);
        }
    }

    private sealed class ArchiveChampions(IChampionStore archive) : ToolChampionStore
    {
        public Task<ToolChampion?> GetBestAsync(string definition, CancellationToken cancellationToken)
        {
            var best = archive.Best(definition);
            if (best is null)
            {
                return Task.FromResult<ToolChampion?>(null);
            }
            var solution = new Solution(best.CandidateId, definition, "agentforge",
                new BuildSpec("cuda", ["cuda"], $"{best.Source.Sources[0].Path}::{best.Source.EntrySymbol}", [], true, null),
                SolutionExport.BakeDefines(best.Source), $"champion of band {best.Band}, generation {best.Generation}, by {best.Generator}");
            var workloads = best.Workloads.Select(w => new ToolChampionWorkload(w.Uuid, w.Status, w.LatencyMs, w.ReferenceLatencyMs,
                w.LatencyMs is > 0 && w.ReferenceLatencyMs is > 0 ? w.ReferenceLatencyMs / w.LatencyMs : null)).ToList();
            var speedups = workloads.Select(w => w.Speedup).OfType<double>().ToList();
            return Task.FromResult<ToolChampion?>(new ToolChampion(definition, solution, "evolution archive",
                speedups.Count > 0 ? speedups.Average() : null, workloads,
                $"geomean latency {best.GeomeanLatencyMs:0.####} ms, floor ratio {best.GeomeanFloorRatio:0.##}"));
        }
    }

    private sealed class InboxSink(ICandidateSink inbox) : ToolSink
    {
        public Task<ToolReceipt> SubmitAsync(ToolSubmission submission, CancellationToken cancellationToken)
        {
            var source = submission.Candidate;
            var receipt = inbox.Submit(new CandidateSubmission(source.DefinitionName, source.Sources, source.EntrySymbol, source.Target, submission.Note));
            return Task.FromResult(new ToolReceipt(submission.CandidateId, receipt.Accepted, receipt.Message));
        }
    }
}
