#!/usr/bin/env bash
# GDN benchmark on the GPU machine: both definitions on every workload through `agentforge bench`,
# FLA on the same workloads as the yardstick, and a table per band last.
# Needs `.device` (scripts/device/pack.sh, run with `.yardstick/fla` present: it packs it) carried.
#   scripts/device/gdn-bench.sh [decode|prefill|both] [extra bench args...]
# GDN_FLA_RUNS=3 times FLA in three processes and keeps its fastest run per workload (FLA's Triton
# kernels autotune once per process; three processes agreed within 1% in session 23's call 13, the
# ~15% shifts between calls were the machines'). Default 1.
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
  # GDN_FLA_RUNS=N (default 1): N-1 more FLA processes (no check, no ours), each its own autotune picks.
  for run in $(seq 2 "${GDN_FLA_RUNS:-1}"); do
    python3 scripts/yardsticks/gdn_fla.py --dataset /tmp/gdn-dataset --definition "$d" --skip-check --out "$out/gdn-fla-run$run.jsonl" >> "$out/gdn-fla.log" 2>&1 || tail -n 20 "$out/gdn-fla.log"
  done
done
if [ "${GDN_FLA_RUNS:-1}" -gt 1 ]; then
  # FLA at its best pick: per workload the fastest of the runs (scripts/yardsticks/fla_best.py).
  mv "$out/gdn-fla.jsonl" "$out/gdn-fla-run1.jsonl"
  runs=("$out/gdn-fla-run1.jsonl")
  for run in $(seq 2 "$GDN_FLA_RUNS"); do runs+=("$out/gdn-fla-run$run.jsonl"); done
  python3 scripts/yardsticks/fla_best.py "$out/gdn-fla.jsonl" "${runs[@]}"
fi
grep -E "passed; mean speedup" "$out/gdn-bench.log"
python3 scripts/yardsticks/gdn_table.py "$out/gdn-ours.jsonl" "$out/gdn-fla.jsonl"
