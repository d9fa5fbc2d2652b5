#!/usr/bin/env bash
# The host's issue time per timed call (bench rows: host_issue_us of the median call,
# host_issue_max_us / host_issue_max_call of the trial's longest), on a short MoE and a long indexer
# call: run on the GPU machine after scripts/device/pack.sh (carry `.device`).
#   scripts/device/host-issue-check.sh [trials]
# Prints one line per row last (workload, span, median call's issue, longest issue and its call).
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
trials="${1:-3}"
rows="$out/host-issue.jsonl"; rm -f "$rows"
agentforge bench --definition moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048 --baseline \
  --trials "$trials" --json "$rows" --workloads e05c6c03 b8f4f012 >> "$out/host-issue.log" 2>&1
agentforge bench --definition dsa_topk_indexer_fp8_h64_d128_topk2048_ps64 --baseline \
  --trials "$trials" --json "$rows" --workloads 3eab2c37 >> "$out/host-issue.log" 2>&1
python3 - "$rows" <<'PY'
import json, sys
print(f"{'workload':10} {'span_us':>8} {'issue_us':>9} {'max_issue_us':>13} {'max_call':>9}")
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f"{r.get('uuid','')[:8]:10} {(r.get('latency_ms') or 0)*1000:8.1f} "
          f"{r.get('host_issue_us') or 0:9.1f} {r.get('host_issue_max_us') or 0:13.1f} {str(r.get('host_issue_max_call')):>9}")
PY
