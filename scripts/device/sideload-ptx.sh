#!/usr/bin/env bash
# Writes the MoE baseline's side-loaded PTX header (moe_wgmma_sideload.h beside kernel.cu; git
# ignores it): the compute_90a PTX of the wgmma kernels' fixed-name entry points
# (-DAFG_SIDELOAD_ENTRIES), which a plain sm_90 build of the same kernel then loads through the
# driver (kernel.cu, MOE_WGMMA_SIDELOAD). Needs nvcc (the GPU machine).
#   scripts/device/sideload-ptx.sh [NAME=V ...]   the settings of the build that will load it (its
#                                                  entry names carry them; other settings fall back)
#   scripts/device/sideload-ptx.sh --remove        deletes the header (the portable path again)
set -uo pipefail
cd "$(dirname "$0")/../.."
folder=src/Kernels.Baseline/moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048
header="$folder/moe_wgmma_sideload.h"
if [ "${1:-}" = "--remove" ]; then rm -f "$header"; echo "removed $header"; exit 0; fi
defines=(); for d in "$@"; do defines+=("-D$d"); done
work=$(mktemp -d)
rm -f "$header"  # the PTX build must not see an old one
nvcc -gencode arch=compute_90a,code=compute_90a -ptx -O3 -std=c++17 -DAFG_SIDELOAD_ENTRIES=1 "${defines[@]}" \
  -I src/Kernels.Baseline/include "$folder/kernel.cu" -o "$work/moe.ptx" || { rm -rf "$work"; exit 1; }
# Every file the PTX build reads is recorded: the harness and `pack` leave the header out once one changes.
sources=()
for f in "$folder"/kernel.cu "$folder"/moe_tc.cuh "$folder"/moe_wgmma.cuh src/Kernels.Baseline/include/agentforge.h \
         src/Kernels.Baseline/include/afg_mma.cuh src/Kernels.Baseline/include/afg_wgmma.cuh; do sources+=(--source "$f"); done
python3 scripts/device/ptx_header.py "$work/moe.ptx" "$header" kMoeWgmmaSideloadPtx --entries afg_moe_ 4 --keep-only-entries \
  --include afg_sideload.cuh --note "$(nvcc --version | tail -n 1); settings: ${defines[*]:-defaults}" "${sources[@]}"
status=$?
rm -rf "$work"
exit $status
