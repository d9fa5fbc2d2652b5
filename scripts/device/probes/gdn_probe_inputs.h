// gdn_probe_inputs.h: the GDN prefill timeline probes' synthetic call (gdn_chain_timeline_probe.cu,
// gdn_prep_timeline_probe.cu): T tokens in N sequences of equal length, unit-norm keys and queries
// (as l2-normalized keys are in the models), random values and gates, no initial state, and the
// baseline's run() on them. Include it after the GDN prefill kernel.cu and timeline_probe_common.h.
#pragma once

#include <cmath>

namespace gdn_probe {

struct Inputs {
  int64_t T = 0, N = 0;
  void *q = nullptr, *k = nullptr, *v = nullptr, *a = nullptr, *b = nullptr;
  void *a_log = nullptr, *dt_bias = nullptr, *cu_seqlens = nullptr, *out = nullptr, *state = nullptr;

  Inputs(int64_t tokens, int64_t sequences) : T(tokens), N(sequences) {
    using probe::next_random;
    const auto uniform = [] { return (static_cast<int>(next_random() % 2001) - 1000) / 1000.0f; };
    const auto random_bf16 = [&](size_t n, float scale) {
      std::vector<__nv_bfloat16> host(n);
      for (auto& x : host) x = __float2bfloat16(scale * uniform());
      return host;
    };
    const auto unit_rows = [&](size_t rows) {
      std::vector<__nv_bfloat16> host(rows * kD);
      for (size_t r = 0; r < rows; ++r) {
        std::vector<float> x(kD);
        double norm = 0;
        for (auto& e : x) norm += (e = uniform()) * e;
        for (int c = 0; c < kD; ++c) host[r * kD + c] = __float2bfloat16(static_cast<float>(x[c] / std::sqrt(norm)));
      }
      return host;
    };
    std::vector<int64_t> cu(N + 1);
    for (int64_t n = 0; n <= N; ++n) cu[n] = T * n / N;
    q = upload(unit_rows(static_cast<size_t>(T) * kNumQKHeads));
    k = upload(unit_rows(static_cast<size_t>(T) * kNumQKHeads));
    v = upload(random_bf16(static_cast<size_t>(T) * kNumVHeads * kD, 1.0f));
    a = upload(random_bf16(static_cast<size_t>(T) * kNumVHeads, 1.0f));
    b = upload(random_bf16(static_cast<size_t>(T) * kNumVHeads, 2.0f));
    a_log = upload(std::vector<float>(kNumVHeads, 0.0f));
    dt_bias = upload(std::vector<float>(kNumVHeads, 0.0f));
    cu_seqlens = upload(cu);
    CHECK(cudaMalloc(&out, static_cast<size_t>(T) * kNumVHeads * kD * 2));
    CHECK(cudaMalloc(&state, static_cast<size_t>(N) * kNumVHeads * kD * kD * 4));
  }

  template <typename Host>
  static void* upload(const Host& host) {
    void* d;
    CHECK(cudaMalloc(&d, host.size() * sizeof(host[0])));
    CHECK(cudaMemcpy(d, host.data(), host.size() * sizeof(host[0]), cudaMemcpyHostToDevice));
    return d;
  }

  void call(cudaStream_t stream) const {
    using probe::tensor;
    run(tensor(q, afg::DType::BFloat16, {T, kNumQKHeads, kD}), tensor(k, afg::DType::BFloat16, {T, kNumQKHeads, kD}),
        tensor(v, afg::DType::BFloat16, {T, kNumVHeads, kD}), tensor(nullptr, afg::DType::Float32, {N, kNumVHeads, kD, kD}),
        tensor(a_log, afg::DType::Float32, {kNumVHeads}), tensor(a, afg::DType::BFloat16, {T, kNumVHeads}),
        tensor(dt_bias, afg::DType::Float32, {kNumVHeads}), tensor(b, afg::DType::BFloat16, {T, kNumVHeads}),
        tensor(cu_seqlens, afg::DType::Int64, {N + 1}), 0.0f, tensor(out, afg::DType::BFloat16, {T, kNumVHeads, kD}),
        tensor(state, afg::DType::Float32, {N, kNumVHeads, kD, kD}), stream);
  }
};

}  // namespace gdn_probe
