// score_wgmma.cuh: the indexer's scores on Hopper's native fp8 tensor cores (INDEXER_SCORE_IMPL=2,
// sm_90a builds only; a plain sm_90 build compiles this kernel empty and the host keeps
// score_mma.cuh's mma.sync kernel, see built_with_wgmma()).
//
// Why: in the mma.sync kernel each of a CTA's 4 warps multiplies all 64 heads by its 16 tokens in
// 32 m16n8k32 e4m3 products, and Hopper runs e4m3 mma.sync as F2FP unpacks plus f16 HMMA (native
// fp8 exists only in wgmma); ncu (session 13) put its product phase at ~25% of the score kernel's
// stall samples, the kernel being the first ~10 us of a 15 us call at 15 x 91 pages.
// Here the CTA is one warpgroup and the page is 4 wgmma m64n64k32 e4m3 (fp32 accumulate), with the
// page's 64 tokens as M and the 64 heads as N (both operands K-major, as fp8 wgmma requires: a
// token's or a head's 128 fp8 dims are one 128-byte swizzle row). Tokens as M puts a token's 64
// head products in one quad of lanes (rows g, g + 8 of warp w: tokens 16w + g, 16w + g + 8; columns
// 8n + 2tq + c: heads), so the head sum is 16 terms per lane and two shuffles, with no exchange
// between warps.
//   score(t) = sum_h relu(scale_t * (k_t . q_h)) * w_h     (the reference: relu(q_h . (k_t * scale_t)))
// Loads: 16-byte cp.async of the page's 64 key rows and the row's 64 query rows into 128-byte
// swizzled tiles (chunk c of row r at r * 128 + ((c ^ (r & 7)) << 4)); a page id outside the cache
// reads as zeros, as in the other score kernels.
// Grid: a CTA (one warpgroup) per (page slot, row), which loads its row's length and page id
// together and exits past the row's end. Tried and removed (session 14, H200, NOTES.md has the
// numbers): 2 and 4 page slots per CTA (the pages' epilogues run one after another), persistent
// CTAs taking only the pages below their rows' ends (one more round trip of chain), 2 and 4
// warpgroups per CTA each with its own page (fewer CTAs), and CTAs dispatched in page order: none
// faster at 15 x 91 pages, where the kernel takes ~5.4 us for 561 working CTAs. The per-CTA
// timeline (INDEXER_DIAG_CTA_TIMES, H100, session 14) says why: every CTA starts within 2.6 us, and
// a working CTA's own chain is the kernel (length and page id 1.4 us, copies 2.5, products 0.45,
// epilogue 0.64 at p50).
#pragma once

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define INDEXER_WG_DEVICE 1
#else
#define INDEXER_WG_DEVICE 0
#endif

namespace score_wgmma {

constexpr int kThreads = 128;                      // one warpgroup
constexpr int kTileBytes = kPageSize * kHeadDim;   // 64 rows of 128 fp8: the keys' tile, the queries' tile
static_assert(kPageSize == 64 && kHeads == 64 && kHeadDim == 128, "one m64n64 product per k32 step, 128-byte rows");
// The queries' and the keys' tiles, plus the slack that aligns them to the swizzle's 1024-byte atom.
constexpr int kDynamicSmem = 2 * kTileBytes + 1024;

#if INDEXER_WG_DEVICE
// Shared-memory byte offset of 16-byte chunk c of row r in a K-major tile with the 128-byte swizzle.
__device__ __forceinline__ uint32_t swizzled(int r, int c) {
  return static_cast<uint32_t>(r * 128 + ((c ^ (r & 7)) << 4));
}
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}

