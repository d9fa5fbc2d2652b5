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
//   Grid (MOE_WGMMA_PERSISTENT): one CTA per SM looping over its share of the real tiles (TileWalk).
//   Both GEMMs run through one driver (gemm_tiles) with an op per GEMM (Gemm1Op, Gemm2Op) that
//   says where the A rows and B tiles are, how the scales load and fold, and what the epilogue does.
//   GEMM1 (gemm1_wgmma_kernel): pass p's 128 B rows = X1 rows n0 + 64p.. and the matching X2 rows
//   of W1, so one thread holds X1 and X2 of the same column and SwiGLU is done in registers. C
//   goes out in bf16 (MOE_WGMMA=1, for the mma.sync GEMM2) or in fp8 with a scale per (pair, 64
//   columns) (MOE_WGMMA=2, for gemm2_wgmma_kernel).
//   GEMM2 (gemm2_wgmma_kernel): A = C in fp8, pass p = 128 W2 rows (one scale block); the A
//   scales change every MOE_WGMMA_CSCALE_COLS K (each pass of a 128-K block folds once or twice).
//   The routing weight is applied; the pair's row goes out in bf16 for the combine kernel, into
//   the bf16 output (stored, or summed by reductions where the token has several local pairs), or
//   into the fp32 accumulator with float2 atomics (MOE_WGMMA_COMBINE 1, 2, 0).
// Why 256 B rows: with 128 x 128 tiles (the first version, session 5) GEMM1 ran at ~440 TFLOP/s;
// 128 x 256 (48 KB per 8.4 MFLOP instead of 32 KB per 4.2) ran 29% faster. The L2 was only ~33%
// busy either way, so the gain is twice the MMA work per block barrier and per MMA wait.
#pragma once

namespace moe_wg {

// MOE_WGMMA_DIAG_NO_LOADS 1, 3 and 4 skip every tile load; 3 and 4 the lockstep block barrier; 4
// and 5 the scale loads (a scale computed from the block number instead, like wgmma-probe's).
#define MOE_WG_DIAG_SKIPS_LOADS (MOE_WGMMA_DIAG_NO_LOADS == 1 || MOE_WGMMA_DIAG_NO_LOADS == 3 || MOE_WGMMA_DIAG_NO_LOADS == 4)
#define MOE_WG_DIAG_SKIPS_BARRIER (MOE_WGMMA_DIAG_NO_LOADS == 3 || MOE_WGMMA_DIAG_NO_LOADS == 4)
#define MOE_WG_DIAG_CONST_SCALES (MOE_WGMMA_DIAG_NO_LOADS == 4 || MOE_WGMMA_DIAG_NO_LOADS == 5)
// 6 and 7 load every tile's B from expert 0's first column tile (7: and A from the first BM tokens),
// the same bytes per block, but L2-resident (lockstep loading).

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
// setmaxnreg's split of the 64K registers: 128 x P + 256 x C <= 65536 - 1024, multiples of 8. 128-pair
// tiles need C = 224 (two accumulators and a temporary: 192 + addresses); 64-pair tiles need far
// fewer (one accumulator and a temporary), so MOE_WGMMA_BM64_PRODUCER_REGS can give the producer
// more (its tile loop, op pointers and coordinates since the persistent tiles).
template <int BM>
struct RegisterSplit {
  static constexpr int kProducer = BM == 64 ? MOE_WGMMA_BM64_PRODUCER_REGS : 56;
  static constexpr int kConsumer = ((65536 - kProducers * kProducer) / kConsumers) / 8 * 8;
  // 1024 registers stay free: the measured 56 / 224 split leaves them, and 96 / 208 (all 65536)
  // hung in setmaxnreg.inc (session 7, H200).
  static_assert(kConsumer <= 256 && kProducers * kProducer + kConsumers * kConsumer <= 65536 - 1024, "register split");
};
constexpr int kBN = 256;                         // B rows per tile: two column passes of 128
constexpr int kRowBytes = kQBlock;               // fp8 bytes of one row per K block
constexpr int kTileB = kBN * kRowBytes;          // 32 KB
constexpr int kBoxRows = 64;                     // MOE_WGMMA_BM64_TMA: B rows per TMA box (the host's maps)
// cp.async stages per tile shape: MOE_WGMMA_STAGES for 128 pairs, MOE_WGMMA_BM64_STAGES for 64.
template <int BM>
constexpr int kStagesOf = BM == 64 ? MOE_WGMMA_BM64_STAGES : MOE_WGMMA_STAGES;
constexpr bool kLoadsUnderMma = MOE_WGMMA_LOADS_UNDER_MMA != 0;  // lockstep K loop: next stage's copies behind the first MMAs
constexpr bool kMbarStages = MOE_WGMMA_MBAR_STAGES != 0;        // lockstep loading, stages handed over by mbarriers
// Lockstep loading: where the K loop reads a block's scales (MOE_WGMMA_TILE_SCALES): from global
// memory, a block ahead, into registers (0); or from shared memory, where the tile's start copied
// all of them (2: GEMM2 only, Op::kGemm2 telling the GEMMs apart; 3: both, GEMM1's from the
// token-major copy of the activation scales that routing writes, passed as its hidden_scale).
constexpr int kTileScales = MOE_WGMMA_TILE_SCALES;
constexpr int kCScaleCols = MOE_WGMMA_CSCALE_COLS;  // C columns per fp8 scale: one GEMM1 pass (64) or a tile (128)
static_assert(kCScaleCols == 64 || kCScaleCols == 128, "a C scale covers one GEMM1 pass or one tile");
constexpr int kCScales = kInter / kCScaleCols;   // 32 or 16 scales per pair
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
  static constexpr int kStages = kStagesOf<BM>;
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

// Where GEMM2's weighted rows go (MOE_WGMMA_COMBINE): kOutAtomicF32 adds them into the fp32
// accumulator, kOutPairRows writes each pair's bf16 row for the combine kernel, kOutDirect writes
// the bf16 output itself: a plain store for a token with one local pair, a bf16x2 reduction for a
// token with more (routing zeroes those rows, and the rows of tokens with none).
// kOutDirect needs persistent tiles (else the combine kernel runs).
enum OutMode { kOutAtomicF32 = 0, kOutPairRows = 1, kOutDirect = 2 };
static_assert(MOE_WGMMA_COMBINE >= kOutAtomicF32 && MOE_WGMMA_COMBINE <= kOutDirect, "MOE_WGMMA_COMBINE: 0, 1 or 2");
constexpr int kOutMode = MOE_WGMMA_COMBINE == kOutDirect && MOE_WGMMA_PERSISTENT == 0 ? kOutPairRows : MOE_WGMMA_COMBINE;
// Whether a token's output row is written whole by one pair's plain stores (else zeroed by routing
// and summed into by reductions).
__device__ __forceinline__ bool single_local_pair(unsigned token_mask) { return __popc(token_mask) == 1; }

// Whether this library was built for sm_90a: afg_wgmma.cuh's probe.
using afg::built_with_wgmma;

#if MOE_WG_DEVICE
// The wgmma wrappers are afg_wgmma.cuh's (included at the top of kernel.cu).
using afg::desc_sw128;
using afg::fence_fragment;
using afg::wgmma_commit;
using afg::wgmma_fence;
using afg::wgmma_m64n128k32_e4m3;
using afg::wgmma_wait;
using afg::fence_proxy_async;

// MOE_WGMMA_DIAG_EPILOGUE 2, 3, 7 (the epilogue computes everything and stores nothing): the XOR
// of every value this thread would have stored, stored itself only on a 2^-32 coincidence, so that
// no arithmetic is dead to ptxas. (An empty asm taking the values emits no PTX, so ptxas could drop
// the epilogue and, with it, every fold of the K loop: session 19's first 2 / 7 numbers.)
__device__ __forceinline__ void kept_alive(uint32_t keep, uint8_t* sink) {
  if (keep == 0x9e3779b9u) *reinterpret_cast<uint32_t*>(sink) = keep;
}
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src) : "memory");
}

// The scales one K block needs in a thread (its two rows' activation scales, the weight scales),
// read before the block's MMAs are issued so that their latency hides behind the tensor cores.
struct BlockScales {
  float v[6];
};

// One K block of a stage for warpgroup wg: per column pass p, its 64 A rows meet B rows
// [128p, 128p + 128) in kFolds groups of k32 steps, each into a fresh fp32 accumulator that
// fold(acc[j], tmp, scales, p, f) scales into acc[j] (j: the warpgroup's j-th pass);
// released() runs once the last MMA has read the stage; under_mma() runs once while the first
// group of MMAs is in flight (work that touches no accumulator: the next stage's loads).
template <int BM, int kFolds, typename Fold, typename Released, typename UnderMma>
__device__ __forceinline__ void block_mma(uint32_t stage, int wg, float (&acc)[Tile<BM>::kWgPasses][64], float (&tmp)[64],
                                          const BlockScales& scales, Fold&& fold, Released&& released, UnderMma&& under_mma) {
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
      if (j == 0 && f == 0) under_mma();
      wgmma_wait<0>();
      fence_fragment(tmp);
      if (j == Shape::kWgPasses - 1 && f == kFolds - 1) released();
      fold(acc[j], tmp, scales, p, f);
    }
  }
}

// MOE_WGMMA_DIAG_NO_LOADS 4 / 5: a block's scales made from kb instead of loaded (wrong results).
__device__ __forceinline__ BlockScales diag_block_scales(int kb) {
  const float s = 1.f + 1e-7f * kb;
  return BlockScales{{s, s, s, s, s, s}};
}

