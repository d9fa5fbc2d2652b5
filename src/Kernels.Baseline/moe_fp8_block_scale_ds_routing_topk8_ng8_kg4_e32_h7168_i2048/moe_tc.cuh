// moe_tc.cuh: tensor-core GEMMs for the MoE kernel (included by kernel.cu when MOE_GEMM_IMPL == 1).
//
// Both GEMMs run on mma.sync m16n8k16 with bf16 operands: fp8 e4m3 values (and the activations'
// fp8 values) convert to bf16 exactly, so the only rounding besides fp32 accumulation is the bf16
// copy of the SwiGLU output C. Block scales are applied per 128-wide K block to a fresh fp32
// partial, then added to the accumulator (two-level accumulation, as DeepGEMM does).
//   GEMM1 (+SwiGLU): CTA tile 64 pairs x (64 X1 + the same 64 X2 columns), 8 warps as 2 (rows) x
//   4 (16 X1 + 16 X2 columns each), K in steps of 64 with the next step's fp8 prefetched into
//   registers. Small T: split-K over the 56 K blocks with fp32 atomics into G1, then a SwiGLU pass.
//   GEMM2: CTA tile 64 pairs x 128 hidden columns (one W2 scale block), 8 warps as 2 x 4 (32
//   columns each), split-K over the 16 K blocks, weighted fp32 atomics into the accumulator.
// Selected by MOE_GEMM_IMPL=1 (the default since the 2026-11-26 H200 run; numbers in NOTES.md).
// GEMM1 on fp8 mma (gemm1_fp8_kernel<Tile>) serves T <= MOE_GEMM1_FP8_MAX_T; for
// T <= MOE_GEMM1_SMALL_TILE_MAX_T both GEMMs use 16-pair tiles with cp.async stages
// (gemm1_fp8_kernel<Fp8TileSmall>, gemm2_small_kernel).
#pragma once

namespace moe_tc {

constexpr int kTcThreads = 256;
constexpr int kTcBM = 64;
constexpr int kTcStepK = 64;                 // K per shared-memory step (half a scale block)
constexpr int kTcLd = kTcStepK + 8;          // bf16 row stride, padded for ldmatrix
constexpr int kStepsPerBlock = kQBlock / kTcStepK;  // 2

// smem_addr, ldmatrix_x4, mma_bf16 / mma_e4m3 and cp_async16 are afg_mma.cuh's (included at the
// top of kernel.cu).
using afg::cp_async16;
using afg::ldmatrix_x4;
using afg::mma_bf16;
using afg::mma_e4m3;
using afg::smem_addr;

// 16 bytes of W1 or W2 global -> shared; each weight byte is read once a call in these kernels,
// so with MOE_WEIGHT_EVICT_FIRST its L2 lines go first (see the tunable in kernel.cu).
__device__ __forceinline__ void cp_async16_weight(void* smem, const void* gmem) {
  if constexpr (MOE_WEIGHT_EVICT_FIRST != 0) afg::cp_async16_evict_first(smem, gmem);
  else cp_async16(smem, gmem, 16);
}

// The weight boxes' mbarriers of a tile kernel (MOE_WEIGHT_TMA, MOE_WEIGHT_TMA_W2): one a slot,
// counting thread 0's arrival and the boxes' bytes. Each thread keeps the slots' phase parities in
// `phases` (bit s), flipped as it waits, across all the CTA's tiles: every fill of a slot is waited
// once, in fill order.
__device__ __forceinline__ void box_slots_init(uint64_t* full, int slots) {
  if (threadIdx.x == 0) {
    for (int i = 0; i < slots; ++i) afg::mbar_init(&full[i], 1);
    afg::mbar_init_fence();
  }
  __syncthreads();
}
// Thread 0, before a slot's refill: `bytes` of boxes to expect on its mbarrier. The barrier before the
// refill gathered the CTA's reads of the slot; the proxy fence orders them before the copy engine's
// writes.
__device__ __forceinline__ void box_slot_arm(uint64_t* full, int slot, uint32_t bytes) {
  afg::fence_before_box_refill();
  afg::mbar_arrive_expect_tx(&full[slot], bytes);
}
// One 64-row weight box (128 bytes of K) into dst, completing on bar; kEvictFirst: with the L2
// evict-first policy (its lines are read once a call).
template <bool kEvictFirst>
__device__ __forceinline__ void load_weight_box(uint32_t dst, const CUtensorMap* map, int x, int y, uint32_t bar) {
  if constexpr (kEvictFirst) afg::tma_load_2d_policy(dst, map, x, y, bar, afg::l2_evict_first_policy());
  else afg::tma_load_2d(dst, map, x, y, bar);
}
__device__ __forceinline__ void box_slot_wait(uint64_t* full, uint32_t& phases, int slot) {
  afg::mbar_wait(&full[slot], (phases >> slot) & 1u);
  phases ^= 1u << slot;
}

// A fragment (16 x 16) of a row-major [m][k] bf16 tile at (m0, k0).
__device__ __forceinline__ void load_a(uint32_t r[4], const __nv_bfloat16* base, int m0, int k0, int lane) {
  ldmatrix_x4(r, base + (m0 + (lane & 15)) * kTcLd + k0 + (lane >> 4) * 8);
}

// B fragments of two n8 tiles (n0, n0 + 8) for k16 at k0, B = Y^T with Y row-major [n][k].
__device__ __forceinline__ void load_b(uint32_t r[4], const __nv_bfloat16* y, int n0, int k0, int lane) {
  ldmatrix_x4(r, y + (n0 + (lane & 7) + (lane >> 4) * 8) * kTcLd + k0 + ((lane >> 3) & 1) * 8);
}

// 16 fp8 e4m3 bytes -> 16 bf16 in shared memory (exact: every e4m3 value is a bf16 value).
__device__ __forceinline__ void store_fp8x16_as_bf16(__nv_bfloat16* dst, const uint4& v) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    __nv_bfloat162 lo = __floats2bfloat162_rn(fp8_to_float(w[i] & 0xffu), fp8_to_float((w[i] >> 8) & 0xffu));
    __nv_bfloat162 hi = __floats2bfloat162_rn(fp8_to_float((w[i] >> 16) & 0xffu), fp8_to_float(w[i] >> 24));
    *reinterpret_cast<__nv_bfloat162*>(dst + 4 * i) = lo;
    *reinterpret_cast<__nv_bfloat162*>(dst + 4 * i + 2) = hi;
  }
}

__device__ __forceinline__ float silu_mul(float x1, float x2) { return (x2 / (1.0f + expf(-x2))) * x1; }

// MOE_EARLY_ROUTING_READS: the kernels two launches behind routing (the SwiGLU pass, the small GEMM2)
// read routing's counts, lists and their own inputs before waiting for their predecessor. Routing
// is complete when they start: they launch only after every CTA of their predecessor has passed its
// own wait, which returned after its predecessor (GEMM1 after routing; SwiGLU after GEMM1) had
// completed. A CTA with nothing to do may exit without waiting: its grid's completion then orders
// nothing, and it wrote nothing.
constexpr bool kEarlyRoutingReads = MOE_EARLY_ROUTING_READS != 0;

// Two floats rounded to bf16 (lo in the low half), as the bits of one 32-bit word for wide stores.
__device__ __forceinline__ uint32_t bf16x2_bits(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// MOE_FUSED_EPILOGUES: a split-K tile's ticket. Called by every thread of the CTA after its atomics
// into the shared sums; true in every thread of the CTA that arrives last of `arrivals` at *ticket,
// when every other arrival's sums are complete and visible (each arrival fences its atomics before
// the ticket; the last fences again before it reads).
__device__ __forceinline__ bool last_to_arrive(int* ticket, int arrivals) {
  __shared__ int s_last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) s_last = atomicAdd(ticket, 1) == arrivals - 1 ? 1 : 0;
  __syncthreads();
  const bool last = s_last != 0;
  if (last) __threadfence();
  return last;
}

// MOE_FUSED_EPILOGUES, GEMM1: SwiGLU of a tile's complete split-K sums (BM pairs x BN columns of X1
// and of X2 in G1) into C, the same arithmetic as swiglu_kernel. The sums were added atomically in
// L2: read them past L1.
template <int BM, int BN, int Threads>
__device__ __forceinline__ void swiglu_tile(const float* g1_partial, const int* s_pair, int n0, __nv_bfloat16* cbuf) {
  static_assert(BN % 2 == 0, "column pairs");
  for (int i = threadIdx.x; i < BM * BN / 2; i += Threads) {
    const int pair = s_pair[i / (BN / 2)];
    if (pair < 0) continue;
    const int c = n0 + 2 * (i % (BN / 2));
    const float* src = g1_partial + static_cast<int64_t>(pair) * kGemm1Out;
    const float2 x1 = __ldcg(reinterpret_cast<const float2*>(src + c));
    const float2 x2 = __ldcg(reinterpret_cast<const float2*>(src + kInter + c));
    *reinterpret_cast<__nv_bfloat162*>(cbuf + static_cast<int64_t>(pair) * kInter + c) =
        __floats2bfloat162_rn(silu_mul(x1.x, x2.x), silu_mul(x1.y, x2.y));
  }
}

// MOE_FUSED_EPILOGUES, GEMM2: after this CTA's atomics into the accumulator, each of its pairs takes
// the ticket of its (token, column tile) (tickets: T x gridDim.x); the arrival that completes a
// token's local pairs x splits writes the token's BN columns from h0 of the output in bf16 (the
// same rounding as moe_to_bf16_kernel). Every thread of the CTA calls it.
template <int BM, int BN, int Threads>
__device__ __forceinline__ void output_completed_rows(int* tickets, const int* token_pairs, int splits, const int* s_pair,
                                                      const float* acc_out, int h0, __nv_bfloat16* out) {
  static_assert(BM <= Threads && BN % 4 == 0, "a thread per row's ticket, four columns per store");
  __shared__ int s_token[BM];  // the token whose columns this CTA completes, else -1
  __threadfence();
  __syncthreads();
  if (threadIdx.x < BM) {
    const int pair = s_pair[threadIdx.x];
    int token = -1;
    if (pair >= 0) {
      const int t = pair / kTopK;
      if (atomicAdd(tickets + static_cast<int64_t>(t) * gridDim.x + blockIdx.x, 1) == token_pairs[t] * splits - 1) token = t;
    }
    s_token[threadIdx.x] = token;
  }
  __syncthreads();
  __threadfence();
  for (int i = threadIdx.x; i < BM * BN / 4; i += Threads) {
    const int t = s_token[i / (BN / 4)];
    if (t < 0) continue;
    const int64_t at = static_cast<int64_t>(t) * kHidden + h0 + 4 * (i % (BN / 4));
    const float4 v = __ldcg(reinterpret_cast<const float4*>(acc_out + at));
    *reinterpret_cast<uint2*>(out + at) = make_uint2(bf16x2_bits(v.x, v.y), bf16x2_bits(v.z, v.w));
  }
}

// The expert that expert slot `slot` of a grid with `slots` of them serves: with all 32 slots the
// slot is the expert; with fewer (MOE_COMPACT_EXPERT_SLOTS: at most 8T experts receive pairs), the
// slot-th expert that has pairs, or -1 when fewer have. Every thread of the CTA calls it (a warp
// ballot over the counts), so the answer is CTA-uniform.
__device__ __forceinline__ int expert_of_slot(const int* counts, int slot, int slots) {
  // MOE_COMPACT_ALL_SLOTS: the full grid's slots compacted too, so that the active experts' CTAs
  // come first in launch order and the empty ones after them.
  if (MOE_COMPACT_ALL_SLOTS == 0 && slots >= kLocalExperts) return slot;
  unsigned active = __ballot_sync(0xffffffffu, counts[threadIdx.x & 31] > 0);
  for (int i = 0; i < slot && active != 0; ++i) active &= active - 1;
  return active != 0 ? __ffs(static_cast<int>(active)) - 1 : -1;
}

// MOE_DIAG_CTA_TIMES: per tile of GEMM g (0: GEMM1, 1: GEMM2), the ns of its start (mark 0) and end
// (mark 1) and its SM, at the tile's linear index in its grid.
constexpr int kDiagTiles = 1 << 16;
#if MOE_DIAG_CTA_TIMES
__device__ unsigned long long g_diag_tile[2][kDiagTiles][2];
__device__ unsigned g_diag_tile_sm[2][kDiagTiles];
#endif
template <int kGemm>
__device__ __forceinline__ void diag_tile(int mark, const uint3 b, unsigned gx, unsigned gy, uint32_t after = 0u) {
#if MOE_DIAG_CTA_TIMES
  if (threadIdx.x != 0) return;
  const unsigned long long now = afg::globaltimer_after(after);
  const unsigned tile = b.x + gx * (b.y + gy * b.z);
  if (tile >= kDiagTiles) return;
  g_diag_tile[kGemm][tile][mark] = now;
  if (mark == 0) g_diag_tile_sm[kGemm][tile] = afg::sm_id();
#else
  (void)mark;
  (void)b;
  (void)gx;
  (void)gy;
  (void)after;
#endif
}

