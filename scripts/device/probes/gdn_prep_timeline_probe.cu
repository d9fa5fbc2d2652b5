// gdn_prep_timeline_probe.cu: where a GDN prefill prep CTA (one 64-token chunk of one value head)
// spends its time. Builds the baseline kernel.cu into this program with GDN_PREFILL_DIAG_PREP_TIMES=1
// (thread 0 of every prep CTA writes the SM clock after each phase's barrier, and the global timer
// at its start and after its stores are issued), runs one call on synthetic inputs
// (gdn_probe_inputs.h: T tokens in N sequences of equal length, an L2 flush before the measured
// call) and prints, over the CTAs that own a chunk: when they start (the waves), how long each
// takes, and each phase in SM cycles, for the first wave (CTAs that start with the kernel) and
// for the later ones apart, since a later CTA shares its SM with a running one.
// scripts/device/gdn-prep-timeline.sh builds and runs it (sm_90a, on the GPU machine).
//   gdn_prep_timeline_probe [tokens (2107)] [sequences (1)] [seed (1)]
#include "../../../src/Kernels.Baseline/gdn_prefill_qk4_v8_d128_k_last/kernel.cu"

#include "timeline_probe_common.h"
#include "gdn_probe_inputs.h"

using probe::print_spread;

int main(int argc, char** argv) {
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 2107;
  const int64_t N = argc > 2 ? std::atoll(argv[2]) : 1;
  probe::lcg_state = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  if (T <= GDN_PREFILL_FUSED_MAX_T || N < 1 || N > T) {
    std::fprintf(stderr, "tokens > %d (shorter calls take the fused kernel, no prep) and 1 <= sequences <= tokens\n",
                 GDN_PREFILL_FUSED_MAX_T);
    return 2;
  }
  // The prep's grid (kernel.cu's slots x head groups: with GDN_PREFILL_PREP_HEAD_PAIRS a CTA takes two
  // value heads, so its marks are the pair's).
  const int64_t ctas = (T / kC + N + 1) * (kNumVHeads / kPrepHeads);
  if (ctas > kPrepDiagCtas) {
    std::fprintf(stderr, "the prep's %lld CTAs exceed the %d recorded\n", static_cast<long long>(ctas), kPrepDiagCtas);
    return 2;
  }
  const gdn_probe::Inputs inputs(T, N);
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  const std::vector<long long> zero_marks(static_cast<size_t>(kPrepDiagCtas) * kPrepMarks, 0);
  const std::vector<unsigned long long> zero_span(static_cast<size_t>(kPrepDiagCtas) * 2, 0);
  const double event_us = probe::measure_after_flush(stream, 3, [&] {
    CHECK(cudaMemcpyToSymbol(g_prep_marks, zero_marks.data(), zero_marks.size() * sizeof(long long)));
    CHECK(cudaMemcpyToSymbol(g_prep_span, zero_span.data(), zero_span.size() * sizeof(unsigned long long)));
  }, [&] { inputs.call(stream); });
  CHECK(cudaGetLastError());
  std::vector<long long> marks(zero_marks.size());
  std::vector<unsigned long long> span(zero_span.size());
  CHECK(cudaMemcpyFromSymbol(marks.data(), g_prep_marks, marks.size() * sizeof(long long)));
  CHECK(cudaMemcpyFromSymbol(span.data(), g_prep_span, span.size() * sizeof(unsigned long long)));
  int clock_khz = 0;
  CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
  const auto mark = [&](int64_t cta, int m) { return marks[static_cast<size_t>(cta) * kPrepMarks + m]; };

  // The CTAs that own a chunk stored it; the others only found their slot empty.
  std::vector<int64_t> working;
  unsigned long long first = ~0ull, last = 0;
  for (int64_t cta = 0; cta < ctas; ++cta) {
    if (span[cta * 2] != 0) first = std::min(first, span[cta * 2]);
    if (mark(cta, kPrepStored) != 0 && span[cta * 2 + 1] != 0) {
      working.push_back(cta);
      last = std::max(last, span[cta * 2 + 1]);
    }
  }
  if (working.empty()) {
    std::fprintf(stderr, "no prep CTA recorded its stores (built without GDN_PREFILL_DIAG_PREP_TIMES=1?)\n");
    return 1;
  }
  // The first wave: CTAs that started within 0.5 us of the first one.
  std::vector<int64_t> first_wave, later;
  for (const int64_t cta : working) (span[cta * 2] - first <= 500 ? first_wave : later).push_back(cta);

  std::printf("T %lld in %lld sequences: %zu of the prep's %lld CTAs own a chunk; event span of the call %.2f us,\n"
              "prep CTAs from the first start to the last stores issued %.2f us; first wave %zu CTAs, later %zu\n",
              static_cast<long long>(T), static_cast<long long>(N), working.size(), static_cast<long long>(ctas), event_us,
              (last - first) / 1e3, first_wave.size(), later.size());
  std::printf("%-34s %6s [%6s, %6s]\n", "", "p50", "p10", "p90");
  {
    std::vector<double> starts, lengths;
    for (const int64_t cta : working) {
      starts.push_back((span[cta * 2] - first) / 1e3);
      lengths.push_back((span[cta * 2 + 1] - span[cta * 2]) / 1e3);
    }
    print_spread("start after the first (us)", starts);
    print_spread("start -> stores issued (us)", lengths);
  }
  // Each phase ends at its mark (PrepMark): the time from the previous mark.
  static const char* const kPhases[] = {"slot lookup",        "K, Q, V, gates landed", "gate factors",
                                        "K K^T, Q K^T, Kd, P", "solve: diagonal blocks", "solve: level 1",
                                        "solve: level 2",     "W and U products",     "U staged",
                                        "workspace stores issued"};
  static_assert(sizeof(kPhases) / sizeof(kPhases[0]) == kPrepMarks - 1, "a name per phase");
  for (int group = 0; group < 2; ++group) {
    const auto& ctas_of = group == 0 ? first_wave : later;
    if (ctas_of.empty()) continue;
    std::printf("%s: phases in SM cycles\n", group == 0 ? "first wave" : "later CTAs");
    std::vector<double> whole;
    for (const int64_t cta : ctas_of) whole.push_back(static_cast<double>(mark(cta, kPrepStored) - mark(cta, kPrepStart)));
    print_spread("  whole CTA", whole);
    for (int m = kPrepSlotFound; m <= kPrepStored; ++m) {
      std::vector<double> v;
      for (const int64_t cta : ctas_of) v.push_back(static_cast<double>(mark(cta, m) - mark(cta, m - 1)));
      char label[64];
      std::snprintf(label, sizeof label, "  %s", kPhases[m - 1]);
      print_spread(label, v);
    }
  }
  std::printf("us per cycle %.5f at the SM's nominal %.0f MHz\n", 1e3 / clock_khz, clock_khz / 1e3);
  return 0;
}
