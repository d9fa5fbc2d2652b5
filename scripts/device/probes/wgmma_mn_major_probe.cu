// wgmma_mn_major_probe.cu: which shared-memory descriptor makes a bf16 warpgroup MMA read its B
// operand MN-major (N contiguous) in the 128-byte swizzle, the layout the GDN prep's K and V tiles
// would take for W = TW K and U = TU V on wgmma (GDN prefill NOTES, session 26: K arrives from
// global memory as rows of tokens j with the 128 features d contiguous, so B = K is [K = j][N = d]
// with N contiguous; a K-major B would need a transposed copy). The kernels' K-major descriptor
// (afg::desc_sw128) leaves the leading byte offset unused; for MN-major it carries the stride
// between 64-element column blocks, and which of the two offsets is which is what this checks
// before any kernel relies on it.
//
// One warpgroup computes D [64][128] = A [64][64] * B [64][128] (bf16 in, fp32 out), A from
// registers (each warp its 16 rows in mma.sync's A-fragment layout, as the prep's fragments are),
// B in shared memory as two 64-column panels of [64 rows][128 bytes] with the 128-byte swizzle
// (16-byte chunk c of row r at chunk c ^ (r % 8)), panels 8 KB apart, 8-row groups 1 KB apart:
//   n64 x 2   one m64n64k16 per panel and k step (the leading offset unused), trans-b = 1
//   n128      one m64n128k16 per k step, for each (leading, stride) byte-offset pair tried
//   K K^T     the same tile as the K-major B of B B^T (reduction over the 128 columns, trans-b = 0,
//             the kernels' afg::desc_sw128 plus 32 bytes a k step inside a row, the next panel
//             8 KB on): the prep's K K^T and Q K^T would read K this way
// and prints each variant's largest error against the host's product (bf16 inputs are exact in
// fp32; sums of 64 products of values in [-1, 1] stay within ~1e-5 of the host's double sum).
// Build and run on the GPU machine (no .device needed):
//   nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -I src/Kernels.Baseline/include \
//     -o /tmp/mn_probe scripts/device/probes/wgmma_mn_major_probe.cu && /tmp/mn_probe
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "afg_wgmma.cuh"

#define CHECK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { std::printf("%s: %s\n", #x, cudaGetErrorString(e_)); return 1; } } while (0)

constexpr int kM = 64, kK = 64, kN = 128;
constexpr int kPanelBytes = kK * 128;  // one 64-column panel: 64 rows of 128 bytes

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

// Byte offset of B (row r, column c) in the two swizzled panels.
__host__ __device__ __forceinline__ int b_offset(int r, int c) {
  return (c / 64) * kPanelBytes + r * 128 + ((((c % 64) / 8) ^ (r % 8)) * 16) + (c % 8) * 2;
}

// A shared-memory descriptor with the 128-byte swizzle and both byte offsets given.
__device__ __forceinline__ uint64_t desc_sw128_offsets(uint32_t addr, uint32_t leading_bytes, uint32_t stride_bytes) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>((leading_bytes >> 4) & 0x3FFF) << 16) |
         (static_cast<uint64_t>((stride_bytes >> 4) & 0x3FFF) << 32) | (static_cast<uint64_t>(1) << 62);
}

// Two bf16 values as one 32-bit register, the lower column in the low half.
__device__ __forceinline__ uint32_t pack_pair(const __nv_bfloat16* p) {
  return static_cast<uint32_t>(__bfloat16_as_ushort(p[0])) | (static_cast<uint32_t>(__bfloat16_as_ushort(p[1])) << 16);
}

