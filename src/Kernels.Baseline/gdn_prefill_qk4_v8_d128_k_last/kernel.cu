// gdn_prefill_qk4_v8_d128_k_last: chunked (WY) gated delta rule on tensor cores, state on chip.
//
// Semantics (the definition's reference): per sequence n of cu_seqlens (int64), per value head h
// (q/k head h/2), head size 128, state float32 k-last [N][h][v][k]; per token t, with S as [K, V]:
//   g = exp(-exp(A_log[h]) * softplus(a[t,h] + dt_bias[h])), beta = sigmoid(b[t,h])
//   S = g*S + k_t (beta*(v_t - k_t.(g*S)))^T,   output[t,h] = scale * q_t.S   (scale 0 -> 1/sqrt(128))
// new_state[n] = S after the last token; a sequence of length <= 0 leaves new_state[n] zero (even
// with an initial state) and rows of output outside every sequence are zero, as in the reference.
//
// Algorithm: chunks of C = 64 tokens (Yang et al., gated delta networks, WY / UT form). With
// G_i = prod_{j<=i} g_j inside the chunk, A_ij = beta_i (G_i/G_j) k_i.k_j for i > j, T = (I+A)^-1:
//   W = T diag(beta G) K,  U = T diag(beta) V,  U' = U - W S0                 (pseudo-values)
//   O = scale * ( diag(G) Q S0 + ((Q K^T) o M) U' ),  M_ij = G_i/G_j for i >= j else 0
//   S1 = G_C S0 + (diag(G_C/G) K)^T U'
// (checked against the token recurrence in exact arithmetic before it was written). Every
// chunk-level product runs on tensor cores (mma.sync m16n8k16, bf16 operands, fp32 accumulators);
// T is solved in fp32 (16x16 diagonal blocks by substitution, off-diagonal blocks by products).
// The state slice S [128 x BV] lives in fp32 accumulator registers across the chunks of a
// sequence; a bf16 copy in shared memory feeds the products that read it.
// Launch (GDN_PREFILL_IMPL=0): one CTA of 128 threads (4 warps) per (sequence, value head, slice of
// BV=64 value columns): grid N*8*2, ~150 KB dynamic shared memory, no scratch. GDN_PREFILL_IMPL=1
// (default): the same products split into a parallel pass over chunks and a scan over each
// sequence's chunks, with a workspace from cudaMallocAsync (two_pass.cuh). Portable (sm_80+).
//
// Measured numbers: NOTES.md beside this file.

#include "agentforge.h"
#include "afg_mma.cuh"
#include "afg_bulk.cuh"
#include "afg_wgmma.cuh"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

// @tunable GDN_PREFILL_IMPL: 0, 1, 2 (default 1)
// 0: one launch, a CTA per (sequence, head, value slice) walks its chunks doing every product;
// 1: two launches (two_pass.cuh): every chunk's local products at once, then the state scan;
// 2: one warp-specialized launch (fused.cuh): prep warps prepare chunk i+1 while state warps
//    run chunk i's state-dependent products, nothing but inputs and outputs through HBM.
#ifndef GDN_PREFILL_IMPL
#define GDN_PREFILL_IMPL 1
#endif
// @tunable GDN_PREFILL_ASYNC_LOAD: 0, 1 (default 1) when GDN_PREFILL_IMPL=0
// 1: each chunk's K, Q and V (and the initial state) arrive by cp.async, every 16-byte piece in
// flight at once, zero-filled past the sequence end. 0: a loop of plain loads, each iteration's
// store waiting for its load (about ten dependent round trips per chunk). Measured on the H200
// (2026-11-26, quick set): 8192 tokens 651 -> 555 us, 139 tokens 42.8 -> 38.4 us; default 1.
#ifndef GDN_PREFILL_ASYNC_LOAD
#define GDN_PREFILL_ASYNC_LOAD 1
#endif

// @tunable GDN_PREFILL_FAST_PREP: 0, 1 (default 1)
// 1: the chunk-local prep (A / P decays, the triangular solve) with fewer instructions: ex2.approx
// for the decays, a branchless diagonal substitution, float4 rows and 4-column strips in the
// off-diagonal block products. Why: ncu put the prep at ~5.7k instructions per warp per chunk,
// issued every ~5 cycles (latency-bound, 12.6 us per chunk), the solve's scalar loops ~40% of them.
// H200, session 9 (results/gpu/2026-11-26-h200-s9), one call: 6 tokens 15.6 -> 13.4 us, 239 / 3
// sequences 23.6 -> 21.5, 2107 / 1 99.0 -> 96.8, 8192 tokens 198.3 / 212.8 / 182.8 -> 192.6 / 201.6 /
// 171.8; 100/100 PASS (with GDN_PREFILL_FUSED_MAX_T=64). Default since.
#ifndef GDN_PREFILL_FAST_PREP
#define GDN_PREFILL_FAST_PREP 1
#endif
// @tunable GDN_PREFILL_SOLVE_BLOCKED: 0, 1 (default 1) when GDN_PREFILL_FAST_PREP=1
// 1: the off-diagonal blocks of T = (I + A)^-1 by doubling (the two 32x32 halves' lower blocks at
// once, then the lower-left 32x32 block) instead of one 16-row block row at a time: 5 barriers and
// 5 dependent phases instead of 7 and 7, no zeroing pass (the strictly upper blocks of T are left
// as scratch and read through t_lower). Why: ncu's source samples put about a third of the prep's
// stalls in the solve, mostly at its barriers. Predicted: prep -8%. H200, session 9, same call:
// 6 tokens 11.3 -> 10.9 us, 139 / 3 15.7 -> 15.3, 8192 174.7 / 159.0 -> 172.8 / 157.6, others within
// 1%; all 100 workloads pass (band means within 1% of the previous call's); sanitizers clean.
// Smaller than predicted: the solve's phases are short, its barriers were not all exposed.
#ifndef GDN_PREFILL_SOLVE_BLOCKED
#define GDN_PREFILL_SOLVE_BLOCKED 1
#endif
// @tunable GDN_PREFILL_SOLVE_MMA: 0, 1 (default 1) when GDN_PREFILL_FAST_PREP=1
// 1: the doubling merges of the solve on tensor cores (mma.sync m16n8k8 tf32: fp32 range, 10-bit
// mantissa operands, fp32 accumulators; the products chained through registers by warp shuffles):
// after the fp32 diagonal substitution, warps 0-1 merge each 32x32 half, then warps 0-3 the lower-
// left 32x32 block, 3 barriers in all. FLA's GDN path merges in tf32 too; a rounding emulation put
// its error near 1.3e-3 relative (NOTES.md). Predicted: prep -10..-20%. H200, session 10
// (results/gpu/2026-11-26-h200-s10, call 2), against the doubling solve in one call: 6 tokens 10.8 ->
// 10.0 us, 139 / 3 15.7 -> 14.7, 239 / 3 19.4 -> 19.1, 832 / 4 23.7 -> 22.7, 8192 175.7 -> 167.6;
// all 100 workloads pass. Default since.
#ifndef GDN_PREFILL_SOLVE_MMA
#define GDN_PREFILL_SOLVE_MMA 1
#endif
// GDN_PREFILL_SOLVE_DIAG32 (the fp32 substitution over the two diagonal 32x32 blocks, warp b block b
// and lane j column j, so the tensor-core level merging each 32x32 half went) measured slower (session
// 28, call 4, H200): the substitution took 2293 cycles of a later 8192 prep CTA against the 760 + 1872
// of the 16x16 blocks and the merge level it replaced (predicted ~1.0-1.2k: a row's chain ran ~70 cycles,
// not ~15, and its 32 column values held in registers spilled 8 bytes at the prep's 127), the CTA 12959
// -> 13399; 8192 / 39 91.5 -> 94.6 us, 6 / 1 (fused) 8.3 -> 9.1. Removed.
// @tunable GDN_PREFILL_PREP_T_FRAGS: 0, 1 (default 1) when GDN_PREFILL_FAST_PREP=1
// 1: W = T diag(beta G) K and U = T diag(beta) V take their A fragments straight from the solve's
// fp32 T, scaled and rounded in registers (gemm_t_lower), skipping T's zero blocks right of each
// warp's row block, instead of a pass writing two bf16 copies of T and a barrier. Why: ncu at 8192 /
// 39 (session 10) put that pass at 16% of the prep's instructions and 18% of its stall samples, and
// 6 of the 16 k-blocks of both products are zeros. Same values bit for bit (the same fp32 products,
// the same roundings, the skipped terms exact zeros). Predicted: prep -10..-15%. H200, session 10
// (call 6), same call: 139 / 3 15.0 -> 14.5 us, 461 / 2 21.3 -> 21.0, 6 tokens 9.9 -> 9.8, 8192 134.8 /
// 140.3 -> 130.9 / 137.3, 2107 / 1 62.5 / 62.8 (even); all 100 workloads pass. About half the
// prediction (the prep is ~half of an 8192 call: prep -5..-6%). Default since.
#ifndef GDN_PREFILL_PREP_T_FRAGS
#define GDN_PREFILL_PREP_T_FRAGS 1
#endif

