#!/usr/bin/env bash
# MoE benchmark on the GPU machine: the baseline through `agentforge bench` (extra args pass through,
# e.g. --define MOE_GEMM_IMPL=1) and the SGLang-derived Triton path on the same workloads, a table last.
# Needs `.device` (scripts/device/pack.sh, run with `.yardstick/sglang_moe` present: it packs it) carried.
#   scripts/device/moe-bench.sh [bench args...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
d=moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048
rm -rf /tmp/moe-dataset && cp -r "$FIB_DATASET_PATH" /tmp/moe-dataset
agentforge dataset synth --dataset /tmp/moe-dataset > /dev/null
agentforge bench --definition "$d" --baseline --json "$out/moe-ours.jsonl" --markdown "$out/moe-results.md" --traces "$out/moe-traces.jsonl" --oracle-processes 4 "$@" >> "$out/moe-bench.log" 2>&1
grep -E "passed; mean speedup" "$out/moe-bench.log"
python3 scripts/yardsticks/moe_triton.py --dataset /tmp/moe-dataset --out "$out/moe-triton.jsonl" >> "$out/moe-triton.log" 2>&1 || tail -n 20 "$out/moe-triton.log"
python3 scripts/yardsticks/moe_table.py "$out/moe-ours.jsonl" "$out/moe-triton.jsonl"
