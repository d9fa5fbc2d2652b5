"""A list-scheduling model of the GDN prefill's scan pass over the dataset's sequence lengths.

The scan (src/Kernels.Baseline/gdn_prefill_qk4_v8_d128_k_last, scan_split.cuh) runs one CTA per
(sequence, value head, slice of BV value columns), one CTA per SM, each CTA walking its sequence's
chunks of 64 tokens in order. The model gives a CTA `setup + per_chunk[BV] * chunks` microseconds and
hands CTAs to the SM that frees first, in launch order: sequence order, or longest sequence first
(GDN_PREFILL_SCAN_LPT). It printed the predictions behind GDN_PREFILL_SCAN_LPT and
GDN_PREFILL_PLAN_NARROW_LONG (session 10 of 2026-11-26); the per-chunk times are guesses calibrated
on a few measured calls, so it ranks plans, it does not time them.

Calibration (session 24, H200, the wgmma products and the loader warp; results/gpu/2026-11-27-s24 call 8):
16 columns 1.5 + 1.0 / chunk (rms 0.5 us, 37 calls), 32 columns 1.75 + 1.35 (rms 0.7, 15), 64 columns
4.75 + 1.65 (rms 1.2, 16): the defaults below. At 64 columns the per-CTA setup is now ~40% of an 8192
call's scan (sequences of ~4 chunks); --persistent-residual-us R models a persistent scan whose CTAs
take the work items (sequence, head, slice) longest first, each SM paying the whole setup once and R
per later item (the part of the setup a next item's early loads cannot hide).
Calibration (session 22, H200, before those): `--fit BENCH.jsonl` fits each slice width's setup and per-chunk
time to the scan's span after the prep in a bench run's timelines (agentforge bench --json, split
scan rows); on results/gpu/2026-11-27-s22/09-gdn-prefill-ours.jsonl it gives 16 columns 1.75 +
1.05 / chunk (rms 0.3 us over 20 calls), 32 columns 2.25 + 1.40 (rms 0.6, 14), 64 columns 4.5 + 2.5
(rms 1.2, 16): the defaults below. With them it predicts that 64-column slices for 3999 / 13 would
lose 16.7 us and gain nothing at 4124 / 15 (GDN_PREFILL_PLAN_WIDE_WAVES).

The prefill workloads' cu_seqlens live in safetensors blobs that `agentforge dataset synth --dataset
DIR` writes into a copy of the dataset.
  python3 scripts/dev/gdn_scan_model.py --dataset DIR [--sms 132] [--min-tokens 129]
  python3 scripts/dev/gdn_scan_model.py --dataset DIR --fit BENCH.jsonl
  python3 scripts/dev/gdn_scan_model.py --self-test
"""
import argparse
import heapq
import json
import math
import os
import struct
import sys

DEFINITION = "gdn_prefill_qk4_v8_d128_k_last"
CHUNK = 64
VALUE_HEADS = 8
HEAD_DIM = 128
LONG_T = 5710  # GDN_PREFILL_PLAN_LONG_T


def read_safetensors_int64(path, key):
    """The int64 tensor `key` of a safetensors file, as a list (no safetensors package needed)."""
    with open(path, "rb") as f:
        data = f.read()
    header_len = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + header_len])
    entry = header[key]
    if entry["dtype"] != "I64":
        raise ValueError(f"{key} in {path} is {entry['dtype']}, not I64")
    start, end = entry["data_offsets"]
    raw = data[8 + header_len + start:8 + header_len + end]
    return list(struct.unpack(f"<{len(raw) // 8}q", raw))


def makespan(chunk_counts, ctas_per_sequence, setup_us, per_chunk_us, sms, longest_first):
    """Finish time of the last CTA when CTAs start in launch order on the first free SM."""
    order = sorted(chunk_counts, reverse=True) if longest_first else list(chunk_counts)
    free_at = [0.0] * sms
    for chunks in order:
        cost = setup_us + per_chunk_us * chunks
        for _ in range(ctas_per_sequence):
            heapq.heappush(free_at, heapq.heappop(free_at) + cost)
    return max(free_at)


