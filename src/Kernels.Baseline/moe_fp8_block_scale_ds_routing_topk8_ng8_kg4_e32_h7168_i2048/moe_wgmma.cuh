// moe_wgmma.cuh: the large-T grouped GEMMs on warpgroup MMA (wgmma, sm_90a only; included by
// kernel.cu when MOE_GEMM_IMPL == 1). Selected above MOE_WGMMA_MIN_T tokens by MOE_WGMMA when the
// library was built for sm_90a (built_with_wgmma() asks without a launch); a plain sm_90 build
// compiles these kernels empty and keeps the mma.sync kernels of moe_tc.cuh.
//
// Both GEMMs are fp8 x fp8 with fp32 accumulation: wgmma m64n128k32 e4m3, both operands K-major
// in shared memory with the 128-byte swizzle, so one 128-K scale block of a row is one 128-byte
// swizzle row. A stage holds one K block of a 128-row A tile and a 256-row B tile (48 KB), filled
// by cp.async (A rows are gathered by pair: no TMA box describes them). Two-level accumulation as
// DeepGEMM does: each scale block's product lands in a fresh fp32 accumulator, which is scaled and
// added into the tile's accumulator.
//   CTA: 2 MMA warpgroups (+ a loading warpgroup with MOE_WGMMA_PRODUCER, below), a tile of BM
//   pairs x 256 B rows. BM = 128 (large T):
//   warpgroup w owns rows [64w, 64w + 64) and multiplies them with the B tile in two column
//   passes of 128 rows (acc 2 x 64 + tmp 64 registers: an m64n256 accumulator pair would not
//   fit). BM = 64 (a few dozen pairs per expert, T ~ 1000): warpgroup w takes column pass w.
//   Grid: (column tiles, ceil(T / BM) row tiles, 32 experts); a row tile past its expert's count
//   returns at once.
//   GEMM1 (gemm1_wgmma_kernel): pass p's 128 B rows = X1 rows n0 + 64p.. and the matching X2 rows
//   of W1, so one thread holds X1 and X2 of the same column and SwiGLU is done in registers. C
//   goes out in bf16 (MOE_WGMMA=1, for the mma.sync GEMM2) or in fp8 with a scale per (pair, 64
//   columns) (MOE_WGMMA=2, for gemm2_wgmma_kernel).
//   GEMM2 (gemm2_wgmma_kernel): A = C in fp8, pass p = 128 W2 rows (one scale block); the A
//   scales change every 64 K, so each pass of a 128-K block folds twice. The routing weight is
//   applied and the sums go into the fp32 accumulator with float2 atomics.
// Why 256 B rows: with 128 x 128 tiles (the first version, session 5) GEMM1 ran at ~440 TFLOP/s;
// 128 x 256 (48 KB per 8.4 MFLOP instead of 32 KB per 4.2) ran 29% faster. The L2 was only ~33%
// busy either way, so the gain is twice the MMA work per block barrier and per MMA wait.
#pragma once

