"""What a timed call's span is made of, from `agentforge bench --json` rows (their "timeline": the
GPU activities of the first trial's median call, CUPTI timestamps relative to its first start).
    python3 scripts/device/timeline.py BENCH.jsonl [WORKLOAD_PREFIX ...]
    python3 scripts/device/timeline.py --phases BENCH.jsonl [WORKLOAD_PREFIX ...]
Per row: the setting, the workload's axes and span, then one line per activity: start, duration
and end (us), the idle time since the previous activity ended ("gap"; negative when it overlaps,
as programmatic dependents do), the kernel's short name and grid. Rows of a bench that reports it
add the host's issue time of that call and the longest of its trial ("issued in"): gaps beside a
long issue time were the GPU waiting for the host, not for the candidate's kernels.
--phases: one line per workload and setting, over every row of it (a sweep's rounds): per kernel
the median duration and, after "+", the median time its end adds beyond the ends of the activities
before it (for a programmatic dependent, which starts early and waits, that is the time it is
really alone: "GEMM2 after GEMM1's end"), then the median span."""
import json
import statistics
import sys

from sweep_table import setting as setting_of  # this folder's: a candidate's settings (and @target), or "default"


def describe(row):
    """The lines printed for one bench row."""
    setting = setting_of(row["candidate"])
    axes = " ".join(f"{k}={v}" for k, v in row["axes"].items())
    timeline = row.get("timeline") or []
    span = max((e["start_us"] + e["duration_us"] for e in timeline), default=0.0)
    issued = ""
    if row.get("host_issue_us") is not None:
        issued = f", issued in {row['host_issue_us']:.1f} us (trial's longest {row.get('host_issue_max_us') or 0:.1f}"
        issued += f", call {row['host_issue_max_call']})" if row.get("host_issue_max_call") is not None else ")"
    lines = [f"== {row['uuid'][:8]} {axes} [{setting}] {row['status']}: span {span:.2f} us, {len(timeline)} activities{issued}"]
    if not timeline:
        lines.append("   (no timeline: timed by events, or an older bench)")
    latest_end = None
    for e in timeline:
        end = e["start_us"] + e["duration_us"]
        gap = "" if latest_end is None else f"{e['start_us'] - latest_end:+7.2f}"
        what = e.get("name") or e["kind"]
        grid = "x".join(str(g) for g in e["grid"]) if e.get("grid") else ""
        block = e["block"][0] if e.get("block") else ""
        lines.append(f"   {e['start_us']:8.2f} {e['duration_us']:8.2f} {end:8.2f} {gap:>8}  {what} {grid}{' / ' + str(block) if block else ''}")
        latest_end = end if latest_end is None else max(latest_end, end)
    return lines


def bench_rows(path, prefixes):
    """The rows of a `bench --json` file, only those whose workload uuid starts with one of the
    prefixes when any are given."""
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return [r for r in rows if not prefixes or any(r["uuid"].startswith(p) for p in prefixes)]


def phases(rows):
    """{(workload, axes): {setting: {"span": [...], kernel: [(duration, added), ...]}}}, in row order."""
    table = {}
    for row in rows:
        timeline = [e for e in row.get("timeline") or [] if e["kind"] == "kernel"]
        if not timeline:
            continue
        key = (row["uuid"][:8], " ".join(f"{k}={v}" for k, v in row["axes"].items()))
        cell = table.setdefault(key, {}).setdefault(setting_of(row["candidate"]), {})
        latest_end = 0.0
        for e in timeline:
            end = e["start_us"] + e["duration_us"]
            short = (e.get("name") or "kernel").removesuffix("_kernel")
            cell.setdefault(short, []).append((e["duration_us"], max(0.0, end - latest_end)))
            latest_end = max(latest_end, end)
        cell.setdefault("span", []).append(latest_end)
        if row.get("nvml_sm_clock_mhz"):
            cell.setdefault("clock", []).append(row["nvml_sm_clock_mhz"])
    return table


