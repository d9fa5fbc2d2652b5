"""The table scripts/device/sweep.sh prints: one line per setting, one cell per workload.
    python3 scripts/device/sweep_table.py SWEEP.jsonl
A cell is the status, the latency and the floor ratio. With several rows of one setting and workload
(sweep.sh's SWEEP_ROUNDS), the cell shows their median and, after "+-", half their range, so a
difference smaller than the spread reads as noise (the MoE's large-T rows moved 30-50 us between
sweeps on one H200 in session 17). A failing setting shows its trials' median as ~N us (measurement
aids that skip work). "!" marks a cell whose timed call had more than 5 us of launch gaps."""
import json
import statistics
import sys


def setting(name):
    """The candidate's -D settings (the part in brackets) and a build-target suffix (@portable), or "default"."""
    suffix = name[name.rindex("@"):] if "@" in name else ""
    name = name[: len(name) - len(suffix)]
    defines = name[name.index("[") + 1:-1] if name.endswith("]") and "[" in name else "default"
    return defines + suffix


def cell(runs):
    """One workload's cell from its rows (one per round)."""
    timed = [r for r in runs if r.get("latency_ms")]
    # Launch gaps (span minus kernel time) above 5 us: the candidate's own gaps, or the host issuing
    # the call's launches late (session 12 saw 5-10x spans that way).
    late = "!" if any((r.get("launch_gaps_ms") or 0.0) * 1e3 > 5.0 for r in runs) else " "
    status = runs[-1]["status"][:4]
    if len(timed) == len(runs):
        latency = statistics.median(r["latency_ms"] for r in timed) * 1e3
        floor = statistics.median(r["floor_ratio"] for r in timed)
        text = f"{status} {latency:7.1f}us{late}{floor:5.2f}x"
        if len(timed) > 1:
            spread = (max(r["latency_ms"] for r in timed) - min(r["latency_ms"] for r in timed)) * 1e3 / 2
            text += f" +-{spread:.1f}"
        return text
    # An INCORRECT run (a DIAG setting that skips work, say) has no latency_ms; its trials were timed
    # all the same: their median stands in, marked with "~".
    trials = sorted(t for r in runs for t in (r.get("trial_latencies_ms") or []) if t)
    if trials:
        return f"{status} ~{trials[len(trials) // 2] * 1e3:6.1f}us"
    return status


def table(rows):
    """The lines of the table for bench rows (any number per setting and workload)."""
    by, axes_of = {}, {}
    for r in rows:
        key = str(r["axes"])
        axes_of[key] = r["axes"]
        by.setdefault(r["candidate"], {}).setdefault(key, []).append(r)
    # Columns in the order of their axis values (numbers as numbers), each headed by its values
    # joined by "/" (e.g. 1377/1 for total_seq_len / num_seqs), their names in a legend line.
    def order(key):
        return [(0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v)) for v in axes_of[key].values()]
    axes = sorted({a for v in by.values() for a in v}, key=order)
    names = list(dict.fromkeys(n for key in axes for n in axes_of[key]))
    rounds = max((len(runs) for v in by.values() for runs in v.values()), default=1)
    cell_width = 34 if rounds > 1 else 26
    width = max([len("setting")] + [len(setting(n)) for n in by])
    heads = ["/".join(str(v) for v in axes_of[a].values())[:cell_width - 2] for a in axes]
    lines = [" ".join(["setting".ljust(width)] + [h.rjust(cell_width) for h in heads])]
    for name, v in by.items():
        cells = [cell(v[a]) if a in v else "-" for a in axes]
        lines.append(" ".join([setting(name).ljust(width)] + [c.rjust(cell_width) for c in cells]))
    lines.append("columns: " + " / ".join(names))
    if rounds > 1:
        lines.append(f"median of {rounds} rounds per cell, +- half the range")
    if any("!" in line for line in lines[1:]):
        lines.append("! more than 5 us of launch gaps in the timed call (the candidate's own, or launches the host "
                     "issued late): read its timeline before comparing")
    return lines


def self_test():
    def row(candidate, seq_len, latency_ms, status="PASSED", gaps=0.0, trials=None):
        return {"candidate": candidate, "axes": {"seq_len": seq_len}, "status": status, "latency_ms": latency_ms,
                "floor_ratio": (latency_ms or 0.0) / 0.5, "launch_gaps_ms": gaps, "trial_latencies_ms": trials}
    one = table([row("m_baseline_cuda", 7, 0.0776), row("m_baseline_cuda[A=1]", 7, 0.0772, gaps=0.006)])
    assert one[1].split()[:3] == ["default", "PASS", "77.6us"], one[1]
    assert "77.2us!" in one[2] and one[2].startswith("A=1"), one[2]
    assert one[-1].startswith("! more than 5 us"), one[-1]
    rounds = table([row("m", 14107, 1.90), row("m", 14107, 2.00), row("m", 14107, 1.96),
                    row("m[B=2]", 14107, 1.80), row("m[B=2]", 14107, 1.84), row("m[B=2]", 14107, None, "INCORRECT", trials=[1.9])])
    assert "1960.0us" in rounds[1] and "+-50.0" in rounds[1], rounds[1]  # median of three, half of 100 us
    assert "~1900.0us" in rounds[2], rounds[2]  # a failing round: the trials' median stands in
    assert rounds[-1] == "median of 3 rounds per cell, +- half the range", rounds[-1]
    assert setting("m_baseline_cuda[A=1,B=2]@portable") == "A=1,B=2@portable"
    # Two axes: headed by their values, in numeric order (139 before 1377), named in the legend.
    two = table([{**row("g", 0, 0.04), "axes": {"total_seq_len": 1377, "num_seqs": 1}},
                 {**row("g", 0, 0.014), "axes": {"total_seq_len": 139, "num_seqs": 3}}])
    assert two[0].split()[1:] == ["139/3", "1377/1"], two[0]
    assert two[2] == "columns: total_seq_len / num_seqs", two[2]
    print("self-test passed")


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    print("\n".join(table(rows)))


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        main(sys.argv[1])
