#!/usr/bin/env bash
# Where a baseline kernel spends its time, on the GPU machine (after scripts/device/pack.sh, `.device` carried):
#   scripts/device/profile.sh DEFINITION WORKLOAD_PREFIX KERNEL_REGEX [bench args, e.g. --define K=V]
# Prints per kernel: SASS size and registers (cuobjdump), then Nsight Compute's duration, issue rate
# and the warp-stall breakdown (cycles per issued instruction by reason) of its first launch.
# PROFILE_NCU_FLAGS adds ncu options, e.g. "--clock-control none --cache-control none" for durations
# at the clocks and cache state of a real run (ncu's defaults lock the base clock and flush caches).
# (PROFILE_NCU_FLAGS must not carry --metrics: ncu refuses a second one.)
# PROFILE_LAUNCHES (default 4) sets how many matching launches ncu measures.
# PROFILE_TAG names this run's files (profile-TAG-ncu.log, ...) so that runs of several settings in one
# call keep their logs apart (without it each run overwrites profile-ncu.log).
# PROFILE_SOURCE=1 adds the stall samples per SASS instruction of the first matching launch.
# PROFILE_COMMAND runs another program under ncu instead of the bench (a yardstick, say), e.g.
#   PROFILE_COMMAND="python3 scripts/yardsticks/moe_triton.py --dataset D --workloads W --out F" profile.sh ...
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
definition="$1"; workload="$2"; kernels="$3"; shift 3
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
tag="${PROFILE_TAG:+-$PROFILE_TAG}"
agentforge bench --definition "$definition" --baseline --trials 1 --workloads "$workload" --json "$out/profile$tag-bench.jsonl" "$@" > "$out/profile$tag-bench.log" 2>&1
library=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1]).get('library') or '')" "$out/profile$tag-bench.jsonl")
echo "== library $library"
if [ -n "$library" ]; then
  cuobjdump -res-usage "$library" 2>/dev/null | grep -E "Function|REG" | sed 's/^ *//' | paste - - | grep -E "$kernels" | cut -c1-200
  cuobjdump -sass "$library" 2>/dev/null | awk -v re="$kernels" '/Function :/ {name=$3} /^ +\/\*[0-9a-f]{4}\*\// {if (name ~ re) n[name]++} END {for (k in n) printf "sass instructions %7d  %s\n", n[k], k}'
fi
# What runs under ncu (a program ncu starts, so a word list, not a shell function): the bench on
# one workload, or PROFILE_COMMAND split into words.
if [ -n "${PROFILE_COMMAND:-}" ]; then read -ra profiled <<< "$PROFILE_COMMAND"
else profiled=(agentforge bench --definition "$definition" --baseline --trials 1 --workloads "$workload" "$@"); fi
stalls="regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio"
ncu --target-processes all ${PROFILE_NCU_FLAGS:-} -k "regex:$kernels" --launch-count "${PROFILE_LAUNCHES:-4}" --metrics "gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__throughput.avg.pct_of_peak_sustained_elapsed,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,dram__bytes_read.sum,launch__grid_size,launch__registers_per_thread,launch__occupancy_limit_shared_mem,launch__occupancy_limit_registers,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active,lts__t_sector_hit_rate.pct,lts__t_bytes.sum.per_second,l1tex__m_xbar2l1tex_read_bytes.sum.per_second,sm__cycles_elapsed.avg.per_second,$stalls" \
  "${profiled[@]}" > "$out/profile$tag-ncu.log" 2>&1
python3 - "$out/profile$tag-ncu.log" <<'PY'
import re, sys
kernel, rows = None, {}
for line in open(sys.argv[1]):
    m = re.match(r"\s+(\S.*?) \(\d+, \d+, \d+\)x\(\d+, \d+, \d+\)", line)
    if m:
        kernel = m.group(1)[:60]
        # A name seen before is another launch (Triton's GEMM1 and GEMM2 share one): keep both.
        n = 2
        while kernel in rows:
            kernel = f"{m.group(1)[:56]} #{n}"
            n += 1
        rows[kernel] = {}
        continue
    m = re.match(r"\s+([a-z]\S+)\s+(?:(\S+)\s+)?([\d.,]+)\s*$", line)
    if kernel and m:
        rows[kernel][m.group(1)] = (m.group(2) or "", float(m.group(3).replace(",", "")))
if not rows:
    print("".join(open(sys.argv[1]).readlines()[-30:]))
for kernel, metrics in rows.items():
    print(f"== {kernel}")
    for name in ("gpu__time_duration.sum", "dram__throughput.avg.pct_of_peak_sustained_elapsed", "dram__bytes_read.sum",
                 "lts__throughput.avg.pct_of_peak_sustained_elapsed", "sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active",
                 "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active",
                 "launch__grid_size", "launch__registers_per_thread", "launch__occupancy_limit_shared_mem",
                 "launch__occupancy_limit_registers", "sm__warps_active.avg.pct_of_peak_sustained_active",
                 "smsp__issue_active.avg.pct_of_peak_sustained_active", "lts__t_sector_hit_rate.pct", "lts__t_bytes.sum.per_second",
                 "l1tex__m_xbar2l1tex_read_bytes.sum.per_second", "sm__cycles_elapsed.avg.per_second"):
        if name in metrics:
            print(f"  {name:58} {metrics[name][1]:10.2f} {metrics[name][0]}")
    stalls = sorted(((v[1], k) for k, v in metrics.items() if "issue_stalled" in k), reverse=True)
    for value, name in stalls[:8]:
        print(f"  stall {name.split('stalled_')[1].split('_per_issue')[0]:52} {value:10.2f}")
PY
# PROFILE_SOURCE=1: where the first matching launch's warps stall, per SASS instruction (ncu's
# SourceCounters section samples warp states by program counter), summarized by
# scripts/device/ncu_source_top.py; the raw CSV stays in $out/profile-source.csv.
if [ "${PROFILE_SOURCE:-0}" = 1 ]; then
  rm -f "$out/profile-source.ncu-rep"
  ncu --target-processes all ${PROFILE_NCU_FLAGS:-} -k "regex:$kernels" --launch-count 1 --section SourceCounters --section WarpStateStats \
    -o "$out/profile-source" \
    "${profiled[@]}" > "$out/profile-source.log" 2>&1
  ncu --import "$out/profile-source.ncu-rep" --page source --csv --print-source sass > "$out/profile-source.csv" 2>> "$out/profile-source.log"
  echo "== stall samples by SASS instruction (first launch matching $kernels)"
  python3 scripts/device/ncu_source_top.py "$out/profile-source.csv" --top "${PROFILE_SOURCE_TOP:-25}" || tail -n 5 "$out/profile-source.log"
fi
