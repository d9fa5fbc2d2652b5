#!/usr/bin/env bash
# The wgmma structure questions of issue #6 (MoE large T), on the GPU machine (no .device needed):
#   scripts/device/wgmma-probe.sh [K_BLOCKS] [PEAK_TFLOPS]
# 1. ptxas's report for the MoE baseline built as the harness builds it for sm_90a (-Xptxas -v):
#    registers, stack, and any "wgmma ... serialized" advisory (ptxas then waits after every
#    wgmma, which would explain GEMM1 at 42% of the fp8 peak without loads).
# 2. probes/wgmma_pipeline_probe.cu: TFLOP/s of each K-block structure (serial passes, pipelined
#    n64 sub-passes, with and without a block barrier, and the no-fold upper bounds), no loads.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
moe=src/Kernels.Baseline/moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048
echo "== ptxas on the MoE baseline (sm_90a)"
nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -lineinfo -Xptxas -v -I src/Kernels.Baseline/include -c "$moe/kernel.cu" -o "$out/moe.o" > "$out/ptxas-moe.log" 2>&1
echo "exit $?"
grep -iE "serializ|warning" "$out/ptxas-moe.log" | sort | uniq -c | head -n 20
python3 - "$out/ptxas-moe.log" <<'PY'
import re, sys
name = None
for line in open(sys.argv[1]):
    m = re.search(r"(?:Compiling entry function|Function properties for) '?([A-Za-z0-9_]+)", line)
    if m:
        name = m.group(1)
        continue
    if name and "wgmma_kernel" in name and re.search(r"Used \d+ registers|bytes stack frame", line):
        short = re.sub(r"^.*moe_wg\d*", "", name)[:60]
        print(f"{short:60} {line.strip()[:120]}")
PY
echo "== wgmma pipeline probe"
nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -Xptxas -v -I src/Kernels.Baseline/include -o "$out/wgmma_probe" scripts/device/probes/wgmma_pipeline_probe.cu > "$out/ptxas-probe.log" 2>&1 || { tail -n 30 "$out/ptxas-probe.log"; exit 1; }
grep -iE "serializ" "$out/ptxas-probe.log" | head -n 10
"$out/wgmma_probe" "${1:-4000}" "${2:-1979}"
