#!/usr/bin/env python3
# Emulates GDN_PREFILL_SOLVE_MMA's fragment code (exact arithmetic, no tf32 rounding) on a random
# strictly lower-triangular A and checks T against the inverse of (I + A) by substitution.
import random
N = 64; LD = 68
random.seed(1)
A = [[0.0] * LD for _ in range(N)]
for i in range(N):
    for j in range(i):
        A[i][j] = random.uniform(-0.3, 0.3)
def flat(M): return [x for row in M for x in row]
a = flat(A)
t = [float('nan')] * (N * LD)   # unwritten entries are NaN: any read of them shows
# diagonal blocks by substitution (as the kernel: full 16x16 block columns, zeros above)
for blk in range(4):
    base = blk * 16
    for j in range(16):
        col = [0.0] * 16
        for i in range(16):
            x = 1.0 if i == j else 0.0
            for m in range(i):
                x -= a[(base + i) * LD + base + m] * col[m]
            col[i] = x
        for i in range(16):
            t[(base + i) * LD + base + j] = col[i]
def lanes(): return [(l >> 2, l & 3) for l in range(32)]
def frag_a(m, ld, r0, k0):
    return [[m[(r0+g)*ld + k0+tq], m[(r0+g+8)*ld + k0+tq], m[(r0+g)*ld + k0+tq+4], m[(r0+g+8)*ld + k0+tq+4]] for g, tq in lanes()]
def frag_b(m, ld, k0, n0):
    return [[m[(k0+tq)*ld + n0+g], m[(k0+tq+4)*ld + n0+g]] for g, tq in lanes()]
def mma(c, af, bf):
    Am = [[None]*8 for _ in range(16)]; Bm = [[None]*8 for _ in range(8)]; Cm = [[None]*8 for _ in range(16)]
    for l, (g, tq) in enumerate(lanes()):
        Am[g][tq], Am[g+8][tq], Am[g][tq+4], Am[g+8][tq+4] = af[l]
        Bm[tq][g], Bm[tq+4][g] = bf[l]
        Cm[g][2*tq], Cm[g][2*tq+1], Cm[g+8][2*tq], Cm[g+8][2*tq+1] = c[l]
    D = [[Cm[i][j] + sum(Am[i][k] * Bm[k][j] for k in range(8)) for j in range(8)] for i in range(16)]
    return [[D[g][2*tq], D[g][2*tq+1], D[g+8][2*tq], D[g+8][2*tq+1]] for g, tq in lanes()]
def c_to_a(c):
    out = []
    for l, (g, tq) in enumerate(lanes()):
        src0 = (l & ~3) | (tq >> 1); src1 = (l & ~3) | (2 + (tq >> 1)); odd = tq & 1
        out.append([c[src0][1] if odd else c[src0][0], c[src0][3] if odd else c[src0][2],
                    c[src1][1] if odd else c[src1][0], c[src1][3] if odd else c[src1][2]])
    return out
def zero(): return [[0.0]*4 for _ in range(32)]
def store_neg(m, ld, r0, n0, tiles):
    for nt, c in enumerate(tiles):
        for l, (g, tq) in enumerate(lanes()):
            m[(r0+g)*ld + n0+nt*8+2*tq] = -c[l][0]; m[(r0+g)*ld + n0+nt*8+2*tq+1] = -c[l][1]
            m[(r0+g+8)*ld + n0+nt*8+2*tq] = -c[l][2]; m[(r0+g+8)*ld + n0+nt*8+2*tq+1] = -c[l][3]
# level 1
for warp in range(2):
    base = warp * 32
    x = [zero(), zero()]
    for ks in range(2):
        af = frag_a(t, LD, base+16, base+16+ks*8)
        for nt in range(2):
            x[nt] = mma(x[nt], af, frag_b(a, LD, base+16+ks*8, base+nt*8))
    y = [zero(), zero()]
    for ks in range(2):
        af = c_to_a(x[ks])
        for nt in range(2):
            y[nt] = mma(y[nt], af, frag_b(t, LD, base+ks*8, base+nt*8))
    store_neg(t, LD, base+16, base, y)
# level 2 (all four warps read t before any writes: writes go to rows 32-63, cols 0-31, which no warp reads)
res = []
for warp in range(4):
    r, c = warp >> 1, warp & 1
    x = [zero() for _ in range(4)]
    for ks in range(4):
        if r == 0 and ks >= 2: break
        af = frag_a(t, LD, 32+16*r, 32+ks*8)
        for nt in range(4):
            x[nt] = mma(x[nt], af, frag_b(a, LD, 32+ks*8, nt*8))
    y = [zero(), zero()]
    for ks in range(4):
        if c == 1 and ks < 2: continue
        af = c_to_a(x[ks])
        for nt in range(2):
            y[nt] = mma(y[nt], af, frag_b(t, LD, ks*8, 16*c+nt*8))
    res.append((r, c, y))
for r, c, y in res: store_neg(t, LD, 32+16*r, 16*c, y)
# reference inverse by forward substitution
T = [[0.0]*N for _ in range(N)]
for j in range(N):
    for i in range(N):
        x = 1.0 if i == j else 0.0
        for m in range(j, i): x -= A[i][m] * T[m][j]
        T[i][j] = x if i >= j else 0.0
def lower(i, j): return 0.0 if (j >> 4) > (i >> 4) else t[i*LD + j]
err = max(abs(lower(i, j) - T[i][j]) for i in range(N) for j in range(N))
nan = any(lower(i, j) != lower(i, j) for i in range(N) for j in range(N))
print("max |T_mma - T| =", err, "NaN read:", nan)
