// attention_cta_timeline_probe.cu: where the DSA sparse attention's call spends its time, per CTA.
// Builds the baseline kernel.cu into this program with DSA_ATTN_DIAG_CTA_TIMES=1 (every pipelined
// pass-1 CTA and every merge CTA writes %globaltimer at its phase boundaries), runs one call on
// synthetic inputs shaped like the workloads (T tokens, 8462 pages of 64 tokens, each token's 2048
// indices drawn as the harness synthesizes them, an L2 flush before the measured call) and prints, relative to the first
// pass-1 CTA's start: when CTAs start, how long each phase takes, when the merge's phases end.
// scripts/device/attention-cta-timeline.sh builds and runs it (sm_90, on the GPU machine).
//   attention_cta_timeline_probe [tokens (1)] [seed (1)]
#include "../../../src/Kernels.Baseline/dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64/kernel.cu"

#include "timeline_probe_common.h"

using probe::next_random;
using probe::print_spread;
using probe::tensor;
using split_kv::g_diag_merge;
using split_kv::g_diag_pass1;
using split_kv::g_diag_pass1_sm;
using split_kv::kDiagCtas;
using split_kv::kDiagMarks;

int main(int argc, char** argv) {
  const int T = argc > 1 ? std::atoi(argv[1]) : 1;
  probe::lcg_state = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  const int64_t num_pages = 8462;
  const int64_t cache_tokens = num_pages * kPageSize;
  if (T < 1 || T > 64) {
    std::fprintf(stderr, "tokens 1-64\n");
    return 2;
  }
  const auto random_bf16 = [](size_t n) {
    std::vector<__nv_bfloat16> v(n);
    for (auto& x : v) x = __float2bfloat16((static_cast<int>(next_random() % 2001) - 1000) / 1000.0f);
    return v;
  };
  const auto qn = random_bf16(static_cast<size_t>(T) * kHeads * kDimCkv);
  const auto qp = random_bf16(static_cast<size_t>(T) * kHeads * kDimKpe);
  const auto ckv = random_bf16(static_cast<size_t>(cache_tokens) * kDimCkv);
  const auto kpe = random_bf16(static_cast<size_t>(cache_tokens) * kDimKpe);
  // Each token's indices as the harness synthesizes them (src/Tools/Inputs/SparseIndicesSynthesis.cs):
  // a sequence of 2048..16384 tokens on distinct random pages, 2048 distinct positions of it in
  // random order.
  std::vector<int32_t> idx(static_cast<size_t>(T) * kTopK);
  std::vector<char> used(std::max<int64_t>(num_pages, 8 * kTopK));
  const auto distinct = [&](int count, int64_t range) {
    std::fill(used.begin(), used.begin() + range, 0);
    std::vector<int64_t> picked(count);
    for (auto& x : picked) {
      int64_t v;
      do v = static_cast<int64_t>(next_random() % range); while (used[v]);
      used[v] = 1;
      x = v;
    }
    return picked;
  };
  for (int t = 0; t < T; ++t) {
    const int64_t sequence = kTopK + static_cast<int64_t>(next_random() % (7 * kTopK + 1));
    const auto pages = distinct(static_cast<int>((sequence + kPageSize - 1) / kPageSize), num_pages);
    const auto positions = distinct(kTopK, sequence);
    for (int i = 0; i < kTopK; ++i)
      idx[static_cast<size_t>(t) * kTopK + i] =
          static_cast<int32_t>(pages[positions[i] / kPageSize] * kPageSize + positions[i] % kPageSize);
  }

  __nv_bfloat16 *d_qn, *d_qp, *d_ckv, *d_kpe, *d_out;
  int32_t* d_idx;
  float* d_lse;
  CHECK(cudaMalloc(&d_qn, qn.size() * 2));
  CHECK(cudaMalloc(&d_qp, qp.size() * 2));
  CHECK(cudaMalloc(&d_ckv, ckv.size() * 2));
  CHECK(cudaMalloc(&d_kpe, kpe.size() * 2));
  CHECK(cudaMalloc(&d_idx, idx.size() * 4));
  CHECK(cudaMalloc(&d_out, static_cast<size_t>(T) * kHeads * kDimCkv * 2));
  CHECK(cudaMalloc(&d_lse, static_cast<size_t>(T) * kHeads * 4));
  CHECK(cudaMemcpy(d_qn, qn.data(), qn.size() * 2, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_qp, qp.data(), qp.size() * 2, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_ckv, ckv.data(), ckv.size() * 2, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_kpe, kpe.data(), kpe.size() * 2, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_idx, idx.data(), idx.size() * 4, cudaMemcpyHostToDevice));

  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  const auto call = [&] {
    run(tensor(d_qn, afg::DType::BFloat16, {T, kHeads, kDimCkv}), tensor(d_qp, afg::DType::BFloat16, {T, kHeads, kDimKpe}),
        tensor(d_ckv, afg::DType::BFloat16, {num_pages, kPageSize, kDimCkv}),
        tensor(d_kpe, afg::DType::BFloat16, {num_pages, kPageSize, kDimKpe}), tensor(d_idx, afg::DType::Int32, {T, kTopK}),
        0.0721687836f, tensor(d_out, afg::DType::BFloat16, {T, kHeads, kDimCkv}), tensor(d_lse, afg::DType::Float32, {T, kHeads}),
        stream);
  };
  // Three measured calls (each after an L2 flush); the last one's marks are printed.
  const std::vector<unsigned long long> zeros(static_cast<size_t>(kDiagCtas) * kDiagMarks, 0ull);
  const double event_us = probe::measure_after_flush(stream, 3, [&] {
    CHECK(cudaMemcpyToSymbol(g_diag_pass1, zeros.data(), zeros.size() * sizeof(unsigned long long)));
    CHECK(cudaMemcpyToSymbol(g_diag_merge, zeros.data(), zeros.size() * sizeof(unsigned long long)));
  }, call);

  std::vector<unsigned long long> p1(zeros.size()), mg(zeros.size());
  std::vector<unsigned> sm(kDiagCtas);
  CHECK(cudaMemcpyFromSymbol(p1.data(), g_diag_pass1, p1.size() * sizeof(unsigned long long)));
  CHECK(cudaMemcpyFromSymbol(mg.data(), g_diag_merge, mg.size() * sizeof(unsigned long long)));
  CHECK(cudaMemcpyFromSymbol(sm.data(), g_diag_pass1_sm, sm.size() * sizeof(unsigned)));

  unsigned long long t0 = ~0ull;
  for (int c = 0; c < kDiagCtas; ++c)
    if (p1[c * kDiagMarks] != 0) t0 = std::min(t0, p1[c * kDiagMarks]);
  if (t0 == ~0ull) {
    std::fprintf(stderr, "no pass-1 CTA recorded a mark (built without DSA_ATTN_DIAG_CTA_TIMES=1, or not the pipelined kernel)\n");
    return 1;
  }
  const auto us = [&](unsigned long long t) { return (static_cast<double>(t) - static_cast<double>(t0)) / 1000.0; };
  std::vector<double> start1, ids, first, s0, p0, products, store, end1;
  std::vector<int> per_sm(256, 0);
  for (int c = 0; c < kDiagCtas; ++c) {
    const unsigned long long* m = &p1[c * kDiagMarks];
    if (m[0] == 0) continue;
    ++per_sm[sm[c] & 255];
    start1.push_back(us(m[0]));
    ids.push_back((m[1] - m[0]) / 1000.0);
    first.push_back((m[2] - m[1]) / 1000.0);
    s0.push_back((m[5] - m[2]) / 1000.0);
    p0.push_back((m[6] - m[5]) / 1000.0);
    products.push_back((m[3] - m[2]) / 1000.0);
    store.push_back((m[4] - m[3]) / 1000.0);
    end1.push_back(us(m[4]));
  }
  std::vector<double> mstart, mwait, mloads, mend;
  for (int c = 0; c < kDiagCtas; ++c) {
    const unsigned long long* m = &mg[c * kDiagMarks];
    if (m[0] == 0) continue;
    mstart.push_back(us(m[0]));
    mwait.push_back(us(m[1]));
    mloads.push_back(us(m[2]));
    mend.push_back(us(m[3]));
  }
  const double last_end1 = *std::max_element(end1.begin(), end1.end());
  std::printf("tokens %d: %zu pass-1 CTAs, %zu merge CTAs, event span %.2f us; times in us from the first pass-1 CTA's start\n", T,
              start1.size(), mstart.size(), event_us);
  std::printf("%-34s %6s [%6s, %6s]\n", "", "p50", "p10", "p90");
  print_spread("pass-1 CTA start", start1);
  print_spread("  indices (mark 1 - 0)", ids);
  print_spread("  block 0 landed (2 - 1)", first);
  print_spread("    block 0: S (5 - 2)", s0);
  print_spread("    block 0: softmax (6 - 5)", p0);
  print_spread("  products, all blocks (3 - 2)", products);
  print_spread("  partial stored (4 - 3)", store);
  print_spread("pass-1 CTA end", end1);
  print_spread("merge CTA start", mstart);
  print_spread("merge: wait released", mwait);
  print_spread("merge: partials loaded", mloads);
  print_spread("merge end", mend);
  std::printf("last pass-1 end %.2f us; CTAs per SM: max %d\n", last_end1, *std::max_element(per_sm.begin(), per_sm.end()));
  return 0;
}
