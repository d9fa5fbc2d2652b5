#!/usr/bin/env bash
# Per-CTA phase times of one DSA indexer scoring call (probes/indexer_cta_timeline_probe.cu: the
# baseline kernel.cu built in with INDEXER_DIAG_CTA_TIMES=1, sm_90a, synthetic 3eab2c37-like inputs).
# On the GPU machine, no .device needed:
#   scripts/device/indexer-cta-timeline.sh [rows (15)] [max_pages (91)] [seed] [-- NAME=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/cta-timeline-probe.sh
cta_timeline indexer_cta_timeline_probe sm_90a INDEXER_DIAG_CTA_TIMES 0 "$@"
