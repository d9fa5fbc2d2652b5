// moe_wgmma.cuh: the large-T grouped GEMMs on warpgroup MMA (wgmma, sm_90a only; included by
// kernel.cu when MOE_GEMM_IMPL == 1). Selected above MOE_MID_TILE_MAX_T tokens by MOE_WGMMA when
// the library was built for sm_90a (built_with_wgmma() asks without a launch); a plain sm_90 build
// compiles these kernels empty and keeps the mma.sync kernels of moe_tc.cuh.
//
// Both GEMMs are fp8 x fp8 with fp32 accumulation: wgmma m64n128k32 e4m3, both operands K-major
// in shared memory with the 128-byte swizzle, so one 128-K scale block of a row is one 128-byte
// swizzle row and a stage is a 128-row A tile plus a 128-row B tile (32 KB), filled by cp.async
// (A rows are gathered by pair: no TMA box describes them). Two-level accumulation as DeepGEMM
// does: each scale block's product lands in a fresh fp32 accumulator, which is then scaled and
// added into the tile's accumulator.
//   CTA: 256 threads = 2 warpgroups, warpgroup w owns tile rows [64w, 64w + 64), both share the
//   B tile. Grid: (column tiles, ceil(T / 128) row tiles, 32 experts); a row tile past its
//   expert's count returns at once.
//   GEMM1 (gemm1_wgmma_kernel): B rows = 64 X1 rows + the matching 64 X2 rows of W1, so one
//   thread holds X1 and X2 of the same column and SwiGLU is done in registers. C goes out in bf16
//   (MOE_WGMMA=1, for the mma.sync GEMM2) or in fp8 with a scale per (pair, 64 columns)
//   (MOE_WGMMA=2, for gemm2_wgmma_kernel).
//   GEMM2 (gemm2_wgmma_kernel): A = C in fp8, B = 128 W2 rows (one scale block); the A scales
//   change every 64 K, so each 128-K block folds twice. The routing weight is applied and the
//   sums are added into the fp32 accumulator with float2 atomics.
#pragma once

namespace moe_wg {

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MOE_WG_DEVICE 1
#else
#define MOE_WG_DEVICE 0
#endif

// MOE_WGMMA_WS=1: a third warpgroup only loads (warp specialization; stages handed over through
// mbarriers, so the two MMA warpgroups never wait for each other); 0: the two MMA warpgroups also
// load, in lockstep (one block barrier per K block).
constexpr bool kWarpSpecialized = MOE_WGMMA_WS == 1;
constexpr int kConsumers = 256;                  // the two MMA warpgroups
constexpr int kProducers = kWarpSpecialized ? 128 : 0;
constexpr int kThreads = kConsumers + kProducers;
constexpr int kLoaders = kWarpSpecialized ? kProducers : kConsumers;
constexpr int kLoadRows = 128 * 8 / kLoaders;  // rows of A (and of B) per loading thread: 4 or 8
constexpr int kProducerRegs = 56, kConsumerRegs = 224;  // setmaxnreg split of the 64K registers (WS)
constexpr int kBM = 128;                         // pairs per tile, 64 per warpgroup
constexpr int kBN = 128;                         // B rows per tile
constexpr int kRowBytes = kQBlock;               // fp8 bytes of one row per K block
constexpr int kTileBytes = kBM * kRowBytes;      // 16 KB (A); B the same
constexpr int kStages = MOE_WGMMA_STAGES;
constexpr int kStageBytes = 2 * kTileBytes;
constexpr int kSmem = kStages * kStageBytes + 1024;  // + room to align the first stage to 1024 B
constexpr int kCScaleCols = 64;                  // C columns per fp8 scale (GEMM1's tile width)
constexpr int kCScales = kInter / kCScaleCols;   // 32 scales per pair
static_assert(kBN == 128 && kBM == 128 && kLoaders * kLoadRows == 128 * 8, "8 chunks per row, kLoadRows rows per loader");
static_assert(kStages >= 2 && kStages <= 6, "stages out of range");

// Whether the device code of this library was built for sm_90a: the probe keeps a 256-byte local
// array only in that build, so its attributes answer on the host without a launch or a sync.
__global__ void wgmma_build_probe_kernel(int i, int* out) {
#if MOE_WG_DEVICE
  volatile int marker[64];
  marker[i & 63] = i;
  out[0] = marker[(i * 7) & 63];
#else
  if (out != nullptr) out[0] = i;
#endif
}
inline bool built_with_wgmma() {
  static int known = -1;
  if (known < 0) {
    cudaFuncAttributes attributes{};
    known = cudaFuncGetAttributes(&attributes, wgmma_build_probe_kernel) == cudaSuccess &&
            attributes.localSizeBytes >= 256;
  }
  return known == 1;
}

#if MOE_WG_DEVICE
// Shared-memory matrix descriptor of a K-major tile with the 128-byte swizzle: rows of 128 bytes,
// 8-row atoms 1024 bytes apart (stride byte offset); the leading byte offset is unused for this
// layout. The tile must start 1024-byte aligned; a K step inside the row adds its byte offset.
__device__ __forceinline__ uint64_t desc_sw128(uint32_t addr) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(1) << 16) |
         (static_cast<uint64_t>(1024 >> 4) << 32) | (static_cast<uint64_t>(1) << 62);
}

