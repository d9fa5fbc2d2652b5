using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// Read side of the archive for tools (get_best): the champion of a definition, per workload band.
/// Implemented by <see cref="Archive"/>; the agent tools receive it by injection.
/// </summary>
public interface IChampionStore
{
    /// <summary>The champion of a definition in a band (<see cref="WorkloadBands.All"/> for the definition as a whole), or null.</summary>
    ChampionView? Best(string definition, string band = WorkloadBands.All);

    /// <summary>Every champion of every definition and band.</summary>
    IReadOnlyList<ChampionView> Champions();
}

/// <summary>A champion as tools and prompts see it: its code, its numbers and where it came from.</summary>
public sealed record ChampionView(
    string Definition,
    string Band,
    string CandidateId,
    CandidateSource Source,
    double GeomeanLatencyMs,
    double? GeomeanFloorRatio,
    string Generator,
    string? ParentId,
    int Generation,
    IReadOnlyList<WorkloadResult> Workloads);

/// <summary>Write side for tools (submit_candidate): the agent hands a finished candidate to the loop.</summary>
public interface ICandidateSink
{
    SubmitReceipt Submit(CandidateSubmission submission);
}

/// <summary>What the agent submits: sources for one definition and how to call them.</summary>
public sealed record CandidateSubmission(
    string Definition,
    IReadOnlyList<SourceFile> Sources,
    string EntrySymbol = "run",
    TargetKind Target = TargetKind.Portable,
    string? Note = null);

/// <summary>Whether a submission was queued for evaluation; <see cref="Message"/> is shown to the model.</summary>
public sealed record SubmitReceipt(bool Accepted, string Message);

/// <summary>
/// Builds a candidate and judges it on workloads: nvcc + the GPU worker for real
/// (<see cref="HarnessCandidateEvaluator"/>), a simulation in tests. Expected failures are
/// outcomes (COMPILE_ERROR, INCORRECT_*, TIMEOUT), never exceptions.
/// </summary>
public interface ICandidateEvaluator
{
    /// <summary>GPU, driver and toolkit, for run.json and the traces.</summary>
    Task<RunEnvironment> DescribeAsync(CancellationToken cancellationToken);

    Task<BuildResult> BuildAsync(CandidateSource source, Definition definition, CancellationToken cancellationToken);

    Task<IReadOnlyList<WorkloadOutcome>> EvaluateAsync(BuildResult build, Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions options, CancellationToken cancellationToken);

    /// <summary>
    /// How many evaluations can make progress at once (worker slots). Above 1 the loop measures
    /// the screening of a generation's later candidates while earlier ones are judged.
    /// </summary>
    int Parallelism => 1;
}

/// <summary>Where a run ran: written to run.json and to every trace. <paramref name="Slots"/>: GPU worker slots of that kind.</summary>
public sealed record RunEnvironment(string Gpu, string Driver, string Toolkit, double? CopyBandwidthGbps = null, int Slots = 1);

/// <summary>Optional profiler summary (ncu) of a candidate on one workload, for the agent's feedback.</summary>
public interface ICandidateProfiler
{
    Task<string?> SummarizeAsync(BuildResult build, Definition definition, WorkloadEntry workload, CancellationToken cancellationToken);
}

/// <summary>
/// Proposes the next candidates. The tuner (no model) and the LLM agent implement it; the loop
/// evaluates what comes back and feeds the verdicts into the next call.
/// </summary>
public interface ICandidateGenerator
{
    /// <summary>Short name recorded as each candidate's generator ("tuner", "agent:gpt-4.1").</summary>
    string Name { get; }

    /// <summary>
    /// Candidates for one generation. An empty result with <see cref="GenerationProposal.Exhausted"/>
    /// set means the generator has nothing left to try (the run ends).
    /// </summary>
    Task<GenerationProposal> ProposeAsync(GenerationContext context, CancellationToken cancellationToken);

    /// <summary>Called for every finished candidate, including those replayed on resume, so the generator's memory survives a restart.</summary>
    void Observe(CandidateRecord record);
}

/// <summary>
/// A champion store for tools created before the run's archive exists (the archive is rebuilt
/// from events when the loop starts); the loop attaches the archive, tools read through it.
/// </summary>
public sealed class ChampionRelay : IChampionStore
{
    private IChampionStore? target;

    public void Attach(IChampionStore store) => Volatile.Write(ref target, store);

    public ChampionView? Best(string definition, string band = WorkloadBands.All) => Volatile.Read(ref target)?.Best(definition, band);

    public IReadOnlyList<ChampionView> Champions() => Volatile.Read(ref target)?.Champions() ?? [];
}