// A tile kernel's schedule. tiles_z == 0: this CTA is the grid's tile blockIdx (one tile per CTA).
// tiles_z > 0 (T <= MOE_LOOPING_TILES_MAX_T): the launch grid holds the CTAs resident on the GPU at once and CTA
// c takes the tiles c, c + gridDim.x, ... of the grid `tiles` (x fastest, then y, then z), in that
// order, until one returns false: z is the expert slot (slot-major, times splits), slots are
// compacted, so the first slot without an expert ends the CTA's work. Why: a tile grid's CTAs that
// find no pairs still cost a wave each (a launch, the programmatic wait, a count read): 3 us of
// GEMM1 at T=1 (2048 CTAs, none with pairs when no local expert is routed), 1.6 us of GEMM1 and 3.3
// of GEMM2 at T=7 (H100, sessions 12 and 14).
template <typename TileFn>
__device__ __forceinline__ void looping_tiles(int tiles_z, dim3 tiles, TileFn&& tile) {
  if (tiles_z <= 0) {
    tile(blockIdx, gridDim.x, gridDim.y, gridDim.z);
    return;
  }
  const unsigned total = tiles.x * tiles.y * tiles.z;
  for (unsigned v = blockIdx.x; v < total; v += gridDim.x) {
    uint3 b;
    b.x = v % tiles.x;
    b.y = (v / tiles.x) % tiles.y;
    b.z = v / (tiles.x * tiles.y);
    if (!tile(b, tiles.x, tiles.y, tiles.z)) return;
    __syncthreads();  // the next tile rewrites the pair slots and stages this one's epilogue may still read
  }
}

// The tile's pair ids (-1 past the expert's count) into s_pair, row r by thread r % Threads (Threads:
// the threads of the CTA that call it, at least BM unless given).
template <int BM = kTcBM, int Threads = BM>
__device__ __forceinline__ void load_tile_pairs(int* s_pair, const int* lists, int le, int m0, int cnt, int T, int tid) {
#pragma unroll
  for (int r = tid; r < BM; r += Threads) {
    const int m = m0 + r;
    s_pair[r] = m < cnt ? lists[le * T + m] : -1;
  }
}

// Two-level accumulation of GEMM1: one 128-K block's fp32 partials (tmp), scaled by each row's
// activation scale (sa_rows, the tile's 64 rows) and the block's weight scales, fold into acc;
// tmp is cleared for the next block.
template <int MT>
__device__ __forceinline__ void fold_scaled_block(float (&acc1)[MT][2][4], float (&acc2)[MT][2][4], float (&tmp1)[MT][2][4],
                                                  float (&tmp2)[MT][2][4], const float* sa_rows, float s1, float s2,
                                                  int wm, int g) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    const float sa_lo = sa_rows[wm * 16 * MT + mt * 16 + g];
    const float sa_hi = sa_rows[wm * 16 * MT + mt * 16 + g + 8];
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float sa = e < 2 ? sa_lo : sa_hi;
        acc1[mt][nt][e] += tmp1[mt][nt][e] * sa * s1;
        acc2[mt][nt][e] += tmp2[mt][nt][e] * sa * s2;
        tmp1[mt][nt][e] = tmp2[mt][nt][e] = 0.f;
      }
    }
  }
}

// GEMM1's epilogue: C = silu(X2) * X1 in bf16 for the tile's pairs, or (split K) the partial sums
// X1, X2 added into G1 for the SwiGLU pass.
template <int MT>
__device__ __forceinline__ void store_gemm1_tile(const float (&acc1)[MT][2][4], const float (&acc2)[MT][2][4],
                                                 const int* s_pair, int wm, int wn, int g, int tq, int n0, int splits,
                                                 __nv_bfloat16* cbuf, float* g1_partial) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = wm * 16 * MT + mt * 16 + g + half * 8;
      const int pair = s_pair[row];
      if (pair < 0) continue;
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) {
        const int col = n0 + wn * 16 + nt * 8 + 2 * tq;
        const float x1a = acc1[mt][nt][2 * half], x1b = acc1[mt][nt][2 * half + 1];
        const float x2a = acc2[mt][nt][2 * half], x2b = acc2[mt][nt][2 * half + 1];
        if (splits == 1) {
          *reinterpret_cast<__nv_bfloat162*>(cbuf + static_cast<int64_t>(pair) * kInter + col) =
              __floats2bfloat162_rn(silu_mul(x1a, x2a), silu_mul(x1b, x2b));
        } else {
          float* dst = g1_partial + static_cast<int64_t>(pair) * kGemm1Out;
          atomicAdd(dst + col, x1a);
          atomicAdd(dst + col + 1, x1b);
          atomicAdd(dst + kInter + col, x2a);
          atomicAdd(dst + kInter + col + 1, x2b);
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// MOE_TILE_SCALES_AHEAD: a tile CTA copies all its blocks' scales with its first stage (when its K
// range has at most kAheadBlocks blocks) instead of reading them in every K block.
constexpr bool kScalesAhead = MOE_TILE_SCALES_AHEAD != 0;
constexpr int kAheadBlocks = 8;

// GEMM1 (+ SwiGLU when not split): pairs of expert le (blockIdx.z / splits), K blocks of split.
__global__ void __launch_bounds__(kTcThreads)
gemm1_tc_kernel(const uint8_t* __restrict__ hidden, const float* __restrict__ hidden_scale,
                const uint8_t* __restrict__ w1, const float* __restrict__ w1_scale,
                const int* __restrict__ counts, const int* __restrict__ lists, int T, int splits,
                __nv_bfloat16* __restrict__ cbuf, float* __restrict__ g1_partial) {
  pdl_wait_then_allow();
  __shared__ __align__(16) __nv_bfloat16 sA[kTcBM * kTcLd];        // 9 KB
  __shared__ __align__(16) __nv_bfloat16 sB[2 * 64 * kTcLd];       // 18 KB: 64 X1 rows, then 64 X2 rows
  __shared__ float s_sa[kTcBM];
  __shared__ int s_pair[kTcBM];

  const int le = blockIdx.z / splits;
  const int split = blockIdx.z % splits;
  const int m0 = blockIdx.y * kTcBM;
  const int n0 = blockIdx.x * 64;  // X1 column (and X2 column - 2048) of the tile
  const int cnt = counts[le];
  if (m0 >= cnt) return;  // block-uniform
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp >> 2, wn = warp & 3;
  const int g = lane >> 2, tq = lane & 3;

  load_tile_pairs(s_pair, lists, le, m0, cnt, T, tid);
  __syncthreads();

  // Loaders: A row tid/4, 16 bytes at (tid%4)*16; W rows tid/2 (X1 rows 0-63, X2 rows 64-127), 32 bytes at (tid%2)*32.
  const int ar = tid >> 2, ak = (tid & 3) * 16;
  const int a_pair = s_pair[ar];
  const int a_tok = a_pair >= 0 ? a_pair / kTopK : -1;
  const uint8_t* a_src = hidden + static_cast<int64_t>(a_tok >= 0 ? a_tok : 0) * kHidden + ak;
  const int br = tid >> 1, bk = (tid & 1) * 32;
  const int w_row = br < 64 ? n0 + br : kInter + n0 + (br - 64);
  const uint8_t* b_src = w1 + (static_cast<int64_t>(le) * kGemm1Out + w_row) * kHidden + bk;
  const float* sw1 = w1_scale + (static_cast<int64_t>(le) * kGemm1OutBlocks + n0 / kQBlock) * kHiddenBlocks;
  const float* sw2 = w1_scale + (static_cast<int64_t>(le) * kGemm1OutBlocks + (kInter + n0) / kQBlock) * kHiddenBlocks;

  const int kb_begin = split * kHiddenBlocks / splits;
  const int kb_end = (split + 1) * kHiddenBlocks / splits;
  const int step_begin = kb_begin * kStepsPerBlock, step_end = kb_end * kStepsPerBlock;

  float acc1[2][2][4], acc2[2][2][4], tmp1[2][2][4], tmp2[2][2][4];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc1[i][j][e] = acc2[i][j][e] = tmp1[i][j][e] = tmp2[i][j][e] = 0.f;

  uint4 a_reg = make_uint4(0, 0, 0, 0), b_reg0, b_reg1;
  {
    const int k = step_begin * kTcStepK;
    if (a_tok >= 0) a_reg = *reinterpret_cast<const uint4*>(a_src + k);
    b_reg0 = *reinterpret_cast<const uint4*>(b_src + k);
    b_reg1 = *reinterpret_cast<const uint4*>(b_src + k + 16);
  }

#pragma unroll 1
  for (int step = step_begin; step < step_end; ++step) {
    const int kb = step / kStepsPerBlock;
    store_fp8x16_as_bf16(sA + ar * kTcLd + ak, a_reg);
    store_fp8x16_as_bf16(sB + br * kTcLd + bk, b_reg0);
    store_fp8x16_as_bf16(sB + br * kTcLd + bk + 16, b_reg1);
    if (tid < kTcBM) {
      const int pair = s_pair[tid];
      s_sa[tid] = pair >= 0 ? hidden_scale[static_cast<int64_t>(kb) * T + pair / kTopK] : 0.f;
    }
    __syncthreads();
    if (step + 1 < step_end) {  // prefetch the next step while this one multiplies
      const int k = (step + 1) * kTcStepK;
      if (a_tok >= 0) a_reg = *reinterpret_cast<const uint4*>(a_src + k);
      b_reg0 = *reinterpret_cast<const uint4*>(b_src + k);
      b_reg1 = *reinterpret_cast<const uint4*>(b_src + k + 16);
    }
#pragma unroll
    for (int k0 = 0; k0 < kTcStepK; k0 += 16) {
      uint32_t a0[4], a1[4], bx1[4], bx2[4];
      load_a(a0, sA, wm * 32, k0, lane);
      load_a(a1, sA, wm * 32 + 16, k0, lane);
      load_b(bx1, sB, wn * 16, k0, lane);
      load_b(bx2, sB, 64 + wn * 16, k0, lane);
      mma_bf16(tmp1[0][0], a0, bx1[0], bx1[1]);
      mma_bf16(tmp1[0][1], a0, bx1[2], bx1[3]);
      mma_bf16(tmp1[1][0], a1, bx1[0], bx1[1]);
      mma_bf16(tmp1[1][1], a1, bx1[2], bx1[3]);
      mma_bf16(tmp2[0][0], a0, bx2[0], bx2[1]);
      mma_bf16(tmp2[0][1], a0, bx2[2], bx2[3]);
      mma_bf16(tmp2[1][0], a1, bx2[0], bx2[1]);
      mma_bf16(tmp2[1][1], a1, bx2[2], bx2[3]);
    }
    if (step % kStepsPerBlock == kStepsPerBlock - 1) {  // a whole 128 K block: scale and fold in
      fold_scaled_block(acc1, acc2, tmp1, tmp2, s_sa, sw1[kb], sw2[kb], wm, g);
    }
    __syncthreads();
  }

  store_gemm1_tile(acc1, acc2, s_pair, wm, wn, g, tq, n0, splits, cbuf, g1_partial);
}

// ------------------------------------------------------------------------------------------------
// GEMM1 on fp8 tensor cores (T <= MOE_GEMM1_FP8_MAX_T): both operands stay e4m3 (mma.sync m16n8k32,
// sm_89 and up), one 128-K scale block per shared-memory stage, Stages stages filled by cp.async
// (zero-filled rows for the tile's empty pair slots); each block's fp32 partial is scaled and
// folded in (two-level), SwiGLU (or the split-K partial sums) in the epilogue.
// Tile shapes (8 warps, each MT m16 row tiles x 16 X1 + the matching 16 X2 columns):
//   Fp8Tile<64, 2, 64>: 64 pairs x 64 X1 columns (warps 2 x 4), the tile of gemm1_tc_kernel;
//   Fp8Tile<16, 1, 128>: 16 pairs x 128 X1 columns (warps 1 x 8), for small T: an expert holds a
//   few pairs there (T=55: ~2), so a 64-row tile spends 32x the needed mma and ldmatrix per weight
//   byte, and 256 weight rows per stage put 2-3x the bytes in flight per CTA.
// Shared-memory rows of the streamed tiles are unpadded (128 bytes per fp8 row, 256 per bf16 C row)
// with their 16-byte chunks XOR-swizzled by the row (chunk c of row r at c ^ (r & 7)): the 8 rows
// an ldmatrix phase reads sit in 8 different chunks, so it is conflict-free without the 16-byte pad
// per row, which cost one CTA per SM at 3 stages (20.7 -> 18 KB per GEMM1 stage).
constexpr int kFp8Row = kQBlock;      // bytes per fp8 row (one 128-K block)
constexpr int kBf16Row = 2 * kQBlock;  // bytes per bf16 row
constexpr int kSmallCScales = kInter / kQBlock;  // fp8 C (MOE_SMALL_GEMM2_WGMMA): scales per pair, one per 128 columns
__device__ __forceinline__ int swizzled(int row, int byte, int row_bytes) {
  return row * row_bytes + ((((byte >> 4) ^ (row & 7)) << 4) | (byte & 15));
}

// The dynamic shared memory a streamed tile may take: an SM's 227 KB opt-in maximum less room for
// the kernels' static arrays (pairs, scales).
constexpr int kMaxTileSmem = 227 * 1024 - 4096;

// The streamed tile kernels' launch bounds: with MOE_TILE_MIN_BLOCKS, that many CTAs per SM asked of
// ptxas for the 16-pair tiles (Fp8TileSmall, Gemm2TileSmall: 128 threads; the 32-pair ones hold
// ~250 registers and would spill); without it the plain bound, as before the option
// (an explicit minimum of 1 is not the same to ptxas: it changed these kernels' registers and cost
// up to 23% at T=55, session 16).
#if MOE_TILE_MIN_BLOCKS > 0
#define MOE_TILE_BOUNDS(Tile) __launch_bounds__(Tile::Threads, Tile::BM == 16 ? MOE_TILE_MIN_BLOCKS : 1)
#else
#define MOE_TILE_BOUNDS(Tile) __launch_bounds__(Tile::Threads)
#endif

// The 16-byte pieces a thread copies of a tile of rows of RowBytes (one K block) into a swizzled
// stage, fixed for the whole tile: piece i is chunk tid % kChunks of row tid / kChunks + kRowStep * i.
// When kRowStep is a multiple of 8 every piece of a thread has the same swizzle term and its shared
// offset is first_offset + i * kRowStep * RowBytes (else, with 64 threads on 256-byte rows,
// offset() swizzles each piece); a loader keeps one source per row it reads and adds 128 bytes of K
// per block. Why (session 8, H200): addressed per piece and K block, the small GEMM1 tile's K block
// was ~650 SASS instructions per thread, ~365 of them address arithmetic and branches
// (scripts/device/sass-mix.sh); addressed once per tile the kernels' SASS fell by a third (GEMM1
// 1664 -> 1136, GEMM2 1312 -> 896) and the calls by 2-4% (T=7 100.3 -> 98.5 us, T=16 165.1 ->
// 159.3, T=62 344.5 -> 335.5; 19/19 PASS). The per-piece loaders remain in the stream-K kernels.
template <int Threads, int RowBytes>
struct PieceGrid {
  static constexpr int kChunks = RowBytes / 16;
  static constexpr int kRowStep = Threads / kChunks;
  static_assert(Threads % kChunks == 0, "whole rows per pass of the threads");
  __device__ __forceinline__ static int first_row(int tid) { return tid / kChunks; }
  __device__ __forceinline__ static int chunk_byte(int tid) { return (tid % kChunks) * 16; }
  __device__ __forceinline__ static int first_offset(int tid) { return swizzled(first_row(tid), chunk_byte(tid), RowBytes); }
  // The shared offset of piece i (first: first_offset(tid)).
  __device__ __forceinline__ static int offset(int first, int tid, int i) {
    if constexpr (kRowStep % 8 == 0) return first + i * kRowStep * RowBytes;
    else return swizzled(first_row(tid) + kRowStep * i, chunk_byte(tid), RowBytes);
  }
};

// A tile's A rows gathered by pair, in Grid's pieces: a source per piece fixed for the tile, an empty
// pair slot zero-filled (from a valid address), rows past BM skipped. row_of(pair) is the first byte
// of pair's row, or of any valid row for -1.
template <typename Grid, int BM>
struct GatheredRows {
  static constexpr int kPieces = (BM + Grid::kRowStep - 1) / Grid::kRowStep;
  const uint8_t* src[kPieces];
  int bytes[kPieces];  // 16, 0 for an empty pair slot (zero-fill), -1 for no such row
  int first;
  template <typename RowOf>
  __device__ __forceinline__ GatheredRows(const int* s_pair, int tid, RowOf&& row_of) : first(Grid::first_offset(tid)) {
#pragma unroll
    for (int i = 0; i < kPieces; ++i) {
      const int row = Grid::first_row(tid) + Grid::kRowStep * i;
      const int pair = row < BM ? s_pair[row] : -1;
      src[i] = row_of(pair) + Grid::chunk_byte(tid);
      bytes[i] = row < BM ? (pair >= 0 ? 16 : 0) : -1;
    }
  }
  // The pieces of the K block k_bytes into a row into stage.
  __device__ __forceinline__ void copy(uint8_t* stage, int tid, int k_bytes) const {
#pragma unroll
    for (int i = 0; i < kPieces; ++i)
      if (bytes[i] >= 0) cp_async16(stage + Grid::offset(first, tid, i), src[i] + k_bytes, bytes[i]);
  }
};

template <int BM_, int MT_, int BN_, int Stages_, int KB_ = 1>
struct Fp8Tile {
  static constexpr int BM = BM_, MT = MT_, BN = BN_, Stages = Stages_, KB = KB_;
  static constexpr int Slots = Stages * KB;  // one-block slots of shared memory (KB per stage)
  static constexpr int WarpsM = BM / (16 * MT), WarpsN = BN / 16;
  static constexpr int Threads = WarpsM * WarpsN * 32;
  static_assert(Threads >= BM && BN <= kQBlock, "a thread per pair slot; X1 and X2 columns in one scale block each");
  static constexpr int StageA = BM * kFp8Row;       // pair rows
  static constexpr int StageB = 2 * BN * kFp8Row;   // BN X1 rows, then the BN matching X2 rows
  static constexpr int Stage = StageA + StageB;
  // MOE_SMALL_WGMMA: the 16-pair tile's stages start 1024-byte aligned (wgmma's 128-byte swizzle
  // atoms are absolute), 1 KB more to align in.
  static constexpr bool AlignedStages = MOE_SMALL_WGMMA != 0 && BM == 16 && MT == 1 && BN == 64;
  // MOE_WEIGHT_TMA: gemm1_fp8_kernel takes the B rows as two 64-row TMA boxes a stage; the boxes'
  // 128-byte swizzle is absolute, so the stages start 1024-byte aligned too.
  static constexpr bool BoxesB = MOE_WEIGHT_TMA != 0 && BN == 64;
  static constexpr int Smem = Slots * Stage + (AlignedStages || BoxesB ? 1024 : 0);  // dynamic shared memory
  static_assert(Stages >= 2 && Stages <= 6, "stages out of range");
  static_assert(Smem <= kMaxTileSmem, "the stages exceed the shared memory of an SM (fewer stages or blocks per stage)");
  static_assert(kHiddenBlocks % KB == 0, "whole stages per K range");
};
using Fp8TileLarge = Fp8Tile<kTcBM, 2, 64, MOE_FP8_STAGES>;
using Fp8TileSmall = Fp8Tile<16, 1, MOE_SMALL_BN, MOE_SMALL_STAGES, MOE_STAGE_KBLOCKS>;
using Fp8TileMid = Fp8Tile<32, 2, MOE_SMALL_BN, MOE_SMALL_STAGES, MOE_STAGE_KBLOCKS>;  // ~16-32 pairs per expert
// Whole units at large T (MOE_WHOLE_GEMM1_TILE): the mid tile, 128 columns, or 64 pairs.
using Fp8TileWhole = std::conditional_t<MOE_WHOLE_GEMM1_TILE == 1, Fp8Tile<32, 2, 128, MOE_SMALL_STAGES, MOE_STAGE_KBLOCKS>,
                                        std::conditional_t<MOE_WHOLE_GEMM1_TILE == 2, Fp8Tile<64, 2, 64, MOE_SMALL_STAGES, MOE_STAGE_KBLOCKS>, Fp8TileMid>>;

// A fragment (16 rows x 32 bytes of K) of a row-major fp8 tile at (m0, byte k0): the bf16 16x16
// addressing in bytes, since an 8-bit m16n8k32 fragment has the layout of a 16-bit m16n8k16 one.
__device__ __forceinline__ void load_a8(uint32_t r[4], const uint8_t* base, int m0, int k0, int lane) {
  ldmatrix_x4(r, base + swizzled(m0 + (lane & 15), k0 + (lane >> 4) * 16, kFp8Row));
}

// B fragments of two n8 tiles (n0, n0 + 8), 32 bytes of K at k0, from Y row-major [n][k] fp8.
__device__ __forceinline__ void load_b8(uint32_t r[4], const uint8_t* y, int n0, int k0, int lane) {
  ldmatrix_x4(r, y + swizzled(n0 + (lane & 7) + (lane >> 4) * 8, k0 + ((lane >> 3) & 1) * 16, kFp8Row));
}

// One float through the cp.async path (0 when !valid), landing with its stage's group. The block
// scales travel this way (MOE_ASYNC_SCALES) so that no iteration of a K loop waits on a plain
// global load: a scale read in the loop put an L2 round trip into every iteration of every CTA.
// MOE_ASYNC_SCALES: 1 in every streamed kernel, 2 in the stream-K kernels only (measured: the tile
// kernels lost 5-15% with it at T <= 64, the stream-K ones gained 5-7% at T=80 and T=901).
constexpr bool kAsyncTileScales = MOE_ASYNC_SCALES == 1;
constexpr bool kAsyncStreamKScales = MOE_ASYNC_SCALES != 0;
constexpr bool kGemm2Prescaled = MOE_GEMM2_PRESCALE != 0;  // the streamed GEMM2 kernels scale W2 as they convert it
__device__ __forceinline__ void cp_async_float(float* smem, const float* gmem, bool valid) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem), "r"(valid ? 4 : 0) : "memory");
}

