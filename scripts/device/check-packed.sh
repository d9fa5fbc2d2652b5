#!/usr/bin/env bash
# Issue #8, item 3, on the GPU machine (after scripts/device/pack.sh; carry `.device`): for every
# baseline, the harness runs it first (building its candidate.so and caching the inputs it uses),
# then `agentforge pack` writes solution.json with the torch and the TVM-FFI binding, and
# check_packed.py builds each from the file alone the way FlashInfer-Bench does, calls it with
# the harness's inputs (inputs in definition order, then outputs) and compares outputs and
# latency with the harness's build. The table is printed last and appended to $OUT/check-packed.md.
#   scripts/device/check-packed.sh          3 workloads per definition (gpu-check's quick set)
#   scripts/device/check-packed.sh full     every workload
#   DEFINITIONS="gdn_decode_qk4_v8_d128_k_last" scripts/device/check-packed.sh   some definitions only
#   WORKLOADS="8f1ff9f1 1a4c6ba1" DEFINITIONS=... scripts/device/check-packed.sh   other workloads than the quick set
#   BINDINGS="python torch" scripts/device/check-packed.sh   other bindings than torch and tvm-ffi (python: a
#                                   Python solution that builds for the baseline's own target)
# Logs go to $OUT (or /tmp/agentforge-out). Exit status: check_packed.py's (0: every row passed).
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
mode="${1:-quick}"
out="${OUT:-/tmp/agentforge-out}"
mkdir -p "$out/packed"

echo "== $(date -u +%FT%TZ) check-packed mode=$mode"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nvcc --version | tail -n 1
python3 -c "import torch, safetensors, numpy; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'safetensors', safetensors.__version__)"

source scripts/device/quick-set.sh
solutions=()
prefixes=()
for d in $definitions; do
  # One timed reference call is enough for a trace with the harness's latency (the "trace ms" column).
  # The portable build: FlashInfer-Bench builds the packed file for plain sm_XY, whatever target
  # the baseline defaults to (the MoE's is sm_90a), so that is the harness build to compare with.
  args=(bench --definition "$d" --baseline --target portable --trials 1 --reference-iterations 1 --traces "$out/check-packed-traces.jsonl" --oracle-processes 4)
  if [ "$mode" = quick ]; then args+=(--workloads ${WORKLOADS:-${quick[$d]}}); prefixes+=(${WORKLOADS:-${quick[$d]}}); fi
  echo "== harness: $d"
  agentforge "${args[@]}" >> "$out/check-packed-bench.log" 2>&1
  echo "exit $?"
  # A python solution builds for the baseline's own target (sm_90a for the MoE): compare it with
  # that harness build, made here without --target portable.
  case " ${BINDINGS:-torch tvm-ffi} " in
    *" python "*)
      arch_args=(); skip=0
      for a in "${args[@]}"; do
        if [ "$skip" = 1 ]; then skip=0; continue; fi
        if [ "$a" = "--target" ]; then skip=1; continue; fi
        arch_args+=("$a")
      done
      echo "== harness (the baseline's own target): $d"
      agentforge "${arch_args[@]}" >> "$out/check-packed-bench.log" 2>&1; echo "exit $?" ;;
  esac
  for binding in ${BINDINGS:-torch tvm-ffi}; do
    file="$out/packed/$d.$binding.json"
    agentforge pack --definition "$d" --baseline --binding "$binding" --out "$file" || continue
    solutions+=("$file")
  done
done

echo "== check_packed.py"
check=(python3 scripts/device/check_packed.py "${solutions[@]}" --dataset "$FIB_DATASET_PATH"
  --inputs "$AGENTFORGE_CACHE/inputs" --builds "$AGENTFORGE_CACHE/builds" --shared-include .device/app/kernels/include --traces "$out/check-packed-traces.jsonl"
  --reference --markdown "$out/check-packed.md")
if [ "${#prefixes[@]}" -gt 0 ]; then check+=(--workloads "${prefixes[@]}"); fi
"${check[@]}"
