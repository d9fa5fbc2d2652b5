"""The gated delta rule's chunk scan split into segments, in exact arithmetic (issue #4, prefill).

The GDN prefill's scan walks a sequence's chunks of C tokens in order: the long single sequences of
the 129-5709-token bands are chains of up to 71 dependent chunk steps. A chunk maps its start state
S (K x V) to its end state and outputs linearly (the prep pass already computes every operand):

    S_next = M S + B,   M = g_C I - Kd^T W  (K x K),   B = Kd^T U
    O      = E S + F,   E = Qg - P W        (C x K),   F = P U

with, over the chunk's tokens i (gamma_i the decay product up to i, k / q / v rows, beta_i):
    A_ij = beta_i (gamma_i / gamma_j) k_i . k_j  (j < i),  T = (I + A)^-1,
    W = T diag(beta gamma) K,  U = T diag(beta) V,  Kd_j = (gamma_C / gamma_j) k_j,
    Qg_i = scale gamma_i q_i,  P_ij = scale (gamma_i / gamma_j) q_i . k_j  (j <= i).
So a sequence cut into segments can run in three passes: (A) every segment from a zero state, in
parallel, keeping its zero-start outputs, its end state Z and the running transition products
R_c = M_{c-1} ... M_first (its last one, times M_last, the segment's product); (B) a short chain over
segments, S_start(k + 1) = Prod_k S_start(k) + Z_k; (C) every chunk in parallel, O_c += E_c R_c
S_start(k). This script checks that decomposition against the per-token recurrence of the
definition's reference (Fractions, small sizes, partial last chunk included) and prints, for the
real sizes (K = V = 128, C = 64), the serial steps and the work against the plain chunk scan.
  python3 scripts/dev/emulate_gdn_segments.py --self-test
  python3 scripts/dev/emulate_gdn_segments.py --chunks 33 --segments 6
"""
import argparse
import math
import random
from fractions import Fraction


def zeros(r, c):
    return [[Fraction(0)] * c for _ in range(r)]


def eye(n):
    m = zeros(n, n)
    for i in range(n):
        m[i][i] = Fraction(1)
    return m


def matmul(a, b):
    inner, cols = len(b), len(b[0])
    return [[sum((row[t] * b[t][j] for t in range(inner)), Fraction(0)) for j in range(cols)] for row in a]


