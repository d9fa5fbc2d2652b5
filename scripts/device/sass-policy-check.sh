#!/usr/bin/env bash
# Copies that CUDA 13.0's ptxas miscompiled (session 40): a cp.async with an L2 cache policy became
# `LDGSTS [R + URx + imm], desc[URy]` with y odd and neither register written, an illegal
# instruction at run time. This builds a baseline with the given flags and counts, per kernel, the
# LDGSTS instructions whose descriptor register is odd (a 64-bit descriptor sits in an even pair),
# so a policy variant can be checked before any device time goes to timing it:
#   scripts/device/sass-policy-check.sh DEFINITION [nvcc -D flags...]   (on the GPU machine)
#   e.g. scripts/device/sass-policy-check.sh moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048 -DMOE_WEIGHT_EVICT_FIRST=1
# Prints "no odd descriptors" or one line per kernel with a count; exits 1 when any is found.
set -uo pipefail
cd "$(dirname "$0")/../.."
definition="$1"; shift
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
source scripts/device/sass-build.sh
build_sass "$out/sass-policy" src/Kernels.Baseline "$definition" "${SASS_ARCH:-sm_90a}" "$@" || exit 2
awk '
  /Function :/ { kernel = $3 }
  /LDGSTS/ && match($0, /desc\[UR[0-9]+\]/) {
    n = substr($0, RSTART + 7, RLENGTH - 8) + 0
    if (n % 2 == 1) odd[kernel]++
  }
  END {
    found = 0
    for (k in odd) { printf "%6d odd-descriptor LDGSTS in %s\n", odd[k], k; found = 1 }
    if (!found) print "no odd descriptors"
    exit found
  }' "$out/sass-policy.sass"
