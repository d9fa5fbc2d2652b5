// ptx_jit_kernel.cu: the device half of the PTX side-loading probe (scripts/device/ptx-jit-probe.sh).
// Built to PTX for compute_90a only; the host half, built for plain sm_90 as FlashInfer-Bench builds
// a solution, loads that PTX through the driver (cuModuleLoadData) and launches it. One warpgroup
// runs one fp8 wgmma (m64n64k32) on operands of e4m3 1.0 (0x38): every accumulator is 32, so
// each thread's sum of its 32 accumulators is 1024.
#include <cstdint>

#include "afg_wgmma.cuh"

extern "C" __global__ void __launch_bounds__(128) ptx_jit_wgmma_probe(float* out) {
  __shared__ __align__(1024) uint8_t a[64 * 128];
  __shared__ __align__(1024) uint8_t b[64 * 128];
  for (int i = threadIdx.x; i < 64 * 128; i += blockDim.x) a[i] = b[i] = 0x38;
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");  // the writers' stores, to the async proxy
  __syncthreads();
  float d[32];
#pragma unroll
  for (int i = 0; i < 32; ++i) d[i] = 0.f;
  const uint32_t sa = static_cast<uint32_t>(__cvta_generic_to_shared(a));
  const uint32_t sb = static_cast<uint32_t>(__cvta_generic_to_shared(b));
  afg::wgmma_fence();
  afg::wgmma_m64n64k32_e4m3(d, afg::desc_sw128(sa), afg::desc_sw128(sb), 0);
  afg::wgmma_commit();
  afg::wgmma_wait<0>();
  afg::fence_fragment(d);
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < 32; ++i) sum += d[i];
  out[threadIdx.x] = sum;
}