namespace moe_wg {

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MOE_WG_DEVICE 1
#else
#define MOE_WG_DEVICE 0
#endif

// With a producer (MOE_WGMMA_PRODUCER: 1 always, 2 for 64-pair tiles only), a third warpgroup
// only loads (cp.async, stages handed over through full / empty mbarriers), so the two MMA
// warpgroups never wait for each other or for a block barrier; setmaxnreg moves registers from it
// (56) to them (224). Without one, the two MMA warpgroups also load, in lockstep (one block
// barrier per K block). A single producer warp does not work: registers are split per SM
// sub-partition, so 9 warps cap every thread at 168 like 12 do (measured: spills). ptxas honours
// setmaxnreg only with a minimum of 1 block in __launch_bounds__ and when the producer's branch
// returns from the kernel without joining the MMA code (setmaxnreg_probe.cu in the session-5 results).
constexpr int kConsumers = 256;                  // the two MMA warpgroups
constexpr int kProducers = 128;                  // the producer warpgroup, when there is one
constexpr int kProducerRegs = 56, kConsumerRegs = 224;  // 128 x 56 + 256 x 224 = 384 x 168
constexpr int kBN = 256;                         // B rows per tile: two column passes of 128
constexpr int kRowBytes = kQBlock;               // fp8 bytes of one row per K block
constexpr int kTileB = kBN * kRowBytes;          // 32 KB
constexpr int kStages = MOE_WGMMA_STAGES;
constexpr int kCScaleCols = 64;                  // C columns per fp8 scale (one GEMM1 pass)
constexpr int kCScales = kInter / kCScaleCols;   // 32 scales per pair
constexpr int kLoadRowsB = kBN * 8 / kConsumers; // 8 B rows per thread (8 chunks per row), lockstep loading
constexpr int kRowStep = kConsumers / 8;         // 32: a thread's rows are kRowStep apart

// A tile of BM pairs (64 or 128) x kBN B rows, as four or two (m64, n128) sub-tiles: with 128
// rows warpgroup w takes rows [64w, 64w + 64) in both column passes; with 64 rows it takes
// column pass w of the tile's 64 rows (the shape for a few dozen pairs per expert).
template <int BM>
struct Tile {
  static_assert(BM == 64 || BM == 128, "64 or 128 pairs");
  static constexpr int kTileA = BM * kRowBytes;
  static constexpr int kStageBytes = kTileA + kTileB;
  static constexpr int kSmem = kStages * kStageBytes + 1024;  // + room to align the first stage to 1024 B
  static constexpr int kLoadRowsA = BM * 8 / kConsumers;      // 4 or 2 A rows per thread (lockstep loading)
  static constexpr int kScaleSlots = 2 * BM + 2;              // per stage: 1 or 2 A scales per row, 2 weight scales
  // Measured (session 5, H200): the producer warpgroup helps 64-pair tiles (T=901 557 -> 489 us)
  // and hurts 128-pair ones (T=14107 2.69 -> 2.92 ms).
  static constexpr bool kProducer = MOE_WGMMA_PRODUCER == 1 || (MOE_WGMMA_PRODUCER == 2 && BM == 64);
  static constexpr int kThreads = kConsumers + (kProducer ? kProducers : 0);
  static constexpr int kWgPasses = BM / 64;                   // column passes per warpgroup
  static_assert(kStages >= 2 && kSmem <= 227 * 1024, "stages out of range");
  __device__ __forceinline__ static int row_group(int wg) { return BM == 128 ? wg : 0; }
  __device__ __forceinline__ static int first_pass(int wg) { return BM == 128 ? 0 : wg; }
};

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

// This thread's share of every stage: 16-byte chunk (tid & 7) of tile rows (tid >> 3) + 32 i of A
// (4 rows, gathered: one pointer each) and of B (8 rows: one base pointer plus constant offsets,
// b_offset(i) bytes, which keeps the registers for the accumulators). Its swizzled offset in a
// tile is the same for all of them (32 i keeps row & 7).
template <int BM, typename BOffset>
struct StageLoader {
  static constexpr int kRowsA = Tile<BM>::kLoadRowsA;
  const uint8_t* a[kRowsA];
  const uint8_t* b;
  uint32_t offset;
  __device__ __forceinline__ void load(uint32_t stage, int kb) const {
#pragma unroll
    for (int i = 0; i < kRowsA; ++i) cp_async16(stage + offset + i * kRowStep * kRowBytes, a[i] + kb * kRowBytes);
#pragma unroll
    for (int i = 0; i < kLoadRowsB; ++i)
      cp_async16(stage + Tile<BM>::kTileA + offset + i * kRowStep * kRowBytes, b + BOffset::at(i) + kb * kRowBytes);
  }
};
__device__ __forceinline__ uint32_t loader_offset(int tid) {
  const int row = tid >> 3, chunk = tid & 7;
  return static_cast<uint32_t>(row * kRowBytes + ((chunk ^ (row & 7)) << 4));
}

// The scales one K block needs in a thread (its two rows' activation scales, the weight scales),
// read before the block's MMAs are issued so that their latency hides behind the tensor cores.
struct BlockScales {
  float v[6];
};

// One K block of a stage for warpgroup wg: per column pass p, its 64 A rows meet B rows
// [128p, 128p + 128) in kFolds groups of k32 steps, each into a fresh fp32 accumulator that
// fold(acc[j], tmp, scales, p, f) scales into acc[j] (j: the warpgroup's j-th pass);
// released() runs once the last MMA has read the stage.
template <int BM, int kFolds, typename Fold, typename Released>
__device__ __forceinline__ void block_mma(uint32_t stage, int wg, float (&acc)[Tile<BM>::kWgPasses][64], float (&tmp)[64],
                                          const BlockScales& scales, Fold&& fold, Released&& released) {
  using Shape = Tile<BM>;
  static_assert(4 % kFolds == 0, "k32 steps per fold");
  const uint32_t a_tile = stage + Shape::row_group(wg) * 64 * kRowBytes;
#pragma unroll
  for (int j = 0; j < Shape::kWgPasses; ++j) {
    const int p = Shape::first_pass(wg) + j;
    const uint32_t b_tile = stage + Shape::kTileA + p * 128 * kRowBytes;
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
      if (j == Shape::kWgPasses - 1 && f == kFolds - 1) released();
      fold(acc[j], tmp, scales, p, f);
    }
  }
}

