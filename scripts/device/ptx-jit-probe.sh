#!/usr/bin/env bash
# Can a plain sm_90 build (what FlashInfer-Bench compiles: plain sm_XY, no custom flags; its torch
# build links no libcuda) run wgmma kernels by carrying their compute_90a PTX as text and loading
# it through the driver? On the GPU machine, two calls (each well under 10 minutes):
#   scripts/device/ptx-jit-probe.sh          steps 1-2 (no .device needed)
#   scripts/device/ptx-jit-probe.sh bench    step 3 (carry .device)
# 1. probes/ptx_jit_kernel.cu -> compute_90a PTX -> a header; probes/ptx_jit_host.cu, built for
#    sm_90 without -lcuda, loads it with include/afg_sideload.cuh, launches one fp8 wgmma, checks.
# 2. The MoE entry points' PTX (scripts/device/sideload-ptx.sh): its size and the JIT time of
#    loading it, with the driver's JIT cache off (a cold first call) and on.
# 3. The MoE baseline built plain sm_90 (--target portable) with the header present, i.e. the
#    wgmma GEMMs side-loaded, against the same build without it and the sm_90a build, on
#    T=901 / 11948 / 14107, then the packed torch binding with the header among its sources
#    (scripts/device/check-packed.sh); the header is removed afterwards. Last, the other route to the
#    same kernels: the python solution (`pack --binding python`), checked by check-packed.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
probes=scripts/device/probes
include=src/Kernels.Baseline/include
moe=src/Kernels.Baseline/moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048
if [ "${1:-}" != "bench" ]; then
work=$(mktemp -d)
nvcc -gencode arch=compute_90a,code=compute_90a -ptx -std=c++17 -I "$include" "$probes/ptx_jit_kernel.cu" -o "$work/probe.ptx" || exit 1
python3 scripts/device/ptx_header.py "$work/probe.ptx" "$work/ptx_jit_kernel.ptx.h" kProbePtx --entries ptx_jit_wgmma_probe 1 || exit 1
grep -m1 -E "^\.target" "$work/probe.ptx"
nvcc -gencode arch=compute_90,code=sm_90 -O2 -std=c++17 -I "$work" -I "$include" "$probes/ptx_jit_host.cu" -o "$work/ptx_jit_host" || exit 1
echo "host linked against: $(ldd "$work/ptx_jit_host" | grep -oE 'lib(cuda|cudart)[^ ]*' | tr '\n' ' ')"
bash scripts/device/sideload-ptx.sh || exit 1
python3 -c "import sys; sys.path.insert(0, 'scripts/device'); import ptx_header; open(sys.argv[2], 'w').write(ptx_header.pieces_of(open(sys.argv[1]).read()))" \
  "$moe/moe_wgmma_sideload.h" "$work/moe.ptx"
echo "== cold (CUDA_CACHE_DISABLE=1)"
CUDA_CACHE_DISABLE=1 "$work/ptx_jit_host" "$work/moe.ptx"
echo "== warm (JIT cache in $work/cache, second run)"
CUDA_CACHE_PATH="$work/cache" "$work/ptx_jit_host" "$work/moe.ptx" > /dev/null
CUDA_CACHE_PATH="$work/cache" "$work/ptx_jit_host" "$work/moe.ptx"
rm -rf "$work"
bash scripts/device/sideload-ptx.sh --remove
exit 0
fi

# bench
bash scripts/device/sideload-ptx.sh || exit 1
source scripts/device/env.sh
d=moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048
w="1a4c6ba1 58a34f27 5e8dc11c"
echo "== portable build with the side-loaded wgmma GEMMs"
agentforge bench --definition $d --baseline --trials 1 --target portable --workloads $w --json "$out/sideload.jsonl" 2>&1 | grep -vE "[0-9]%$" | tail -n 12
echo "== the packed torch binding (plain sm_90, no libcuda) with the header among its sources"
DEFINITIONS=$d WORKLOADS="1a4c6ba1 5e8dc11c" bash scripts/device/check-packed.sh 2>&1 | tail -n 6
bash scripts/device/sideload-ptx.sh --remove
echo "== portable build without it"
agentforge bench --definition $d --baseline --trials 1 --target portable --workloads $w --json "$out/sideload.jsonl" 2>&1 | grep -E "^│|passed" | tail -n 5
echo "== sm_90a build"
agentforge bench --definition $d --baseline --trials 1 --workloads $w --json "$out/sideload.jsonl" 2>&1 | grep -E "^│|passed" | tail -n 5
echo "== the python solution (pack --binding python: main.py builds sm_90a itself, the FAQ's route)"
BINDINGS=python DEFINITIONS=$d WORKLOADS="1a4c6ba1 5e8dc11c" bash scripts/device/check-packed.sh 2>&1 | tail -n 5