// The K loop of a CTA that streams the 128-wide K blocks [kb_begin, kb_end) through kStages
// shared-memory stages of kGroup blocks each, filled by cp.async: load(kb, slot) issues block kb's
// copies into one-block slot `slot` (stage s holds slots s * kGroup ..), compute(kb, slot) uses a
// landed block. One commit group per stage (an empty one past the end keeps the wait_group count
// uniform), a barrier before a stage is read and one after it is used, so the next iteration's
// load may refill it. kGroup > 1 asks for kGroup consecutive 128-byte pieces of each weight row at
// once (adjacent in DRAM) and halves the barriers per block.
// MOE_STREAM_ONE_BARRIER with 3 or more stages: one barrier per block instead of two. A block's
// barrier (after its copies landed) also proves every warp finished the previous block, so the stage
// that block used is refilled right after it, two or more blocks ahead of its use.
// kAsyncProxy: compute reads the stages through the async proxy (wgmma), so each thread fences its
// landed copies before the barrier that publishes them.
template <int kStages, int kGroup, bool kAsyncProxy = false, typename Load, typename Compute>
__device__ __forceinline__ void stream_k_blocks(int kb_begin, int kb_end, Load&& load, Compute&& compute) {
  static_assert(kStages >= 2, "one stage loads while another computes");
  const auto load_or_nothing = [&](int kb, int st) {
#pragma unroll
    for (int j = 0; j < kGroup; ++j)
      if (kb + j < kb_end) load(kb + j, st * kGroup + j);
    asm volatile("cp.async.commit_group;\n" ::: "memory");
  };
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) load_or_nothing(kb_begin + s * kGroup, s);
  if constexpr (MOE_STREAM_ONE_BARRIER && kStages >= 3) {
#pragma unroll 1
    for (int kb = kb_begin; kb < kb_end; kb += kGroup) {
      const int i = (kb - kb_begin) / kGroup;
      // Committed so far: kStages - 1 + i groups; block i's is complete when at most kStages - 2 wait.
      asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 2) : "memory");
      if constexpr (kAsyncProxy) afg::fence_proxy_async();
      __syncthreads();  // block i landed for every thread; every warp is done with block i - 1
      load_or_nothing(kb + (kStages - 1) * kGroup, (i + kStages - 1) % kStages);  // block i - 1's stage
      const int st = i % kStages;
#pragma unroll
      for (int j = 0; j < kGroup; ++j)
        if (kb + j < kb_end) compute(kb + j, st * kGroup + j);
    }
    __syncthreads();  // the caller may reuse the stages (epilogue, next tile)
    return;
  }
#pragma unroll 1
  for (int kb = kb_begin; kb < kb_end; kb += kGroup) {
    const int i = (kb - kb_begin) / kGroup;
    load_or_nothing(kb + (kStages - 1) * kGroup, (i + kStages - 1) % kStages);  // the stage the last iteration freed
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 1) : "memory");  // this stage has landed
    if constexpr (kAsyncProxy) afg::fence_proxy_async();
    __syncthreads();
    const int st = i % kStages;
#pragma unroll
    for (int j = 0; j < kGroup; ++j)
      if (kb + j < kb_end) compute(kb + j, st * kGroup + j);
    __syncthreads();
  }
}

// B of one GEMM1 K block into a stage: the tile's BN X1 weight rows (n0..), then the matching X2
// rows (kInter + n0..), 8 pieces of 16 bytes per row.
template <typename Tile>
__device__ __forceinline__ void load_gemm1_weights(uint8_t* sB, const uint8_t* w1, int le, int n0, int kb, int tid) {
#pragma unroll
  for (int p = tid; p < 2 * Tile::BN * 8; p += Tile::Threads) {
    const int row = p >> 3, col = (p & 7) * 16;
    const int w_row = row < Tile::BN ? n0 + row : kInter + n0 + (row - Tile::BN);
    cp_async16_weight(sB + swizzled(row, col, kFp8Row), w1 + (static_cast<int64_t>(le) * kGemm1Out + w_row) * kHidden + kb * kQBlock + col);
  }
}

// MOE_SMALL_WGMMA, sm_90a builds only (a plain sm_90 build compiles the wgmma wrappers empty, so the
// tile keeps mma.sync there).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
constexpr bool kSmallWgmmaBuilt = MOE_SMALL_WGMMA != 0;
#else
constexpr bool kSmallWgmmaBuilt = false;
#endif

// One 16-pair K block on wgmma, operands swapped: `pairs` holds the 16 pair rows (wgmma's B
// operand) and `weights` 128 weight rows (its A operand, two m64 halves), both shared addresses; in
// a stage they lie back to back (pairs first). t[h] (64 weight rows 64h.. x 16 pair slots) = W rows
// * pairs^T over the block's 128 K, 4 steps of 32. GEMM1's weight rows are
// its 64 X1 then 64 X2 rows, GEMM2's the tile's 128 W2 rows. Rows are 128 bytes with 16-byte chunks
// XOR-swizzled by row (swizzled()), which is the 128-byte swizzle wgmma reads: the stage must be
// 1024-byte aligned. d[i] of a thread: weight row 16 * warp + lane / 4 + 8 * ((i >> 1) & 1), pair
// slot 8 * (i >> 2) + 2 * (lane & 3) + (i & 1).
__device__ __forceinline__ void swapped_block_wgmma(uint32_t pairs, uint32_t weights, float (&t)[2][8]) {
  afg::wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < kQBlock / 32; ++ks) {
#pragma unroll
    for (int h = 0; h < 2; ++h)
      afg::wgmma_m64n16k32_e4m3(t[h], afg::desc_sw128(weights + h * 64 * kFp8Row + 32 * ks), afg::desc_sw128(pairs + 32 * ks), ks);
  }
  afg::wgmma_commit();
  afg::wgmma_wait<0>();
  afg::fence_fragment(t[0]);
  afg::fence_fragment(t[1]);
}
__device__ __forceinline__ int swapped_row(int i, int warp, int lane) { return 16 * warp + (lane >> 2) + 8 * ((i >> 1) & 1); }
__device__ __forceinline__ int swapped_slot(int i, int lane) { return 8 * (i >> 2) + 2 * (lane & 3) + (i & 1); }