// The K loop of one tile: kKBlocks blocks of 128 through kStages cp.async stages, all 256
// threads loading and multiplying. One block barrier per K block: the stage refilled in
// iteration kb was read in iteration kb - 1, whose MMAs every warpgroup waited for before it.
// Each block goes through block_mma. The scales of block kb + 1 are read during block kb (fetch),
// so no fold waits for a global load.
template <int BM, int kKBlocks, int kFolds, typename Loader, typename Fetch, typename Fold>
__device__ __forceinline__ void k_loop(uint32_t smem, const Loader& loader, float (&acc)[Tile<BM>::kWgPasses][64],
                                       Fetch&& fetch, Fold&& fold) {
  using Shape = Tile<BM>;
  const int wg = threadIdx.x >> 7;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < kKBlocks) loader.load(smem + s * Shape::kStageBytes, s);
    asm volatile("cp.async.commit_group;\n" ::: "memory");
  }
  float tmp[64];
  BlockScales next_scales = fetch(0);
#pragma unroll 1
  for (int kb = 0; kb < kKBlocks; ++kb) {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 2) : "memory");
    fence_proxy_async();
    __syncthreads();
    const int next = kb + kStages - 1;
    if (next < kKBlocks) loader.load(smem + (next % kStages) * Shape::kStageBytes, next);
    asm volatile("cp.async.commit_group;\n" ::: "memory");
    const BlockScales scales = next_scales;
    if (kb + 1 < kKBlocks) next_scales = fetch(kb + 1);
    block_mma<BM, kFolds>(smem + (kb % kStages) * Shape::kStageBytes, wg, acc, tmp, scales, fold, [] {});
  }
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

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
__device__ __forceinline__ void cp_async4(float* dst, const float* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(moe_tc::smem_addr(dst)), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_async8(float* dst, const float* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(moe_tc::smem_addr(dst)), "l"(src) : "memory");
}

// The stages' "full" (the producer's 128 threads' copies landed) and "empty" (the 256 MMA threads
// have read it) mbarriers, set up by thread 0 before the block barrier that follows.
template <int BM>
__device__ __forceinline__ void init_stage_barriers(uint64_t* bars) {
  if (Tile<BM>::kProducer && threadIdx.x == 0) {
    const uint32_t full = moe_tc::smem_addr(bars), empty = full + 8 * kStages;
    for (int s = 0; s < kStages; ++s) {
      mbar_init(full + 8 * s, kProducers);
      mbar_init(empty + 8 * s, kConsumers);
    }
  }
}

// The producer warpgroup: for each K block, once the MMA threads have released the stage it
// refills (the one read kStages blocks before), 16-byte pieces of the BM A rows (a_row(r): row
// r's start) and of the 256 B rows (b_base + b_offset(r)) with the 128-byte swizzle, producer
// thread p taking piece p % 8 of rows p / 8 + 16 i; then load_scales(s, kb, p) copies the block's
// scales into the stage's scale slots, and the threads' arrivals on "full" follow their copies.
template <int BM, int kKBlocks, typename ARow, typename BOffset, typename LoadScales>
__device__ __forceinline__ void produce(uint32_t smem, uint64_t* bars, ARow&& a_row, const uint8_t* b_base, BOffset&& b_offset,
                                        LoadScales&& load_scales) {
  using Shape = Tile<BM>;
  const int p = threadIdx.x - kConsumers, chunk = p & 7, r0 = p >> 3;
  const uint32_t full = moe_tc::smem_addr(bars), empty = full + 8 * kStages;
#pragma unroll 1
  for (int kb = 0; kb < kKBlocks; ++kb) {
    const int s = kb % kStages;
    if (kb >= kStages) mbar_wait(empty + 8 * s, (kb / kStages - 1) & 1);
    const uint32_t stage = smem + s * Shape::kStageBytes;
#pragma unroll
    for (int i = 0; i < BM / 16; ++i) {
      const int row = r0 + 16 * i;
      cp_async16(stage + row * kRowBytes + ((chunk ^ (row & 7)) << 4), a_row(row) + kb * kRowBytes + chunk * 16);
    }
#pragma unroll
    for (int i = 0; i < kBN / 16; ++i) {
      const int row = r0 + 16 * i;
      cp_async16(stage + Shape::kTileA + row * kRowBytes + ((chunk ^ (row & 7)) << 4),
                 b_base + b_offset(row) + kb * kRowBytes + chunk * 16);
    }
    load_scales(s, kb, p);
    mbar_arrive_on_cp_async(full + 8 * s);
  }
  asm volatile("cp.async.wait_all;\n" ::: "memory");
}