namespace {

constexpr int kNumQKHeads = 4;
constexpr int kNumVHeads = 8;
constexpr int kD = 128;                 // head size (K and V)
constexpr int kC = 64;                  // chunk length
constexpr int kBV = 64;                 // value columns per CTA
constexpr int kSlices = kD / kBV;       // CTAs per (sequence, head)
constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;

// Shared-memory row strides (elements), padded so ldmatrix rows fall in distinct banks.
constexpr int kLdK = kD + 8;    // bf16 [64][136]
constexpr int kLdV = kBV + 8;   // bf16 [*][72]
constexpr int kLdF = kC + 4;    // fp32 [64][68]

struct Smem {
  __nv_bfloat16 k[kC * kLdK];     // chunk keys
  __nv_bfloat16 q[kC * kLdK];     // chunk queries
  __nv_bfloat16 kb[kC * kLdK];    // beta*G*K, later (G_C/G)*K
  __nv_bfloat16 w[kC * kLdK];     // W
  __nv_bfloat16 v[kC * kLdV];     // beta*V slice
  __nv_bfloat16 s[kD * kLdV];     // bf16 copy of the state slice, [k][v]
  __nv_bfloat16 u[kC * kLdV];     // U'
  __nv_bfloat16 p[kC * kLdV];     // masked, decayed Q K^T
  __nv_bfloat16 tb[kC * kLdV];    // T in bf16 (the A operand of W and U)
  float a[kC * kLdF];             // A, then the state staging area (see below)
  float t[kC * kLdF];             // T (fp32)
  float x[3][16][16];             // sum_k A_{r,k} T_{k,c} for the off-diagonal blocks of one block row
  float cum[kC];                  // log G (inclusive prefix sums of log g)
  float beta[kC];
};
// The state slice is staged through a and t (contiguous) when loaded and stored: 64 x 128 fp32.
static_assert(2 * kC * kLdF >= kBV * kD, "state staging does not fit");

__device__ __forceinline__ float softplus_torch(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
// A token's gates, as every prefill path computes them: log g = -exp(A_log[h]) softplus(a + dt_bias[h])
// (neg_exp_a_log = -exp(A_log[h])) and beta = sigmoid(b).
__device__ __forceinline__ float log_gate(float neg_exp_a_log, float a, float dt_bias) {
  return neg_exp_a_log * softplus_torch(a + dt_bias);
}
__device__ __forceinline__ float beta_gate(float b) { return 1.0f / (1.0f + expf(-b)); }

#include "mma_bf16.cuh"
#include "state_tile.cuh"

// Output rows before the first sequence and after the last are zero in the reference: the CTAs of
// sequence 0 and of the last sequence write them, Width value columns from v0.
template <int Width, int Threads = kThreads>
__device__ __forceinline__ void zero_rows_outside_sequences(__nv_bfloat16* output, int h, int v0, int64_t n,
                                                            int64_t num_seqs, int64_t bos, int64_t eos,
                                                            int64_t total, int tid) {
  constexpr int kPieces = Width / 8;
  const int64_t head_end = n == 0 ? (bos < total ? bos : total) : 0;            // [0, bos) of sequence 0
  const int64_t tail_begin = n == num_seqs - 1 ? (eos > 0 ? eos : 0) : total;   // [eos, T) of the last one
  for (int64_t t = tid / kPieces; t < head_end; t += Threads / kPieces) {
    *reinterpret_cast<uint4*>(output + (t * kNumVHeads + h) * kD + v0 + (tid % kPieces) * 8) = make_uint4(0, 0, 0, 0);
  }
  for (int64_t t = tail_begin + tid / kPieces; t < total; t += Threads / kPieces) {
    *reinterpret_cast<uint4*>(output + (t * kNumVHeads + h) * kD + v0 + (tid % kPieces) * 8) = make_uint4(0, 0, 0, 0);
  }
}

// An empty sequence's final state: zero, as the reference leaves it (Width rows [v] of kD floats
// from out_state, written by Threads threads).
template <int Width, int Threads>
__device__ __forceinline__ void zero_state_rows(float* out_state, int tid) {
  for (int i = tid; i < Width * kD / 4; i += Threads) reinterpret_cast<float4*>(out_state)[i] = make_float4(0.f, 0.f, 0.f, 0.f);
}

// Tokens in chunk i of the sequence [bos, eos): kC except in its last chunk.
__device__ __forceinline__ int chunk_length(int64_t bos, int64_t eos, int i) {
  const int64_t left = eos - (bos + static_cast<int64_t>(i) * kC);
  return static_cast<int>(left < kC ? left : kC);
}

// The sequence a CTA of launch rank `rank` works on: the rank-th longest (ties by lower index) when
// rank_by_length (and 1 < num_seqs <= MaxSeqs), else sequence `rank`. Longest first is the longest-
// processing-time order: CTAs start in rank order, so the longest chains start in the first wave and
// the short ones fill the SMs behind them instead of a long chain starting last. cu (num_seqs + 1
// long longs) and *chosen are shared-memory scratch; every one of the Threads threads calls it, and
// it ends with a barrier.
// Sequence n's rank by length, longest first (ties in sequence order), from cu_seqlens in shared
// memory: the sequences that come before it.
__device__ __forceinline__ int64_t length_rank(const long long* cu, int64_t num_seqs, int64_t n) {
  const long long len_n = cu[n + 1] - cu[n];
  int64_t longer = 0;
  for (int64_t j = 0; j < num_seqs; ++j) {
    const long long len_j = cu[j + 1] - cu[j];
    longer += (len_j > len_n) || (len_j == len_n && j < n);
  }
  return longer;
}
template <int Threads, int64_t MaxSeqs>
__device__ __forceinline__ int64_t sequence_of_rank(int64_t rank, bool rank_by_length, const int64_t* cu_seqlens,
                                                    int64_t num_seqs, long long* cu, long long* chosen, int tid) {
  if (rank_by_length && num_seqs > 1 && num_seqs <= MaxSeqs) {
    for (int64_t i = tid; i <= num_seqs; i += Threads) cu[i] = cu_seqlens[i];
    __syncthreads();
    for (int64_t n = tid; n < num_seqs; n += Threads) {
      if (length_rank(cu, num_seqs, n) == rank) *chosen = n;
    }
  } else if (tid == 0) {
    *chosen = rank;
  }
  __syncthreads();
  return *chosen;
}

// The whole CTA's barrier: solve_unit_lower's default; the fused kernel passes its prep warps' own.
struct BlockSync {
  __device__ __forceinline__ void operator()() const { __syncthreads(); }
};

// exp of a log-decay difference (<= 0) in the chunk-local products: the ex2.approx path with
// GDN_PREFILL_FAST_PREP (2 instructions instead of ~10; relative error ~1e-6 at |x| <= 20, far
// inside the 1e-2 tolerance), the accurate expf without.
__device__ __forceinline__ float decay_exp(float x) {
#if GDN_PREFILL_FAST_PREP
  return __expf(x);
#else
  return expf(x);
#endif
}
// decay_exp(x) where keep, else 0, without a branch under GDN_PREFILL_FAST_PREP: ex2.approx.ftz of
// x log2(e), or of -inf (which it maps to +0). The same value as __expf for results above 2^-126
// (__expf's non-ftz ex2 only adds a rescaling path for denormal results; here they flush to zero,
// far below the tolerance's reach). Without FAST_PREP: expf, selected.
__device__ __forceinline__ float decay_exp_or_zero(bool keep, float x) {
#if GDN_PREFILL_FAST_PREP
  const float arg = keep ? x * 1.4426950408889634f : -__int_as_float(0x7f800000);
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(arg));
  return y;
#else
  return keep ? expf(x) : 0.f;
#endif
}

// T's entry (r, c) for the consumers of solve_unit_lower: zero in the strictly upper 16x16 blocks,
// which the blocked solve leaves unwritten or uses as scratch (a select, so scratch never leaks).
__device__ __forceinline__ float t_lower(const float* t, int r, int c) {
  return (c >> 4) > (r >> 4) ? 0.f : t[r * kLdF + c];
}

// acc[16 x 8*NT] += (T diag(f))[m0..m0+16, :] * B for the solve's T (fp32, row stride kLdF) and B a
// row-major [64][*] bf16 matrix from column n0 (row stride ldb): the A fragments come straight from T
// with the column factors applied (load_a_f32_scaled), and the k-blocks right of the warp's own 16-row
// block are skipped (zero in T, scratch in its storage: what t_lower reads as zero). m0 is a multiple
// of 16. The same products and roundings as a bf16 copy of T diag(f) through gemm_rowA.
template <int NT>
__device__ __forceinline__ void gemm_t_lower(float (&acc)[NT][4], const float* t, const float* f, int m0,
                                             const __nv_bfloat16* b, int ldb, int n0, int lane) {
#pragma unroll
  for (int k0 = 0; k0 < kC; k0 += 16) {
    if (k0 > m0) break;
    uint32_t af[4];
    load_a_f32_scaled(af, t, kLdF, m0, k0, f, lane);
#pragma unroll
    for (int nt = 0; nt < NT; nt += 2) {
      uint32_t bf[4];
      load_b_cols(bf, b, ldb, n0 + nt * 8, k0, lane);
      mma_bf16(acc[nt], af, bf[0], bf[1]);
      mma_bf16(acc[nt + 1], af, bf[2], bf[3]);
    }
  }
}

// acc += (T diag(f))[m0..m0+16, :] * B, the W and U products of both preps: A fragments from the fp32
// T with GDN_PREFILL_PREP_T_FRAGS (gemm_t_lower; t_scaled unused), else from t_scaled, the bf16 copy of
// T diag(f) (row stride kLdV) the caller wrote.
template <int NT>
__device__ __forceinline__ void gemm_t_scaled(float (&acc)[NT][4], const float* t, const float* f,
                                              const __nv_bfloat16* t_scaled, int m0, const __nv_bfloat16* b, int ldb,
                                              int n0, int lane) {
#if GDN_PREFILL_PREP_T_FRAGS
  gemm_t_lower(acc, t, f, m0, b, ldb, n0, lane);
#else
  gemm_rowA<NT, kC, false>(acc, t_scaled, kLdV, m0, b, ldb, n0, lane);
#endif
}

#if GDN_PREFILL_SOLVE_MMA
// --- tf32 tensor-core pieces of the solve (GDN_PREFILL_SOLVE_MMA) ----------------------------------
// Fragments of mma.sync m16n8k8 (tf32): A 16x8 (a0: row g, col tq; a1: row g+8, col tq; a2 / a3: the
// same rows, col tq+4), B 8x8 (b0: k row tq, col g; b1: k row tq+4), C 16x8 (c0 / c1: row g, cols 2tq
// and 2tq+1; c2 / c3: row g+8), with g = lane / 4 and tq = lane % 4.
__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
}
__device__ __forceinline__ void mma_tf32(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// The A fragment at (r0, k0) of an fp32 row-major matrix with row stride ld.
__device__ __forceinline__ void tf32_frag_a(uint32_t a[4], const float* m, int ld, int r0, int k0, int lane) {
  const int g = lane >> 2, tq = lane & 3;
  a[0] = to_tf32(m[(r0 + g) * ld + k0 + tq]);
  a[1] = to_tf32(m[(r0 + g + 8) * ld + k0 + tq]);
  a[2] = to_tf32(m[(r0 + g) * ld + k0 + tq + 4]);
  a[3] = to_tf32(m[(r0 + g + 8) * ld + k0 + tq + 4]);
}
// The B fragment at (k0, n0) of an fp32 row-major [k][n] matrix with row stride ld.
__device__ __forceinline__ void tf32_frag_b(uint32_t b[2], const float* m, int ld, int k0, int n0, int lane) {
  const int g = lane >> 2, tq = lane & 3;
  b[0] = to_tf32(m[(k0 + tq) * ld + n0 + g]);
  b[1] = to_tf32(m[(k0 + tq + 4) * ld + n0 + g]);
}
// A C tile (16x8, fp32) of this warp as the A fragment of the next product (its 8 columns are the
// next product's k): lane (g, tq) needs columns tq and tq+4 of rows g and g+8, held by lanes
// (g, tq / 2) and (g, 2 + tq / 2) as their element tq & 1.
__device__ __forceinline__ void tf32_c_to_a(uint32_t a[4], const float c[4], int lane) {
  const int tq = lane & 3;
  const int src0 = (lane & ~3) | (tq >> 1), src1 = (lane & ~3) | (2 + (tq >> 1));
  const bool odd = tq & 1;
  const float r0c0 = __shfl_sync(0xffffffffu, c[0], src0), r0c1 = __shfl_sync(0xffffffffu, c[1], src0);
  const float r1c0 = __shfl_sync(0xffffffffu, c[2], src0), r1c1 = __shfl_sync(0xffffffffu, c[3], src0);
  const float r0c4 = __shfl_sync(0xffffffffu, c[0], src1), r0c5 = __shfl_sync(0xffffffffu, c[1], src1);
  const float r1c4 = __shfl_sync(0xffffffffu, c[2], src1), r1c5 = __shfl_sync(0xffffffffu, c[3], src1);
  a[0] = to_tf32(odd ? r0c1 : r0c0);
  a[1] = to_tf32(odd ? r1c1 : r1c0);
  a[2] = to_tf32(odd ? r0c5 : r0c4);
  a[3] = to_tf32(odd ? r1c5 : r1c4);
}
// -C (NT tiles of 16x8 from (r0, n0)) into an fp32 row-major matrix with row stride ld.
template <int NT>
__device__ __forceinline__ void tf32_store_negated(float* m, int ld, int r0, int n0, const float (&c)[NT][4], int lane) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    *reinterpret_cast<float2*>(m + (r0 + g) * ld + n0 + nt * 8 + 2 * tq) = make_float2(-c[nt][0], -c[nt][1]);
    *reinterpret_cast<float2*>(m + (r0 + g + 8) * ld + n0 + nt * 8 + 2 * tq) = make_float2(-c[nt][2], -c[nt][3]);
  }
}
#endif

