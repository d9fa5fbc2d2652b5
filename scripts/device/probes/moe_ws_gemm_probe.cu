// moe_ws_gemm_probe.cu: would the MoE's large-T GEMM1 run faster as a warp-specialized kernel fed by
// TMA? Issue #6 asks 1.4x the compute floor at T >= 8192; the lockstep kernel (moe_wgmma.cuh) sits
// at ~2x, GEMM1 at ~38% of the fp8 peak. Its diagnostics split the loss (NOTES.md, sessions 17-21):
// without any tile load the K loop reaches ~54% (62% with constant scales), the tile loads by the
// MMA threads themselves (cp.async, gathered by pair) cost ~15-18%, each tile's epilogue and first
// stages ~12% (nothing loads while the MMA threads run the epilogue).
//
// This probe builds the other structure on a synthetic grouped problem, the shape of T=14107 (32
// local experts of ~441 rows, K = 7168, 4096 W1 rows per expert), with the activation rows already
// in expert order (what a permute step after routing would write; TMA boxes cannot gather rows):
//   - one producer thread (warpgroup 0, 40 registers) issues per K block one 128-row A box, four
//     64-row B boxes (the X1 and X2 halves of two 128-column passes) and one 512-byte bulk copy of
//     the A scales (stored K-block-major, [56][rows], so a tile's 128 are contiguous), all landing
//     on the stage's "full" mbarrier; it runs ahead across tiles, so the next tile's first stages
//     land while the MMA warpgroups run the epilogue;
//   - two MMA warpgroups (232 registers), rows [64w, 64w + 64) of a 128 x 256 tile, the lockstep
//     kernel's math unchanged: two passes of four wgmma m64n128k32 into a temporary, wait, fold
//     with the block's scales (two-level accumulation), one "empty" arrival per warp a stage;
//   - the SwiGLU epilogue writes C in fp8 with a scale per (row, 128 columns), the lockstep
//     kernel's format (scales here [16][rows], the layout a TMA-fed GEMM2 would read).
// It checks sampled C values against a CUDA-core reference and prints the median time of a launch
// after an L2 flush, TFLOP/s on the real rows and on the tiles' rows.
//   nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -I src/Kernels.Baseline/include \
//     -o moe_ws_probe scripts/device/probes/moe_ws_gemm_probe.cu && ./moe_ws_probe [ROWS_PER_EXPERT]
// (scripts/device/moe-ws-probe.sh runs it beside the baseline's GEMM1 on the T=14107 workload.)
#include <cuda.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "afg_mma.cuh"
#include "afg_bulk.cuh"
#include "afg_wgmma.cuh"
#include "afg_tma.cuh"
#include "probe_fill.h"