// The MMA warpgroups with a producer warpgroup: wait for the stage to be full, read its scales
// (read(s)), multiply (block_mma), release the stage once the last MMA has read it.
template <int BM, int kKBlocks, int kFolds, typename Read, typename Fold>
__device__ __forceinline__ void consume(uint32_t smem, uint64_t* bars, float (&acc)[Tile<BM>::kWgPasses][64], Read&& read,
                                        Fold&& fold) {
  using Shape = Tile<BM>;
  const int wg = threadIdx.x >> 7;
  const uint32_t full = moe_tc::smem_addr(bars), empty = full + 8 * kStages;
  float tmp[64];
#pragma unroll 1
  for (int kb = 0; kb < kKBlocks; ++kb) {
    const int s = kb % kStages;
    mbar_wait(full + 8 * s, (kb / kStages) & 1);
    fence_proxy_async();
    const BlockScales scales = read(s);
    block_mma<BM, kFolds>(smem + s * Shape::kStageBytes, wg, acc, tmp, scales, fold, [&] { mbar_arrive(empty + 8 * s); });
  }
}

// This thread's two accumulator rows in a BM-row tile (the m64 layout): 16 per warp, lane / 4 and +8.
template <int BM>
__device__ __forceinline__ int thread_row(int tid) {
  return Tile<BM>::row_group(tid >> 7) * 64 + ((tid >> 5) & 3) * 16 + ((tid & 31) >> 2);
}

// The 1024-byte aligned start of the dynamic shared memory (the stages).
__device__ __forceinline__ uint32_t aligned_stages(uint8_t* dynamic_smem) {
  return (moe_tc::smem_addr(dynamic_smem) + 1023u) & ~1023u;
}

// B row offsets (bytes from the tile's first W1 row n0) of a GEMM1 loader's rows 32 i + (tid >> 3):
// B rows [128p, 128p + 64) are X1 rows n0 + 64p.., [128p + 64, 128p + 128) the X2 rows kInter + n0 + 64p..
struct Gemm1BOffset {
  static __device__ __forceinline__ int64_t row(int r) {
    const int p = r / 128, in_pass = r % 128;
    const int w_row = (in_pass < 64 ? 0 : kInter) + 64 * p + in_pass % 64;
    return static_cast<int64_t>(w_row) * kHidden;
  }
  static __device__ __forceinline__ int64_t at(int i) { return row(kRowStep * i); }
};
// GEMM2's B rows are W2 rows h0.. in order.
struct Gemm2BOffset {
  static __device__ __forceinline__ int64_t row(int r) { return static_cast<int64_t>(r) * kInter; }
  static __device__ __forceinline__ int64_t at(int i) { return row(kRowStep * i); }
};
#endif  // MOE_WG_DEVICE

