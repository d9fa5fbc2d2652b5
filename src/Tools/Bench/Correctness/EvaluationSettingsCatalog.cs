namespace AgentForge.Tools.Bench;

/// <summary>
/// Resolves the settings of a definition: defaults, then the definition's own entry, then the
/// caller's overrides (a command-line <c>--matched-ratio 0.95</c>, say). Entries are keyed by exact
/// definition name because the contest fixed its values per definition, not per op_type.
/// </summary>
public sealed class EvaluationSettingsCatalog(
    IReadOnlyDictionary<string, EvaluationSettingsOverrides> perDefinition,
    EvaluationSettings? defaults = null)
{
    public const string MoeDefinition = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";
    public const string GdnPrefillDefinition = "gdn_prefill_qk4_v8_d128_k_last";

    /// <summary>
    /// The contest's settings (EVALUATION.md): fp8 block-scale MoE accumulates in a different order
    /// than the reference, hence the loose bounds and 10% of elements allowed out; the GDN prefill
    /// reference loops over tokens in Python, so its timing runs far fewer calls.
    /// </summary>
    public static EvaluationSettingsCatalog Contest { get; } = new(new Dictionary<string, EvaluationSettingsOverrides>
    {
        [MoeDefinition] = new(Atol: 1, Rtol: 0.3, RequiredMatchedRatio: 0.9),
        [GdnPrefillDefinition] = new(WarmupRuns: 1, Iterations: 5),
    });

    public EvaluationSettings Defaults { get; } = defaults ?? EvaluationSettings.Default;

    public IReadOnlyDictionary<string, EvaluationSettingsOverrides> PerDefinition { get; } = perDefinition;

    public EvaluationSettings Resolve(string definitionName, EvaluationSettingsOverrides? overrides = null)
    {
        var settings = PerDefinition.TryGetValue(definitionName, out var entry) ? Defaults.With(entry) : Defaults;
        return settings.With(overrides);
    }
}
