#!/usr/bin/env bash
# Where a chunk step of the GDN prefill's split scan goes (probes/gdn_chain_timeline_probe.cu: the
# baseline kernel.cu built in with GDN_PREFILL_DIAG_CHAIN_TIMES=1, sm_90a, synthetic inputs, L2
# flushed): per phase of the state chain and of the output warps, SM cycles over the steady chunks.
# On the GPU machine, no .device needed:
#   scripts/device/gdn-chain-timeline.sh ["TOKENS SEQUENCES" ... (default "2107 1" "5709 2")] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/cta-timeline-probe.sh
[ $# -gt 0 ] && [ "$1" != "--" ] || set -- "2107 1" "5709 2" "$@"
cta_timeline gdn_chain_timeline_probe sm_90a GDN_PREFILL_DIAG_CHAIN_TIMES 1 "$@"
