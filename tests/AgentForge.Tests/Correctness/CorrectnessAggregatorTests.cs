using AgentForge.Tools.Bench;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Comparison;

public sealed class CorrectnessAggregatorTests
{
    private static readonly Definition OneOutput = TestTensors.Definition("one", ["out"]);

    private static TrialComparison Trial(int trial, HostTensor candidate, HostTensor reference, EvaluationSettings? settings = null) =>
        new OutputComparator(OneOutput, settings ?? EvaluationSettings.Default)
            .Compare(TestTensors.NoInputs(OneOutput.Name, trial), [candidate], [reference]);

    [Fact]
    public void Reports_the_worst_error_over_all_trials_and_keeps_going_after_a_tolerance_failure()
    {
        var aggregator = new CorrectnessAggregator(EvaluationSettings.Default);
        Assert.True(aggregator.Add(Trial(0, TestTensors.F32(1.5f, 1), TestTensors.F32(1, 1))));
        Assert.True(aggregator.Add(Trial(1, TestTensors.F32(3, 1), TestTensors.F32(1, 1))));
        Assert.True(aggregator.Add(Trial(2, TestTensors.F32(1, 1), TestTensors.F32(1, 1))));

        var verdict = aggregator.Verdict();
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, verdict.Status);
        Assert.Equal(2.0, verdict.Correctness!.MaxAbsoluteError);
        Assert.Equal(2.0, verdict.Correctness.MaxRelativeError, 6);
        Assert.Equal(0.5, verdict.Correctness.Extra!["matched_ratio"]!.GetValue<double>());
        Assert.Equal(3, verdict.Correctness.Extra["trials"]!.GetValue<int>());
        Assert.Contains("trial 1: output 'out'", verdict.Log);
    }

    [Fact]
    public void Under_a_looser_tolerance_the_matched_ratio_at_the_default_tolerance_is_reported_beside()
    {
        // MoE contest settings: atol 1, rtol 0.3. An error of 0.05 on one of four elements passes
        // there and fails FlashInfer-Bench's default 1e-2 / 1e-2.
        var contest = new EvaluationSettings(Atol: 1, Rtol: 0.3, RequiredMatchedRatio: 0.9);
        var aggregator = new CorrectnessAggregator(contest);
        aggregator.Add(Trial(0, TestTensors.F32(1.05f, 2, 3, 4), TestTensors.F32(1, 2, 3, 4), contest));
        aggregator.Add(Trial(1, TestTensors.F32(1, 2, 3, 4), TestTensors.F32(1, 2, 3, 4), contest));

        var verdict = aggregator.Verdict();
        Assert.Equal(EvaluationStatus.PASSED, verdict.Status);
        Assert.Equal(1.0, verdict.Correctness!.Extra!["matched_ratio"]!.GetValue<double>());
        Assert.Equal(0.75, verdict.Correctness.Extra["matched_ratio_at_default_tolerance"]!.GetValue<double>());
        Assert.Equal(0.75, verdict.Correctness.Extra["outputs"]!["out"]!["matched_ratio_at_default_tolerance"]!.GetValue<double>());
    }

    [Fact]
    public void Under_the_default_tolerance_both_ratios_agree()
    {
        var aggregator = new CorrectnessAggregator(EvaluationSettings.Default);
        aggregator.Add(Trial(0, TestTensors.F32(1.05f, 2, 3, 4), TestTensors.F32(1, 2, 3, 4)));
        var extra = aggregator.Verdict().Correctness!.Extra!;
        Assert.Equal(0.75, extra["matched_ratio"]!.GetValue<double>());
        Assert.Equal(0.75, extra["matched_ratio_at_default_tolerance"]!.GetValue<double>());
    }

    [Fact]
    public void Passes_when_every_trial_passes_and_still_reports_errors()
    {
        var aggregator = new CorrectnessAggregator(EvaluationSettings.Default);
        aggregator.Add(Trial(0, TestTensors.F32(1.001f), TestTensors.F32(1)));
        aggregator.Add(Trial(1, TestTensors.F32(1.004f), TestTensors.F32(1)));
        var verdict = aggregator.Verdict();
        Assert.Equal(EvaluationStatus.PASSED, verdict.Status);
        Assert.Equal(1.004f - 1f, verdict.Correctness!.MaxAbsoluteError, 6);
    }

    [Fact]
    public void A_stopping_failure_ends_the_evaluation_with_its_errors()
    {
        var aggregator = new CorrectnessAggregator(EvaluationSettings.Default);
        Assert.True(aggregator.Add(Trial(0, TestTensors.F32(1.5f), TestTensors.F32(1))));
        Assert.False(aggregator.Add(Trial(1, TestTensors.F32(float.PositiveInfinity), TestTensors.F32(1))));
        Assert.True(aggregator.Stopped);
        Assert.Throws<InvalidOperationException>(() => aggregator.Add(Trial(2, TestTensors.F32(1), TestTensors.F32(1))));

        var verdict = aggregator.Verdict();
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, verdict.Status);
        Assert.Equal(double.PositiveInfinity, verdict.Correctness!.MaxAbsoluteError);
        Assert.Equal("Infinity", verdict.Correctness.Extra!["outputs"]!["out"]!["max_absolute_error"]!.GetValue<string>());
        Assert.Equal(1, verdict.Correctness.Extra["stopped_at"]!["trial"]!.GetValue<int>());
    }

    [Fact]
    public void Shape_failure_has_no_correctness_as_in_flashinfer_bench()
    {
        var aggregator = new CorrectnessAggregator(EvaluationSettings.Default);
        aggregator.Add(Trial(0, TestTensors.F32(1, 2), TestTensors.F32(1)));
        var verdict = aggregator.Verdict();
        Assert.Equal(EvaluationStatus.INCORRECT_SHAPE, verdict.Status);
        Assert.Null(verdict.Correctness);
    }

    [Fact]
    public void Evaluation_carries_the_status_log_and_a_python_style_timestamp()
    {
        var aggregator = new CorrectnessAggregator(EvaluationSettings.Default);
        aggregator.Add(Trial(0, TestTensors.F32(1), TestTensors.F32(1)));
        var environment = new TraceEnvironment("NVIDIA H100", new Dictionary<string, string>());
        var performance = new Performance(1.0, 2.0, 2.0);
        var evaluation = aggregator.Verdict().ToEvaluation(environment, new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero), performance);
        Assert.Equal(EvaluationStatus.PASSED, evaluation.Status);
        Assert.Equal("2026-01-02T03:04:05.678000", evaluation.Timestamp);
        Assert.Same(performance, evaluation.Performance);
    }

    [Fact]
    public void Moe_contest_settings_accept_ten_percent_of_elements_outside_looser_bounds()
    {
        var settings = EvaluationSettingsCatalog.Contest.Resolve(EvaluationSettingsCatalog.MoeDefinition);
        var reference = Enumerable.Repeat(10f, 10).ToArray();
        var candidate = reference.ToArray();
        candidate[0] = 20;    // abs 10 > 1 and rel 1 > 0.3: bad
        candidate[1] = 12.9f; // rel 0.29 <= 0.3: fine
        var aggregator = new CorrectnessAggregator(settings);
        aggregator.Add(Trial(0, TestTensors.F32(candidate), TestTensors.F32(reference), settings));
        Assert.Equal(EvaluationStatus.PASSED, aggregator.Verdict().Status);

        var stricter = EvaluationSettingsCatalog.Contest.Resolve(EvaluationSettingsCatalog.MoeDefinition, new(RequiredMatchedRatio: 0.95));
        var strict = new CorrectnessAggregator(stricter);
        strict.Add(Trial(0, TestTensors.F32(candidate), TestTensors.F32(reference), stricter));
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, strict.Verdict().Status);
    }
}