def phase_lines(table):
    lines = []
    for (workload, axes), settings in table.items():
        lines.append(f"== {workload} {axes}: per kernel median duration (+ median time added to the span), us")
        width = max(len(s) for s in settings)
        for setting, cell in settings.items():
            parts = []
            for kernel, values in cell.items():
                if kernel in ("span", "clock"):
                    continue
                duration = statistics.median(v[0] for v in values)
                added = statistics.median(v[1] for v in values)
                parts.append(f"{kernel} {duration:.1f} (+{added:.1f})")
            parts.append(f"span {statistics.median(cell['span']):.1f} (n={len(cell['span'])})")
            if cell.get("clock"):  # NVML's SM clock setting while timed (not the effective clock), median over the rounds
                parts.append(f"NVML SM {statistics.median(cell['clock']):.0f} MHz")
            lines.append(f"   {setting:<{width}}  " + ", ".join(parts))
    return lines


def main(path, prefixes):
    print("   start_us  dur_us   end_us      gap  activity grid / block")
    for row in bench_rows(path, prefixes):
        print("\n".join(describe(row)))


def self_test():
    row = {"candidate": "x_baseline_cuda[MOE_FUSED_EPILOGUES=1]", "uuid": "e05c6c03-aaaa", "axes": {"seq_len": 1}, "status": "PASSED",
           "timeline": [{"kind": "memset", "start_us": 0.0, "duration_us": 1.0},
                        {"kind": "kernel", "start_us": 2.5, "duration_us": 3.0, "name": "moe_routing_wide_kernel", "grid": [1, 1, 1], "block": [256, 1, 1]},
                        {"kind": "kernel", "start_us": 4.0, "duration_us": 6.0, "name": "gemm1_fp8_kernel", "grid": [32, 1, 64], "block": [128, 1, 1]}]}
    lines = describe(row)
    assert lines[0] == "== e05c6c03 seq_len=1 [MOE_FUSED_EPILOGUES=1] PASSED: span 10.00 us, 3 activities", lines[0]
    assert "+1.50" in lines[2] and "moe_routing_wide_kernel 1x1x1 / 256" in lines[2], lines[2]
    assert "-1.50" in lines[3] and lines[3].split()[2] == "10.00", lines[3]  # starts under routing (PDL)
    assert "no timeline" in describe({**row, "timeline": []})[1]
    issued = describe({**row, "host_issue_us": 12.3, "host_issue_max_us": 40.1})[0]
    assert issued.endswith("3 activities, issued in 12.3 us (trial's longest 40.1)"), issued
    # Two rounds of one setting: medians of durations, of the time each kernel adds, of the span.
    later = {**row, "timeline": [{**e, "duration_us": e["duration_us"] + (2.0 if e.get("name") == "gemm1_fp8_kernel" else 0.0)}
                                 for e in row["timeline"]]}
    lines = phase_lines(phases([row, later]))
    assert lines[0].startswith("== e05c6c03 seq_len=1:"), lines[0]
    # routing ends 5.5 us into the span (the memset before it is not a kernel, but its time counts);
    # GEMM1 starts under it: 6 or 8 us long, adding 4.5 or 6.5 beyond routing's end; spans 10 and 12.
    assert lines[1].split() == ["MOE_FUSED_EPILOGUES=1", "moe_routing_wide", "3.0", "(+5.5),", "gemm1_fp8", "7.0", "(+5.5),",
                                "span", "11.0", "(n=2)"], lines[1]
    clocked = phase_lines(phases([{**row, "nvml_sm_clock_mhz": 1600.0}, {**later, "nvml_sm_clock_mhz": 1700.0}]))
    assert clocked[1].endswith("span 11.0 (n=2), NVML SM 1650 MHz"), clocked[1]
    print("self-test passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    elif sys.argv[1:2] == ["--phases"]:
        print("\n".join(phase_lines(phases(bench_rows(sys.argv[2], sys.argv[3:])))))
    else:
        main(sys.argv[1], sys.argv[2:])