// ------------------------------------------------------------------------------------------------
// GEMM1 + SwiGLU. blockIdx.x: 128 C columns n0 (W1 rows n0.. and kInter + n0..), y: BM-pair row
// tile of expert blockIdx.z. kFp8C: C in fp8 with a scale per (pair, 64 columns) into c_scale.
template <bool kFp8C, int BM>
__global__ void __launch_bounds__(Tile<BM>::kThreads, 1)
gemm1_wgmma_kernel(const uint8_t* __restrict__ hidden, const float* __restrict__ hidden_scale,
                   const uint8_t* __restrict__ w1, const float* __restrict__ w1_scale,
                   const int* __restrict__ counts, const int* __restrict__ lists, int T,
                   void* __restrict__ c_out, float* __restrict__ c_scale) {
#if MOE_WG_DEVICE
  using Shape = Tile<BM>;
  pdl_wait_then_allow();
  extern __shared__ uint8_t dynamic_smem[];
  __shared__ int s_pair[BM];
  __shared__ uint64_t s_bars[2 * kStages];  // "full" and "empty" per stage (producer warp)
  __shared__ __align__(16) float s_scales[Shape::kProducer ? kStages * Shape::kScaleSlots : 1];
  const int le = blockIdx.z, m0 = blockIdx.y * BM, n0 = blockIdx.x * 128;
  const int cnt = counts[le];
  if (m0 >= cnt) return;  // block-uniform
  const int tid = threadIdx.x;
  moe_tc::load_tile_pairs<BM>(s_pair, lists, le, m0, cnt, T, tid);
  init_stage_barriers<BM>(s_bars);
  __syncthreads();

  // An MMA thread's two rows (the producer warp's values are unused); rows past the expert's
  // count read token 0 (finite data) and are never stored.
  const int lane = tid & 31, r_lo = thread_row<BM>(tid < kConsumers ? tid : 0);
  const int pair_lo = s_pair[r_lo], pair_hi = s_pair[r_lo + 8];
  const auto token = [&](int pair) { return pair >= 0 ? pair / kTopK : 0; };
  // The tile's 128 X1 columns are one W1 scale block, and so are their X2 columns.
  const float* sw1 = w1_scale + (static_cast<int64_t>(le) * kGemm1OutBlocks + n0 / kQBlock) * kHiddenBlocks;
  const float* sw2 = w1_scale + (static_cast<int64_t>(le) * kGemm1OutBlocks + (kInter + n0) / kQBlock) * kHiddenBlocks;

  float acc[Shape::kWgPasses][64];
#pragma unroll
  for (int j = 0; j < Shape::kWgPasses; ++j)
#pragma unroll
    for (int i = 0; i < 64; ++i) acc[j][i] = 0.f;
  // Scales: v = {row lo's activation scale, row hi's, X1 weight scale, X2 weight scale}.
  const auto fold = [](float (&a)[64], const float (&t)[64], const BlockScales& s, int, int) {
    // Fragment i: column tile i / 4 (0-7 X1, 8-15 X2), row lo for i % 4 < 2, hi otherwise.
    const float f[4] = {s.v[0] * s.v[2], s.v[1] * s.v[2], s.v[0] * s.v[3], s.v[1] * s.v[3]};
#pragma unroll
    for (int i = 0; i < 64; ++i) a[i] += t[i] * f[(i < 32 ? 0 : 2) + ((i & 2) ? 1 : 0)];
  };
  const uint32_t stages = aligned_stages(dynamic_smem);
  if constexpr (Shape::kProducer) {
    if (tid >= kConsumers) {
      asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kProducerRegs));
      produce<BM, kHiddenBlocks>(
          stages, s_bars, [&](int row) { return hidden + static_cast<int64_t>(token(s_pair[row])) * kHidden; },
          w1 + (static_cast<int64_t>(le) * kGemm1Out + n0) * kHidden, [](int row) { return Gemm1BOffset::row(row); },
          [&](int st, int kb, int l) {
            float* slots = s_scales + st * Shape::kScaleSlots;
            for (int r = l; r < BM; r += kProducers) cp_async4(slots + r, hidden_scale + static_cast<int64_t>(kb) * T + token(s_pair[r]));
            if (l == 0) cp_async4(slots + BM, sw1 + kb);
            if (l == 1) cp_async4(slots + BM + 1, sw2 + kb);
          });
      return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegs));
    consume<BM, kHiddenBlocks, 1>(stages, s_bars, acc, [&](int st) {
      const float* slots = s_scales + st * Shape::kScaleSlots;
      return BlockScales{{slots[r_lo], slots[r_lo + 8], slots[BM], slots[BM + 1], 0.f, 0.f}};
    }, fold);
  } else {
    StageLoader<BM, Gemm1BOffset> loader;
    loader.offset = loader_offset(tid);
#pragma unroll
    for (int i = 0; i < Shape::kLoadRowsA; ++i)
      loader.a[i] = hidden + static_cast<int64_t>(token(s_pair[(tid >> 3) + kRowStep * i])) * kHidden + (tid & 7) * 16;
    loader.b = w1 + (static_cast<int64_t>(le) * kGemm1Out + n0 + (tid >> 3)) * kHidden + (tid & 7) * 16;
    const float* sa_lo = hidden_scale + token(pair_lo);
    const float* sa_hi = hidden_scale + token(pair_hi);
    const auto fetch = [&](int kb) {
      return BlockScales{{sa_lo[static_cast<int64_t>(kb) * T], sa_hi[static_cast<int64_t>(kb) * T], sw1[kb], sw2[kb], 0.f, 0.f}};
    };
    k_loop<BM, kHiddenBlocks, 1>(stages, loader, acc, fetch, fold);
  }

  // SwiGLU: C[pair][n0 + 64 p + 8 j + 2 (lane % 4) + e] = silu(X2) * X1, X2 in fragment i + 32.
