#!/usr/bin/env bash
# The baselines on workloads the dataset does not hold (scripts/dev/edge_workloads.py: sizes below,
# between and above the dataset's, past each host plan's switch), against the definitions'
# references. On the GPU machine after scripts/device/pack.sh (carry `.device`):
#   scripts/device/edge-check.sh [definition ...] [-- bench args...]
# The edge dataset is written from .device/dataset into $OUT/edge-dataset (JSONL only; the harness
# synthesizes the blobs). Prints one line per workload (status, axes, latency, floor ratio, matched
# ratio), the bench logs stay in $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
definitions=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do definitions+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#definitions[@]} -gt 0 ] || definitions=(gdn_decode_qk4_v8_d128_k_last dsa_topk_indexer_fp8_h64_d128_topk2048_ps64
  dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64 gdn_prefill_qk4_v8_d128_k_last
  moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048)
edge="$out/edge-dataset"
rm -rf "$edge"
python3 scripts/dev/edge_workloads.py "$FIB_DATASET_PATH" "$edge" || exit 1
rm -f "$out/edge.jsonl"
for d in "${definitions[@]}"; do
  # The table reads no speedup: the references' outputs only, no timed reference calls (the GDN
  # prefill's reference loops over tokens in Python).
  args=(bench --dataset "$edge" --definition "$d" --baseline --trials 1 --json "$out/edge.jsonl" --oracle-processes 4
    --reference-iterations 0)
  echo "== $d"
  agentforge "${args[@]}" "$@" >> "$out/edge-bench.log" 2>&1
  echo "exit $?"
  grep -E "^$d: .*passed" "$out/edge-bench.log" | tail -n 1
done
python3 - "$out/edge.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"\n{'definition':14} {'axes':52} {'status':14} {'us':>9} {'x floor':>8} {'matched':>8}")
for r in rows:
    axes = " ".join(f"{k}={v}" for k, v in r["axes"].items())
    lat = r.get("latency_ms")
    print(f"{r['definition'][:14]:14} {axes[:52]:52} {r['status'][:14]:14} {lat * 1e3 if lat else float('nan'):9.1f} "
          f"{r.get('floor_ratio') or float('nan'):8.2f} {r.get('matched_ratio') or float('nan'):8.4f}")
bad = [r for r in rows if not r["status"].startswith("PASS")]
print(f"\n{len(rows) - len(bad)} of {len(rows)} edge workloads passed")
EOF
