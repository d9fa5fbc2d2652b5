#!/usr/bin/env bash
# DRAM bytes per kernel of one call, against the definition's memory floor (on the GPU machine, after
# scripts/device/pack.sh, `.device` carried):
#   scripts/device/dram-traffic.sh DEFINITION WORKLOAD_PREFIX KERNEL_REGEX [bench args, e.g. --define K=V]
# ncu replays the whole bench process per metric pass (--replay-mode application), so no kernel is
# measured after ncu restored the memory it writes (kernel replay read the GDN prefill's 8192 scan at
# 98.5 MB of DRAM reads, application replay at 89.2: results/gpu/2026-11-28-s39 call 10), with the
# clocks and caches as a run leaves them. TRAFFIC_LAUNCHES (default 16): how many matching launches
# from the process's start; the table takes the first call's (its launches up to the first kernel's
# next launch), so the default covers calls of up to 15 launches. Table last (scripts/device/dram_traffic.py).
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
definition="$1"; workload="$2"; kernels="$3"; shift 3
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
rm -f "$out/traffic-bench.jsonl"
bench=(agentforge bench --definition "$definition" --baseline --trials 1 --workloads "$workload" --reference-iterations 0)
# One run first: the build, the inputs and the reference's outputs cached, so that every replay pass
# starts the same processes (ncu's application replay stops at a process a pass did not have, e.g.
# the reference's Python oracle, which also launches kernels of its own that the regex could match).
"${bench[@]}" "$@" > "$out/traffic-warm.log" 2>&1
timeout "${TRAFFIC_TIMEOUT:-420}" ncu --target-processes all --replay-mode application --clock-control none --cache-control none \
  -k "regex:$kernels" --launch-count "${TRAFFIC_LAUNCHES:-16}" \
  --metrics dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sector_hit_rate.pct,gpu__time_duration.sum \
  "${bench[@]}" --json "$out/traffic-bench.jsonl" "$@" > "$out/traffic-ncu.log" 2>&1
echo "== $definition $workload ($kernels)"
python3 scripts/device/dram_traffic.py "$out/traffic-ncu.log" "$out/traffic-bench.jsonl"