__device__ __forceinline__ void fma4(float4& acc, float s, const float4& v) {
  acc.x = fmaf(s, v.x, acc.x);
  acc.y = fmaf(s, v.y, acc.y);
  acc.z = fmaf(s, v.z, acc.z);
  acc.w = fmaf(s, v.w, acc.w);
}

// The solve's block-product step on a strip of 4 columns: x += row[0..16) . m (16 rows of 4 floats,
// ld apart), or x -= with Subtract; row and each m row are float4-aligned. In order of the 16 terms.
template <bool Subtract>
__device__ __forceinline__ void strip_dot16(float4& x, const float* row, const float* m, int ld) {
#pragma unroll
  for (int k = 0; k < 16; k += 4) {
    const float4 r = *reinterpret_cast<const float4*>(row + k);
    const float* mk = m + k * ld;
    fma4(x, Subtract ? -r.x : r.x, *reinterpret_cast<const float4*>(mk));
    fma4(x, Subtract ? -r.y : r.y, *reinterpret_cast<const float4*>(mk + ld));
    fma4(x, Subtract ? -r.z : r.z, *reinterpret_cast<const float4*>(mk + 2 * ld));
    fma4(x, Subtract ? -r.w : r.w, *reinterpret_cast<const float4*>(mk + 3 * ld));
  }
}

// No work for the solve's idle threads (solve_unit_lower's default).
struct NoIdleWork {
  __device__ __forceinline__ void operator()(int) const {}
};

