// gdn_chain_timeline_probe.cu: where a chunk step of the GDN prefill's split scan goes.
// Builds the baseline kernel.cu into this program with GDN_PREFILL_DIAG_CHAIN_TIMES=1 (lane 0 of
// state warp 0 and of output warp 0 in the scan's CTA 0 write the SM clock at the phase boundaries
// of every chunk step), runs one call on synthetic inputs (T tokens in N sequences of equal length,
// no initial state, an L2 flush before the measured call) and prints, over the steady chunks (the
// first two and the last one left out), the median and spread of each phase in SM cycles and in us
// at the measured clock, for both roles, and how the two roles wait on each other.
// scripts/device/gdn-chain-timeline.sh builds and runs it (sm_90a, on the GPU machine).
//   gdn_chain_timeline_probe [tokens (2107)] [sequences (1)] [seed (1)]
// The split scan by default (one long sequence would otherwise take the state-only scan,
// GDN_PREFILL_SCAN_APART); `-- GDN_PREFILL_SCAN_APART=2` times that one's state warp 0 instead
// (no output-warp rows; its "buffer free" phase is the S copy and its stores). Calls the plan gives
// the persistent scan (scan_persist.cuh: e.g. "8192 32", items > SMs, <= 315 tokens a sequence) print
// its units by kind instead: inside an item, an item's first (state loaded), last (state stored).
#ifndef GDN_PREFILL_SCAN_APART
#define GDN_PREFILL_SCAN_APART 0
#endif
#include "../../../src/Kernels.Baseline/gdn_prefill_qk4_v8_d128_k_last/kernel.cu"

#include <algorithm>

#include "timeline_probe_common.h"
#include "gdn_probe_inputs.h"

using probe::print_spread;

