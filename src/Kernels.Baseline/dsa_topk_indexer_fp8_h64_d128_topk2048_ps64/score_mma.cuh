// score_mma.cuh: the indexer's scores on fp8 tensor cores (INDEXER_SCORE_IMPL=1).
//
// Why: the baseline score kernel does 64 heads x 128 dims of fp32 FMA per token on CUDA cores:
// at 27 rows x 91 pages that is 2.6 GFLOP, ~45 us of fp32 issue on an H100/H200, for ~20 MB of
// bytes (~5 us). Here a CTA per (page, row) (or per INDEXER_SCORE_PAGES pages of a row) multiplies the row's 64 x 128 fp8 queries by the page's
// 64 x 128 fp8 keys with mma.sync m16n8k32 e4m3 (fp32 accumulate; exact products, K = 128 in four
// steps), then applies the token's scale, relu, the head weights and the head sum in the epilogue:
//   score(t) = sum_h relu(scale_t * (q_h . k_t)) * w_h     (the reference: relu(q_h . (k_t * scale_t)))
// 4 warps, warp w owns tokens 16w..16w+15 (two n8 tiles) for all 64 heads (four m16 tiles).
// Loads: 16-byte cp.async of the query rows and the page's fp8 rows into padded rows (144 bytes:
// ldmatrix conflict-free); a page id outside the cache reads as zeros, as in the baseline.
// Default since its first GPU run (H200, 2026-11-26: 91 pages 89.7 -> 37.3 us, 128/128 pass).
#pragma once

