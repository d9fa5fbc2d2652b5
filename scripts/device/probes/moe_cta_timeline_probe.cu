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
#include "moe_probe_inputs.h"

using probe::print_spread;
using moe_tc::g_diag_tile;
using moe_tc::g_diag_tile_sm;
using moe_tc::kDiagTiles;

namespace {

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
  const moe_probe::Inputs inputs(T, offset);
  int device = 0, sms = 0;
  CHECK(cudaGetDevice(&device));
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));

  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  const auto call = [&] { inputs.call(stream); };
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
