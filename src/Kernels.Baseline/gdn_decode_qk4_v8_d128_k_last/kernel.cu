// gdn_decode_qk4_v8_d128_k_last: baseline CUDA kernel (straightforward, fp32 throughout).
//
// Computes one gated-delta-rule decode step for B sequences, 8 value heads (value head h reads
// q/k head h/2), head size 128, state float32 in k-last layout state[b][h][v][k]:
//   g    = exp(-exp(A_log[h]) * softplus(a[b,h] + dt_bias[h]))   (torch softplus: x > 20 -> x)
//   beta = sigmoid(b[b,h])
//   with S as [K, V]: old = g*S; u = k.old; new_v = beta*v + (1-beta)*u;
//   S' = old - k^T u + k^T new_v;  out = scale * q.S'   (scale == 0 means 1/sqrt(128))
// An absent `state` is a zero initial state.
//
// Algorithm: row v of the k-last state (128 contiguous floats over k) evolves independently of
// the other rows: u[v] = sum_k k[k]*old[v][k], S'[v][k] = old[v][k] - k[k]*u[v] + k[k]*new_v[v],
// out[v] = scale * sum_k q[k]*S'[v][k]. One warp owns a row at a time, lane l holds k = l + 32*i
// (i = 0..3, coalesced 128-byte accesses, no alignment assumption beyond the element), and the
// two dot products are warp shuffle reductions.
// Launch: grid (B*8, 4), block 256 (8 warps); each block covers 32 rows, 4 rows per warp.
// Scratch: none. Measured numbers: none yet (baseline, correctness first).

#include "agentforge.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace {

constexpr int kNumQKHeads = 4;
constexpr int kNumVHeads = 8;
constexpr int kHeadDim = 128;
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kRowsPerBlock = 32;
constexpr int kRowsPerWarp = kRowsPerBlock / kWarps;  // 4
constexpr int kRowBlocks = kHeadDim / kRowsPerBlock;   // 4
constexpr int kPerLane = kHeadDim / 32;                 // 4

__device__ __forceinline__ float softplus_torch(float x) {
  // torch.nn.functional.softplus with beta = 1, threshold = 20.
  return x > 20.0f ? x : log1pf(expf(x));
}

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

__global__ void __launch_bounds__(kThreads)
gdn_decode_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                  const __nv_bfloat16* __restrict__ v, const float* __restrict__ state,
                  const float* __restrict__ A_log, const __nv_bfloat16* __restrict__ a,
                  const float* __restrict__ dt_bias, const __nv_bfloat16* __restrict__ b_gate,
                  float scale, __nv_bfloat16* __restrict__ output, float* __restrict__ new_state) {
  const int bh = blockIdx.x;  // b * 8 + h: index of (batch, value head)
  const int b = bh / kNumVHeads;
  const int h = bh % kNumVHeads;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;

  const float x = __bfloat162float(a[bh]) + dt_bias[h];
  const float g = expf(-expf(A_log[h]) * softplus_torch(x));
  const float beta = 1.0f / (1.0f + expf(-__bfloat162float(b_gate[bh])));

  // q and k are [B, 1, 4, 128]; value head h uses q/k head h / 2.
  const int64_t qk_off = (static_cast<int64_t>(b) * kNumQKHeads + h / (kNumVHeads / kNumQKHeads)) * kHeadDim;
  float kk[kPerLane];
  float qq[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    kk[i] = __bfloat162float(k[qk_off + lane + 32 * i]);
    qq[i] = __bfloat162float(q[qk_off + lane + 32 * i]);
  }

#pragma unroll 1
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int row = blockIdx.y * kRowsPerBlock + warp * kRowsPerWarp + r;  // value index v
    const int64_t row_off = (static_cast<int64_t>(bh) * kHeadDim + row) * kHeadDim;

    float s[kPerLane];
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const float s0 = state != nullptr ? state[row_off + lane + 32 * i] : 0.0f;
      s[i] = g * s0;  // old = g * S
    }
    float part = 0.0f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) part += kk[i] * s[i];
    const float u = warp_sum(part);  // u[v] = k . old[:, v]

    const float vv = __bfloat162float(v[static_cast<int64_t>(bh) * kHeadDim + row]);
    const float nv = beta * vv + (1.0f - beta) * u;

    float po = 0.0f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      s[i] = (s[i] - kk[i] * u) + kk[i] * nv;  // old - k^T u + k^T new_v
      po += qq[i] * s[i];
      new_state[row_off + lane + 32 * i] = s[i];
    }
    const float o = warp_sum(po);
    if (lane == 0) output[static_cast<int64_t>(bh) * kHeadDim + row] = __float2bfloat16(scale * o);
  }
}