// The K loop of one tile: kKBlocks blocks of 128 through the tile's cp.async stages, all 256
// threads loading (load(stage, kb)) and multiplying. One block barrier per K block: the stage
// refilled in iteration kb was read in iteration kb - 1, whose MMAs every warpgroup waited for
// before it. Each block goes through block_mma with scales_of(kb), read from global memory a
// block ahead. (Scales loaded with the stages instead measured slower: NOTES.md, sessions 6 and
// 18; issued after the block's last wgmma commit instead, MOE_WGMMA_LATE_SCALES, no faster: session
// 18, commit 0003c7b has it.)
// kScalesAhead: scales_of loads from global memory, so block kb + 1's are loaded during block kb;
// else they are in shared memory (MOE_WGMMA_TILE_SCALES), landed with the first stage, and read
// at their block (the first read must follow the first stage's wait).
template <int BM, int kKBlocks, int kFolds, bool kScalesAhead, typename Load, typename Scales, typename Fold>
__device__ __forceinline__ void k_loop(uint32_t smem, Load&& load, float (&acc)[Tile<BM>::kWgPasses][64], Scales&& scales_of,
                                       Fold&& fold) {
  using Shape = Tile<BM>;
  const int wg = threadIdx.x >> 7;
#pragma unroll
  for (int s = 0; s < Shape::kStages - 1; ++s) {
    if (s < kKBlocks) load(s, s);
    asm volatile("cp.async.commit_group;\n" ::: "memory");
  }
  float tmp[64];
  BlockScales next_scales{};
  if constexpr (kScalesAhead) next_scales = scales_of(0);
#pragma unroll 1
  for (int kb = 0; kb < kKBlocks; ++kb) {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(Shape::kStages - 2) : "memory");
    fence_proxy_async();
    if constexpr (!MOE_WG_DIAG_SKIPS_BARRIER) __syncthreads();
    const BlockScales scales = kScalesAhead ? next_scales : scales_of(kb);
    // The next stage's copies and the next block's scales: one commit group per iteration.
    const auto issue_next = [&] {
      const int next = kb + Shape::kStages - 1;
      if (next < kKBlocks) load(next % Shape::kStages, next);
      asm volatile("cp.async.commit_group;\n" ::: "memory");
      if (kScalesAhead && kb + 1 < kKBlocks) next_scales = scales_of(kb + 1);
    };
    const uint32_t stage = smem + (kb % Shape::kStages) * Shape::kStageBytes;
    if constexpr (kLoadsUnderMma) {
      block_mma<BM, kFolds>(stage, wg, acc, tmp, scales, fold, [] {}, issue_next);
    } else {
      issue_next();
      block_mma<BM, kFolds>(stage, wg, acc, tmp, scales, fold, [] {}, [] {});
    }
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
// A staged row of kBN bf16 values (shared address src) to dst by one bulk copy (copy: the token's
// only local pair), or else by a bulk bf16 reduction into the row routing zeroed; then a commit.
__device__ __forceinline__ void bulk_row_out(__nv_bfloat16* dst, uint32_t src, bool copy) {
  if (copy)
    asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;\n" ::"l"(dst), "r"(src), "n"(kBN * 2) : "memory");
  else
    asm volatile("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.noftz.bf16 [%0], [%1], %2;\n" ::"l"(dst), "r"(src),
                 "n"(kBN * 2)
                 : "memory");
  asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
}

// MOE_WGMMA_MBAR_STAGES: k_loop without its block barrier. Every thread still copies its share of
// each stage, but a stage is handed over through mbarriers: "full" completes when all 256 threads'
// copies of the block have landed (cp.async arrivals), "empty" when all 8 MMA warps have waited for
// their last wgmma on it (one arrival per warp). A thread refills a stage after its own block's MMAs,
// once the block read there before has been released by every warp; so the two warpgroups may be a
// block apart, and one's wgmma waits and folds can run under the other's MMAs (the lockstep loop
// lines them up at every block barrier). bars: kStages "full" then kStages "empty"; g0: this tile's
// first block counted over the CTA's tiles (stage g % kStages, phase g / kStages).
// This thread's copies of the CTA's block g (stage g % kStages) through load(stage), once every warp
// has released the block that stage held before, then its arrival on the stage's "full" barrier.
template <int BM, typename Load>
__device__ __forceinline__ void fill_mbar_stage(const uint64_t* bars, int g, Load&& load) {
  using Shape = Tile<BM>;
  const uint32_t full = moe_tc::smem_addr(bars), empty = full + 8 * Shape::kStages;
  const int s = g % Shape::kStages;
  if (g >= Shape::kStages) mbar_wait(empty + 8 * s, (g / Shape::kStages - 1) & 1);
  load(s);
  mbar_arrive_on_cp_async(full + 8 * s);
}

// prefilled: this tile's first blocks already issued (MOE_WGMMA_NEXT_FILL: by the tile before, during
// its epilogue); resume() runs once before this loop fills block `prefilled` when that is not 0.
template <int BM, int kKBlocks, int kFolds, bool kScalesAhead, typename Load, typename Scales, typename Fold, typename First,
          typename Resume>
__device__ __forceinline__ void k_loop_mbar(uint32_t smem, const uint64_t* bars, int g0, Load&& load,
                                            float (&acc)[Tile<BM>::kWgPasses][64], Scales&& scales_of, Fold&& fold,
                                            First&& first_full, int prefilled, Resume&& resume) {
  using Shape = Tile<BM>;
  const int wg = threadIdx.x >> 7;
  const uint32_t full = moe_tc::smem_addr(bars), empty = full + 8 * Shape::kStages;
  const auto fill = [&](int kb) { fill_mbar_stage<BM>(bars, g0 + kb, [&](int s) { load(s, kb); }); };
  if (prefilled > 0) resume();
#pragma unroll
  for (int kb = 0; kb < Shape::kStages - 1; ++kb)
    if (kb >= prefilled && kb < kKBlocks) fill(kb);
  float tmp[64];
  BlockScales next_scales{};
  if constexpr (kScalesAhead) next_scales = scales_of(0);
#pragma unroll 1
  for (int kb = 0; kb < kKBlocks; ++kb) {
    const int g = g0 + kb, s = g % Shape::kStages;
    mbar_wait(full + 8 * s, (g / Shape::kStages) & 1);
    if (kb == 0) first_full();  // a measurement aid's mark (MOE_WGMMA_DIAG_TILE_TIMES), else nothing
    fence_proxy_async();
    const BlockScales scales = kScalesAhead ? next_scales : scales_of(kb);
    if (kScalesAhead && kb + 1 < kKBlocks) next_scales = scales_of(kb + 1);
    block_mma<BM, kFolds>(smem + s * Shape::kStageBytes, wg, acc, tmp, scales, fold,
                          [&] {
                            if ((threadIdx.x & 31) == 0) mbar_arrive(empty + 8 * s);
                          },
                          [] {});
    if (kb + Shape::kStages - 1 < kKBlocks) fill(kb + Shape::kStages - 1);
  }
}
#endif  // MOE_WG_DEVICE

// MOE_WGMMA_DIAG_TILE_TIMES: per GEMM (0, 1), CTA and the CTA's n-th tile, %globaltimer (ns) at:
// 0 the tile's top (the previous tile's output issued), 1 its pair list loaded (its first loads
// follow), 2 its first stage full, 3 its last MMA folded, 4 its output issued.
constexpr int kWgDiagCtas = 256;
constexpr int kWgDiagTiles = 64;
constexpr int kWgDiagMarks = 5;
#if MOE_WGMMA_DIAG_TILE_TIMES
__device__ unsigned long long g_wg_tile[2][kWgDiagCtas][kWgDiagTiles][kWgDiagMarks];
#endif
// Thread `recorder` (0 in the lockstep and producer kernels; the first MMA thread in the warp-specialized
// ones) writes mark `mark` of this CTA's tile number `n` of GEMM `gemm` once `after` exists.
__device__ __forceinline__ void wg_tile_mark(int gemm, int n, int mark, uint32_t after = 0u, int recorder = 0) {
#if MOE_WGMMA_DIAG_TILE_TIMES
  if (static_cast<int>(threadIdx.x) != recorder || blockIdx.x >= kWgDiagCtas || n >= kWgDiagTiles) return;
  g_wg_tile[gemm][blockIdx.x][n][mark] = afg::globaltimer_after(after);
#else
  (void)gemm;
  (void)n;
  (void)mark;
  (void)after;
  (void)recorder;
#endif
}

// Which tile a CTA computes: expert le, pair slots [m0, m0 + BM) of its list (cnt pairs in all),
// column tile col.
struct TileCoord {
  int le, m0, col, cnt;
  int slot0;  // the tile's first row in expert-slot order (the walk's row tiles before it, times BM; persistent tiles)
};
// The tile's pair id at row r (-1 past the expert's count).
__device__ __forceinline__ int pair_at(const int* lists, const TileCoord& c, int r, int T) {
  const int m = c.m0 + r;
  return m < c.cnt ? lists[c.le * T + m] : -1;
}

// Persistent tiles (MOE_WGMMA_PERSISTENT): the grid is the resident CTAs and CTA b takes tiles
// b, b + G, b + 2G, ... of the list of real tiles (experts in order; within an expert row tiles
// fastest, or column tiles with MOE_WGMMA_TILE_ORDER=0), which every CTA derives from the 32 counts. Otherwise the grid is
// (column tiles, ceil(T / BM), 32 experts) and the CTAs past their expert's count have no tile:
// at T=14107 that was 54784 of 56832 GEMM1 CTAs and 95872 of 99456 GEMM2 CTAs, each holding an
// SM's only slot (192 KB of stages) while it read its count and returned.
constexpr bool kPersistentTiles = MOE_WGMMA_PERSISTENT != 0;
struct WalkShared {
  int start[kLocalExperts + 1];  // row tiles before expert e
  int count[kLocalExperts];
};
template <int BM, int kCols>
struct TileWalk {
  int first, step, total;
  const WalkShared* s;
  // Tile t; le: an expert at or before tile t's (0, or the expert of an earlier tile of the same
  // thread, whose walk only moves forward), left at tile t's. Searching from the previous tile's
  // expert instead of expert 0 takes the ~16 dependent shared-memory reads off a large-T tile's
  // turnover (session 31's tile timeline: ~1 us between a tile's output and the next tile's top).
  __device__ __forceinline__ TileCoord at(int t, int& le) const {
    if constexpr (!kPersistentTiles) {
      return {static_cast<int>(blockIdx.z), static_cast<int>(blockIdx.y) * BM, static_cast<int>(blockIdx.x), s->count[0]};
    } else if constexpr (MOE_WGMMA_TILE_ORDER == 0) {  // column tile fastest
      const int row_tile = t / kCols;
      while (le + 1 < kLocalExperts && s->start[le + 1] <= row_tile) ++le;
      return {le, (row_tile - s->start[le]) * BM, t % kCols, s->count[le], row_tile * BM};
    } else {  // row tile fastest within an expert: the CTAs sharing a B tile are adjacent
      while (le + 1 < kLocalExperts && s->start[le + 1] * kCols <= t) ++le;
      const int local = t - s->start[le] * kCols, rows = s->start[le + 1] - s->start[le];
      return {le, (local % rows) * BM, local / rows, s->count[le], (s->start[le] + local % rows) * BM};
    }
  }
  __device__ __forceinline__ TileCoord at(int t) const {
    int le = 0;
    return at(t, le);
  }
};
// Every thread of the CTA; ends with a block barrier.
template <int BM, int kCols>
__device__ __forceinline__ TileWalk<BM, kCols> make_walk(const int* counts, WalkShared& s) {
  if constexpr (kPersistentTiles) {
    if (threadIdx.x < kLocalExperts) {
      const int lane = threadIdx.x, cnt = counts[lane];
      int tiles = (cnt + BM - 1) / BM;
#pragma unroll
      for (int d = 1; d < kLocalExperts; d <<= 1) {
        const int v = __shfl_up_sync(0xffffffffu, tiles, d);
        if (lane >= d) tiles += v;
      }
      s.count[lane] = cnt;
      s.start[lane + 1] = tiles;
      if (lane == 0) s.start[0] = 0;
    }
    __syncthreads();
    return {static_cast<int>(blockIdx.x), static_cast<int>(gridDim.x), s.start[kLocalExperts] * kCols, &s};
  } else {
    if (threadIdx.x == 0) s.count[0] = counts[blockIdx.z];
    __syncthreads();
    return {0, 1, static_cast<int>(blockIdx.y) * BM < s.count[0] ? 1 : 0, &s};
  }
}

#if MOE_WG_DEVICE
__device__ __forceinline__ void producer_barrier() { asm volatile("bar.sync 1, %0;\n" ::"n"(kProducers) : "memory"); }

// This thread's share of every stage in lockstep loading: 16-byte chunk (tid & 7) of tile rows
// (tid >> 3) + 32 i of A (BM / 32 rows, gathered: one pointer each) and of B (8 rows: one base
// pointer plus the op's constant offsets, which keeps the registers for the accumulators). Its
// swizzled offset in a tile is the same for all of them (32 i keeps row & 7).
template <int BM, typename Op>
struct StageLoader {
  static constexpr int kRowsA = Tile<BM>::kLoadRowsA;
  const uint8_t* a[kRowsA];
  const uint8_t* b;
  uint32_t offset;
  __device__ __forceinline__ StageLoader(const Op& op, const TileCoord& c, const int* s_pair, int tid) {
    const int row = tid >> 3, byte = (tid & 7) * 16;
    offset = static_cast<uint32_t>(moe_tc::swizzled(row, byte, kRowBytes));
#pragma unroll
    for (int i = 0; i < kRowsA; ++i)
      a[i] = op.a_row(MOE_WGMMA_DIAG_NO_LOADS == 7 ? (row + kRowStep * i) * kTopK : s_pair[row + kRowStep * i]) + byte;
    b = op.b_tile(MOE_WGMMA_DIAG_NO_LOADS >= 6 ? TileCoord{0, 0, 0, c.cnt} : c) + Op::b_offset(row) + byte;
  }
  __device__ __forceinline__ void load(uint32_t stage, int kb) const {
#if !MOE_WG_DIAG_SKIPS_LOADS
    constexpr int kRowsB = MOE_WGMMA_DIAG_NO_LOADS == 2 ? kLoadRowsB / 2 : kLoadRowsB;
#pragma unroll
    for (int i = 0; i < kRowsA; ++i) cp_async16(stage + offset + i * kRowStep * kRowBytes, a[i] + kb * kRowBytes);
#pragma unroll
    for (int i = 0; i < kRowsB; ++i)
      cp_async16(stage + Tile<BM>::kTileA + offset + i * kRowStep * kRowBytes, b + Op::b_offset(kRowStep * i) + kb * kRowBytes);
#endif
  }
};

// The producer warpgroup's K loop of one tile: for each K block (g: its number counted over all
// of this CTA's tiles, which sets the stage and the barrier phase), once the MMA threads have
// released the stage it refills (the one read kStages blocks before), 16-byte pieces of the BM A
// rows (s_pair: the tile's pairs) and of the 256 B rows with the 128-byte swizzle, producer
// thread p taking piece p % 8 of rows p / 8 + 16 i; then the op copies the block's scales into the
// stage's scale slots, and the threads' arrivals on "full" follow their copies.
// Block kb's B tile of tile c as kBN / kBoxRows TMA boxes of b_map (Op::b_box_row) into the stage at
// `stage`, completing on the barrier at shared address bar (armed by the caller).
template <int BM, typename Op>
__device__ __forceinline__ void issue_b_boxes(uint32_t stage, const CUtensorMap* b_map, const TileCoord& c, int kb, uint32_t bar) {
#pragma unroll
  for (int j = 0; j < kBN / kBoxRows; ++j)
    afg::tma_load_2d(stage + Tile<BM>::kTileA + j * kBoxRows * kRowBytes, b_map, kb * kRowBytes, Op::b_box_row(c, j), bar);
}

// b_map (MOE_WGMMA_BM64_TMA): the B tile as four 64-row TMA boxes of the weights' map (Op::b_box_row),
// issued by producer thread 0 with the stage's bytes armed on "full" (one more arrival than the
// cp.async ones); else the producer threads' cp.async pieces.
// a_map (MOE_WGMMA_BM64_SLOT_C, GEMM2): the A tile too, one BM-row box of C in slot order (rows
// c.slot0..), from the same thread onto the same barrier; for blocks whose B went out before the
// kernel's wait, its bytes are added to the phase without another arrival.
template <int BM, typename Op>
__device__ __forceinline__ void produce(const Op& op, const TileCoord& c, const int* s_pair, uint32_t smem, uint64_t* bars,
                                        float* s_scales, int g0, const CUtensorMap* b_map, int b_issued = 0,
                                        const CUtensorMap* a_map = nullptr) {
  using Shape = Tile<BM>;
  if constexpr (BM != kBoxRows) a_map = nullptr;  // one box per A tile: the 64-pair tiles only
  const int p = threadIdx.x - kConsumers, byte = (p & 7) * 16, r0 = p >> 3;
  const uint32_t full = moe_tc::smem_addr(bars), empty = full + 8 * Shape::kStages;
  const uint8_t* b_tile = op.b_tile(c);
#pragma unroll 1
  for (int kb = 0; kb < Op::kKBlocks; ++kb) {
    const int g = g0 + kb, s = g % Shape::kStages;
    if (g >= Shape::kStages) mbar_wait(empty + 8 * s, (g / Shape::kStages - 1) & 1);
    const uint32_t stage = smem + s * Shape::kStageBytes;
#if !MOE_WG_DIAG_SKIPS_LOADS
#pragma unroll
    for (int i = 0; i < BM / 16; ++i) {
      const int row = r0 + 16 * i;
      if (MOE_WGMMA_DIAG_NO_LOADS != 8 && a_map == nullptr)
        cp_async16(stage + moe_tc::swizzled(row, byte, kRowBytes), op.a_row(s_pair[row]) + kb * kRowBytes + byte);
    }
    if (a_map != nullptr && p == 0 && MOE_WGMMA_DIAG_NO_LOADS != 9) {
      if (kb < b_issued) afg::mbar_expect_tx(&bars[s], Shape::kTileA);  // B armed its bytes and the arrival
      else afg::mbar_arrive_expect_tx(&bars[s], kTileB + Shape::kTileA);
      afg::tma_load_2d(stage, a_map, kb * kRowBytes, c.slot0, full + 8 * s);
    }
    if (b_map != nullptr) {
      if (p == 0 && MOE_WGMMA_DIAG_NO_LOADS == 9) {
        afg::mbar_arrive(&bars[s]);  // the boxes' arrival, without the boxes
      } else if (p == 0 && kb >= b_issued) {  // (blocks below b_issued: issued before the kernel's wait)
        if (a_map == nullptr) afg::mbar_arrive_expect_tx(&bars[s], kTileB);  // (else armed with A's above)
        issue_b_boxes<BM, Op>(stage, b_map, c, kb, full + 8 * s);
      }
    } else {
#pragma unroll
      for (int i = 0; i < (MOE_WGMMA_DIAG_NO_LOADS == 2 ? kBN / 32 : kBN / 16); ++i) {
        const int row = r0 + 16 * i;
        cp_async16(stage + Shape::kTileA + moe_tc::swizzled(row, byte, kRowBytes), b_tile + Op::b_offset(row) + kb * kRowBytes + byte);
      }
    }
#endif
    op.template load_scales<BM>(s_scales + s * Shape::kScaleSlots, c, kb, p, s_pair);
    mbar_arrive_on_cp_async(full + 8 * s);
  }
}

// The MMA warpgroups' K loop of one tile with a producer warpgroup: wait for the stage to be
// full, read its scales, multiply (block_mma), release the stage once the last MMA has read it.
// first_full: called once the tile's first stage is full (a measurement aid's mark, else nothing).
template <int BM, typename Op, typename FirstFull>
__device__ __forceinline__ void consume(const Op& op, uint32_t smem, uint64_t* bars, const float* s_scales, int g0, int r_lo,
                                        float (&acc)[Tile<BM>::kWgPasses][64], FirstFull&& first_full) {
  using Shape = Tile<BM>;
  const int wg = threadIdx.x >> 7;
  const uint32_t full = moe_tc::smem_addr(bars), empty = full + 8 * Shape::kStages;
  float tmp[64];
#pragma unroll 1
  for (int kb = 0; kb < Op::kKBlocks; ++kb) {
    const int g = g0 + kb, s = g % Shape::kStages;
    mbar_wait(full + 8 * s, (g / Shape::kStages) & 1);
    if (kb == 0) first_full();
    fence_proxy_async();
    const BlockScales scales = op.template read<BM>(s_scales + s * Shape::kScaleSlots, r_lo);
    if constexpr (MOE_WGMMA_DIAG_NO_LOADS == 10) {  // the stages released as soon as they are full
      if ((threadIdx.x & 31) == 0) mbar_arrive(empty + 8 * s);
      continue;
    }
    // One arrival per warp: its wgmma wait (warp-synchronous) has seen the stage's last MMA complete.
    block_mma<BM, Op::kFolds>(smem + s * Shape::kStageBytes, wg, acc, tmp, scales, Op::fold, [&] {
      if ((threadIdx.x & 31) == 0) mbar_arrive(empty + 8 * s);
    }, [] {});
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

// The tiles of one grouped GEMM, for both kernels: Op says where A rows and B tiles are, how the
// scales are loaded and folded, and what the epilogue does; this loops over the CTA's tiles, the
// loading and the MMAs (lockstep, or a producer warpgroup and two MMA warpgroups).
//   Op::kCols column tiles, Op::kKBlocks K blocks of 128, Op::kFolds folds per column pass;
//   a_row(pair): A row start (a finite row for pair -1); b_tile(c): B row 0 of the tile,
//   b_offset(r): bytes from it to B row r; fetch(c, pair_lo, pair_hi, kb): this thread's scales
//   of block kb from global memory (lockstep); load_scales(slots, c, kb, p, s_pair) / read(slots,
//   r_lo): the same through a stage's scale slots (producer); fold(acc, tmp, scales, pass, f);
//   epilogue(c, acc, pair_lo, pair_hi, tid).
template <int BM, typename Op>
__device__ __forceinline__ void gemm_tiles(const Op& op, const int* counts, const int* lists, int T, uint8_t* dynamic_smem,
                                           const CUtensorMap* b_map, const CUtensorMap* a_map = nullptr) {
  using Shape = Tile<BM>;
  // MOE_WGMMA_BULK_OUT (GEMM2, lockstep loading only: a producer refills the stages during the epilogue).
  constexpr bool kBulkOut = Op::kBulkOut && !Shape::kProducer;
  // MOE_WGMMA_NEXT_FILL (with bulk output and mbarrier stages): the next tile's pair list copied
  // under this tile's K loop, its scales and first kNextBlocks blocks issued before this tile's
  // epilogue, whose rows are staged in the stages after those; pairs and scales double-buffered.
  constexpr bool kNextFill = MOE_WGMMA_NEXT_FILL != 0 && kBulkOut && kMbarStages;
  constexpr int kNextBlocks = 2;
  constexpr int kBuffers = kNextFill ? 2 : 1;
  static_assert(!kNextFill || kNextBlocks <= Shape::kStages - 2, "the next tile's first blocks leave two stages");
  __shared__ int s_pair_buffers[kBuffers][BM];
  __shared__ uint64_t s_bars[2 * Shape::kStages];  // "full" and "empty" per stage (producer)
  __shared__ __align__(16) float s_scales[Shape::kProducer ? Shape::kStages * Shape::kScaleSlots : 1];
  __shared__ WalkShared s_walk;
  // MOE_WGMMA_TILE_SCALES (lockstep loading): the tile's scales, copied at its start.
  constexpr bool kStagedScales = !Shape::kProducer && (kTileScales == 3 || (kTileScales == 2 && Op::kGemm2));
  constexpr int kTileScaleFloats = kStagedScales ? Op::template kTileScaleFloats<BM> : 1;
  __shared__ __align__(16) float s_tile_scale_buffers[kBuffers][kTileScaleFloats];
  int* s_pair = s_pair_buffers[0];
  float* s_tile_scales = s_tile_scale_buffers[0];
  // Whether the epilogue's row weights and masks come staged with the tile's scales (else row_info).
  constexpr bool kStagedRows = kStagedScales && Op::kStagedEpilogue;
  const int tid = threadIdx.x;
  // The stages' mbarriers: filled by the producer warpgroup, or by every MMA thread without the
  // block barrier (MOE_WGMMA_MBAR_STAGES).
  constexpr bool kStageBars = Shape::kProducer || kMbarStages;
  if (kStageBars && tid == 0) {
    const uint32_t full = moe_tc::smem_addr(s_bars), empty = full + 8 * Shape::kStages;
    for (int s = 0; s < Shape::kStages; ++s) {
      // b_map: producer thread 0's arrival with the boxes' bytes besides the producers' cp.async ones.
      mbar_init(full + 8 * s, Shape::kProducer ? kProducers + (b_map != nullptr ? 1 : 0) : kConsumers);
      mbar_init(empty + 8 * s, kConsumers / 32);  // one arrival per MMA warp
    }
    afg::mbar_init_fence();  // the barriers' initialization visible to the TMA boxes' completions
  }
  // MOE_WGMMA_GEMM2_EARLY_B: GEMM2's producer issues its first tile's first B boxes before the
  // programmatic wait for GEMM1: W2 and the tile walk (routing's counts, complete
  // before GEMM1 let this grid launch) do not depend on GEMM1. Else every thread waits first.
  constexpr bool kEarlyB = Op::kGemm2 && Shape::kProducer && MOE_WGMMA_GEMM2_EARLY_B != 0 && MOE_WGMMA_DIAG_NO_LOADS != 9;
  if constexpr (!kEarlyB) pdl_wait_then_allow();
  const TileWalk<BM, Op::kCols> walk = make_walk<BM, Op::kCols>(counts, s_walk);  // block barrier inside
  const uint32_t stages = aligned_stages(dynamic_smem);
  constexpr int kEarlyStages = kEarlyB ? (Shape::kStages < Op::kKBlocks ? Shape::kStages : Op::kKBlocks) : 0;
  const int b_early = kEarlyB && b_map != nullptr && walk.first < walk.total ? kEarlyStages : 0;
  if constexpr (kEarlyB) {
    if (b_early > 0 && tid == kConsumers) {
      const TileCoord c = walk.at(walk.first);
      const uint32_t full = moe_tc::smem_addr(s_bars);
      for (int kb = 0; kb < b_early; ++kb) {  // the CTA's blocks 0.. fill stages 0.. (no stage to wait for)
        afg::mbar_arrive_expect_tx(&s_bars[kb], kTileB);
        issue_b_boxes<BM, Op>(stages + kb * Shape::kStageBytes, b_map, c, kb, full + 8 * kb);
      }
    }
    pdl_wait_then_allow();
  }
  if constexpr (Shape::kProducer) {
    if (tid >= kConsumers) {
      asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(RegisterSplit<BM>::kProducer));
      int g = 0;
#pragma unroll 1
      for (int t = walk.first; t < walk.total; t += walk.step, g += Op::kKBlocks) {
        const TileCoord c = walk.at(t);
        producer_barrier();  // every producer thread is done with the previous tile's pairs
        for (int r = tid - kConsumers; r < BM; r += kProducers) s_pair[r] = pair_at(lists, c, r, T);
        producer_barrier();
        produce<BM>(op, c, s_pair, stages, s_bars, s_scales, g, b_map, g == 0 ? b_early : 0, a_map);
      }
      asm volatile("cp.async.wait_all;\n" ::: "memory");
      return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(RegisterSplit<BM>::kConsumer));
  }
  const int r_lo = thread_row<BM>(tid);
  int g = 0;
  int tile_n = 0;  // this CTA's tiles so far (MOE_WGMMA_DIAG_TILE_TIMES)
  constexpr int kDiagGemm = Op::kGemm2 ? 1 : 0;
  // MOE_WGMMA_NEXT_FILL: this tile's pairs, scales and first blocks came from the tile before.
  bool prefetched = false;
#pragma unroll 1
  for (int t = walk.first; t < walk.total; t += walk.step, g += Op::kKBlocks, ++tile_n) {
    const TileCoord c = walk.at(t);
    // MOE_WGMMA_NEXT_FILL: whether this tile loads the next one's pairs, scales and first blocks.
    const bool has_next = kNextFill && t + walk.step < walk.total;
    if constexpr (kNextFill) {
      s_pair = s_pair_buffers[tile_n & 1];
      s_tile_scales = s_tile_scale_buffers[tile_n & 1];
    }
    wg_tile_mark(kDiagGemm, tile_n, 0);
    float acc[Shape::kWgPasses][64];
#pragma unroll
    for (int j = 0; j < Shape::kWgPasses; ++j)
#pragma unroll
      for (int i = 0; i < 64; ++i) acc[j][i] = 0.f;
    int pair_lo, pair_hi;
    typename Op::RowInfo row_info{};  // the epilogue's per-row values, read at the tile's start (unstaged)
    if constexpr (Shape::kProducer) {
      // Rows past the expert's count are -1 and read finite data (a_row); they are never stored.
      pair_lo = pair_at(lists, c, r_lo, T);
      pair_hi = pair_at(lists, c, r_lo + 8, T);
      if constexpr (!kStagedRows) row_info = op.row_info(pair_lo, pair_hi);
      wg_tile_mark(kDiagGemm, tile_n, 1, static_cast<uint32_t>(pair_lo));
      consume<BM>(op, stages, s_bars, s_scales, g, r_lo, acc, [&] { wg_tile_mark(kDiagGemm, tile_n, 2); });
      wg_tile_mark(kDiagGemm, tile_n, 3, __float_as_uint(acc[0][0]));
    } else {
      if (!prefetched) {
        // MOE_WGMMA_BULK_OUT: the previous tile's output rows have been read out of the stages.
        if (kBulkOut && tid < BM) asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory");
        __syncthreads();  // every thread is done with the previous tile's pairs and stages
        moe_tc::load_tile_pairs<BM>(s_pair, lists, c.le, c.m0, c.cnt, T, tid);
        __syncthreads();
      }
      pair_lo = s_pair[r_lo];
      pair_hi = s_pair[r_lo + 8];
      if constexpr (!kStagedRows) row_info = op.row_info(pair_lo, pair_hi);
      wg_tile_mark(kDiagGemm, tile_n, 1, static_cast<uint32_t>(pair_lo));
      const StageLoader<BM, Op> loader(op, c, s_pair, tid);
      const auto load = [&](int s, int kb) { loader.load(stages + s * Shape::kStageBytes, kb); };
      // Staged scales land with the tile's first stage (the same commit group, or the same
      // cp.async arrival on its "full" barrier); the block barrier at the tile start above keeps
      // the previous tile's readers behind us. (A prefetched tile's were issued with its first blocks.)
      if constexpr (kStagedScales && !MOE_WG_DIAG_CONST_SCALES) {
        if (!prefetched) op.template stage_tile_scales<BM>(s_tile_scales, c, s_pair, tid);
      }
      if constexpr (kNextFill) {
        // The next tile's pair list into the other buffer, under this K loop: thread r copies row r
        // (its own bulk_out_row of two tiles back read that entry before), a cp.async covered by the
        // thread's next arrival on a "full" barrier, which every thread waits for.
        if (has_next && tid < BM) {
          // (The next tile's coordinates are recomputed after the K loop, not kept live through it.)
          const TileCoord next = walk.at(t + walk.step);
          int* next_pairs = s_pair_buffers[(tile_n + 1) & 1];
          if (next.m0 + tid < next.cnt) {
            cp_async4(reinterpret_cast<float*>(next_pairs + tid), reinterpret_cast<const float*>(lists + next.le * T + next.m0 + tid));
          } else {
            next_pairs[tid] = -1;
          }
        }
      }
      // The block's scales, for either K loop (the diagnostics' made-up ones included).
      const auto fetch = [&](int kb) {
        if constexpr (MOE_WG_DIAG_CONST_SCALES) return diag_block_scales(kb);
        else if constexpr (kStagedScales) return Op::template read_tile_scales<BM>(s_tile_scales, r_lo, kb);
        else return op.fetch(c, pair_lo, pair_hi, kb);
      };
      constexpr bool kAhead = !kStagedScales;
      if constexpr (kMbarStages) {
        // A prefetched tile's blocks from kNextBlocks on go where the tile before staged its output
        // rows: its bulk copies must have read them first.
        k_loop_mbar<BM, Op::kKBlocks, Op::kFolds, kAhead>(stages, s_bars, g, load, acc, fetch, Op::fold,
                                                          [&] { wg_tile_mark(kDiagGemm, tile_n, 2); },
                                                          prefetched ? kNextBlocks : 0, [&] {
                                                            if (tid < BM) asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory");
                                                            __syncthreads();
                                                          });
      } else {
        k_loop<BM, Op::kKBlocks, Op::kFolds, kAhead>(stages, load, acc, fetch, Op::fold);
      }
      wg_tile_mark(kDiagGemm, tile_n, 3, __float_as_uint(acc[0][0]));
    }
    const float* staged = kStagedScales ? s_tile_scales : nullptr;  // the epilogue's staged arrays
    if constexpr (kBulkOut) {
      static_assert(BM * Op::kOutRowBytes <= Shape::kStages * Shape::kStageBytes, "the output tile fits the stages");
      static_assert(!kNextFill || BM * Op::kOutRowBytes <= (Shape::kStages - kNextBlocks) * Shape::kStageBytes,
                    "the output tile fits the stages after the next tile's first blocks");
      __syncthreads();  // both warpgroups' last MMAs have read the stages
      // MOE_WGMMA_NEXT_FILL: the output rows after the next tile's first blocks, which load meanwhile.
      const uint32_t out = kNextFill ? stages + kNextBlocks * Shape::kStageBytes : stages;
      if constexpr (kNextFill) {
        prefetched = has_next;
        if (prefetched) {
          // The next tile's pair list landed (every thread waited for every "full" barrier of this
          // tile) and its rows past the expert's count were set before the barrier above.
          const TileCoord next = walk.at(t + walk.step);
          const int* next_pairs = s_pair_buffers[(tile_n + 1) & 1];
          if constexpr (kStagedScales && !MOE_WG_DIAG_CONST_SCALES) {
            op.template stage_tile_scales<BM>(s_tile_scale_buffers[(tile_n + 1) & 1], next, next_pairs, tid);
          }
          const StageLoader<BM, Op> next_loader(op, next, next_pairs, tid);
#pragma unroll 1
          for (int kb = 0; kb < kNextBlocks && kb < Op::kKBlocks; ++kb) {
            fill_mbar_stage<BM>(s_bars, g + Op::kKBlocks + kb,
                                [&](int s) { next_loader.load(stages + s * Shape::kStageBytes, kb); });
          }
        }
      }
      op.template stage_out<BM>(acc, pair_lo, pair_hi, tid, staged, out);
      if constexpr (MOE_WGMMA_DIAG_EPILOGUE != 6) fence_proxy_async();  // this thread's rows, visible to the bulk copies
      __syncthreads();
      if (tid < BM) op.template bulk_out_row<BM>(c, s_pair[tid], tid, staged, out);
    } else {
      op.template epilogue<BM>(c, acc, pair_lo, pair_hi, tid, staged, row_info);
    }
    wg_tile_mark(kDiagGemm, tile_n, 4);
  }
  // The bulk copies must have landed before the CTA's shared memory goes away (and their global
  // writes be done before the kernel ends).
  if (kBulkOut && tid < BM) asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
}

// ------------------------------------------------------------------------------------------------
// GEMM1 + SwiGLU: a tile is BM pairs x 128 C columns n0 = 128 col (256 W1 rows: column pass p is
// X1 rows n0 + 64p.. and the matching X2 rows, so one thread holds X1 and X2 of the same column
// and SwiGLU is done in registers). kFp8C: C in fp8 with a scale per (pair, 64 columns) into
// c_scale, else bf16.
template <bool kFp8C>
struct Gemm1Op {
  static constexpr int kCols = kInter / 128, kKBlocks = kHiddenBlocks, kFolds = 1;
  static constexpr bool kGemm2 = false;
  static constexpr bool kBulkOut = false;  // C goes out by the threads' own stores
  const uint8_t* hidden;
  const float* hidden_scale;
  const uint8_t* w1;
  const float* w1_scale;
  int T;
  void* c_out;
  float* c_scale;
  bool c_slots;  // MOE_WGMMA_BM64_SLOT_C: C's rows in expert-slot order (TileCoord::slot0), its scales by pair

  __device__ __forceinline__ static int token(int pair) { return pair >= 0 ? pair / kTopK : 0; }
  __device__ __forceinline__ const uint8_t* a_row(int pair) const { return hidden + static_cast<int64_t>(token(pair)) * kHidden; }
  __device__ __forceinline__ const uint8_t* b_tile(const TileCoord& c) const {
    return w1 + (static_cast<int64_t>(c.le) * kGemm1Out + c.col * 128) * kHidden;
  }
  // B rows [128p, 128p + 64) are X1 rows n0 + 64p.., [128p + 64, 128p + 128) the X2 rows kInter + n0 + 64p..
  __device__ __forceinline__ static int64_t b_offset(int r) {
    const int p = r / 128, in_pass = r % 128;
    return static_cast<int64_t>((in_pass < 64 ? 0 : kInter) + 64 * p + in_pass % 64) * kHidden;
  }
  // MOE_WGMMA_BM64_TMA: box j (64 B rows 64j..) of the tile as a row of W1's map ([32 x 4096] rows).
  __device__ __forceinline__ static int b_box_row(const TileCoord& c, int j) {
    return c.le * kGemm1Out + (j & 1) * kInter + c.col * 128 + 64 * (j >> 1);
  }
  // The tile's 128 X1 columns are one W1 scale block, and so are their X2 columns.
  __device__ __forceinline__ const float* w_scales(const TileCoord& c, int half) const {
    return w1_scale + (static_cast<int64_t>(c.le) * kGemm1OutBlocks + half * (kInter / kQBlock) + c.col) * kHiddenBlocks;
  }
  // Scales: v = {row lo's activation scale, row hi's, X1 weight scale, X2 weight scale}.
  __device__ __forceinline__ BlockScales fetch(const TileCoord& c, int pair_lo, int pair_hi, int kb) const {
    const float* sa = hidden_scale + static_cast<int64_t>(kb) * T;
    return BlockScales{{sa[token(pair_lo)], sa[token(pair_hi)], w_scales(c, 0)[kb], w_scales(c, 1)[kb], 0.f, 0.f}};
  }
  template <int BM>
  __device__ __forceinline__ void load_scales(float* slots, const TileCoord& c, int kb, int p, const int* s_pair) const {
    for (int r = p; r < BM; r += kProducers) cp_async4(slots + r, hidden_scale + static_cast<int64_t>(kb) * T + token(s_pair[r]));
    if (p < 2) cp_async4(slots + BM + p, w_scales(c, p) + kb);
  }
  template <int BM>
  __device__ __forceinline__ BlockScales read(const float* slots, int r_lo) const {
    return BlockScales{{slots[r_lo], slots[r_lo + 8], slots[BM], slots[BM + 1], 0.f, 0.f}};
  }

  // MOE_WGMMA_TILE_SCALES=3: a tile's scales in shared memory. hidden_scale is token-major here
  // ([T][kKBlocks], 224 bytes a token), so a row's scales are 14 16-byte copies, rows
  // kTokenMajorStride floats apart (+4: a quad's 8 rows hit 8 banks); then the X1 and X2 weight
  // scales as [half][kb].
  static constexpr int kTokenMajorStride = kKBlocks + 4;
  template <int BM>
  static constexpr int kTileScaleFloats = BM * kTokenMajorStride + 2 * kKBlocks;
  template <int BM>
  __device__ __forceinline__ void stage_tile_scales(float* dst, const TileCoord& c, const int* s_pair, int tid) const {
    constexpr int kPieces = kKBlocks / 4;
    static_assert(kKBlocks % 4 == 0, "16-byte pieces of a token's scales");
    for (int i = tid; i < BM * kPieces; i += kConsumers) {
      const int r = i / kPieces, q = i % kPieces;
      cp_async16(moe_tc::smem_addr(dst + r * kTokenMajorStride + 4 * q), hidden_scale + static_cast<int64_t>(token(s_pair[r])) * kKBlocks + 4 * q);
    }
    float* w = dst + BM * kTokenMajorStride;
    for (int i = tid; i < 2 * kKBlocks; i += kConsumers) cp_async4(w + i, w_scales(c, i / kKBlocks) + i % kKBlocks);
  }
  template <int BM>
  __device__ __forceinline__ static BlockScales read_tile_scales(const float* src, int r_lo, int kb) {
    const float* w = src + BM * kTokenMajorStride;
    return BlockScales{{src[r_lo * kTokenMajorStride + kb], src[(r_lo + 8) * kTokenMajorStride + kb], w[kb], w[kKBlocks + kb], 0.f, 0.f}};
  }
  __device__ __forceinline__ static void fold(float (&a)[64], const float (&t)[64], const BlockScales& s, int, int) {
    // Fragment i: column tile i / 4 (0-7 X1, 8-15 X2), row lo for i % 4 < 2, hi otherwise.
    const float f[4] = {s.v[0] * s.v[2], s.v[1] * s.v[2], s.v[0] * s.v[3], s.v[1] * s.v[3]};
#pragma unroll
    for (int i = 0; i < 64; ++i) a[i] += t[i] * f[(i < 32 ? 0 : 2) + ((i & 2) ? 1 : 0)];
  }
  // What the epilogue needs of its rows beyond the pairs (GEMM2's RowInfo): nothing here.
  static constexpr bool kStagedEpilogue = false;
  struct RowInfo {};
  __device__ __forceinline__ RowInfo row_info(int /*pair_lo*/, int /*pair_hi*/) const { return {}; }
  // SwiGLU: C[pair][n0 + 64 p + 8 q + 2 (lane % 4) + e] = silu(X2) * X1, X2 in fragment i + 32.
  // fp8 C: one scale per (pair, kCScaleCols columns). A row's 64 values of a pass are spread over
  // a quad of lanes; with 128-column scales the row's two passes are in this thread (BM = 128) or
  // in the other warpgroup (BM = 64: exchanged through shared memory between two barriers of the
  // 256 MMA threads).
  template <int BM>
  __device__ __forceinline__ void epilogue(const TileCoord& c, const float (&acc)[Tile<BM>::kWgPasses][64], int pair_lo,
                                           int pair_hi, int tid, const float* /*staged*/, const RowInfo& /*info*/) const {
    using Shape = Tile<BM>;
    constexpr int kPasses = Shape::kWgPasses;
    constexpr bool kExchange = kFp8C && kCScaleCols == 128 && kPasses == 1;
    __shared__ float s_amax[kExchange ? 2 * BM : 1];
    const int lane = tid & 31, r_lo = thread_row<BM>(tid);
    [[maybe_unused]] uint32_t keep = 0;  // MOE_WGMMA_DIAG_EPILOGUE=3: every C value feeds it (kept_alive below)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int pair = half ? pair_hi : pair_lo;
      float v[kPasses][16];
      float amax[kPasses];
#pragma unroll
      for (int j = 0; j < kPasses; ++j) {
        amax[j] = 0.f;
#pragma unroll
        for (int q = 0; q < 8; ++q)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            v[j][2 * q + e] = moe_tc::silu_mul(acc[j][4 * q + 2 * half + e], acc[j][32 + 4 * q + 2 * half + e]);
            amax[j] = fmaxf(amax[j], fabsf(v[j][2 * q + e]));
          }
        amax[j] = fmaxf(amax[j], __shfl_xor_sync(0xffffffffu, amax[j], 1));
        amax[j] = fmaxf(amax[j], __shfl_xor_sync(0xffffffffu, amax[j], 2));
      }
      if constexpr (kFp8C && kCScaleCols == 128) {
        if constexpr (kPasses == 2) {
          amax[0] = amax[1] = fmaxf(amax[0], amax[1]);
        } else {
          const int row = r_lo + 8 * half, p = Shape::first_pass(tid >> 7);
          if ((lane & 3) == 0) s_amax[p * BM + row] = amax[0];
          asm volatile("bar.sync 2, %0;\n" ::"n"(kConsumers) : "memory");
          amax[0] = fmaxf(s_amax[row], s_amax[BM + row]);
          asm volatile("bar.sync 2, %0;\n" ::"n"(kConsumers) : "memory");  // read before the next half writes
        }
      }
      if (pair < 0) continue;
#pragma unroll
      for (int j = 0; j < kPasses; ++j) {
        const int p = Shape::first_pass(tid >> 7) + j;
        const int col = c.col * 128 + 64 * p + 2 * (lane & 3);
        if constexpr (kFp8C) {
          const float inv = amax[j] > 0.f ? 448.f / amax[j] : 0.f;
          const int64_t crow = c_slots ? static_cast<int64_t>(c.slot0) + r_lo + 8 * half : pair;
          uint8_t* dst = static_cast<uint8_t*>(c_out) + crow * kInter + col;
#pragma unroll
          for (int q = 0; q < 8; ++q) {
            const __nv_fp8x2_storage_t x =
                __nv_cvt_float2_to_fp8x2(make_float2(v[j][2 * q] * inv, v[j][2 * q + 1] * inv), __NV_SATFINITE, __NV_E4M3);
            if constexpr (MOE_WGMMA_DIAG_EPILOGUE == 3) keep ^= x;
            else *reinterpret_cast<__nv_fp8x2_storage_t*>(dst + 8 * q) = x;
          }
          if ((lane & 3) == 0 && (64 * p) % kCScaleCols == 0 && MOE_WGMMA_DIAG_EPILOGUE != 3)
            c_scale[static_cast<int64_t>(pair) * kCScales + (c.col * 128 + 64 * p) / kCScaleCols] = amax[j] / 448.f;
        } else {
          __nv_bfloat16* dst = static_cast<__nv_bfloat16*>(c_out) + static_cast<int64_t>(pair) * kInter + col;
#pragma unroll
          for (int q = 0; q < 8; ++q)
            *reinterpret_cast<__nv_bfloat162*>(dst + 8 * q) = __floats2bfloat162_rn(v[j][2 * q], v[j][2 * q + 1]);
        }
      }
    }
    if constexpr (MOE_WGMMA_DIAG_EPILOGUE == 3) kept_alive(keep, static_cast<uint8_t*>(c_out));
  }
};