#define CHECK(x)                                                                      \
  do {                                                                                \
    cudaError_t e_ = (x);                                                             \
    if (e_ != cudaSuccess) {                                                          \
      std::printf("%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                   \
    }                                                                                 \
  } while (0)

// WS_TILE_N=128: tiles of 128 W1 rows (64 X1 + 64 X2, 64 C columns, C scales per 64 columns): one
// m64n128 pass per warpgroup and block, so the accumulator is 64 registers and a second temporary
// fits: block kb multiplies into one temporary while block kb - 1's (waited with wait_group 1) is
// folded from the other (the folds off the MMA chain). 6 stages of 32 KB.
#ifndef WS_TILE_N
#define WS_TILE_N 256
#endif
#ifndef WS_STAGES
#define WS_STAGES (WS_TILE_N == 128 ? 6 : 4)
#endif
// 1: SiLU through tanh.approx (one MUFU op); 0: x / (1 + expf(-x)) as the baseline writes it.
#ifndef WS_FAST_SILU
#define WS_FAST_SILU 1
#endif
// Diagnostics (timing only; the check then fails): WS_DIAG_NO_LOADS=1, the producer hands each
// stage over without copying anything (the MMAs read whatever the stage holds); WS_DIAG_NO_FOLD=1,
// the MMAs accumulate straight into the tile's accumulators (no temporary, no scales, no fold).
#ifndef WS_DIAG_NO_LOADS
#define WS_DIAG_NO_LOADS 0
#endif
#ifndef WS_DIAG_NO_FOLD
#define WS_DIAG_NO_FOLD 0
#endif
// WS_GATHER_A=1: the A rows are not in expert order; row r of the problem sits at physical row
// row_map[r] (a fixed permutation), and the producer warp gathers each stage's 128 rows as 128
// single-row TMA boxes (4 a lane) into the same swizzled tile (what the baseline's routing lists
// would need without a permute step). The check reads the rows through the same map.
// WS_GATHER_A=2: the same gather by the producer warpgroup's 128 threads with 16-byte cp.async
// (8 a thread a stage, into the swizzled layout) plus each row's A scale (4 bytes, from the
// K-block-major scales at the row's physical index); each thread waits for its copies two stages
// behind, fences them for the async proxy and arrives on the stage's "full" barrier (count 129: the
// B boxes' expect-tx arrival and 128 threads).
// WS_SCALES_LDG=1: the A scales token-major ([rows][56], as the baseline's routing writes them) and
// read by each MMA thread a block ahead (__ldg), instead of a bulk copy per stage.
#ifndef WS_GATHER_A
#define WS_GATHER_A 0
#endif
// WS_MATH=2: each MMA warpgroup's K block as four 64-column sub-passes (X1 / X2 of each 64-column
// half) of wgmma m64n64k32 with A from registers (ldmatrix from the swizzled tile, 16 registers a
// block) into two alternating 32-register temporaries, wait_group 1: a sub-pass's fold runs while
// the next one multiplies. (Session 7's n64 pipeline with A from shared memory measured slower: an
// n64 MMA reading A and B from shared memory needs ~the SM's whole shared-memory bandwidth.)
#ifndef WS_MATH
#define WS_MATH 1
#endif
#ifndef WS_SCALES_LDG
#define WS_SCALES_LDG 0
#endif

constexpr int kHidden = 7168, kInter = 2048, kGemm1Out = 2 * kInter, kQ = 128;
constexpr int kKBlocks = kHidden / kQ;            // 56
constexpr int kExperts = 32;
constexpr int kBM = 128;                          // rows of a tile (two warpgroups of 64)
constexpr int kTileN = WS_TILE_N;                 // W1 rows per tile: half X1, half X2
constexpr int kTileC = kTileN / 2;                // C columns per tile
static_assert(kTileN == 128 || kTileN == 256, "tiles of 128 or 256 W1 rows");
constexpr int kColTiles = kInter / kTileC;        // 16 (or 32) column tiles per expert
constexpr int kTileA = kBM * kQ;                  // 16 KB
constexpr int kTileB = kTileN * kQ;               // 32 KB (16)
constexpr int kStageBytes = kTileA + kTileB;
constexpr int kStages = WS_STAGES;
constexpr int kScaleBytes = kBM * 4;              // a stage's A scales
constexpr int kTxBytes = WS_GATHER_A == 2 ? kTileB : kStageBytes + (WS_SCALES_LDG ? 0 : kScaleBytes);
constexpr int kSmem = 1024 + kStages * (kStageBytes + kScaleBytes) + 2 * kStages * 8 + (kExperts + 1) * 4;
constexpr int kThreads = 384;
constexpr int kProducerRegs = WS_GATHER_A == 2 ? 56 : 40, kConsumerRegs = WS_GATHER_A == 2 ? 224 : 232;
constexpr int kGatherLag = 2;  // WS_GATHER_A=2: stages a producer thread keeps in flight before it arrives
static_assert(WS_GATHER_A != 2 || (WS_SCALES_LDG == 0 && kGatherLag < kStages), "the cp.async gather copies the scales itself");
static_assert(128 * kProducerRegs + 256 * kConsumerRegs <= 65536 - 1024, "register split");
static_assert(kSmem <= 227 * 1024, "shared memory");

__device__ __forceinline__ float silu_mul(float x1, float x2) {
#if WS_FAST_SILU
  // silu(x) = x sigmoid(x) = h + h tanh(h) with h = x / 2.
  const float h = 0.5f * x2;
  float t;
  asm("tanh.approx.f32 %0, %1;\n" : "=f"(t) : "f"(h));
  return fmaf(h, t, h) * x1;
#else
  return (x2 / (1.0f + expf(-x2))) * x1;
#endif
}

// D (64 x 64, fp32) (+)= A (64 x 32 e4m3, registers: warp w its rows 16w.., mma.sync m16n8k32's
// A-fragment layout) * B^T (64 x 32 e4m3, shared memory descriptor).
__device__ __forceinline__ void wgmma_m64n64k32_e4m3_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t b, int accumulate) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate));
#endif
}

__device__ __forceinline__ void cp_async4(void* smem, const void* gmem) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(afg::smem_addr(smem)), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// The tile walk: tiles ordered by expert, then column tile, then row tile (a column tile's row
// tiles run side by side, sharing their B blocks in L2). tiles_before[e] = tiles of experts < e.
struct TileCoord {
  int e, col, rt;
};
__device__ __forceinline__ TileCoord decode_tile(int t, const int* tiles_before, const int* counts) {
  int e = 0;
  while (e + 1 < kExperts && tiles_before[e + 1] <= t) ++e;
  const int local = t - tiles_before[e];
  const int row_tiles = (counts[e] + kBM - 1) / kBM;
  return TileCoord{e, local / row_tiles, local % row_tiles};
}

