using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// Compares a candidate's outputs of one trial with the reference's, output by output in definition
/// order, as FlashInfer-Bench does: shape (INCORRECT_SHAPE), dtype (INCORRECT_DTYPE), then the
/// output's checker (non-finite values and tolerance by default). Shape and dtype are compared
/// with the reference's tensors, not the definition's, which is what FlashInfer-Bench does.
/// </summary>
public sealed class OutputComparator(Definition definition, EvaluationSettings settings, OutputCheckerRegistry? checkers = null)
{
    private readonly OutputCheckerRegistry _checkers = checkers ?? OutputCheckerRegistry.Default;

    public Definition Definition { get; } = definition;

    public EvaluationSettings Settings { get; } = settings;

    /// <param name="candidate">The candidate's outputs in definition order.</param>
    /// <param name="reference">The reference's outputs in definition order.</param>
    public TrialComparison Compare(InputSet inputs, IReadOnlyList<HostTensor> candidate, IReadOnlyList<HostTensor> reference)
    {
        var outputs = Definition.Outputs;
        if (candidate.Count != outputs.Count || reference.Count != outputs.Count)
        {
            throw new ArgumentException(
                $"definition '{Definition.Name}' has {outputs.Count} output(s); got {candidate.Count} candidate and {reference.Count} reference tensor(s)");
        }
        var checks = new List<OutputCheck>(outputs.Count);
        for (var i = 0; i < outputs.Count; i++)
        {
            var check = CheckOne(outputs[i].Name, inputs, candidate[i], reference[i]);
            checks.Add(check);
            if (check.StopsEvaluation)
            {
                break;
            }
        }
        return new TrialComparison(inputs.Trial, checks);
    }

    private OutputCheck CheckOne(string name, InputSet inputs, HostTensor candidate, HostTensor reference)
    {
        if (!candidate.Shape.AsSpan().SequenceEqual(reference.Shape))
        {
            return new OutputCheck(name, EvaluationStatus.INCORRECT_SHAPE, StopsEvaluation: true, null, null, null,
                $"output '{name}': shape {candidate.ShapeText}, the reference's is {reference.ShapeText}");
        }
        if (candidate.DType != reference.DType)
        {
            return new OutputCheck(name, EvaluationStatus.INCORRECT_DTYPE, StopsEvaluation: true, null, null, null,
                $"output '{name}': dtype {candidate.DType.Name()}, the reference's is {reference.DType.Name()}");
        }
        var checker = _checkers.For(Definition, name);
        return checker.Check(new OutputCheckContext(Definition, name, candidate, reference, inputs, Settings));
    }
}
