#!/usr/bin/env bash
# Times a baseline under several settings of its declared tunable parameters on a few workloads.
#   scripts/device/sweep.sh DEFINITION "WORKLOAD_PREFIXES" "NAME=V,NAME=V" "NAME=V,..." ...
# One line per setting: latency per workload (CUDA events, L2 flushed, 1 trial), table last
# (scripts/device/sweep_table.py); a failing setting shows its trials' median as ~N us
# (DSA_ATTN_DIAG-style measurement aids); "!" marks a cell whose timed call had more than 5 us of
# launch gaps. SWEEP_ROUNDS=N repeats the timing N times (medians, half ranges).
# SWEEP_ARGS adds bench arguments to every setting, e.g. SWEEP_ARGS="--target portable".
# SWEEP_REFERENCE_ITERATIONS (default 0): timed calls of the reference per workload. The table reads
# latencies and floor ratios only, and the reference's outputs are computed for the check either way;
# timing it (3 calls and a warm-up by default in bench) cost ~7 s per 8192-token GDN prefill workload.
# SWEEP_TIMEOUT (seconds, default 240) ends a setting's bench: a variant that hangs (session 7: a
# setmaxnreg split that waited forever) costs that much device time, not the whole call.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
definition="$1"; workloads="$2"; shift 2
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
bench() {
  timeout "${SWEEP_TIMEOUT:-240}" agentforge bench --definition "$definition" --baseline --workloads $workloads \
    --reference-iterations "${SWEEP_REFERENCE_ITERATIONS:-0}" "$@" ${SWEEP_ARGS:-}
}
# nvcc is the slow part (~40-60 s per MoE build): build every setting first, in parallel (the
# machine has 16 cores), then time them one at a time from the build cache. SWEEP_PREBUILD=0 skips it.
if [ "${SWEEP_PREBUILD:-1}" = 1 ] && [ "$#" -gt 1 ]; then
  for setting in "$@"; do
    ( defines_of "$setting"; bench --build-only "${defines[@]}" >> "$out/sweep-build.log" 2>&1 ) &
  done
  wait
fi
# SWEEP_ROUNDS=N times every setting N times, the order reversed every other round so that a drift of
# the card's clocks over the call falls on every setting alike; the table shows each cell's median
# and half its range (scripts/device/sweep_table.py).
settings=("$@")
for (( round = 0; round < ${SWEEP_ROUNDS:-1}; round++ )); do
  order=("${settings[@]}")
  if (( round % 2 == 1 )); then order=(); for (( i = ${#settings[@]} - 1; i >= 0; i-- )); do order+=("${settings[$i]}"); done; fi
  for setting in "${order[@]}"; do
    defines_of "$setting"
    bench --trials 1 "${defines[@]}" --json "$out/sweep.jsonl" --traces "$out/sweep-traces.jsonl" >> "$out/sweep.log" 2>&1 \
      || echo "setting '$setting' failed or timed out (${SWEEP_TIMEOUT:-240} s): see sweep.log"
  done
done
python3 scripts/device/sweep_table.py "$out/sweep.jsonl"