// T = (I + A)^-1 for a strictly lower triangular 64x64 A (fp32, row stride kLdF), by Threads
// threads (tid < Threads; partial: 3 x 16 x 16 floats of scratch) that meet at `sync`; ends with
// it. Diagonal 16x16 blocks by substitution (one thread per block column), then the off-diagonal
// blocks one block row at a time, or with GDN_PREFILL_SOLVE_BLOCKED by doubling (the strictly upper
// blocks then hold scratch: read T through t_lower). While the first 64 threads substitute, each of
// the others calls idle(tid - 64) once: work of the caller's that reads neither A nor T.
template <int Threads = kThreads, typename Sync = BlockSync, typename Idle = NoIdleWork>
__device__ __forceinline__ void solve_unit_lower(const float* a, float* t, float (*partial)[16][16], int tid,
                                                 Sync sync = Sync{}, Idle idle = Idle{}) {
#if GDN_PREFILL_FAST_PREP
  // The same substitution and block products with fewer instructions per FMA: no per-term branch in
  // the diagonal blocks (col[m] is 0 for m < j, so those terms vanish), rows read as float4, and
  // each off-diagonal work item a strip of 4 columns (a float4 of T per term instead of a scalar).
  if (tid >= 64) idle(tid - 64);
  if (tid < 64) {
    const int blk = tid >> 4, j = tid & 15, base = blk * 16;
    float col[16];
#pragma unroll
    for (int i = 0; i < 16; ++i) {
      const float4* arow = reinterpret_cast<const float4*>(a + (base + i) * kLdF + base);
      float x = i == j ? 1.f : 0.f;
#pragma unroll
      for (int m4 = 0; m4 < 4; ++m4) {
        if (4 * m4 < i) {
          const float4 av = arow[m4];
          x -= av.x * col[4 * m4];
          if (4 * m4 + 1 < i) x -= av.y * col[4 * m4 + 1];
          if (4 * m4 + 2 < i) x -= av.z * col[4 * m4 + 2];
          if (4 * m4 + 3 < i) x -= av.w * col[4 * m4 + 3];
        }
      }
      col[i] = x;
    }
#pragma unroll
    for (int i = 0; i < 16; ++i) t[(base + i) * kLdF + base + j] = col[i];
  }
#if GDN_PREFILL_SOLVE_MMA
  sync();
  {
    const int warp = tid >> 5, lane = tid & 31;
    // Level 1, warps 0 and 1 (half base 0 and 32): X = T_11 A_10, then T_10 = -X T_00, X kept in
    // registers (its C tiles become the A fragments of the second product).
    if (warp < 2) {
      const int base = warp * 32;
      float x[2][4] = {};
#pragma unroll
      for (int ks = 0; ks < 2; ++ks) {
        uint32_t af[4];
        tf32_frag_a(af, t, kLdF, base + 16, base + 16 + ks * 8, lane);
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
          uint32_t bf[2];
          tf32_frag_b(bf, a, kLdF, base + 16 + ks * 8, base + nt * 8, lane);
          mma_tf32(x[nt], af, bf[0], bf[1]);
        }
      }
      float y[2][4] = {};
#pragma unroll
      for (int ks = 0; ks < 2; ++ks) {
        uint32_t af[4];
        tf32_c_to_a(af, x[ks], lane);
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
          uint32_t bf[2];
          tf32_frag_b(bf, t, kLdF, base + ks * 8, base + nt * 8, lane);
          mma_tf32(y[nt], af, bf[0], bf[1]);
        }
      }
      tf32_store_negated(t, kLdF, base + 16, base, y, lane);
    }
    sync();
    // Level 2, warps 0-3 (row half r, column half c of the lower-left 32x32 block):
    // X_r = T_BB[r rows] A_BA (16 x 32; T_BB's block above the diagonal skipped), then
    // T_BA[r][c] = -X_r T_AA[:, c] (T_AA's block above the diagonal skipped). Both column halves'
    // warps compute X_r, so no warp waits for another.
    if (warp < 4) {
      const int r = warp >> 1, c = warp & 1;
      float x[4][4] = {};
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) {
        if (r == 0 && ks >= 2) break;  // T_BB rows 32-47 are zero in columns 48-63
        uint32_t af[4];
        tf32_frag_a(af, t, kLdF, 32 + 16 * r, 32 + ks * 8, lane);
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) {
          uint32_t bf[2];
          tf32_frag_b(bf, a, kLdF, 32 + ks * 8, nt * 8, lane);
          mma_tf32(x[nt], af, bf[0], bf[1]);
        }
      }
      float y[2][4] = {};
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) {
        if (c == 1 && ks < 2) continue;  // T_AA rows 0-15 are zero in columns 16-31
        uint32_t af[4];
        tf32_c_to_a(af, x[ks], lane);
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
          uint32_t bf[2];
          tf32_frag_b(bf, t, kLdF, ks * 8, 16 * c + nt * 8, lane);
          mma_tf32(y[nt], af, bf[0], bf[1]);
        }
      }
      tf32_store_negated(t, kLdF, 32 + 16 * r, 16 * c, y, lane);
    }
    sync();
  }
#elif GDN_PREFILL_SOLVE_BLOCKED
  sync();
  // Level 1: in each 32x32 half (base 0 and 32), T_10 = -T_11 (A_10 T_00); X in partial[half].
  for (int e = tid; e < 2 * 64; e += Threads) {
    const int half = e >> 6, r = (e >> 2) & 15, c4 = (e & 3) * 4, base = half * 32;
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
    strip_dot16<false>(x, a + (base + 16 + r) * kLdF + base, t + base * kLdF + base + c4, kLdF);
    *reinterpret_cast<float4*>(&partial[half][r][c4]) = x;
  }
  sync();
  for (int e = tid; e < 2 * 64; e += Threads) {
    const int half = e >> 6, r = (e >> 2) & 15, c4 = (e & 3) * 4, base = half * 32;
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
    // T_11 (zeros above its diagonal) times X
    strip_dot16<true>(x, t + (base + 16 + r) * kLdF + base + 16, &partial[half][0][c4], 16);
    *reinterpret_cast<float4*>(t + (base + 16 + r) * kLdF + base + c4) = x;
  }
  sync();
  // Level 2: T_BA = -T_BB (A_BA T_AA) for the 32x32 blocks; Y = A_BA T_AA is parked in T's upper
  // right 32x32 block (rows 0-31, columns 32-63: strictly upper, never read as T).
  for (int e = tid; e < 256; e += Threads) {
    const int r = e >> 3, c4 = (e & 7) * 4;
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
    // T_AA is block lower triangular: its rows 0-15 are zero in columns 16-31.
    for (int k = c4 >= 16 ? 16 : 0; k < 32; k += 16) strip_dot16<false>(x, a + (32 + r) * kLdF + k, t + k * kLdF + c4, kLdF);
    *reinterpret_cast<float4*>(t + r * kLdF + 32 + c4) = x;
  }
  sync();
  for (int e = tid; e < 256; e += Threads) {
    const int r = e >> 3, c4 = (e & 7) * 4;
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
    // T_BB is block lower triangular: row r reads its blocks up to its own.
    for (int k = 0; k < (r < 16 ? 16 : 32); k += 16) strip_dot16<true>(x, t + (32 + r) * kLdF + 32 + k, t + k * kLdF + 32 + c4, kLdF);
    *reinterpret_cast<float4*>(t + (32 + r) * kLdF + c4) = x;
  }
  sync();
#else
  // zero the strictly upper blocks of T, a float4 at a time
  for (int e = tid; e < kC * (kC / 4); e += Threads) {
    const int r = e >> 4, c4 = (e & 15) * 4;
    if ((c4 >> 4) > (r >> 4)) *reinterpret_cast<float4*>(t + r * kLdF + c4) = make_float4(0.f, 0.f, 0.f, 0.f);
  }
  sync();
  for (int rb = 1; rb < 4; ++rb) {
    for (int e = tid; e < rb * 64; e += Threads) {
      const int cb = e >> 6, r = (e >> 2) & 15, c4 = (e & 3) * 4;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      for (int kb = cb; kb < rb; ++kb) {
        strip_dot16<false>(x, a + (rb * 16 + r) * kLdF + kb * 16, t + kb * 16 * kLdF + cb * 16 + c4, kLdF);
      }
      *reinterpret_cast<float4*>(&partial[cb][r][c4]) = x;
    }
    sync();
    for (int e = tid; e < rb * 64; e += Threads) {
      const int cb = e >> 6, r = (e >> 2) & 15, c4 = (e & 3) * 4;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      // T_rr (zeros above its diagonal) times X
      strip_dot16<true>(x, t + (rb * 16 + r) * kLdF + rb * 16, &partial[cb][0][c4], 16);
      *reinterpret_cast<float4*>(t + (rb * 16 + r) * kLdF + cb * 16 + c4) = x;
    }
    sync();
  }
#endif  // GDN_PREFILL_SOLVE_MMA / GDN_PREFILL_SOLVE_BLOCKED
#else
  if (tid >= 64) idle(tid - 64);
  if (tid < 64) {
    const int blk = tid >> 4, j = tid & 15, base = blk * 16;
    float col[16];
#pragma unroll
    for (int i = 0; i < 16; ++i) {
      float x = i == j ? 1.f : 0.f;
      if (i > j) {
#pragma unroll
        for (int m = 0; m < 16; ++m) {
          if (m >= j && m < i) x -= a[(base + i) * kLdF + base + m] * col[m];
        }
      }
      col[i] = x;
    }
#pragma unroll
    for (int i = 0; i < 16; ++i) t[(base + i) * kLdF + base + j] = col[i];
  }
  // zero the strictly upper blocks of T
  for (int i = tid; i < kC * kC; i += Threads) {
    const int r = i / kC, c = i % kC;
    if ((c >> 4) > (r >> 4)) t[r * kLdF + c] = 0.f;
  }
  sync();
  // off-diagonal blocks, one block row at a time: T_rb = -T_rr * X, X = sum_{kb=b..r-1} A_{r,kb} T_{kb,b}.
  // Inner loops are fixed 16-wide and unrolled so the shared-memory loads pipeline (a runtime-bounded
  // version cost ~10 us per chunk in exposed load latency).
  for (int rb = 1; rb < 4; ++rb) {
    for (int e = tid; e < rb * 256; e += Threads) {
      const int cb = e >> 8, r = (e >> 4) & 15, c = e & 15;
      const float* arow = a + (rb * 16 + r) * kLdF;
      float x = 0.f;
      for (int kb = cb; kb < rb; ++kb) {
#pragma unroll
        for (int mm = 0; mm < 16; ++mm) x += arow[kb * 16 + mm] * t[(kb * 16 + mm) * kLdF + cb * 16 + c];
      }
      partial[cb][r][c] = x;
    }
    sync();
    for (int e = tid; e < rb * 256; e += Threads) {
      const int cb = e >> 8, r = (e >> 4) & 15, c = e & 15;
      const float* trow = t + (rb * 16 + r) * kLdF + rb * 16;
      float x = 0.f;
#pragma unroll
      for (int m = 0; m < 16; ++m) x -= trow[m] * partial[cb][m][c];  // T_rr is lower triangular: zeros above
      t[(rb * 16 + r) * kLdF + cb * 16 + c] = x;
    }
    sync();
  }
#endif
}

