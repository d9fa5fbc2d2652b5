#!/usr/bin/env bash
# Per-CTA phase times of one DSA indexer scoring call (probes/indexer_cta_timeline_probe.cu: the
# baseline kernel.cu built in with INDEXER_DIAG_CTA_TIMES=1, sm_90a, synthetic 3eab2c37-like inputs).
# On the GPU machine, no .device needed:
#   scripts/device/indexer-cta-timeline.sh [rows (15)] [max_pages (91)] [seed] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
args=(); defines=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; for d in "$@"; do defines+=("-D$d"); done; break; fi
  args+=("$1"); shift
done
nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -DINDEXER_DIAG_CTA_TIMES=1 "${defines[@]}" \
  -I src/Kernels.Baseline/include -o "$out/indexer_cta_timeline_probe" scripts/device/probes/indexer_cta_timeline_probe.cu || exit 1
"$out/indexer_cta_timeline_probe" "${args[@]}" | tee "$out/indexer-cta-timeline.txt"
rm -f "$out/indexer_cta_timeline_probe"
