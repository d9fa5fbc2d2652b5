#!/usr/bin/env bash
# DSA benchmark on the GPU machine (after scripts/device/pack.sh, `.device` carried): both sparse
# attention definitions through `agentforge bench` on every workload (extra args pass through to
# both, e.g. --define DSA_ATTN_SMALL_T=0), then one table per definition and workload band:
# latency (GPU span), floor ratio, speedup over the reference, launch gaps (span - kernel sum).
#   scripts/device/dsa-bench.sh [bench args...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
rm -f "$out/dsa-ours.jsonl"
for d in dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64 dsa_topk_indexer_fp8_h64_d128_topk2048_ps64; do
  agentforge bench --definition "$d" --baseline --trials 1 --json "$out/dsa-ours.jsonl" --traces "$out/dsa-traces.jsonl" "$@" >> "$out/dsa-bench.log" 2>&1
  grep -E "^$d: .*passed" "$out/dsa-bench.log" | tail -n 1
done
python3 scripts/device/dsa_table.py "$out/dsa-ours.jsonl"
