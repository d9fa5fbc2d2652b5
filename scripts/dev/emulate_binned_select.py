"""Replays the DSA indexer's histogram top-2048 selects (the indexer's kernel.cu: INDEXER_SELECT_BINNED,
bins of the distance below the row's largest key, and INDEXER_SCORE_HIST, bins of the keys' top 12
bits counted by the score kernel) on rows of scores, step by step with the kernel's integer
arithmetic, and checks that every row yields a valid top-k: 2048 distinct positions whose scores,
sorted, are the row's 2048 largest.

It exists because the kernel was written without a GPU at hand (session 11 of 2026-11-26): the
replay checks the algorithm (keys, bins, threshold bin, the candidates' direct ranking and the
radix fallback), not the CUDA code. Pure Python, no numpy.
  python3 scripts/dev/emulate_binned_select.py --self-test
  python3 scripts/dev/emulate_binned_select.py --rows 200      candidates per row on random rows
  python3 scripts/dev/emulate_binned_select.py --path hist     the same for INDEXER_SCORE_HIST
"""
import argparse
import math
import random
import struct
import sys

TOPK = 2048
BINS = 4096
BIN_BITS = 12  # log2(BINS)
DIRECT_MAX = 256
HIST_SHIFT = 20  # INDEXER_SCORE_HIST: a key's bin is its top 12 bits
CANDIDATES = 4096


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def float_key(f):
    """The kernel's order-preserving float -> uint32 map (-0 and +0 alike)."""
    u = struct.unpack("<I", struct.pack("<f", f))[0]
    return (u | 0x80000000) if f >= 0.0 else (~u) & 0xFFFFFFFF


def radix_select(keys, remaining, prefix=0, mask=0, first_shift=24):
    """The 8-bit radix passes (radix_pass / pick_digit, select_among_candidates' digits: from
    first_shift down by 8 while above 0, then the lowest byte): the rem-th largest key and how many
    keys equal to it belong to the top (the invariant: `remaining` keys match the prefix and lie at
    or below it)."""
    shifts = list(range(first_shift, 0, -8)) + [0]
    for shift in shifts:
        hist = [0] * 256
        for k in keys:
            if k & mask == prefix:
                hist[(k >> shift) & 0xFF] += 1
        above = 0
        for digit in range(255, -1, -1):
            if above + hist[digit] >= remaining:
                prefix |= digit << shift
                mask |= 0xFF << shift
                remaining -= above
                break
            above += hist[digit]
    return prefix, remaining


def refine(keys, cand, above, rem, prefix=0, mask=0, first_shift=24):
    """The threshold bin's candidates (key, position): ranked directly when few, else radix passes."""
    out = []
    if len(cand) <= DIRECT_MAX:
        for k, i in cand:
            rank = sum(1 for k2, i2 in cand if k2 > k or (k2 == k and i2 < i))
            if rank < rem:
                out.append(i)
        how = "direct"
    else:
        thr, take_eq = radix_select([k for k, _ in cand], rem, prefix, mask, first_shift)
        out += [i for k, i in cand if k > thr]
        out += [i for k, i in cand if k == thr][:take_eq]
        how = "radix" if len(cand) <= CANDIDATES else "radix over the row"
    return out, how


def threshold_bin(bins):
    """The bin of the 2048-th largest key (bins in descending key order) and the keys before it."""
    before = 0
    for b in range(BINS):
        if before < TOPK <= before + bins[b]:
            return b, before
        before += bins[b]
    raise AssertionError("fewer than 2048 keys")


def hist_select(scores):
    """INDEXER_SCORE_HIST: the score kernel's 4096 bins of the keys' top 12 bits (descending), the
    threshold bin, one scan, then the bin's candidates over their low 20 bits."""
    keys = [float_key(s) for s in scores]
    bins = [0] * BINS
    for k in keys:
        bins[(BINS - 1) - (k >> HIST_SHIFT)] += 1
    thr_bin, above = threshold_bin(bins)
    top = (BINS - 1) - thr_bin
    out = [i for i, k in enumerate(keys) if k >> HIST_SHIFT > top]
    assert len(out) == above
    cand = [(k, i) for i, k in enumerate(keys) if k >> HIST_SHIFT == top]
    mask = (0xFFFFFFFF << HIST_SHIFT) & 0xFFFFFFFF
    more, how = refine(keys, cand, above, TOPK - above, top << HIST_SHIFT, mask, HIST_SHIFT - 8)
    return out + more, len(cand), how