// D (64 x 128, fp32, the m64nN accumulator layout) = A (64 x 32 e4m3) * B^T (128 x 32 e4m3) (+ D).
__device__ __forceinline__ void wgmma_m64n128k32_e4m3(float (&d)[64], uint64_t a, uint64_t b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(a), "l"(b), "r"(accumulate));
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
// Keeps the compiler from touching accumulator registers across the asynchronous MMA.
__device__ __forceinline__ void fence_fragment(float (&d)[64]) {
#pragma unroll
  for (int i = 0; i < 64; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
// cp.async writes are generic-proxy writes; wgmma reads shared memory through the async proxy.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src) : "memory");
}

// A loading thread's share of every stage: 16-byte chunk (lt & 7) of tile rows (lt >> 3) + step i
// of A and of B (lt: its index among the loaders); its swizzled offset is the same for all of them
// (the step, 128 / kLoadRows, is a multiple of 8 and keeps row & 7).
struct StageLoader {
  static constexpr int kStep = 128 / kLoadRows;
  const uint8_t* a[kLoadRows];
  const uint8_t* b[kLoadRows];
  uint32_t offset;
  template <typename ARow, typename BRow>
  __device__ __forceinline__ StageLoader(int lt, ARow&& a_row, BRow&& b_row) {
    const int row0 = lt >> 3, chunk = lt & 7;
    offset = static_cast<uint32_t>(row0 * kRowBytes + ((chunk ^ (row0 & 7)) << 4));
#pragma unroll
    for (int i = 0; i < kLoadRows; ++i) {
      a[i] = a_row(row0 + kStep * i) + chunk * 16;
      b[i] = b_row(row0 + kStep * i) + chunk * 16;
    }
  }
  __device__ __forceinline__ void load(uint32_t stage, int kb) const {
#pragma unroll
    for (int i = 0; i < kLoadRows; ++i) cp_async16(stage + offset + i * kStep * kRowBytes, a[i] + kb * kRowBytes);
#pragma unroll
    for (int i = 0; i < kLoadRows; ++i) cp_async16(stage + kTileBytes + offset + i * kStep * kRowBytes, b[i] + kb * kRowBytes);
  }
};

__device__ __forceinline__ void mbar_init(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, int parity) {
  uint32_t done = 0;
  do {
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done) : "r"(bar), "r"(parity) : "memory");
  } while (!done);
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Arrives on bar once every cp.async this thread issued so far has landed (counted in the init).
__device__ __forceinline__ void mbar_arrive_on_cp_async(uint32_t bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}