__global__ void __launch_bounds__(kThreads, 1)
    ws_gemm1_kernel(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_b,
                    const uint8_t* __restrict__ a, const float* __restrict__ a_scale, int rows_alloc, const float* __restrict__ w1_scale,
                    const int* __restrict__ counts, const int* __restrict__ offsets, const int* __restrict__ row_map,
                    uint8_t* __restrict__ c_out, float* __restrict__ c_scale) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ uint8_t smem_raw[];
  uint8_t* stages = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  float* scales = reinterpret_cast<float*>(stages + kStages * kStageBytes);  // [kStages][kBM]
  uint64_t* full = reinterpret_cast<uint64_t*>(scales + kStages * kBM);
  uint64_t* empty = full + kStages;
  int* tiles_before = reinterpret_cast<int*>(empty + kStages);

  if (threadIdx.x == 0) {
    int sum = 0;
    for (int e = 0; e < kExperts; ++e) {
      tiles_before[e] = sum;
      sum += kColTiles * ((counts[e] + kBM - 1) / kBM);
    }
    tiles_before[kExperts] = sum;
    for (int s = 0; s < kStages; ++s) {
      afg::mbar_init(&full[s], WS_GATHER_A == 2 ? 129 : 1);
      afg::mbar_init(&empty[s], 8);  // one arrival per MMA warp
    }
    afg::mbar_init_fence();
  }
  __syncthreads();
  const int total_tiles = tiles_before[kExperts];

  if (threadIdx.x < 128) {
    // Producer warpgroup: warp 0 issues every copy (lane 0 alone without the gather); the rest leave.
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kProducerRegs));
    if constexpr (WS_GATHER_A == 2) {
      // Thread p copies 16-byte chunk p % 8 of rows p / 8 + 16 j (j < 8) and row p's scale.
      const int p = threadIdx.x, chunk = p & 7;
      const auto arrive_landed = [&](int stage) {
        afg::fence_proxy_async();
        afg::mbar_arrive(&full[stage]);
      };
      int it = 0;
      for (int t = blockIdx.x; t < total_tiles; t += gridDim.x) {
        const TileCoord c = decode_tile(t, tiles_before, counts);
        const int row0 = offsets[c.e] + kBM * c.rt;
        const int brow0 = c.e * kGemm1Out + c.col * kTileC;
        const uint8_t* src[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) src[j] = a + static_cast<int64_t>(row_map[row0 + p / 8 + 16 * j]) * kHidden + 16 * chunk;
        const int scale_row = row_map[row0 + p];
        for (int kb = 0; kb < kKBlocks; ++kb, ++it) {
          const int s = it % kStages;
          afg::mbar_wait(&empty[s], ((it / kStages) & 1) ^ 1);
          uint8_t* a_dst = stages + s * kStageBytes;
          if (p == 0) {
            afg::mbar_arrive_expect_tx(&full[s], kTxBytes);
#pragma unroll
            for (int j = 0; j < kTileN / 64; ++j)
              afg::tma_load_2d(afg::smem_addr(a_dst + kTileA + j * 64 * kQ), &map_b, kb * kQ, brow0 + (j & 1) * kInter + 64 * (j >> 1),
                               afg::smem_addr(&full[s]));
          }
#pragma unroll
          for (int j = 0; j < 8; ++j) {
            const int r = p / 8 + 16 * j;
            afg::cp_async16(a_dst + r * kQ + 16 * (chunk ^ (r & 7)), src[j] + kb * kQ, 16);
          }
          cp_async4(scales + s * kBM + p, a_scale + static_cast<int64_t>(kb) * rows_alloc + scale_row);
          cp_async_commit();
          if (it >= kGatherLag) {
            cp_async_wait<kGatherLag>();
            arrive_landed((it - kGatherLag) % kStages);
          }
        }
      }
      cp_async_wait<0>();
      for (int back = kGatherLag; back >= 1; --back)
        if (it - back >= 0) arrive_landed((it - back) % kStages);
      return;
    }
    if (threadIdx.x >= (WS_GATHER_A ? 32 : 1)) return;
    const int lane = threadIdx.x;
    int it = 0;
    for (int t = blockIdx.x; t < total_tiles; t += gridDim.x) {
      const TileCoord c = decode_tile(t, tiles_before, counts);
      const int row0 = offsets[c.e] + kBM * c.rt;
      const int brow0 = c.e * kGemm1Out + c.col * kTileC;
      [[maybe_unused]] int phys[4];
      if constexpr (WS_GATHER_A != 0) {
#pragma unroll
        for (int j = 0; j < 4; ++j) phys[j] = row_map[row0 + lane + 32 * j];
      }
      for (int kb = 0; kb < kKBlocks; ++kb, ++it) {
        const int s = it % kStages;
        const uint32_t bar = afg::smem_addr(&full[s]);
        uint8_t* a_dst = stages + s * kStageBytes;
        if (lane == 0) {
          afg::mbar_wait(&empty[s], ((it / kStages) & 1) ^ 1);
          if constexpr (WS_DIAG_NO_LOADS != 0) {
            afg::mbar_arrive(&full[s]);
          } else {
            afg::mbar_arrive_expect_tx(&full[s], kTxBytes);
            if constexpr (WS_GATHER_A == 0) afg::tma_load_2d(afg::smem_addr(a_dst), &map_a, kb * kQ, row0, bar);
            // B box j: pass j / 2, X1 (j even) or X2 (j odd) rows of that pass's 64 columns.
#pragma unroll
            for (int j = 0; j < kTileN / 64; ++j)
              afg::tma_load_2d(afg::smem_addr(a_dst + kTileA + j * 64 * kQ), &map_b, kb * kQ,
                               brow0 + (j & 1) * kInter + 64 * (j >> 1), bar);
            if constexpr (WS_SCALES_LDG == 0)
              afg::bulk_copy_to_smem(scales + s * kBM, a_scale + static_cast<int64_t>(kb) * rows_alloc + row0, kScaleBytes, &full[s]);
          }
        }
        if constexpr (WS_GATHER_A != 0 && WS_DIAG_NO_LOADS == 0) {
          __syncwarp();
#pragma unroll
          for (int j = 0; j < 4; ++j) afg::tma_load_2d(afg::smem_addr(a_dst + (lane + 32 * j) * kQ), &map_a, kb * kQ, phys[j], bar);
        }
      }
    }
    return;
  }

  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegs));
  const int ctid = threadIdx.x - 128;
  const int wg = ctid >> 7, lane = ctid & 31, warp = (ctid >> 5) & 3;
  const int r_lo = 16 * warp + (lane >> 2);  // this thread's rows r_lo and r_lo + 8 of the warpgroup's 64
  int it = 0;