def binned_select(scores):
    """Positions the kernel's binned path writes for one row (len(scores) > 2048), and the number of
    candidates in the threshold bin and which refinement ran."""
    L = len(scores)
    assert L > TOPK
    keys = [float_key(s) for s in scores]
    kmax, kmin = max(keys), min(keys)
    span = kmax - kmin
    shift = max(0, span.bit_length() - BIN_BITS)  # (kmax - kmin) >> shift < BINS

    def bin_of(k):
        return (kmax - k) >> shift

    bins = [0] * BINS
    for k in keys:
        bins[bin_of(k)] += 1
    thr_bin, above = threshold_bin(bins)
    out = [i for i, k in enumerate(keys) if bin_of(k) < thr_bin]
    assert len(out) == above
    cand = [(k, i) for i, k in enumerate(keys) if bin_of(k) == thr_bin]
    more, how = refine(keys, cand, above, TOPK - above)
    return out + more, len(cand), how


def check_row(scores, select):
    out, n_cand, how = select(scores)
    assert len(out) == TOPK, f"{len(out)} positions"
    assert len(set(out)) == TOPK, "repeated positions"
    chosen = sorted((f32(scores[i]) for i in out), reverse=True)
    best = sorted((f32(s) for s in scores), reverse=True)[:TOPK]
    assert chosen == best, "not the row's largest scores"
    return n_cand, how


def rows(rng, count):
    """Rows like the indexer's (sums of relu(q.k) * weight over 64 heads: mostly positive, a few
    binades wide, some negative), plus the shapes that reach each refinement."""
    for r in range(count):
        L = rng.randint(TOPK + 1, 91 * 64)
        kind = r % 6
        if kind == 0:  # the workloads' scores: sum over 64 heads of relu(q.k) * weight, weights N(0, 1)
            yield "head sums", [f32(sum(max(0.0, rng.gauss(0, 1)) * rng.gauss(0, 1) for _ in range(64))) for _ in range(L)]
        elif kind == 1:
            yield "gaussian", [f32(rng.gauss(0, 3)) for _ in range(L)]
        elif kind == 2:  # many ties
            yield "ties", [f32(float(rng.randint(-3, 3))) for _ in range(L)]
        elif kind == 3:  # 80 binades wide
            yield "wide", [f32(math.exp(rng.uniform(-60, 5))) for _ in range(L)]
        elif kind == 4:  # one bin holds thousands: the radix refinement
            yield "narrow", [f32(1.0 + rng.random() * 1e-3) for _ in range(L)]
        else:  # all equal
            yield "constant", [f32(0.5)] * L


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--path", choices=["binned", "hist", "both"], default="both")
    args = parser.parse_args()
    paths = {"binned": binned_select, "hist": hist_select}
    for name in (["binned", "hist"] if args.path == "both" else [args.path]):
        print(f"== {name}")
        run(args, paths[name])


def run(args, select):
    rng = random.Random(args.seed)
    count = 12 if args.self_test else args.rows
    seen = {}
    for kind, scores in rows(rng, count):
        n_cand, how = check_row(scores, select)
        seen.setdefault(kind, []).append((n_cand, how))
    for kind, runs in seen.items():
        cands = sorted(n for n, _ in runs)
        print(f"{kind:10s} rows {len(runs):3d}  candidates median {cands[len(cands) // 2]:5d} max {cands[-1]:5d}  "
              + ", ".join(f"{h} {sum(1 for _, x in runs if x == h)}" for h in sorted({x for _, x in runs})))
    if args.self_test:
        hows = {h for runs in seen.values() for _, h in runs}
        assert {"direct", "radix"} <= hows, f"both refinements exercised: {hows}"
        print("self-test passed")


if __name__ == "__main__":
    sys.exit(main())
