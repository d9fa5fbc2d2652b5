// indexer_cta_timeline_probe.cu: where the DSA indexer's scoring call spends its time, per CTA.
// Builds the baseline kernel.cu into this program with INDEXER_DIAG_CTA_TIMES=1 (every wgmma score
// CTA and select CTA writes %globaltimer at its phase boundaries), runs the indexer on synthetic
// inputs shaped like workload 3eab2c37 (15 rows x 91 pages, row lengths 33-91 pages, random page
// ids, an L2 flush before the measured call) and prints, relative to the first score CTA's start:
// when CTAs start (their dispatch), how long each phase of a working CTA takes, when the select's
// phases end. scripts/device/indexer-cta-timeline.sh builds and runs it (sm_90a, on the GPU machine).
//   indexer_cta_timeline_probe [rows (15)] [max_pages (91)] [seed (1)]
#include "../../../src/Kernels.Baseline/dsa_topk_indexer_fp8_h64_d128_topk2048_ps64/kernel.cu"

#include "timeline_probe_common.h"

namespace {

using probe::next_random;

// An e4m3 byte that is not NaN (0x7f / 0xff), of moderate size (exponent field 4-9).
uint8_t random_fp8() {
  const uint32_t r = next_random();
  return static_cast<uint8_t>((r & 0x80u) | ((4u + (r >> 8) % 6u) << 3) | ((r >> 16) & 7u));
}

}  // namespace

using probe::print_spread;
using probe::tensor;

