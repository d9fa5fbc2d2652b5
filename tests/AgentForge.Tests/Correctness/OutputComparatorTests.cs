using AgentForge.Tools.Bench;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Comparison;

public sealed class OutputComparatorTests
{
    private static readonly Definition TwoOutputs = TestTensors.Definition("attention_like", ["output", "lse"]);

    private static TrialComparison Compare(HostTensor output, HostTensor lse, HostTensor refOutput, HostTensor refLse, int trial = 0) =>
        new OutputComparator(TwoOutputs, EvaluationSettings.Default)
            .Compare(TestTensors.NoInputs(TwoOutputs.Name, trial), [output, lse], [refOutput, refLse]);

    [Fact]
    public void Matching_outputs_pass()
    {
        var trial = Compare(TestTensors.F32(1, 2), TestTensors.F32(3), TestTensors.F32(1, 2), TestTensors.F32(3));
        Assert.Equal(EvaluationStatus.PASSED, trial.Status);
        Assert.Equal(2, trial.Outputs.Count);
    }

    [Fact]
    public void Shape_is_checked_before_dtype_and_stops()
    {
        var wrong = TestTensors.Floats(DType.BFloat16, [1, 2], 1, 2);
        var trial = Compare(wrong, TestTensors.F32(3), TestTensors.F32(1, 2), TestTensors.F32(3));
        Assert.Equal(EvaluationStatus.INCORRECT_SHAPE, trial.Status);
        Assert.True(trial.StopsEvaluation);
        Assert.Single(trial.Outputs); // later outputs are not looked at
        Assert.Contains("[1, 2]", trial.Outputs[0].Log);
    }

    [Fact]
    public void Dtype_mismatch_stops()
    {
        var trial = Compare(TestTensors.Floats(DType.BFloat16, [2], 1, 2), TestTensors.F32(3), TestTensors.F32(1, 2), TestTensors.F32(3));
        Assert.Equal(EvaluationStatus.INCORRECT_DTYPE, trial.Status);
        Assert.Null(trial.Outputs[0].MaxAbsoluteError);
    }

    [Fact]
    public void A_tolerance_failure_in_an_earlier_output_does_not_hide_a_later_shape_failure()
    {
        // FlashInfer-Bench walks outputs in order and returns at the first shape failure.
        var trial = Compare(TestTensors.F32(9, 2), TestTensors.F32(3, 4), TestTensors.F32(1, 2), TestTensors.F32(3));
        Assert.Equal(EvaluationStatus.INCORRECT_SHAPE, trial.Status);
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, trial.Outputs[0].Status);
    }

    [Fact]
    public void A_non_finite_candidate_stops_before_later_outputs()
    {
        var trial = Compare(TestTensors.F32(float.NaN, 2), TestTensors.F32(3, 4), TestTensors.F32(1, 2), TestTensors.F32(3));
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, trial.Status);
        Assert.True(trial.StopsEvaluation);
        Assert.Single(trial.Outputs);
        Assert.True(double.IsNaN(trial.Outputs[0].MaxAbsoluteError!.Value)); // NaN only: FlashInfer-Bench writes NaN
        Assert.Contains("[0]", trial.Outputs[0].Log);
    }

    [Fact]
    public void An_infinite_candidate_reports_infinite_errors()
    {
        var trial = Compare(TestTensors.F32(float.NaN, float.PositiveInfinity), TestTensors.F32(3), TestTensors.F32(1, 2), TestTensors.F32(3));
        Assert.Equal(double.PositiveInfinity, trial.Outputs[0].MaxAbsoluteError);
        Assert.Equal(double.PositiveInfinity, trial.Outputs[0].MaxRelativeError);
    }

    [Fact]
    public void Minus_infinity_lse_is_accepted_where_the_reference_has_it()
    {
        // DSA sparse attention: a row with no valid index has lse -inf and a zero output row.
        var lse = TestTensors.F32(float.NegativeInfinity, 1.5f);
        var trial = Compare(TestTensors.F32(0, 2), lse, TestTensors.F32(0, 2), TestTensors.F32(float.NegativeInfinity, 1.5f));
        Assert.Equal(EvaluationStatus.PASSED, trial.Status);
        Assert.Equal(1, trial.Outputs[1].Stats!.SharedNonFinite);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1e30f)]
    public void A_finite_lse_where_the_reference_is_minus_infinity_fails(float lse)
    {
        var trial = Compare(TestTensors.F32(0, 2), TestTensors.F32(lse, 1.5f), TestTensors.F32(0, 2), TestTensors.F32(float.NegativeInfinity, 1.5f));
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, trial.Status);
        Assert.False(trial.StopsEvaluation);
        Assert.Equal(double.PositiveInfinity, trial.Outputs[1].MaxAbsoluteError);
    }

    [Fact]
    public void Plus_infinity_where_the_reference_has_minus_infinity_fails_at_once()
    {
        var trial = Compare(TestTensors.F32(0, 2), TestTensors.F32(float.PositiveInfinity, 1.5f), TestTensors.F32(0, 2), TestTensors.F32(float.NegativeInfinity, 1.5f));
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, trial.Status);
        Assert.True(trial.StopsEvaluation);
    }

    [Fact]
    public void A_registered_checker_replaces_the_default_for_its_output()
    {
        var registry = OutputCheckerRegistry.Default.With((d, o) => o == "lse", new AlwaysFails());
        var trial = new OutputComparator(TwoOutputs, EvaluationSettings.Default, registry)
            .Compare(TestTensors.NoInputs(TwoOutputs.Name), [TestTensors.F32(1), TestTensors.F32(2)], [TestTensors.F32(1), TestTensors.F32(2)]);
        Assert.Equal(EvaluationStatus.PASSED, trial.Outputs[0].Status);
        Assert.Equal("custom", trial.Outputs[1].Log);
        Assert.IsType<ToleranceChecker>(registry.For(TwoOutputs, "output"));
    }

    private sealed class AlwaysFails : IOutputChecker
    {
        public OutputCheck Check(OutputCheckContext context) =>
            new(context.OutputName, EvaluationStatus.INCORRECT_NUMERICAL, false, 1, 1, null, "custom");
    }
}
