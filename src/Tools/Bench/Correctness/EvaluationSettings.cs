namespace AgentForge.Tools.Bench;

/// <summary>
/// The knobs of FlashInfer-Bench's BenchmarkConfig that decide a verdict and a latency, for one
/// definition: tolerance (atol, rtol, required matched ratio) and timing (warm-up calls, measured
/// calls, trials). Defaults are FlashInfer-Bench's; <see cref="EvaluationSettingsCatalog"/> holds the
/// contest's per-definition values.
/// </summary>
public sealed record EvaluationSettings(
    double Atol = 1e-2,
    double Rtol = 1e-2,
    double RequiredMatchedRatio = 1.0,
    int WarmupRuns = 10,
    int Iterations = 50,
    int NumTrials = 3)
{
    public static EvaluationSettings Default { get; } = new();

    /// <summary>The same bounds FlashInfer-Bench enforces on its config; null when valid.</summary>
    public string? Validate()
    {
        var problems = new List<string>();
        if (!(Atol > 0) || !double.IsFinite(Atol))
        {
            problems.Add($"atol must be a finite number > 0 (got {Atol})");
        }
        if (!(Rtol > 0) || !double.IsFinite(Rtol))
        {
            problems.Add($"rtol must be a finite number > 0 (got {Rtol})");
        }
        if (!(RequiredMatchedRatio > 0 && RequiredMatchedRatio <= 1))
        {
            problems.Add($"required_matched_ratio must be in (0, 1] (got {RequiredMatchedRatio})");
        }
        if (WarmupRuns < 0)
        {
            problems.Add($"warmup_runs must be >= 0 (got {WarmupRuns})");
        }
        if (Iterations <= 0)
        {
            problems.Add($"iterations must be > 0 (got {Iterations})");
        }
        if (NumTrials <= 0)
        {
            problems.Add($"num_trials must be > 0 (got {NumTrials})");
        }
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    public EvaluationSettings With(EvaluationSettingsOverrides? overrides) => overrides is null
        ? this
        : new EvaluationSettings(
            overrides.Atol ?? Atol,
            overrides.Rtol ?? Rtol,
            overrides.RequiredMatchedRatio ?? RequiredMatchedRatio,
            overrides.WarmupRuns ?? WarmupRuns,
            overrides.Iterations ?? Iterations,
            overrides.NumTrials ?? NumTrials);
}

/// <summary>A partial <see cref="EvaluationSettings"/>: each non-null field replaces the resolved value.</summary>
public sealed record EvaluationSettingsOverrides(
    double? Atol = null,
    double? Rtol = null,
    double? RequiredMatchedRatio = null,
    int? WarmupRuns = null,
    int? Iterations = null,
    int? NumTrials = null);
