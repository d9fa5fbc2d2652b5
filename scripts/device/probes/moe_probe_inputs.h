// moe_probe_inputs.h: the MoE timeline probes' synthetic call (moe_cta_timeline_probe.cu,
// moe_wgmma_tile_timeline_probe.cu): routing logits N(0, 1) and bias 0.01 N(0, 1) (the harness's
// synthesis of the workloads' routing inputs; until session 22 uniform in [-4, 4] and [-1, 1], a
// far more skewed expert load than the bench measures), fp8 activations and weights
// filled on the device (finite e4m3 of moderate size), block scales, and the baseline's run() on
// them. Include it after the MoE kernel.cu and timeline_probe_common.h.
#pragma once

#include "probe_fill.h"  // mix, fill_fp8, fill_normal, fill_f32

namespace moe_probe {

// The device inputs and output of one call of T tokens with local experts [offset, offset + 32).
struct Inputs {
  int T = 0, offset = 0;
  uint8_t *hidden = nullptr, *w1 = nullptr, *w2 = nullptr;
  float *logits = nullptr, *hidden_scale = nullptr, *w1s = nullptr, *w2s = nullptr;
  __nv_bfloat16 *bias = nullptr, *out = nullptr;

  Inputs(int tokens, int local_offset) : T(tokens), offset(local_offset) {
    const size_t w1_bytes = static_cast<size_t>(kLocalExperts) * kGemm1Out * kHidden;
    const size_t w2_bytes = static_cast<size_t>(kLocalExperts) * kHidden * kInter;
    const size_t w1s_count = static_cast<size_t>(kLocalExperts) * kGemm1OutBlocks * kHiddenBlocks;
    const size_t w2s_count = static_cast<size_t>(kLocalExperts) * kHiddenBlocks * kInterBlocks;
    CHECK(cudaMalloc(&logits, static_cast<size_t>(T) * kExperts * 4));
    CHECK(cudaMalloc(&bias, kExperts * 2));
    CHECK(cudaMalloc(&hidden, static_cast<size_t>(T) * kHidden));
    CHECK(cudaMalloc(&hidden_scale, static_cast<size_t>(kHiddenBlocks) * T * 4));
    CHECK(cudaMalloc(&w1, w1_bytes));
    CHECK(cudaMalloc(&w1s, w1s_count * 4));
    CHECK(cudaMalloc(&w2, w2_bytes));
    CHECK(cudaMalloc(&w2s, w2s_count * 4));
    CHECK(cudaMalloc(&out, static_cast<size_t>(T) * kHidden * 2));
    const uint64_t seed = probe::next_random();
    fill_normal<<<1024, 256>>>(logits, static_cast<size_t>(T) * kExperts, seed + 1, 1.0f);
    fill_fp8<<<1024, 256>>>(hidden, static_cast<size_t>(T) * kHidden, seed + 2);
    fill_f32<<<1024, 256>>>(hidden_scale, static_cast<size_t>(kHiddenBlocks) * T, seed + 3, 0.01f, 0.1f);
    fill_fp8<<<4096, 256>>>(w1, w1_bytes, seed + 4);
    fill_f32<<<1024, 256>>>(w1s, w1s_count, seed + 5, 0.001f, 0.01f);
    fill_fp8<<<4096, 256>>>(w2, w2_bytes, seed + 6);
    fill_f32<<<1024, 256>>>(w2s, w2s_count, seed + 7, 0.001f, 0.01f);
    // 0.01 N(0, 1), as the harness synthesizes routing_bias (Box-Muller on the host).
    std::vector<__nv_bfloat16> host_bias(kExperts);
    for (auto& x : host_bias) {
      const double u1 = (probe::next_random() % 1000000u + 1u) / 1000001.0, u2 = (probe::next_random() % 1000000u) / 1000000.0;
      x = __float2bfloat16(static_cast<float>(0.01 * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2)));
    }
    CHECK(cudaMemcpy(bias, host_bias.data(), host_bias.size() * 2, cudaMemcpyHostToDevice));
    CHECK(cudaDeviceSynchronize());
  }

  void call(cudaStream_t stream) const {
    using probe::tensor;
    run(tensor(logits, afg::DType::Float32, {T, kExperts}), tensor(bias, afg::DType::BFloat16, {kExperts}),
        tensor(hidden, afg::DType::Float8E4M3FN, {T, kHidden}),
        tensor(hidden_scale, afg::DType::Float32, {kHiddenBlocks, T}),
        tensor(w1, afg::DType::Float8E4M3FN, {kLocalExperts, kGemm1Out, kHidden}),
        tensor(w1s, afg::DType::Float32, {kLocalExperts, kGemm1OutBlocks, kHiddenBlocks}),
        tensor(w2, afg::DType::Float8E4M3FN, {kLocalExperts, kHidden, kInter}),
        tensor(w2s, afg::DType::Float32, {kLocalExperts, kHiddenBlocks, kInterBlocks}), offset, 2.5f,
        tensor(out, afg::DType::BFloat16, {T, kHidden}), stream);
  }
};

}  // namespace moe_probe