// GEMM2: acc[token][h0 + c] += weight * (C[pair] . W2[h0 + c]) over all of K, C in fp8 with its
// scales. A tile is BM pairs x 256 hidden columns h0 = 256 col (two W2 scale blocks, one per
// column pass); with 64-column C scales the A scale changes every 64 K, so each pass folds twice
// per 128-K block (kFolds), with 128-column ones once. The routing weight is applied; the sums go
// as kOut says (OutMode): into the fp32 accumulator with float2 atomics, into the pair's own bf16
// row for the combine kernel, or into the bf16 output directly.
template <int kOut>
struct Gemm2Op {
  static constexpr int kCols = kHidden / kBN, kKBlocks = kInterBlocks, kFolds = kQBlock / kCScaleCols;
  static constexpr bool kGemm2 = true;
  // MOE_WGMMA_BULK_OUT: the output rows go through shared memory and out by bulk copies (kOutDirect).
  static constexpr bool kBulkOut = kOut == kOutDirect && MOE_WGMMA_BULK_OUT != 0;
  static_assert(kBN == 2 * kQBlock, "two W2 scale blocks per tile");
  const uint8_t* c_fp8;
  const float* c_scale;
  const uint8_t* w2;
  const float* w2_scale;
  const float* pair_weight;
  float* acc_out;
  __nv_bfloat16* rows_out;      // kOutPairRows: [8T, 7168] pair rows; kOutDirect: the [T, 7168] output
  const uint8_t* token_mask;    // kOutDirect: bit r set when the token's pair r is local

