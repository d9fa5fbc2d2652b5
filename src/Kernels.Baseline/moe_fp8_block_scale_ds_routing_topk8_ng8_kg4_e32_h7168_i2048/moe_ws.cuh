// moe_ws.cuh: the large-T GEMMs as warp-specialized kernels (sm_90a builds only, included by
// kernel.cu after moe_wgmma.cuh, whose tile walk, tile shape and C format they share):
// gemm1_ws_kernel (GEMM1 + SwiGLU, fp8 C; MOE_WGMMA_WS=1 and 2) and gemm2_ws_kernel (MOE_WGMMA_WS=2,
// the default: C in expert-slot order so that its tiles are TMA boxes; described at WsGemm2). GEMM1
// first. Why: the lockstep kernel's MMA warpgroups also copy their tiles and run each
// tile's epilogue with nothing loading; its diagnostics put the loads at ~15-18% of GEMM1 and the
// tile turnover at ~12% (NOTES.md, sessions 17-21). scripts/device/probes/moe_ws_gemm_probe.cu
// measured this structure on the T=14107 shape (H200, session 29): 970 us with the rows gathered
// as here, 920 with them contiguous, where the lockstep GEMM1 takes ~1115 us on the workload.
//   CTA (one per SM, persistent over the walk's tiles): 3 warpgroups.
//   - Warpgroup 0 loads (56 registers): per K block, thread 0 arms the stage's "full" mbarrier with
//     the B tile's bytes and issues four 64-row TMA boxes of W1 (the X1 / X2 halves of the two
//     column passes); all 128 threads gather the 128 pair rows' 128-byte slices with 16-byte
//     cp.async into the 128-byte swizzle (8 a thread; TMA boxes of one row measured 4x slower) and
//     each row's activation scale; a thread waits for its copies kLag stages behind, fences them for
//     the async proxy and arrives (the barrier counts 1 + 128 arrivals). It runs ahead across tiles,
//     so the next tile's stages land while the MMA warpgroups run the epilogue.
//   - Warpgroups 1-2 multiply (224 registers) as the lockstep kernel does: rows [64w, 64w + 64) of
//     the 128 x 256 tile, two passes of four wgmma m64n128k32 into a temporary, wait, fold with the
//     block's scales; each warp arrives on the stage's "empty" mbarrier after its last wait. The
//     epilogue is Gemm1Op's (SwiGLU, fp8 C with a scale per pair and 128 columns) with SiLU through
//     tanh.approx (one MUFU op; the probe: -3% of the kernel against expf and a division).
#pragma once

// afg_bulk.cuh (mbarriers) and afg_tma.cuh (the W1 tensor map, box copies) are included at the top of
// kernel.cu: this file is included inside its anonymous namespace.

