// moe_wgmma_tile_timeline_probe.cu: where the MoE's large-T wgmma GEMMs spend a tile.
// Builds the baseline kernel.cu into this program with MOE_WGMMA_DIAG_TILE_TIMES=1 (thread 0 of each
// persistent lockstep or producer CTA, or the first MMA thread of a warp-specialized one, writes
// %globaltimer at five points of each of its tiles), runs one call on
// synthetic inputs (moe_probe_inputs.h; an L2 flush before the measured call) and prints per GEMM,
// over every recorded tile: the turnover from the previous tile's output to this tile's first full
// stage (split at its pair list), the K loop, the epilogue, and what the turnover adds up to per CTA
// against the GEMM's span.
// scripts/device/moe-wgmma-tile-timeline.sh builds and runs it (sm_90a, on the GPU machine).
//   moe_wgmma_tile_timeline_probe [tokens (14107)] [local_expert_offset (0)] [seed (1)]
#include "../../../src/Kernels.Baseline/moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048/kernel.cu"

#include "timeline_probe_common.h"
#include "moe_probe_inputs.h"

using moe_wg::g_wg_tile;
using moe_wg::kWgDiagCtas;
using moe_wg::kWgDiagMarks;
using moe_wg::kWgDiagTiles;
using probe::print_spread;

int main(int argc, char** argv) {
  const int T = argc > 1 ? std::atoi(argv[1]) : 14107;
  const int offset = argc > 2 ? std::atoi(argv[2]) : 0;
  probe::lcg_state = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  // The wgmma tiles serve T > MOE_WGMMA_MIN_T: 64-pair producer tiles up to MOE_WGMMA_BM64_MAX_T, then
  // 128-pair ones (warp-specialized by default, lockstep with MOE_WGMMA_WS=0).
  if (T <= MOE_WGMMA_MIN_T || offset < 0 || offset + kLocalExperts > kExperts) {
    std::fprintf(stderr, "tokens above %d (the wgmma tiles' band), offset 0-%d\n", MOE_WGMMA_MIN_T, kExperts - kLocalExperts);
    return 2;
  }
  const moe_probe::Inputs inputs(T, offset);
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  const size_t count = static_cast<size_t>(2) * kWgDiagCtas * kWgDiagTiles * kWgDiagMarks;
  const std::vector<unsigned long long> zeros(count, 0ull);
  const double event_us = probe::measure_after_flush(stream, 3, [&] {
    CHECK(cudaMemcpyToSymbol(g_wg_tile, zeros.data(), count * sizeof(unsigned long long)));
  }, [&] { inputs.call(stream); });
  std::vector<unsigned long long> marks(count);
  CHECK(cudaMemcpyFromSymbol(marks.data(), g_wg_tile, count * sizeof(unsigned long long)));
  const auto at = [&](int gemm, int cta, int n, int mark) {
    return marks[((static_cast<size_t>(gemm) * kWgDiagCtas + cta) * kWgDiagTiles + n) * kWgDiagMarks + mark];
  };

  std::printf("T %d, local experts %d-%d: event span %.2f us; per tile, us\n", T, offset, offset + kLocalExperts - 1, event_us);
  std::printf("%-34s %6s [%6s, %6s]\n", "", "p50", "p10", "p90");
  bool any = false;
  for (int gemm = 0; gemm < 2; ++gemm) {
    std::vector<double> to_pairs, to_first, k_loop, epilogue, turnover, tiles_per_cta;
    unsigned long long first = ~0ull, last = 0;
    double turnover_sum = 0.0;
    int ctas = 0;
    for (int cta = 0; cta < kWgDiagCtas; ++cta) {
      int n = 0;
      for (; n < kWgDiagTiles && at(gemm, cta, n, 0) != 0; ++n) {
        const auto m = [&](int k) { return static_cast<double>(at(gemm, cta, n, k)); };
        if (at(gemm, cta, n, 2) == 0 || at(gemm, cta, n, 4) == 0) continue;  // k_loop without stage barriers: no mark 2
        to_pairs.push_back((m(1) - m(0)) / 1e3);
        to_first.push_back((m(2) - m(1)) / 1e3);
        k_loop.push_back((m(3) - m(2)) / 1e3);
        epilogue.push_back((m(4) - m(3)) / 1e3);
        // From the previous tile's last MMA (its mark 3) to this tile's first full stage: the tensor
        // cores of this CTA have nothing to do in between.
        if (n > 0 && at(gemm, cta, n - 1, 3) != 0) {
          const double gap = (m(2) - static_cast<double>(at(gemm, cta, n - 1, 3))) / 1e3;
          turnover.push_back(gap);
          turnover_sum += gap;
        }
        first = std::min(first, at(gemm, cta, n, 0));
        last = std::max(last, at(gemm, cta, n, 4));
      }
      if (n > 0) {
        ++ctas;
        tiles_per_cta.push_back(n);
      }
    }
    if (k_loop.empty()) continue;
    any = true;
    const double span = (static_cast<double>(last) - static_cast<double>(first)) / 1e3;
    std::printf("%s: %d CTAs recorded, %zu tiles (tiles past %d per CTA not recorded), span of the recorded %.1f us\n",
                gemm == 0 ? "GEMM1" : "GEMM2", ctas, k_loop.size(), kWgDiagTiles, span);
    print_spread("  tiles per CTA", tiles_per_cta);
    print_spread("  top -> pair list loaded (0 -> 1)", to_pairs);
    print_spread("  -> first stage full (1 -> 2)", to_first);
    print_spread("  K loop (2 -> 3)", k_loop);
    print_spread("  epilogue, output issued (3 -> 4)", epilogue);
    print_spread("  turnover: last MMA -> next full", turnover);
    std::printf("  turnover per CTA: %.1f us of the %.1f us span (%.1f%%)\n", ctas ? turnover_sum / ctas : 0.0, span,
                span > 0 && ctas ? 100.0 * turnover_sum / ctas / span : 0.0);
  }
  if (!any) {
    std::fprintf(stderr, "no tile recorded (built without MOE_WGMMA_DIAG_TILE_TIMES=1?)\n");
    return 1;
  }
  return 0;
}
