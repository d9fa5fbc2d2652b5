// DRAM read rate of the MoE small-T weight streams, by access pattern (issue #6, session 8).
//
// Question: the split-K tile GEMMs read W1 at 60-72% of DRAM peak at T <= 16 (ncu), and neither
// more CTAs in flight (more splits), more stages, nor an L2 prefetch of the CTA's slice helped. Is
// the pattern itself the bound: each stage asks for 128 bytes of 128 rows that lie 7168 bytes
// apart, and the 8 split CTAs of a row read its other 128-byte pieces at other times?
// This reads the W1 bytes of E experts ([E][4096][7168] fp8) with cp.async stages in several tile
// shapes, no math, and prints the rate of each against a contiguous read of the same bytes.
// Tile (R, C, S, stages): R weight rows per CTA (R/2 X1 rows n0.. and the matching R/2 X2 rows
// 2048 + n0.., as GEMM1 pairs them), C contiguous bytes of each row per stage, S bytes of K per
// CTA (7168 / S splits), grid (column tiles, 1, experts x splits) with the column tile fastest, as
// gemm1_fp8_kernel launches. The default small tile is R=128, C=128, S=896, 2 stages.
// Build: nvcc -gencode arch=compute_90,code=sm_90 -O3 -std=c++17 -I src/Kernels.Baseline/include dram_pattern_probe.cu
// DRAM_PATTERN_TMA=1 (session 29): the same small-tile pattern with each stage's rows as two TMA
// boxes (X1 and X2 halves) issued by one thread onto the stage's mbarrier, against the cp.async rows:
// does the copy mechanism move the small-T weight streams' rate (3.0-3.8 TB/s in the GEMMs)?
#include <cuda.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <cuda_runtime.h>

#include "afg_mma.cuh"
#include "afg_bulk.cuh"
#include "afg_tma.cuh"

namespace {

constexpr int kRows = 4096;    // W1 rows per expert (X1 then X2)
constexpr int kHidden = 7168;  // bytes per row
constexpr int kThreads = 128;

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const uint32_t dst = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem) : "memory");
}

// The copy pipeline both kernels run: `steps` stages of stage_bytes through kStages buffers,
// load(step, buffer) issuing a step's copies; each landed stage is touched once (and held
// spin_cycles, a stand-in for the MMAs) between two barriers. Returns the touched words' sum.
template <int kStages, typename Load>
__device__ unsigned stream_stages(int steps, const uint8_t* smem, int stage_bytes, int spin_cycles, Load&& load) {
  const auto load_or_nothing = [&](int step) {
    if (step < steps) load(step, step % kStages);
    asm volatile("cp.async.commit_group;\n" ::: "memory");
  };
  for (int s = 0; s < kStages - 1; ++s) load_or_nothing(s);
  unsigned acc = 0;
  for (int step = 0; step < steps; ++step) {
    load_or_nothing(step + kStages - 1);
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 1) : "memory");
    __syncthreads();
    acc += reinterpret_cast<const unsigned*>(smem + (step % kStages) * stage_bytes)[threadIdx.x];  // touch the stage
    if (spin_cycles > 0) {
      const long long until = clock64() + spin_cycles;
      while (clock64() < until) {
      }
    }
    __syncthreads();
  }
  return acc;
}

// What the GEMM's CTAs add, modelled one at a time: empty_slots: the grid has 32 expert slots and the
// CTAs of slots >= E read their expert's count and return (the tile GEMMs' empty CTAs: 27 of 32
// slots at T=7); chain: a CTA first reads its count, then a list entry that depends on it (the pair
// list), before its first copy; spin_cycles: each stage is held that long between its barriers.
struct Extra {
  bool empty_slots = false;
  bool chain = false;
  int spin_cycles = 0;
};

