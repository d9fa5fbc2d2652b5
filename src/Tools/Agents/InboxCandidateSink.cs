using System.Text.Json;

namespace AgentForge.Tools.Agents;

/// <summary>
/// The submit_candidate receiver when no evolution loop runs in this process (`agentforge tools
/// call`, `agentforge mcp`): each submission becomes inbox/&lt;definition&gt;/&lt;submission&gt;/ with a
/// FlashInfer-Bench solution.json and the candidate (entry, target, defines) as candidate.json, for
/// an evolution run or a person to pick up.
/// </summary>
public sealed class InboxCandidateSink(string inboxRoot, TimeProvider? clock = null) : ICandidateSink
{
    public Task<SubmissionReceipt> SubmitAsync(CandidateSubmission submission, CancellationToken cancellationToken)
    {
        var now = (clock ?? TimeProvider.System).GetUtcNow();
        var id = $"{now:yyyyMMdd'T'HHmmss}-{submission.CandidateId}";
        var folder = Path.Combine(inboxRoot, submission.Candidate.DefinitionName, id);
        Directory.CreateDirectory(folder);
        var solution = CandidateSolutions.ToSolution(submission.Candidate, $"agent-{submission.CandidateId}", "agentforge-agent", submission.Note);
        File.WriteAllText(Path.Combine(folder, "solution.json"), Trace.TraceJson.WriteSolution(solution));
        var stored = new StoredCandidate(submission.CandidateId, submission.Candidate.DefinitionName, submission.Candidate.EntrySymbol,
            submission.Candidate.Target, submission.Candidate.Defines, submission.Candidate.Sources);
        File.WriteAllText(Path.Combine(folder, "candidate.json"), JsonSerializer.Serialize(stored, ToolJson.Options));
        if (submission.Note is { Length: > 0 } note)
        {
            File.WriteAllText(Path.Combine(folder, "note.txt"), note);
        }
        return Task.FromResult(new SubmissionReceipt(id, true,
            $"written to {folder}; no evolution loop runs in this process, so it is queued there for one (or for `agentforge bench --solution {Path.Combine(folder, "solution.json")}`)"));
    }
}