  __device__ __forceinline__ static int64_t c_row(int pair) { return pair >= 0 ? pair : 0; }
  __device__ __forceinline__ const uint8_t* a_row(int pair) const { return c_fp8 + c_row(pair) * kInter; }
  __device__ __forceinline__ const uint8_t* b_tile(const TileCoord& c) const {
    return w2 + (static_cast<int64_t>(c.le) * kHidden + c.col * kBN) * kInter;
  }
  __device__ __forceinline__ static int64_t b_offset(int r) { return static_cast<int64_t>(r) * kInter; }
  // MOE_WGMMA_BM64_TMA: box j (64 W2 rows 64j..) of the tile as a row of W2's map ([32 x 7168] rows).
  __device__ __forceinline__ static int b_box_row(const TileCoord& c, int j) { return c.le * kHidden + c.col * kBN + 64 * j; }
  __device__ __forceinline__ const float* w_scales(const TileCoord& c, int pass) const {
    return w2_scale + (static_cast<int64_t>(c.le) * kHiddenBlocks + c.col * (kBN / kQBlock) + pass) * kInterBlocks;
  }
  // Scales: v = {row lo's C scales of folds 0 and 1, row hi's, the W2 scales of column passes 0
  // and 1} (fold 1's unused with one fold).
  __device__ __forceinline__ BlockScales fetch(const TileCoord& c, int pair_lo, int pair_hi, int kb) const {
    const float* lo = c_scale + c_row(pair_lo) * kCScales + kb * kFolds;
    const float* hi = c_scale + c_row(pair_hi) * kCScales + kb * kFolds;
    if constexpr (kFolds == 2) {
      const float2 l2 = *reinterpret_cast<const float2*>(lo), h2 = *reinterpret_cast<const float2*>(hi);
      return BlockScales{{l2.x, l2.y, h2.x, h2.y, w_scales(c, 0)[kb], w_scales(c, 1)[kb]}};
    } else {
      return BlockScales{{lo[0], 0.f, hi[0], 0.f, w_scales(c, 0)[kb], w_scales(c, 1)[kb]}};
    }
  }
  template <int BM>
  __device__ __forceinline__ void load_scales(float* slots, const TileCoord& c, int kb, int p, const int* s_pair) const {
    for (int r = p; r < BM; r += kProducers) {
      const float* src = c_scale + c_row(s_pair[r]) * kCScales + kb * kFolds;
      if constexpr (kFolds == 2) cp_async8(slots + 2 * r, src);
      else cp_async4(slots + 2 * r, src);
    }
    if (p < 2) cp_async4(slots + 2 * BM + p, w_scales(c, p) + kb);
  }
  template <int BM>
  __device__ __forceinline__ BlockScales read(const float* slots, int r_lo) const {
    return BlockScales{{slots[2 * r_lo], slots[2 * r_lo + 1], slots[2 * (r_lo + 8)], slots[2 * (r_lo + 8) + 1], slots[2 * BM],
                        slots[2 * BM + 1]}};
  }

