using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// Judges one output of one trial whose shape and dtype already match the reference's. The default
/// is <see cref="ToleranceChecker"/>; a definition whose outputs are not comparable element by
/// element (the DSA indexer's index sets) gets its own checker through <see cref="OutputCheckerRegistry"/>.
/// </summary>
public interface IOutputChecker
{
    OutputCheck Check(OutputCheckContext context);
}

/// <summary>Everything a checker may look at: the inputs of the trial are there for checks that recompute from them.</summary>
public sealed record OutputCheckContext(
    Definition Definition,
    string OutputName,
    HostTensor Candidate,
    HostTensor Reference,
    InputSet Inputs,
    EvaluationSettings Settings);