template <int R, int C, int S, int kStages>
__global__ void __launch_bounds__(kThreads) tile_read(const uint8_t* __restrict__ w, unsigned* __restrict__ sink,
                                                      const int* __restrict__ counts, Extra extra) {
  extern __shared__ __align__(16) uint8_t smem[];
  static_assert(kHidden % S == 0 && S % C == 0 && C % 16 == 0 && (R * C / 16) % kThreads == 0, "tile shape");
  constexpr int kSplits = kHidden / S;
  constexpr int kSteps = S / C;
  constexpr int kPieces = R * C / 16;  // 16-byte pieces per stage
  const int n0 = blockIdx.x * (R / 2);
  const int expert = blockIdx.z / kSplits, split = blockIdx.z % kSplits;
  if (extra.empty_slots || extra.chain) {
    __shared__ int s_first;
    const int cnt = counts[expert];
    if (cnt == 0) return;  // block-uniform: an empty slot
    if (extra.chain && threadIdx.x == 0) s_first = counts[64 + (cnt & 31)];  // a load that needs the first
    __syncthreads();
    if (extra.chain && s_first == 0x7fffffff) return;  // never: counts[64..] are 1
  }
  const int k0 = split * S;
  const uint8_t* base = w + static_cast<size_t>(expert) * kRows * kHidden;
  auto load = [&](int step, int stage) {
    uint8_t* dst = smem + stage * R * C;
#pragma unroll 4
    for (int p = threadIdx.x; p < kPieces; p += kThreads) {
      const int r = p / (C / 16), c = (p % (C / 16)) * 16;
      const int row = r < R / 2 ? n0 + r : kRows / 2 + n0 + (r - R / 2);
      cp_async16(dst + r * C + c, base + static_cast<size_t>(row) * kHidden + k0 + step * C + c);
    }
  };
  const unsigned acc = stream_stages<kStages>(kSteps, smem, R * C, extra.spin_cycles, load);
  if (acc == 0x9e3779b9u) sink[0] = acc;  // keeps the reads; practically never true
}

// tile_read's pattern with C = 128 (one 128-byte piece of each row a stage) by TMA: thread 0 issues
// a stage's two boxes (R/2 X1 rows, R/2 X2 rows) on its "full" mbarrier kStages - 1 stages ahead;
// every thread waits for the stage, touches it, and a barrier frees it for the next issue.
template <int R, int S, int kStages>
__global__ void __launch_bounds__(kThreads) tile_read_tma(const __grid_constant__ CUtensorMap map, unsigned* __restrict__ sink,
                                                          int spin_cycles) {
  extern __shared__ uint8_t smem_raw[];
  uint8_t* smem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  __shared__ uint64_t full[kStages];
  constexpr int C = 128, kSplits = kHidden / S, kSteps = S / C, kStage = R * C;
  const int n0 = blockIdx.x * (R / 2);
  const int expert = blockIdx.z / kSplits, split = blockIdx.z % kSplits;
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) afg::mbar_init(&full[s], 1);
    afg::mbar_init_fence();
  }
  __syncthreads();
  const int row0 = expert * kRows;
  const auto issue = [&](int step) {
    if (threadIdx.x != 0 || step >= kSteps) return;
    const int st = step % kStages;
    afg::mbar_arrive_expect_tx(&full[st], kStage);
    const int x = split * S + step * C;
    afg::tma_load_2d(afg::smem_addr(smem + st * kStage), &map, x, row0 + n0, afg::smem_addr(&full[st]));
    afg::tma_load_2d(afg::smem_addr(smem + st * kStage + kStage / 2), &map, x, row0 + kRows / 2 + n0, afg::smem_addr(&full[st]));
  };
  for (int s = 0; s < kStages - 1; ++s) issue(s);
  unsigned acc = 0;
  for (int step = 0; step < kSteps; ++step) {
    issue(step + kStages - 1);
    afg::mbar_wait(&full[step % kStages], (step / kStages) & 1);
    acc += reinterpret_cast<const unsigned*>(smem + (step % kStages) * kStage)[threadIdx.x];
    if (spin_cycles > 0) {
      const long long until = clock64() + spin_cycles;
      while (clock64() < until) {
      }
    }
    __syncthreads();  // the stage is free for the issue kStages - 1 steps later
  }
  if (acc == 0x9e3779b9u) sink[0] = acc;
}

// The reference: the same bytes, each CTA reading one contiguous range in 16 KB stages.
template <int kStages>
__global__ void __launch_bounds__(kThreads) contiguous_read(const uint8_t* __restrict__ w, size_t bytes_per_cta, unsigned* sink) {
  extern __shared__ __align__(16) uint8_t smem[];
  constexpr int kStage = 16384;
  const uint8_t* base = w + blockIdx.x * bytes_per_cta;
  const int steps = static_cast<int>(bytes_per_cta / kStage);
  auto load = [&](int step, int stage) {
    for (int p = threadIdx.x; p < kStage / 16; p += kThreads) cp_async16(smem + stage * kStage + p * 16, base + static_cast<size_t>(step) * kStage + p * 16);
  };
  const unsigned acc = stream_stages<kStages>(steps, smem, kStage, 0, load);
  if (acc == 0x9e3779b9u) sink[0] = acc;
}

