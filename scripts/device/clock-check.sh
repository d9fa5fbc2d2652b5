#!/usr/bin/env bash
# Which SM clock a large-T MoE call really runs at, three ways in one call (after scripts/device/pack.sh,
# `.device` carried):
#   scripts/device/clock-check.sh [workload prefix (5e8dc11c, T=14107)]
# 1. the bench's own NVML readings (sm_clock_mhz / sm_clock_min_mhz / clock_limits of its rows);
# 2. nvidia-smi's readings every 10 ms during the same bench (clock, power, active limit reasons);
# 3. ncu, one pass, real clocks, no cache control: each GEMM launch's elapsed cycles per second.
# If 1 and 2 read the max clock while 3 reads less, NVML does not see the clock the kernels ran at.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}/clock-check"; mkdir -p "$out"
definition=moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048
workload="${1:-5e8dc11c}"
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,clocks_event_reasons.active --format=csv,noheader -lms 10 > "$out/smi.csv" &
smi=$!
agentforge bench --definition "$definition" --baseline --trials 3 --workloads "$workload" --json "$out/bench.jsonl" > "$out/bench.log" 2>&1
kill "$smi"; wait "$smi" 2>/dev/null
ncu --target-processes all --clock-control none --cache-control none -k "regex:gemm1_ws|gemm2_ws" --launch-count 12 \
  --metrics gpu__time_duration.sum,sm__cycles_elapsed.avg.per_second \
  agentforge bench --definition "$definition" --baseline --trials 1 --workloads "$workload" > "$out/ncu.log" 2>&1
python3 - "$out" <<'PY'
import json, re, sys, statistics
out = sys.argv[1]
for line in open(f"{out}/bench.jsonl"):
    r = json.loads(line)
    print(f"bench (NVML in the worker): {r['latency_ms']*1000:.1f} us, clock median {r.get('nvml_sm_clock_mhz')} min {r.get('nvml_sm_clock_min_mhz')} limits {r.get('nvml_clock_limits')}")
readings = []
for line in open(f"{out}/smi.csv"):
    parts = [p.strip() for p in line.split(",")]
    try:
        readings.append((float(parts[1].split()[0]), float(parts[2].split()[0]), parts[3]))
    except (IndexError, ValueError):
        continue
# Every reading while the bench process lived (its timed calls are a small share of that time: NVML's
# power is an average over ~100 ms, so it stays far below the limit even while a GEMM is throttled).
if readings:
    mhz = sorted(r[0] for r in readings)
    print(f"nvidia-smi, {len(readings)} readings: clock median {statistics.median(mhz):.0f} min {mhz[0]:.0f} MHz, "
          f"{sum(m < max(mhz) for m in mhz)} below {max(mhz):.0f}; power max {max(r[1] for r in readings):.0f} W; "
          f"reasons {sorted(set(r[2] for r in readings))}")
else:
    print("nvidia-smi: no readings")
kernel, rows = None, []
for line in open(f"{out}/ncu.log"):
    # A launch line: "  void <unnamed>::gemm1_ws_kernel<1, 1, 1>(args...) (132, 1, 1)x(384, 1, 1), Context ..."
    if re.search(r"\(\d+, \d+, \d+\)x\(\d+, \d+, \d+\)", line):
        m = re.search(r"(\w+_kernel|\w+)(?:<[^(]*>)?\(", line)
        kernel = m.group(1) if m else line.strip()[:40]; rows.append([kernel, None, None]); continue
    m = re.match(r"\s+(gpu__time_duration.sum|sm__cycles_elapsed.avg.per_second)\s+(\S+)\s+([\d.,]+)", line)
    if m and rows:
        value = float(m.group(3).replace(",", ""))
        unit = m.group(2)
        if m.group(1).startswith("gpu__time"):
            rows[-1][1] = value * {"ms": 1000, "us": 1, "ns": 1e-3}.get(unit, 1)
        else:
            rows[-1][2] = value * {"ghz": 1000, "mhz": 1, "hz": 1e-6}.get(unit.lower().replace("cycle/", "").replace("/", ""), 1)
for kernel, us, mhz in rows:
    print(f"ncu one pass: {kernel[:40]:40} {us or 0:8.1f} us at {mhz or 0:6.0f} MHz")
PY
