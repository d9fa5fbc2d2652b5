"""The table of scripts/device/locked-ab.sh: per setting and kernel launch, the locked-clock
durations of every round, their median and the difference to the default's median.
    python3 scripts/device/locked_ab_table.py FOLDER
FOLDER holds one ncu CSV per (setting, round), NN-rR.csv, with the setting's name in NN-rR.csv.setting
(ncu --csv --print-units base --metrics gpu__time_duration.sum; the bench's own output may be
interleaved with it). A launch is named by its kernel and its order among that kernel's launches in
the file (#1, #2): the first call of a workload is its first launches."""
import csv
import io
import os
import re
import statistics
import sys

# ncu spells the units "nsecond" etc., and "ns" etc. with --print-units base (seen on CUDA 13.0).
UNITS_US = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3, "second": 1e6, "ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def short_name(kernel):
    """gemm2_wgmma_kernel from 'void <unnamed>::moe_wg::gemm2_wgmma_kernel<128, 2>(const unsigned char *, ...)'."""
    name = kernel.split("(")[0]
    while True:  # template arguments and <unnamed>, innermost first
        shorter = re.sub(r"<[^<>]*>", "", name)
        if shorter == name:
            break
        name = shorter
    return name.split("::")[-1].split()[-1]


def durations(text):
    """[(launch name, microseconds)] in the order ncu printed them, from an ncu --csv output."""
    lines = text.splitlines()
    header_at = next((i for i, line in enumerate(lines) if line.startswith('"ID"')), None)
    if header_at is None:
        return []
    header = next(csv.reader([lines[header_at]]))
    quoted = [line for line in lines[header_at + 1:] if line.startswith('"')]
    seen, result = {}, []
    for row in csv.DictReader(io.StringIO("\n".join(quoted)), fieldnames=header):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        unit = UNITS_US.get(row.get("Metric Unit", ""))
        if unit is None:
            raise ValueError(f"unknown duration unit {row.get('Metric Unit')!r}")
        name = short_name(row["Kernel Name"])
        seen[name] = seen.get(name, 0) + 1
        result.append((f"{name} #{seen[name]}", float(row["Metric Value"].replace(",", "")) * unit))
    return result


def collect(folder):
    """{setting: {launch: [us per round]}}, settings in the order of their file numbers."""
    table = {}
    for file in sorted(f for f in os.listdir(folder) if f.endswith(".csv")):
        path = os.path.join(folder, file)
        setting_file = path + ".setting"
        setting = open(setting_file).read().strip() if os.path.exists(setting_file) else file
        runs = table.setdefault(setting, {})
        for launch, us in durations(open(path, errors="replace").read()):
            runs.setdefault(launch, []).append(us)
    return table


def lines_of(table):
    out = [f"{'setting':40} {'launch':28} {'rounds (us)':24} {'median':>9}  vs default"]
    default = table.get("default", {})
    for setting, runs in table.items():
        if not runs:
            out.append(f"{setting:40} (no durations: see its csv)")
        for launch, values in runs.items():
            median = statistics.median(values)
            delta = ""
            if setting != "default" and launch in default:
                base = statistics.median(default[launch])
                delta = f"{median - base:+.1f} us ({100 * (median - base) / base:+.1f}%)"
            rounds = " ".join(f"{v:.1f}" for v in values)
            out.append(f"{setting:40} {launch:28} {rounds:24} {median:9.1f}  {delta}")
    return out


def self_test():
    text = "\n".join([
        "==PROF== Connected to process 1",
        "moe_fp8...: 1/1 passed",
        '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC",'
        '"Section Name","Metric Name","Metric Unit","Metric Value"',
        '"0","7","dotnet","h","void <unnamed>::moe_wg::gemm1_wgmma_kernel<1, 128>(const unsigned char *, int)","1","13","(256, 1, 1)",'
        '"(132, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","nsecond","1,391,264"',
        '"1","7","dotnet","h","gemm2_wgmma_kernel","1","13","(256, 1, 1)","(132, 1, 1)","0","9.0","Command line profiler metrics",'
        '"gpu__time_duration.sum","usecond","758.50"',
        '"2","7","dotnet","h","gemm2_wgmma_kernel","1","13","(256, 1, 1)","(132, 1, 1)","0","9.0","Command line profiler metrics",'
        '"gpu__time_duration.sum","msecond","0.76"',
        # --print-units base on CUDA 13.0 writes "ns" (the GPU machine's first run of locked-ab.sh)
        '"3","7","dotnet","h","gemm2_wgmma_kernel","1","13","(256, 1, 1)","(132, 1, 1)","0","9.0","Command line profiler metrics",'
        '"gpu__time_duration.sum","ns","684,576"',
    ])
    got = durations(text)
    assert [name for name, _ in got] == ["gemm1_wgmma_kernel #1", "gemm2_wgmma_kernel #1", "gemm2_wgmma_kernel #2",
                                      "gemm2_wgmma_kernel #3"], got
    assert abs(got[0][1] - 1391.264) < 1e-6 and abs(got[1][1] - 758.5) < 1e-9 and abs(got[2][1] - 760.0) < 1e-6, got
    assert abs(got[3][1] - 684.576) < 1e-6, got
    assert durations("ncu: no kernels were profiled") == []
    try:
        durations(text.replace('"usecond"', '"cycle"'))
        raise AssertionError("an unknown unit must not pass as microseconds")
    except ValueError as error:
        assert "cycle" in str(error)
    table = {"default": {"gemm2_wgmma_kernel #1": [758.5, 760.0, 762.0]}, "MOE_X=1": {"gemm2_wgmma_kernel #1": [680.0, 674.0]},
             "MOE_Y=1": {}}
    lines = lines_of(table)
    assert lines[1].split()[-1] == "760.0" and lines[1].split()[0] == "default", lines[1]
    assert lines[2].endswith("677.0  -83.0 us (-10.9%)"), lines[2]
    assert "no durations" in lines[3], lines[3]
    print("self-test passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    elif len(sys.argv) == 2:
        print("\n".join(lines_of(collect(sys.argv[1]))))
    else:
        print(__doc__)
        sys.exit(2)
