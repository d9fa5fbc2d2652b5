#!/usr/bin/env bash
# Why the harness's span of the GDN decode is 0.5-0.9 us longer than the yardstick's profiler time of
# the same kernel (session 33): the harness issues flush, call, flush, call ... on one stream, the
# yardstick synchronized after each flush (its default through session 34's call 7; back to back since).
# This times our library and FLA in the yardstick both ways (YARDSTICK_FLUSH_SYNC=1 / 0, two passes
# each) beside the harness's span. On the GPU machine, `.device` carried (packed with `.yardstick/fla`):
#   scripts/device/flush-sync-check.sh ["76eec66d a8c8beff eaf0a285"]     (decode workload prefixes)
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
definition=gdn_decode_qk4_v8_d128_k_last
workloads="${1:-76eec66d a8c8beff eaf0a285}"
export PYTHONPATH="$PWD/.yardstick:${PYTHONPATH:-}"  # FLA; the decode's inputs need no synthesized blobs
rm -f "$out"/flush-*.jsonl
agentforge bench --definition "$definition" --baseline --trials 3 --workloads $workloads --json "$out/flush-ours.jsonl" > "$out/flush-bench.log" 2>&1
for pass in 1 2; do
  for sync in 1 0; do
    YARDSTICK_FLUSH_SYNC=$sync python3 scripts/yardsticks/gdn_fla.py --dataset "$FIB_DATASET_PATH" --definition "$definition" \
      --workloads $workloads --ours "$out/flush-ours.jsonl" --out "$out/flush-sync$sync.jsonl" >> "$out/flush-fla.log" 2>&1 || tail -n 5 "$out/flush-fla.log"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
rows = lambda f: [json.loads(l) for l in open(f"{out}/{f}") if l.strip()]
span = {}
for r in rows("flush-ours.jsonl"):
    span.setdefault(r["uuid"], []).append(r["latency_ms"] * 1e3)
yard = {s: {} for s in ("1", "0")}
for s in yard:
    for r in rows(f"flush-sync{s}.jsonl"):
        yard[s].setdefault(r["uuid"], []).append(r)
print("| workload | B | harness span | ours, sync after flush | ours, no sync | FLA, sync | FLA, no sync |  (us; yardstick: both passes)")
print("|---|---|---|---|---|---|---|")
for uuid in sorted(span, key=lambda u: yard["1"][u][0]["axes"]["batch_size"] if u in yard["1"] else 0):
    cell = lambda s, key: " / ".join(f"{r[key] * 1e3:.2f}" for r in yard[s].get(uuid, []) if key in r)
    b = yard["1"][uuid][0]["axes"]["batch_size"] if uuid in yard["1"] else "?"
    print(f"| {uuid[:8]} | {b} | {statistics.median(span[uuid]):.2f} | {cell('1', 'ours_kernel_ms')} | {cell('0', 'ours_kernel_ms')} "
          f"| {cell('1', 'fla_kernel_ms')} | {cell('0', 'fla_kernel_ms')} |")
PY