namespace moe_wg {

struct WsGemm1 {
  static constexpr int kDiagId = 1;  // MOE_WGMMA_WS_DIAG_HALF_B
  static constexpr int kBM = 128;
  static constexpr int kStages = 4;                 // 3 measured 20% slower in the probe (the gather keeps kLag in flight)
  static constexpr int kLag = MOE_WGMMA_WS_LAG;     // stages a loading thread keeps in flight before it arrives
  static constexpr int kTileA = kBM * kRowBytes;    // 16 KB
  static constexpr int kStageBytes = kTileA + kTileB;
  static constexpr int kLoaders = 128, kThreads = kLoaders + kConsumers;
  static constexpr int kLoaderRegs = 56, kConsumerRegs = 224;
  static constexpr int kSmem = 1024 + kStages * (kStageBytes + kBM * 4) + 2 * kStages * 8;
  static_assert(kLag >= 1 && kLag < kStages, "a loading thread arrives on a stage it issued 1 .. stages - 1 blocks ago");
  static_assert(kLoaders * kLoaderRegs + kConsumers * kConsumerRegs <= 65536 - 1024, "register split");
  static_assert(kSmem <= 227 * 1024, "shared memory");
};

// MOE_WGMMA_WS=2: C in slot order (gemm1_ws_kernel<true>). GEMM1 writes expert e's pair m to C row
// 128 x (the walk's row tiles before e) + m, so the experts' segments start 128-row aligned and a
// tile's 128 rows are contiguous (rows c.slot0 + r, TileCoord::slot0); C's scales as [16][capacity]
// (a tile's 128 contiguous per K block), so GEMM2's tiles are TMA boxes too (gemm2_ws_kernel).
constexpr bool kWsSlots = MOE_WGMMA_WS == 2;
// MOE_WGMMA_WS_MULTICAST: the TMA-fed kernels (GEMM2, GEMM1 with the permuted rows) run as clusters of two
// CTAs that take tiles 2i and 2i + 1 of the walk together; where the two share their B tiles (same
// expert and column tile: adjacent row tiles, the walk's row tiles being fastest), each CTA loads half
// of every B tile and multicasts it to both (ws_load_tiles).
constexpr bool kWsMulticast = MOE_WGMMA_WS_MULTICAST != 0;
constexpr int kSlotAlign = 128;  // the walks' row tile
__host__ __device__ constexpr int64_t ws_slot_capacity(int64_t T) { return kTopK * T + kLocalExperts * kSlotAlign; }

// GEMM2 with C in slot order: a 128 x 256 tile's A (C rows) and B (W2 rows) by TMA boxes and its C
// scales by one bulk copy, all from one loading thread; two MMA warpgroups as in GEMM1 (a pass is
// 128 W2 rows, one W2 scale block); each warpgroup stages its 64 weighted bf16 rows in its own
// shared buffer and writes them out as the lockstep kernel's MOE_WGMMA_BULK_OUT does (a row by one
// bulk copy, or a bulk bf16 reduction where the token has other local pairs). 3 stages leave room
// for the two 33 KB output buffers.
struct WsGemm2 {
  static constexpr int kDiagId = 2;  // MOE_WGMMA_WS_DIAG_HALF_B
  static constexpr int kBM = 128;
  static constexpr int kStages = 3;
  static constexpr int kTileA = kBM * kRowBytes;
  static constexpr int kStageBytes = kTileA + kTileB;
  static constexpr int kLoaders = 128, kThreads = kLoaders + kConsumers;
  static constexpr int kLoaderRegs = 40, kConsumerRegs = 232;
  static constexpr int kOutRowBytes = kBN * 2 + 16;  // +16: a quad's 8 rows in different banks
  static constexpr int kOutBytes = kBM * kOutRowBytes;
  static constexpr int kSmem = 1024 + kStages * (kStageBytes + kBM * 4) + kOutBytes + 2 * kStages * 8;
  static_assert(kLoaders * kLoaderRegs + kConsumers * kConsumerRegs <= 65536 - 1024, "register split");
  static_assert(kSmem <= 227 * 1024, "shared memory");
};
// Both kernels' loading warpgroup: threads [0, kWsLoaders); the first MMA thread follows it.
constexpr int kWsLoaders = 128;
static_assert(WsGemm1::kLoaders == kWsLoaders && WsGemm2::kLoaders == kWsLoaders, "loading warpgroup");
static_assert(WsGemm1::kBM == kSlotAlign && WsGemm2::kBM == kSlotAlign, "slot0: the walks' row tiles are the C segments' unit");

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)  // MOE_WG_DEVICE, spelled out for the pack checker
__device__ __forceinline__ void ws_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void ws_cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
// One column pass of a warpgroup's 64 rows: tmp = A (64 x 128 K, a_base) * B^T (128 rows, b_base),
// four wgmma m64n128k32, waited for.
__device__ __forceinline__ void ws_pass(float (&tmp)[64], uint32_t a_base, uint32_t b_base) {
  wgmma_fence();
#pragma unroll
  for (int k = 0; k < 4; ++k) wgmma_m64n128k32_e4m3(tmp, desc_sw128(a_base + 32 * k), desc_sw128(b_base + 32 * k), k > 0);
  wgmma_commit();
  wgmma_wait<0>();
  fence_fragment(tmp);
}
// This warp is done with a stage (its MMAs waited for, its scales read): one arrival on its "empty", and
// with kPair (MOE_WGMMA_WS_MULTICAST) on the other CTA's too, whose loading thread may multicast into it.
template <bool kPair = false>
__device__ __forceinline__ void ws_release(uint64_t* empty, int lane) {
  __syncwarp();
  if constexpr (kPair) {
    if (lane < 2) afg::mbar_arrive_cluster(empty, static_cast<uint32_t>(lane));
  } else {
    if (lane == 0) afg::mbar_arrive(empty);
  }
}
// The one loading thread of GEMM2, and of GEMM1 with the permuted rows: every stage of the CTA's tiles
// (kBlocks K blocks a tile) in turn. It waits for the stage to be empty, arms its "full" barrier with all
// of its bytes, then issues the A tile as one 128-row box of map_a (rows c.slot0..), the B tile as Op's
// four 64-row boxes of map_b (issue_b_boxes, as the 64-pair producer kernels take theirs) and the
// tile's 128 A scales (a_scale: [block][capacity]) by one bulk copy.
// kPair (MOE_WGMMA_WS_MULTICAST, a cluster of two: blockIdx.x = 2 x cluster + rank, so the CTAs take tiles
// 2i and 2i + 1 together, and as many of them: every walk's tile count is even, ws_pair_walk): when this
// CTA's tile and the other CTA's (tile t ^ 1) share their B tiles, this CTA issues boxes 2r and 2r + 1 (r: its rank) to both
// CTAs, so each CTA's "full" barrier still counts a whole stage; else it issues all four to itself. Its
// "empty" barriers count both CTAs' MMA warps (ws_release<true>), so a stage is refilled only when both
// have read it, and before returning it waits for its last stages' releases: the other CTA's MMA warps
// arrive on this CTA's barriers until then.
template <typename S, typename Op, int kBlocks, bool kPair = false, typename Walk>
__device__ __forceinline__ void ws_load_tiles(const Walk& walk, uint8_t* stages, float* scales, uint64_t* full, uint64_t* empty,
                                              const CUtensorMap* map_a, const CUtensorMap* map_b, const float* a_scale,
                                              int64_t capacity) {
  int it = 0, walk_le = 0, other_le = 0;
  const int rank = kPair ? static_cast<int>(afg::cluster_rank()) : 0;
  for (int t = walk.first; t < walk.total; t += walk.step) {
    const TileCoord c = walk.at(t, walk_le);
    bool shared_b = false;
    if constexpr (kPair) {
      const TileCoord other = walk.at(t ^ 1, other_le);
      shared_b = MOE_WGMMA_WS_MULTICAST == 1 && other.le == c.le && other.col == c.col;  // (2: the clusters alone)
    }
    for (int kb = 0; kb < kBlocks; ++kb, ++it) {
      const int s = it % S::kStages;
      afg::mbar_wait(&empty[s], ((it / S::kStages) & 1) ^ 1);
      afg::mbar_arrive_expect_tx(&full[s], S::kStageBytes + S::kBM * 4 - (MOE_WGMMA_WS_DIAG_HALF_B == S::kDiagId ? kTileB / 2 : 0));
      const uint32_t stage = afg::smem_addr(stages + s * S::kStageBytes), bar = afg::smem_addr(&full[s]);
      afg::tma_load_2d(stage, map_a, kb * kQBlock, c.slot0, bar);
      if constexpr (MOE_WGMMA_WS_DIAG_HALF_B == S::kDiagId) {
        // Measurement aid: the first column pass's two boxes only (the second pass multiplies stale
        // shared memory): the L2 -> SM traffic a two-CTA multicast of B would leave.
#pragma unroll
        for (int j = 0; j < 2; ++j)
          afg::tma_load_2d(stage + S::kTileA + j * kBoxRows * kRowBytes, map_b, kb * kRowBytes, Op::b_box_row(c, j), bar);
      } else if (shared_b) {
        static_assert(kBN / kBoxRows == 4, "two boxes a rank");
#pragma unroll
        for (int j = 2 * rank; j < 2 * rank + 2; ++j)
          afg::tma_load_2d_multicast(stage + S::kTileA + j * kBoxRows * kRowBytes, map_b, kb * kRowBytes, Op::b_box_row(c, j), bar,
                                     0x3);
      } else {
        issue_b_boxes<S::kBM, Op>(stage, map_b, c, kb, bar);
      }
      afg::bulk_copy_to_smem(scales + s * S::kBM, a_scale + kb * capacity + c.slot0, S::kBM * 4, &full[s]);
    }
  }
  if constexpr (kPair) {
    for (int i = it > S::kStages ? it - S::kStages : 0; i < it; ++i) afg::mbar_wait(&empty[i % S::kStages], (i / S::kStages) & 1);
  }
}
// A two-CTA cluster's CTAs walk tiles 2i and 2i + 1 together and both release every stage, so they must
// take as many tiles: a walk's tile count (row tiles x kCols) is even whenever kCols is.
template <int kCols>
__device__ __forceinline__ void ws_pair_walk() {
  static_assert(kCols % 2 == 0, "an even tile count for every two-CTA cluster");
  afg::cluster_sync_all();  // both CTAs' barriers initialized before either multicasts or releases into the other
}
// One landed stage's two column passes into acc (the warpgroup's rows [64 wg, 64 wg + 64) of its A
// tile, tile_a_bytes before its B tile): pass q's products folded with factor(q, i) for fragment i;
// the stage released once the last pass's MMAs have read it.
template <bool kPair = false, typename Factor>
__device__ __forceinline__ void ws_stage_passes(float (&acc)[2][64], const uint8_t* stage, int tile_a_bytes, int wg, uint64_t* empty,
                                                int lane, Factor&& factor) {
  const uint32_t a_base = afg::smem_addr(stage) + 64 * wg * kRowBytes;
  const uint32_t b_base = afg::smem_addr(stage + tile_a_bytes);
#pragma unroll
  for (int q = 0; q < 2; ++q) {
    float tmp[64];
    ws_pass(tmp, a_base, b_base + q * 128 * kRowBytes);
    if (q == 1) ws_release<kPair>(empty, lane);
#pragma unroll
    for (int i = 0; i < 64; ++i) acc[q][i] = fmaf(tmp[i], factor(q, i), acc[q][i]);
  }
}
// A tile's two accumulators (two column passes) at zero.
__device__ __forceinline__ void ws_zero(float (&acc)[2][64]) {
#pragma unroll
  for (int q = 0; q < 2; ++q)
#pragma unroll
    for (int i = 0; i < 64; ++i) acc[q][i] = 0.f;
}
// A tile's two weight-scale rows (one value per K block), each block's pair loaded a block ahead so
// that no K block waits on a global load.
struct WsScalePair {
  const float* src0;
  const float* src1;
  int blocks;
  float next0, next1;
  __device__ __forceinline__ WsScalePair(const float* s0, const float* s1, int n)
      : src0(s0), src1(s1), blocks(n), next0(__ldg(s0)), next1(__ldg(s1)) {}
  // Block kb's two scales; block kb + 1's loads issued.
  __device__ __forceinline__ float2 take(int kb) {
    const float2 v = make_float2(next0, next1);
    if (kb + 1 < blocks) {
      next0 = __ldg(src0 + kb + 1);
      next1 = __ldg(src1 + kb + 1);
    }
    return v;
  }
};
// silu(x2) x1 with silu(x) = h + h tanh(h), h = x / 2: one MUFU op where expf and a division take two
// and ~15 more instructions (C is rounded to fp8 next).
__device__ __forceinline__ float ws_silu_mul(float x1, float x2) {
  const float h = 0.5f * x2;
  float t;
  asm("tanh.approx.f32 %0, %1;\n" : "=f"(t) : "f"(h));
  return fmaf(h, t, h) * x1;
}
// MOE_WGMMA_DIAG_TILE_TIMES: the first MMA thread (warpgroup 0's thread 0) records its tiles' marks
// (wg_tile_mark: 0 top, 1 scales set up, 2 first stage full, 3 last pass folded, 4 output issued).
__device__ __forceinline__ void ws_tile_mark(int gemm, int n, int mark, uint32_t after = 0u) {
  if constexpr (MOE_WGMMA_DIAG_TILE_TIMES != 0) wg_tile_mark(gemm, n, mark, after, kWsLoaders);
}
#endif

