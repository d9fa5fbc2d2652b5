"""The MoE routing's selection as moe_routing_lanes_kernel computes it, lane by lane (issue #6).

DeepSeek-V3 routing on 256 experts (sb = sigmoid(logit) + bias): 8 groups of 32, a group's score is
the sum of its two largest sb (a value that appears twice counts twice), the 4 best groups are kept
(ties to the lower group), and the 8 best experts of the kept groups by sb are selected (ties to the
lower expert id). The warp-per-token kernel does that in rounds of shuffles (~3000 SASS instructions
per token). The lanes kernel gives each lane 8 consecutive experts (a group is 4 lanes):
  1. each lane's top two of its 8 (b = max(b, min(a, v)), a = max(a, v): the multiset top two), merged
     over the group's 4 lanes by two xor shuffles;
  2. a group is kept when fewer than 4 groups come before it in (score desc, group asc);
  3. each lane sorts its 8 candidates (the kept group's sb, else -inf) by (sb desc, id asc) with a
     19-comparator network, then 8 rounds of a warp arg-max over the lanes' heads by the same order,
     the winning lane popping its head.
This replays those steps in Python against the definition's order of selection, on random rows and on
rows full of ties.
  python3 scripts/dev/emulate_moe_routing_lanes.py --self-test
"""
import argparse
import itertools
import random

INF = float("inf")
# Batcher's 19-comparator sorting network for 8 inputs.
NETWORK = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (1, 2), (5, 6), (0, 4), (3, 7), (1, 5), (2, 6),
           (1, 4), (3, 6), (2, 4), (3, 5), (3, 4)]


def reference_selection(sb):
    """The definition's selection, written the plain way: the 8 expert ids in rank order."""
    scores = []
    for g in range(8):
        top = sorted(sb[32 * g:32 * g + 32], reverse=True)
        scores.append(top[0] + top[1])
    groups = sorted(range(8), key=lambda g: (-scores[g], g))[:4]
    candidates = sorted((e for e in range(256) if e // 32 in groups), key=lambda e: (-sb[e], e))
    return candidates[:8]


def before(v1, id1, v2, id2, tie_to_lower_id=True):
    """Whether candidate 1 comes before candidate 2: larger sb, then (ties) the lower id."""
    return v1 > v2 or (tie_to_lower_id and v1 == v2 and id1 < id2)


def lanes_selection(sb, tie_to_lower_id=True):
    """The lanes kernel's steps; tie_to_lower_id=False drops the id tie-break (a mutation the
    self-test must catch)."""
    a, b = [-INF] * 32, [-INF] * 32
    for lane in range(32):
        for i in range(8):
            v = sb[8 * lane + i]
            b[lane] = max(b[lane], min(a[lane], v))
            a[lane] = max(a[lane], v)
    for off in (1, 2):
        a, b = ([max(a[l], a[l ^ off]) for l in range(32)],
                [max(min(a[l], a[l ^ off]), max(b[l], b[l ^ off])) for l in range(32)])
    score = [a[l] + b[l] for l in range(32)]
    values, ids = [], []
    for lane in range(32):
        group = lane >> 2
        rank = sum(1 for j in range(8) if score[4 * j] > score[lane] or (score[4 * j] == score[lane] and j < group))
        v = [sb[8 * lane + i] if rank < 4 else -INF for i in range(8)]
        e = [8 * lane + i for i in range(8)]
        for x, y in NETWORK:
            if before(v[y], e[y], v[x], e[x], tie_to_lower_id):
                v[x], v[y], e[x], e[y] = v[y], v[x], e[y], e[x]
        values.append(v)
        ids.append(e)
    selected = []
    for _ in range(8):
        hv = [values[l][0] for l in range(32)]
        hid = [ids[l][0] for l in range(32)]
        for off in (16, 8, 4, 2, 1):
            pairs = [(hv[l ^ off], hid[l ^ off]) if before(hv[l ^ off], hid[l ^ off], hv[l], hid[l], tie_to_lower_id)
                     else (hv[l], hid[l]) for l in range(32)]
            hv, hid = [p[0] for p in pairs], [p[1] for p in pairs]
        if len(set(hid)) != 1:
            return None  # the lanes disagree: only possible without a total order
        winner = hid[0]
        selected.append(winner)
        owner = winner >> 3
        values[owner] = values[owner][1:] + [-INF]
        ids[owner] = ids[owner][1:] + [0x7FFFFFFF]
    return selected


def rows(count, seed):
    """Random rows: continuous values, and three kinds of rows full of ties."""
    rng = random.Random(seed)
    for n in range(count):
        kind = n % 4
        if kind == 0:
            yield [rng.random() for _ in range(256)]
        elif kind == 1:
            yield [rng.choice([0.1, 0.2, 0.3, 0.5]) for _ in range(256)]
        elif kind == 2:
            yield [round(rng.random(), 1) for _ in range(256)]
        else:
            yield [0.25] * 256


def self_test():
    for bits in itertools.product([0, 1], repeat=8):  # the 0-1 principle: the network sorts
        v = list(bits)
        for x, y in NETWORK:
            if v[y] > v[x]:
                v[x], v[y] = v[y], v[x]
        assert v == sorted(bits, reverse=True), bits
    for n, sb in enumerate(rows(400, 17)):
        assert lanes_selection(sb) == reference_selection(sb), n
    # Without the id tie-break the tie rows select other experts (or the lanes disagree).
    assert any(lanes_selection(sb, tie_to_lower_id=False) != reference_selection(sb) for sb in rows(40, 3))
    print("self-test passed: the lanes selection equals the definition's on 400 rows (300 with ties)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--rows", type=int, default=3000)
    args = parser.parse_args()
    if args.self_test:
        self_test()
        return
    bad = sum(1 for sb in rows(args.rows, 1) if lanes_selection(sb) != reference_selection(sb))
    print(f"{args.rows - bad} of {args.rows} rows select as the definition does")


if __name__ == "__main__":
    main()