__global__ void __launch_bounds__(kThreads, 1)
gdn_prefill_chunk_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                         const __nv_bfloat16* __restrict__ v, const float* __restrict__ state,
                         const float* __restrict__ A_log, const __nv_bfloat16* __restrict__ a_in,
                         const float* __restrict__ dt_bias, const __nv_bfloat16* __restrict__ b_in,
                         const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                         __nv_bfloat16* __restrict__ output, float* __restrict__ new_state) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Smem& sm = *reinterpret_cast<Smem*>(smem_raw);

  const int slice = blockIdx.x % kSlices;
  const int h = (blockIdx.x / kSlices) % kNumVHeads;
  const int64_t n = blockIdx.x / (kSlices * kNumVHeads);
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int v0 = slice * kBV;
  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int g = lane >> 2;       // accumulator row within an m16 tile (and +8)
  const int tq = lane & 3;       // accumulator column pair within an n8 tile

  const int64_t bos = cu_seqlens[n];
  const int64_t eos = cu_seqlens[n + 1];
  float* out_state = new_state + ((n * kNumVHeads + h) * kD + v0) * kD;  // rows v0..v0+63 of [v][k]

  zero_rows_outside_sequences<kBV>(output, h, v0, n, num_seqs, bos, eos, total, tid);

  if (eos <= bos) {
    // The reference skips empty sequences: their final state stays zero.
    zero_state_rows<kBV, kThreads>(out_state, tid);
    return;
  }

  // State slice S[d][c] = state[n][h][v0 + c][d] in accumulator fragments: warp w owns rows
  // d in [32w, 32w+32) as two m16 tiles, all 64 columns as eight n8 tiles.
  float s_acc[2][8][4];
  float* staging = sm.a;  // [64 v][128 k] fp32, spans a and t
  if (state != nullptr) {
    const float* src = state + ((n * kNumVHeads + h) * kD + v0) * kD;
#if GDN_PREFILL_ASYNC_LOAD
    for (int i = tid; i < kBV * kD / 4; i += kThreads) cp_async16(staging + 4 * i, src + 4 * i, 16);
    cp_async_wait_all();
#else
    for (int i = tid; i < kBV * kD / 4; i += kThreads) reinterpret_cast<float4*>(staging)[i] = reinterpret_cast<const float4*>(src)[i];
#endif
  } else {
    for (int i = tid; i < kBV * kD / 4; i += kThreads) reinterpret_cast<float4*>(staging)[i] = make_float4(0.f, 0.f, 0.f, 0.f);
  }
  __syncthreads();
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      const int d = warp * 32 + mt * 16 + g;
      const int c = nt * 8 + 2 * tq;
      s_acc[mt][nt][0] = staging[c * kD + d];
      s_acc[mt][nt][1] = staging[(c + 1) * kD + d];
      s_acc[mt][nt][2] = staging[c * kD + d + 8];
      s_acc[mt][nt][3] = staging[(c + 1) * kD + d + 8];
    }
  }
  __syncthreads();

  const float neg_exp_alog = -expf(A_log[h]);
  const float dtb = dt_bias[h];

  for (int64_t c0 = bos; c0 < eos; c0 += kC) {
    const int len = static_cast<int>(eos - c0 < kC ? eos - c0 : kC);

    // --- load the chunk: K, Q (head hk), V slice, gates; rows past len are zero -------------
#if GDN_PREFILL_ASYNC_LOAD
    for (int i = tid; i < kC * (kD / 8); i += kThreads) {
      const int r = i / (kD / 8), c = (i % (kD / 8)) * 8;
      const int64_t off = r < len ? ((c0 + r) * kNumQKHeads + hk) * kD + c : 0;
      cp_async16(sm.k + r * kLdK + c, k + off, r < len ? 16 : 0);
      cp_async16(sm.q + r * kLdK + c, q + off, r < len ? 16 : 0);
    }
    for (int i = tid; i < kC * (kBV / 8); i += kThreads) {
      const int r = i / (kBV / 8), c = (i % (kBV / 8)) * 8;
      const int64_t off = r < len ? ((c0 + r) * kNumVHeads + h) * kD + v0 + c : 0;
      cp_async16(sm.v + r * kLdV + c, v + off, r < len ? 16 : 0);
    }
#else
    for (int i = tid; i < kC * (kD / 8); i += kThreads) {
      const int r = i / (kD / 8), c = (i % (kD / 8)) * 8;
      uint4 kv = make_uint4(0, 0, 0, 0), qv = make_uint4(0, 0, 0, 0);
      if (r < len) {
        const int64_t off = ((c0 + r) * kNumQKHeads + hk) * kD + c;
        kv = *reinterpret_cast<const uint4*>(k + off);
        qv = *reinterpret_cast<const uint4*>(q + off);
      }
      *reinterpret_cast<uint4*>(sm.k + r * kLdK + c) = kv;
      *reinterpret_cast<uint4*>(sm.q + r * kLdK + c) = qv;
    }
#endif
    if (tid < kC) {
      float lg = 0.f, bt = 0.f;
      if (tid < len) {
        const int64_t gi = (c0 + tid) * kNumVHeads + h;
        lg = log_gate(neg_exp_alog, __bfloat162float(a_in[gi]), dtb);
        bt = beta_gate(__bfloat162float(b_in[gi]));
      }
      sm.cum[tid] = lg;
      sm.beta[tid] = bt;
    }
#if GDN_PREFILL_ASYNC_LOAD
    cp_async_wait_all();
#endif
    __syncthreads();
    if (tid == 0) {
      float run = 0.f;
      for (int i = 0; i < kC; ++i) { run += sm.cum[i]; sm.cum[i] = run; }
    }
#if !GDN_PREFILL_ASYNC_LOAD
    // V slice
    for (int i = tid; i < kC * (kBV / 8); i += kThreads) {
      const int r = i / (kBV / 8), c = (i % (kBV / 8)) * 8;
      uint4 vv = make_uint4(0, 0, 0, 0);
      if (r < len) vv = *reinterpret_cast<const uint4*>(v + ((c0 + r) * kNumVHeads + h) * kD + v0 + c);
      *reinterpret_cast<uint4*>(sm.v + r * kLdV + c) = vv;
    }
#endif
    __syncthreads();
    for (int i = tid; i < kC * (kBV / 2); i += kThreads) {
      const int r = i / (kBV / 2), c = (i % (kBV / 2)) * 2;
      const float2 x = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(sm.v + r * kLdV + c));
      store_bf16x2(sm.v + r * kLdV + c, sm.beta[r] * x.x, sm.beta[r] * x.y);
    }
    // beta * G * K
    for (int i = tid; i < kC * (kD / 2); i += kThreads) {
      const int r = i / (kD / 2), c = (i % (kD / 2)) * 2;
      const float f = sm.beta[r] * expf(sm.cum[r]);
      const float2 x = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(sm.k + r * kLdK + c));
      store_bf16x2(sm.kb + r * kLdK + c, f * x.x, f * x.y);
    }

    // --- A = beta_i G_i/G_j k_i.k_j (i > j); P = G_i/G_j q_i.k_j (i >= j) ----------------
    {
      const int m0 = warp * 16;
      float kk[8][4], qk[8][4];
      zero(kk);
      zero(qk);
      gemm_rowA<8, kD, true>(kk, sm.k, kLdK, m0, sm.k, kLdK, 0, lane);
      gemm_rowA<8, kD, true>(qk, sm.q, kLdK, m0, sm.k, kLdK, 0, lane);
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int i = m0 + g + (e >> 1) * 8;
          const int j = nt * 8 + 2 * tq + (e & 1);
          const float decay = i >= j ? expf(sm.cum[i] - sm.cum[j]) : 0.f;
          sm.a[i * kLdF + j] = i > j ? sm.beta[i] * decay * kk[nt][e] : 0.f;
          qk[nt][e] *= decay;
        }
        store_bf16x2(sm.p + (m0 + g) * kLdV + nt * 8 + 2 * tq, qk[nt][0], qk[nt][1]);
        store_bf16x2(sm.p + (m0 + g + 8) * kLdV + nt * 8 + 2 * tq, qk[nt][2], qk[nt][3]);
      }
    }
    __syncthreads();

    solve_unit_lower(sm.a, sm.t, sm.x, tid);
    for (int i = tid; i < kC * (kC / 2); i += kThreads) {
      const int r = i / (kC / 2), c = (i % (kC / 2)) * 2;
      store_bf16x2(sm.tb + r * kLdV + c, t_lower(sm.t, r, c), t_lower(sm.t, r, c + 1));
    }
    __syncthreads();

    // --- W = T (beta G K) -> smem (bf16) ------------------------------------------------------
    {
      const int m0 = warp * 16;
      float w[16][4];
      zero(w);
      gemm_rowA<16, kC, false>(w, sm.tb, kLdV, m0, sm.kb, kLdK, 0, lane);
      store_tile_bf16(sm.w, kLdK, m0, 0, w, lane);
    }
    // bf16 copy of the state for the products that read it
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        const int d = warp * 32 + mt * 16 + g;
        const int c = nt * 8 + 2 * tq;
        store_bf16x2(sm.s + d * kLdV + c, s_acc[mt][nt][0], s_acc[mt][nt][1]);
        store_bf16x2(sm.s + (d + 8) * kLdV + c, s_acc[mt][nt][2], s_acc[mt][nt][3]);
      }
    }
    __syncthreads();

    // --- U' = T (beta V) - W S;  O = scale (diag(G) Q S + P U') ---------------------------------
    {
      const int m0 = warp * 16;
      float u[8][4], ws[8][4];
      zero(u);
      zero(ws);
      gemm_rowA<8, kC, false>(u, sm.tb, kLdV, m0, sm.v, kLdV, 0, lane);
      gemm_rowA<8, kD, false>(ws, sm.w, kLdK, m0, sm.s, kLdV, 0, lane);
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        store_bf16x2(sm.u + (m0 + g) * kLdV + nt * 8 + 2 * tq, u[nt][0] - ws[nt][0], u[nt][1] - ws[nt][1]);
        store_bf16x2(sm.u + (m0 + g + 8) * kLdV + nt * 8 + 2 * tq, u[nt][2] - ws[nt][2], u[nt][3] - ws[nt][3]);
      }
    }
    __syncthreads();
    {
      const int m0 = warp * 16;
      float qs[8][4], pu[8][4];
      zero(qs);
      zero(pu);
      gemm_rowA<8, kD, false>(qs, sm.q, kLdK, m0, sm.s, kLdV, 0, lane);
      gemm_rowA<8, kC, false>(pu, sm.p, kLdV, m0, sm.u, kLdV, 0, lane);
      store_output_tile(output, c0, len, m0, h, v0, scale, expf(sm.cum[m0 + g]), expf(sm.cum[m0 + g + 8]), qs, pu, lane);
    }
    // (G_C / G_j) K_j for the state update (kb is free again)
    {
      const float last = sm.cum[kC - 1];
      for (int i = tid; i < kC * (kD / 2); i += kThreads) {
        const int r = i / (kD / 2), c = (i % (kD / 2)) * 2;
        const float f = expf(last - sm.cum[r]);
        const float2 x = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(sm.k + r * kLdK + c));
        store_bf16x2(sm.kb + r * kLdK + c, f * x.x, f * x.y);
      }
    }
    __syncthreads();

    // --- S = G_C S + ((G_C/G) K)^T U' ------------------------------------------------------------
    {
      const float gc = expf(sm.cum[kC - 1]);
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
        for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) s_acc[mt][nt][e] *= gc;
        }
        const int m0 = warp * 32 + mt * 16;
