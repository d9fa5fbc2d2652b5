// gdn_prefill_qk4_v8_d128_k_last: baseline CUDA kernel (straightforward, fp32 throughout).
//
// Computes the gated delta rule over variable-length sequences (cu_seqlens, int64), 8 value heads
// (value head h reads q/k head h/2), head size 128, state float32 in k-last layout [N][h][v][k].
// Per token t of sequence n, per value head h, with S as [K, V]:
//   g = exp(-exp(A_log[h]) * softplus(a[t,h] + dt_bias[h])), beta = sigmoid(b[t,h])
//   old = g*S; u = k_t.old; new_v = beta*v_t + (1-beta)*u; S = old - k_t^T u + k_t^T new_v;
//   output[t,h] = scale * q_t.S          (scale == 0 means 1/sqrt(128))
// new_state[n] = S after the last token. As in the reference, a sequence with length <= 0 leaves
// new_state[n] all zeros (even with an initial state), and output rows not covered by any
// sequence stay zero (the output is zeroed first). An absent `state` is a zero initial state.
//
// Algorithm: sequential over tokens. Row v of the k-last state (128 floats over k) evolves
// independently of the other rows, so the state is split across warps by rows and kept in
// registers for the whole sequence: each warp owns 8 rows, lane l holds k = l + 32*i (i = 0..3)
// of each row (32 floats per lane). Per token, u and the output are warp shuffle reductions; the
// next token's inputs are prefetched into registers while the current one is processed.
// Launch: cudaMemsetAsync(output, 0), then grid (4 row blocks, 8 heads, N sequences), block 128
// (4 warps x 8 rows = 32 rows per block). Scratch: none. Measured numbers: none yet.

#include "agentforge.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace {

constexpr int kNumQKHeads = 4;
constexpr int kNumVHeads = 8;
constexpr int kHeadDim = 128;
constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;                  // 4
constexpr int kRowsPerWarp = 8;
constexpr int kRowsPerBlock = kWarps * kRowsPerWarp;   // 32
constexpr int kRowBlocks = kHeadDim / kRowsPerBlock;   // 4
constexpr int kPerLane = kHeadDim / 32;                // 4

__device__ __forceinline__ float softplus_torch(float x) {
  // torch.nn.functional.softplus with beta = 1, threshold = 20.
  return x > 20.0f ? x : log1pf(expf(x));
}

// Per-token inputs one lane needs: gates, its 4 k and q elements, the 8 values of its warp's rows.
struct TokenInputs {
  float a;
  float b;
  float k[kPerLane];
  float q[kPerLane];
  float v[kRowsPerWarp];
};

__device__ __forceinline__ TokenInputs load_token(const __nv_bfloat16* __restrict__ q,
                                                  const __nv_bfloat16* __restrict__ k,
                                                  const __nv_bfloat16* __restrict__ v,
                                                  const __nv_bfloat16* __restrict__ a,
                                                  const __nv_bfloat16* __restrict__ b_gate, int64_t t, int h,
                                                  int qk_head, int row0, int lane) {
  TokenInputs in;
  in.a = __bfloat162float(a[t * kNumVHeads + h]);
  in.b = __bfloat162float(b_gate[t * kNumVHeads + h]);
  const int64_t qk_off = (t * kNumQKHeads + qk_head) * kHeadDim;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    in.k[i] = __bfloat162float(k[qk_off + lane + 32 * i]);
    in.q[i] = __bfloat162float(q[qk_off + lane + 32 * i]);
  }
  const int64_t v_off = (t * kNumVHeads + h) * kHeadDim + row0;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) in.v[r] = __bfloat162float(v[v_off + r]);
  return in;
}

__global__ void __launch_bounds__(kThreads)
gdn_prefill_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                   const __nv_bfloat16* __restrict__ v, const float* __restrict__ state,
                   const float* __restrict__ A_log, const __nv_bfloat16* __restrict__ a,
                   const float* __restrict__ dt_bias, const __nv_bfloat16* __restrict__ b_gate,
                   const int64_t* __restrict__ cu_seqlens, float scale, int64_t total_tokens,
                   __nv_bfloat16* __restrict__ output, float* __restrict__ new_state) {
  const int h = blockIdx.y;
  const int n = blockIdx.z;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int row0 = blockIdx.x * kRowsPerBlock + warp * kRowsPerWarp;  // first value row of this warp
  const int qk_head = h / (kNumVHeads / kNumQKHeads);

  // new_state[n][h][row][k]
  const int64_t state_off = ((static_cast<int64_t>(n) * kNumVHeads + h) * kHeadDim + row0) * kHeadDim;

  int64_t start = cu_seqlens[n];
  int64_t end = cu_seqlens[n + 1];
  if (end - start <= 0) {
    // The reference skips empty sequences: their new_state stays zero.
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) new_state[state_off + r * kHeadDim + lane + 32 * i] = 0.0f;
    return;
  }
  // Defensive clamp against out-of-range cu_seqlens (a no-op for valid input).
  start = start < 0 ? 0 : (start > total_tokens ? total_tokens : start);
  end = end < start ? start : (end > total_tokens ? total_tokens : end);

  float S[kRowsPerWarp][kPerLane];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int i = 0; i < kPerLane; ++i)
      S[r][i] = state != nullptr ? state[state_off + r * kHeadDim + lane + 32 * i] : 0.0f;

  const float exp_A = expf(A_log[h]);
  const float dtb = dt_bias[h];

  // The next token's inputs are loaded before the current token is processed (register
  // prefetch), so their latency overlaps the reductions of the serial chain.
  TokenInputs cur{};
  if (start < end) cur = load_token(q, k, v, a, b_gate, start, h, qk_head, row0, lane);
