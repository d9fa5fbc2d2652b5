#!/usr/bin/env bash
# Where a chunk step of the GDN prefill's split scan goes (probes/gdn_chain_timeline_probe.cu: the
# baseline kernel.cu built in with GDN_PREFILL_DIAG_CHAIN_TIMES=1, sm_90a, synthetic inputs, L2
# flushed): per phase of the state chain and of the output warps, SM cycles over the steady chunks.
# On the GPU machine, no .device needed:
#   scripts/device/gdn-chain-timeline.sh ["TOKENS SEQUENCES" ... (default "2107 1" "5709 2")] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
runs=(); defines=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do runs+=("$1"); shift; done
if [ $# -gt 0 ]; then shift; for a in "$@"; do defines+=("-D$a"); done; fi
[ ${#runs[@]} -gt 0 ] || runs=("2107 1" "5709 2")
probe="$out/gdn_chain_timeline_probe"
nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -DGDN_PREFILL_DIAG_CHAIN_TIMES=1 "${defines[@]}" \
  -I src/Kernels.Baseline/include -o "$probe" scripts/device/probes/gdn_chain_timeline_probe.cu || exit 1
for r in "${runs[@]}"; do
  read -ra words <<< "$r"
  "$probe" "${words[@]}"; echo
done | tee -a "$out/gdn_chain_timeline_probe.txt"
rm -f "$probe"