def makespan_persistent(chunk_counts, ctas_per_sequence, setup_us, per_chunk_us, sms, residual_us):
    """Finish time of the last item when each SM's CTA takes items longest first as it frees: the whole
    setup once per SM, residual_us for every later item."""
    free_at = [setup_us - residual_us] * sms
    for chunks in sorted(chunk_counts, reverse=True):
        for _ in range(ctas_per_sequence):
            heapq.heappush(free_at, heapq.heappop(free_at) + residual_us + per_chunk_us * chunks)
    return max(free_at)


def makespan_persistent_mixed(chunk_counts, narrow, setup_us, wide, narrow_cost, sms):
    """A persistent scan whose `narrow` longest sequences take 32-column items and the rest 64-column
    ones, items handed out longest first: the whole setup once per SM, then per item residual + per
    chunk x chunks of its width. wide and narrow_cost: (residual_us, per_chunk_us)."""
    free_at = [setup_us - wide[0]] * sms
    for rank, chunks in enumerate(sorted(chunk_counts, reverse=True)):
        residual, per_chunk = narrow_cost if rank < narrow else wide
        items = VALUE_HEADS * HEAD_DIM // (32 if rank < narrow else 64)
        for _ in range(items):
            heapq.heappush(free_at, heapq.heappop(free_at) + residual + per_chunk * chunks)
    return max(free_at)


def host_plan(total_tokens, num_seqs, sms, narrow_long=False):
    """The slice width kernel.cu's launch plan picks (GDN_PREFILL_PLAN with the narrow rule)."""
    long_rule = narrow_long and num_seqs <= 3 and total_tokens >= 4 * CHUNK * num_seqs
    if num_seqs * VALUE_HEADS * (HEAD_DIM // 16) <= sms or long_rule:
        return 16
    return 64 if total_tokens >= LONG_T else 32


def workloads(dataset):
    path = os.path.join(dataset, "workloads", "gdn", f"{DEFINITION}.jsonl")
    with open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)["workload"]


def widths(text):
    """{slice width: value} from "16=1.05,32=1.4"."""
    return {int(k): float(v) for k, v in (p.split("=") for p in text.split(","))}


def cu_seqlens_of(dataset, workload):
    source = workload["inputs"]["cu_seqlens"]
    if source.get("type") != "safetensors":
        return None
    return read_safetensors_int64(os.path.join(dataset, source["path"]), source["tensor_key"])


def chunk_counts(cu):
    return [math.ceil((b - a) / CHUNK) for a, b in zip(cu, cu[1:]) if b > a]


def scan_after_prep_us(row):
    """From a bench row's timeline: the scan's end after the prep's end (us), or None for a call
    without a prep (the fused kernel) or not on the split scan."""
    kernels = {k["name"]: k for k in (row.get("timeline") or []) if k.get("kind") == "kernel"}
    prep = kernels.get("chunk_prep_kernel")
    if prep is None or "chunk_scan_split_kernel" not in kernels:
        return None
    end = max(k["start_us"] + k["duration_us"] for k in kernels.values())
    return end - (prep["start_us"] + prep["duration_us"])


def fit_width(samples, ctas_per_sequence, sms):
    """Least-squares (setup, per chunk) on a grid for [(chunk counts, measured us)]: (setup, per, rms)."""
    best = None
    for setup in (x * 0.25 for x in range(0, 41)):
        for per in (x * 0.05 for x in range(4, 121)):
            err = sum((makespan(ch, ctas_per_sequence, setup, per, sms, True) - us) ** 2 for ch, us in samples)
            if best is None or err < best[0]:
                best = (err, setup, per)
    return best[1], best[2], math.sqrt(best[0] / len(samples))