  // MOE_WGMMA_TILE_SCALES: a tile's scales in shared memory, a pair's kCScales C scales (contiguous
  // in c_scale: 16-byte copies) per row, rows kRowStride apart (+4 floats: a quad's 8 rows hit 8
  // banks), then the two column passes' W2 scales as [pass][kb].
  // MOE_WGMMA_STAGED_EPILOGUE: then each row's routing weight and the 4-byte word holding its
  // token's local-pair mask (the epilogue's loads, which its source profile showed waiting).
  static constexpr int kRowStride = kCScales + 4;
  static constexpr bool kStagedEpilogue = MOE_WGMMA_STAGED_EPILOGUE != 0;
  template <int BM>
  static constexpr int kStagedRowsAt = BM * kRowStride + 2 * kKBlocks;  // the staged epilogue's arrays
  template <int BM>
  static constexpr int kTileScaleFloats = kStagedRowsAt<BM> + (kStagedEpilogue ? 2 * BM : 0);
  // The staged epilogue's arrays in the tile's staged scales (null when not staged), and from them
  // (or from global memory) row r's routing weight and its token's local-pair mask.
  template <int BM>
  __device__ __forceinline__ static const float* staged_rows(const float* staged) {
    return kStagedEpilogue && staged != nullptr ? staged + kStagedRowsAt<BM> : nullptr;
  }
  __device__ __forceinline__ float row_weight(const float* rows, int r, int pair) const {
    return rows != nullptr ? rows[r] : pair_weight[pair];
  }
  template <int BM>
  __device__ __forceinline__ unsigned row_mask(const float* rows, int r, int token) const {
    return rows != nullptr ? (__float_as_uint(rows[BM + r]) >> (8 * (token & 3))) & 0xffu : token_mask[token];
  }
  template <int BM>
  __device__ __forceinline__ void stage_tile_scales(float* dst, const TileCoord& c, const int* s_pair, int tid) const {
    constexpr int kPieces = kCScales / 4;
    for (int i = tid; i < BM * kPieces; i += kConsumers) {
      const int r = i / kPieces, q = i % kPieces;
      cp_async16(moe_tc::smem_addr(dst + r * kRowStride + 4 * q), c_scale + c_row(s_pair[r]) * kCScales + 4 * q);
    }
    for (int i = tid; i < 2 * kKBlocks; i += kConsumers) cp_async4(dst + BM * kRowStride + i, w_scales(c, i / kKBlocks) + i % kKBlocks);
    if constexpr (kStagedEpilogue) {
      // Rows without a pair are skipped by the epilogue and left as they are. The mask word may
      // reach 3 bytes past the T masks: the scratch reserves whole 256-byte blocks.
      float* rows = dst + kStagedRowsAt<BM>;
      for (int r = tid; r < BM; r += kConsumers) {
        const int pair = s_pair[r];
        if (pair < 0) continue;
        cp_async4(rows + r, pair_weight + pair);
        if constexpr (kOut == kOutDirect)
          cp_async4(rows + BM + r, reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(token_mask + pair / kTopK) & ~uintptr_t{3}));
      }
    }
  }
  template <int BM>
  __device__ __forceinline__ static BlockScales read_tile_scales(const float* src, int r_lo, int kb) {
    const float* lo = src + r_lo * kRowStride + kb * kFolds;
    const float* hi = lo + 8 * kRowStride;
    const float* w = src + BM * kRowStride;
    return BlockScales{{lo[0], kFolds == 2 ? lo[1] : 0.f, hi[0], kFolds == 2 ? hi[1] : 0.f, w[kb], w[kKBlocks + kb]}};
  }
  __device__ __forceinline__ static void fold(float (&a)[64], const float (&t)[64], const BlockScales& s, int p, int f) {
    const float lo = s.v[f] * s.v[4 + p], hi = s.v[2 + f] * s.v[4 + p];
#pragma unroll
    for (int i = 0; i < 64; ++i) a[i] += t[i] * ((i & 2) ? hi : lo);
  }
  // f(p, q, v) for each value pair of this thread's row `half` (column pass p, pair q of its 16),
  // weighted by w: what both output paths (stage_out, epilogue) walk.
  template <int BM, typename F>
  __device__ __forceinline__ static void for_each_weighted_value(const float (&acc)[Tile<BM>::kWgPasses][64], int half,
                                                                 float w, int tid, F&& f) {
#pragma unroll
    for (int j = 0; j < Tile<BM>::kWgPasses; ++j) {
      const int p = Tile<BM>::first_pass(tid >> 7) + j;
#pragma unroll
      for (int q = 0; q < 16; ++q) f(p, q, make_float2(acc[j][4 * q + 2 * half] * w, acc[j][4 * q + 2 * half + 1] * w));
    }
  }
  // MOE_WGMMA_BULK_OUT: the tile's weighted rows as bf16 in shared memory (the stages' space, free
  // once every warpgroup's last MMA has read it), a row's 256 values contiguous and rows
  // kOutRowBytes apart (+16 bytes: the 8 rows of a quad's store hit different banks).
  static constexpr int kOutRowBytes = kBN * 2 + 16;
  template <int BM>
  __device__ __forceinline__ void stage_out(const float (&acc)[Tile<BM>::kWgPasses][64], int pair_lo, int pair_hi, int tid,
                                            const float* staged, uint32_t out) const {
    const int lane = tid & 31;
    const float* rows = staged_rows<BM>(staged);
    [[maybe_unused]] uint32_t keep = 0;  // MOE_WGMMA_DIAG_EPILOGUE=7: every value feeds it (kept_alive below)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int pair = half ? pair_hi : pair_lo;
      if (pair < 0) continue;
      const int r = thread_row<BM>(tid) + 8 * half;
      const uint32_t row = out + r * kOutRowBytes + 4 * (lane & 3);
      for_each_weighted_value<BM>(acc, half, row_weight(rows, r, pair), tid, [&](int p, int q, float2 v) {
        const __nv_bfloat162 h = __float22bfloat162_rn(v);
        if constexpr (MOE_WGMMA_DIAG_EPILOGUE == 7) keep ^= *reinterpret_cast<const uint32_t*>(&h);
        else asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(row + 2 * (128 * p + 8 * q)), "r"(*reinterpret_cast<const uint32_t*>(&h))
                          : "memory");
      });
    }
    if constexpr (MOE_WGMMA_DIAG_EPILOGUE == 7) kept_alive(keep, reinterpret_cast<uint8_t*>(rows_out));
  }
  // Row r of the staged tile (thread r issues it) to its token's output row: a bulk copy when the
  // token has no other local pair, else a bulk bf16 reduction into the row routing zeroed.
  template <int BM>
  __device__ __forceinline__ void bulk_out_row(const TileCoord& c, int pair, int r, const float* staged, uint32_t out) const {
    if (pair < 0) return;
    if constexpr (MOE_WGMMA_DIAG_EPILOGUE == 4 || MOE_WGMMA_DIAG_EPILOGUE >= 6) return;  // never copied out
    const float* rows = staged_rows<BM>(staged);
    const int token = pair / kTopK;
    const unsigned mask = row_mask<BM>(rows, r, token);
    __nv_bfloat16* dst = rows_out + static_cast<int64_t>(token) * kHidden + c.col * kBN;
    const uint32_t src = out + r * kOutRowBytes;
    bulk_row_out(dst, src, single_local_pair(mask) || MOE_WGMMA_DIAG_EPILOGUE == 5);
  }
  // The routing weights and token masks of this thread's two rows (r_lo, r_lo + 8), read when the
  // tile starts so that their round trips land under its K loop instead of in the epilogue. Session
  // 30 (H200, T=901, 64-pair producer tiles): GEMM2's epilogue 2.82 -> 1.28 us (p50) of a ~17.7 us
  // tile, its turnover 4.35 -> 3.07 us; the call even (411-414 us either way: W2's stream holds it).
  struct RowInfo {
    float weight[2];
    unsigned mask[2];
  };
  __device__ __forceinline__ RowInfo row_info(int pair_lo, int pair_hi) const {
    RowInfo info{{0.f, 0.f}, {0u, 0u}};
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int pair = half ? pair_hi : pair_lo;
      if (pair < 0) continue;
      info.weight[half] = pair_weight[pair];
      if constexpr (kOut == kOutDirect) info.mask[half] = token_mask[pair / kTopK];
    }
    return info;
  }
  // staged: the tile's shared-memory scales (MOE_WGMMA_TILE_SCALES), null when not staged; then the
  // weights and masks come from info (row_info at the tile's start).
  template <int BM>
  __device__ __forceinline__ void epilogue(const TileCoord& c, const float (&acc)[Tile<BM>::kWgPasses][64], int pair_lo,
                                           int pair_hi, int tid, const float* staged, const RowInfo& info) const {
    const int lane = tid & 31;
    const float* rows = staged_rows<BM>(staged);
    [[maybe_unused]] uint32_t keep = 0;  // MOE_WGMMA_DIAG_EPILOGUE=2: every value feeds it (kept_alive below)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int pair = half ? pair_hi : pair_lo;
      if (pair < 0) continue;
      const int r = thread_row<BM>(tid) + 8 * half;
      const int64_t first = c.col * kBN + 2 * (lane & 3);
      // kOutDirect: the token's row is this pair's alone (plain stores) or a sum (reductions into
      // the row routing zeroed; bf16 sums: each addition rounds, well inside the contest tolerance).
      bool single = false;
      if constexpr (kOut == kOutDirect)
        single = single_local_pair(rows != nullptr ? row_mask<BM>(rows, r, pair / kTopK) : info.mask[half]);
      for_each_weighted_value<BM>(acc, half, rows != nullptr ? rows[r] : info.weight[half], tid, [&](int p, int q, float2 v) {
        const int64_t col = first + 128 * p + 8 * q;
        if constexpr (kOut == kOutPairRows) {
          *reinterpret_cast<__nv_bfloat162*>(rows_out + static_cast<int64_t>(pair) * kHidden + col) = __float22bfloat162_rn(v);
        } else if constexpr (kOut == kOutDirect) {
          __nv_bfloat162* dst = reinterpret_cast<__nv_bfloat162*>(rows_out + static_cast<int64_t>(pair / kTopK) * kHidden + col);
          const __nv_bfloat162 h = __float22bfloat162_rn(v);
          if constexpr (MOE_WGMMA_DIAG_EPILOGUE == 2) keep ^= *reinterpret_cast<const uint32_t*>(&h);
          else if (single || MOE_WGMMA_DIAG_EPILOGUE == 1) *dst = h;
          else asm volatile("red.global.add.noftz.bf16x2 [%0], %1;\n" ::"l"(dst), "r"(*reinterpret_cast<const uint32_t*>(&h)) : "memory");
        } else {
          atomicAdd(reinterpret_cast<float2*>(acc_out + static_cast<int64_t>(pair / kTopK) * kHidden + col), v);
        }
      });
    }
    if constexpr (MOE_WGMMA_DIAG_EPILOGUE == 2) kept_alive(keep, reinterpret_cast<uint8_t*>(rows_out));
  }
};
#endif  // MOE_WG_DEVICE

