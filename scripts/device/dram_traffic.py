"""DRAM bytes per kernel of one call against the definition's memory floor, from an ncu log.

scripts/device/dram-traffic.sh runs the bench under ncu (application replay: the whole process once
per metric pass, so no kernel sees memory another pass restored; see results/gpu/2026-11-28-s39 call
10) with four metrics, and passes the log and the bench's JSON rows here:
    python3 scripts/device/dram_traffic.py NCU_LOG [BENCH_JSONL]
    python3 scripts/device/dram_traffic.py --self-test
One line per kernel launch (duration, DRAM read and written, L2 sector hit rate), the launches' sum,
and, with BENCH_JSONL, the floor's bytes (floor_memory_ms x copy_bandwidth_gbps of the bench's last
row) and how many times the floor the launches moved. Why: the GDN prefill's 8192 floor clause turned
out to be a traffic question (session 39: the two passes move ~225 MB against ~90 MB of floor).
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from locked_ab_table import UNITS_US  # noqa: E402  (ncu's duration units, both spellings)

# A kernel launch's header line in ncu's default report: name (grid)x(block), Context ..., Device ...
LAUNCH = re.compile(r"^\s+(\S.*?) \((\d+), (\d+), (\d+)\)x\((\d+), (\d+), (\d+)\), Context")
METRIC = re.compile(r"^\s+([a-z][\w.]+)\s+(\S+)\s+([\d.,]+)\s*$")
BYTES = {"byte": 1.0, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9, "Tbyte": 1e12}


def short_name(signature):
    """The kernel's name without its parameter list and namespaces, templates kept: chunk_scan_persist_kernel<64>."""
    depth, cut = 0, len(signature)
    for i, ch in enumerate(signature):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "(" and depth == 0 and i > 0:
            cut = i
            break
    name = signature[:cut]
    if name.startswith("void "):
        name = name[5:]
    # Drop the namespaces: everything up to the last "::" outside template arguments.
    depth, start = 0, 0
    for i, ch in enumerate(name):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0 and name.startswith("::", i):
            start = i + 2
    return name[start:]


def parse_launches(text):
    """Each launch's name and metrics in log order: duration_us, read_mb, write_mb, l2_hit_pct (None when absent)."""
    launches, current = [], None
    for line in text.splitlines():
        m = LAUNCH.match(line)
        if m:
            current = {"name": short_name(m.group(1)), "grid": tuple(int(g) for g in m.group(2, 3, 4)),
                       "duration_us": None, "read_mb": None, "write_mb": None, "l2_hit_pct": None}
            launches.append(current)
            continue
        m = METRIC.match(line)
        if not (current and m):
            continue
        name, unit, value = m.group(1), m.group(2), float(m.group(3).replace(",", ""))
        if name == "gpu__time_duration.sum" and unit in UNITS_US:
            current["duration_us"] = value * UNITS_US[unit]
        elif name in ("dram__bytes_read.sum", "dram__bytes_write.sum") and unit in BYTES:
            current["read_mb" if name.endswith("read.sum") else "write_mb"] = value * BYTES[unit] / 1e6
        elif name == "lts__t_sector_hit_rate.pct":
            current["l2_hit_pct"] = value
    return launches


def first_call(launches):
    """The launches of the first call: up to the first kernel's next launch (the bench calls the entry
    more than once, and ncu counts launches across calls). With no repeat, all of them."""
    for i in range(1, len(launches)):
        if launches[i]["name"] == launches[0]["name"]:
            return launches[:i], True
    return launches, False


def floor_mb(bench_rows):
    """The memory floor's bytes (MB) of the bench's last row that has one, else None."""
    for row in reversed(bench_rows):
        floor_ms, gbps = row.get("floor_memory_ms"), row.get("copy_bandwidth_gbps")
        if floor_ms and gbps:
            return floor_ms * 1e-3 * gbps * 1e9 / 1e6
    return None


def table(launches, floor):
    def cell(value, fmt):
        return format(value, fmt) if value is not None else "-"
    lines = [f"{'kernel':48} {'us':>8} {'read MB':>9} {'write MB':>9} {'L2 hit %':>9}"]
    for launch in launches:
        lines.append(f"{launch['name'][:48]:48} {cell(launch['duration_us'], '8.1f')} {cell(launch['read_mb'], '9.1f')} "
                     f"{cell(launch['write_mb'], '9.1f')} {cell(launch['l2_hit_pct'], '9.1f')}")
    moved = sum((l["read_mb"] or 0) + (l["write_mb"] or 0) for l in launches)
    time = sum(l["duration_us"] or 0 for l in launches)
    lines.append(f"{'sum of the launches':48} {time:8.1f} {'':9} {'':9} {'':9}  moved {moved:.1f} MB")
    if floor:
        lines.append(f"memory floor {floor:.1f} MB: the launches moved {moved / floor:.2f}x the floor's bytes")
    return "\n".join(lines)


