using AgentForge.Tools.Build;

namespace AgentForge.Tools.Agents;

/// <summary>A candidate handed over by submit_candidate: its id (as compile returns it), its sources, and the author's note.</summary>
public sealed record CandidateSubmission(string CandidateId, CandidateSource Candidate, string? Note);

/// <summary>What the receiver did with a submission; <paramref name="SubmissionId"/> names it in later events.</summary>
public sealed record SubmissionReceipt(string SubmissionId, bool Accepted, string Message);

/// <summary>Where submit_candidate delivers candidates. The evolution loop implements it (queueing them for evaluation).</summary>
public interface ICandidateSink
{
    Task<SubmissionReceipt> SubmitAsync(CandidateSubmission submission, CancellationToken cancellationToken);
}
