// probe_fill.h: deterministic device-side fills for the MoE probes (moe_probe_inputs.h, which the
// timeline probes include after the MoE kernel.cu; moe_ws_gemm_probe.cu, standalone): a 64-bit
// hash, finite e4m3 bytes of moderate size, N(0, 1) and uniform floats.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace moe_probe {

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
// scale * N(0, 1) (Box-Muller on two hashed uniforms), as the harness synthesizes routing inputs
// that a workload names but the dataset lacks (src/Tools/Inputs/InputSynthesizers.cs).
__global__ void fill_normal(float* p, size_t n, uint64_t seed, float scale) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float u1 = (mix(2 * i ^ (seed << 40)) % 1000000u + 1u) / 1000001.0f;
    const float u2 = (mix((2 * i + 1) ^ (seed << 40)) % 1000000u) / 1000000.0f;
    p[i] = scale * sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
  }
}
__global__ void fill_f32(float* p, size_t n, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    p[i] = lo + (hi - lo) * (mix(i ^ (seed << 40)) % 100000u) / 100000.0f;
}

}  // namespace moe_probe