__global__ void flush_l2(const uint4* __restrict__ src, size_t n, unsigned* sink) {
  unsigned acc = 0;
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) acc ^= src[i].x;
  if (acc == 0x9e3779b9u) sink[0] = acc;
}

struct Buffers {
  const uint8_t* w;
  const uint4* flush;
  size_t flush_n;
  unsigned* sink;
  int* counts;  // [0, 32): 1 for the first E experts, else 0; [64, 96): 1
};

// Median of `reps` timed launches, L2 flushed before each; returns microseconds.
template <typename Launch>
float time_us(const Buffers& b, Launch&& launch, int reps = 7) {
  float t[16];
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (int i = 0; i < reps; ++i) {
    flush_l2<<<1024, 256>>>(b.flush, b.flush_n, b.sink);
    cudaEventRecord(start);
    launch();
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    cudaEventElapsedTime(&t[i], start, stop);
  }
  for (int i = 0; i < reps; ++i)
    for (int j = i + 1; j < reps; ++j)
      if (t[j] < t[i]) { const float x = t[i]; t[i] = t[j]; t[j] = x; }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return t[reps / 2] * 1000.f;
}

// The dynamic shared memory of a CTA that needs `bytes`, padded where per_sm_cap > 0 so that at most
// per_sm_cap CTAs fit an SM (static_bytes: the kernel's own static shared memory; 1 KB per CTA is the
// system's).
int capped_smem(int bytes, int per_sm_cap, int static_bytes) {
  if (per_sm_cap <= 0) return bytes;
  int device = 0, sm_bytes = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&sm_bytes, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device);
  const int padded = sm_bytes / per_sm_cap - 1024 - 64 - static_bytes;
  return padded > bytes ? padded : bytes;
}

// per_sm > 0: the dynamic shared memory padded so that at most per_sm CTAs fit an SM (the GEMM's
// own tiles are held to 4 per SM by registers: 116 at T <= 64, session 16).
template <int R, int C, int S, int kStages>
void run_tile(const Buffers& b, int experts, float contiguous_us, const char* note, Extra extra = {}, int per_sm_cap = 0) {
  const int smem = capped_smem(kStages * R * C, per_sm_cap, 0);
  cudaFuncSetAttribute(tile_read<R, C, S, kStages>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  int per_sm = 0;
  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, tile_read<R, C, S, kStages>, kThreads, smem);
  int host_counts[96] = {};
  for (int e = 0; e < 96; ++e) host_counts[e] = e < 32 ? (e < experts ? 1 : 0) : 1;
  cudaMemcpy(b.counts, host_counts, sizeof(host_counts), cudaMemcpyHostToDevice);
  const dim3 grid(2048 / (R / 2), 1, (extra.empty_slots ? 32 : experts) * (kHidden / S));
  const float us = time_us(b, [&] { tile_read<R, C, S, kStages><<<grid, kThreads, smem>>>(b.w, b.sink, b.counts, extra); });
  const double bytes = static_cast<double>(experts) * kRows * kHidden;
  printf("| %d | R=%d C=%d S=%d stages=%d %s | %d | %d | %.1f | %.0f | %.2f |\n", experts, R, C, S, kStages, note,
         grid.x * grid.z, per_sm, us, bytes / us / 1e3, contiguous_us / us);
}

template <int R, int S, int kStages>
void run_tile_tma(const Buffers& b, const CUtensorMap& map, int experts, float contiguous_us, const char* note, int spin_cycles,
                  int per_sm_cap) {
  const int smem = capped_smem(kStages * R * 128 + 1024, per_sm_cap, kStages * 8);
  cudaFuncSetAttribute(tile_read_tma<R, S, kStages>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  int per_sm = 0;
  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, tile_read_tma<R, S, kStages>, kThreads, smem);
  const dim3 grid(2048 / (R / 2), 1, experts * (kHidden / S));
  const float us = time_us(b, [&] { tile_read_tma<R, S, kStages><<<grid, kThreads, smem>>>(map, b.sink, spin_cycles); });
  const double bytes = static_cast<double>(experts) * kRows * kHidden;
  printf("| %d | TMA R=%d C=128 S=%d stages=%d %s | %d | %d | %.1f | %.0f | %.2f |\n", experts, R, S, kStages, note, grid.x * grid.z,
         per_sm, us, bytes / us / 1e3, contiguous_us / us);
}

