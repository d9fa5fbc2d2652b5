#!/usr/bin/env bash
# Where a GDN prefill prep CTA's time goes (probes/gdn_prep_timeline_probe.cu: the baseline kernel.cu
# built in with GDN_PREFILL_DIAG_PREP_TIMES=1, sm_90a, synthetic inputs, L2 flushed): the prep CTAs'
# starts (waves), lengths and phases in SM cycles, first wave and later CTAs apart.
# On the GPU machine, no .device needed:
#   scripts/device/gdn-prep-timeline.sh ["TOKENS SEQUENCES" ... (default "132 2" "2107 1" "8192 39")] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/cta-timeline-probe.sh
[ $# -gt 0 ] && [ "$1" != "--" ] || set -- "132 2" "2107 1" "8192 39" "$@"
cta_timeline gdn_prep_timeline_probe sm_90a GDN_PREFILL_DIAG_PREP_TIMES 1 "$@"
