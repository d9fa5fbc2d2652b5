// How fast can the DSA sparse attention gather its rows at all? (issue #7, session 11)
//
// Question: the split kernel takes 7.5 us at 1 token and 16.4 us at 8 tokens where the gathered
// bytes (2.36 MB per token: 2048 rows of 1024 bytes of ckv and 128 of kpe) need 0.55 / 4.4 us at
// the H200's copy bandwidth. Is the gather itself that slow (random 1 KB + 128 B rows, cold L2),
// or is it the chain of phases around it? This times the gather alone, no math: each CTA reads its
// slice of one token's indices, copies its rows into shared memory with 16-byte cp.async (rows by
// warp, pieces by lane, as split_kv.cuh does) in blocks of kBlock rows through kStages buffers, and
// touches each landed block once. Grid: (2048 / rows per CTA, T). L2 is flushed before every timed
// launch (a 256 MB memset), as the harness does; the time is the median of 30 launches by events.
// Also timed: an empty kernel of the same grid (launch + event overhead) and the row reads alone
// with the index load taken out (indices computed in-kernel), which separates the index round trip.
// Build: nvcc -gencode arch=compute_90,code=sm_90 -O3 -std=c++17 dsa_gather_probe.cu
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace {

constexpr int kTopK = 2048;
constexpr int kCkvBytes = 1024;
constexpr int kKpeBytes = 128;
constexpr int kRowPieces = (kCkvBytes + kKpeBytes) / 16;  // 72 pieces of 16 bytes
constexpr int kLdRow = kCkvBytes + kKpeBytes + 16;        // padded smem row, as split_kv.cuh
constexpr int kWarps = 8;

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int bytes) {
  const uint32_t dst = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(bytes) : "memory");
}

// kRows rows per CTA in blocks of kBlock through kStages buffers. kIndexLoad = false computes the
// indices from a hash instead of loading them (no dependent round trip before the row reads).
template <int kRows, int kBlock, int kStages, bool kIndexLoad>
__global__ void __launch_bounds__(kWarps * 32) gather_kernel(const uint8_t* __restrict__ ckv, const uint8_t* __restrict__ kpe,
                                                            const int32_t* __restrict__ indices, int64_t num_rows,
                                                            unsigned* __restrict__ sink) {
  extern __shared__ __align__(16) uint8_t smem[];
  __shared__ int s_idx[kRows];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t t = blockIdx.y;
  for (int r = tid; r < kRows; r += kWarps * 32) {
    const int at = blockIdx.x * kRows + r;
    s_idx[r] = kIndexLoad ? indices[t * kTopK + at] : static_cast<int>((static_cast<uint64_t>(at + 7919 * t) * 2654435761u) % num_rows);
  }
  __syncthreads();
  constexpr int kBlocks = kRows / kBlock;
  const auto load_block = [&](int b) {
    if (b < kBlocks) {
      uint8_t* buf = smem + (b % kStages) * kBlock * kLdRow;
      for (int r = warp; r < kBlock; r += kWarps) {
        const int64_t row = s_idx[b * kBlock + r];
        for (int c = lane; c < kRowPieces; c += 32) {
          const int col = c * 16;
          cp_async16(buf + r * kLdRow + col, col < kCkvBytes ? ckv + row * kCkvBytes + col : kpe + row * kKpeBytes + (col - kCkvBytes), 16);
        }
      }
    }
    asm volatile("cp.async.commit_group;\n" ::: "memory");
  };
  for (int s = 0; s < kStages - 1; ++s) load_block(s);
  unsigned acc = 0;
  for (int b = 0; b < kBlocks; ++b) {
    load_block(b + kStages - 1);
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 1) : "memory");
    __syncthreads();
    acc += reinterpret_cast<const unsigned*>(smem + (b % kStages) * kBlock * kLdRow)[tid];
    __syncthreads();
  }
  if (acc == 0x9e3779b9u) sink[tid] = acc;  // keeps the reads; practically never taken
}

__global__ void empty_kernel(unsigned* sink) {
  if (threadIdx.x == 1024) sink[0] = 1;
}

// Reads one word every `stride` bytes of both caches (after the L2 flush, before the timed gather):
// the gather then finds those pages' address translations cached, and nothing else of its rows.
__global__ void touch_kernel(const uint8_t* ckv, const uint8_t* kpe, int64_t rows, int64_t stride, unsigned* sink) {
  const int64_t ckv_bytes = rows * kCkvBytes, kpe_bytes = rows * kKpeBytes;
  const int64_t n_ckv = (ckv_bytes + stride - 1) / stride, n_kpe = (kpe_bytes + stride - 1) / stride;
  unsigned acc = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n_ckv + n_kpe;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint8_t* at = i < n_ckv ? ckv + i * stride : kpe + (i - n_ckv) * stride;
    acc += __ldcg(reinterpret_cast<const unsigned*>(at));
  }
  if (acc == 0x9e3779b9u) sink[threadIdx.x] = acc;
}

struct Buffers {
  uint8_t* ckv;
  uint8_t* kpe;
  int32_t* indices;
  int64_t rows;
  unsigned* sink;
  uint8_t* flush;
  size_t flush_bytes;
  int64_t touch_stride;  // > 0: touch_kernel after each flush, outside the timed interval
};

