using AgentForge.Tools.Build;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// Where submit_candidate puts the agent's kernels during a session. The agent generator opens it
/// for one definition, runs the model, and takes what was submitted. Submissions are checked
/// here, with answers the model can act on.
/// </summary>
public sealed class CandidateInbox(EvolutionProblem problem) : ICandidateSink
{
    private readonly object gate = new();
    private readonly List<CandidateSubmission> received = [];
    private string? definition;
    private int limit;

    public void Open(string definitionName, int maxCandidates)
    {
        lock (gate)
        {
            definition = definitionName;
            limit = maxCandidates;
            received.Clear();
        }
    }

    public IReadOnlyList<CandidateSubmission> Close()
    {
        lock (gate)
        {
            definition = null;
            var taken = received.ToList();
            received.Clear();
            return taken;
        }
    }

    public SubmitReceipt Submit(CandidateSubmission submission)
    {
        lock (gate)
        {
            if (definition is null)
            {
                return new SubmitReceipt(false, "no session is open: candidates are taken only while you work on a task");
            }
            if (submission.Definition != definition)
            {
                return new SubmitReceipt(false, $"this session is for '{definition}', not '{submission.Definition}'");
            }
            if (received.Count >= limit)
            {
                return new SubmitReceipt(false, $"at most {limit} candidates per session; stop here");
            }
            if (submission.Sources.Count == 0 || !submission.Sources.Any(s => s.Path.EndsWith(".cu", StringComparison.Ordinal)))
            {
                return new SubmitReceipt(false, "a candidate needs at least one .cu source");
            }
            foreach (var source in submission.Sources)
            {
                if (string.IsNullOrWhiteSpace(source.Path) || Path.IsPathRooted(source.Path) || source.Path.Split('/', '\\').Contains(".."))
                {
                    return new SubmitReceipt(false, $"source path '{source.Path}' must be relative and must not contain '..'");
                }
            }
            if (submission.Sources.Select(s => s.Path).Distinct().Count() != submission.Sources.Count)
            {
                return new SubmitReceipt(false, "source paths must be unique");
            }
            received.Add(submission);
            return new SubmitReceipt(true, $"queued as candidate {received.Count} of at most {limit}; it will be compiled, checked on every workload and timed after this session");
        }
    }

    /// <summary>The submission as a candidate source for the loop.</summary>
    public CandidateSource ToSource(CandidateSubmission submission)
    {
        var task = problem.Find(submission.Definition);
        return new CandidateSource($"{submission.Definition}_agent", submission.Definition, submission.Sources, submission.EntrySymbol, submission.Target);
    }
}