SAMPLE = """==PROF== Profiling "chunk_prep_kernel": Application replay pass 1
  <unnamed>::chunk_prep_kernel(const __nv_bfloat16 *, const long *, <unnamed>::ChunkWorkspace) (8, 168, 1)x(256, 1, 1), Context 1, Stream 13, Device 0, CC 9.0
    Section: Command line profiler metrics
    -------------------------- ----------- ------------
    Metric Name                Metric Unit Metric Value
    -------------------------- ----------- ------------
    dram__bytes_read.sum             Mbyte        34.14
    dram__bytes_write.sum            Mbyte        69.97
    gpu__time_duration.sum              us        42.91
    lts__t_sector_hit_rate.pct           %        72.08
    -------------------------- ----------- ------------
  void <unnamed>::chunk_scan_persist_kernel<64>(const __nv_bfloat16 *, const float *, <unnamed>::ChunkWorkspace) (132, 1, 1)x(288, 1, 1), Context 1, Stream 13, Device 0, CC 9.0
    Section: Command line profiler metrics
    dram__bytes_read.sum             Gbyte         0.09
    dram__bytes_write.sum            Kbyte    46,880.00
    gpu__time_duration.sum         msecond         0.05
    lts__t_sector_hit_rate.pct           %        51.25
"""


def self_test():
    launches = parse_launches(SAMPLE)
    assert [l["name"] for l in launches] == ["chunk_prep_kernel", "chunk_scan_persist_kernel<64>"], launches
    assert launches[0]["grid"] == (8, 168, 1)
    assert abs(launches[0]["read_mb"] - 34.14) < 1e-9 and abs(launches[0]["write_mb"] - 69.97) < 1e-9
    assert abs(launches[0]["duration_us"] - 42.91) < 1e-9 and launches[0]["l2_hit_pct"] == 72.08
    # Units other than Mbyte and us convert; thousands separators parse.
    assert abs(launches[1]["read_mb"] - 90.0) < 1e-9 and abs(launches[1]["write_mb"] - 46.88) < 1e-9
    assert abs(launches[1]["duration_us"] - 50.0) < 1e-9
    # Namespaces go, template arguments (with their own namespaces) stay.
    assert short_name("void moe_tc::gemm1_fp8_kernel<moe_tc::Fp8Tile<16, 1, 64, 2, 1>>(const uint8_t *, int)") == \
        "gemm1_fp8_kernel<moe_tc::Fp8Tile<16, 1, 64, 2, 1>>"
    floor = floor_mb([{"floor_memory_ms": None}, {"floor_memory_ms": 0.02, "copy_bandwidth_gbps": 4500.0}])
    assert abs(floor - 90.0) < 1e-9, floor
    assert floor_mb([{"latency_ms": 1.0}]) is None
    text = table(launches, floor)
    assert "moved 241.0 MB" in text, text
    assert "2.68x the floor's bytes" in text, text
    # Two calls' launches: the table takes the first call's.
    call, whole = first_call(launches + launches)
    assert whole and [l["name"] for l in call] == [l["name"] for l in launches], call
    assert first_call(launches) == (launches, False)
    # A log with no launches prints the header and an empty sum rather than failing.
    assert "moved 0.0 MB" in table(parse_launches("no launches here"), None)
    print("self-test passed")


def main(argv):
    if argv[:1] == ["--self-test"]:
        self_test()
        return 0
    if not argv:
        print(__doc__)
        return 2
    launches = parse_launches(open(argv[0], encoding="utf-8", errors="replace").read())
    if not launches:
        print(f"no kernel launches with metrics in {argv[0]} (did ncu match the kernel regex?)")
        return 1
    rows = []
    if len(argv) > 1:
        rows = [json.loads(line) for line in open(argv[1], encoding="utf-8") if line.strip()]
    call, whole = first_call(launches)
    if not whole:
        print(f"(the {len(launches)} launches measured do not repeat their first kernel: the call may have more; "
              "raise TRAFFIC_LAUNCHES if a kernel is missing)")
    print(table(call, floor_mb(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
