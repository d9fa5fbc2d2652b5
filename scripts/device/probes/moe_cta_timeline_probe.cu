// moe_cta_timeline_probe.cu: where the MoE's small-T GEMMs spend their time, tile by tile.
// Builds the baseline kernel.cu into this program with MOE_DIAG_CTA_TIMES=1 (thread 0 of every
// streamed GEMM1 / GEMM2 tile with pairs writes %globaltimer at its start and end, with its SM),
// runs one call on synthetic inputs (T tokens, random fp8 weights and activations filled on the
// device, random routing logits; an L2 flush before the measured call) and prints per GEMM: the
// tiles with pairs, when they start and end relative to the call's first tile, their durations, and
// how many were in flight per SM (mean over the GEMM's span, and the most at once on one SM).
// scripts/device/moe-cta-timeline.sh builds and runs it (sm_90a, on the GPU machine).
//   moe_cta_timeline_probe [tokens (7)] [local_expert_offset (0)] [seed (1)]
#include "../../../src/Kernels.Baseline/moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048/kernel.cu"

#include "timeline_probe_common.h"

using probe::next_random;
using probe::print_spread;
using probe::tensor;
using moe_tc::g_diag_tile;
using moe_tc::g_diag_tile_sm;
using moe_tc::kDiagTiles;

namespace {

__device__ __forceinline__ uint32_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}
// e4m3 bytes that are not NaN, of moderate size (exponent field 4-9).
__global__ void fill_fp8(uint8_t* p, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const uint32_t r = mix(i ^ (seed << 40));
    p[i] = static_cast<uint8_t>((r & 0x80u) | ((4u + (r >> 8) % 6u) << 3) | ((r >> 16) & 7u));
  }
}
__global__ void fill_f32(float* p, size_t n, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    p[i] = lo + (hi - lo) * (mix(i ^ (seed << 40)) % 100000u) / 100000.0f;
}

struct Tile {
  double start, end;
  unsigned sm;
};

void report(const char* name, std::vector<Tile> tiles, double call_start_ns, int sms) {
  if (tiles.empty()) {
    std::printf("%s: no tile with pairs recorded\n", name);
    return;
  }
  std::vector<double> starts, ends, durations;
  double first = 1e300, last = 0.0, busy = 0.0;
  std::vector<std::vector<std::pair<double, int>>> events(256);
  for (const auto& t : tiles) {
    const double s = (t.start - call_start_ns) / 1000.0, e = (t.end - call_start_ns) / 1000.0;
    starts.push_back(s);
    ends.push_back(e);
    durations.push_back(e - s);
    first = std::min(first, s);
    last = std::max(last, e);
    busy += e - s;
    events[t.sm & 255].push_back({s, +1});
    events[t.sm & 255].push_back({e, -1});
  }
  int most = 0;
  for (auto& ev : events) {
    std::sort(ev.begin(), ev.end());
    int now = 0;
    for (const auto& [time, delta] : ev) most = std::max(most, now += delta);
  }
  // Tiles in flight per SM, averaged over the GEMM's span (at most `most` fit on one SM at once).
  const double span = last - first;
  std::printf("%s: %zu tiles with pairs, %.2f -> %.2f us (%.2f us); tiles in flight per SM: mean %.2f, max %d (%d SMs)\n",
              name, tiles.size(), first, last, span, span > 0.0 ? busy / (sms * span) : 0.0, most, sms);
  print_spread("  tile start", starts);
  print_spread("  tile duration", durations);
  print_spread("  tile end", ends);
}

}  // namespace