#if WS_TILE_N == 128
  for (int t = blockIdx.x; t < total_tiles; t += gridDim.x) {
    const TileCoord c = decode_tile(t, tiles_before, counts);
    const float* sb1_src = w1_scale + (static_cast<int64_t>(c.e) * (kGemm1Out / kQ) + c.col * kTileC / kQ) * kKBlocks;
    const float* sb2_src = sb1_src + (kInter / kQ) * kKBlocks;
    float acc[64], tmp0[64], tmp1[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) acc[i] = 0.f;
    float f_prev[4] = {0.f, 0.f, 0.f, 0.f};
    int s_prev = 0;
    const auto fold = [&](const float (&prev)[64]) {
#pragma unroll
      for (int i = 0; i < 64; ++i) acc[i] = fmaf(prev[i], f_prev[(i < 32 ? 0 : 2) + ((i & 2) ? 1 : 0)], acc[i]);
    };
    // Block kb into cur; then block kb - 1 (in prev) waited, its stage released and folded.
    const auto step = [&](int kb, float (&cur)[64], float (&prev)[64]) {
      const int s = it % kStages;
      const float sb1 = __ldg(sb1_src + kb), sb2 = __ldg(sb2_src + kb);
      afg::mbar_wait(&full[s], (it / kStages) & 1);
      const float* sa = scales + s * kBM + 64 * wg;
      const float sa_lo = sa[r_lo], sa_hi = sa[r_lo + 8];
      const uint32_t a_base = afg::smem_addr(stages + s * kStageBytes) + 64 * wg * kQ;
      const uint32_t b_base = afg::smem_addr(stages + s * kStageBytes + kTileA);
      afg::wgmma_fence();
#pragma unroll
      for (int k = 0; k < 4; ++k)
        afg::wgmma_m64n128k32_e4m3(cur, afg::desc_sw128(a_base + 32 * k), afg::desc_sw128(b_base + 32 * k), k > 0);
      afg::wgmma_commit();
      if (kb > 0) {
        afg::wgmma_wait<1>();
        afg::fence_fragment(prev);
        __syncwarp();
        if (lane == 0) afg::mbar_arrive(&empty[s_prev]);
        fold(prev);
      }
      f_prev[0] = sa_lo * sb1;
      f_prev[1] = sa_hi * sb1;
      f_prev[2] = sa_lo * sb2;
      f_prev[3] = sa_hi * sb2;
      s_prev = s;
      ++it;
    };
    static_assert(kKBlocks % 2 == 0, "blocks in pairs: the temporaries alternate");
    for (int kb = 0; kb < kKBlocks; kb += 2) {
      step(kb, tmp0, tmp1);
      step(kb + 1, tmp1, tmp0);
    }
    afg::wgmma_wait<0>();
    afg::fence_fragment(tmp1);
    __syncwarp();
    if (lane == 0) afg::mbar_arrive(&empty[s_prev]);
    fold(tmp1);
    // SwiGLU and fp8 C with a scale per (row, 64 columns).
    const int n_e = counts[c.e];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row_e = kBM * c.rt + 64 * wg + r_lo + 8 * half;
      float v[16];
      float amax = 0.f;
#pragma unroll
      for (int q = 0; q < 8; ++q)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          v[2 * q + e] = silu_mul(acc[4 * q + 2 * half + e], acc[32 + 4 * q + 2 * half + e]);
          amax = fmaxf(amax, fabsf(v[2 * q + e]));
        }
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
      if (row_e >= n_e) continue;
      const int64_t row = offsets[c.e] + row_e;
      const float inv = amax > 0.f ? 448.f / amax : 0.f;
      uint8_t* dst = c_out + row * kInter + c.col * kTileC + 2 * (lane & 3);