// MOE_WGMMA_WS_PERMUTED_A: each local pair's hidden row (7168 bytes) and its 56 activation scales
// copied to the pair's slot (GEMM1's C row), so that GEMM1's A tiles are TMA boxes (kernel.cu says why).
// A warp per slot, walking the slots of the row tiles in order: 14 16-byte loads a lane, all issued
// before the stores; lanes 0-27 copy two scales each into a_scale_out [56][capacity]. The slots past
// an expert's count (its last row tile's padding) stay unwritten: GEMM1 never stores their products.
constexpr int kPermuteThreads = 256;
__global__ void __launch_bounds__(kPermuteThreads)
    ws_permute_rows_kernel(const uint8_t* __restrict__ hidden, const float* __restrict__ hidden_scale,
                           const int* __restrict__ counts, const int* __restrict__ lists, int T, uint8_t* __restrict__ a_out,
                           float* __restrict__ a_scale_out) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL) && MOE_WGMMA_PERSISTENT != 0 && MOE_WGMMA_CSCALE_COLS == 128  // MOE_WG_DEVICE, spelled out
  pdl_wait_then_allow();
  __shared__ WalkShared walk_shared;
  // One column: the walk's tiles are the row tiles, tile t's slots [128 t, 128 t + 128).
  const TileWalk<kSlotAlign, 1> walk = make_walk<kSlotAlign, 1>(counts, walk_shared);  // ends with a barrier
  const int64_t capacity = ws_slot_capacity(T);
  const int lane = threadIdx.x & 31, warps = gridDim.x * (kPermuteThreads / 32);
  constexpr int kPieces = kHidden / 16 / 32;  // 16-byte pieces a lane
  static_assert(kHidden == kPieces * 16 * 32 && kHiddenBlocks <= 64, "a row in whole warp passes, two scales a lane");
  int walk_le = 0;
  for (int slot = blockIdx.x * (kPermuteThreads / 32) + static_cast<int>(threadIdx.x) / 32; slot < walk.total * kSlotAlign;
       slot += warps) {
    const TileCoord c = walk.at(slot / kSlotAlign, walk_le);
    const int m = c.m0 + slot % kSlotAlign;
    if (m >= c.cnt) continue;
    const int token = lists[c.le * T + m] / kTopK;
    const uint4* src = reinterpret_cast<const uint4*>(hidden + static_cast<int64_t>(token) * kHidden) + lane;
    uint4* dst = reinterpret_cast<uint4*>(a_out + static_cast<int64_t>(slot) * kHidden) + lane;
    uint4 v[kPieces];
#pragma unroll
    for (int j = 0; j < kPieces; ++j) v[j] = __ldg(src + 32 * j);
#pragma unroll
    for (int j = 0; j < kPieces; ++j) dst[32 * j] = v[j];
#pragma unroll
    for (int kb = lane; kb < kHiddenBlocks; kb += 32) a_scale_out[kb * capacity + slot] = hidden_scale[static_cast<int64_t>(kb) * T + token];
  }