template <typename Launch>
float median_us(const Buffers& b, Launch&& launch) {
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  std::vector<float> times;
  for (int i = 0; i < 33; ++i) {
    cudaMemsetAsync(b.flush, i, b.flush_bytes);  // L2 out, as the harness does between calls
    if (b.touch_stride > 0) touch_kernel<<<264, 256>>>(b.ckv, b.kpe, b.rows, b.touch_stride, b.sink);
    cudaEventRecord(start);
    launch();
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0.f;
    cudaEventElapsedTime(&ms, start, stop);
    if (i >= 3) times.push_back(ms * 1000.f);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

template <int kRows, int kBlock, int kStages, bool kIndexLoad>
void time_gather(const Buffers& b, int T) {
  constexpr int smem = kStages * kBlock * kLdRow;
  auto kernel = gather_kernel<kRows, kBlock, kStages, kIndexLoad>;
  cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  const dim3 grid(kTopK / kRows, T);
  const float us = median_us(b, [&] { kernel<<<grid, kWarps * 32, smem>>>(b.ckv, b.kpe, b.indices, b.rows, b.sink); });
  const cudaError_t err = cudaGetLastError();
  const double bytes = static_cast<double>(T) * kTopK * (kCkvBytes + kKpeBytes);
  std::printf("| %d | %d | %d | %d | %d | %s | %.2f | %.2f | %s |\n", T, kRows, kBlock, kStages, grid.x * grid.y,
              kIndexLoad ? "loaded" : "hashed", us, bytes / us * 1e-6, err == cudaSuccess ? "" : cudaGetErrorString(err));
}

template <int kRows, int kBlock, int kStages>
void time_both(const Buffers& b, int T) {
  time_gather<kRows, kBlock, kStages, true>(b, T);
  if (T == 1 || T == 8) time_gather<kRows, kBlock, kStages, false>(b, T);
}

}  // namespace

int main() {
  constexpr int64_t kPages = 8462;
  constexpr int kMaxT = 8;
  Buffers b{};
  b.rows = kPages * 64;
  b.flush_bytes = size_t{256} << 20;
  cudaMalloc(&b.ckv, b.rows * kCkvBytes);
  cudaMalloc(&b.kpe, b.rows * kKpeBytes);
  cudaMalloc(&b.indices, sizeof(int32_t) * kMaxT * kTopK);
  cudaMalloc(&b.sink, 4096);
  cudaMalloc(&b.flush, b.flush_bytes);
  cudaMemset(b.ckv, 1, b.rows * kCkvBytes);
  cudaMemset(b.kpe, 1, b.rows * kKpeBytes);
  // Distinct random rows per token, as the indexer's top-k gives.
  std::mt19937 rng(7);
  std::vector<int32_t> host(kMaxT * kTopK);
  for (int t = 0; t < kMaxT; ++t) {
    std::vector<int32_t> picked;
    std::uniform_int_distribution<int64_t> pick(0, b.rows - 1);
    while (static_cast<int>(picked.size()) < kTopK) {
      const int32_t r = static_cast<int32_t>(pick(rng));
      if (std::find(picked.begin(), picked.end(), r) == picked.end()) picked.push_back(r);
    }
    std::copy(picked.begin(), picked.end(), host.begin() + t * kTopK);
  }
  cudaMemcpy(b.indices, host.data(), sizeof(int32_t) * host.size(), cudaMemcpyHostToDevice);
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("%s, %d SMs\n\n", prop.name, prop.multiProcessorCount);
  for (int T : {1, 8}) {
    const float us = median_us(b, [&] { empty_kernel<<<dim3(64, T), 256>>>(b.sink); });
    std::printf("empty kernel, %d x 64 CTAs: %.2f us\n", T, us);
  }
  // Address translation: the same gathers after touching one word per 2 MB or per 64 KB of the
  // caches (between the flush and the timed launch). If the cold gathers wait on translation
  // misses, these rows are faster than the plain ones below.
  std::printf("\n| touch stride | T | rows per CTA | block | stages | CTAs | indices | us | GB/s |  |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const int64_t stride : {int64_t{0}, int64_t{2} << 20, int64_t{64} << 10}) {
    b.touch_stride = stride;
    for (int T : {1, 8}) {
      std::printf("| %lld KB ", static_cast<long long>(stride >> 10));
      if (T == 1) time_gather<32, 32, 1, true>(b, T);
      else time_gather<128, 32, 3, true>(b, T);
    }
  }
  b.touch_stride = 0;
  std::printf("\n| T | rows per CTA | block | stages | CTAs | indices | us | GB/s |  |\n|---|---|---|---|---|---|---|---|---|\n");
  for (int T : {1, 2, 8}) {
    time_both<16, 16, 1>(b, T);
    time_both<32, 32, 1>(b, T);
    time_both<64, 64, 1>(b, T);
    time_both<64, 32, 2>(b, T);
    time_both<128, 32, 2>(b, T);
    time_both<128, 32, 3>(b, T);
    time_both<256, 32, 3>(b, T);
    time_both<256, 64, 2>(b, T);
  }
  return 0;
}