// ------------------------------------------------------------------------------------------------
// The kernels: grid (MOE_WGMMA_PERSISTENT) resident CTAs, else (Op::kCols, ceil(T / BM), 32). Their
// bodies are functions so that the side-loaded entry points (kernel.cu, AFG_SIDELOAD_ENTRIES) run
// the same code under fixed names.
template <bool kFp8C, int BM>
__device__ __forceinline__ void gemm1_wgmma_body(const uint8_t* __restrict__ hidden, const float* __restrict__ hidden_scale,
                                                 const uint8_t* __restrict__ w1, const float* __restrict__ w1_scale,
                                                 const int* __restrict__ counts, const int* __restrict__ lists, int T,
                                                 void* __restrict__ c_out, float* __restrict__ c_scale,
                                                 const CUtensorMap* b_map = nullptr, bool c_slots = false) {
#if MOE_WG_DEVICE
  extern __shared__ uint8_t dynamic_smem[];  // gemm_tiles waits for the kernel before (pdl_wait_then_allow)
  const Gemm1Op<kFp8C> op{hidden, hidden_scale, w1, w1_scale, T, c_out, c_scale, c_slots};
  gemm_tiles<BM>(op, counts, lists, T, dynamic_smem, b_map);
#endif
}

template <int BM, int kOut>
__device__ __forceinline__ void gemm2_wgmma_body(const uint8_t* __restrict__ c_fp8, const float* __restrict__ c_scale,
                                                 const uint8_t* __restrict__ w2, const float* __restrict__ w2_scale,
                                                 const int* __restrict__ counts, const int* __restrict__ lists,
                                                 const float* __restrict__ pair_weight, int T, float* __restrict__ acc_out,
                                                 __nv_bfloat16* __restrict__ rows_out, const uint8_t* __restrict__ token_mask,
                                                 const CUtensorMap* b_map = nullptr, const CUtensorMap* a_map = nullptr) {
#if MOE_WG_DEVICE
  extern __shared__ uint8_t dynamic_smem[];  // gemm_tiles waits for the kernel before (pdl_wait_then_allow)
  const Gemm2Op<kOut> op{c_fp8, c_scale, w2, w2_scale, pair_weight, acc_out, rows_out, token_mask};
  gemm_tiles<BM>(op, counts, lists, T, dynamic_smem, b_map, a_map);
#endif
}

