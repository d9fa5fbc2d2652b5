namespace AgentForge.Orchestrator.Evolution;

/// <summary>The contest tracks and their definitions (ARCHITECTURE.md, "Tracks and definitions").</summary>
public static class Tracks
{
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> Definitions = new Dictionary<string, IReadOnlyList<string>>
    {
        ["fused_moe"] = ["moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048"],
        ["sparse_attention"] = ["dsa_topk_indexer_fp8_h64_d128_topk2048_ps64", "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64"],
        ["gated_delta_net"] = ["gdn_decode_qk4_v8_d128_k_last", "gdn_prefill_qk4_v8_d128_k_last"],
    };

    public static IReadOnlyList<string> Names => Definitions.Keys.Order(StringComparer.Ordinal).ToList();

    public static IReadOnlyList<string>? Resolve(string track) => Definitions.GetValueOrDefault(track);
}
