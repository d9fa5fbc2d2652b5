#!/usr/bin/env bash
# DRAM read rate of the MoE small-T weight streams by tile shape (probes/dram_pattern_probe.cu:
# why do the split-K tile GEMMs read W1 at 60-72% of peak?). On the GPU machine, no .device needed:
#   scripts/device/dram-pattern-probe.sh            (session 16: 4 CTAs per SM with math per stage)
#   DRAM_PATTERN_ALL=1 scripts/device/dram-pattern-probe.sh   (and session 8's tables)
#   DRAM_PATTERN_WG=1 scripts/device/dram-pattern-probe.sh    (session 19: the wgmma 64-pair tiles' shape, 1 CTA per SM)
#   DRAM_PATTERN_TMA=1 scripts/device/dram-pattern-probe.sh   (session 29: the small tiles by TMA boxes against cp.async)
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
nvcc -gencode arch=compute_90,code=sm_90 -O3 -std=c++17 -I src/Kernels.Baseline/include -o "$out/dram_pattern_probe" scripts/device/probes/dram_pattern_probe.cu || exit 1
"$out/dram_pattern_probe" | tee "$out/dram-pattern.md"
rm -f "$out/dram_pattern_probe"
