#!/usr/bin/env bash
# Per-CTA phase times of one DSA sparse attention call (probes/attention_cta_timeline_probe.cu: the
# baseline kernel.cu built in with DSA_ATTN_DIAG_CTA_TIMES=1, sm_90, synthetic inputs, L2 flushed).
# On the GPU machine, no .device needed:
#   scripts/device/attention-cta-timeline.sh [tokens... (1 2 8)] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/cta-timeline-probe.sh
[ $# -gt 0 ] && [ "$1" != "--" ] || set -- 1 2 8 "$@"
cta_timeline attention_cta_timeline_probe sm_90 DSA_ATTN_DIAG_CTA_TIMES 1 "$@"