int main(int argc, char** argv) {
  const int B = argc > 1 ? std::atoi(argv[1]) : 15;
  const int max_pages = argc > 2 ? std::atoi(argv[2]) : 91;
  probe::lcg_state = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  const int64_t num_pages = 11923;
  if (B < 1 || B > kDiagSelectCtas || max_pages < 33 || static_cast<int64_t>(B) * max_pages > kDiagScoreCtas) {
    std::fprintf(stderr, "rows 1-%d, max_pages >= 33, rows x pages <= %d\n", kDiagSelectCtas, kDiagScoreCtas);
    return 2;
  }

  std::vector<uint8_t> q(static_cast<size_t>(B) * kHeads * kHeadDim);
  for (auto& x : q) x = random_fp8();
  std::vector<uint8_t> cache(static_cast<size_t>(num_pages) * kPageBytes);
  for (int64_t p = 0; p < num_pages; ++p) {
    uint8_t* page = cache.data() + p * kPageBytes;
    for (int i = 0; i < kPageSize * kHeadDim; ++i) page[i] = random_fp8();
    float* scales = reinterpret_cast<float*>(page + kPageSize * kHeadDim);
    for (int t = 0; t < kPageSize; ++t) scales[t] = 0.01f + 0.09f * (next_random() % 1000) / 1000.0f;
  }
  std::vector<float> weights(static_cast<size_t>(B) * kHeads);
  for (auto& w : weights) w = (static_cast<int>(next_random() % 2001) - 1000) / 1000.0f;
  std::vector<int32_t> lens(B), table(static_cast<size_t>(B) * max_pages);
  for (int b = 0; b < B; ++b) lens[b] = 33 * kPageSize + static_cast<int>(next_random() % ((max_pages - 33) * kPageSize + 1));
  for (auto& id : table) id = static_cast<int32_t>(next_random() % num_pages);

  uint8_t *d_q, *d_cache;
  float* d_w;
  int32_t *d_lens, *d_table, *d_out;
  CHECK(cudaMalloc(&d_q, q.size()));
  CHECK(cudaMalloc(&d_cache, cache.size()));
  CHECK(cudaMalloc(&d_w, weights.size() * sizeof(float)));
  CHECK(cudaMalloc(&d_lens, lens.size() * sizeof(int32_t)));
  CHECK(cudaMalloc(&d_table, table.size() * sizeof(int32_t)));
  CHECK(cudaMalloc(&d_out, static_cast<size_t>(B) * kTopK * sizeof(int32_t)));
  CHECK(cudaMemcpy(d_q, q.data(), q.size(), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_cache, cache.data(), cache.size(), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_w, weights.data(), weights.size() * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_lens, lens.data(), lens.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_table, table.data(), table.size() * sizeof(int32_t), cudaMemcpyHostToDevice));

  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  const auto call = [&] {
    run(tensor(d_q, afg::DType::Float8E4M3FN, {B, kHeads, kHeadDim}),
        tensor(d_cache, afg::DType::Int8, {num_pages, kPageSize, 1, kRowBytes}),
        tensor(d_w, afg::DType::Float32, {B, kHeads}), tensor(d_lens, afg::DType::Int32, {B}),
        tensor(d_table, afg::DType::Int32, {B, max_pages}), tensor(d_out, afg::DType::Int32, {B, kTopK}), stream);
  };
  const std::vector<unsigned long long> zeros_score(static_cast<size_t>(kDiagScoreCtas) * kDiagMarks, 0ull);
  const std::vector<unsigned long long> zeros_select(static_cast<size_t>(kDiagSelectCtas) * kDiagMarks, 0ull);
  const double event_us = probe::measure_after_flush(stream, 1, [&] {
    CHECK(cudaMemcpyToSymbol(g_diag_score, zeros_score.data(), zeros_score.size() * sizeof(unsigned long long)));
    CHECK(cudaMemcpyToSymbol(g_diag_select, zeros_select.data(), zeros_select.size() * sizeof(unsigned long long)));
  }, call);

  std::vector<unsigned long long> score(zeros_score.size()), sel(zeros_select.size());
  std::vector<unsigned> sm(kDiagScoreCtas);
  CHECK(cudaMemcpyFromSymbol(score.data(), g_diag_score, score.size() * sizeof(unsigned long long)));
  CHECK(cudaMemcpyFromSymbol(sel.data(), g_diag_select, sel.size() * sizeof(unsigned long long)));
  CHECK(cudaMemcpyFromSymbol(sm.data(), g_diag_score_sm, sm.size() * sizeof(unsigned)));

  const int ctas = B * max_pages;
  unsigned long long t0 = ~0ull;
  for (int c = 0; c < ctas; ++c)
    if (score[c * kDiagMarks] != 0) t0 = std::min(t0, score[c * kDiagMarks]);
  if (t0 == ~0ull) {
    std::fprintf(stderr, "no score CTA recorded a mark (built without INDEXER_DIAG_CTA_TIMES=1, or not the wgmma kernel)\n");
    return 1;
  }
  const auto us = [&](unsigned long long t) { return (static_cast<double>(t) - static_cast<double>(t0)) / 1000.0; };
  std::vector<double> start_all, start_working, ids, data, mma, epilogue, end_working, exit_at;
  std::vector<int> per_sm(256, 0);
  int working = 0;
  for (int c = 0; c < ctas; ++c) {
    const unsigned long long* m = &score[c * kDiagMarks];
    if (m[0] == 0) continue;
    ++per_sm[sm[c] & 255];
    start_all.push_back(us(m[0]));
    if (m[4] != 0) {
      ++working;
      start_working.push_back(us(m[0]));
      ids.push_back((m[1] - m[0]) / 1000.0);
      data.push_back((m[2] - m[1]) / 1000.0);
      mma.push_back((m[3] - m[2]) / 1000.0);
      epilogue.push_back((m[4] - m[3]) / 1000.0);
      end_working.push_back(us(m[4]));
    } else {
      exit_at.push_back(us(m[1]));
    }
  }
  std::printf("rows %d, max_pages %d: %d score CTAs (%d working), event span %.2f us; times in us from the first score CTA's start\n",
              B, max_pages, static_cast<int>(start_all.size()), working, event_us);
  std::printf("%-34s %6s [%6s, %6s]\n", "", "p50", "p10", "p90");
  print_spread("score CTA start (all)", start_all);
  print_spread("score CTA start (working)", start_working);
  print_spread("  length + page id (mark 1 - 0)", ids);
  print_spread("  copies landed (2 - 1)", data);
  print_spread("  4 wgmma (3 - 2)", mma);
  print_spread("  epilogue + stores (4 - 3)", epilogue);
  print_spread("score CTA end (working)", end_working);
  print_spread("past-the-end CTA exit", exit_at);
  const int busiest = *std::max_element(per_sm.begin(), per_sm.end());
  std::printf("CTAs per SM: max %d\n", busiest);
  std::vector<double> sel_start, sel_visible, sel_threshold, sel_scanned, sel_end;
  for (int b = 0; b < B; ++b) {
    const unsigned long long* m = &sel[b * kDiagMarks];
    if (m[0] == 0 || m[4] == 0) continue;  // pass-through rows end elsewhere
    sel_start.push_back(us(m[0]));
    sel_visible.push_back(us(m[1]));
    sel_threshold.push_back(us(m[2]));
    sel_scanned.push_back(us(m[3]));
    sel_end.push_back(us(m[4]));
  }
  print_spread("select start", sel_start);
  print_spread("select: scores visible", sel_visible);
  print_spread("select: threshold found", sel_threshold);
  print_spread("select: row scanned", sel_scanned);
  print_spread("select end", sel_end);
  return 0;
}