// The block partials times the pair's activation scale and the block's X1 / X2 weight scale.
// s0 / s1: the weight scales of the two halves (GEMM1's X1 and X2 blocks; GEMM2's one W2 block twice).
__device__ __forceinline__ void fold_swapped_block(float (&acc)[2][8], const float (&t)[2][8], const float* sa_slots, float s0,
                                                   float s1, int lane) {
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const float sa = sa_slots[swapped_slot(i, lane)];
    acc[0][i] += t[0][i] * (sa * s0);
    acc[1][i] += t[1][i] * (sa * s1);
  }
}

// store_gemm1_tile for the swapped accumulators: one X1 / X2 column per value.
__device__ __forceinline__ void store_gemm1_swapped(const float (&acc)[2][8], const int* s_pair, int warp, int lane, int n0,
                                                    int splits, __nv_bfloat16* cbuf, float* g1_partial) {
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int pair = s_pair[swapped_slot(i, lane)];
    if (pair < 0) continue;
    const int col = n0 + swapped_row(i, warp, lane);
    if (splits == 1) {
      cbuf[static_cast<int64_t>(pair) * kInter + col] = __float2bfloat16_rn(silu_mul(acc[0][i], acc[1][i]));
    } else {
      float* dst = g1_partial + static_cast<int64_t>(pair) * kGemm1Out;
      atomicAdd(dst + col, acc[0][i]);
      atomicAdd(dst + kInter + col, acc[1][i]);
    }
  }
}

// add_gemm2_tile for the swapped accumulators of a 128-row W2 tile at h0: each pair's weighted sums
// added into the token's accumulator row.
__device__ __forceinline__ void add_gemm2_swapped(const float (&acc)[2][8], const int* s_pair, const float* pair_weight, int warp,
                                                  int lane, int h0, float* acc_out) {
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int pair = s_pair[swapped_slot(i, lane)];
    if (pair < 0) continue;
    const float w = pair_weight[pair];
    float* dst = acc_out + static_cast<int64_t>(pair / kTopK) * kHidden + h0 + swapped_row(i, warp, lane);
    atomicAdd(dst, acc[0][i] * w);
    atomicAdd(dst + 64, acc[1][i] * w);
  }
}

// One landed GEMM1 stage (A rows, then X1 / X2 weight rows) into the warp's fp32 block partials.
template <typename Tile>
__device__ __forceinline__ void gemm1_block_mma(const uint8_t* stage, float (&tmp1)[Tile::MT][2][4],
                                                float (&tmp2)[Tile::MT][2][4], int wm, int wn, int lane) {
  constexpr int MT = Tile::MT;
  const uint8_t* sA = stage;
  const uint8_t* sB = stage + Tile::StageA;
#pragma unroll
  for (int k0 = 0; k0 < kQBlock; k0 += 32) {
    uint32_t a[MT][4], bx1[4], bx2[4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) load_a8(a[mt], sA, wm * 16 * MT + mt * 16, k0, lane);
    load_b8(bx1, sB, wn * 16, k0, lane);
    load_b8(bx2, sB, Tile::BN + wn * 16, k0, lane);
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      mma_e4m3(tmp1[mt][0], a[mt], bx1[0], bx1[1]);
      mma_e4m3(tmp1[mt][1], a[mt], bx1[2], bx1[3]);
      mma_e4m3(tmp2[mt][0], a[mt], bx2[0], bx2[1]);
      mma_e4m3(tmp2[mt][1], a[mt], bx2[2], bx2[3]);
    }
  }
}

// grid (kInter / BN, ceil(T / BM), 32 experts x splits), or with tiles_z > 0 (T <= MOE_LOOPING_TILES_MAX_T) a
// grid of resident CTAs looping over that grid's tiles with z < tiles_z (looping_tiles).
template <typename Tile>
__global__ void MOE_TILE_BOUNDS(Tile)
gemm1_fp8_kernel(const uint8_t* __restrict__ hidden, const float* __restrict__ hidden_scale,
                 const uint8_t* __restrict__ w1, const float* __restrict__ w1_scale,
                 const int* __restrict__ counts, const int* __restrict__ lists, int T, int splits,
                 __nv_bfloat16* __restrict__ cbuf, float* __restrict__ g1_partial, int* __restrict__ swiglu_tickets,
                 int tiles_z, const __grid_constant__ CUtensorMap w1_map) {
  constexpr int BM = Tile::BM, MT = Tile::MT, BN = Tile::BN, kSlots = Tile::Slots;
  // MOE_GEMM1_LATE_RELEASE: the SwiGLU pass's CTAs launch only as this grid's CTAs exit.
  if constexpr (MOE_GEMM1_LATE_RELEASE != 0) {
    pdl_wait_only();
  } else {
    pdl_wait_then_allow();
  }
  extern __shared__ __align__(16) uint8_t smem_fp8[];
  __shared__ float s_sa[kSlots][BM];
  __shared__ float s_sw[kSlots][2];  // the block's X1 and X2 weight scales (MOE_ASYNC_SCALES)
  __shared__ int s_pair[BM];
  __shared__ float s_scales_ahead[kScalesAhead ? kAheadBlocks * (BM + 2) : 1];
  uint8_t* const stages = Tile::AlignedStages || Tile::BoxesB ? smem_fp8 + ((1024u - (smem_addr(smem_fp8) & 1023u)) & 1023u) : smem_fp8;
  // MOE_WEIGHT_TMA: a slot's B boxes complete on its mbarrier (box_slots_init).
  __shared__ __align__(8) uint64_t s_b_full[Tile::BoxesB ? kSlots : 1];
  uint32_t b_phases = 0;
  if constexpr (Tile::BoxesB) box_slots_init(s_b_full, kSlots);
  // One tile (b) of the grid (gx, gy, gz); false when its expert slot has no expert (every later
  // slot of a compacted grid is empty too).
  const auto tile = [&](const uint3 b, unsigned gx, unsigned gy, unsigned gz) -> bool {
    const int le = expert_of_slot(counts, static_cast<int>(b.z) / splits, static_cast<int>(gz) / splits);
    if (le < 0) return false;  // block-uniform: a compact grid's slot beyond the active experts (and every later one)
    const int split = b.z % splits;
    const int m0 = b.y * BM;
    const int n0 = b.x * BN;  // X1 column (and X2 column - 2048) of the tile
    const int cnt = counts[le];
    if (m0 >= cnt) return true;  // block-uniform
    diag_tile<0>(0, b, gx, gy, static_cast<uint32_t>(cnt));
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp / Tile::WarpsN, wn = warp % Tile::WarpsN;
    const int g = lane >> 2, tq = lane & 3;
    const int kb_begin = split * kHiddenBlocks / splits;
    const int kb_end = (split + 1) * kHiddenBlocks / splits;

    load_tile_pairs<BM>(s_pair, lists, le, m0, cnt, T, tid);
    __syncthreads();
    // The tile's X1 and X2 columns lie in one 128-row scale block each (BN <= 128, aligned).
    const float* sw1 = w1_scale + (static_cast<int64_t>(le) * kGemm1OutBlocks + n0 / kQBlock) * kHiddenBlocks;
    const float* sw2 = w1_scale + (static_cast<int64_t>(le) * kGemm1OutBlocks + (kInter + n0) / kQBlock) * kHiddenBlocks;

    // MOE_TILE_SCALES_AHEAD: every scale of the tile's K range (BM activation scales and the X1 and X2
    // weight scales per block) is copied once, in the first stage's cp.async group, when it fits.
    const bool ahead = kScalesAhead && kb_end - kb_begin <= kAheadBlocks;
    if (ahead) {
      for (int i = tid; i < (kb_end - kb_begin) * (BM + 2); i += Tile::Threads) {
        const int j = i / (BM + 2), r = i % (BM + 2), kb = kb_begin + j;
        if (r < BM) {
          const int pair = s_pair[r];
          cp_async_float(&s_scales_ahead[i], hidden_scale + static_cast<int64_t>(kb) * T + (pair >= 0 ? pair / kTopK : 0), pair >= 0);
        } else {
          cp_async_float(&s_scales_ahead[i], (r == BM ? sw1 : sw2) + kb, true);
        }
      }
    }
    // One 128-byte K block of the tile into stage st: A BM x 8 pieces of 16 bytes, B 2 BN x 8; the
    // pairs' activation scales of the block beside them.
    // Sources fixed for the tile (PieceGrid): A rows by pair (an empty slot zero-fills), B rows X1
    // n0.. then X2 kInter + n0.., each K block 128 bytes further.
    using Grid = PieceGrid<Tile::Threads, kFp8Row>;
    constexpr int kPiecesB = 2 * BN / Grid::kRowStep;
    static_assert(BN % Grid::kRowStep == 0, "a piece is all X1 or all X2");
    const GatheredRows<Grid, BM> a_rows(s_pair, tid, [&](int pair) {
      return hidden + static_cast<int64_t>(pair >= 0 ? pair / kTopK : 0) * kHidden;
    });
    const uint8_t* b_src = w1 + (static_cast<int64_t>(le) * kGemm1Out + n0 + Grid::first_row(tid)) * kHidden + Grid::chunk_byte(tid);
    const int scale_pair = tid < BM ? s_pair[tid] : -1;
    const float* sa_src = hidden_scale + (scale_pair >= 0 ? scale_pair / kTopK : 0);
    auto load_block = [&](int kb, int st) {
      uint8_t* sA = stages + st * Tile::Stage;
      uint8_t* sB = sA + Tile::StageA;
      const int k_byte = kb * kQBlock;
      a_rows.copy(sA, tid, k_byte);
      if constexpr (Tile::BoxesB) {
        // One thread: the X1 box (W1 rows n0..) and the X2 box (kInter + n0..) of block kb.
        if (tid == 0) {
          constexpr bool kEvictFirst = MOE_WEIGHT_TMA == 1 || MOE_WEIGHT_TMA == 3;
          box_slot_arm(s_b_full, st, 2 * BN * kFp8Row);
          const uint32_t bar = smem_addr(&s_b_full[st]);
          const int row = le * kGemm1Out + n0;
          load_weight_box<kEvictFirst>(smem_addr(sB), &w1_map, k_byte, row, bar);
          load_weight_box<kEvictFirst>(smem_addr(sB + BN * kFp8Row), &w1_map, k_byte, row + kInter, bar);
        }
      } else {
#pragma unroll
        for (int i = 0; i < kPiecesB; ++i) {
          const int rows = Grid::kRowStep * i;  // past the thread's first row; X2 rows start at kInter past X1's
          const int64_t offset = static_cast<int64_t>(rows < BN ? rows : kInter + rows - BN) * kHidden;
          cp_async16_weight(sB + Grid::offset(a_rows.first, tid, i), b_src + offset + k_byte);
        }
      }
      if (ahead) return;  // the tile's scales arrived with its first stage
      if (tid < BM) {
        const float* scale = sa_src + static_cast<int64_t>(kb) * T;
        if (kAsyncTileScales) cp_async_float(&s_sa[st][tid], scale, scale_pair >= 0);
        else s_sa[st][tid] = scale_pair >= 0 ? *scale : 0.f;
      }
      if (kAsyncTileScales && tid >= Tile::Threads - 2) cp_async_float(&s_sw[st][Tile::Threads - 1 - tid], (tid == Tile::Threads - 1 ? sw1 : sw2) + kb, true);
    };

    // The block's activation scales (with `ahead` followed by its X1 and X2 weight scales).
    const auto block_scales = [&](int kb, int st) { return ahead ? s_scales_ahead + (kb - kb_begin) * (BM + 2) : s_sa[st]; };
    const auto x1_scale = [&](int kb, int st, const float* sa) { return ahead ? sa[BM] : kAsyncTileScales ? s_sw[st][0] : sw1[kb]; };
    const auto x2_scale = [&](int kb, int st, const float* sa) { return ahead ? sa[BM + 1] : kAsyncTileScales ? s_sw[st][1] : sw2[kb]; };
    // MOE_WEIGHT_TMA: slot st's B boxes have landed (its cp.async A rows are the stream's wait).
    const auto wait_b = [&](int st) {
      if constexpr (Tile::BoxesB) box_slot_wait(s_b_full, b_phases, st);
    };
    if constexpr (Tile::AlignedStages && kSmallWgmmaBuilt) {
      static_assert(BN == 64, "the X1 and X2 rows are the two m64 halves");
      float acc[2][8] = {}, tmp[2][8] = {};
      stream_k_blocks<Tile::Stages, Tile::KB, true>(kb_begin, kb_end, load_block, [&](int kb, int st) {
        wait_b(st);
        swapped_block_wgmma(smem_addr(stages + st * Tile::Stage), smem_addr(stages + st * Tile::Stage + Tile::StageA), tmp);
        const float* sa = block_scales(kb, st);
        fold_swapped_block(acc, tmp, sa, x1_scale(kb, st, sa), x2_scale(kb, st, sa), lane);
      });
      store_gemm1_swapped(acc, s_pair, warp, lane, n0, splits, cbuf, g1_partial);
      diag_tile<0>(1, b, gx, gy, __float_as_uint(acc[0][0]));
    } else {
      float acc1[MT][2][4] = {}, acc2[MT][2][4] = {}, tmp1[MT][2][4] = {}, tmp2[MT][2][4] = {};

      stream_k_blocks<Tile::Stages, Tile::KB>(kb_begin, kb_end, load_block, [&](int kb, int st) {
        wait_b(st);
        gemm1_block_mma<Tile>(stages + st * Tile::Stage, tmp1, tmp2, wm, wn, lane);
        const float* sa = block_scales(kb, st);
        fold_scaled_block<MT>(acc1, acc2, tmp1, tmp2, sa, x1_scale(kb, st, sa), x2_scale(kb, st, sa), wm, g);
      });
      store_gemm1_tile<MT>(acc1, acc2, s_pair, wm, wn, g, tq, n0, splits, cbuf, g1_partial);
      diag_tile<0>(1, b, gx, gy, __float_as_uint(acc1[0][0][0]));
    }
    // MOE_FUSED_EPILOGUES (swiglu_tickets: 32 experts x row tiles x column tiles): the tile's last
    // split applies SwiGLU, instead of a SwiGLU launch after the grid.
    if (swiglu_tickets != nullptr && splits > 1 &&
        last_to_arrive(swiglu_tickets + (static_cast<int64_t>(le) * gy + b.y) * gx + b.x, splits))
      swiglu_tile<BM, BN, Tile::Threads>(g1_partial, s_pair, n0, cbuf);
    return true;
  };
  looping_tiles(tiles_z, dim3(kInter / BN, static_cast<unsigned>((T + BM - 1) / BM), static_cast<unsigned>(tiles_z)), tile);
}