int main(int argc, char** argv) {
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 2107;
  const int64_t N = argc > 2 ? std::atoll(argv[2]) : 1;
  probe::lcg_state = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  if (T < 2 * kC || N < 1 || N > T / kC) {
    std::fprintf(stderr, "tokens >= 128 and 1 <= sequences <= tokens / 64 (the scan runs from two chunks on)\n");
    return 2;
  }
  const gdn_probe::Inputs inputs(T, N);
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  const auto call = [&] { inputs.call(stream); };
  const std::vector<long long> zeros(2 * kChainDiagChunks * kChainDiagMarks, 0);
  const double event_us = probe::measure_after_flush(stream, 3, [&] {
    CHECK(cudaMemcpyToSymbol(g_chain_marks, zeros.data(), zeros.size() * sizeof(long long)));
  }, call);
  CHECK(cudaGetLastError());
  std::vector<long long> marks(zeros.size());
  CHECK(cudaMemcpyFromSymbol(marks.data(), g_chain_marks, marks.size() * sizeof(long long)));
  int clock_khz = 0;
  CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
  const auto mark = [&](int role, int chunk, int m) { return marks[(static_cast<size_t>(role) * kChainDiagChunks + chunk) * kChainDiagMarks + m]; };

  const int64_t longest = (T + N - 1) / N;  // CTA 0 takes the longest sequence when ranked, else the first
  int chunks = 0;
  while (chunks < kChainDiagChunks && mark(0, chunks, kChainStart) != 0) ++chunks;
  if (chunks < 4) {
    std::fprintf(stderr, "CTA 0 recorded %d chunk steps (built without GDN_PREFILL_DIAG_CHAIN_TIMES=1, the fused kernel, or too short)\n", chunks);
    return 1;
  }
  const double us_per_cycle = 1e3 / clock_khz;
  std::printf("T %lld in %lld sequences (longest ~%lld tokens): CTA 0 recorded %d chunk steps; event span %.2f us;\n"
              "cycles at the SM's nominal %.0f MHz; median [p10, p90] over chunks 2..%d, in cycles\n",
              static_cast<long long>(T), static_cast<long long>(N), static_cast<long long>(longest), chunks, event_us,
              clock_khz / 1e3, chunks - 2);
  std::printf("%-34s %6s [%6s, %6s]\n", "", "p50", "p10", "p90");
  // A phase's cycles over the steps i from 2 that `keep` accepts: from mark `from` of step i to mark
  // `to` of step i + `next`.
  const auto spread_over = [&](const char* what, auto keep, int role_from, int from, int role_to, int to, int next) {
    std::vector<double> v;
    for (int i = 2; i + next < chunks; ++i) {
      if (!keep(i)) continue;
      const long long a0 = mark(role_from, i, from), a1 = mark(role_to, i + next, to);
      if (a0 != 0 && a1 != 0) v.push_back(static_cast<double>(a1 - a0));
    }
    print_spread(what, v);
  };
  // Over the steady chunks (the last one left out too).
  const auto phase = [&](const char* what, int role_from, int from, int role_to, int to, int next_chunk = 0) {
    spread_over(what, [&](int i) { return i + 1 < chunks; }, role_from, from, role_to, to, next_chunk);
  };
#if GDN_PREFILL_PERSIST_BUILT
  // The persistent scan (scan_persist.cuh) marks units, not chunks: CTA 0 runs several items, and the
  // units at an item's boundary (its first: the state loaded; its last: the state stored) are timed
  // apart from the ones inside an item. Kinds: bit 2 recorded, bit 0 first, bit 1 last.
  std::vector<int> kinds(kChainDiagChunks, 0);
  CHECK(cudaMemcpyFromSymbol(kinds.data(), g_chain_unit_kinds, kinds.size() * sizeof(int)));
  if (std::any_of(kinds.begin(), kinds.end(), [](int k) { return k != 0; })) {
    std::printf("persistent scan: CTA 0's units by kind (units 2.. of %d; the CTA's first two left out)\n", chunks);
    const auto unit_phase = [&](const char* what, int kind, int role_from, int from, int role_to, int to, int next_unit = 0) {
      spread_over(what, [&](int u) { return (kinds[u] & 4) != 0 && (kinds[u] & 3) == kind; }, role_from, from, role_to, to, next_unit);
    };
    const char* names[4] = {"inside an item", "an item's first unit", "an item's last unit", "a one-unit item"};
    for (int kind : {0, 1, 2, 3}) {
      std::printf("%s\n", names[kind]);
      unit_phase("  state: step (start -> next start)", kind, 0, kChainStart, 0, kChainStart, 1);
      if (kind & 1) unit_phase("  state: landed wait + state load", kind, 0, kChainStart, 0, kChainStateLoaded);
      unit_phase("  state: start -> buffer free", kind, 0, kChainStart, 0, kChainBufferFree);
      unit_phase("  state: S copy + stage landed", kind, 0, kChainBufferFree, 0, kChainLanded);
      unit_phase("  state: W S, U', ready", kind, 0, kChainLanded, 0, kChainUPrime);
      unit_phase("  state: update", kind, 0, kChainUPrime, 0, kChainUpdated);
      unit_phase("  state: to the next start (state store if last)", kind, 0, kChainUpdated, 0, kChainStart, 1);
      unit_phase("  output: step (start -> next start)", kind, 1, kChainOutStart, 1, kChainOutStart, 1);
      unit_phase("  output: landed, Q issue, ready wait", kind, 1, kChainOutStart, 1, kChainOutReady);
      unit_phase("  output: Q wait", kind, 1, kChainOutReady, 1, kChainOutLanded);
      unit_phase("  output: products", kind, 1, kChainOutLanded, 1, kChainOutProducts);
      unit_phase("  output: stores", kind, 1, kChainOutProducts, 1, kChainOutStored);
      unit_phase("  state's ready -> output past it", kind, 0, kChainUPrime, 1, kChainOutReady);
    }
    std::printf("us per cycle %.5f\n", us_per_cycle);
    return 0;
  }
#endif
  std::printf("state warp 0\n");
  phase("  step (start -> next start)", 0, kChainStart, 0, kChainStart, 1);
  phase("  buffer free wait", 0, kChainStart, 0, kChainBufferFree);
  phase("  S copy + stage landed", 0, kChainBufferFree, 0, kChainLanded);
  phase("  state warps' barrier", 0, kChainLanded, 0, kChainSynced);
  phase("  W S (128 k)", 0, kChainSynced, 0, kChainWS);
  phase("  U' stored + barrier + ready", 0, kChainWS, 0, kChainUPrime);
  phase("  update (64 k)", 0, kChainUPrime, 0, kChainUpdated);
  phase("  to the next step", 0, kChainUpdated, 0, kChainStart, 1);
  std::printf("output warp 0\n");
  phase("  step (start -> next start)", 1, kChainOutStart, 1, kChainOutStart, 1);
  phase("  Q issue + ready wait", 1, kChainOutStart, 1, kChainOutReady);
  phase("  refill issue", 1, kChainOutReady, 1, kChainOutRefilled);
  phase("  stage / Q waits", 1, kChainOutRefilled, 1, kChainOutLanded);
  phase("  products (Q S, P U')", 1, kChainOutLanded, 1, kChainOutProducts);
  phase("  stores", 1, kChainOutProducts, 1, kChainOutStored);
  std::printf("between the roles\n");
  phase("  state's ready -> output past it", 0, kChainUPrime, 1, kChainOutReady);
  phase("  output's products -> state's buffer (i+2)", 1, kChainOutProducts, 0, kChainBufferFree, 2);
  std::printf("us per cycle %.5f: a step of p50 cycles is p50 x that\n", us_per_cycle);
  return 0;
}