#pragma unroll
  for (int j = 0; j < Shape::kWgPasses; ++j) {
    const int p = Shape::first_pass(tid >> 7) + j;
    const int col = n0 + 64 * p + 2 * (lane & 3);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int pair = half ? pair_hi : pair_lo;
      float c[16];
#pragma unroll
      for (int q = 0; q < 8; ++q)
#pragma unroll
        for (int e = 0; e < 2; ++e) c[2 * q + e] = moe_tc::silu_mul(acc[j][4 * q + 2 * half + e], acc[j][32 + 4 * q + 2 * half + e]);
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
          for (int q = 0; q < 8; ++q)
            *reinterpret_cast<__nv_fp8x2_storage_t*>(dst + 8 * q) =
                __nv_cvt_float2_to_fp8x2(make_float2(c[2 * q] * inv, c[2 * q + 1] * inv), __NV_SATFINITE, __NV_E4M3);
          if ((lane & 3) == 0) c_scale[static_cast<int64_t>(pair) * kCScales + (n0 + 64 * p) / kCScaleCols] = amax / 448.f;
        }
      } else if (pair >= 0) {
        __nv_bfloat16* dst = static_cast<__nv_bfloat16*>(c_out) + static_cast<int64_t>(pair) * kInter + col;
#pragma unroll
        for (int q = 0; q < 8; ++q)
          *reinterpret_cast<__nv_bfloat162*>(dst + 8 * q) = __floats2bfloat162_rn(c[2 * q], c[2 * q + 1]);
      }
    }
  }
#endif  // MOE_WG_DEVICE
}