// fp8 C (MOE_SMALL_GEMM2_WGMMA): a thread's N consecutive C values of one 128-column block whose
// values lie in kLanes consecutive lanes (the whole warp calls it): e4m3 scaled by the block's amax /
// 448, four values to a word (the lowest column in the low byte); returns the block's scale.
template <int kLanes, int N>
__device__ __forceinline__ float quantize_c_fp8(const float (&v)[N], uint32_t (&words)[N / 4]) {
  float amax = 0.f;
#pragma unroll
  for (int i = 0; i < N; ++i) amax = fmaxf(amax, fabsf(v[i]));
#pragma unroll
  for (int off = kLanes / 2; off > 0; off >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
  const float inv = amax > 0.f ? 448.f / amax : 0.f;
  const auto pair = [&](int i) {
    return static_cast<uint32_t>(__nv_cvt_float2_to_fp8x2(make_float2(v[i] * inv, v[i + 1] * inv), __NV_SATFINITE, __NV_E4M3));
  };
#pragma unroll
  for (int w = 0; w < N / 4; ++w) words[w] = pair(4 * w) | (pair(4 * w + 2) << 16);
  return amax / 448.f;
}

// SwiGLU over the split-K sums: C[pair][c] = silu(G1[pair][2048 + c]) * G1[pair][c] for the listed pairs.
__global__ void __launch_bounds__(kTcThreads)
swiglu_kernel(const float* __restrict__ g1_partial, const int* __restrict__ counts, const int* __restrict__ lists,
              int T, __nv_bfloat16* __restrict__ cbuf, float* __restrict__ c_scale) {
  const int le = blockIdx.y;
  const int slot = blockIdx.x;
  if constexpr (MOE_SWIGLU_VEC != 0) {
    // The count and the list entry asked for together (an entry past the count is scratch that is
    // read, never used), then a thread's 8 columns of X1 and X2 in four loads at once. Both are
    // routing's (MOE_EARLY_ROUTING_READS: read before the wait for GEMM1, see routing_ready).
    static_assert(kInter == 8 * kTcThreads, "8 columns per thread");
    if constexpr (!kEarlyRoutingReads) pdl_wait_then_allow();
    const int cnt = counts[le];
    const int listed = lists[le * T + slot];
    if (slot >= cnt) return;
    if constexpr (kEarlyRoutingReads) pdl_wait_then_allow();
    const int c = 8 * threadIdx.x;
    const float4* src = reinterpret_cast<const float4*>(g1_partial + static_cast<int64_t>(listed) * kGemm1Out + c);
    const float4 x1a = src[0], x1b = src[1], x2a = src[kInter / 4], x2b = src[kInter / 4 + 1];
    if (c_scale != nullptr) {
      // MOE_SMALL_GEMM2_WGMMA: C in fp8 e4m3, scaled per 128 columns (16 threads) by its amax / 448.
      const float v[8] = {silu_mul(x1a.x, x2a.x), silu_mul(x1a.y, x2a.y), silu_mul(x1a.z, x2a.z), silu_mul(x1a.w, x2a.w),
                          silu_mul(x1b.x, x2b.x), silu_mul(x1b.y, x2b.y), silu_mul(x1b.z, x2b.z), silu_mul(x1b.w, x2b.w)};
      uint32_t words[2];
      const float scale = quantize_c_fp8<16>(v, words);
      *reinterpret_cast<uint2*>(reinterpret_cast<uint8_t*>(cbuf) + static_cast<int64_t>(listed) * kInter + c) = make_uint2(words[0], words[1]);
      if ((threadIdx.x & 15) == 0) c_scale[static_cast<int64_t>(listed) * kSmallCScales + c / kQBlock] = scale;
      return;
    }
    *reinterpret_cast<uint4*>(cbuf + static_cast<int64_t>(listed) * kInter + c) =
        make_uint4(bf16x2_bits(silu_mul(x1a.x, x2a.x), silu_mul(x1a.y, x2a.y)), bf16x2_bits(silu_mul(x1a.z, x2a.z), silu_mul(x1a.w, x2a.w)),
                   bf16x2_bits(silu_mul(x1b.x, x2b.x), silu_mul(x1b.y, x2b.y)), bf16x2_bits(silu_mul(x1b.z, x2b.z), silu_mul(x1b.w, x2b.w)));
    return;
  }
  pdl_wait_then_allow();
  if (slot >= counts[le]) return;
  const int pair = lists[le * T + slot];
  const float* src = g1_partial + static_cast<int64_t>(pair) * kGemm1Out;
  for (int c = 2 * threadIdx.x; c < kInter; c += 2 * kTcThreads) {
    *reinterpret_cast<__nv_bfloat162*>(cbuf + static_cast<int64_t>(pair) * kInter + c) =
        __floats2bfloat162_rn(silu_mul(src[c], src[kInter + c]), silu_mul(src[c + 1], src[kInter + c + 1]));
  }
}

// ------------------------------------------------------------------------------------------------
// GEMM2: acc[token][h0 + c] += weight * sum over this split's K blocks of s2 * (C[pair] . W2[h0 + c]).
__global__ void __launch_bounds__(kTcThreads)
gemm2_tc_kernel(const __nv_bfloat16* __restrict__ cbuf, const uint8_t* __restrict__ w2, const float* __restrict__ w2_scale,
                const int* __restrict__ counts, const int* __restrict__ lists, const float* __restrict__ pair_weight,
                int T, int splits, float* __restrict__ acc_out) {
  pdl_wait_then_allow();
  __shared__ __align__(16) __nv_bfloat16 sA[kTcBM * kTcLd];   // 9 KB
  __shared__ __align__(16) __nv_bfloat16 sB[128 * kTcLd];     // 18 KB
  __shared__ int s_pair[kTcBM];

  const int le = blockIdx.z / splits;
  const int split = blockIdx.z % splits;
  const int m0 = blockIdx.y * kTcBM;
  const int h0 = blockIdx.x * 128;
  const int cnt = counts[le];
  if (m0 >= cnt) return;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp >> 2, wn = warp & 3;
  const int g = lane >> 2, tq = lane & 3;

  load_tile_pairs(s_pair, lists, le, m0, cnt, T, tid);
  __syncthreads();

  // Loaders: C row tid/4, 16 bf16 (32 bytes) at (tid%4)*16; W2 row tid/2, 32 bytes at (tid%2)*32.
  const int ar = tid >> 2, ak = (tid & 3) * 16;
  const int a_pair = s_pair[ar];
  const __nv_bfloat16* a_src = cbuf + static_cast<int64_t>(a_pair >= 0 ? a_pair : 0) * kInter + ak;
  const int br = tid >> 1, bk = (tid & 1) * 32;
  const uint8_t* b_src = w2 + (static_cast<int64_t>(le) * kHidden + h0 + br) * kInter + bk;
  const float* sw = w2_scale + (static_cast<int64_t>(le) * kHiddenBlocks + h0 / kQBlock) * kInterBlocks;

  const int kb_begin = split * kInterBlocks / splits;
  const int kb_end = (split + 1) * kInterBlocks / splits;
  const int step_begin = kb_begin * kStepsPerBlock, step_end = kb_end * kStepsPerBlock;

  float acc[2][4][4], tmp[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = tmp[i][j][e] = 0.f;

  uint4 a_lo = make_uint4(0, 0, 0, 0), a_hi = make_uint4(0, 0, 0, 0), b_reg0, b_reg1;
  {
    const int k = step_begin * kTcStepK;
    if (a_pair >= 0) {
      a_lo = *reinterpret_cast<const uint4*>(a_src + k);
      a_hi = *reinterpret_cast<const uint4*>(a_src + k + 8);
    }
    b_reg0 = *reinterpret_cast<const uint4*>(b_src + k);
    b_reg1 = *reinterpret_cast<const uint4*>(b_src + k + 16);
  }

#pragma unroll 1
  for (int step = step_begin; step < step_end; ++step) {
    const int kb = step / kStepsPerBlock;
    *reinterpret_cast<uint4*>(sA + ar * kTcLd + ak) = a_lo;
    *reinterpret_cast<uint4*>(sA + ar * kTcLd + ak + 8) = a_hi;
    store_fp8x16_as_bf16(sB + br * kTcLd + bk, b_reg0);
    store_fp8x16_as_bf16(sB + br * kTcLd + bk + 16, b_reg1);
    __syncthreads();
    if (step + 1 < step_end) {
      const int k = (step + 1) * kTcStepK;
      if (a_pair >= 0) {
        a_lo = *reinterpret_cast<const uint4*>(a_src + k);
        a_hi = *reinterpret_cast<const uint4*>(a_src + k + 8);
      }
      b_reg0 = *reinterpret_cast<const uint4*>(b_src + k);
      b_reg1 = *reinterpret_cast<const uint4*>(b_src + k + 16);
    }
#pragma unroll
    for (int k0 = 0; k0 < kTcStepK; k0 += 16) {
      uint32_t a0[4], a1[4], b01[4], b23[4];
      load_a(a0, sA, wm * 32, k0, lane);
      load_a(a1, sA, wm * 32 + 16, k0, lane);
      load_b(b01, sB, wn * 32, k0, lane);
      load_b(b23, sB, wn * 32 + 16, k0, lane);
      mma_bf16(tmp[0][0], a0, b01[0], b01[1]);
      mma_bf16(tmp[0][1], a0, b01[2], b01[3]);
      mma_bf16(tmp[0][2], a0, b23[0], b23[1]);
      mma_bf16(tmp[0][3], a0, b23[2], b23[3]);
      mma_bf16(tmp[1][0], a1, b01[0], b01[1]);
      mma_bf16(tmp[1][1], a1, b01[2], b01[3]);
      mma_bf16(tmp[1][2], a1, b23[0], b23[1]);
      mma_bf16(tmp[1][3], a1, b23[2], b23[3]);
    }
    if (step % kStepsPerBlock == kStepsPerBlock - 1) {
      const float s = sw[kb];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt)
#pragma unroll
        for (int nt = 0; nt < 4; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            acc[mt][nt][e] += tmp[mt][nt][e] * s;
            tmp[mt][nt][e] = 0.f;
          }
    }
    __syncthreads();
  }

#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int pair = s_pair[wm * 32 + mt * 16 + g + half * 8];
      if (pair < 0) continue;
      const float w = pair_weight[pair];
      float* dst = acc_out + static_cast<int64_t>(pair / kTopK) * kHidden + h0 + wn * 32 + 2 * tq;
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        atomicAdd(dst + nt * 8, acc[mt][nt][2 * half] * w);
        atomicAdd(dst + nt * 8 + 1, acc[mt][nt][2 * half + 1] * w);
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// GEMM2 for small T (T <= MOE_GEMM1_SMALL_TILE_MAX_T): tile 16 pairs x (32 x warps) hidden columns,
// warps of 16 x 32 (one W2 scale block per warp), K blocks of 128 streamed by cp.async in Stages stages:
// C (bf16, 4 KB) and W2 (fp8, 32 KB) per stage. W2 stays fp8 in shared memory; each thread builds
// its bf16 B fragments from two 2-byte reads (exact e4m3 -> f16 -> bf16), so no bf16 copy of the
// weights is written. The same math as gemm2_tc_kernel: per block fp32 partials scaled by the
// block's W2 scale, weighted atomics into the accumulator.
// Fp8C_ (MOE_SMALL_GEMM2_WGMMA): C in fp8 (a scale per pair and 128 columns), the block on wgmma
// with W2's 128 rows as A and the 16 pair rows as B; the stages 1024-byte aligned (1 KB more).
// OwnC_ (MOE_GEMM2_OWN_SWIGLU): the tile computes its pairs' fp8 C for its whole K range from G1
// into a resident region (CBlocks blocks of 16 rows, before the stages), and the stages hold W2 only.
template <int MT_, int Stages_, int Warps_, int KB_ = 1, bool Fp8C_ = false, bool OwnC_ = false>
struct Gemm2SmallTile {
  static constexpr int MT = MT_, BM = 16 * MT_, BN = 32 * Warps_, Stages = Stages_, Threads = 32 * Warps_;
  static constexpr int KB = KB_, Slots = Stages * KB_;  // one-block slots of shared memory (KB per stage)
  static constexpr bool Fp8C = Fp8C_, OwnC = OwnC_, AlignedStages = Fp8C_;
  static_assert(kInterBlocks % KB == 0, "whole stages per K range");
  static_assert(!Fp8C || (MT == 1 && BN == 128 && KB == 1), "the fp8-C tile: 16 pairs, two m64 halves of W2 rows, one block a stage");
  static_assert(!OwnC || Fp8C, "a tile's own C is fp8");
  static constexpr int CBlocks = OwnC ? kInterBlocks / MOE_GEMM2_SPLITS : 0;  // the K range of one split
  static constexpr int CBytes = CBlocks * BM * kFp8Row;
  static constexpr int StageA = OwnC ? 0 : BM * (Fp8C ? kFp8Row : kBf16Row);  // C rows, bf16 or fp8
  static constexpr int StageB = BN * kFp8Row;   // W2 rows, fp8
  static constexpr int Stage = StageA + StageB;
  // MOE_WEIGHT_TMA_W2: the W2 rows as 64-row TMA boxes a stage (absolute 128-byte swizzle: the
  // stages start 1024-byte aligned).
  static constexpr bool BoxesB = MOE_WEIGHT_TMA_W2 != 0 && BN % 64 == 0;
  static constexpr int Smem = CBytes + Slots * Stage + (AlignedStages || BoxesB ? 1024 : 0);
  static_assert(Smem <= kMaxTileSmem, "the stages exceed the shared memory of an SM (fewer stages, warps or blocks per stage)");
};
using Gemm2TileSmall = Gemm2SmallTile<1, MOE_SMALL_GEMM2_STAGES, MOE_SMALL_GEMM2_WARPS, MOE_STAGE_KBLOCKS>;
using Gemm2TileSmallFp8 = Gemm2SmallTile<1, MOE_SMALL_GEMM2_STAGES, 4, 1, true>;
using Gemm2TileSmallOwnC = Gemm2SmallTile<1, MOE_SMALL_GEMM2_STAGES, 4, 1, true, true>;
using Gemm2TileMid = Gemm2SmallTile<2, MOE_SMALL_STAGES, MOE_SMALL_BN / 16, MOE_STAGE_KBLOCKS>;
using Gemm2TileWhole = Gemm2SmallTile<MOE_WHOLE_GEMM2_MT, MOE_SMALL_STAGES, MOE_SMALL_BN / 16, MOE_STAGE_KBLOCKS>;  // whole units, large T

// Two e4m3 bytes (lower k in the low byte) -> bf16x2, exact.
__device__ __forceinline__ uint32_t fp8x2_to_bf16x2(uint16_t v) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(v), __NV_E4M3);
  const float2 f = __half22float2(__half2(h));
  const __nv_bfloat162 b = __floats2bfloat162_rn(f.x, f.y);
  return *reinterpret_cast<const uint32_t*>(&b);
}