// The scales one K block needs in a thread (its two rows' activation scales, the weight scales),
// read before the block's MMAs are issued so that their latency hides behind the tensor cores.
struct BlockScales {
  float v[6];
};

// Four k32 MMAs of one K block on warpgroup wg's 64 A rows, in kFolds groups, each into a fresh
// fp32 accumulator that fold(acc, tmp, scales, f) scales into acc; released() runs once the last
// group has finished reading the stage.
template <int kFolds, typename Fold, typename Released>
__device__ __forceinline__ void block_mma(uint32_t stage, int wg, float (&acc)[64], float (&tmp)[64], const BlockScales& scales,
                                          Fold&& fold, Released&& released) {
  static_assert(4 % kFolds == 0, "k32 steps per fold");
  const uint32_t a_tile = stage + wg * 64 * kRowBytes, b_tile = stage + kTileBytes;
#pragma unroll
  for (int f = 0; f < kFolds; ++f) {
    wgmma_fence();
#pragma unroll
    for (int k = 0; k < 4 / kFolds; ++k) {
      const uint32_t byte = (f * (4 / kFolds) + k) * 32;
      wgmma_m64n128k32_e4m3(tmp, desc_sw128(a_tile + byte), desc_sw128(b_tile + byte), k);
    }
    wgmma_commit();
    wgmma_wait_all();
    fence_fragment(tmp);
    if (f == kFolds - 1) released();
    fold(acc, tmp, scales, f);
  }
}

// The K loop of one tile: kKBlocks blocks of 128 through kStages stages filled by cp.async.
// fetch(kb) reads a block's scales before its MMAs are issued, so that their latency hides behind
// the tensor cores. Returns false in the loading-only threads (nothing to store).
//   Lockstep (MOE_WGMMA_WS=0): all 256 threads load and multiply; one barrier per block: the stage
//   refilled in iteration kb was read in iteration kb - 1, whose MMAs every warpgroup waited for.
//   Warp-specialized (1): warpgroup 0 loads (its cp.async completions arrive on the stage's "full"
//   mbarrier), warpgroups 1 and 2 multiply and arrive on its "empty" mbarrier once their MMAs have
//   read it; the loader waits for "empty" before refilling, up to kStages - 1 blocks ahead.
template <int kKBlocks, int kFolds, typename ARow, typename BRow, typename Fetch, typename Fold>
__device__ __forceinline__ bool tile_k_loop(uint32_t smem, uint64_t* bars, ARow&& a_row, BRow&& b_row, float (&acc)[64],
                                            Fetch&& fetch, Fold&& fold) {
  const int tid = threadIdx.x;
  float tmp[64];
  if constexpr (!kWarpSpecialized) {
    const StageLoader loader(tid, a_row, b_row);
    const int wg = tid >> 7;
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
      if (s < kKBlocks) loader.load(smem + s * kStageBytes, s);
      asm volatile("cp.async.commit_group;\n" ::: "memory");
    }
#pragma unroll 1
    for (int kb = 0; kb < kKBlocks; ++kb) {
      asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 2) : "memory");
      fence_proxy_async();
      __syncthreads();
      const int next = kb + kStages - 1;
      if (next < kKBlocks) loader.load(smem + (next % kStages) * kStageBytes, next);
      asm volatile("cp.async.commit_group;\n" ::: "memory");
      const BlockScales scales = fetch(kb);
      block_mma<kFolds>(smem + (kb % kStages) * kStageBytes, wg, acc, tmp, scales, fold, [] {});
    }
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
    return true;
  } else {
    const uint32_t full = moe_tc::smem_addr(bars), empty = full + 8 * kStages;
    if (tid < kProducers) {
      asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kProducerRegs));
      const StageLoader loader(tid, a_row, b_row);
