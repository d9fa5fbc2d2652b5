#!/usr/bin/env bash
# Locked-clock A/B of a baseline's kernels. ncu at its default clock control (base clock, caches
# flushed) measures only gpu__time_duration (one pass) of the first LOCKED_LAUNCHES matching
# launches, per setting, in LOCKED_ROUNDS interleaved rounds; scripts/device/locked_ab_table.py
# prints the medians per launch and their difference to the default last. Session 19 found these
# durations repeat within ~5 us where timed sweeps of the large-T MoE move 20-60 us
# (results/gpu/2026-11-27-s19/README.md). On the GPU machine, `.device` carried:
#   scripts/device/locked-ab.sh DEFINITION WORKLOAD_PREFIX KERNEL_REGEX "" "NAME=V[,NAME=V]" ...
# ("" is the default). LOCKED_ARGS adds bench arguments to every run (e.g. "--target portable").
# Each setting's first run also builds it (nvcc, ~40-60 s for the MoE); later rounds reuse the build.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
definition="$1"; workload="$2"; kernels="$3"; shift 3
[ $# -gt 0 ] || set -- ""
out="${OUT:-/tmp/agentforge-out}/locked-ab"; rm -rf "$out"; mkdir -p "$out"
for round in $(seq 1 "${LOCKED_ROUNDS:-2}"); do
  i=0
  for setting in "$@"; do
    i=$((i + 1))
    defines_of "$setting"
    file="$out/$(printf '%02d' "$i")-r$round.csv"
    echo "${setting:-default}" > "$file.setting"
    timeout "${LOCKED_TIMEOUT:-240}" ncu --target-processes all -k "regex:$kernels" --launch-count "${LOCKED_LAUNCHES:-2}" \
      --metrics gpu__time_duration.sum --csv --print-units base --print-kernel-base function \
      agentforge bench --definition "$definition" --baseline --trials 1 --workloads "$workload" "${defines[@]}" ${LOCKED_ARGS:-} \
      > "$file" 2>&1 || echo "== ${setting:-default}, round $round: exit $? (see $file)"
  done
done
python3 scripts/device/locked_ab_table.py "$out"
