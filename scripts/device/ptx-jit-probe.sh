#!/usr/bin/env bash
# Can a plain sm_90 build (what FlashInfer-Bench compiles: -O2 -std=c++17, libcuda linked, no custom
# flags) run wgmma kernels by carrying their compute_90a PTX as text and loading it through the
# driver? On the GPU machine (no .device needed):
#   scripts/device/ptx-jit-probe.sh
# 1. probes/ptx_jit_kernel.cu -> compute_90a PTX -> a header; probes/ptx_jit_host.cu built for
#    sm_90 loads it (cuModuleLoadData), launches one fp8 wgmma and checks the sums.
# 2. The MoE baseline's device code as compute_90a PTX: its size and the JIT time of loading it,
#    with the driver's JIT cache off (a cold first call) and on (a call after one that compiled it).
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
probes=scripts/device/probes
include=src/Kernels.Baseline/include
moe=src/Kernels.Baseline/moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048
work=$(mktemp -d)
nvcc -gencode arch=compute_90a,code=compute_90a -ptx -std=c++17 -I "$include" "$probes/ptx_jit_kernel.cu" -o "$work/probe.ptx" || exit 1
python3 - "$work/probe.ptx" "$work/ptx_jit_kernel.ptx.h" <<'PY'
import sys
ptx = open(sys.argv[1]).read()
assert ")PTX\"" not in ptx
open(sys.argv[2], "w").write('static const char kProbePtx[] = R"PTX(' + ptx + ')PTX";\n')
PY
grep -m1 -E "^\.target" "$work/probe.ptx"
nvcc -gencode arch=compute_90,code=sm_90 -O2 -std=c++17 -I "$work" "$probes/ptx_jit_host.cu" -o "$work/ptx_jit_host" -lcuda || exit 1
echo "host built for: $(cuobjdump -lelf "$work/ptx_jit_host" 2>/dev/null | tr '\n' ' ')"
nvcc -gencode arch=compute_90a,code=compute_90a -ptx -O3 -std=c++17 -I "$include" "$moe/kernel.cu" -o "$work/moe.ptx" 2> "$out/moe-ptx.log" || tail -n 5 "$out/moe-ptx.log"
echo "== cold (CUDA_CACHE_DISABLE=1)"
CUDA_CACHE_DISABLE=1 "$work/ptx_jit_host" "$work/moe.ptx"
echo "== warm (JIT cache in $work/cache, second run)"
CUDA_CACHE_PATH="$work/cache" "$work/ptx_jit_host" "$work/moe.ptx" > /dev/null
CUDA_CACHE_PATH="$work/cache" "$work/ptx_jit_host" "$work/moe.ptx"
rm -rf "$work"