def print_fit(dataset, bench_jsonl, sms):
    lengths = {w["uuid"]: cu_seqlens_of(dataset, w) for w in workloads(dataset)}
    by_width = {}
    with open(bench_jsonl) as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            cu = lengths.get(row.get("uuid"))
            us = scan_after_prep_us(row)
            if cu is None or us is None:
                continue
            bv = host_plan(row["axes"]["total_seq_len"], len(cu) - 1, sms, narrow_long=True)
            by_width.setdefault(bv, []).append((chunk_counts(cu), us))
    for bv in sorted(by_width):
        setup, per, rms = fit_width(by_width[bv], VALUE_HEADS * HEAD_DIM // bv, sms)
        print(f"BV{bv}: setup {setup:.2f} us + {per:.2f} us per chunk (rms {rms:.2f} us over {len(by_width[bv])} calls)")
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help="a dataset copy with the synthesized blobs")
    parser.add_argument("--sms", type=int, default=132)
    parser.add_argument("--setup-us", default="16=1.5,32=1.75,64=4.75",
                        help="per CTA for each slice width: state in and out, first loads")
    parser.add_argument("--chunk-us", default="16=1.0,32=1.35,64=1.65", help="per chunk for each slice width")
    parser.add_argument("--persistent-residual-us", type=float, default=None,
                        help="add a column: the plan's width as a persistent scan paying this per later item")
    parser.add_argument("--mixed", metavar="S64,R64,C64,R32,C32",
                        help="add a column: the persistent scan with a width per sequence (the longest at 32 "
                             "columns, the rest at 64; setup, residual and per-chunk us), the best count at 32")
    parser.add_argument("--min-tokens", type=int, default=129)
    parser.add_argument("--fit", metavar="BENCH_JSONL", help="fit setup and per-chunk times to a bench run's timelines")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    if not args.dataset:
        parser.error("--dataset is required (or --self-test)")
    if args.fit:
        return print_fit(args.dataset, args.fit, args.sms)
    per_chunk = widths(args.chunk_us)
    setups = widths(args.setup_us)
    print(f"{'workload':9} {'T':>5} {'N':>3} {'max ch':>6}  " +
          "  ".join(f"BV{bv} in order / longest first" for bv in sorted(per_chunk)) + "   plan  narrow_long")
    for workload in workloads(args.dataset):
        axes = workload["axes"]
        if axes["total_seq_len"] < args.min_tokens:
            continue
        cu = cu_seqlens_of(args.dataset, workload)
        if cu is None:
            continue
        chunks = chunk_counts(cu)
        cells = []
        for bv in sorted(per_chunk):
            times = [makespan(chunks, VALUE_HEADS * HEAD_DIM // bv, setups[bv], per_chunk[bv], args.sms, lpt)
                     for lpt in (False, True)]
            cells.append(f"{times[0]:8.1f} / {times[1]:6.1f}")
        n = len(cu) - 1
        line = (f"{workload['uuid'][:8]:9} {axes['total_seq_len']:5d} {n:3d} {max(chunks) if chunks else 0:6d}  " +
                "  ".join(cells) + f"   {host_plan(axes['total_seq_len'], n, args.sms):4d}  "
                f"{host_plan(axes['total_seq_len'], n, args.sms, narrow_long=True):4d}")
        if args.mixed:
            s64, r64, c64, r32, c32 = (float(x) for x in args.mixed.split(","))
            spans = [makespan_persistent_mixed(chunks, k, s64, (r64, c64), (r32, c32), args.sms) for k in range(n + 1)]
            best = min(range(n + 1), key=lambda k: spans[k])
            line += f"  mixed: all 64 {spans[0]:6.1f}, best {spans[best]:6.1f} with {best} at 32"
        if args.persistent_residual_us is not None:
            bv = host_plan(axes["total_seq_len"], n, args.sms, narrow_long=True)
            line += f"  persistent {makespan_persistent(chunks, VALUE_HEADS * HEAD_DIM // bv, setups[bv], per_chunk[bv], args.sms, args.persistent_residual_us):6.1f}"
        print(line)
    return 0


def self_test():
    # Two SMs, CTAs of 1 + 1 * chunks: in order [1, 3] x 2 CTAs each -> SMs get 2, 2 then 4, 4: 6.
    assert makespan([1, 3], 2, 1.0, 1.0, 2, longest_first=False) == 6.0
    # Three SMs: in order the short CTAs take two SMs and a long one waits behind one of them (6);
    # longest first, both long CTAs start at once and the short ones share the third SM (4).
    assert makespan([1, 3], 2, 1.0, 1.0, 3, longest_first=False) == 6.0
    assert makespan([1, 3], 2, 1.0, 1.0, 3, longest_first=True) == 4.0
    # A long sequence last in order pays a whole extra round; longest first hides the short ones.
    assert makespan([1, 1, 4], 1, 0.0, 1.0, 2, longest_first=False) == 5.0
    assert makespan([1, 1, 4], 1, 0.0, 1.0, 2, longest_first=True) == 4.0
    # Persistent: two SMs, items [3, 1, 1] of one CTA each, setup 2, residual 0.5, 1 a chunk: SM A takes
    # 3 (2 + 3 = 5), SM B takes 1 (3) then 1 (3 + 0.5 + 1 = 4.5): 5. With the full setup per item
    # (residual = setup) it is the plain list schedule.
    assert makespan_persistent([3, 1, 1], 1, 2.0, 1.0, 2, 0.5) == 5.0
    assert makespan_persistent([3, 1, 1, 2], 1, 2.0, 1.0, 2, 2.0) == makespan([3, 1, 1, 2], 1, 2.0, 1.0, 2, True)
    # Mixed widths: one SM, setup 2, wide items (residual 1, 1 a chunk; 16 a sequence), narrow (0.5, 0.5;
    # 32 a sequence). Sequences [2, 1]: all wide 2 - 1 + 16 * 3 + 16 * 2 = 81; the longest narrow
    # 1 + 32 * 1.5 + 16 * 2 = 81 too; both narrow 1 + 32 * 1.5 + 32 * 1 = 81; with no narrow sequence it is
    # makespan_persistent at 64 columns.
    assert makespan_persistent_mixed([2, 1], 0, 2.0, (1.0, 1.0), (0.5, 0.5), 1) == 81.0
    assert makespan_persistent_mixed([2, 1], 1, 2.0, (1.0, 1.0), (0.5, 0.5), 1) == 81.0
    assert makespan_persistent_mixed([3, 1, 2], 0, 2.0, (1.0, 1.5), (0.5, 0.5), 4) == \
        makespan_persistent([3, 1, 2], 16, 2.0, 1.5, 4, 1.0)
    # On many SMs the long sequence's narrow items shorten its chain: [8, 1] x 16 SMs.
    assert makespan_persistent_mixed([8, 1], 1, 0.0, (0.0, 2.0), (0.0, 1.2), 32) < \
        makespan_persistent_mixed([8, 1], 0, 0.0, (0.0, 2.0), (0.0, 1.2), 32)
    # The host rule: one wave at 16 columns for N <= 2 on 132 SMs; 64 columns from LONG_T tokens.
    assert host_plan(2107, 1, 132) == 16 and host_plan(3028, 5, 132) == 32 and host_plan(8192, 39, 132) == 64
    assert host_plan(1592, 3, 132) == 32 and host_plan(1592, 3, 132, narrow_long=True) == 16
    assert host_plan(139, 3, 132, narrow_long=True) == 32
    # The fit recovers the constants that made its samples (two SMs, one CTA a sequence).
    samples = [(ch, makespan(ch, 1, 1.5, 0.8, 2, True)) for ch in ([1, 2], [3, 1, 1], [5], [2, 2, 2, 4])]
    setup, per, rms = fit_width(samples, 1, 2)
    assert abs(setup - 1.5) < 1e-9 and abs(per - 0.8) < 1e-9 and rms < 1e-9, (setup, per, rms)
    # The scan's span after the prep from a bench row's timeline; None without a prep.
    row = {"timeline": [{"kind": "kernel", "name": "chunk_prep_kernel", "start_us": 0.0, "duration_us": 10.0},
                        {"kind": "kernel", "name": "chunk_scan_split_kernel", "start_us": 2.0, "duration_us": 20.5}]}
    assert scan_after_prep_us(row) == 12.5
    assert scan_after_prep_us({"timeline": [{"kind": "kernel", "name": "gdn_prefill_fused_kernel", "start_us": 0.0,
                                             "duration_us": 9.0}]}) is None
    # The safetensors reader on a file written here.
    import tempfile
    values = [0, 5, 70, 200]
    header = json.dumps({"cu_seqlens": {"dtype": "I64", "shape": [4], "data_offsets": [0, 32]}}).encode()
    with tempfile.NamedTemporaryFile(suffix=".safetensors", delete=False) as f:
        f.write(struct.pack("<Q", len(header)) + header + struct.pack("<4q", *values))
        path = f.name
    try:
        assert read_safetensors_int64(path, "cu_seqlens") == values
    finally:
        os.unlink(path)
    print("self-test passed")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