bool check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "gdn_decode_qk4_v8_d128_k_last: unexpected %s\n", what);
  return ok;
}

}  // namespace

void run(afg::Tensor q, afg::Tensor k, afg::Tensor v, afg::Tensor state, afg::Tensor A_log,
         afg::Tensor a, afg::Tensor dt_bias, afg::Tensor b, float scale, afg::Tensor output,
         afg::Tensor new_state, cudaStream_t stream) {
  using afg::DType;
  if (!check(q.rank == 4 && q.dtype == DType::BFloat16, "q rank/dtype")) return;
  const int64_t B = q.size(0);
  if (!check(q.size(1) == 1 && q.size(2) == kNumQKHeads && q.size(3) == kHeadDim, "q shape")) return;
  if (!check(k.rank == 4 && k.dtype == DType::BFloat16 && k.size(0) == B && k.size(1) == 1 &&
                 k.size(2) == kNumQKHeads && k.size(3) == kHeadDim, "k shape/dtype")) return;
  if (!check(v.rank == 4 && v.dtype == DType::BFloat16 && v.size(0) == B && v.size(1) == 1 &&
                 v.size(2) == kNumVHeads && v.size(3) == kHeadDim, "v shape/dtype")) return;
  if (state.present() &&
      !check(state.rank == 4 && state.dtype == DType::Float32 && state.size(0) == B &&
                 state.size(1) == kNumVHeads && state.size(2) == kHeadDim && state.size(3) == kHeadDim,
             "state shape/dtype")) return;
  if (!check(A_log.rank == 1 && A_log.dtype == DType::Float32 && A_log.size(0) == kNumVHeads, "A_log")) return;
  if (!check(a.rank == 3 && a.dtype == DType::BFloat16 && a.size(0) == B && a.size(1) == 1 &&
                 a.size(2) == kNumVHeads, "a")) return;
  if (!check(dt_bias.rank == 1 && dt_bias.dtype == DType::Float32 && dt_bias.size(0) == kNumVHeads, "dt_bias")) return;
  if (!check(b.rank == 3 && b.dtype == DType::BFloat16 && b.size(0) == B && b.size(1) == 1 &&
                 b.size(2) == kNumVHeads, "b")) return;
  if (!check(output.rank == 4 && output.dtype == DType::BFloat16 && output.size(0) == B &&
                 output.size(1) == 1 && output.size(2) == kNumVHeads && output.size(3) == kHeadDim, "output")) return;
  if (!check(new_state.rank == 4 && new_state.dtype == DType::Float32 && new_state.size(0) == B &&
                 new_state.size(1) == kNumVHeads && new_state.size(2) == kHeadDim &&
                 new_state.size(3) == kHeadDim, "new_state")) return;
  if (B == 0) return;
  if (!check(B * kNumVHeads <= 0x7fffffffLL, "batch size (grid too large)")) return;

  if (scale == 0.0f) scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(kHeadDim)));

  const dim3 grid(static_cast<unsigned>(B * kNumVHeads), kRowBlocks);
  gdn_decode_kernel<<<grid, kThreads, 0, stream>>>(
      q.ptr<const __nv_bfloat16>(), k.ptr<const __nv_bfloat16>(), v.ptr<const __nv_bfloat16>(),
      state.present() ? state.ptr<const float>() : nullptr, A_log.ptr<const float>(),
      a.ptr<const __nv_bfloat16>(), dt_bias.ptr<const float>(), b.ptr<const __nv_bfloat16>(), scale,
      output.ptr<__nv_bfloat16>(), new_state.ptr<float>());
  AFG_CUDA_CHECK(cudaGetLastError());
}
