#!/usr/bin/env bash
# Per-CTA phase times of one DSA sparse attention call (probes/attention_cta_timeline_probe.cu: the
# baseline kernel.cu built in with DSA_ATTN_DIAG_CTA_TIMES=1, sm_90, synthetic inputs, L2 flushed).
# On the GPU machine, no .device needed:
#   scripts/device/attention-cta-timeline.sh [tokens... (1 2 8)] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
tokens=(); defines=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; for d in "$@"; do defines+=("-D$d"); done; break; fi
  tokens+=("$1"); shift
done
[ ${#tokens[@]} -gt 0 ] || tokens=(1 2 8)
nvcc -gencode arch=compute_90,code=sm_90 -O3 -std=c++17 -DDSA_ATTN_DIAG_CTA_TIMES=1 "${defines[@]}" \
  -I src/Kernels.Baseline/include -o "$out/attention_cta_timeline_probe" scripts/device/probes/attention_cta_timeline_probe.cu || exit 1
for t in "${tokens[@]}"; do "$out/attention_cta_timeline_probe" "$t"; echo; done | tee -a "$out/attention-cta-timeline.txt"
rm -f "$out/attention_cta_timeline_probe"