// The reference row: E experts' W1 bytes, each CTA reading one contiguous range in 16 KB stages
// (6 CTAs per SM's worth); prints it and returns its time in us.
float contiguous_row(const Buffers& b, int experts, int sms) {
  const size_t bytes = static_cast<size_t>(experts) * kRows * kHidden;
  const size_t per_cta = bytes / (static_cast<size_t>(sms) * 6) / 16384 * 16384;
  const int ctas = static_cast<int>(bytes / per_cta);
  cudaFuncSetAttribute(contiguous_read<2>, cudaFuncAttributeMaxDynamicSharedMemorySize, 2 * 16384);
  const float cont = time_us(b, [&] { contiguous_read<2><<<ctas, kThreads, 2 * 16384>>>(b.w, per_cta, b.sink); });
  printf("| %d | contiguous %zu KB per CTA, 16 KB stages x 2 | %d | - | %.1f | %.0f | 1.00 |\n", experts, per_cta >> 10, ctas, cont,
         static_cast<double>(ctas) * per_cta / cont / 1e3);
  return cont;
}

}  // namespace

int main() {
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  const size_t experts_max = 32;
  const size_t w_bytes = experts_max * kRows * kHidden;  // 940 MB, the local experts' W1
  const size_t flush_bytes = size_t(256) << 20;
  uint8_t* w = nullptr;
  uint4* flush = nullptr;
  unsigned* sink = nullptr;
  int* counts = nullptr;
  if (cudaMalloc(&w, w_bytes) != cudaSuccess || cudaMalloc(&flush, flush_bytes) != cudaSuccess || cudaMalloc(&sink, 16) != cudaSuccess ||
      cudaMalloc(&counts, 96 * sizeof(int)) != cudaSuccess) {
    printf("allocation failed\n");
    return 1;
  }
  cudaMemset(w, 1, w_bytes);
  cudaMemset(flush, 2, flush_bytes);
  const Buffers b{w, flush, flush_bytes / sizeof(uint4), sink, counts};
  printf("%s, %d SMs; W1 of E experts read once, L2 flushed, median of 7 (GB/s = bytes / time)\n\n", prop.name, prop.multiProcessorCount);
  printf("| E | tile | CTAs | CTAs/SM | us | GB/s | vs contiguous |\n|---|---|---|---|---|---|---|\n");
  if (std::getenv("DRAM_PATTERN_TMA") != nullptr) {
    CUtensorMap map{};
    if (!afg::encode_tma_2d_u8(&map, w, experts_max * kRows, kHidden, 64, 128)) {
      printf("cuTensorMapEncodeTiled failed\n");
      return 1;
    }
    for (int experts : {5, 13, 29}) {
      const float cont = contiguous_row(b, experts, prop.multiProcessorCount);
      // The small GEMM1's shape: 128 W1 rows (64 X1 + 64 X2) a CTA, 1 KB K ranges (7 splits), 4 per SM.
      run_tile<128, 128, 1024, 2>(b, experts, cont, "cp.async, 4 per SM", Extra{}, 4);
      run_tile<128, 128, 1024, 4>(b, experts, cont, "cp.async, 4 per SM", Extra{}, 4);
      run_tile_tma<128, 1024, 2>(b, map, experts, cont, "4 per SM", 0, 4);
      run_tile_tma<128, 1024, 4>(b, map, experts, cont, "4 per SM", 0, 4);
      run_tile_tma<128, 1024, 4>(b, map, experts, cont, "+ 1000 cycles, 4 per SM", 1000, 4);
      // Whole K per CTA (no split), as a warp-specialized small GEMM would stream it.
      run_tile<128, 128, 7168, 6>(b, experts, cont, "cp.async, 2 per SM", Extra{}, 2);
      run_tile_tma<128, 7168, 6>(b, map, experts, cont, "2 per SM", 0, 2);
      run_tile_tma<128, 7168, 12>(b, map, experts, cont, "1 per SM", 0, 1);
    }
    const cudaError_t err = cudaDeviceSynchronize();
    printf("\n%s\n", err == cudaSuccess ? "ok" : cudaGetErrorString(err));
    return err == cudaSuccess ? 0 : 1;
  }
  // Session 19: the wgmma GEMM1's 64-pair tiles (T=901) read W1 at ~3.5 TB/s (ncu: 951 MB in 273 us,
  // the MMA warps waiting on full stages 34% of the samples) with one CTA per SM, 256 B rows x 128 B
  // per stage (32 KB of weights, plus 8 KB of A), 4 stages, 512 tiles of 7168 K. Is that shape at
  // one CTA per SM the bound, and which shape with the same bytes per stage reads faster?
  if (std::getenv("DRAM_PATTERN_WG") != nullptr) {
    const int experts = 32;
    const float cont = contiguous_row(b, experts, prop.multiProcessorCount);
    run_tile<256, 128, 7168, 4>(b, experts, cont, "1 per SM (GEMM1's 64-pair tile)", Extra{}, 1);
    run_tile<256, 128, 7168, 6>(b, experts, cont, "1 per SM", Extra{}, 1);
    run_tile<256, 128, 7168, 4>(b, experts, cont, "2 per SM", Extra{}, 2);
    run_tile<128, 256, 7168, 4>(b, experts, cont, "1 per SM (2 K blocks a row)", Extra{}, 1);
    run_tile<128, 256, 7168, 6>(b, experts, cont, "1 per SM (2 K blocks a row)", Extra{}, 1);
    run_tile<256, 256, 7168, 3>(b, experts, cont, "1 per SM (2 K blocks a row)", Extra{}, 1);
    run_tile<128, 128, 7168, 6>(b, experts, cont, "2 per SM (128 rows)", Extra{}, 2);
    run_tile<64, 512, 7168, 4>(b, experts, cont, "1 per SM (4 K blocks a row)", Extra{}, 1);
    const cudaError_t err = cudaDeviceSynchronize();
    printf("\n%s\n", err == cudaSuccess ? "ok" : cudaGetErrorString(err));
    return err == cudaSuccess ? 0 : 1;
  }
  // Session 16: the GEMM1 tile held to 4 CTAs per SM (its registers) with ~1 us of math per K block
  // (a 24 us tile of 7 blocks in the T=7 timeline): is that what holds GEMM1 at ~2.5 TB/s, and do
  // more stages at 4 per SM recover it?
  {
    const int experts = 5;
    const float cont = contiguous_row(b, experts, prop.multiProcessorCount);
    for (int spin : {0, 1000, 2000}) {
      char note[64];
      std::snprintf(note, sizeof(note), "+ %d cycles, 4 per SM", spin);
      run_tile<128, 128, 896, 2>(b, experts, cont, note, Extra{false, false, spin}, 4);
      run_tile<128, 128, 896, 3>(b, experts, cont, note, Extra{false, false, spin}, 4);
      std::snprintf(note, sizeof(note), "+ %d cycles, 6 per SM", spin);
      run_tile<128, 128, 896, 2>(b, experts, cont, note, Extra{false, false, spin}, 6);
      std::snprintf(note, sizeof(note), "+ %d cycles, 2 per SM", spin);
      run_tile<128, 128, 896, 6>(b, experts, cont, note, Extra{false, false, spin}, 2);
    }
  }
  if (std::getenv("DRAM_PATTERN_ALL") == nullptr) {
    const cudaError_t err = cudaDeviceSynchronize();
    printf("\n%s\n", err == cudaSuccess ? "ok" : cudaGetErrorString(err));
    return err == cudaSuccess ? 0 : 1;
  }
  for (int experts : {5, 29}) {
    const float cont = contiguous_row(b, experts, prop.multiProcessorCount);
    run_tile<128, 128, 896, 2>(b, experts, cont, "(the default small tile)");
    // What the GEMM adds to the default tile, one piece at a time, then together.
    run_tile<128, 128, 896, 2>(b, experts, cont, "+ empty slots up to 32", Extra{true, false, 0});
    run_tile<128, 128, 896, 2>(b, experts, cont, "+ count and list reads first", Extra{false, true, 0});
    run_tile<128, 128, 896, 2>(b, experts, cont, "+ 500 cycles per stage", Extra{false, false, 500});
    run_tile<128, 128, 896, 2>(b, experts, cont, "+ 1500 cycles per stage", Extra{false, false, 1500});
    run_tile<128, 128, 896, 2>(b, experts, cont, "+ all three (500 cycles)", Extra{true, true, 500});
    run_tile<128, 128, 896, 4>(b, experts, cont, "");
    run_tile<128, 256, 1792, 2>(b, experts, cont, "(4 splits)");
    run_tile<128, 128, 1792, 2>(b, experts, cont, "(4 splits)");
    run_tile<64, 256, 1792, 2>(b, experts, cont, "");
    run_tile<64, 256, 7168, 2>(b, experts, cont, "(no split)");
    run_tile<32, 512, 7168, 2>(b, experts, cont, "(no split)");
    run_tile<16, 1024, 7168, 2>(b, experts, cont, "(no split)");
    run_tile<32, 512, 3584, 2>(b, experts, cont, "(2 splits)");
  }
  const cudaError_t err = cudaDeviceSynchronize();
  printf("\n%s\n", err == cudaSuccess ? "ok" : cudaGetErrorString(err));
  return err == cudaSuccess ? 0 : 1;
}