#pragma unroll
        for (int k0 = 0; k0 < kC; k0 += 16) {
          uint32_t af[4];
          load_a_trans(af, sm.kb, kLdK, m0, k0, lane);
#pragma unroll
          for (int nt = 0; nt < 8; nt += 2) {
            uint32_t bf[4];
            load_b_cols(bf, sm.u, kLdV, nt * 8, k0, lane);
            mma_bf16(s_acc[mt][nt], af, bf[0], bf[1]);
            mma_bf16(s_acc[mt][nt + 1], af, bf[2], bf[3]);
          }
        }
      }
    }
    __syncthreads();
  }

  // --- final state: fragments -> staging [v][k] -> new_state (coalesced) ------------------------
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      const int d = warp * 32 + mt * 16 + g;
      const int c = nt * 8 + 2 * tq;
      staging[c * kD + d] = s_acc[mt][nt][0];
      staging[(c + 1) * kD + d] = s_acc[mt][nt][1];
      staging[c * kD + d + 8] = s_acc[mt][nt][2];
      staging[(c + 1) * kD + d + 8] = s_acc[mt][nt][3];
    }
  }
  __syncthreads();
  for (int i = tid; i < kBV * kD / 4; i += kThreads) reinterpret_cast<float4*>(out_state)[i] = reinterpret_cast<const float4*>(staging)[i];
}

#include "two_pass.cuh"
#include "fused.cuh"
#include "recurrent.cuh"
#include "scan_split.cuh"
#include "scan_persist.cuh"
#include "scan_apart.cuh"

bool check(bool ok, const char* what) { return afg::expect(ok, "gdn_prefill_qk4_v8_d128_k_last", what); }

// The current device's SM count, asked once per device and process (a call's launch plan reads it;
// no device synchronization). 0 when it cannot be asked: the query's own error is cleared, so it is
// not taken for a launch error later.
int sm_count() {
  static int by_device[64] = {};
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= 64) {
    (void)cudaGetLastError();
    return 0;
  }
  int& sms = by_device[device];
  if (sms == 0 && cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
    sms = 0;
    (void)cudaGetLastError();
  }
  return sms;
}

}  // namespace

void run(afg::Tensor q, afg::Tensor k, afg::Tensor v, afg::Tensor state, afg::Tensor A_log,
         afg::Tensor a, afg::Tensor dt_bias, afg::Tensor b, afg::Tensor cu_seqlens, float scale,
         afg::Tensor output, afg::Tensor new_state, cudaStream_t stream) {
  using afg::DType;
  if (!check(q.rank == 3 && q.dtype == DType::BFloat16, "q rank/dtype")) return;
  const int64_t T = q.size(0);
  if (!check(q.size(1) == kNumQKHeads && q.size(2) == kD, "q shape")) return;
  if (!check(k.rank == 3 && k.dtype == DType::BFloat16 && k.size(0) == T && k.size(1) == kNumQKHeads &&
                 k.size(2) == kD, "k shape/dtype")) return;
  if (!check(v.rank == 3 && v.dtype == DType::BFloat16 && v.size(0) == T && v.size(1) == kNumVHeads &&
                 v.size(2) == kD, "v shape/dtype")) return;
  if (!check(cu_seqlens.rank == 1 && cu_seqlens.dtype == DType::Int64 && cu_seqlens.size(0) >= 1,
             "cu_seqlens")) return;
  const int64_t N = cu_seqlens.size(0) - 1;
  if (state.present() &&
      !check(state.rank == 4 && state.dtype == DType::Float32 && state.size(0) == N &&
                 state.size(1) == kNumVHeads && state.size(2) == kD && state.size(3) == kD,
             "state shape/dtype")) return;
  if (!check(A_log.rank == 1 && A_log.dtype == DType::Float32 && A_log.size(0) == kNumVHeads, "A_log")) return;
  if (!check(a.rank == 2 && a.dtype == DType::BFloat16 && a.size(0) == T && a.size(1) == kNumVHeads, "a")) return;
  if (!check(dt_bias.rank == 1 && dt_bias.dtype == DType::Float32 && dt_bias.size(0) == kNumVHeads, "dt_bias")) return;
  if (!check(b.rank == 2 && b.dtype == DType::BFloat16 && b.size(0) == T && b.size(1) == kNumVHeads, "b")) return;
  if (!check(output.rank == 3 && output.dtype == DType::BFloat16 && output.size(0) == T &&
                 output.size(1) == kNumVHeads && output.size(2) == kD, "output")) return;
  if (!check(new_state.rank == 4 && new_state.dtype == DType::Float32 && new_state.size(0) == N &&
                 new_state.size(1) == kNumVHeads && new_state.size(2) == kD &&
                 new_state.size(3) == kD, "new_state")) return;
  if (scale == 0.0f) scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(kD)));
  if (N == 0) {
    if (T > 0) AFG_CUDA_CHECK(cudaMemsetAsync(output.data, 0, static_cast<size_t>(T) * kNumVHeads * kD * sizeof(__nv_bfloat16), stream));
    return;
  }
  if (!check(N * kNumVHeads * kSlices <= 0x7fffffffLL, "number of sequences")) return;

  // The fused kernel (fused.cuh) with value slices of BV columns: a CTA per (sequence rank, head,
  // slice), longest sequence first (ranked in-kernel).
  [[maybe_unused]] const auto launch_fused = [&](auto bv) -> cudaError_t {
    constexpr int BV = decltype(bv)::value;
    if (!check(N * kNumVHeads * (kD / BV) <= 0x7fffffffLL, "number of sequences")) return cudaSuccess;
    const int fused_smem = static_cast<int>(sizeof(FusedSmem<BV>));
    const cudaError_t allowed = afg::allow_dynamic_smem<gdn_prefill_fused_kernel<BV>>(fused_smem);
    if (allowed != cudaSuccess) return allowed;
    gdn_prefill_fused_kernel<BV><<<static_cast<unsigned>(N * kNumVHeads * (kD / BV)), kFusedThreads, fused_smem, stream>>>(
        q.ptr<const __nv_bfloat16>(), k.ptr<const __nv_bfloat16>(), v.ptr<const __nv_bfloat16>(),
        state.present() ? state.ptr<const float>() : nullptr, A_log.ptr<const float>(),
        a.ptr<const __nv_bfloat16>(), dt_bias.ptr<const float>(), b.ptr<const __nv_bfloat16>(),
        cu_seqlens.ptr<const int64_t>(), N, scale, T, /*rank_by_length=*/T > kC, output.ptr<__nv_bfloat16>(),
        new_state.ptr<float>());
    return cudaGetLastError();
  };

