#!/usr/bin/env bash
# Per-tile times of the MoE's small-T GEMMs in one call (probes/moe_cta_timeline_probe.cu: the
# baseline kernel.cu built in with MOE_DIAG_CTA_TIMES=1, sm_90a, synthetic inputs, L2 flushed).
# On the GPU machine, no .device needed:
#   scripts/device/moe-cta-timeline.sh [tokens... (1 7 16)] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
tokens=(); defines=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; for d in "$@"; do defines+=("-D$d"); done; break; fi
  tokens+=("$1"); shift
done
[ ${#tokens[@]} -gt 0 ] || tokens=(1 7 16)
nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -DMOE_DIAG_CTA_TIMES=1 "${defines[@]}" \
  -I src/Kernels.Baseline/include -o "$out/moe_cta_timeline_probe" scripts/device/probes/moe_cta_timeline_probe.cu || exit 1
for t in "${tokens[@]}"; do "$out/moe_cta_timeline_probe" "$t"; echo; done | tee -a "$out/moe-cta-timeline.txt"
rm -f "$out/moe_cta_timeline_probe"
