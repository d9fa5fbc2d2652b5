// decode_plan.cuh: a launch plan per batch size (GDN_DECODE_PLAN=1).
//
// Why: the tuner's champions differ by batch band (evolve on the H200, 2026-11-26): small batches
// want 4 warps x 4 rows per CTA with streaming loads (the all-workload default), batches above 16
// want 1 warp x 8 rows with plain loads (1.04x in that band), where the default is 2-5% behind FLA.
// The kernel below is gdn_decode_kernel with its shape as template parameters, so both settings
// exist in one build and the host picks one per call from B alone.
// Written without a GPU at hand: default 0 until measured; once measured, gdn_decode_kernel
// becomes an instance of this template.
#pragma once

// @tunable GDN_DECODE_PLAN_SPLIT_B: 8, 16, 32 (default 16)
// Batches up to this size take the small-batch shape.
#ifndef GDN_DECODE_PLAN_SPLIT_B
#define GDN_DECODE_PLAN_SPLIT_B 16
#endif

namespace decode_plan {

template <bool Streaming>
__device__ __forceinline__ float4 load_row(const float4* p) {
  if constexpr (Streaming) return __ldcs(p);
  else return *p;
}

template <bool Streaming>
__device__ __forceinline__ void store_row(float4* p, float4 value) {
  if constexpr (Streaming) __stcs(p, value);
  else *p = value;
}

template <int Warps, int Rows, bool Streaming>
__global__ void __launch_bounds__(Warps * 32)
gdn_decode_rows_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                       const __nv_bfloat16* __restrict__ v, const float* __restrict__ state,
                       const float* __restrict__ A_log, const __nv_bfloat16* __restrict__ a,
                       const float* __restrict__ dt_bias, const __nv_bfloat16* __restrict__ b_gate,
                       float scale, __nv_bfloat16* __restrict__ output, float* __restrict__ new_state) {
  constexpr int kBlockRows = Warps * Rows;
  constexpr int kBlocksPerHead = kHeadDim / kBlockRows;
  static_assert(kHeadDim % kBlockRows == 0, "rows per block must divide the head size");
  const int bh = blockIdx.x / kBlocksPerHead;  // b * 8 + h
  const int row_block = blockIdx.x % kBlocksPerHead;
  const int b = bh / kNumVHeads;
  const int h = bh % kNumVHeads;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int first_row = row_block * kBlockRows + warp * Rows;
  const int64_t row_base = (static_cast<int64_t>(bh) * kHeadDim + first_row) * kHeadDim;

  float4 s[Rows];
  if (state != nullptr) {
#pragma unroll
    for (int r = 0; r < Rows; ++r) {
      s[r] = load_row<Streaming>(reinterpret_cast<const float4*>(state + row_base + static_cast<int64_t>(r) * kHeadDim) + lane);
    }
  } else {
#pragma unroll
    for (int r = 0; r < Rows; ++r) s[r] = make_float4(0.f, 0.f, 0.f, 0.f);
  }

  const int64_t qk_off = (static_cast<int64_t>(b) * kNumQKHeads + h / (kNumVHeads / kNumQKHeads)) * kHeadDim;
  float kk[4];
  float qq[4];
  load_bf16x4(k + qk_off + 4 * lane, kk);
  load_bf16x4(q + qk_off + 4 * lane, qq);
  float vv[Rows];
#pragma unroll
  for (int r = 0; r < Rows; ++r) vv[r] = __bfloat162float(v[static_cast<int64_t>(bh) * kHeadDim + first_row + r]);

  const float x = __bfloat162float(a[bh]) + dt_bias[h];
  const float g = expf(-expf(A_log[h]) * softplus_torch(x));
  const float beta = 1.0f / (1.0f + expf(-__bfloat162float(b_gate[bh])));

#pragma unroll
  for (int r = 0; r < Rows; ++r) {
    float4 old = make_float4(g * s[r].x, g * s[r].y, g * s[r].z, g * s[r].w);
    const float u = warp_sum(kk[0] * old.x + kk[1] * old.y + kk[2] * old.z + kk[3] * old.w);
    const float d = beta * (vv[r] - u);
    const float4 next = make_float4(old.x + kk[0] * d, old.y + kk[1] * d, old.z + kk[2] * d, old.w + kk[3] * d);
    store_row<Streaming>(reinterpret_cast<float4*>(new_state + row_base + static_cast<int64_t>(r) * kHeadDim) + lane, next);
    const float o = warp_sum(qq[0] * next.x + qq[1] * next.y + qq[2] * next.z + qq[3] * next.w);
    if (lane == r % 32) output[static_cast<int64_t>(bh) * kHeadDim + first_row + r] = __float2bfloat16(scale * o);
  }
}

// One launch of the shape <Warps, Rows, Streaming> for B sequences.
template <int Warps, int Rows, bool Streaming>
void launch(int64_t B, const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, const float* state,
            const float* A_log, const __nv_bfloat16* a, const float* dt_bias, const __nv_bfloat16* b_gate,
            float scale, __nv_bfloat16* output, float* new_state, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(B * kNumVHeads * (kHeadDim / (Warps * Rows))));
  gdn_decode_rows_kernel<Warps, Rows, Streaming><<<grid, Warps * 32, 0, stream>>>(
      q, k, v, state, A_log, a, dt_bias, b_gate, scale, output, new_state);
}

}  // namespace decode_plan
