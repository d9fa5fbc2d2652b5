#!/usr/bin/env bash
# The DSA sparse attention's gather alone, no math (probes/dsa_gather_probe.cu: is the gather of
# 2048 random 1152-byte rows per token the bound, or the phases around it?), and (first table) the
# same gathers after one word per 2 MB / 64 KB of the caches was touched between the L2 flush and
# the timed launch: whether cold address translation is part of the gather. On the GPU machine,
# no .device needed:
#   scripts/device/dsa-gather-probe.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
nvcc -gencode arch=compute_90,code=sm_90 -O3 -std=c++17 -o "$out/dsa_gather_probe" scripts/device/probes/dsa_gather_probe.cu || exit 1
"$out/dsa_gather_probe" | tee "$out/dsa-gather.md"
rm -f "$out/dsa_gather_probe"