#if GDN_PREFILL_IMPL == 1
  // GDN_PREFILL_RECURRENT_MAX_T (recurrent.cuh): no sequence of a call of T tokens is longer than T, so
  // small calls can run token by token without reading the lengths on the host; with
  // GDN_PREFILL_RECURRENT_MAX_AVG_T, calls of many short sequences too (bounded by their average).
  if ((GDN_PREFILL_RECURRENT_MAX_T > 0 && T <= GDN_PREFILL_RECURRENT_MAX_T) ||
      (GDN_PREFILL_RECURRENT_MAX_AVG_T > 0 && T <= static_cast<int64_t>(GDN_PREFILL_RECURRENT_MAX_AVG_T) * N)) {
    if (!check(N * kNumVHeads * kRecBlocksPerHead <= 0x7fffffffLL, "number of sequences")) return;
    // No sequence is longer than T: a call of at most kRecMaxT tokens needs one stage.
    const auto kernel = T <= kRecMaxT ? gdn_prefill_recurrent_kernel<true> : gdn_prefill_recurrent_kernel<false>;
    kernel<<<static_cast<unsigned>(N * kNumVHeads * kRecBlocksPerHead), kRecThreads, 0, stream>>>(
        q.ptr<const __nv_bfloat16>(), k.ptr<const __nv_bfloat16>(), v.ptr<const __nv_bfloat16>(),
        state.present() ? state.ptr<const float>() : nullptr, A_log.ptr<const float>(), a.ptr<const __nv_bfloat16>(),
        dt_bias.ptr<const float>(), b.ptr<const __nv_bfloat16>(), cu_seqlens.ptr<const int64_t>(), N, scale, T,
        output.ptr<__nv_bfloat16>(), new_state.ptr<float>());
    AFG_CUDA_CHECK(cudaGetLastError());
    return;
  }
  // Launch plan from T alone: when T <= GDN_PREFILL_FUSED_MAX_T (at most one chunk), every sequence
  // is a single chunk and the fused kernel does it in one launch without the workspace.
  if (T <= GDN_PREFILL_FUSED_MAX_T) {
    AFG_CUDA_CHECK(launch_fused(std::integral_constant<int, 32>{}));
    return;
  }
  // Pass 1 over every chunk slot, pass 2 over (sequence, head, value slice); workspace per slot.
  const int64_t slots = T / kC + N + 1;
  if (!check(slots <= 65535, "number of chunk slots (grid y)")) return;
  if (!check(N * kNumVHeads * (kD / 16) <= 0x7fffffffLL, "number of sequences")) return;
  // Launch plan from T and N (no device synchronization): with GDN_PREFILL_PLAN, 16-column scan
  // slices when N * 8 * 8 CTAs fit one wave (GDN_PREFILL_PLAN_NARROW; the SM count is read before
  // any launch, so a failed query cannot be taken for a launch error), else 64 columns from
  // GDN_PREFILL_PLAN_LONG_T tokens on and 32 below; without it GDN_PREFILL_SCAN_BV.
  const int sms = (GDN_PREFILL_PLAN && GDN_PREFILL_PLAN_NARROW && GDN_PREFILL_SCAN_SPLIT) || GDN_PREFILL_SCAN_LPT ||
                          GDN_PREFILL_PLAN_WIDE_WAVES > 0 || GDN_PREFILL_SCAN_PERSISTENT ||
                          GDN_PREFILL_PREP_PREFETCH_WAVE
                      ? sm_count()
                      : 0;
  // GDN_PREFILL_PLAN_NARROW_LONG: also for up to three sequences averaging 4 chunks or more, where
  // the longest chain bounds the call and the second wave is short sequences (longest first).
  const bool narrow_long = GDN_PREFILL_PLAN_NARROW_LONG && GDN_PREFILL_SCAN_LPT && N <= 3 && T >= 4 * kC * N;
  const bool narrow = GDN_PREFILL_PLAN_NARROW && GDN_PREFILL_SCAN_SPLIT && (N * kNumVHeads * (kD / 16) <= sms || narrow_long);
  // GDN_PREFILL_PLAN_WIDE_WAVES: 64 columns where 32 would queue more than that many waves of CTAs.
  const bool wide = T >= GDN_PREFILL_PLAN_LONG_T ||
                    (GDN_PREFILL_PLAN_WIDE_WAVES > 0 && sms > 0 && N * kNumVHeads * (kD / 32) > GDN_PREFILL_PLAN_WIDE_WAVES * sms);
  const int scan_bv = GDN_PREFILL_PLAN ? (narrow ? 16 : wide ? 64 : 32) : GDN_PREFILL_SCAN_BV;
  // GDN_PREFILL_SCAN_APART=1 (scan_apart.cuh): up to GDN_PREFILL_APART_MAX_SEQS sequences averaging
  // GDN_PREFILL_APART_MIN_T tokens or more, in 16-column slices (64 scan CTAs a sequence: SMs stay
  // free for the outputs); 2: every call.
  const bool apart = GDN_PREFILL_SCAN_SPLIT != 0 && kScanApart &&
                     (GDN_PREFILL_SCAN_APART == 2 ||
                      (scan_bv == 16 && N <= GDN_PREFILL_APART_MAX_SEQS && T >= GDN_PREFILL_APART_MIN_T * N));

  const size_t pairs = static_cast<size_t>(slots) * kNumVHeads;
  const int prep_smem = static_cast<int>(kPrepSmemBytes);
  AFG_CUDA_CHECK(afg::allow_dynamic_smem<chunk_prep_kernel>(prep_smem));
  char* base = nullptr;
  // After the prep's tiles: the chunk flags (GDN_PREFILL_CHUNK_FLAGS: bulk-copy scans only, and the
  // apart scan only with its loader warp), then the apart scan's S copies and ready counts (only
  // when it runs). Every piece's size is a multiple of 16 bytes (pairs is a multiple of 8), so the S
  // copies stay 16-byte aligned for the output kernel's copies.
  const bool chunk_flags = GDN_PREFILL_CHUNK_FLAGS != 0 && GDN_PREFILL_SCAN_SPLIT != 0 && kScanBulk &&
                           (!apart || GDN_PREFILL_APART_LOADER_WARP != 0);
  const size_t tiles_bytes = pairs * kWorkspaceBytesPerSlotHead;
  const size_t flags_bytes = chunk_flags ? pairs * sizeof(unsigned) : 0;
  const size_t s_copy_bytes = apart ? pairs * kWsTileS * sizeof(__nv_bfloat16) : 0;
  const size_t ready_bytes = apart ? pairs * sizeof(int) : 0;
  // GDN_PREFILL_SCAN_PERSISTENT (scan_persist.cuh): scans of GDN_PREFILL_PERSIST_MIN_BV columns or more
  // of sequences averaging at most GDN_PREFILL_PERSIST_MAX_AVG_T tokens, with the
  // loader warp and without chunk flags, on min(items, SMs) CTAs taking items from a counter.
  // One CTA an SM (at most GDN_PREFILL_DIAG_PERSIST_CTAS), and only when the items outnumber them:
  // within one wave the split scan's CTAs are the same work.
  const int64_t persist_ctas =
      GDN_PREFILL_DIAG_PERSIST_CTAS > 0 && GDN_PREFILL_DIAG_PERSIST_CTAS < sms ? GDN_PREFILL_DIAG_PERSIST_CTAS : sms;
  const bool persistent = GDN_PREFILL_SCAN_PERSISTENT != 0 && GDN_PREFILL_SCAN_SPLIT != 0 && kSplitLoaderWarp && kScanBulk &&
                          !apart && !chunk_flags && scan_bv >= GDN_PREFILL_PERSIST_MIN_BV &&
                          T <= static_cast<int64_t>(GDN_PREFILL_PERSIST_MAX_AVG_T) * N && persist_ctas > 0 &&
                          N * kNumVHeads * (kD / scan_bv) > persist_ctas;
  const size_t items_bytes = persistent ? 16 : 0;
  // GDN_PREFILL_SCAN_MIXED: three sequences in 16-column slices (192 CTAs, more than the SMs) go to the
  // mixed kernel, whose CTAs choose 16 columns throughout or one wave of 16 and 32 (kMixedCtas).
  const bool mixed = GDN_PREFILL_SCAN_MIXED != 0 && GDN_PREFILL_SCAN_SPLIT != 0 && scan_bv == 16 && !apart && !persistent &&
                     N == kMixedWideSeqs && sms > 0 && N * kNumVHeads * (kD / 16) > sms && kMixedCtas <= sms;
  AFG_CUDA_CHECK(afg::scratch_malloc(reinterpret_cast<void**>(&base),
                                     tiles_bytes + flags_bytes + s_copy_bytes + ready_bytes + items_bytes, stream));
  ChunkWorkspace ws;
  ws.w = reinterpret_cast<__nv_bfloat16*>(base);
  ws.kd = ws.w + pairs * kWsTileWK;
  ws.u = ws.kd + pairs * kWsTileWK;
  ws.p = ws.u + pairs * kWsTileU;
  ws.cum = reinterpret_cast<float*>(ws.p + pairs * kWsTileP);
  ws.prepped = chunk_flags ? reinterpret_cast<unsigned*>(base + tiles_bytes) : nullptr;
  ws.s = apart ? reinterpret_cast<__nv_bfloat16*>(base + tiles_bytes + flags_bytes) : nullptr;
  ws.ready = apart ? reinterpret_cast<int*>(base + tiles_bytes + flags_bytes + s_copy_bytes) : nullptr;
  ws.items = persistent ? reinterpret_cast<int*>(base + tiles_bytes + flags_bytes + s_copy_bytes + ready_bytes) : nullptr;
  // One prep CTA a (slot, value head); two fit an SM (the kernel's launch bounds), so a wave is
  // 2 SMs / 8 slot rows (GDN_PREFILL_DIAG_PREP_ROWS: fewer, for the sanitizers' small calls).
  const int64_t prep_rows_resident = GDN_PREFILL_DIAG_PREP_ROWS > 0 ? GDN_PREFILL_DIAG_PREP_ROWS : sms * 2 / kNumVHeads;
  // GDN_PREFILL_PREP_PREFETCH_WAVE: each CTA prefetches the rows of the CTA a wave (the resident rows)
  // behind it.
  const int64_t prep_prefetch_ahead =
      kPrepPrefetchWave && prep_holds_bounds(N) && prep_rows_resident > 0 && slots > prep_rows_resident ? prep_rows_resident : 0;
  chunk_prep_kernel<<<dim3(kNumVHeads / kPrepHeads, static_cast<unsigned>(slots)), kPrepCtaThreads, prep_smem, stream>>>(
      q.ptr<const __nv_bfloat16>(), k.ptr<const __nv_bfloat16>(), v.ptr<const __nv_bfloat16>(), A_log.ptr<const float>(),
      a.ptr<const __nv_bfloat16>(), dt_bias.ptr<const float>(), b.ptr<const __nv_bfloat16>(),
      cu_seqlens.ptr<const int64_t>(), N, prep_prefetch_ahead, ws);
  // GDN_PREFILL_SCAN_APART (scan_apart.cuh): the state-only scan over `ctas` CTAs of BV columns, and
  // the output kernel as its programmatic dependent (it follows the scan through the ready counts).
  // With GDN_PREFILL_APART_EXCLUSIVE the scan asks for a whole SM's shared memory, so no output CTA
  // shares its SM.
  [[maybe_unused]] const auto launch_apart = [&](auto bv, int64_t ctas, bool rank_by_length) -> cudaError_t {
    constexpr int BV = decltype(bv)::value;
    const size_t state_smem = GDN_PREFILL_APART_EXCLUSIVE ? kMaxSmemPerBlock : sizeof(ScanStateSmem<BV>);
    cudaError_t status = afg::allow_dynamic_smem<chunk_scan_state_kernel<BV>>(static_cast<int>(state_smem));
    if (status != cudaSuccess) return status;
    status = afg::launch(GDN_PREFILL_PDL, chunk_scan_state_kernel<BV>, dim3(static_cast<unsigned>(ctas)), dim3(kApartThreads),
                         state_smem, stream, state.present() ? state.ptr<const float>() : nullptr,
                         cu_seqlens.ptr<const int64_t>(), N, T, rank_by_length, ws, output.ptr<__nv_bfloat16>(),
                         new_state.ptr<float>());
    if (status != cudaSuccess) return status;
    const int output_smem = static_cast<int>(sizeof(OutputSmem));
    status = afg::allow_dynamic_smem<chunk_output_kernel>(output_smem);
    if (status != cudaSuccess) return status;
    return afg::launch(GDN_PREFILL_PDL, chunk_output_kernel, dim3(kNumVHeads * (kD / kOutputCols), static_cast<unsigned>(slots)),
                       dim3(kOutputThreads), static_cast<size_t>(output_smem), stream, q.ptr<const __nv_bfloat16>(),
                       cu_seqlens.ptr<const int64_t>(), N, scale, kD / BV, ws, output.ptr<__nv_bfloat16>());
  };
  // The scan over (sequence, head, value slice) for a slice width BV, a programmatic dependent of
  // the prep pass with GDN_PREFILL_PDL.
  // GDN_PREFILL_SCAN_SPLIT picks the scan with state and output warps apart (scan_split.cuh).
  const auto launch_scan = [&](auto bv) -> cudaError_t {
    constexpr int BV = decltype(bv)::value;
    const int64_t ctas = N * kNumVHeads * (kD / BV);
    // Longest sequence first (GDN_PREFILL_SCAN_LPT) when the grid takes more than one wave at one
    // CTA per SM (or the SM count is unknown); within one wave the order buys nothing.
    const bool rank_by_length = GDN_PREFILL_SCAN_LPT && N > 1 && N <= kScanRankMax && (sms == 0 || ctas > sms);
    // grid: ctas, or fewer for the persistent scan (its CTAs take the ctas work items from a counter).
    const auto launch = [&](auto kernel, size_t scan_smem, int threads, int64_t grid) -> cudaError_t {
      const cudaError_t allowed = afg::allow_dynamic_smem<decltype(kernel)::value>(static_cast<int>(scan_smem));
      if (allowed != cudaSuccess) return allowed;
      return afg::launch(GDN_PREFILL_PDL, decltype(kernel)::value, dim3(static_cast<unsigned>(grid)),
                         dim3(threads), scan_smem, stream, q.ptr<const __nv_bfloat16>(),
                         state.present() ? state.ptr<const float>() : nullptr, cu_seqlens.ptr<const int64_t>(), N, scale,
                         T, rank_by_length, ws, output.ptr<__nv_bfloat16>(), new_state.ptr<float>());
    };
    if constexpr (GDN_PREFILL_SCAN_SPLIT != 0 && kScanApart) {
      if (apart) return launch_apart(bv, ctas, rank_by_length);
    }
#if GDN_PREFILL_PERSIST_BUILT
    if constexpr (GDN_PREFILL_SCAN_SPLIT != 0 && BV >= GDN_PREFILL_PERSIST_MIN_BV) {
      if (persistent) {
        return launch(std::integral_constant<decltype(&chunk_scan_persist_kernel<BV>), &chunk_scan_persist_kernel<BV>>{},
                      kScanPersistSmemBytes<BV>, kSplitThreads, persist_ctas);
      }
    }
#endif
    if constexpr (GDN_PREFILL_SCAN_SPLIT != 0 && BV == 16) {
      if (mixed) {
        constexpr size_t kMixedSmem =
            kScanSplitSmemBytes<16> > kScanSplitSmemBytes<32> ? kScanSplitSmemBytes<16> : kScanSplitSmemBytes<32>;
        return launch(std::integral_constant<decltype(&chunk_scan_split_mixed_kernel), &chunk_scan_split_mixed_kernel>{},
                      kMixedSmem, kSplitThreads, ctas);
      }
    }
    if constexpr (GDN_PREFILL_SCAN_SPLIT != 0) {
      return launch(std::integral_constant<decltype(&chunk_scan_split_kernel<BV>), &chunk_scan_split_kernel<BV>>{},
                    kScanSplitSmemBytes<BV>, kSplitThreads, ctas);
    } else {
      return launch(std::integral_constant<decltype(&chunk_scan_kernel<BV>), &chunk_scan_kernel<BV>>{}, sizeof(ScanSmem<BV>),
                    kScanThreads, ctas);
    }
  };
  cudaError_t launched = cudaGetLastError();
  if (launched == cudaSuccess) {
    if (scan_bv == 64) {
      launched = launch_scan(std::integral_constant<int, 64>{});
    } else if (scan_bv == 16) {
      // 16-column slices exist only in the split scan (the plan picks them only with it).
      launched = launch_scan(std::integral_constant<int, GDN_PREFILL_SCAN_SPLIT ? 16 : 32>{});
    } else {
      launched = launch_scan(std::integral_constant<int, 32>{});
    }
  }
  AFG_CUDA_CHECK(cudaFreeAsync(base, stream));
  AFG_CUDA_CHECK(launched);
#elif GDN_PREFILL_IMPL == 2
  AFG_CUDA_CHECK(launch_fused(std::integral_constant<int, GDN_PREFILL_FUSED_BV>{}));
#else
  const int smem = static_cast<int>(sizeof(Smem));
  AFG_CUDA_CHECK(afg::allow_dynamic_smem<gdn_prefill_chunk_kernel>(smem));
  gdn_prefill_chunk_kernel<<<static_cast<unsigned>(N * kNumVHeads * kSlices), kThreads, smem, stream>>>(
      q.ptr<const __nv_bfloat16>(), k.ptr<const __nv_bfloat16>(), v.ptr<const __nv_bfloat16>(),
      state.present() ? state.ptr<const float>() : nullptr, A_log.ptr<const float>(),
      a.ptr<const __nv_bfloat16>(), dt_bias.ptr<const float>(), b.ptr<const __nv_bfloat16>(),
      cu_seqlens.ptr<const int64_t>(), N, scale, T, output.ptr<__nv_bfloat16>(), new_state.ptr<float>());
  AFG_CUDA_CHECK(cudaGetLastError());
#endif
}