#pragma unroll 1
      for (int kb = 0; kb < kKBlocks; ++kb) {
        const int s = kb % kStages;
        if (kb >= kStages) mbar_wait(empty + 8 * s, (kb / kStages - 1) & 1);
        loader.load(smem + s * kStageBytes, kb);
        mbar_arrive_on_cp_async(full + 8 * s);
      }
      asm volatile("cp.async.wait_all;\n" ::: "memory");
      return false;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegs));
    const int wg = (tid - kProducers) >> 7;
#pragma unroll 1
    for (int kb = 0; kb < kKBlocks; ++kb) {
      const int s = kb % kStages;
      const BlockScales scales = fetch(kb);
      mbar_wait(full + 8 * s, (kb / kStages) & 1);
      fence_proxy_async();
      block_mma<kFolds>(smem + s * kStageBytes, wg, acc, tmp, scales, fold, [&] { mbar_arrive(empty + 8 * s); });
    }
    return true;
  }
}

// Before the K loop: the stages' mbarriers (warp-specialized mode), then a block barrier.
__device__ __forceinline__ void init_stage_barriers(uint64_t* bars) {
  if (kWarpSpecialized && threadIdx.x == 0) {
    const uint32_t full = moe_tc::smem_addr(bars), empty = full + 8 * kStages;
    for (int s = 0; s < kStages; ++s) {
      mbar_init(full + 8 * s, kProducers);  // one cp.async arrival per loading thread
      mbar_init(empty + 8 * s, kConsumers);
    }
  }
  __syncthreads();
}

// The 1024-byte aligned start of the dynamic shared memory (the stages).
__device__ __forceinline__ uint32_t aligned_stages(uint8_t* dynamic_smem) {
  return (moe_tc::smem_addr(dynamic_smem) + 1023u) & ~1023u;
}
#endif  // MOE_WG_DEVICE