// B of one GEMM2 K block into a stage: the tile's BN W2 rows (hidden columns h0..), 8 pieces of 16
// fp8 per row.
template <typename Tile>
__device__ __forceinline__ void load_gemm2_weights(uint8_t* sB, const uint8_t* w2, int le, int h0, int kb, int tid) {
#pragma unroll
  for (int p = tid; p < Tile::BN * 8; p += Tile::Threads) {
    const int row = p >> 3, col = (p & 7) * 16;
    cp_async16_weight(sB + swizzled(row, col, kFp8Row), w2 + (static_cast<int64_t>(le) * kHidden + h0 + row) * kInter + kb * kQBlock + col);
  }
}

// An e4m3 pair times the block's W2 scale, rounded once to bf16 (MOE_GEMM2_PRESCALE).
__device__ __forceinline__ uint32_t fp8x2_to_bf16x2_scaled(uint16_t v, float scale) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(v), __NV_E4M3);
  const float2 f = __half22float2(__half2(h));
  const __nv_bfloat162 b = __floats2bfloat162_rn(f.x * scale, f.y * scale);
  return *reinterpret_cast<const uint32_t*>(&b);
}

// One landed GEMM2 stage (C rows bf16, W2 rows fp8) into the warp's fp32 partials of its 32 columns.
// With kPrescaled the W2 values are multiplied by the block's scale as they are converted, and
// the products go straight into the accumulators (no partials, no fold: half the registers).
template <typename Tile, bool kPrescaled = false>
__device__ __forceinline__ void gemm2_block_mma(const uint8_t* stage, float (&tmp)[Tile::MT][4][4], int n_warp, int lane,
                                                float scale = 1.f) {
  constexpr int MT = Tile::MT;
  const int g = lane >> 2, tq = lane & 3;
  const uint8_t* sA = stage;  // C rows, bf16, swizzled
  const uint8_t* sB = stage + Tile::StageA;
#pragma unroll
  for (int k0 = 0; k0 < kQBlock; k0 += 16) {
    uint32_t af[MT][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) ldmatrix_x4(af[mt], sA + swizzled(mt * 16 + (lane & 15), 2 * (k0 + (lane >> 4) * 8), kBf16Row));
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
      const uint8_t* wrow = sB + swizzled(n_warp + nt * 8 + g, k0 + 2 * tq, kFp8Row);  // k0 + 2tq + 8: same chunk
      const uint16_t w0 = *reinterpret_cast<const uint16_t*>(wrow), w1 = *reinterpret_cast<const uint16_t*>(wrow + 8);
      const uint32_t b0 = kPrescaled ? fp8x2_to_bf16x2_scaled(w0, scale) : fp8x2_to_bf16x2(w0);
      const uint32_t b1 = kPrescaled ? fp8x2_to_bf16x2_scaled(w1, scale) : fp8x2_to_bf16x2(w1);
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) mma_bf16(tmp[mt][nt], af[mt], b0, b1);
    }
  }
}

// The block's partials times its W2 scale into the accumulators; partials cleared.
template <int MT>
__device__ __forceinline__ void fold_gemm2_block(float (&acc)[MT][4][4], float (&tmp)[MT][4][4], float scale) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        acc[mt][nt][e] += tmp[mt][nt][e] * scale;
        tmp[mt][nt][e] = 0.f;
      }
}

// One landed GEMM2 stage into the warp's accumulators with its W2 scale: prescaled straight into
// acc (MOE_GEMM2_PRESCALE), else block partials in tmp folded with the scale.
template <typename Tile>
__device__ __forceinline__ void gemm2_block(const uint8_t* stage, float (&acc)[Tile::MT][4][4], float (&tmp)[Tile::MT][4][4],
                                            int n_warp, int lane, float scale) {
  if constexpr (kGemm2Prescaled) {
    gemm2_block_mma<Tile, true>(stage, acc, n_warp, lane, scale);
  } else {
    gemm2_block_mma<Tile>(stage, tmp, n_warp, lane);
    fold_gemm2_block<Tile::MT>(acc, tmp, scale);
  }
}

// GEMM2's epilogue: routing weight x the warp's 16 x 32 (per m16) sums added into the token rows of
// the fp32 accumulator at columns col0.. (pairs -1 skipped).
template <int MT>
__device__ __forceinline__ void add_gemm2_tile(const float (&acc)[MT][4][4], const int* s_pair, const float* pair_weight,
                                               int col0, int lane, float* acc_out) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int pair = s_pair[mt * 16 + g + half * 8];
      if (pair < 0) continue;
      const float w = pair_weight[pair];
      float* dst = acc_out + static_cast<int64_t>(pair / kTopK) * kHidden + col0 + 2 * tq;
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        atomicAdd(dst + nt * 8, acc[mt][nt][2 * half] * w);
        atomicAdd(dst + nt * 8 + 1, acc[mt][nt][2 * half + 1] * w);
      }
    }
  }
}

