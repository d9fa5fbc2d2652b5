#!/usr/bin/env bash
# Per-tile times of the MoE's small-T GEMMs in one call (probes/moe_cta_timeline_probe.cu: the
# baseline kernel.cu built in with MOE_DIAG_CTA_TIMES=1, sm_90a, synthetic inputs, L2 flushed).
# On the GPU machine, no .device needed:
#   scripts/device/moe-cta-timeline.sh [tokens... (1 7 16)] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/cta-timeline-probe.sh
[ $# -gt 0 ] && [ "$1" != "--" ] || set -- 1 7 16 "$@"
cta_timeline moe_cta_timeline_probe sm_90a MOE_DIAG_CTA_TIMES 1 "$@"
