#!/usr/bin/env bash
# GDN benchmark on the GPU machine: both definitions on every workload through `agentforge bench`,
# FLA on the same workloads as the yardstick, and a table per band last.
# Needs `.device` (scripts/device/pack.sh) and `.yardstick/fla` (FLA's package, git-ignored) carried.
#   scripts/device/gdn-bench.sh [decode|prefill|both] [extra bench args...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
which="${1:-both}"; shift || true
out="${OUT:-/tmp/agentforge-out}"
mkdir -p "$out"
# Synthesized blobs (GDN prefill q, k, cu_seqlens) written into a copy of the dataset, for FLA's inputs.
rm -rf /tmp/gdn-dataset && cp -r "$FIB_DATASET_PATH" /tmp/gdn-dataset
agentforge dataset synth --dataset /tmp/gdn-dataset > /dev/null
export PYTHONPATH="$PWD/.yardstick:${PYTHONPATH:-}"
defs=()
[ "$which" != prefill ] && defs+=(gdn_decode_qk4_v8_d128_k_last)
[ "$which" != decode ] && defs+=(gdn_prefill_qk4_v8_d128_k_last)
for d in "${defs[@]}"; do
  extra=()
  [ "$d" = gdn_prefill_qk4_v8_d128_k_last ] && extra+=(--reference-iterations 1)
  agentforge bench --definition "$d" --baseline --json "$out/gdn-ours.jsonl" --markdown "$out/gdn-results.md" --traces "$out/gdn-traces.jsonl" --oracle-processes 4 "${extra[@]}" "$@" >> "$out/gdn-bench.log" 2>&1
  python3 scripts/yardsticks/gdn_fla.py --dataset /tmp/gdn-dataset --definition "$d" --ours "$out/gdn-ours.jsonl" --out "$out/gdn-fla.jsonl" >> "$out/gdn-fla.log" 2>&1 || tail -n 20 "$out/gdn-fla.log"
done
grep -E "passed; mean speedup" "$out/gdn-bench.log"
python3 scripts/yardsticks/gdn_table.py "$out/gdn-ours.jsonl" "$out/gdn-fla.jsonl"
