"""What a timed call's span is made of, from `agentforge bench --json` rows (their "timeline": the
GPU activities of the first trial's median call, CUPTI timestamps relative to its first start).
    python3 scripts/device/timeline.py BENCH.jsonl [WORKLOAD_PREFIX ...]
Per row: the setting, the workload's axes and span, then one line per activity: start, duration
and end (us), the idle time since the previous activity ended ("gap"; negative when it overlaps,
as programmatic dependents do), the kernel's short name and grid. Rows of a bench that reports it
add the host's issue time of that call and the longest of its trial ("issued in"): gaps beside a
long issue time were the GPU waiting for the host, not for the candidate's kernels."""
import json
import sys


def describe(row):
    """The lines printed for one bench row."""
    name = row["candidate"]
    setting = name[name.index("[") + 1:-1] if name.endswith("]") and "[" in name else "default"
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
    print("self-test passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        main(sys.argv[1], sys.argv[2:])