template <bool kFp8C, int BM>
__global__ void __launch_bounds__(Tile<BM>::kThreads, 1)
gemm1_wgmma_kernel(const uint8_t* __restrict__ hidden, const float* __restrict__ hidden_scale,
                   const uint8_t* __restrict__ w1, const float* __restrict__ w1_scale,
                   const int* __restrict__ counts, const int* __restrict__ lists, int T,
                   void* __restrict__ c_out, float* __restrict__ c_scale, const __grid_constant__ CUtensorMap b_map,
                   int b_by_tma, int c_slots) {
  gemm1_wgmma_body<kFp8C, BM>(hidden, hidden_scale, w1, w1_scale, counts, lists, T, c_out, c_scale, b_by_tma ? &b_map : nullptr,
                              c_slots != 0);
}

template <int BM, int kOut>
__global__ void __launch_bounds__(Tile<BM>::kThreads, 1)
gemm2_wgmma_kernel(const uint8_t* __restrict__ c_fp8, const float* __restrict__ c_scale,
                   const uint8_t* __restrict__ w2, const float* __restrict__ w2_scale,
                   const int* __restrict__ counts, const int* __restrict__ lists,
                   const float* __restrict__ pair_weight, int T, float* __restrict__ acc_out,
                   __nv_bfloat16* __restrict__ rows_out, const uint8_t* __restrict__ token_mask,
                   const __grid_constant__ CUtensorMap b_map, int b_by_tma, const __grid_constant__ CUtensorMap a_map,
                   int a_by_tma) {
  gemm2_wgmma_body<BM, kOut>(c_fp8, c_scale, w2, w2_scale, counts, lists, pair_weight, T, acc_out, rows_out, token_mask,
                             b_by_tma ? &b_map : nullptr, b_by_tma && a_by_tma ? &a_map : nullptr);
}

}  // namespace moe_wg
