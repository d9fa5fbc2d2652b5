"""Joins AgentForge's per-workload results (bench --json) with FLA's (gdn_fla.py) and prints, per
workload band: our latency, floor ratio, speedup over the reference, and FLA / ours (> 1: we are faster).
Both sides were measured on the same GPU in the same call."""
import json
import math
import statistics
import sys


def bands(definition, axes):
    if "decode" in definition:
        return f"B={axes['batch_size']}"
    t = axes["total_seq_len"]
    return "<=128" if t <= 128 else "129-1024" if t <= 1024 else "1025-5709" if t <= 5709 else "8192"


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


def kernel_mean(rows, fla):
    ks = [fla[r["uuid"]]["ours_kernel_ms"] for r in rows if r["uuid"] in fla and fla[r["uuid"]].get("ours_kernel_ms")]
    return statistics.mean(ks) if ks else float("nan")


def copy_fraction(rows, fla):
    """Memory floor over our kernel time (same method as FLA's): the share of the copy bandwidth we reach."""
    fs = [r["floor_memory_ms"] / fla[r["uuid"]]["ours_kernel_ms"] for r in rows
          if r["uuid"] in fla and fla[r["uuid"]].get("ours_kernel_ms") and r.get("floor_memory_ms")]
    return min(fs) if fs else float("nan")


def workload_name(row):
    """A workload as the notes name it: tokens / sequences (prefill) or the batch (decode), and its uuid's head."""
    axes = row["axes"]
    shape = f"{axes['total_seq_len']}/{axes['num_seqs']}" if "total_seq_len" in axes else f"B={axes.get('batch_size')}"
    return f"{shape} {row['uuid'][:8]}"


def main(ours_path, fla_path):
    ours = [json.loads(l) for l in open(ours_path) if l.strip()]
    fla = {}
    for l in open(fla_path):
        if l.strip():
            row = json.loads(l)
            fla[row["uuid"]] = row
    groups = {}
    for r in ours:
        groups.setdefault((r["definition"], bands(r["definition"], r["axes"])), []).append(r)
    print(f"{'definition':32} {'band':10} {'n':>3} {'pass':>4} {'ours us':>9} {'x floor':>8} {'speedup':>9} {'fla us':>9} {'fla/ours':>9} {'mean':>6} {'ours krn':>9} {'fla/krn':>8} {'%copy':>6}  worst")
    def key(k):
        d, b = k
        n = b.split("=")[-1].lstrip("<=").split("-")[0]
        return (d, int(n) if n.isdigit() else 0)
    for (definition, band), rows in sorted(groups.items(), key=lambda kv: key(kv[0])):
        passed = sum(r["status"] == "PASSED" for r in rows)
        lat = [r["latency_ms"] for r in rows if r["latency_ms"]]
        fl = [fla[r["uuid"]]["fla_kernel_ms"] for r in rows if r["uuid"] in fla]
        rated = [(fla[r["uuid"]]["fla_kernel_ms"] / r["latency_ms"], r) for r in rows if r["uuid"] in fla and r["latency_ms"]]
        ratios = [ratio for ratio, _ in rated]
        worst = min(rated, key=lambda pair: pair[0]) if rated else None
        # The same ratio with both sides timed the same way (gdn_fla.py's profiler pass, same process).
        same_method = [fla[r["uuid"]]["fla_kernel_ms"] / fla[r["uuid"]]["ours_kernel_ms"] for r in rows
                       if r["uuid"] in fla and fla[r["uuid"]].get("ours_kernel_ms")]
        print(f"{definition[:32]:32} {band:10} {len(rows):3d} {passed:4d} {statistics.mean(lat)*1e3 if lat else float('nan'):9.1f} "
              f"{geomean([r['floor_ratio'] for r in rows]):8.2f} {geomean([r['speedup'] for r in rows]):9.1f} "
              f"{statistics.mean(fl)*1e3 if fl else float('nan'):9.1f} {min(ratios) if ratios else float('nan'):9.2f} "
              f"{statistics.mean(ratios) if ratios else float('nan'):6.2f} "
              f"{kernel_mean(rows, fla)*1e3:9.1f} {min(same_method) if same_method else float('nan'):8.2f} "
              f"{copy_fraction(rows, fla):6.0%}  {workload_name(worst[1]) if worst else '-'}")
    print("fla/ours: worst ratio in the band of FLA's kernel time to ours (harness events), mean: its mean over the band, worst: that workload;")
    print("ours krn: our kernel time measured like FLA's; fla/krn: the band's worst FLA / ours with both timed that way")
    print("(torch profiler / CUPTI, L2 flushed, same inputs, same process); %copy: worst memory floor / our kernel time in the band")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
