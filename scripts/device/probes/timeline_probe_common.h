// timeline_probe_common.h: what the per-CTA timeline probes share (indexer_cta_timeline_probe.cu,
// attention_cta_timeline_probe.cu, moe_cta_timeline_probe.cu): a CUDA error check, a seeded
// generator, afg::Tensor views of device buffers, a percentile line and the measured call after an
// L2 flush. Include it after the kernel.cu the probe builds in.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <vector>

#define CHECK(call)                                                                               \
  do {                                                                                            \
    const cudaError_t e = (call);                                                                 \
    if (e != cudaSuccess) {                                                                       \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e)); \
      std::exit(1);                                                                               \
    }                                                                                             \
  } while (0)

namespace probe {

inline uint64_t lcg_state = 1;
inline uint32_t next_random() {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return static_cast<uint32_t>(lcg_state >> 33);
}

inline afg::Tensor tensor(void* data, afg::DType dtype, std::initializer_list<int64_t> shape) {
  afg::Tensor t{};
  t.data = data;
  t.dtype = dtype;
  t.rank = static_cast<int32_t>(shape.size());
  int i = 0;
  for (const int64_t d : shape) t.shape[i++] = d;
  return t;
}

// "p50 [p10, p90] max" of values in us.
inline void print_spread(const char* what, std::vector<double> v) {
  if (v.empty()) {
    std::printf("%-34s -\n", what);
    return;
  }
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) { return v[static_cast<size_t>(q * (v.size() - 1))]; };
  std::printf("%-34s %6.2f [%6.2f, %6.2f] max %6.2f  (n %zu)\n", what, at(0.5), at(0.1), at(0.9), v.back(), v.size());
}

// Warms `call` up on `stream` (module load, carveouts and attributes, the scratch pool), then runs
// it `reps` times, each after `reset()` (clearing the marks) and an L2 flush (a 256 MB memset,
// several times any Hopper L2, as the harness does between calls); returns the last call's event
// span in us. The marks the probe reads are then the last call's.
template <typename Reset, typename Call>
inline double measure_after_flush(cudaStream_t stream, int reps, Reset&& reset, Call&& call) {
  for (int i = 0; i < 5; ++i) call();
  CHECK(cudaStreamSynchronize(stream));
  const size_t flush_bytes = size_t{256} << 20;
  void* flush;
  CHECK(cudaMalloc(&flush, flush_bytes));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  float ms = 0.f;
  for (int rep = 0; rep < reps; ++rep) {
    reset();
    CHECK(cudaMemsetAsync(flush, next_random() & 0xff, flush_bytes, stream));
    CHECK(cudaEventRecord(start, stream));
    call();
    CHECK(cudaEventRecord(stop, stream));
    CHECK(cudaStreamSynchronize(stream));
    CHECK(cudaEventElapsedTime(&ms, start, stop));
  }
  CHECK(cudaEventDestroy(start));
  CHECK(cudaEventDestroy(stop));
  CHECK(cudaFree(flush));
  return ms * 1000.0;
}

}  // namespace probe
