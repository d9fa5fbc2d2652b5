#!/usr/bin/env bash
# Checks that CUPTI's kernel records have the layout src/Tools/Cuda/Cupti.cs reads (the installed
# header's offsets, probes/cupti_offsets.c), then prints call timelines: the given sweep's rows, or
# by default one MoE, two DSA attention and one indexer workload (after pack.sh, .device carried).
#   scripts/device/timeline-check.sh [BENCH_JSONL ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
inc=""
for d in /usr/local/cuda/extras/CUPTI/include /usr/local/cuda/targets/x86_64-linux/include; do
  [ -f "$d/cupti_activity.h" ] && inc="$d" && break
done
flag=""; grep -q "} CUpti_ActivityKernel10;" "$inc"/cupti_activity*.h && flag=-DHAS_KERNEL10
cc $flag -I"$inc" -I/usr/local/cuda/include scripts/device/probes/cupti_offsets.c -o /tmp/cupti_offsets && /tmp/cupti_offsets \
  || { echo "CUPTI's kernel record offsets differ from Cupti.cs's: fix it before reading timelines"; exit 1; }
if [ "$#" -gt 0 ]; then
  for f in "$@"; do python3 scripts/device/timeline.py "$f"; done
  exit 0
fi
rm -f "$out/timeline.jsonl"
agentforge bench --definition moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048 --baseline --trials 1 --workloads e05c6c03 b8f4f012 --json "$out/timeline.jsonl" > /dev/null 2>&1
agentforge bench --definition dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64 --baseline --trials 1 --workloads 0c23b10c 5096e459 --json "$out/timeline.jsonl" > /dev/null 2>&1
agentforge bench --definition dsa_topk_indexer_fp8_h64_d128_topk2048_ps64 --baseline --trials 1 --workloads 3eab2c37 --json "$out/timeline.jsonl" > /dev/null 2>&1
python3 scripts/device/timeline.py "$out/timeline.jsonl"