// ------------------------------------------------------------------------------------------------
// GEMM1 + SwiGLU. blockIdx.x: 64 C columns n0 (W1 rows n0.. and kInter + n0..), y: 128-pair row
// tile of expert blockIdx.z. kFp8C: C in fp8 with a scale per (pair, 64 columns) into c_scale.
template <bool kFp8C>
__global__ void __launch_bounds__(kThreads, 1)
gemm1_wgmma_kernel(const uint8_t* __restrict__ hidden, const float* __restrict__ hidden_scale,
                   const uint8_t* __restrict__ w1, const float* __restrict__ w1_scale,
                   const int* __restrict__ counts, const int* __restrict__ lists, int T,
                   void* __restrict__ c_out, float* __restrict__ c_scale) {
#if MOE_WG_DEVICE
  pdl_wait_then_allow();
  extern __shared__ uint8_t dynamic_smem[];
  __shared__ int s_pair[kBM];
  __shared__ uint64_t s_bars[2 * kStages];  // full[kStages], empty[kStages] (warp-specialized)
  const int le = blockIdx.z, m0 = blockIdx.y * kBM, n0 = blockIdx.x * 64;
  const int cnt = counts[le];
  if (m0 >= cnt) return;  // block-uniform
  const int tid = threadIdx.x;
  moe_tc::load_tile_pairs<kBM>(s_pair, lists, le, m0, cnt, T, tid);
  init_stage_barriers(s_bars);

  // Rows past the expert's count read token 0 (finite data) and are never stored.
  const auto a_row = [&](int row) {
    const int pair = s_pair[row];
    return hidden + static_cast<int64_t>(pair >= 0 ? pair / kTopK : 0) * kHidden;
  };
  const auto b_row = [&](int row) {
    const int w_row = row < 64 ? n0 + row : kInter + n0 + (row - 64);
    return w1 + (static_cast<int64_t>(le) * kGemm1Out + w_row) * kHidden;
  };

  // This MMA thread's two rows (the m64 accumulator layout): r_lo = 64 wg + 16 warp + lane / 4,
  // and r_lo + 8 (ct: its index among the MMA threads; the loading-only threads compute unused values).
  const int ct = tid >= kProducers ? tid - kProducers : 0;
  const int lane = ct & 31, r_lo = (ct >> 7) * 64 + ((ct >> 5) & 3) * 16 + (lane >> 2);
  const int pair_lo = s_pair[r_lo], pair_hi = s_pair[r_lo + 8];
  const float* sa_lo = hidden_scale + (pair_lo >= 0 ? pair_lo / kTopK : 0);
  const float* sa_hi = hidden_scale + (pair_hi >= 0 ? pair_hi / kTopK : 0);
  const float* sw1 = w1_scale + (static_cast<int64_t>(le) * kGemm1OutBlocks + n0 / kQBlock) * kHiddenBlocks;
  const float* sw2 = w1_scale + (static_cast<int64_t>(le) * kGemm1OutBlocks + (kInter + n0) / kQBlock) * kHiddenBlocks;

  float acc[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) acc[i] = 0.f;
  const auto fetch = [&](int kb) {
    return BlockScales{{sa_lo[static_cast<int64_t>(kb) * T], sa_hi[static_cast<int64_t>(kb) * T], sw1[kb], sw2[kb], 0.f, 0.f}};
  };
  const bool stores = tile_k_loop<kHiddenBlocks, 1>(aligned_stages(dynamic_smem), s_bars, a_row, b_row, acc, fetch,
                                                    [](float (&a)[64], const float (&t)[64], const BlockScales& s, int) {
    // Fragment i: column tile i / 4 (0-7 X1, 8-15 X2), row lo for i % 4 < 2, hi otherwise.
    const float f[4] = {s.v[0] * s.v[2], s.v[1] * s.v[2], s.v[0] * s.v[3], s.v[1] * s.v[3]};
#pragma unroll
    for (int i = 0; i < 64; ++i) a[i] += t[i] * f[(i < 32 ? 0 : 2) + ((i & 2) ? 1 : 0)];
  });
  if (!stores) return;

  // SwiGLU: C[pair][n0 + 8 j + 2 (lane % 4) + e] = silu(X2) * X1, X2 in fragment i + 32.
  const int col = n0 + 2 * (lane & 3);
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int pair = half ? pair_hi : pair_lo;
    float c[16];
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) c[2 * j + e] = moe_tc::silu_mul(acc[4 * j + 2 * half + e], acc[32 + 4 * j + 2 * half + e]);
    if constexpr (kFp8C) {
      // One scale per (pair, 64 columns): the row's 64 values are spread over a quad of lanes.
      float amax = 0.f;
#pragma unroll
      for (int i = 0; i < 16; ++i) amax = fmaxf(amax, fabsf(c[i]));
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
      const float inv = amax > 0.f ? 448.f / amax : 0.f;
      if (pair >= 0) {
        uint8_t* dst = static_cast<uint8_t*>(c_out) + static_cast<int64_t>(pair) * kInter + col;
#pragma unroll
        for (int j = 0; j < 8; ++j)
          *reinterpret_cast<__nv_fp8x2_storage_t*>(dst + 8 * j) =
              __nv_cvt_float2_to_fp8x2(make_float2(c[2 * j] * inv, c[2 * j + 1] * inv), __NV_SATFINITE, __NV_E4M3);
        if ((lane & 3) == 0) c_scale[static_cast<int64_t>(pair) * kCScales + n0 / kCScaleCols] = amax / 448.f;
      }
    } else if (pair >= 0) {
      __nv_bfloat16* dst = static_cast<__nv_bfloat16*>(c_out) + static_cast<int64_t>(pair) * kInter + col;
#pragma unroll
      for (int j = 0; j < 8; ++j)
        *reinterpret_cast<__nv_bfloat162*>(dst + 8 * j) = __floats2bfloat162_rn(c[2 * j], c[2 * j + 1]);
    }
  }
#endif  // MOE_WG_DEVICE
}