#pragma unroll 1
  for (int64_t t = start; t < end; ++t) {
    TokenInputs nxt = cur;
    if (t + 1 < end) nxt = load_token(q, k, v, a, b_gate, t + 1, h, qk_head, row0, lane);

    const float x = cur.a + dtb;
    const float g = expf(-exp_A * softplus_torch(x));
    const float beta = 1.0f / (1.0f + expf(-cur.b));
    const int64_t v_off = (t * kNumVHeads + h) * kHeadDim + row0;

    // old = g * S; partial u = k . old
    float u[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      float part = 0.0f;
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) {
        S[r][i] = g * S[r][i];
        part += cur.k[i] * S[r][i];
      }
      u[r] = part;
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1)
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) u[r] += __shfl_xor_sync(0xffffffffu, u[r], offset);

    // S = old - k^T u + k^T new_v; partial out = q . S
    float o[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const float nv = beta * cur.v[r] + (1.0f - beta) * u[r];
      float part = 0.0f;
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) {
        S[r][i] = (S[r][i] - cur.k[i] * u[r]) + cur.k[i] * nv;
        part += cur.q[i] * S[r][i];
      }
      o[r] = part;
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1)
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) o[r] += __shfl_xor_sync(0xffffffffu, o[r], offset);

#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      if (lane == r) output[v_off + r] = __float2bfloat16(scale * o[r]);
    cur = nxt;
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) new_state[state_off + r * kHeadDim + lane + 32 * i] = S[r][i];
}

bool check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "gdn_prefill_qk4_v8_d128_k_last: unexpected %s\n", what);
  return ok;
}

}  // namespace

void run(afg::Tensor q, afg::Tensor k, afg::Tensor v, afg::Tensor state, afg::Tensor A_log,
         afg::Tensor a, afg::Tensor dt_bias, afg::Tensor b, afg::Tensor cu_seqlens, float scale,
         afg::Tensor output, afg::Tensor new_state, cudaStream_t stream) {
  using afg::DType;
  if (!check(q.rank == 3 && q.dtype == DType::BFloat16, "q rank/dtype")) return;
  const int64_t T = q.size(0);
  if (!check(q.size(1) == kNumQKHeads && q.size(2) == kHeadDim, "q shape")) return;
  if (!check(k.rank == 3 && k.dtype == DType::BFloat16 && k.size(0) == T && k.size(1) == kNumQKHeads &&
                 k.size(2) == kHeadDim, "k shape/dtype")) return;
  if (!check(v.rank == 3 && v.dtype == DType::BFloat16 && v.size(0) == T && v.size(1) == kNumVHeads &&
                 v.size(2) == kHeadDim, "v shape/dtype")) return;
  if (!check(cu_seqlens.rank == 1 && cu_seqlens.dtype == DType::Int64 && cu_seqlens.size(0) >= 1,
             "cu_seqlens")) return;
  const int64_t N = cu_seqlens.size(0) - 1;
  if (state.present() &&
      !check(state.rank == 4 && state.dtype == DType::Float32 && state.size(0) == N &&
                 state.size(1) == kNumVHeads && state.size(2) == kHeadDim && state.size(3) == kHeadDim,
             "state shape/dtype")) return;
  if (!check(A_log.rank == 1 && A_log.dtype == DType::Float32 && A_log.size(0) == kNumVHeads, "A_log")) return;
  if (!check(a.rank == 2 && a.dtype == DType::BFloat16 && a.size(0) == T && a.size(1) == kNumVHeads, "a")) return;
  if (!check(dt_bias.rank == 1 && dt_bias.dtype == DType::Float32 && dt_bias.size(0) == kNumVHeads, "dt_bias")) return;
  if (!check(b.rank == 2 && b.dtype == DType::BFloat16 && b.size(0) == T && b.size(1) == kNumVHeads, "b")) return;
  if (!check(output.rank == 3 && output.dtype == DType::BFloat16 && output.size(0) == T &&
                 output.size(1) == kNumVHeads && output.size(2) == kHeadDim, "output")) return;
  if (!check(new_state.rank == 4 && new_state.dtype == DType::Float32 && new_state.size(0) == N &&
                 new_state.size(1) == kNumVHeads && new_state.size(2) == kHeadDim &&
                 new_state.size(3) == kHeadDim, "new_state")) return;
  if (!check(N <= 65535, "number of sequences (grid.z limit 65535)")) return;

  if (scale == 0.0f) scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(kHeadDim)));

  // Rows of output not covered by any sequence stay zero, as in the reference.
  if (T > 0) {
    AFG_CUDA_CHECK(cudaMemsetAsync(output.data, 0,
                                   static_cast<size_t>(T) * kNumVHeads * kHeadDim * sizeof(__nv_bfloat16),
                                   stream));
  }
  if (N == 0) return;

  const dim3 grid(kRowBlocks, kNumVHeads, static_cast<unsigned>(N));
  gdn_prefill_kernel<<<grid, kThreads, 0, stream>>>(
      q.ptr<const __nv_bfloat16>(), k.ptr<const __nv_bfloat16>(), v.ptr<const __nv_bfloat16>(),
      state.present() ? state.ptr<const float>() : nullptr, A_log.ptr<const float>(),
      a.ptr<const __nv_bfloat16>(), dt_bias.ptr<const float>(), b.ptr<const __nv_bfloat16>(),
      cu_seqlens.ptr<const int64_t>(), scale, T, output.ptr<__nv_bfloat16>(), new_state.ptr<float>());
  AFG_CUDA_CHECK(cudaGetLastError());
}
