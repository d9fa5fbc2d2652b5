#!/usr/bin/env bash
# The warp-specialized, TMA-fed GEMM1 probe (probes/moe_ws_gemm_probe.cu) beside the baseline's GEMM1
# on the T=14107 workload, one call (`.device` carried for the baseline's row):
#   scripts/device/moe-ws-probe.sh [ROWS_PER_EXPERT]
#   WS_VARIANTS="WS_FAST_SILU=0 WS_STAGES=3" scripts/device/moe-ws-probe.sh   more probe builds to time
#   MOE_WS_BASELINE=0 ...   the probe alone
# Prints ptxas's registers / spills per build, each build's check and median time, then the
# baseline's per-kernel medians (sweep.sh, one round).
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out/ws"
rows="${1:-441}"
build() {  # $1: label, rest: -D defines
  local label="${1//[=+]/_}"; shift
  nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -Xptxas -v -I src/Kernels.Baseline/include "$@" \
    -o "$out/ws/probe-$label" scripts/device/probes/moe_ws_gemm_probe.cu > "$out/ws/ptxas-$label.log" 2>&1 \
    || { echo "build $label failed:"; grep -v "^ptxas info" "$out/ws/ptxas-$label.log" | tail -n 20; return 1; }
  grep -A2 "Compiling entry function '.*ws_gemm1" "$out/ws/ptxas-$label.log" | grep -E "registers|spill" | sed "s/^/  [$label] /"
  grep -c "C7514" "$out/ws/ptxas-$label.log" | sed "s/^/  [$label] wgmma serialization advisories: /"
}
labels=(default); flags=("")
for v in ${WS_VARIANTS:-}; do labels+=("$v"); flags+=("-D$v"); done
# A variant is NAME=V or NAME=V+NAME=V (several defines in one build).
for i in "${!labels[@]}"; do build "${labels[$i]}" ${flags[$i]//+/ -D} & done; wait
for label in "${labels[@]}"; do
  [ -x "$out/ws/probe-${label//[=+]/_}" ] || continue
  echo "== probe $label"
  timeout 120 "$out/ws/probe-${label//[=+]/_}" "$rows" 2>&1 | tail -n 8
done
if [ "${MOE_WS_BASELINE:-1}" = 1 ]; then
  echo "== the baseline on 5e8dc11c (T=14107)"
  SWEEP_ROUNDS=1 SWEEP_TIMEOUT=200 bash scripts/device/sweep.sh moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048 5e8dc11c "" 2>&1 | tail -n 6
fi