#pragma unroll
      for (int q = 0; q < 8; ++q)
        *reinterpret_cast<__nv_fp8x2_storage_t*>(dst + 8 * q) =
            __nv_cvt_float2_to_fp8x2(make_float2(v[2 * q] * inv, v[2 * q + 1] * inv), __NV_SATFINITE, __NV_E4M3);
      if ((lane & 3) == 0) c_scale[static_cast<int64_t>(c.col) * rows_alloc + row] = amax * (1.f / 448.f);
    }
  }
#else
  for (int t = blockIdx.x; t < total_tiles; t += gridDim.x) {
    const TileCoord c = decode_tile(t, tiles_before, counts);
    const float* sb1_src = w1_scale + (static_cast<int64_t>(c.e) * (kGemm1Out / kQ) + c.col) * kKBlocks;
    const float* sb2_src = sb1_src + (kInter / kQ) * kKBlocks;
    float acc[2][64];
#pragma unroll
    for (int p = 0; p < 2; ++p)
#pragma unroll
      for (int i = 0; i < 64; ++i) acc[p][i] = 0.f;
    float sb1_next = __ldg(sb1_src), sb2_next = __ldg(sb2_src);
    // WS_SCALES_LDG: this thread's two rows' token-major scales, a block ahead.
    [[maybe_unused]] const float* sa_lo_src = a_scale + static_cast<int64_t>(row_map[offsets[c.e] + kBM * c.rt + 64 * wg + r_lo]) * kKBlocks;
    [[maybe_unused]] const float* sa_hi_src = a_scale + static_cast<int64_t>(row_map[offsets[c.e] + kBM * c.rt + 64 * wg + r_lo + 8]) * kKBlocks;
    [[maybe_unused]] float sa_lo_next = 0.f, sa_hi_next = 0.f;
    if constexpr (WS_SCALES_LDG != 0) {
      sa_lo_next = __ldg(sa_lo_src);
      sa_hi_next = __ldg(sa_hi_src);
    }
    for (int kb = 0; kb < kKBlocks; ++kb, ++it) {
      const int s = it % kStages;
      const float sb1 = sb1_next, sb2 = sb2_next;
      if (kb + 1 < kKBlocks) {
        sb1_next = __ldg(sb1_src + kb + 1);
        sb2_next = __ldg(sb2_src + kb + 1);
      }
      float sa_lo, sa_hi;
      if constexpr (WS_SCALES_LDG != 0) {
        sa_lo = sa_lo_next;
        sa_hi = sa_hi_next;
        if (kb + 1 < kKBlocks) {
          sa_lo_next = __ldg(sa_lo_src + kb + 1);
          sa_hi_next = __ldg(sa_hi_src + kb + 1);
        }
      }
      afg::mbar_wait(&full[s], (it / kStages) & 1);
      if constexpr (WS_SCALES_LDG == 0) {
        const float* sa = scales + s * kBM + 64 * wg;
        sa_lo = sa[r_lo];
        sa_hi = sa[r_lo + 8];
      }
      const float f[4] = {sa_lo * sb1, sa_hi * sb1, sa_lo * sb2, sa_hi * sb2};
      const uint32_t a_base = afg::smem_addr(stages + s * kStageBytes) + 64 * wg * kQ;
      const uint32_t b_base = afg::smem_addr(stages + s * kStageBytes + kTileA);
      if constexpr (WS_DIAG_NO_FOLD != 0) {
        afg::wgmma_fence();
#pragma unroll
        for (int p = 0; p < 2; ++p)
#pragma unroll
          for (int k = 0; k < 4; ++k)
            afg::wgmma_m64n128k32_e4m3(acc[p], afg::desc_sw128(a_base + 32 * k), afg::desc_sw128(b_base + p * 128 * kQ + 32 * k), 1);
        afg::wgmma_commit();
        afg::wgmma_wait<0>();
        afg::fence_fragment(acc[0]);
        afg::fence_fragment(acc[1]);
        __syncwarp();
        if (lane == 0) afg::mbar_arrive(&empty[s]);
        if (f[0] == 12345.f) acc[0][0] += 1.f;  // keeps the scale reads
        continue;
      }
      if constexpr (WS_MATH == 2) {
        // A fragments of the block: k32 step j, this warp's 16 rows (ldmatrix x4: matrices rows 0-7 /
        // 8-15 x bytes 0-15 / 16-31 of the step, lane l addressing row (l & 7) + 8 ((l >> 3) & 1) of
        // chunk 2j + (l >> 4), swizzled).
        uint32_t afrag[4][4];
        const int lrow = 16 * warp + (lane & 7) + 8 * ((lane >> 3) & 1);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int chunk = 2 * j + (lane >> 4);
          afg::ldmatrix_x4(afrag[j], stages + s * kStageBytes + 64 * wg * kQ + lrow * kQ + ((chunk ^ (lrow & 7)) << 4));
        }
        float tmp[2][32];
        const auto issue = [&](int u) {
          afg::wgmma_fence();
#pragma unroll
          for (int k = 0; k < 4; ++k)
            wgmma_m64n64k32_e4m3_rs(tmp[u & 1], afrag[k], afg::desc_sw128(b_base + u * 64 * kQ + 32 * k), k > 0);
          afg::wgmma_commit();
        };
        // Sub-pass u: B rows 64u.. = X1 (u even) or X2 (u odd) of columns 64 (u / 2)..; into acc[u / 2][32 (u % 2) + i].
        const auto fold = [&](int u) {
          afg::fence_fragment(tmp[u & 1]);
#pragma unroll
          for (int i = 0; i < 32; ++i)
            acc[u >> 1][32 * (u & 1) + i] = fmaf(tmp[u & 1][i], f[2 * (u & 1) + ((i & 2) ? 1 : 0)], acc[u >> 1][32 * (u & 1) + i]);
        };
        issue(0);
        issue(1);
        afg::wgmma_wait<1>();
        fold(0);
        issue(2);
        afg::wgmma_wait<1>();
        fold(1);
        issue(3);
        afg::wgmma_wait<1>();
        fold(2);
        afg::wgmma_wait<0>();
        __syncwarp();
        if (lane == 0) afg::mbar_arrive(&empty[s]);
        fold(3);
        continue;
      }
#pragma unroll
      for (int p = 0; p < 2; ++p) {
        float tmp[64];
        afg::wgmma_fence();
#pragma unroll
        for (int k = 0; k < 4; ++k)
          afg::wgmma_m64n128k32_e4m3(tmp, afg::desc_sw128(a_base + 32 * k), afg::desc_sw128(b_base + p * 128 * kQ + 32 * k), k > 0);
        afg::wgmma_commit();
        afg::wgmma_wait<0>();
        afg::fence_fragment(tmp);
        if (p == 1) {
          __syncwarp();
          if (lane == 0) afg::mbar_arrive(&empty[s]);
        }
        // Fragment i: columns 0-63 (X1) for i < 32, 64-127 (X2) after; row lo for i % 4 < 2.
#pragma unroll
        for (int i = 0; i < 64; ++i) acc[p][i] = fmaf(tmp[i], f[(i < 32 ? 0 : 2) + ((i & 2) ? 1 : 0)], acc[p][i]);
      }
    }
    // SwiGLU and fp8 C with a scale per (row, 128 columns).
    const int n_e = counts[c.e];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row_e = kBM * c.rt + 64 * wg + r_lo + 8 * half;
      float v[2][16];
      float amax = 0.f;