// This thread's mma.sync m16n8k16 A fragment of rows [m0, m0 + 16) and columns [k0, k0 + 16) of the
// row-major bf16 matrix x (row stride ld): a warp's 16 rows of a warpgroup MMA's A from registers.
__device__ __forceinline__ void load_a_fragment(uint32_t (&f)[4], const __nv_bfloat16* x, int ld, int m0, int k0, int lane) {
  const int g = lane / 4, tq = lane % 4;
  const __nv_bfloat16* row_lo = x + (m0 + g) * ld + k0 + 2 * tq;
  const __nv_bfloat16* row_hi = row_lo + 8 * ld;
  f[0] = pack_pair(row_lo);
  f[1] = pack_pair(row_hi);
  f[2] = pack_pair(row_lo + 8);
  f[3] = pack_pair(row_hi + 8);
}

// Writes one warpgroup's m64nN accumulator (N / 2 registers a thread) as columns [n0, n0 + N) of
// the row-major [64][128] result.
template <int N>
__device__ __forceinline__ void store_accumulator(float* out, const float (&d)[N / 2], int n0, int tid) {
  const int warp = tid / 32, lane = tid % 32, g = lane / 4, tq = lane % 4;
#pragma unroll
  for (int nt = 0; nt < N / 8; ++nt) {
    const int r = warp * 16 + g, c = n0 + nt * 8 + 2 * tq;
    out[r * kN + c] = d[nt * 4 + 0];
    out[r * kN + c + 1] = d[nt * 4 + 1];
    out[(r + 8) * kN + c] = d[nt * 4 + 2];
    out[(r + 8) * kN + c + 1] = d[nt * 4 + 3];
  }
}

// variant 0: n64 x 2 (stride_bytes as given, leading unused); variant 1: n128 with both offsets;
// variant 2: B B^T [64][64] into columns 0-63, A fragments from B's rows, B K-major (trans-b = 0).
__global__ void __launch_bounds__(128, 1)
mn_major_kernel(const __nv_bfloat16* a, const __nv_bfloat16* b, float* out, int variant, uint32_t leading_bytes,
                uint32_t stride_bytes) {
  __shared__ alignas(1024) unsigned char tile[2 * kPanelBytes];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  for (int i = tid; i < kK * kN / 8; i += 128) {
    const int r = i / (kN / 8), c = (i % (kN / 8)) * 8;
    *reinterpret_cast<uint4*>(tile + b_offset(r, c)) = *reinterpret_cast<const uint4*>(b + r * kN + c);
  }
  afg::fence_proxy_async();
  __syncthreads();
  // A fragments of this warp's rows 16 warp.. for the four k16 steps (mma.sync m16n8k16 layout).
  uint32_t af[kK / 16][4];
#pragma unroll
  for (int s = 0; s < kK / 16; ++s) load_a_fragment(af[s], a, kK, warp * 16, s * 16, lane);
  const uint32_t base = smem_addr(tile);
  if (variant == 2) {
    float d[32] = {};
    uint32_t bf[kN / 16][4];
#pragma unroll
    for (int s = 0; s < kN / 16; ++s) load_a_fragment(bf[s], b, kN, warp * 16, s * 16, lane);
    afg::wgmma_fence();
#pragma unroll
    for (int s = 0; s < kN / 16; ++s) {
      // k16 step s: columns 16 s.., panel s / 4, 32 bytes a step inside the panel's rows.
      afg::wgmma_m64k16_bf16_rs<64>(d, bf[s], afg::desc_sw128(base + (s / 4) * kPanelBytes + (s % 4) * 32));
    }
    afg::wgmma_commit();
    afg::wgmma_wait<0>();
    afg::fence_fragment(d);
    store_accumulator<64>(out, d, 0, tid);
    return;
  }
  if (variant == 0) {
    float d0[32] = {}, d1[32] = {};
    afg::wgmma_fence();
#pragma unroll
    for (int s = 0; s < kK / 16; ++s) {
      // A k16 step is 16 rows: 2 KB into the panel.
      afg::wgmma_m64n64k16_bf16_rs_mn(d0, af[s], desc_sw128_offsets(base + s * 2048, leading_bytes, stride_bytes));
      afg::wgmma_m64n64k16_bf16_rs_mn(d1, af[s], desc_sw128_offsets(base + kPanelBytes + s * 2048, leading_bytes, stride_bytes));
    }
    afg::wgmma_commit();
    afg::wgmma_wait<0>();
    afg::fence_fragment(d0);
    afg::fence_fragment(d1);
    store_accumulator<64>(out, d0, 0, tid);
    store_accumulator<64>(out, d1, 64, tid);
  } else {
    float d[64] = {};
    afg::wgmma_fence();
#pragma unroll
    for (int s = 0; s < kK / 16; ++s) {
      afg::wgmma_m64n128k16_bf16_rs_mn(d, af[s], desc_sw128_offsets(base + s * 2048, leading_bytes, stride_bytes));
    }
    afg::wgmma_commit();
    afg::wgmma_wait<0>();
    afg::fence_fragment(d);
    store_accumulator<128>(out, d, 0, tid);
  }
}