// grid (kHidden / 256, ceil(T / 16), 32 experts x splits), or with tiles_z > 0 (T <= MOE_LOOPING_TILES_MAX_T)
// resident CTAs looping over that grid's tiles (looping_tiles).
template <typename Tile>
__global__ void MOE_TILE_BOUNDS(Tile)
gemm2_small_kernel(const __nv_bfloat16* __restrict__ cbuf, const uint8_t* __restrict__ w2,
                   const float* __restrict__ w2_scale, const int* __restrict__ counts, const int* __restrict__ lists,
                   const float* __restrict__ pair_weight, int T, int splits, float* __restrict__ acc_out,
                   int* __restrict__ output_tickets, const int* __restrict__ token_pairs, __nv_bfloat16* __restrict__ output,
                   int tiles_z, const float* __restrict__ c_scale, const float* __restrict__ g1_sums,
                   const __grid_constant__ CUtensorMap w2_map) {
  constexpr int BM = Tile::BM, MT = Tile::MT;
  // MOE_EARLY_ROUTING_READS: the expert, the tile's pairs and the W2 scales (routing's results and
  // inputs) before the wait for C; else everything after it.
  if constexpr (!kEarlyRoutingReads) pdl_wait_then_allow();
  extern __shared__ __align__(16) uint8_t smem_g2[];
  __shared__ int s_pair[BM];
  __shared__ float s_sw[Tile::Slots][Tile::Threads / 32];  // each warp's W2 scale of the block (MOE_ASYNC_SCALES)

  constexpr int kWarps = Tile::Threads / 32;
  __shared__ float s_sw_ahead[kScalesAhead ? kAheadBlocks * kWarps : 1];
  // Fp8C: each stage's C scales (one per pair slot) and W2 scale (one block for the tile's 128 rows).
  __shared__ float s_ca[Tile::Fp8C ? Tile::Slots * BM : 1];
  __shared__ float s_w2s[Tile::Fp8C ? Tile::Slots : 1];
  __shared__ float s_own_cs[Tile::OwnC ? Tile::CBlocks * BM : 1];  // OwnC: C's scale per block and pair slot
  uint8_t* const own_c = Tile::AlignedStages || Tile::BoxesB ? smem_g2 + ((1024u - (smem_addr(smem_g2) & 1023u)) & 1023u) : smem_g2;
  uint8_t* const stages = own_c + Tile::CBytes;
  // MOE_WEIGHT_TMA_W2: a slot's W2 boxes complete on its mbarrier (box_slots_init).
  __shared__ __align__(8) uint64_t s_w2_full[Tile::BoxesB ? Tile::Slots : 1];
  uint32_t w2_phases = 0;
  if constexpr (Tile::BoxesB) box_slots_init(s_w2_full, Tile::Slots);
  const auto tile = [&](const uint3 b, unsigned gx, unsigned gy, unsigned gz) -> bool {
    const int le = expert_of_slot(counts, static_cast<int>(b.z) / splits, static_cast<int>(gz) / splits);
    if (le < 0) return false;  // block-uniform: a compact grid's slot beyond the active experts (and every later one)
    const int split = b.z % splits;
    const int m0 = b.y * BM;
    const int h0 = b.x * Tile::BN;
    const int cnt = counts[le];
    if (m0 >= cnt) return true;  // block-uniform
    diag_tile<1>(0, b, gx, gy, static_cast<uint32_t>(cnt));
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int kb_begin = split * kInterBlocks / splits;
    const int kb_end = (split + 1) * kInterBlocks / splits;

    load_tile_pairs<BM, Tile::Threads>(s_pair, lists, le, m0, cnt, T, tid);
    __syncthreads();

    const int n_warp = warp * 32;  // this warp's 32 columns of the tile: one 128-wide scale block
    const float* sw = w2_scale + (static_cast<int64_t>(le) * kHiddenBlocks + (h0 + n_warp) / kQBlock) * kInterBlocks;

    // MOE_TILE_SCALES_AHEAD: each warp's W2 scale of every block of the tile's K range, copied once with
    // the first stage when it fits.
    const bool ahead = kScalesAhead && kb_end - kb_begin <= kAheadBlocks;
    if (ahead && tid < (kb_end - kb_begin) * kWarps) {
      const int j = tid / kWarps, w = tid % kWarps;
      cp_async_float(&s_sw_ahead[tid], w2_scale + (static_cast<int64_t>(le) * kHiddenBlocks + (h0 + w * 32) / kQBlock) * kInterBlocks + kb_begin + j, true);
    }
    // C (SwiGLU's or GEMM1's) from here on; a tile with its own C waits inside its K loop, after its
    // first W2 copies are on their way.
    if constexpr (kEarlyRoutingReads && !Tile::OwnC) pdl_wait_then_allow();
    // Sources fixed for the tile (PieceGrid): C rows by pair (an empty slot zero-fills), W2 rows h0..,
    // each K block 128 values further.
    using GridB = PieceGrid<Tile::Threads, kFp8Row>;
    constexpr int kPiecesB = Tile::BN / GridB::kRowStep;
    static_assert(Tile::BN % GridB::kRowStep == 0, "whole B pieces");
    const int first_b = GridB::first_offset(tid);
    const uint8_t* b_src = w2 + (static_cast<int64_t>(le) * kHidden + h0 + GridB::first_row(tid)) * kInter + GridB::chunk_byte(tid);
    // This thread's pieces of the tile's W2 rows for K block kb into sB (slot st's stage); with
    // MOE_WEIGHT_TMA_W2 one thread's 64-row boxes instead, on the slot's mbarrier.
    const auto copy_w2_block = [&](uint8_t* sB, int kb, int st) {
      if constexpr (Tile::BoxesB) {
        if (tid == 0) {
          box_slot_arm(s_w2_full, st, Tile::BN * kFp8Row);
          const uint32_t bar = smem_addr(&s_w2_full[st]);
#pragma unroll
          for (int box = 0; box < Tile::BN / 64; ++box)
            load_weight_box<MOE_WEIGHT_TMA_W2 == 1>(smem_addr(sB + box * 64 * kFp8Row), &w2_map, kb * kQBlock, le * kHidden + h0 + box * 64, bar);
        }
      } else {
#pragma unroll
        for (int i = 0; i < kPiecesB; ++i)
          cp_async16_weight(sB + GridB::offset(first_b, tid, i), b_src + static_cast<int64_t>(GridB::kRowStep * i) * kInter + kb * kQBlock);
      }
    };
    // MOE_WEIGHT_TMA_W2: slot st's W2 boxes have landed (the cp.async C rows are the stream's wait).
    const auto wait_w2 = [&](int st) {
      if constexpr (Tile::BoxesB) box_slot_wait(s_w2_full, w2_phases, st);
    };
    if constexpr (Tile::OwnC) {
      // MOE_GEMM2_OWN_SWIGLU (sm_90a; the host launches this tile only there): the SwiGLU pass's work
      // for this tile's pairs and K range, done here from G1 once GEMM1 is complete: C = silu(X2) * X1
      // in fp8 with a scale per pair and 128 columns (the pass's arithmetic), resident for the K loop;
      // the stages stream W2 only.
      if constexpr (kSmallWgmmaBuilt) {
        const float* w2s_row = w2_scale + (static_cast<int64_t>(le) * kHiddenBlocks + h0 / kQBlock) * kInterBlocks;
        const int valid = cnt - m0 < BM ? cnt - m0 : BM;  // pair slots 0..valid-1 hold pairs
        if (kb_end - kb_begin > Tile::CBlocks) __trap();  // the host launches it only with MOE_GEMM2_SPLITS splits
        const auto load_w2_block = [&](int kb, int st) {
          copy_w2_block(stages + st * Tile::Stage, kb, st);
          if (tid == 0) cp_async_float(&s_w2s[st], w2s_row + kb, true);
        };
        // C for the pairs and the tile's K range: item j = (slot, block, 16-column chunk), chunk
        // fastest, so the 8 chunks of a (slot, block) are 8 consecutive lanes (the amax reduction).
        const auto build_c = [&]() {
          pdl_wait_then_allow();  // GEMM1's sums in G1
          const int blocks = kb_end - kb_begin, items = valid * blocks * 8;
          // Every thread runs the same rounds (the amax shuffle takes whole warps); items past the
          // end compute zeros and store nothing.
          for (int base = 0; base < items; base += Tile::Threads) {
            const int j = base + tid;
            const bool live = j < items;
            const int chunk = j & 7, blk = (j >> 3) % blocks, slot = live ? (j >> 3) / blocks : 0;
            const int pair = s_pair[slot];
            const int col = (kb_begin + blk) * kQBlock + chunk * 16;
            const float4* x1 = reinterpret_cast<const float4*>(g1_sums + static_cast<int64_t>(pair) * kGemm1Out + col);
            const float4* x2 = reinterpret_cast<const float4*>(g1_sums + static_cast<int64_t>(pair) * kGemm1Out + kInter + col);
            float v[16];
#pragma unroll
            for (int q = 0; q < 4; ++q) {
              const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
              const float4 a = live ? x1[q] : zero, g = live ? x2[q] : zero;
              v[4 * q] = silu_mul(a.x, g.x);
              v[4 * q + 1] = silu_mul(a.y, g.y);
              v[4 * q + 2] = silu_mul(a.z, g.z);
              v[4 * q + 3] = silu_mul(a.w, g.w);
            }
            uint32_t words[4];
            const float scale = quantize_c_fp8<8>(v, words);
            if (!live) continue;
            *reinterpret_cast<uint4*>(own_c + blk * BM * kFp8Row + swizzled(slot, chunk * 16, kFp8Row)) =
                make_uint4(words[0], words[1], words[2], words[3]);
            if (chunk == 0) s_own_cs[blk * BM + slot] = scale;
          }
          afg::fence_proxy_async();  // st.shared above, wgmma reads through the async proxy
          __syncthreads();
        };
        float acc[2][8] = {}, t[2][8] = {};
        stream_k_blocks<Tile::Stages, Tile::KB, true>(kb_begin, kb_end, load_w2_block, [&](int kb, int st) {
          if (kb == kb_begin) build_c();  // block-uniform; the next block's W2 copies are in flight
          wait_w2(st);
          const int blk = kb - kb_begin;
          swapped_block_wgmma(smem_addr(own_c + blk * BM * kFp8Row), smem_addr(stages + st * Tile::Stage), t);
          fold_swapped_block(acc, t, s_own_cs + blk * BM, s_w2s[st], s_w2s[st], lane);
        });
        add_gemm2_swapped(acc, s_pair, pair_weight, warp, lane, h0, acc_out);
        diag_tile<1>(1, b, gx, gy, __float_as_uint(acc[0][0]));
      }
      return true;
    }
    if constexpr (Tile::Fp8C) {
      // MOE_SMALL_GEMM2_WGMMA (sm_90a; the host launches this tile only there): fp8 C rows by pair,
      // W2 rows h0.., each stage with its C and W2 scales; wgmma per block, weighted atomics after.
      if constexpr (kSmallWgmmaBuilt) {
        const GatheredRows<PieceGrid<Tile::Threads, kFp8Row>, BM> c_rows(s_pair, tid, [&](int pair) {
          return reinterpret_cast<const uint8_t*>(cbuf) + static_cast<int64_t>(pair >= 0 ? pair : 0) * kInter;
        });
        const float* w2s_row = w2_scale + (static_cast<int64_t>(le) * kHiddenBlocks + h0 / kQBlock) * kInterBlocks;
        const int scale_pair = tid < BM ? s_pair[tid] : -1;
        const auto load_fp8_block = [&](int kb, int st) {
          uint8_t* sA = stages + st * Tile::Stage;
          uint8_t* sB = sA + Tile::StageA;
          c_rows.copy(sA, tid, kb * kFp8Row);
          copy_w2_block(sB, kb, st);
          if (tid < BM)
            cp_async_float(&s_ca[st * BM + tid], c_scale + static_cast<int64_t>(scale_pair >= 0 ? scale_pair : 0) * kSmallCScales + kb,
                           scale_pair >= 0);
          if (tid == BM) cp_async_float(&s_w2s[st], w2s_row + kb, true);
        };
        float acc[2][8] = {}, t[2][8] = {};
        stream_k_blocks<Tile::Stages, Tile::KB, true>(kb_begin, kb_end, load_fp8_block, [&](int, int st) {
          wait_w2(st);
          swapped_block_wgmma(smem_addr(stages + st * Tile::Stage), smem_addr(stages + st * Tile::Stage + Tile::StageA), t);
          fold_swapped_block(acc, t, s_ca + st * BM, s_w2s[st], s_w2s[st], lane);  // one W2 scale block for both halves
        });
        add_gemm2_swapped(acc, s_pair, pair_weight, warp, lane, h0, acc_out);
        diag_tile<1>(1, b, gx, gy, __float_as_uint(acc[0][0]));
      }
      return true;
    }
    const GatheredRows<PieceGrid<Tile::Threads, kBf16Row>, BM> a_rows(s_pair, tid, [&](int pair) {
      return reinterpret_cast<const uint8_t*>(cbuf + static_cast<int64_t>(pair >= 0 ? pair : 0) * kInter);
    });
    auto load_block = [&](int kb, int st) {
      uint8_t* sA = stages + st * Tile::Stage;
      uint8_t* sB = sA + Tile::StageA;
      a_rows.copy(sA, tid, kb * kBf16Row);
      copy_w2_block(sB, kb, st);
      if (ahead) return;  // the tile's scales arrived with its first stage
      if (kAsyncTileScales && tid < Tile::Threads / 32)
        cp_async_float(&s_sw[st][tid], w2_scale + (static_cast<int64_t>(le) * kHiddenBlocks + (h0 + tid * 32) / kQBlock) * kInterBlocks + kb, true);
    };

    float acc[MT][4][4], tmp[MT][4][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[mt][j][e] = tmp[mt][j][e] = 0.f;

    stream_k_blocks<Tile::Stages, Tile::KB>(kb_begin, kb_end, load_block, [&](int kb, int st) {
      wait_w2(st);
      gemm2_block<Tile>(stages + st * Tile::Stage, acc, tmp, n_warp, lane,
                        ahead ? s_sw_ahead[(kb - kb_begin) * kWarps + warp] : kAsyncTileScales ? s_sw[st][warp] : sw[kb]);
    });
    add_gemm2_tile<MT>(acc, s_pair, pair_weight, h0 + n_warp, lane, acc_out);
    diag_tile<1>(1, b, gx, gy, __float_as_uint(acc[0][0][0]));
    // MOE_FUSED_EPILOGUES (output_tickets: T x column tiles): the rows this CTA completes go out in
    // bf16, instead of a conversion launch after the grid.
    if (output_tickets != nullptr)
      output_completed_rows<BM, Tile::BN, Tile::Threads>(output_tickets, token_pairs, splits, s_pair, acc_out, h0, output);
    return true;
  };
  looping_tiles(tiles_z, dim3(kHidden / Tile::BN, static_cast<unsigned>((T + BM - 1) / BM), static_cast<unsigned>(tiles_z)), tile);
}

// ------------------------------------------------------------------------------------------------
// Stream-K schedule (MOE_STREAM_K=1, the streamed bands): a GEMM's work is the list of units
// (active expert, tile of BM pairs, tile of BN columns), each of kb_per_unit K blocks, I = units x
// kb_per_unit iterations in all. The grid holds as many CTAs as fit on the GPU at once and CTA c
// takes iterations [c I / G, (c + 1) I / G) through one cp.async pipeline that runs across unit
// seams; every unit's sums are added atomically (GEMM1 into G1 for the SwiGLU pass, GEMM2 into the
// accumulator), so a unit shared by two CTAs needs nothing more. The tile grids instead launch
// 32 experts x ceil(T / BM) row tiles x column tiles: at T=55 about 3/4 of their CTAs find no pair,
// and at T=80 (no split) GEMM1's 960 real CTAs fill 1.45 waves of 660 slots.
static_assert(kLocalExperts == 32, "the unit table is one warp's scan over the local experts");

struct UnitTable {
  int before[kLocalExperts + 1];  // units of the experts before expert e (before[32]: all units)
  int count[kLocalExperts];       // pairs routed to expert e
};

// Warp 0 scans the routed counts into the table (units of an expert: its row tiles x n_tiles).
template <int BM>
__device__ __forceinline__ void build_unit_table(UnitTable& table, const int* counts, int n_tiles, int tid) {
  if (tid < 32) {
    const int cnt = counts[tid];
    int units = (cnt + BM - 1) / BM * n_tiles;
#pragma unroll
    for (int off = 1; off < 32; off <<= 1) {
      const int below = __shfl_up_sync(0xffffffffu, units, off);
      if (tid >= off) units += below;
    }
    table.before[tid + 1] = units;  // inclusive scan = units before expert tid + 1
    if (tid == 0) table.before[0] = 0;
    table.count[tid] = cnt;
  }
  __syncthreads();
}

struct Unit {
  int le, m0, n0, cnt;
};

// Unit u of the table (u < before[32]): a walk over at most 32 experts, done at unit seams only.
// Within an expert the column tiles of a row tile are adjacent (stream-K: a CTA's range shares its
// A rows), or with rows_fastest the row tiles of a column tile (whole units: the CTAs running at
// once read the same weight tiles, which then come from L2).
template <int BM, int BN>
__device__ __forceinline__ Unit find_unit(const UnitTable& table, int u, int n_tiles, bool rows_fastest) {
  int le = 0;
  while (table.before[le + 1] <= u) ++le;
  const int local = u - table.before[le], cnt = table.count[le];
  if (rows_fastest) {
    const int m_tiles = (cnt + BM - 1) / BM;
    return Unit{le, (local % m_tiles) * BM, (local / m_tiles) * BN, cnt};
  }
  return Unit{le, (local / n_tiles) * BM, (local % n_tiles) * BN, cnt};
}

// This CTA's iterations [begin, end) of total = units x kb_per_unit.
__device__ __forceinline__ void stream_k_range(int total, int& begin, int& end) {
  begin = static_cast<int>(static_cast<int64_t>(total) * blockIdx.x / gridDim.x);
  end = static_cast<int>(static_cast<int64_t>(total) * (blockIdx.x + 1) / gridDim.x);
}

// The iterations a CTA of a stream-K kernel runs, [begin, end), kb_per_unit per unit; v = it /
// kb_per_unit numbers its units (and their shared-memory slots), unit(v) names the unit in the
// table. Stream-K (whole = false): a contiguous share of all iterations, v = the unit itself.
// Whole units (MOE_WHOLE_UNITS_MIN_T, large T): unit v of CTA c is c + v x grid, so the CTAs
// running at once take adjacent units (rows_fastest in find_unit: the same weight tile); at
// T=14107 the stream-K ranges had each CTA read its own weight tiles, every one of an expert's
// ~14 row tiles again from DRAM.
struct UnitRange {
  int begin, end;
  bool whole;
  __device__ __forceinline__ int unit(int v) const { return whole ? static_cast<int>(blockIdx.x) + v * static_cast<int>(gridDim.x) : v; }
};

__device__ __forceinline__ UnitRange unit_range(int units, int kb_per_unit, bool whole) {
  UnitRange r{0, 0, whole};
  if (whole) {
    const int c = static_cast<int>(blockIdx.x), grid = static_cast<int>(gridDim.x);
    r.end = (units > c ? (units - c + grid - 1) / grid : 0) * kb_per_unit;
  } else {
    stream_k_range(units * kb_per_unit, r.begin, r.end);
  }
  return r;
}

// GEMM1 under stream-K: the math of gemm1_fp8_kernel, sums added into G1 (zeroed for the routed
// pairs by routing), SwiGLU in swiglu_streamk_kernel. grid: the CTAs resident at once (with the
// 4-warp 32-pair tile, MOE_STREAMK_GEMM1_MIN_BLOCKS of them per SM caps the registers; an 8-warp
// tile would be capped at ~80 registers by the same count, so it keeps 1).
template <typename Tile>
__global__ void __launch_bounds__(Tile::Threads, Tile::BM >= 32 && Tile::Threads == 128 ? MOE_STREAMK_GEMM1_MIN_BLOCKS : 1)
gemm1_fp8_streamk_kernel(const uint8_t* __restrict__ hidden, const float* __restrict__ hidden_scale,
                         const uint8_t* __restrict__ w1, const float* __restrict__ w1_scale,
                         const int* __restrict__ counts, const int* __restrict__ lists, int T,
                         float* __restrict__ g1_partial, __nv_bfloat16* __restrict__ cbuf, int whole_units) {
  constexpr int BM = Tile::BM, MT = Tile::MT, BN = Tile::BN, kSlots = Tile::Slots;
  constexpr int kNTiles = kInter / BN;
  constexpr int kAPieces = (BM * 8 + Tile::Threads - 1) / Tile::Threads;  // A pieces of 16 bytes per thread
  pdl_wait_then_allow();
  extern __shared__ __align__(16) uint8_t smem_fp8[];
  __shared__ float s_sa[kSlots][BM];
  __shared__ float s_sw[kSlots][2];   // the block's X1 and X2 weight scales (MOE_ASYNC_SCALES)
  __shared__ int s_pair[kSlots][BM];  // pairs of the units in flight, by unit % kSlots
  __shared__ UnitTable table;
  uint8_t* const stages = Tile::AlignedStages ? smem_fp8 + ((1024u - (smem_addr(smem_fp8) & 1023u)) & 1023u) : smem_fp8;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp / Tile::WarpsN, wn = warp % Tile::WarpsN;
  const int g = lane >> 2, tq = lane & 3;

  build_unit_table<BM>(table, counts, kNTiles, tid);
  const UnitRange range = unit_range(table.before[kLocalExperts], kHiddenBlocks, whole_units != 0);
  const int it_begin = range.begin, it_end = range.end;
  if (it_begin >= it_end) return;  // block-uniform

  // Loader: at a unit seam each thread looks up the tokens of its A rows (and threads < BM the
  // pair of row tid, for the scales and the epilogue); at most kSlots units are in flight.
  int load_u = -1;
  Unit lu{};
  int a_tok[kAPieces];
  int row_tok = -1;
  const auto load_block = [&](int it, int st) {
    const int u = it / kHiddenBlocks, kb = it - u * kHiddenBlocks;
    if (u != load_u) {
      load_u = u;
      lu = find_unit<BM, BN>(table, range.unit(u), kNTiles, range.whole);
#pragma unroll
      for (int i = 0; i < kAPieces; ++i) {
        const int m = lu.m0 + ((tid + i * Tile::Threads) >> 3);
        a_tok[i] = m < lu.cnt ? lists[lu.le * T + m] / kTopK : -1;
      }
      if (tid < BM) {
        const int m = lu.m0 + tid;
        const int pair = m < lu.cnt ? lists[lu.le * T + m] : -1;
        s_pair[u % kSlots][tid] = pair;
        row_tok = pair >= 0 ? pair / kTopK : -1;
      }
    }
    uint8_t* sA = stages + st * Tile::Stage;
#pragma unroll
    for (int i = 0; i < kAPieces; ++i) {
      const int p = tid + i * Tile::Threads;
      if (p < BM * 8) {
        const int row = p >> 3, col = (p & 7) * 16;
        const int tok = a_tok[i];
        cp_async16(sA + swizzled(row, col, kFp8Row), hidden + static_cast<int64_t>(tok >= 0 ? tok : 0) * kHidden + kb * kQBlock + col,
                         tok >= 0 ? 16 : 0);
      }
    }
    load_gemm1_weights<Tile>(sA + Tile::StageA, w1, lu.le, lu.n0, kb, tid);
    if (tid < BM) {
      const float* scale = hidden_scale + static_cast<int64_t>(kb) * T + (row_tok >= 0 ? row_tok : 0);
      if (kAsyncStreamKScales) cp_async_float(&s_sa[st][tid], scale, row_tok >= 0);
      else s_sa[st][tid] = row_tok >= 0 ? *scale : 0.f;
    }
    if (kAsyncStreamKScales && tid >= Tile::Threads - 2) {
      const int out_row = tid == Tile::Threads - 1 ? lu.n0 : kInter + lu.n0;  // X1, then X2
      cp_async_float(&s_sw[st][Tile::Threads - 1 - tid],
                     w1_scale + (static_cast<int64_t>(lu.le) * kGemm1OutBlocks + out_row / kQBlock) * kHiddenBlocks + kb, true);
    }
  };

  // The unit of iteration it's block, and its X1 / X2 weight scale rows, looked up at unit seams.
  int comp_u = -1;
  Unit cu{};
  const float* sw1 = nullptr;
  const float* sw2 = nullptr;
  const auto enter_unit = [&](int u) {
    if (u == comp_u) return;
    comp_u = u;
    cu = find_unit<BM, BN>(table, range.unit(u), kNTiles, range.whole);
    sw1 = w1_scale + (static_cast<int64_t>(cu.le) * kGemm1OutBlocks + cu.n0 / kQBlock) * kHiddenBlocks;
    sw2 = w1_scale + (static_cast<int64_t>(cu.le) * kGemm1OutBlocks + (kInter + cu.n0) / kQBlock) * kHiddenBlocks;
  };
  // A whole unit complete in this CTA: with cbuf given, SwiGLU and the bf16 C store happen at its
  // last block (no G1 sums, no SwiGLU pass); else the sums go into G1 with atomics.
  const bool store_c = cbuf != nullptr && range.whole;
  if constexpr (Tile::AlignedStages && kSmallWgmmaBuilt) {
    // MOE_SMALL_GEMM1_STREAMK: the 16-pair tile's blocks on wgmma, as gemm1_fp8_kernel's.
    static_assert(BN == 64, "the X1 and X2 rows are the two m64 halves");
    float acc[2][8] = {}, tmp[2][8] = {};
    stream_k_blocks<Tile::Stages, Tile::KB, true>(it_begin, it_end, load_block, [&](int it, int st) {
      const int u = it / kHiddenBlocks, kb = it - u * kHiddenBlocks;
      enter_unit(u);
      swapped_block_wgmma(smem_addr(stages + st * Tile::Stage), smem_addr(stages + st * Tile::Stage + Tile::StageA), tmp);
      fold_swapped_block(acc, tmp, s_sa[st], kAsyncStreamKScales ? s_sw[st][0] : sw1[kb], kAsyncStreamKScales ? s_sw[st][1] : sw2[kb],
                         lane);
      if (kb == kHiddenBlocks - 1 || it == it_end - 1) {  // the unit's last block in this CTA
        store_gemm1_swapped(acc, s_pair[u % kSlots], warp, lane, cu.n0, store_c ? 1 : 2, store_c ? cbuf : nullptr, g1_partial);
#pragma unroll
        for (int h = 0; h < 2; ++h)
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[h][e] = 0.f;
      }
    });
    return;
  }
  float acc1[MT][2][4] = {}, acc2[MT][2][4] = {}, tmp1[MT][2][4] = {}, tmp2[MT][2][4] = {};

  stream_k_blocks<Tile::Stages, Tile::KB>(it_begin, it_end, load_block, [&](int it, int st) {
    const int u = it / kHiddenBlocks, kb = it - u * kHiddenBlocks;
    enter_unit(u);
    gemm1_block_mma<Tile>(stages + st * Tile::Stage, tmp1, tmp2, wm, wn, lane);
    fold_scaled_block<MT>(acc1, acc2, tmp1, tmp2, s_sa[st], kAsyncStreamKScales ? s_sw[st][0] : sw1[kb],
                          kAsyncStreamKScales ? s_sw[st][1] : sw2[kb], wm, g);
    if (kb == kHiddenBlocks - 1 || it == it_end - 1) {  // the unit's last block in this CTA
      if (store_c) store_gemm1_tile<MT>(acc1, acc2, s_pair[u % kSlots], wm, wn, g, tq, cu.n0, /*splits=*/1, cbuf, nullptr);
      else store_gemm1_tile<MT>(acc1, acc2, s_pair[u % kSlots], wm, wn, g, tq, cu.n0, /*splits=*/2, nullptr, g1_partial);
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc1[i][j][e] = acc2[i][j][e] = 0.f;
    }
  });
}

// SwiGLU over G1 for every routed pair, the pairs spread over the resident grid (the (T, 32) grid
// of swiglu_kernel is ~7/8 empty CTAs).
__global__ void __launch_bounds__(kTcThreads)
swiglu_streamk_kernel(const float* __restrict__ g1_partial, const int* __restrict__ counts, const int* __restrict__ lists,
                      int T, __nv_bfloat16* __restrict__ cbuf) {
  pdl_wait_then_allow();
  __shared__ UnitTable table;  // one unit per pair
  build_unit_table<1>(table, counts, 1, threadIdx.x);
  const int pairs = table.before[kLocalExperts];
  for (int i = blockIdx.x; i < pairs; i += gridDim.x) {
    const Unit unit = find_unit<1, 1>(table, i, 1, false);
    const int pair = lists[unit.le * T + unit.m0];
    const float* src = g1_partial + static_cast<int64_t>(pair) * kGemm1Out;
    for (int c = 2 * threadIdx.x; c < kInter; c += 2 * kTcThreads) {
      const float2 x1 = *reinterpret_cast<const float2*>(src + c);
      const float2 x2 = *reinterpret_cast<const float2*>(src + kInter + c);
      *reinterpret_cast<__nv_bfloat162*>(cbuf + static_cast<int64_t>(pair) * kInter + c) =
          __floats2bfloat162_rn(silu_mul(x1.x, x2.x), silu_mul(x1.y, x2.y));
    }
  }
}

// GEMM2 under stream-K: the math of gemm2_small_kernel over units of BM pairs x BN hidden columns.
template <typename Tile>
__global__ void __launch_bounds__(Tile::Threads)
gemm2_streamk_kernel(const __nv_bfloat16* __restrict__ cbuf, const uint8_t* __restrict__ w2,
                     const float* __restrict__ w2_scale, const int* __restrict__ counts, const int* __restrict__ lists,
                     const float* __restrict__ pair_weight, int T, float* __restrict__ acc_out, int whole_units) {
  constexpr int BM = Tile::BM, MT = Tile::MT, BN = Tile::BN, kSlots = Tile::Slots;
  constexpr int kNTiles = kHidden / BN;
  constexpr int kAPieces = (BM * 16 + Tile::Threads - 1) / Tile::Threads;  // C pieces of 8 bf16 per thread
  static_assert(kHidden % BN == 0, "whole column tiles");
  pdl_wait_then_allow();
  extern __shared__ __align__(16) uint8_t smem_g2[];
  __shared__ int s_pair[kSlots][BM];  // pairs of the units in flight, by unit % kSlots
  __shared__ float s_sw[kSlots][Tile::Threads / 32];  // each warp's W2 scale of the block (MOE_ASYNC_SCALES)
  __shared__ UnitTable table;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int n_warp = warp * 32;  // this warp's 32 columns of the tile: one 128-wide scale block

  build_unit_table<BM>(table, counts, kNTiles, tid);
  const UnitRange range = unit_range(table.before[kLocalExperts], kInterBlocks, whole_units != 0);
  const int it_begin = range.begin, it_end = range.end;
  if (it_begin >= it_end) return;  // block-uniform

  int load_u = -1;
  Unit lu{};
  int a_pair[kAPieces];
  const auto load_block = [&](int it, int st) {
    const int u = it / kInterBlocks, kb = it - u * kInterBlocks;
    if (u != load_u) {
      load_u = u;
      lu = find_unit<BM, BN>(table, range.unit(u), kNTiles, range.whole);
#pragma unroll
      for (int i = 0; i < kAPieces; ++i) {
        const int m = lu.m0 + ((tid + i * Tile::Threads) >> 4);
        a_pair[i] = m < lu.cnt ? lists[lu.le * T + m] : -1;
      }
      // Strided: a 128-pair unit (MOE_WHOLE_GEMM2_MT=8) may have fewer threads than rows.
      for (int r = tid; r < BM; r += Tile::Threads) {
        const int m = lu.m0 + r;
        s_pair[u % kSlots][r] = m < lu.cnt ? lists[lu.le * T + m] : -1;
      }
    }
    uint8_t* sA = smem_g2 + st * Tile::Stage;
#pragma unroll
    for (int i = 0; i < kAPieces; ++i) {
      const int p = tid + i * Tile::Threads;
      if (p < BM * 16) {
        const int row = p >> 4, col = (p & 15) * 8;
        const int pair = a_pair[i];
        cp_async16(sA + swizzled(row, 2 * col, kBf16Row), cbuf + static_cast<int64_t>(pair >= 0 ? pair : 0) * kInter + kb * kQBlock + col,
                         pair >= 0 ? 16 : 0);
      }
    }
    load_gemm2_weights<Tile>(smem_g2 + st * Tile::Stage + Tile::StageA, w2, lu.le, lu.n0, kb, tid);
    if (kAsyncStreamKScales && tid < Tile::Threads / 32)
      cp_async_float(&s_sw[st][tid], w2_scale + (static_cast<int64_t>(lu.le) * kHiddenBlocks + (lu.n0 + tid * 32) / kQBlock) * kInterBlocks + kb, true);
  };

  float acc[MT][4][4], tmp[MT][4][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mt][j][e] = tmp[mt][j][e] = 0.f;

  int comp_u = -1;
  Unit cu{};
  const float* sw = nullptr;
  stream_k_blocks<Tile::Stages, Tile::KB>(it_begin, it_end, load_block, [&](int it, int st) {
    const int u = it / kInterBlocks, kb = it - u * kInterBlocks;
    if (u != comp_u) {
      comp_u = u;
      cu = find_unit<BM, BN>(table, range.unit(u), kNTiles, range.whole);
      sw = w2_scale + (static_cast<int64_t>(cu.le) * kHiddenBlocks + (cu.n0 + n_warp) / kQBlock) * kInterBlocks;
    }
    gemm2_block<Tile>(smem_g2 + st * Tile::Stage, acc, tmp, n_warp, lane, kAsyncStreamKScales ? s_sw[st][warp] : sw[kb]);
    if (kb == kInterBlocks - 1 || it == it_end - 1) {  // the unit's last block in this CTA
      add_gemm2_tile<MT>(acc, s_pair[u % kSlots], pair_weight, cu.n0 + n_warp, lane, acc_out);
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[mt][j][e] = 0.f;
    }
  });
}

}  // namespace moe_tc