// ------------------------------------------------------------------------------------------------
// GEMM2: acc[token][h0 + c] += weight * (C[pair] . W2[h0 + c]) over all of K, C in fp8 with its
// per-64-column scales. blockIdx.x: 128 hidden columns h0 (one W2 scale block), y: row tile, z: expert.
__global__ void __launch_bounds__(kThreads, 1)
gemm2_wgmma_kernel(const uint8_t* __restrict__ c_fp8, const float* __restrict__ c_scale,
                   const uint8_t* __restrict__ w2, const float* __restrict__ w2_scale,
                   const int* __restrict__ counts, const int* __restrict__ lists,
                   const float* __restrict__ pair_weight, int T, float* __restrict__ acc_out) {
#if MOE_WG_DEVICE
  pdl_wait_then_allow();
  extern __shared__ uint8_t dynamic_smem[];
  __shared__ int s_pair[kBM];
  __shared__ uint64_t s_bars[2 * kStages];
  const int le = blockIdx.z, m0 = blockIdx.y * kBM, h0 = blockIdx.x * kBN;
  const int cnt = counts[le];
  if (m0 >= cnt) return;
  const int tid = threadIdx.x;
  moe_tc::load_tile_pairs<kBM>(s_pair, lists, le, m0, cnt, T, tid);
  init_stage_barriers(s_bars);

  const auto a_row = [&](int row) {
    const int pair = s_pair[row];
    return c_fp8 + static_cast<int64_t>(pair >= 0 ? pair : 0) * kInter;
  };
  const auto b_row = [&](int row) { return w2 + (static_cast<int64_t>(le) * kHidden + h0 + row) * kInter; };

  const int ct = tid >= kProducers ? tid - kProducers : 0;
  const int lane = ct & 31, r_lo = (ct >> 7) * 64 + ((ct >> 5) & 3) * 16 + (lane >> 2);
  const int pair_lo = s_pair[r_lo], pair_hi = s_pair[r_lo + 8];
  const float* sa_lo = c_scale + static_cast<int64_t>(pair_lo >= 0 ? pair_lo : 0) * kCScales;
  const float* sa_hi = c_scale + static_cast<int64_t>(pair_hi >= 0 ? pair_hi : 0) * kCScales;
  const float* sw = w2_scale + (static_cast<int64_t>(le) * kHiddenBlocks + h0 / kQBlock) * kInterBlocks;

  float acc[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) acc[i] = 0.f;
  constexpr int kFolds = kQBlock / kCScaleCols;  // 2: the C scale changes every 64 K
  static_assert(kFolds == 2, "two C scales per 128-K block");
  const auto fetch = [&](int kb) {
    const float2 lo = *reinterpret_cast<const float2*>(sa_lo + kb * kFolds);
    const float2 hi = *reinterpret_cast<const float2*>(sa_hi + kb * kFolds);
    return BlockScales{{lo.x, lo.y, hi.x, hi.y, sw[kb], 0.f}};
  };
  const bool stores = tile_k_loop<kInterBlocks, kFolds>(aligned_stages(dynamic_smem), s_bars, a_row, b_row, acc, fetch,
                                                        [](float (&a)[64], const float (&t)[64], const BlockScales& s, int f) {
    const float lo = s.v[f] * s.v[4], hi = s.v[2 + f] * s.v[4];
#pragma unroll
    for (int i = 0; i < 64; ++i) a[i] += t[i] * ((i & 2) ? hi : lo);
  });
  if (!stores) return;

  const int col = h0 + 2 * (lane & 3);
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int pair = half ? pair_hi : pair_lo;
    if (pair < 0) continue;
    const float w = pair_weight[pair];
    float* dst = acc_out + static_cast<int64_t>(pair / kTopK) * kHidden + col;
#pragma unroll
    for (int j = 0; j < 16; ++j)
      atomicAdd(reinterpret_cast<float2*>(dst + 8 * j), make_float2(acc[4 * j + 2 * half] * w, acc[4 * j + 2 * half + 1] * w));
  }
#endif  // MOE_WG_DEVICE
}

}  // namespace moe_wg