int main(int argc, char** argv) {
  const int T = argc > 1 ? std::atoi(argv[1]) : 7;
  const int offset = argc > 2 ? std::atoi(argv[2]) : 0;
  probe::lcg_state = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  // The tile grids (not stream-K) serve T <= 64 by default; their tiles are the ones marked.
  if (T < 1 || T > 64 || offset < 0 || offset + kLocalExperts > kExperts) {
    std::fprintf(stderr, "tokens 1-64 (the tile grids' band), offset 0-%d\n", kExperts - kLocalExperts);
    return 2;
  }
  const size_t w1_bytes = static_cast<size_t>(kLocalExperts) * kGemm1Out * kHidden;
  const size_t w2_bytes = static_cast<size_t>(kLocalExperts) * kHidden * kInter;
  const size_t w1s_count = static_cast<size_t>(kLocalExperts) * kGemm1OutBlocks * kHiddenBlocks;
  const size_t w2s_count = static_cast<size_t>(kLocalExperts) * kHiddenBlocks * kInterBlocks;
  uint8_t *d_hidden, *d_w1, *d_w2;
  float *d_logits, *d_hidden_scale, *d_w1s, *d_w2s;
  __nv_bfloat16 *d_bias, *d_out;
  CHECK(cudaMalloc(&d_logits, static_cast<size_t>(T) * kExperts * 4));
  CHECK(cudaMalloc(&d_bias, kExperts * 2));
  CHECK(cudaMalloc(&d_hidden, static_cast<size_t>(T) * kHidden));
  CHECK(cudaMalloc(&d_hidden_scale, static_cast<size_t>(kHiddenBlocks) * T * 4));
  CHECK(cudaMalloc(&d_w1, w1_bytes));
  CHECK(cudaMalloc(&d_w1s, w1s_count * 4));
  CHECK(cudaMalloc(&d_w2, w2_bytes));
  CHECK(cudaMalloc(&d_w2s, w2s_count * 4));
  CHECK(cudaMalloc(&d_out, static_cast<size_t>(T) * kHidden * 2));
  const uint64_t seed = next_random();
  fill_f32<<<1024, 256>>>(d_logits, static_cast<size_t>(T) * kExperts, seed + 1, -4.f, 4.f);
  fill_fp8<<<1024, 256>>>(d_hidden, static_cast<size_t>(T) * kHidden, seed + 2);
  fill_f32<<<1024, 256>>>(d_hidden_scale, static_cast<size_t>(kHiddenBlocks) * T, seed + 3, 0.01f, 0.1f);
  fill_fp8<<<4096, 256>>>(d_w1, w1_bytes, seed + 4);
  fill_f32<<<1024, 256>>>(d_w1s, w1s_count, seed + 5, 0.001f, 0.01f);
  fill_fp8<<<4096, 256>>>(d_w2, w2_bytes, seed + 6);
  fill_f32<<<1024, 256>>>(d_w2s, w2s_count, seed + 7, 0.001f, 0.01f);
  std::vector<__nv_bfloat16> bias(kExperts);
  for (auto& x : bias) x = __float2bfloat16((static_cast<int>(next_random() % 2001) - 1000) / 1000.0f);
  CHECK(cudaMemcpy(d_bias, bias.data(), bias.size() * 2, cudaMemcpyHostToDevice));
  CHECK(cudaDeviceSynchronize());
  int device = 0, sms = 0;
  CHECK(cudaGetDevice(&device));
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));

  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  const auto call = [&] {
    run(tensor(d_logits, afg::DType::Float32, {T, kExperts}), tensor(d_bias, afg::DType::BFloat16, {kExperts}),
        tensor(d_hidden, afg::DType::Float8E4M3FN, {T, kHidden}),
        tensor(d_hidden_scale, afg::DType::Float32, {kHiddenBlocks, T}),
        tensor(d_w1, afg::DType::Float8E4M3FN, {kLocalExperts, kGemm1Out, kHidden}),
        tensor(d_w1s, afg::DType::Float32, {kLocalExperts, kGemm1OutBlocks, kHiddenBlocks}),
        tensor(d_w2, afg::DType::Float8E4M3FN, {kLocalExperts, kHidden, kInter}),
        tensor(d_w2s, afg::DType::Float32, {kLocalExperts, kHiddenBlocks, kInterBlocks}), offset, 2.5f,
        tensor(d_out, afg::DType::BFloat16, {T, kHidden}), stream);
  };
  // Three measured calls (each after an L2 flush); the last one's tiles are reported.
  const std::vector<unsigned long long> zeros(static_cast<size_t>(2) * kDiagTiles * 2, 0ull);
  const double event_us = probe::measure_after_flush(stream, 3, [&] {
    CHECK(cudaMemcpyToSymbol(g_diag_tile, zeros.data(), zeros.size() * sizeof(unsigned long long)));
  }, call);
  std::vector<unsigned long long> marks(zeros.size());
  std::vector<unsigned> tile_sm(static_cast<size_t>(2) * kDiagTiles);
  CHECK(cudaMemcpyFromSymbol(marks.data(), g_diag_tile, marks.size() * sizeof(unsigned long long)));
  CHECK(cudaMemcpyFromSymbol(tile_sm.data(), g_diag_tile_sm, tile_sm.size() * sizeof(unsigned)));
  std::vector<Tile> tiles[2];
  double call_start = 1e300;
  for (int g = 0; g < 2; ++g)
    for (int i = 0; i < kDiagTiles; ++i) {
      const unsigned long long* m = &marks[(static_cast<size_t>(g) * kDiagTiles + i) * 2];
      if (m[0] == 0 || m[1] == 0) continue;
      tiles[g].push_back({static_cast<double>(m[0]), static_cast<double>(m[1]), tile_sm[static_cast<size_t>(g) * kDiagTiles + i]});
      call_start = std::min(call_start, static_cast<double>(m[0]));
    }
  if (tiles[0].empty() && tiles[1].empty()) {
    std::fprintf(stderr, "no tile recorded (built without MOE_DIAG_CTA_TIMES=1, no local expert routed, or not the streamed tiles)\n");
    return 1;
  }
  std::printf("T %d, local experts %d-%d: event span %.2f us; times in us from GEMM1's first tile start\n", T, offset,
              offset + kLocalExperts - 1, event_us);
  std::printf("%-34s %6s [%6s, %6s]\n", "", "p50", "p10", "p90");
  report("GEMM1", tiles[0], call_start, sms);
  report("GEMM2", tiles[1], call_start, sms);
  return 0;
}
