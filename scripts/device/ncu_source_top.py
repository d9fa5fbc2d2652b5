"""The SASS instructions where a kernel's warps stall most, from Nsight Compute's source page.

Reads the CSV of `ncu --import REPORT --page source --csv --print-source sass` (a report taken with
the SourceCounters section, which samples warp states per instruction) and prints the instructions
with the most stall samples, each with its share of all samples and its top stall reasons, then the
totals by instruction kind (LDGSTS, HMMA, BAR, ...). Column names differ between ncu versions: the
sample columns are found by name ("Warp Stall Sampling" / "stall_*"), and the script says which
columns it saw when it finds none.
  python3 scripts/device/ncu_source_top.py SOURCE.csv [--top 25]
  python3 scripts/device/ncu_source_top.py --self-test
"""
import argparse
import csv
import io
import re
import sys
from collections import defaultdict


def number(text):
    """A CSV cell as a float ('1,234' and '' included); None when it is not a number."""
    text = (text or "").replace(",", "").strip()
    try:
        return float(text)
    except ValueError:
        return None


def columns(header):
    """(source column, total samples column, {reason: column}) of a source-page header."""
    source = next((h for h in header if h.strip().lower() in ("source", "sass")), None)
    total = next((h for h in header if "warp stall sampling (all samples)" in h.lower()), None)
    if total is None:
        total = next((h for h in header if "warp stall sampling" in h.lower() and "not-issued" not in h.lower()), None)
    reasons = {}
    for h in header:
        m = re.search(r"stall[_ ]([a-z_]+)", h.lower())
        if m and h != total and "sampling" not in h.lower():
            reasons[m.group(1)] = h
    return source, total, reasons


def opcode(sass):
    """The instruction kind: LDGSTS.E.BYPASS.128 -> LDGSTS (predicates and operands dropped)."""
    words = sass.strip().split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0].split(".")[0] if words else "?"


def summarize(text, top):
    rows = list(csv.reader(io.StringIO(text)))
    # The source page may start with lines before the header: the header is the first row that
    # names a source column.
    start = next((i for i, r in enumerate(rows) if columns(r)[0] is not None), None)
    if start is None:
        return "no source column in the CSV; first row: " + ", ".join(rows[0] if rows else [])
    header = rows[start]
    source, total, reasons = columns(header)
    if total is None:
        return "no warp-stall-sampling column; columns: " + ", ".join(header)
    at = {h: i for i, h in enumerate(header)}
    lines = []
    for r in rows[start + 1:]:
        if len(r) != len(header):
            continue
        samples = number(r[at[total]])
        if samples is None:
            continue
        by_reason = {k: number(r[at[c]]) or 0.0 for k, c in reasons.items()}
        lines.append((samples, r[at[source]].strip(), by_reason))
    all_samples = sum(s for s, _, _ in lines) or 1.0
    out = [f"{len(lines)} instructions, {all_samples:.0f} stall samples"]
    for samples, sass, by_reason in sorted(lines, key=lambda x: -x[0])[:top]:
        main = sorted(((v, k) for k, v in by_reason.items() if v > 0), reverse=True)[:3]
        why = ", ".join(f"{k} {v / samples:.0%}" for v, k in main) if samples else ""
        out.append(f"{samples / all_samples:6.1%}  {sass[:70]:70}  {why}")
    kinds = defaultdict(float)
    for samples, sass, _ in lines:
        kinds[opcode(sass)] += samples
    out.append("by kind: " + ", ".join(f"{k} {v / all_samples:.0%}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:10]))
    return "\n".join(out)


def self_test():
    text = ('"Address","Source","Warp Stall Sampling (All Samples)","Warp Stall Sampling (Not-issued Samples)",'
            '"stall_barrier","stall_long_sb"\n'
            '"0x10","@P0 LDGSTS.E.BYPASS.128 [R1], desc[UR4][R2.64]","30","25","0","20"\n'
            '"0x20","BAR.SYNC.DEFER_BLOCKING 0x0","60","60","55","0"\n'
            '"0x30","HMMA.16816.F32.BF16 R4, R8, R12, R4","10","5","0","0"\n')
    report = summarize(text, 2)
    lines = report.splitlines()
    assert lines[0] == "3 instructions, 100 stall samples", lines[0]
    assert lines[1].startswith(" 60.0%  BAR.SYNC") and "barrier 92%" in lines[1], lines[1]
    assert lines[2].startswith(" 30.0%  @P0 LDGSTS") and "long_sb 67%" in lines[2], lines[2]
    assert lines[3] == "by kind: BAR 60%, LDGSTS 30%, HMMA 10%", lines[3]
    assert opcode("@!P1 HMMA.1688.F32 R0") == "HMMA"
    assert summarize('"Address","Source"\n"0x10","NOP"\n', 5).startswith("no warp-stall-sampling column")
    print("self-test passed")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="?")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    if not args.csv:
        parser.error("give the source page CSV, or --self-test")
    with open(args.csv, newline="") as f:
        print(summarize(f.read(), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