#pragma unroll
      for (int p = 0; p < 2; ++p)
#pragma unroll
        for (int q = 0; q < 8; ++q)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            v[p][2 * q + e] = silu_mul(acc[p][4 * q + 2 * half + e], acc[p][32 + 4 * q + 2 * half + e]);
            amax = fmaxf(amax, fabsf(v[p][2 * q + e]));
          }
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
      if (row_e >= n_e) continue;
      const int64_t row = offsets[c.e] + row_e;
      const float inv = amax > 0.f ? 448.f / amax : 0.f;
#pragma unroll
      for (int p = 0; p < 2; ++p) {
        uint8_t* dst = c_out + row * kInter + c.col * 128 + 64 * p + 2 * (lane & 3);
#pragma unroll
        for (int q = 0; q < 8; ++q)
          *reinterpret_cast<__nv_fp8x2_storage_t*>(dst + 8 * q) =
              __nv_cvt_float2_to_fp8x2(make_float2(v[p][2 * q] * inv, v[p][2 * q + 1] * inv), __NV_SATFINITE, __NV_E4M3);
      }
      if ((lane & 3) == 0) c_scale[static_cast<int64_t>(c.col) * rows_alloc + row] = amax * (1.f / 448.f);
    }
  }
#endif  // WS_TILE_N
#endif
}

