# Sourced by the device scripts: the five contest definitions (cheapest first) and, per definition,
# the quick set of three workloads (smallest, median, largest by its main axis).
declare -A quick=(
  [gdn_decode_qk4_v8_d128_k_last]="901e5104 d1508f6d 42963acb"
  [gdn_prefill_qk4_v8_d128_k_last]="77daf91d 5d26ac5b 410794d4"
  [dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64]="0c23b10c d57eb9e1 5096e459"
  [dsa_topk_indexer_fp8_h64_d128_topk2048_ps64]="30cecff1 7f03b670 8635db8f"
  [moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048]="e05c6c03 81955b1e 5e8dc11c"
)
definitions="${DEFINITIONS:-gdn_decode_qk4_v8_d128_k_last dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64 dsa_topk_indexer_fp8_h64_d128_topk2048_ps64 moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048 gdn_prefill_qk4_v8_d128_k_last}"