int main() {
  std::vector<__nv_bfloat16> a(kM * kK), b(kK * kN);
  std::vector<float> af(a.size()), bf(b.size());
  std::srand(26);
  for (size_t i = 0; i < a.size(); ++i) { a[i] = __float2bfloat16(std::rand() / (float)RAND_MAX * 2 - 1); af[i] = __bfloat162float(a[i]); }
  for (size_t i = 0; i < b.size(); ++i) { b[i] = __float2bfloat16(std::rand() / (float)RAND_MAX * 2 - 1); bf[i] = __bfloat162float(b[i]); }
  std::vector<double> want(kM * kN, 0.0), want_bbt(kK * kK, 0.0);
  for (int i = 0; i < kM; ++i)
    for (int j = 0; j < kK; ++j)
      for (int c = 0; c < kN; ++c) want[i * kN + c] += static_cast<double>(af[i * kK + j]) * bf[j * kN + c];
  for (int i = 0; i < kK; ++i)
    for (int j = 0; j < kK; ++j)
      for (int c = 0; c < kN; ++c) want_bbt[i * kK + j] += static_cast<double>(bf[i * kN + c]) * bf[j * kN + c];
  __nv_bfloat16 *da = nullptr, *db = nullptr;
  float* dout = nullptr;
  CHECK(cudaMalloc(&da, a.size() * 2));
  CHECK(cudaMalloc(&db, b.size() * 2));
  CHECK(cudaMalloc(&dout, kM * kN * 4));
  CHECK(cudaMemcpy(da, a.data(), a.size() * 2, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
  struct Variant { const char* name; int kind; uint32_t leading, stride; };
  const Variant variants[] = {
      {"n64 x 2, stride 1024", 0, 0, 1024},
      {"n64 x 2, stride 1024, leading 8192", 0, 8192, 1024},
      {"n128, leading 8192, stride 1024", 1, 8192, 1024},
      {"n128, leading 1024, stride 8192", 1, 1024, 8192},
      {"K K^T (K-major, afg::desc_sw128)", 2, 0, 0},
  };
  std::printf("wgmma bf16 RS, B MN-major (trans-b = 1) in two 128-byte-swizzled 64-column panels\n");
  std::vector<float> got(kM * kN);
  for (const Variant& v : variants) {
    CHECK(cudaMemset(dout, 0xff, kM * kN * 4));  // NaN: an element never written shows
    mn_major_kernel<<<1, 128>>>(da, db, dout, v.kind, v.leading, v.stride);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    CHECK(cudaMemcpy(got.data(), dout, got.size() * 4, cudaMemcpyDeviceToHost));
    double worst = 0.0;
    for (int i = 0; i < kM * kN; ++i) {
      const int r = i / kN, c = i % kN;
      if (v.kind == 2 && c >= kK) continue;  // B B^T fills columns 0-63
      const double expected = v.kind == 2 ? want_bbt[r * kK + c] : want[i];
      worst = std::isnan(got[i]) ? INFINITY : std::fmax(worst, std::fabs(got[i] - expected));
    }
    std::printf("  %-40s max |error| %.3g  %s\n", v.name, worst, worst < 1e-3 ? "MATCH" : "wrong");
  }
  return 0;
}
