#!/usr/bin/env bash
# Per-tile phases of the MoE's large-T wgmma GEMMs in one call (probes/moe_wgmma_tile_timeline_probe.cu:
# the baseline kernel.cu built in with MOE_WGMMA_DIAG_TILE_TIMES=1, sm_90a, synthetic inputs, L2
# flushed): each tile's turnover (previous tile's last MMA -> its first full stage), K loop, epilogue.
# On the GPU machine, no .device needed:
#   scripts/device/moe-wgmma-tile-timeline.sh [tokens... (14107)] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/cta-timeline-probe.sh
[ $# -gt 0 ] && [ "$1" != "--" ] || set -- 14107 "$@"
cta_timeline moe_wgmma_tile_timeline_probe sm_90a MOE_WGMMA_DIAG_TILE_TIMES 1 "$@"