def add(a, b, sign=1):
    return [[x + sign * y for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]


def scale_rows(m, factors):
    return [[f * x for x in row] for f, row in zip(factors, m)]


def transpose(m):
    return [list(col) for col in zip(*m)]


def unit_lower_inverse(a):
    """(I + A)^-1 for a strictly lower-triangular A, by forward substitution."""
    n = len(a)
    inv = eye(n)
    for i in range(n):
        for j in range(i):
            inv[i] = [x - a[i][j] * y for x, y in zip(inv[i], inv[j])]
    return inv


def reference(q, k, v, g, beta, scale, state):
    """The definition's per-token recurrence (K x V state): outputs and the final state."""
    s = [row[:] for row in state]
    outputs = []
    for qt, kt, vt, gt, bt in zip(q, k, v, g, beta):
        s = [[gt * x for x in row] for row in s]
        old_v = matmul([kt], s)[0]
        new_v = [bt * x + (1 - bt) * y for x, y in zip(vt, old_v)]
        for a in range(len(kt)):
            s[a] = [x - kt[a] * o + kt[a] * n for x, o, n in zip(s[a], old_v, new_v)]
        outputs.append([scale * x for x in matmul([qt], s)[0]])
    return outputs, s


def chunk_operands(q, k, v, g, beta, scale):
    """M, B, E, F of one chunk (its rows of q, k, v, g, beta), as the module docstring defines them."""
    c = len(k)
    gamma, acc = [], Fraction(1)
    for gt in g:
        acc *= gt
        gamma.append(acc)
    dot = lambda x, y: sum((a * b for a, b in zip(x, y)), Fraction(0))
    a = zeros(c, c)
    for i in range(c):
        for j in range(i):
            a[i][j] = beta[i] * gamma[i] / gamma[j] * dot(k[i], k[j])
    t = unit_lower_inverse(a)
    w = matmul(t, scale_rows(k, [b * gm for b, gm in zip(beta, gamma)]))
    u = matmul(t, scale_rows(v, beta))
    kd = scale_rows(k, [gamma[-1] / gm for gm in gamma])
    qg = scale_rows(q, [scale * gm for gm in gamma])
    p = zeros(c, c)
    for i in range(c):
        for j in range(i + 1):
            p[i][j] = scale * gamma[i] / gamma[j] * dot(q[i], k[j])
    kdt = transpose(kd)
    m = add([[gamma[-1] * x for x in row] for row in eye(len(k[0]))], matmul(kdt, w), -1)
    return m, matmul(kdt, u), add(qg, matmul(p, w), -1), matmul(p, u)


def segmented(q, k, v, g, beta, scale, state, chunk, segments):
    """Outputs and final state by the three passes over `segments` runs of consecutive chunks."""
    n = len(k)
    bounds = list(range(0, n, chunk)) + [n]
    ops = [chunk_operands(q[a:b], k[a:b], v[a:b], g[a:b], beta[a:b], scale) for a, b in zip(bounds, bounds[1:])]
    kdim, vdim = len(k[0]), len(v[0])
    per = math.ceil(len(ops) / segments)
    groups = [list(range(i, min(i + per, len(ops)))) for i in range(0, len(ops), per)]
    # (A) each segment from a zero state: zero-start outputs, end state Z, running products R_c.
    zero_out, ends, prods, running = {}, [], [], {}
    for grp in groups:
        s, r = zeros(kdim, vdim), eye(kdim)
        for c in grp:
            m, b, e, f = ops[c]
            zero_out[c] = add(matmul(e, s), f)
            running[c] = r
            s = add(matmul(m, s), b)
            r = matmul(m, r)
        ends.append(s)
        prods.append(r)
    # (B) the chain over segments.
    starts, s = [], [row[:] for row in state]
    for z, pr in zip(ends, prods):
        starts.append(s)
        s = add(matmul(pr, s), z)
    # (C) every chunk's correction from its segment's true start state.
    outputs = []
    for gi, grp in enumerate(groups):
        for c in grp:
            outputs.extend(add(zero_out[c], matmul(ops[c][2], matmul(running[c], starts[gi]))))
    return outputs, s


def random_problem(rng, tokens, kdim, vdim):
    frac = lambda lo, hi: Fraction(rng.randint(int(lo * 64), int(hi * 64)), 64)
    q = [[frac(-1, 1) for _ in range(kdim)] for _ in range(tokens)]
    k = [[frac(-0.5, 0.5) for _ in range(kdim)] for _ in range(tokens)]
    v = [[frac(-1, 1) for _ in range(vdim)] for _ in range(tokens)]
    g = [frac(0.75, 1) for _ in range(tokens)]
    beta = [frac(0.05, 0.95) for _ in range(tokens)]
    state = [[frac(-1, 1) for _ in range(vdim)] for _ in range(kdim)]
    return q, k, v, g, beta, Fraction(3, 8), state


def self_test():
    rng = random.Random(7)
    # Partial last chunk (14 tokens, chunks of 4), segments of 1, 2 and 3 chunks, a chunk of one token.
    for tokens, chunk, segments in ((14, 4, 2), (14, 4, 4), (9, 3, 3), (5, 1, 2), (8, 4, 1)):
        q, k, v, g, beta, scale, state = random_problem(rng, tokens, 3, 2)
        want_out, want_state = reference(q, k, v, g, beta, scale, state)
        got_out, got_state = segmented(q, k, v, g, beta, scale, state, chunk, segments)
        assert got_out == want_out, f"outputs differ ({tokens} tokens, chunk {chunk}, {segments} segments)"
        assert got_state == want_state, f"final state differs ({tokens} tokens, chunk {chunk}, {segments} segments)"
    # A zero initial state (absent `state`) takes the same path.
    q, k, v, g, beta, scale, _ = random_problem(rng, 10, 2, 2)
    none = zeros(2, 2)
    assert segmented(q, k, v, g, beta, scale, none, 4, 2) == reference(q, k, v, g, beta, scale, none)
    print("self-test passed")


def model(chunks, segments, kdim=128, vdim=128, chunk=64):
    """Serial chunk steps and multiply-adds per head against the plain chunk scan."""
    per = math.ceil(chunks / segments)
    scan = chunk * kdim * vdim * 3 + chunk * chunk * vdim  # W S, Kd^T (U - W S), Qg S; P (U - W S)
    m_op = kdim * chunk * kdim                              # M = g I - Kd^T W
    r_op = kdim * kdim * kdim                               # R_c = M_{c-1} R_{c-1}
    fix = chunk * kdim * kdim + chunk * kdim * vdim         # E_c R_c, times S_start
    chain_b = segments * kdim * kdim * vdim                 # Prod_k S_start(k)
    plain = chunks * scan
    split = chunks * (scan + m_op + r_op + fix) + chain_b
    print(f"{chunks} chunks in {segments} segments of <= {per}: serial steps {chunks} -> {per} (A, R beside it) + "
          f"{segments} (B) + 1 (C); multiply-adds per head {plain / 1e6:.1f}M -> {split / 1e6:.1f}M ({split / plain:.2f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--chunks", type=int, default=33, help="chunks of the longest sequence (2107 tokens: 33)")
    parser.add_argument("--segments", type=int, default=6)
    args = parser.parse_args()
    if args.self_test:
        self_test()
    else:
        model(args.chunks, args.segments)


if __name__ == "__main__":
    main()
