using AgentForge.Tools.Bench;

namespace AgentForge.Tests.Comparison;

public sealed class EvaluationSettingsTests
{
    [Fact]
    public void Defaults_are_flashinfer_bench_defaults()
    {
        var settings = EvaluationSettingsCatalog.Contest.Resolve("gdn_decode_qk4_v8_d128_k_last");
        Assert.Equal(new EvaluationSettings(1e-2, 1e-2, 1.0, 10, 50, 3), settings);
        Assert.Null(settings.Validate());
    }

    [Fact]
    public void Moe_gets_the_contest_tolerance()
    {
        var settings = EvaluationSettingsCatalog.Contest.Resolve(EvaluationSettingsCatalog.MoeDefinition);
        Assert.Equal((1.0, 0.3, 0.9), (settings.Atol, settings.Rtol, settings.RequiredMatchedRatio));
        Assert.Equal((10, 50, 3), (settings.WarmupRuns, settings.Iterations, settings.NumTrials));
    }

    [Fact]
    public void Gdn_prefill_gets_the_contest_timing()
    {
        var settings = EvaluationSettingsCatalog.Contest.Resolve(EvaluationSettingsCatalog.GdnPrefillDefinition);
        Assert.Equal((1, 5, 3), (settings.WarmupRuns, settings.Iterations, settings.NumTrials));
        Assert.Equal(1e-2, settings.Atol);
    }

    [Fact]
    public void Overrides_apply_over_the_definition_entry()
    {
        var settings = EvaluationSettingsCatalog.Contest.Resolve(EvaluationSettingsCatalog.MoeDefinition, new(RequiredMatchedRatio: 0.95, NumTrials: 1));
        Assert.Equal((1.0, 0.3, 0.95, 1), (settings.Atol, settings.Rtol, settings.RequiredMatchedRatio, settings.NumTrials));
    }

    [Theory]
    [InlineData(0, 1e-2, 1.0, 10, 50, 3, "atol")]
    [InlineData(1e-2, -1, 1.0, 10, 50, 3, "rtol")]
    [InlineData(1e-2, 1e-2, 0.0, 10, 50, 3, "required_matched_ratio")]
    [InlineData(1e-2, 1e-2, 1.5, 10, 50, 3, "required_matched_ratio")]
    [InlineData(1e-2, 1e-2, 1.0, -1, 50, 3, "warmup_runs")]
    [InlineData(1e-2, 1e-2, 1.0, 10, 0, 3, "iterations")]
    [InlineData(1e-2, 1e-2, 1.0, 10, 50, 0, "num_trials")]
    public void Invalid_settings_are_reported(double atol, double rtol, double ratio, int warmup, int iterations, int trials, string field)
    {
        Assert.Contains(field, new EvaluationSettings(atol, rtol, ratio, warmup, iterations, trials).Validate());
    }
}