// ---- inputs and the reference ------------------------------------------------------------------
using moe_probe::fill_f32;
using moe_probe::fill_fp8;
using moe_probe::mix;
__device__ __forceinline__ float fp8_value(uint8_t b) {
  __nv_fp8_e4m3 x;
  x.__x = b;
  return static_cast<float>(x);
}
// One warp per sample: C[row][col] from the fp8 inputs in fp32 (exact SiLU), against the kernel's
// fp8 C times its scale. bad[0] counts samples outside 0.07 |ref| + scale / 4: fp8 e4m3 rounding is
// half an ulp, 1/16 of a normal value; the absolute term (1/4 of an fp8 unit, amax / 1792) covers
// the tensor cores' reduced-precision accumulation inside a 128-K block, which shows on values that
// cancel to far below the row's amax (first run: 4 of 4096 samples at 0.025-0.049 units).
__global__ void check_kernel(const uint8_t* a, const float* a_scale, int rows_alloc, const uint8_t* w1, const float* w1_scale,
                             const int* counts, const int* offsets, const int* row_map, const uint8_t* c_out, const float* c_scale,
                             int samples, int* bad, float* worst) {
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
  if (warp >= samples) return;
  const uint32_t h = mix(0x5eedull + warp);
  const int e = h % kExperts;
  const int row_e = (h >> 8) % counts[e], col = mix(h) % kInter;
  const int64_t row = offsets[e] + row_e;
  const int64_t phys = WS_GATHER_A ? row_map[row] : row;  // where the row's fp8 values are
  float x[2];
  for (int part = 0; part < 2; ++part) {
    const int64_t wrow = static_cast<int64_t>(e) * kGemm1Out + part * kInter + col;
    float total = 0.f;
    for (int kb = 0; kb < kKBlocks; ++kb) {
      float dot = 0.f;
      for (int k = lane; k < kQ; k += 32) dot += fp8_value(a[phys * kHidden + kb * kQ + k]) * fp8_value(w1[wrow * kHidden + kb * kQ + k]);
      for (int o = 16; o; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
      const float sa = WS_SCALES_LDG ? a_scale[static_cast<int64_t>(row_map[row]) * kKBlocks + kb]
                                     : a_scale[static_cast<int64_t>(kb) * rows_alloc + (WS_GATHER_A == 2 ? row_map[row] : row)];
      total += dot * sa *
               w1_scale[(static_cast<int64_t>(e) * (kGemm1Out / kQ) + part * (kInter / kQ) + col / kQ) * kKBlocks + kb];
    }
    x[part] = total;
  }
  if (lane != 0) return;
  const float ref = (x[1] / (1.0f + expf(-x[1]))) * x[0];
  const float scale = c_scale[static_cast<int64_t>(col / kTileC) * rows_alloc + row];
  const float got = fp8_value(c_out[row * kInter + col]) * scale;
  const float err = fabsf(got - ref), tol = 0.07f * fabsf(ref) + scale / 4.f;
  if (!(err <= tol)) {
    if (atomicAdd(bad, 1) < 5) printf("mismatch e %d row %d col %d: got %g ref %g (scale %g)\n", e, row_e, col, got, ref, scale);
  }
  atomicMax(reinterpret_cast<int*>(worst), __float_as_int(err / (fabsf(ref) + scale)));
}

int main(int argc, char** argv) {
  const int mean_rows = argc > 1 ? std::atoi(argv[1]) : 441;  // T=14107: ~14107 local pairs over 32 experts
  int device = 0, sms = 0;
  CHECK(cudaGetDevice(&device));
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, device));

  // Rows per expert: the mean +- up to 15%, deterministic; segments start 128-row aligned.
  std::vector<int> counts(kExperts), offsets(kExperts);
  int rows_alloc = 0, rows_valid = 0, tile_rows = 0;
  for (int e = 0; e < kExperts; ++e) {
    counts[e] = std::max(1, mean_rows + static_cast<int>(((e * 2654435761u) >> 7) % (mean_rows * 30 / 100 + 1)) - mean_rows * 15 / 100);
    offsets[e] = rows_alloc;
    rows_alloc += (counts[e] + kBM - 1) / kBM * kBM;
    rows_valid += counts[e];
  }
  tile_rows = rows_alloc;
  const size_t a_bytes = static_cast<size_t>(rows_alloc) * kHidden;
  const size_t w1_bytes = static_cast<size_t>(kExperts) * kGemm1Out * kHidden;
  uint8_t *a = nullptr, *w1 = nullptr, *c_out = nullptr, *flush = nullptr;
  float *a_scale = nullptr, *w1_scale = nullptr, *c_scale = nullptr, *worst = nullptr;
  int *d_counts = nullptr, *d_offsets = nullptr, *bad = nullptr;
  const size_t flush_bytes = 256u << 20;
  CHECK(cudaMalloc(&a, a_bytes));
  CHECK(cudaMalloc(&w1, w1_bytes));
  CHECK(cudaMalloc(&c_out, static_cast<size_t>(rows_alloc) * kInter));
  CHECK(cudaMalloc(&flush, flush_bytes));
  CHECK(cudaMalloc(&a_scale, static_cast<size_t>(kKBlocks) * rows_alloc * 4));
  CHECK(cudaMalloc(&w1_scale, static_cast<size_t>(kExperts) * (kGemm1Out / kQ) * kKBlocks * 4));
  CHECK(cudaMalloc(&c_scale, static_cast<size_t>(kColTiles) * rows_alloc * 4));
  CHECK(cudaMalloc(&d_counts, kExperts * 4));
  CHECK(cudaMalloc(&d_offsets, kExperts * 4));
  CHECK(cudaMalloc(&bad, 4));
  CHECK(cudaMalloc(&worst, 4));
  fill_fp8<<<1024, 256>>>(a, a_bytes, 1);
  fill_fp8<<<1024, 256>>>(w1, w1_bytes, 2);
  fill_f32<<<256, 256>>>(a_scale, static_cast<size_t>(kKBlocks) * rows_alloc, 3, 0.02f, 0.08f);
  fill_f32<<<256, 256>>>(w1_scale, static_cast<size_t>(kExperts) * (kGemm1Out / kQ) * kKBlocks, 4, 0.02f, 0.08f);
  CHECK(cudaMemcpy(d_counts, counts.data(), kExperts * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_offsets, offsets.data(), kExperts * 4, cudaMemcpyHostToDevice));
  // The gather's permutation (identity without it, so WS_SCALES_LDG alone reads rows in place).
  std::vector<int> row_map(rows_alloc);
  for (int r = 0; r < rows_alloc; ++r)
    row_map[r] = WS_GATHER_A ? static_cast<int>((static_cast<int64_t>(r) * 7919) % rows_alloc) : r;
  if (WS_GATHER_A && rows_alloc % 7919 == 0) { std::printf("rows_alloc shares a factor with the permutation\n"); return 1; }
  int* d_row_map = nullptr;
  CHECK(cudaMalloc(&d_row_map, static_cast<size_t>(rows_alloc) * 4));
  CHECK(cudaMemcpy(d_row_map, row_map.data(), static_cast<size_t>(rows_alloc) * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemset(c_out, 0, static_cast<size_t>(rows_alloc) * kInter));
  CHECK(cudaMemset(c_scale, 0, static_cast<size_t>(kColTiles) * rows_alloc * 4));
  CHECK(cudaDeviceSynchronize());

  CUtensorMap map_a{}, map_b{};
  if (!afg::encode_tma_2d_u8(&map_a, a, rows_alloc, kHidden, WS_GATHER_A ? 1 : kBM, kQ) ||
      !afg::encode_tma_2d_u8(&map_b, w1, static_cast<uint64_t>(kExperts) * kGemm1Out, kHidden, 64, kQ)) {
    std::printf("cuTensorMapEncodeTiled failed\n");
    return 1;
  }
  CHECK(cudaFuncSetAttribute(ws_gemm1_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
  const auto launch = [&] {
    ws_gemm1_kernel<<<sms, kThreads, kSmem>>>(map_a, map_b, a, a_scale, rows_alloc, w1_scale, d_counts, d_offsets, d_row_map, c_out, c_scale);
  };
  launch();
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());

  const int samples = 4096;
  CHECK(cudaMemset(bad, 0, 4));
  CHECK(cudaMemset(worst, 0, 4));
  check_kernel<<<samples / 8, 256>>>(a, a_scale, rows_alloc, w1, w1_scale, d_counts, d_offsets, d_row_map, c_out, c_scale, samples,
                                     bad, worst);
  CHECK(cudaDeviceSynchronize());
  int h_bad = 0;
  float h_worst = 0.f;
  CHECK(cudaMemcpy(&h_bad, bad, 4, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(&h_worst, worst, 4, cudaMemcpyDeviceToHost));

  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  std::vector<float> times;
  for (int r = 0; r < 7; ++r) {
    CHECK(cudaMemsetAsync(flush, r, flush_bytes));
    CHECK(cudaEventRecord(start));
    launch();
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0.f;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms * 1000.f);
  }
  CHECK(cudaGetLastError());
  std::sort(times.begin(), times.end());
  const double us = times[times.size() / 2];
  const double flop_valid = 2.0 * rows_valid * kGemm1Out * kHidden, flop_tiles = 2.0 * tile_rows * kGemm1Out * kHidden;
  int tiles = 0;
  for (int e = 0; e < kExperts; ++e) tiles += kColTiles * ((counts[e] + kBM - 1) / kBM);
  std::printf("card %s, %d SMs, tile N %d, stages %d, fast silu %d, diag no-loads %d no-fold %d, gather A %d, scales by ldg %d, math %d\n",
              prop.name, sms, kTileN, kStages, WS_FAST_SILU, WS_DIAG_NO_LOADS, WS_DIAG_NO_FOLD, WS_GATHER_A, WS_SCALES_LDG, WS_MATH);
  std::printf("tiles %d: %.2f per CTA on average, %d on the busiest (the last wave's share of idle: %.1f%%)\n", tiles,
              static_cast<double>(tiles) / sms, (tiles + sms - 1) / sms, 100.0 * (1.0 - static_cast<double>(tiles) / sms / ((tiles + sms - 1) / sms)));
  std::printf("rows %d (tiles' rows %d), C check: %d of %d samples outside tolerance, worst err/(|ref|+scale) %.4f -> %s\n",
              rows_valid, tile_rows, h_bad, samples, h_worst, h_bad == 0 ? "PASS" : "FAIL");
  std::printf("ws_gemm1: median %.1f us (min %.1f, max %.1f) over %zu launches; %.0f TFLOP/s on the real rows, %.0f on the tiles' rows\n",
              us, times.front(), times.back(), times.size(), flop_valid / us * 1e-6, flop_tiles / us * 1e-6);
  return h_bad == 0 ? 0 : 2;
}