// Page slot p of row b (row length L > kTopK, p * 64 < L, its id `page`): copies, 4 wgmma, the
// epilogue, the scores and their histogram counts. Every thread of the CTA calls it; `tiles` is the
// 1024-byte aligned pair of tiles.
__device__ __forceinline__ void score_page(const uint8_t* __restrict__ q_fp8, const uint8_t* __restrict__ cache,
                                           const float* __restrict__ weights, int b, int p, int L, int32_t page,
                                           int max_pages, int64_t num_pages, float* __restrict__ scores,
                                           const ScoreHist& hist, uint32_t tiles, float* s_scale, float* s_w) {
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, tq = lane & 3;
  if constexpr (kScoreHist) hist.begin(b, p);

  const uint32_t keys = tiles;                 // A: tokens x dims
  const uint32_t queries = tiles + kTileBytes;  // B: heads x dims
  const bool page_ok = page >= 0 && static_cast<int64_t>(page) < num_pages;
  const uint8_t* pb = cache + static_cast<int64_t>(page_ok ? page : 0) * kPageBytes;
  const uint8_t* qb = q_fp8 + static_cast<int64_t>(b) * kHeads * kHeadDim;
#pragma unroll
  for (int i = tid; i < kPageSize * (kHeadDim / 16); i += kThreads) {
    const int r = i >> 3, c = i & 7;
    cp_async16(keys + swizzled(r, c), pb + r * kHeadDim + c * 16, page_ok ? 16 : 0);
    cp_async16(queries + swizzled(r, c), qb + r * kHeadDim + c * 16, 16);
  }
  asm volatile("cp.async.commit_group;\n" ::: "memory");
  if (tid < kPageSize) s_scale[tid] = page_ok ? reinterpret_cast<const float*>(pb + kPageSize * kHeadDim)[tid] : 0.0f;
  else s_w[tid - kPageSize] = weights[static_cast<int64_t>(b) * kHeads + tid - kPageSize];
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
  afg::fence_proxy_async();
  __syncthreads();
  diag_mark<false>(2);

  // acc = keys (64 tokens x 128) * queries^T (64 heads x 128), K = 128 in four k32 steps.
  float acc[32];
#pragma unroll
  for (int i = 0; i < 32; ++i) acc[i] = 0.0f;
  afg::wgmma_fence();
#pragma unroll
  for (int k = 0; k < kHeadDim / 32; ++k)
    afg::wgmma_m64n64k32_e4m3(acc, afg::desc_sw128(keys + k * 32), afg::desc_sw128(queries + k * 32), k);
  afg::wgmma_commit();
  afg::wgmma_wait<0>();
  afg::fence_fragment(acc);
  diag_mark<false>(3, __float_as_uint(acc[0]));

  // This lane: tokens t0 = 16 warp + g (acc[4n + c]) and t0 + 8 (acc[4n + 2 + c]), heads 8n + 2tq + c.
  const int t0 = warp * 16 + g;
  const float sc0 = s_scale[t0], sc1 = s_scale[t0 + 8];
  float part0 = 0.0f, part1 = 0.0f;
#pragma unroll
  for (int n = 0; n < 8; ++n) {
    const float2 w = *reinterpret_cast<const float2*>(s_w + 8 * n + 2 * tq);
    part0 += fmaxf(sc0 * acc[4 * n + 0], 0.0f) * w.x + fmaxf(sc0 * acc[4 * n + 1], 0.0f) * w.y;
    part1 += fmaxf(sc1 * acc[4 * n + 2], 0.0f) * w.x + fmaxf(sc1 * acc[4 * n + 3], 0.0f) * w.y;
  }
  // The other 48 heads of these tokens sit in the quad's other lanes.
#pragma unroll
  for (int off = 1; off < 4; off <<= 1) {
    part0 += __shfl_xor_sync(0xffffffffu, part0, off);
    part1 += __shfl_xor_sync(0xffffffffu, part1, off);
  }
  const int pos0 = p * kPageSize + t0, pos1 = pos0 + 8;
  if constexpr (kScoreHist) {  // the tq == 0 lanes' two scores
    hist.wait_cleared(b);
    hist.count(b, tq == 0 && pos0 < L, part0, lane);
    hist.count(b, tq == 0 && pos1 < L, part1, lane);
  }
  if (tq == 0) {
    float* row = scores + static_cast<int64_t>(b) * max_pages * kPageSize;
    if (pos0 < L) row[pos0] = part0;
    if (pos1 < L) row[pos1] = part1;
  }
  diag_mark<false>(4);
  __syncthreads();  // every warp has read the tiles, scales and weights
}
#endif

// grid (max_pages, B): the CTA of page slot blockIdx.x of row blockIdx.y.
__global__ void __launch_bounds__(kThreads, INDEXER_SCORE_MIN_BLOCKS)
indexer_score_wgmma_kernel(const uint8_t* __restrict__ q_fp8, const uint8_t* __restrict__ cache,
                           const float* __restrict__ weights, const int32_t* __restrict__ seq_lens,
                           const int32_t* __restrict__ block_table, int max_pages, int64_t num_pages,
                           float* __restrict__ scores, ScoreHist hist) {
#if INDEXER_WG_DEVICE
  extern __shared__ uint8_t dynamic_smem[];
  __shared__ float s_scale[kPageSize];
  __shared__ float s_w[kHeads];
  allow_select_launch();
  diag_mark<false>(0);
  const int p = blockIdx.x, b = blockIdx.y;
  // p < max_pages: the page id is in bounds whatever the length says, so it is asked for with it
  // (one round trip for both). Coherent loads: non-coherent ones ptxas sank past the early exit
  // below (ncu's SASS, session 14), a third dependent round trip per CTA.
  // Tried and removed (H200, sessions 15-16): both through L1 (INDEXER_SCORE_IDS_L1, then _NC with
  // a use of the page id on the exit path): ptxas still issued the page id's load after the EXIT, and
  // the timeline's first phase shrank (1.38 -> 0.48 us) only for the copies' to grow by as much
  // (2.21 -> 2.94): 15 x 91 pages 11.0 -> 11.1 us; commit e5cf0ec has the code.
  const int32_t page = load_score_id(block_table + static_cast<int64_t>(b) * max_pages + p);
  const int L = clamp_len(load_score_id(seq_lens + b), max_pages * kPageSize);
  diag_mark<false>(1, static_cast<uint32_t>(L) ^ static_cast<uint32_t>(page));
  const bool past_end = L <= kTopK || p * kPageSize >= L;
  if (past_end) return;  // block-uniform
  const uint32_t tiles = (afg::smem_addr(dynamic_smem) + 1023u) & ~1023u;
  score_page(q_fp8, cache, weights, b, p, L, page, max_pages, num_pages, scores, hist, tiles, s_scale, s_w);
#endif
}

}  // namespace score_wgmma