#endif
}

// map_w1: W1 as [32 x 4096 rows][7168 bytes], 64-row boxes of 128 bytes, 128-byte swizzle.
// hidden_scale: the input's [56][T] activation scales. C and its scales as Gemm1Op<true> writes them.
// kSlots: C in slot order (MOE_WGMMA_WS=2, for gemm2_ws_kernel), else by pair (the lockstep GEMM2's).
// kPermutedA (MOE_WGMMA_WS_PERMUTED_A, with kSlots): A's rows and scales already in slot order
// (ws_permute_rows_kernel): map_a holds them as 128-row boxes, hidden_scale is their [56][capacity]
// copy, and one loading thread takes a stage as boxes and one bulk copy (GEMM2's loader).
// zero_out (MOE_WGMMA_WS_ZERO_IN_GEMM1, with kPermutedA; else null): the output, whose rows of tokens
// without exactly one local pair (token_mask) the loading warpgroup's warps 1-3 zero.
// kClusters (MOE_WGMMA_WS_MULTICAST, with kPermutedA): launched as two-CTA clusters (ws_load_tiles' kPair).
template <bool kSlots, bool kPermutedA, bool kClusters = false>
__global__ void __launch_bounds__(WsGemm1::kThreads, 1)
    gemm1_ws_kernel(const __grid_constant__ CUtensorMap map_w1, const __grid_constant__ CUtensorMap map_a,
                    const uint8_t* __restrict__ hidden,
                    const float* __restrict__ hidden_scale, const float* __restrict__ w1_scale,
                    const int* __restrict__ counts, const int* __restrict__ lists, int T, uint8_t* __restrict__ c_out,
                    float* __restrict__ c_scale, const uint8_t* __restrict__ token_mask, __nv_bfloat16* __restrict__ zero_out) {
  // Empty unless the persistent tile walk and one C scale per tile column are built in (the host
  // selects this kernel only then).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL) && MOE_WGMMA_PERSISTENT != 0 && MOE_WGMMA_CSCALE_COLS == 128  // MOE_WG_DEVICE, spelled out for the pack checker
  using S = WsGemm1;
  static_assert(!kClusters || kPermutedA, "the clusters multicast TMA boxes: the permuted rows' loader");
  constexpr bool kPair = kClusters;  // a cluster of two (MOE_WGMMA_WS_MULTICAST)
  pdl_wait_then_allow();
  extern __shared__ uint8_t dynamic_smem[];
  uint8_t* stages = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(dynamic_smem) + 1023) & ~uintptr_t(1023));
  float* scales = reinterpret_cast<float*>(stages + S::kStages * S::kStageBytes);  // [stage][row]
  uint64_t* full = reinterpret_cast<uint64_t*>(scales + S::kStages * S::kBM);
  uint64_t* empty = full + S::kStages;
  __shared__ WalkShared walk_shared;
  if (threadIdx.x == 0) {
    for (int s = 0; s < S::kStages; ++s) {
      afg::mbar_init(&full[s], kPermutedA ? 1 : 1 + S::kLoaders);
      afg::mbar_init(&empty[s], (kPair ? 2 : 1) * kConsumers / 32);
    }
    afg::mbar_init_fence();
  }
  const TileWalk<S::kBM, kInter / 128> walk = make_walk<S::kBM, kInter / 128>(counts, walk_shared);  // ends with a barrier
  if constexpr (kPair) ws_pair_walk<kInter / 128>();

  if (threadIdx.x < S::kLoaders) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(S::kLoaderRegs));
    if constexpr (kPermutedA) {
      static_assert(!kPermutedA || kSlots, "the permuted rows are in slot order");
      if (threadIdx.x != 0) {
        if (zero_out != nullptr && threadIdx.x >= 32) {
          // Warps 1-3 of every CTA, a row a warp at a time, streaming stores (nothing reads them back
          // before GEMM2's reductions), a row every kZeroSpacingNs: written as fast as they issue
          // (~120 MB at T=14107 in ~40 us of DRAM writes) they slowed GEMM1 by 60-100 us (session 31
          // call 8). GEMM1 takes ~57 ns a token on the H100 and a warp has ~0.6 T / 396 rows, so 15 us
          // a row ends the zeroing about halfway through GEMM1 at any T of this path.
          constexpr unsigned kZeroSpacingNs = 15000;
          const int lane = threadIdx.x & 31, warps = static_cast<int>(gridDim.x) * 3;
          constexpr int kPieces = kHidden * 2 / 16;
          for (int t = static_cast<int>(blockIdx.x) * 3 + static_cast<int>(threadIdx.x) / 32 - 1; t < T; t += warps) {
            if (single_local_pair(token_mask[t])) continue;
            uint4* row = reinterpret_cast<uint4*>(zero_out + static_cast<int64_t>(t) * kHidden);
            for (int i = lane; i < kPieces; i += 32) __stcs(row + i, make_uint4(0u, 0u, 0u, 0u));
            __nanosleep(kZeroSpacingNs);
          }
        }
        return;
      }
      ws_load_tiles<S, Gemm1Op<true>, kHiddenBlocks, kPair>(walk, stages, scales, full, empty, &map_a, &map_w1, hidden_scale,
                                                            ws_slot_capacity(T));
      return;
    }
    // Thread p copies 16-byte chunk p % 8 of rows p / 8 + 16 j (j < 8) and row p's scale.
    const int p = threadIdx.x, chunk = p & 7;
    const auto arrive_landed = [&](int stage) {
      afg::fence_proxy_async();
      afg::mbar_arrive(&full[stage]);
    };
    int it = 0, walk_le = 0;
    for (int t = walk.first; t < walk.total; t += walk.step) {
      const TileCoord c = walk.at(t, walk_le);
      // Rows past the expert's count copy token 0's row: their products are never stored.
      const uint8_t* src[8];
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int pair = pair_at(lists, c, p / 8 + 16 * j, T);
        src[j] = hidden + static_cast<int64_t>(pair >= 0 ? pair / kTopK : 0) * kHidden + 16 * chunk;
      }
      const int scale_pair = pair_at(lists, c, p, T);
      const float* scale_src = hidden_scale + (scale_pair >= 0 ? scale_pair / kTopK : 0);
      for (int kb = 0; kb < kHiddenBlocks; ++kb, ++it) {
        const int s = it % S::kStages;
        afg::mbar_wait(&empty[s], ((it / S::kStages) & 1) ^ 1);
        uint8_t* a_dst = stages + s * S::kStageBytes;
        if (p == 0) {  // B box j: column pass j / 2, its X1 (j even) or X2 (j odd) rows (Gemm1Op::b_box_row)
          afg::mbar_arrive_expect_tx(&full[s], kTileB);
          issue_b_boxes<S::kBM, Gemm1Op<true>>(afg::smem_addr(a_dst), &map_w1, c, kb, afg::smem_addr(&full[s]));
        }
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          const int r = p / 8 + 16 * j;
          afg::cp_async16(a_dst + r * kRowBytes + 16 * (chunk ^ (r & 7)), src[j] + kb * kQBlock, 16);
        }
        cp_async4(scales + s * S::kBM + p, scale_src + static_cast<int64_t>(kb) * T);
        ws_cp_async_commit();
        if (it >= S::kLag) {
          ws_cp_async_wait<S::kLag>();
          arrive_landed((it - S::kLag) % S::kStages);
        }
      }
    }
    ws_cp_async_wait<0>();
    for (int back = S::kLag; back >= 1; --back)
      if (it - back >= 0) arrive_landed((it - back) % S::kStages);
    return;
  }

  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(S::kConsumerRegs));
  const int ctid = threadIdx.x - S::kLoaders;
  const int wg = ctid >> 7, lane = ctid & 31, warp = (ctid >> 5) & 3;
  const int r_lo = 16 * warp + (lane >> 2);  // this thread's rows r_lo and r_lo + 8 of the warpgroup's 64
  int it = 0, tile_n = 0, walk_le = 0;
  for (int t = walk.first; t < walk.total; t += walk.step, ++tile_n) {
    const TileCoord c = walk.at(t, walk_le);
    ws_tile_mark(0, tile_n, 0);
    const float* sb1_src = w1_scale + (static_cast<int64_t>(c.le) * kGemm1OutBlocks + c.col) * kHiddenBlocks;
    float acc[2][64];
    ws_zero(acc);
    WsScalePair weight_scales(sb1_src, sb1_src + (kInter / kQBlock) * kHiddenBlocks, kHiddenBlocks);  // X1's, X2's
    ws_tile_mark(0, tile_n, 1);
    for (int kb = 0; kb < kHiddenBlocks; ++kb, ++it) {
      const int s = it % S::kStages;
      const float2 sb = weight_scales.take(kb);
      const float sb1 = sb.x, sb2 = sb.y;
      afg::mbar_wait(&full[s], (it / S::kStages) & 1);
      if (kb == 0) ws_tile_mark(0, tile_n, 2);
      const float* sa = scales + s * S::kBM + 64 * wg;
      const float sa_lo = sa[r_lo], sa_hi = sa[r_lo + 8];
      const float f[4] = {sa_lo * sb1, sa_hi * sb1, sa_lo * sb2, sa_hi * sb2};
      // Fragment i: columns 0-63 (X1) for i < 32, 64-127 (X2) after; row lo for i % 4 < 2.
      ws_stage_passes<kPair>(acc, stages + s * S::kStageBytes, S::kTileA, wg, &empty[s], lane,
                             [&](int /*q*/, int i) { return f[(i < 32 ? 0 : 2) + ((i & 2) ? 1 : 0)]; });
    }
    ws_tile_mark(0, tile_n, 3, __float_as_uint(acc[0][0]));
    // SwiGLU; fp8 C with one scale per (pair, the tile's 128 columns), as Gemm1Op<true> writes it.
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float v[2][16];
      float amax = 0.f;
#pragma unroll
      for (int q = 0; q < 2; ++q)
#pragma unroll
        for (int j = 0; j < 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            v[q][2 * j + e] = ws_silu_mul(acc[q][4 * j + 2 * half + e], acc[q][32 + 4 * j + 2 * half + e]);
            amax = fmaxf(amax, fabsf(v[q][2 * j + e]));
          }
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
      const int m = 64 * wg + r_lo + 8 * half;
      if (c.m0 + m >= c.cnt) continue;  // past the expert's count (pair_at's -1)
      // C's row: its slot (MOE_WGMMA_WS=2: no list read on the epilogue's path), or the pair's (the
      // lockstep GEMM2).
      const int64_t crow = kSlots ? static_cast<int64_t>(c.slot0) + m : pair_at(lists, c, m, T);
      const float inv = amax > 0.f ? 448.f / amax : 0.f;
#pragma unroll
      for (int q = 0; q < 2; ++q) {
        uint8_t* dst = c_out + crow * kInter + c.col * 128 + 64 * q + 2 * (lane & 3);
#pragma unroll
        for (int j = 0; j < 8; ++j)
          *reinterpret_cast<__nv_fp8x2_storage_t*>(dst + 8 * j) =
              __nv_cvt_float2_to_fp8x2(make_float2(v[q][2 * j] * inv, v[q][2 * j + 1] * inv), __NV_SATFINITE, __NV_E4M3);
      }
      if ((lane & 3) == 0) {
        if constexpr (kSlots) c_scale[c.col * ws_slot_capacity(T) + crow] = amax / 448.f;
        else c_scale[crow * kCScales + c.col] = amax / 448.f;
      }
    }
    ws_tile_mark(0, tile_n, 4);
  }
