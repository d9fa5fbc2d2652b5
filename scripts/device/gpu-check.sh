#!/usr/bin/env bash
# The whole GPU check, run on the GPU machine after scripts/device/pack.sh (carry `.device`):
#   scripts/device/gpu-check.sh quick   GPU tests + each baseline on 3 workloads (smallest, median, largest), 1 trial
#   scripts/device/gpu-check.sh full    GPU tests + each baseline on every workload, 3 trials
# Logs and traces go to $OUT (or /tmp/agentforge-out); the summary table is printed last.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
mode="${1:-quick}"
out="${OUT:-/tmp/agentforge-out}"
mkdir -p "$out"

echo "== $(date -u +%FT%TZ) mode=$mode"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nvcc --version | tail -n 1
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

if [ "${SKIP_GPU_TESTS:-0}" != "1" ]; then
  echo "== GPU tests"
  dotnet .device/app/AgentForge.GpuTests.dll -parallel none -diagnostics > "$out/gputests.log" 2>&1
  grep -E "\[FAIL\]|Total:|copy:|SM" "$out/gputests.log" | tail -n 20
fi

if [ "${RUN_REFERENCES:-0}" = "1" ]; then
  echo "== reference outputs of every workload (1 trial, 4 oracle processes)"
  agentforge references --trials 1 --oracle-processes 4 > "$out/references.log" 2>&1
  tail -n 7 "$out/references.log"
fi

source scripts/device/quick-set.sh
for d in $definitions; do
  args=(bench --definition "$d" --baseline --traces "$out/traces.jsonl" --markdown "$out/results.md" --oracle-processes 4)
  if [ "$mode" = quick ]; then args+=(--trials 1 --workloads ${quick[$d]}); fi
  # The GDN prefill reference loops over tokens in Python (~0.1-5 s a call): one timed call only.
  if [ "$d" = gdn_prefill_qk4_v8_d128_k_last ]; then args+=(--reference-iterations 1); fi
  echo "== bench $d"
  agentforge "${args[@]}" >> "$out/bench.log" 2>&1
  echo "exit $?"
done

echo "== summary ($(date -u +%FT%TZ))"
grep -E "^references ahead" "$out/bench.log"
for d in $definitions; do
  grep -E "^$d: .*passed; mean speedup|COMPILE_ERROR|no GPU worker" "$out/bench.log" | head -n 3
done