namespace score_mma {

constexpr int kThreads = 128;
constexpr int kLd = kHeadDim + 16;  // bytes per shared row

// The mma / ldmatrix / cp.async wrappers are afg_mma.cuh's (included at the top of kernel.cu).
using afg::cp_async16;
using afg::ldmatrix_x4;
using afg::mma_e4m3;
using afg::smem_addr;

// kPages consecutive page slots of one row per CTA: the row's queries and weights are loaded once,
// the next page's keys land (cp.async, two buffers) while this page multiplies. grid
// (ceil(max_pages / kPages), B).
template <int kPages>
__global__ void __launch_bounds__(kThreads, INDEXER_SCORE_MIN_BLOCKS)
indexer_score_mma_kernel(const uint8_t* __restrict__ q_fp8, const uint8_t* __restrict__ cache,
                         const float* __restrict__ weights, const int32_t* __restrict__ seq_lens,
                         const int32_t* __restrict__ block_table, int max_pages, int64_t num_pages,
                         float* __restrict__ scores, ScoreHist hist) {
  constexpr int kBuffers = kPages > 1 ? 2 : 1;
  __shared__ __align__(16) uint8_t s_q[kHeads * kLd];
  __shared__ __align__(16) uint8_t s_kb[kBuffers][kPageSize * kLd];
  __shared__ float s_scaleb[kBuffers][kPageSize];
  __shared__ float s_w[kHeads];

  allow_select_launch();
  const int p0 = blockIdx.x * kPages;  // first page slot of this CTA in the block table row
  const int b = blockIdx.y;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, tq = lane & 3;
  // The first page's id is asked for with the row's length, not after it (INDEXER_SCORE_EARLY_PAGE):
  // p0 < max_pages, so it is in bounds whatever the length says.
  const int32_t* bt_row = block_table + static_cast<int64_t>(b) * max_pages + p0;
  // Coherent loads (load_score_id): non-coherent ones ptxas sank past the early exit below, a third
  // dependent round trip per CTA.
  const int32_t first_page = kScoreEarlyPage ? load_score_id(bt_row) : 0;
  const int L = clamp_len(kScoreEarlyPage ? load_score_id(seq_lens + b) : seq_lens[b], max_pages * kPageSize);
  if (L <= kTopK || p0 * kPageSize >= L) return;  // block-uniform
  if constexpr (kScoreHist) hist.begin(b, p0);
  const int row_pages = (L + kPageSize - 1) / kPageSize;
  const int pages_here = row_pages - p0 < kPages ? row_pages - p0 : kPages;

  const uint8_t* qb = q_fp8 + static_cast<int64_t>(b) * kHeads * kHeadDim;
  // Keys (cp.async, zero-filled for a page outside the cache) and scales of page slot p0 + j.
  const auto load_page = [&](int j, int buf) {
    const int page = kScoreEarlyPage && j == 0 ? first_page : bt_row[j];
    const bool page_ok = page >= 0 && static_cast<int64_t>(page) < num_pages;
    const uint8_t* pb = cache + static_cast<int64_t>(page_ok ? page : 0) * kPageBytes;
    for (int i = tid; i < kPageSize * (kHeadDim / 16); i += kThreads) {
      const int r = i / (kHeadDim / 16), c = (i % (kHeadDim / 16)) * 16;
      cp_async16(s_kb[buf] + r * kLd + c, pb + r * kHeadDim + c, page_ok ? 16 : 0);
    }
    if (tid < kPageSize) s_scaleb[buf][tid] = page_ok ? reinterpret_cast<const float*>(pb + kPageSize * kHeadDim)[tid] : 0.0f;
  };
  for (int i = tid; i < kHeads * (kHeadDim / 16); i += kThreads) {
    const int r = i / (kHeadDim / 16), c = (i % (kHeadDim / 16)) * 16;
    cp_async16(s_q + r * kLd + c, qb + r * kHeadDim + c, 16);
  }
  load_page(0, 0);
  asm volatile("cp.async.commit_group;\n" ::: "memory");
  if (tid < kHeads) s_w[tid] = weights[static_cast<int64_t>(b) * kHeads + tid];

#pragma unroll 1
  for (int j = 0; j < pages_here; ++j) {
    const int p = p0 + j;
    if (j + 1 < pages_here) {  // the next page lands while this one multiplies
      load_page(j + 1, (j + 1) % kBuffers);
      asm volatile("cp.async.commit_group;\n" ::: "memory");
      asm volatile("cp.async.wait_group 1;\n" ::: "memory");
    } else {
      asm volatile("cp.async.wait_group 0;\n" ::: "memory");
    }
    __syncthreads();
    const uint8_t* s_k = s_kb[j % kBuffers];
    const float* s_scale = s_scaleb[j % kBuffers];

    // S[head][token] for this warp's 16 tokens, kHeadPasses passes over the 64 heads (fewer live
    // accumulators per pass: INDEXER_SCORE_HEAD_PASSES): acc[m tile][n tile][fragment].
    const int n0 = warp * 16;
    constexpr int kMTiles = 4 / kHeadPasses;
    // Epilogue sums: this lane's 4 tokens (two per n tile), 8 heads per m tile (rows g, g + 8); the
    // other heads of a token sit in the lanes with the same tq: reduced over g below. The terms are
    // added in the same order whatever the passes (m tile, then row half).
    float part[2][2] = {{0.f, 0.f}, {0.f, 0.f}};
#pragma unroll
    for (int pass = 0; pass < kHeadPasses; ++pass) {
      float acc[kMTiles][2][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) acc[mt][nt][0] = acc[mt][nt][1] = acc[mt][nt][2] = acc[mt][nt][3] = 0.f;
#pragma unroll
      for (int k0 = 0; k0 < kHeadDim; k0 += 32) {
        uint32_t bf[4];  // tokens n0..n0+7: bf[0], bf[1]; n0+8..n0+15: bf[2], bf[3]
        ldmatrix_x4(bf, s_k + (n0 + (lane & 7) + (lane >> 4) * 8) * kLd + k0 + ((lane >> 3) & 1) * 16);
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          uint32_t af[4];
          ldmatrix_x4(af, s_q + ((pass * kMTiles + mt) * 16 + (lane & 15)) * kLd + k0 + (lane >> 4) * 16);
          mma_e4m3(acc[mt][0], af, bf[0], bf[1]);
          mma_e4m3(acc[mt][1], af, bf[2], bf[3]);
        }
      }
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const float sc = s_scale[n0 + nt * 8 + 2 * tq + c];
#pragma unroll
          for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
            for (int hi = 0; hi < 2; ++hi) {
              const int head = (pass * kMTiles + mt) * 16 + g + hi * 8;
              part[nt][c] += fmaxf(sc * acc[mt][nt][2 * hi + c], 0.0f) * s_w[head];
            }
          }
        }
      }
    }
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
      for (int c = 0; c < 2; ++c) {
#pragma unroll
        for (int off = 4; off < 32; off <<= 1) part[nt][c] += __shfl_xor_sync(0xffffffffu, part[nt][c], off);
      }
    }
    if constexpr (kScoreHist) {  // INDEXER_SCORE_HIST: the g == 0 lanes' 16 scores of this warp
      if (j == 0) hist.wait_cleared(b);
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int pos = p * kPageSize + n0 + nt * 8 + 2 * tq + c;
          hist.count(b, g == 0 && pos < L, part[nt][c], lane);
        }
      }
    }
    if (g == 0) {
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int pos = p * kPageSize + n0 + nt * 8 + 2 * tq + c;
          if (pos < L) scores[static_cast<int64_t>(b) * max_pages * kPageSize + pos] = part[nt][c];
        }
      }
    }
    __syncthreads();  // the buffer of page j is refilled by iteration j + 1's prefetch of j + 2
  }
}

}  // namespace score_mma