#endif
}

// map_c: C as [capacity rows][2048 bytes], 128-row boxes; map_w2: W2 as [32 x 7168 rows][2048 bytes],
// 64-row boxes (both 128 bytes wide, 128-byte swizzle). c_scale: [16][capacity]. out: the bf16 output
// (routing zeroed the rows of tokens with several local pairs). kClusters (MOE_WGMMA_WS_MULTICAST):
// launched as two-CTA clusters.
template <bool kClusters = false>
__global__ void __launch_bounds__(WsGemm2::kThreads, 1)
    gemm2_ws_kernel(const __grid_constant__ CUtensorMap map_c, const __grid_constant__ CUtensorMap map_w2,
                    const float* __restrict__ c_scale, const float* __restrict__ w2_scale, const int* __restrict__ counts,
                    const int* __restrict__ lists, const float* __restrict__ pair_weight,
                    const uint8_t* __restrict__ token_mask, int T, __nv_bfloat16* __restrict__ out) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL) && MOE_WGMMA_PERSISTENT != 0 && MOE_WGMMA_CSCALE_COLS == 128  // MOE_WG_DEVICE, spelled out
  using S = WsGemm2;
  constexpr bool kPair = kClusters;  // a cluster of two (MOE_WGMMA_WS_MULTICAST)
  pdl_wait_then_allow();
  extern __shared__ uint8_t dynamic_smem[];
  uint8_t* stages = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(dynamic_smem) + 1023) & ~uintptr_t(1023));
  float* scales = reinterpret_cast<float*>(stages + S::kStages * S::kStageBytes);  // [stage][row]
  uint8_t* out_rows = reinterpret_cast<uint8_t*>(scales + S::kStages * S::kBM);   // [row][kOutRowBytes]
  uint64_t* full = reinterpret_cast<uint64_t*>(out_rows + S::kOutBytes);
  uint64_t* empty = full + S::kStages;
  __shared__ WalkShared walk_shared;
  if (threadIdx.x == 0) {
    for (int s = 0; s < S::kStages; ++s) {
      afg::mbar_init(&full[s], 1);
      afg::mbar_init(&empty[s], (kPair ? 2 : 1) * kConsumers / 32);
    }
    afg::mbar_init_fence();
  }
  const TileWalk<S::kBM, kHidden / kBN> walk = make_walk<S::kBM, kHidden / kBN>(counts, walk_shared);  // ends with a barrier
  if constexpr (kPair) ws_pair_walk<kHidden / kBN>();
  const int64_t capacity = ws_slot_capacity(T);

  if (threadIdx.x < S::kLoaders) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(S::kLoaderRegs));
    if (threadIdx.x != 0) return;
    ws_load_tiles<S, Gemm2Op<kOutDirect>, kInterBlocks, kPair>(walk, stages, scales, full, empty, &map_c, &map_w2, c_scale, capacity);
    return;
  }

  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(S::kConsumerRegs));
  const int ctid = threadIdx.x - S::kLoaders;
  const int wg = ctid >> 7, wtid = ctid & 127, lane = ctid & 31, warp = (ctid >> 5) & 3;
  const int r_lo = 16 * warp + (lane >> 2);
  uint8_t* my_rows = out_rows + 64 * wg * S::kOutRowBytes;  // this warpgroup's 64 staged rows
  int it = 0, tile_n = 0, walk_le = 0;
  for (int t = walk.first; t < walk.total; t += walk.step, ++tile_n) {
    const TileCoord c = walk.at(t, walk_le);
    ws_tile_mark(1, tile_n, 0);
    // The epilogue's routing values, read now so that their dependent round trips (list -> weight,
    // list -> token mask) land under the K loop: this thread's two rows' weights and, for the 64
    // threads that send rows out, their row's pair and whether its token has this one local pair.
    // (The weights and masks read after the first K block instead, the list alone at the top: +15..+38
    // us at T >= 11948, session 31 call 12.)
    float row_weight[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int pair = pair_at(lists, c, 64 * wg + r_lo + 8 * half, T);
      row_weight[half] = pair >= 0 ? pair_weight[pair] : 0.f;
    }
    const int out_pair = wtid < 64 ? pair_at(lists, c, 64 * wg + wtid, T) : -1;
    const bool out_single = out_pair >= 0 && single_local_pair(token_mask[out_pair / kTopK]);
    const float* sb0_src = w2_scale + (static_cast<int64_t>(c.le) * kHiddenBlocks + c.col * 2) * kInterBlocks;
    float acc[2][64];
    ws_zero(acc);
    WsScalePair weight_scales(sb0_src, sb0_src + kInterBlocks, kInterBlocks);  // the two column passes'
    ws_tile_mark(1, tile_n, 1);
    for (int kb = 0; kb < kInterBlocks; ++kb, ++it) {
      const int s = it % S::kStages;
      const float2 pass_scales = weight_scales.take(kb);
      const float sb[2] = {pass_scales.x, pass_scales.y};
      afg::mbar_wait(&full[s], (it / S::kStages) & 1);
      if (kb == 0) ws_tile_mark(1, tile_n, 2);
      const float* sa = scales + s * S::kBM + 64 * wg;
      const float sa_lo = sa[r_lo], sa_hi = sa[r_lo + 8];
      // Pass q is one W2 scale block (sb[q]); fragment i is row lo for i % 4 < 2.
      ws_stage_passes<kPair>(acc, stages + s * S::kStageBytes, S::kTileA, wg, &empty[s], lane,
                             [&](int q, int i) { return ((i & 2) ? sa_hi : sa_lo) * sb[q]; });
    }
    ws_tile_mark(1, tile_n, 3, __float_as_uint(acc[0][0]));
    // Epilogue: wait until this warpgroup's previous rows were read by their bulk copies, stage the
    // weighted bf16 rows, then one thread per row copies (or adds) it to its token's output row.
    if (wtid < 64) afg::bulk_wait_read();
    asm volatile("bar.sync %0, 128;\n" ::"r"(1 + wg) : "memory");
    if constexpr (MOE_WGMMA_WS_GEMM2_EPILOGUE != 0) {
      // Matrices (row half, n8 block): (0, j), (1, j), (0, j + 1), (1, j + 1); lane L addresses row L % 8
      // of matrix L / 8.
      const auto packed = [&](int q, int j, int half) {
        const __nv_bfloat162 h = __floats2bfloat162_rn(acc[q][4 * j + 2 * half] * row_weight[half],
                                                       acc[q][4 * j + 2 * half + 1] * row_weight[half]);
        return *reinterpret_cast<const uint32_t*>(&h);
      };
      const int m = lane >> 3;
      const uint32_t row = afg::smem_addr(my_rows + (16 * warp + 8 * (m & 1) + (lane & 7)) * S::kOutRowBytes) + 16 * (m >> 1);
#pragma unroll
      for (int q = 0; q < 2; ++q)
#pragma unroll
        for (int j = 0; j < 16; j += 2)
          afg::stmatrix_x4(row + 2 * (128 * q + 8 * j), packed(q, j, 0), packed(q, j, 1), packed(q, j + 1, 0), packed(q, j + 1, 1));
    } else {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int r = r_lo + 8 * half;
        const float w = row_weight[half];
        const uint32_t row = afg::smem_addr(my_rows + r * S::kOutRowBytes) + 4 * (lane & 3);
#pragma unroll
        for (int q = 0; q < 2; ++q)
#pragma unroll
          for (int j = 0; j < 16; ++j) {
            const __nv_bfloat162 h = __floats2bfloat162_rn(acc[q][4 * j + 2 * half] * w, acc[q][4 * j + 2 * half + 1] * w);
            asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(row + 2 * (128 * q + 8 * j)), "r"(*reinterpret_cast<const uint32_t*>(&h))
                         : "memory");
          }
      }
    }
    afg::fence_smem_for_bulk();
    asm volatile("bar.sync %0, 128;\n" ::"r"(1 + wg) : "memory");
    if (out_pair >= 0) {
      __nv_bfloat16* dst = out + static_cast<int64_t>(out_pair / kTopK) * kHidden + c.col * kBN;
      const uint32_t src = afg::smem_addr(my_rows + wtid * S::kOutRowBytes);
      bulk_row_out(dst, src, out_single);
    }
    ws_tile_mark(1, tile_n, 4);
  }
  if (wtid < 64) afg::bulk_wait_all();  // the output's writes done before the kernel ends
#endif
}

}  // namespace moe_wg