// ------------------------------------------------------------------------------------------------
// GEMM2: acc[token][h0 + c] += weight * (C[pair] . W2[h0 + c]) over all of K, C in fp8 with its
// per-64-column scales. blockIdx.x: 256 hidden columns h0 (two W2 scale blocks, one per column
// pass), y: BM-pair row tile, z: expert.
template <int BM>
__global__ void __launch_bounds__(Tile<BM>::kThreads, 1)
gemm2_wgmma_kernel(const uint8_t* __restrict__ c_fp8, const float* __restrict__ c_scale,
                   const uint8_t* __restrict__ w2, const float* __restrict__ w2_scale,
                   const int* __restrict__ counts, const int* __restrict__ lists,
                   const float* __restrict__ pair_weight, int T, float* __restrict__ acc_out) {
#if MOE_WG_DEVICE
  using Shape = Tile<BM>;
  pdl_wait_then_allow();
  extern __shared__ uint8_t dynamic_smem[];
  __shared__ int s_pair[BM];
  __shared__ uint64_t s_bars[2 * kStages];
  __shared__ __align__(16) float s_scales[Shape::kProducer ? kStages * Shape::kScaleSlots : 1];
  const int le = blockIdx.z, m0 = blockIdx.y * BM, h0 = blockIdx.x * kBN;
  const int cnt = counts[le];
  if (m0 >= cnt) return;
  const int tid = threadIdx.x;
  moe_tc::load_tile_pairs<BM>(s_pair, lists, le, m0, cnt, T, tid);
  init_stage_barriers<BM>(s_bars);
  __syncthreads();

  const int lane = tid & 31, r_lo = thread_row<BM>(tid < kConsumers ? tid : 0);
  const int pair_lo = s_pair[r_lo], pair_hi = s_pair[r_lo + 8];
  const auto c_row = [&](int pair) { return static_cast<int64_t>(pair >= 0 ? pair : 0); };
  const float* sw = w2_scale + (static_cast<int64_t>(le) * kHiddenBlocks + h0 / kQBlock) * kInterBlocks;

  float acc[Shape::kWgPasses][64];
#pragma unroll
  for (int j = 0; j < Shape::kWgPasses; ++j)
#pragma unroll
    for (int i = 0; i < 64; ++i) acc[j][i] = 0.f;
  constexpr int kFolds = kQBlock / kCScaleCols;  // 2: the C scale changes every 64 K
  static_assert(kFolds == 2 && kBN == 2 * kQBlock, "two C scales per 128-K block, two W2 scale blocks per tile");
  // Scales: v = {row lo's two C scales, row hi's two, the W2 scales of column passes 0 and 1}.
  const auto fold = [](float (&a)[64], const float (&t)[64], const BlockScales& s, int p, int f) {
    const float lo = s.v[f] * s.v[4 + p], hi = s.v[2 + f] * s.v[4 + p];
#pragma unroll
    for (int i = 0; i < 64; ++i) a[i] += t[i] * ((i & 2) ? hi : lo);
  };
  const uint32_t stages = aligned_stages(dynamic_smem);
  if constexpr (Shape::kProducer) {
    if (tid >= kConsumers) {
      asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kProducerRegs));
      produce<BM, kInterBlocks>(
          stages, s_bars, [&](int row) { return c_fp8 + c_row(s_pair[row]) * kInter; },
          w2 + (static_cast<int64_t>(le) * kHidden + h0) * kInter, [](int row) { return Gemm2BOffset::row(row); },
          [&](int st, int kb, int l) {
            float* slots = s_scales + st * Shape::kScaleSlots;
            for (int r = l; r < BM; r += kProducers) cp_async8(slots + 2 * r, c_scale + c_row(s_pair[r]) * kCScales + kb * kFolds);
            if (l == 0) cp_async4(slots + 2 * BM, sw + kb);
            if (l == 1) cp_async4(slots + 2 * BM + 1, sw + kInterBlocks + kb);
          });
      return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegs));
    consume<BM, kInterBlocks, kFolds>(stages, s_bars, acc, [&](int st) {
      const float* slots = s_scales + st * Shape::kScaleSlots;
      return BlockScales{{slots[2 * r_lo], slots[2 * r_lo + 1], slots[2 * (r_lo + 8)], slots[2 * (r_lo + 8) + 1],
                          slots[2 * BM], slots[2 * BM + 1]}};
    }, fold);
  } else {
    StageLoader<BM, Gemm2BOffset> loader;
    loader.offset = loader_offset(tid);
#pragma unroll
    for (int i = 0; i < Shape::kLoadRowsA; ++i)
      loader.a[i] = c_fp8 + c_row(s_pair[(tid >> 3) + kRowStep * i]) * kInter + (tid & 7) * 16;
    loader.b = w2 + (static_cast<int64_t>(le) * kHidden + h0 + (tid >> 3)) * kInter + (tid & 7) * 16;
    const float* sa_lo = c_scale + c_row(pair_lo) * kCScales;
    const float* sa_hi = c_scale + c_row(pair_hi) * kCScales;
    const auto fetch = [&](int kb) {
      const float2 lo = *reinterpret_cast<const float2*>(sa_lo + kb * kFolds);
      const float2 hi = *reinterpret_cast<const float2*>(sa_hi + kb * kFolds);
      return BlockScales{{lo.x, lo.y, hi.x, hi.y, sw[kb], sw[kInterBlocks + kb]}};
    };
    k_loop<BM, kInterBlocks, kFolds>(stages, loader, acc, fetch, fold);
  }

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int pair = half ? pair_hi : pair_lo;
    if (pair < 0) continue;
    const float w = pair_weight[pair];
    float* dst = acc_out + static_cast<int64_t>(pair / kTopK) * kHidden + h0 + 2 * (lane & 3);
#pragma unroll
    for (int j = 0; j < Shape::kWgPasses; ++j) {
      const int p = Shape::first_pass(tid >> 7) + j;
#pragma unroll
      for (int q = 0; q < 16; ++q)
        atomicAdd(reinterpret_cast<float2*>(dst + 128 * p + 8 * q),
                  make_float2(acc[j][4 * q + 2 * half] * w, acc[j][4 * q + 2 * half + 1] * w));
    }
  }
#endif  // MOE_WG_DEVICE
}

}  // namespace moe_wg
