#!/usr/bin/env bash
# One ncu pass (real clocks) over the small-input bands of three definitions: MoE T=7 and T=16,
# the DSA indexer at 15 x 91 pages, the DSA attention at 1 and 8 tokens. After pack.sh, .device carried.
cd "$(dirname "$0")/../.."
export PROFILE_NCU_FLAGS="--clock-control none"
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
# Everything to $out/profile-bands.txt; the terminal gets durations, DRAM, grids and the top stall.
p() { bash scripts/device/profile.sh "$@" 2>&1 | grep -vE "library|sass instructions" | sed 's/  */ /g' | tee -a "$out/profile-bands.txt" \
  | awk '/^==/ {print; s=0; next} /gpu__time|dram__throughput|grid_size|registers_per|issue_active/ {print} /stall/ && s < 2 {print; s++}'; }
echo "#### MoE T=7"; PROFILE_LAUNCHES=6 p moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048 b8f4f012 "moe_|gemm|swiglu"
echo "#### MoE T=16"; PROFILE_LAUNCHES=6 p moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048 a7c2bcfd "moe_|gemm|swiglu"
echo "#### indexer 15 x 91 pages"; PROFILE_LAUNCHES=2 p dsa_topk_indexer_fp8_h64_d128_topk2048_ps64 3eab2c37 "indexer"
echo "#### attention 1 token"; PROFILE_LAUNCHES=2 p dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64 0c23b10c "split_attention|merge"
echo "#### attention 8 tokens"; PROFILE_LAUNCHES=2 p dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64 5096e459 "split_attention|merge"
