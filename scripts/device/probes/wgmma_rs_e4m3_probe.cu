// wgmma_rs_e4m3_probe.cu: whether an e4m3 warpgroup MMA with A from registers, its fragments read by
// afg::ldmatrix_a_e4m3_sw128 from a 128-byte-swizzled tile, computes what the same MMA with A from
// shared memory computes. Written for the MoE's warp-specialized GEMMs with A from registers
// (MOE_WGMMA_WS_A_REGS, session 33): the layout matched on an H100 (session 34), the knob passed 19/19
// but was slower (GEMM1 +12..+17 us) and was removed (commit cbb9ada has it); the loader and the RS
// instruction stay in afg_wgmma.cuh for the next kernel that wants A from registers.
//
// One warpgroup computes D [64][128] = A [64][128] * B^T (B [128][128], both K-major e4m3: one MoE K
// block) twice: four wgmma m64n128k32 from shared-memory descriptors (SS, the kernels' default), and
// four with A's fragments in registers (RS). Both tiles sit in shared memory as 128-byte rows in the
// 128-byte swizzle (16-byte chunk c of row r at chunk c ^ (r % 8)), 1024-byte aligned, as TMA leaves
// the kernels' stages. The values are small multiples of 0.5 (exact in e4m3, their products and sums
// exact in fp32), so both must match the host's product exactly.
// Build and run on the GPU machine (no .device needed):
//   nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -I src/Kernels.Baseline/include \
//     -o /tmp/rs_probe scripts/device/probes/wgmma_rs_e4m3_probe.cu && /tmp/rs_probe
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include "afg_wgmma.cuh"

#define CHECK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { std::printf("%s: %s\n", #x, cudaGetErrorString(e_)); return 1; } } while (0)

constexpr int kM = 64, kN = 128, kK = 128;  // K in bytes: one 128-byte row

__host__ __device__ __forceinline__ int swizzled(int row, int byte) { return row * 128 + (((byte / 16) ^ (row % 8)) * 16) + byte % 16; }

// rs = 0: A from shared memory (descriptors); rs = 1: A from registers.
__global__ void __launch_bounds__(128, 1) rs_probe_kernel(const uint8_t* a, const uint8_t* b, float* out, int rs) {
  __shared__ alignas(1024) uint8_t tile_a[kM * 128];
  __shared__ alignas(1024) uint8_t tile_b[kN * 128];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  for (int i = tid; i < kM * 8; i += 128) {
    const int r = i / 8, c = (i % 8) * 16;
    *reinterpret_cast<uint4*>(tile_a + swizzled(r, c)) = *reinterpret_cast<const uint4*>(a + r * kK + c);
  }
  for (int i = tid; i < kN * 8; i += 128) {
    const int r = i / 8, c = (i % 8) * 16;
    *reinterpret_cast<uint4*>(tile_b + swizzled(r, c)) = *reinterpret_cast<const uint4*>(b + r * kK + c);
  }
  afg::fence_proxy_async();
  __syncthreads();
  const uint32_t base_a = static_cast<uint32_t>(__cvta_generic_to_shared(tile_a));
  const uint32_t base_b = static_cast<uint32_t>(__cvta_generic_to_shared(tile_b));
  float d[64] = {};
  if (rs) {
    uint32_t frags[4][4];
    afg::ldmatrix_a_e4m3_sw128(frags, base_a, warp, lane);
    afg::wgmma_fence();
#pragma unroll
    for (int k = 0; k < 4; ++k) afg::wgmma_m64n128k32_e4m3_rs(d, frags[k], afg::desc_sw128(base_b + 32 * k), k > 0);
    afg::wgmma_commit();
    afg::wgmma_wait<0>();
#pragma unroll
    for (int k = 0; k < 4; ++k) afg::fence_regs(frags[k]);
  } else {
    afg::wgmma_fence();
#pragma unroll
    for (int k = 0; k < 4; ++k)
      afg::wgmma_m64n128k32_e4m3(d, afg::desc_sw128(base_a + 32 * k), afg::desc_sw128(base_b + 32 * k), k > 0);
    afg::wgmma_commit();
    afg::wgmma_wait<0>();
  }
  afg::fence_fragment(d);
  // The m64nN accumulator: warp w's rows 16 w + lane / 4 (+ 8), columns 8 t + 2 (lane % 4) (+ 1).
  const int g = lane / 4, tq = lane % 4;
#pragma unroll
  for (int t = 0; t < kN / 8; ++t) {
    const int r = warp * 16 + g, c = t * 8 + 2 * tq;
    out[r * kN + c] = d[t * 4 + 0];
    out[r * kN + c + 1] = d[t * 4 + 1];
    out[(r + 8) * kN + c] = d[t * 4 + 2];
    out[(r + 8) * kN + c + 1] = d[t * 4 + 3];
  }
}

int main() {
  const float levels[] = {-2.f, -1.f, -0.5f, 0.f, 0.5f, 1.f, 2.f};
  std::vector<uint8_t> a(kM * kK), b(kN * kK);
  std::vector<float> av(a.size()), bv(b.size());
  std::srand(33);
  for (size_t i = 0; i < a.size(); ++i) {
    av[i] = levels[std::rand() % 7];
    a[i] = __nv_fp8_e4m3(av[i]).__x;
  }
  for (size_t i = 0; i < b.size(); ++i) {
    bv[i] = levels[std::rand() % 7];
    b[i] = __nv_fp8_e4m3(bv[i]).__x;
  }
  std::vector<double> want(kM * kN, 0.0);
  for (int i = 0; i < kM; ++i)
    for (int j = 0; j < kN; ++j)
      for (int k = 0; k < kK; ++k) want[i * kN + j] += static_cast<double>(av[i * kK + k]) * bv[j * kK + k];
  uint8_t *da = nullptr, *db = nullptr;
  float* dout = nullptr;
  CHECK(cudaMalloc(&da, a.size()));
  CHECK(cudaMalloc(&db, b.size()));
  CHECK(cudaMalloc(&dout, kM * kN * 4));
  CHECK(cudaMemcpy(da, a.data(), a.size(), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), b.size(), cudaMemcpyHostToDevice));
  std::printf("wgmma m64n128k32 e4m3, one 128-byte K block, A and B in the 128-byte swizzle\n");
  std::vector<float> got(kM * kN);
  const char* names[] = {"SS (A by descriptor)", "RS (A by afg::ldmatrix_a_e4m3_sw128)"};
  for (int rs = 0; rs < 2; ++rs) {
    CHECK(cudaMemset(dout, 0xff, kM * kN * 4));  // NaN: an element never written shows
    rs_probe_kernel<<<1, 128>>>(da, db, dout, rs);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    CHECK(cudaMemcpy(got.data(), dout, got.size() * 4, cudaMemcpyDeviceToHost));
    double worst = 0.0;
    for (int i = 0; i < kM * kN; ++i) worst = std::isnan(got[i]) ? INFINITY : std::fmax(worst, std::fabs(got[i] - want[i]));
    std::printf("  %-40s max |error| %.3g  %s\n", names[rs], worst, worst == 0.0 ? "MATCH" : "wrong");
  }
  return 0;
}
