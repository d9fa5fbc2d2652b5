using System.ComponentModel;
using AgentForge.Tools.Build;

namespace AgentForge.Tools.Agents;

/// <summary>get_best and submit_candidate: the link between a model and the evolution loop's archive.</summary>
public sealed class ArchiveTools(ToolServices services)
{
    [Description("Returns the current best correct solution of a definition (its sources, entry point and measured numbers), "
        + "or the hand-written baseline when no champion exists yet. Start from it.")]
    public async Task<BestResult> GetBestAsync(
        [Description("Definition name.")] string definition,
        CancellationToken cancellationToken = default)
    {
        var found = ToolArguments.Definition(services.Backend.Dataset, definition, out var error);
        if (found is null)
        {
            return new BestResult(Error: error);
        }
        var champion = await services.Champions.GetBestAsync(found.Name, cancellationToken);
        if (champion is not null)
        {
            var candidate = CandidateSolutions.FromSolution(champion.Solution);
            return new BestResult(found.Name, true, champion.Source, champion.Solution.Name, champion.Solution.Spec.EntryPoint, candidate.Target,
                Sources(candidate), champion.MeanSpeedup, champion.Workloads, champion.Note);
        }
        var baselines = services.Backend.Baselines;
        if (baselines?.For(found.Name) is { } entry)
        {
            var candidate = baselines.Candidate(entry);
            return new BestResult(found.Name, true, "baseline", entry.Name, entry.EntryPoint, candidate.Target, Sources(candidate),
                Note: "no champion yet: this is the hand-written baseline the evolution starts from (benchmark it for numbers)");
        }
        return new BestResult(found.Name, false, Note: "no champion and no baseline for this definition yet");
    }

    [Description("Submits a candidate to the evolution loop, which checks it on every workload, sanitizes and times it, and "
        + "keeps it if it beats the champion. Returns a submission id. Compile (and ideally check_correctness) first.")]
    public async Task<SubmitResult> SubmitCandidateAsync(
        [Description("Definition name.")] string definition,
        [Description("Id of a candidate returned by compile (instead of sources).")] string? candidate_id = null,
        [Description("CUDA sources as {relative path: file content}.")] Dictionary<string, string>? sources = null,
        [Description("Name of the host entry function in the sources.")] string entry = "run",
        [Description("portable (sm_XY) or arch_specific (sm_XYa, e.g. sm_90a).")] TargetKind target = TargetKind.Portable,
        [Description("Preprocessor defines passed as -DNAME=VALUE.")] Dictionary<string, string>? defines = null,
        [Description("What the candidate changes and why it should be faster (kept with it).")] string? note = null,
        CancellationToken cancellationToken = default)
    {
        var found = ToolArguments.Definition(services.Backend.Dataset, definition, out var error);
        var candidate = found is null ? null : ToolArguments.Candidate(services, found, candidate_id, sources, entry, target, defines, out error);
        if (candidate is null)
        {
            return new SubmitResult(Error: error);
        }
        var receipt = await services.Sink.SubmitAsync(new CandidateSubmission(candidate.Id, candidate.ToSource(), note), cancellationToken);
        return new SubmitResult(receipt.SubmissionId, candidate.Id, receipt.Accepted, receipt.Message);
    }

    private static Dictionary<string, string> Sources(CandidateSource candidate) =>
        candidate.Sources.ToDictionary(s => s.Path, s => s.Content, StringComparer.Ordinal);
}
