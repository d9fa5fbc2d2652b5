// recurrent.cuh: the gated delta rule token by token, for calls whose every sequence is short
// (GDN_PREFILL_RECURRENT_MAX_T): gdn_prefill_recurrent_kernel.
//
// Why: a call of a few tokens pays the chunked path's fixed chain. The fused kernel prepares a whole
// 64-row chunk (the solve, W, U) before its first state update: 6 / 1 took 8.3 us on the H200 (session
// 28), where the recurrence is a few hundred cycles a token.
//
// A CTA of kRecWarps warps owns kRecBlockRows state rows of one sequence and value head. Row v is
// S[v][0..127] of the k-last state, lane l holding k = 4l..4l+3. The rows stay in registers from the
// initial state to the final one. Each token is the reference's update, computed as the decode
// computes it:
//   old = g S,  u = k . old,  S' = old + k beta (v - u),  out = scale q . S'
// The next token's q, k, v and gates load while this token's rows update.
//
// Every sequence of the call has at most T tokens, so the host's T alone bounds a CTA's chain; no
// lengths are read on the host. Output rows before the first sequence and after the last are zero,
// and an empty sequence's final state is zero, as in the reference.
//
// Predicted (written in session 35 after its last device call, not yet measured): 6 / 1 8.3 -> ~3 us,
// 16 tokens ~4-5 us, 32 tokens ~6-7 us (~0.15 us a token: two warp reductions, the loads ahead).
// Included inside kernel.cu's anonymous namespace (constants, log_gate, beta_gate).

// @tunable GDN_PREFILL_RECURRENT_MAX_T: 0, 8, 16, 32 (default 0) when GDN_PREFILL_IMPL=1
// Calls of at most this many tokens run gdn_prefill_recurrent_kernel alone; 0: never.
#ifndef GDN_PREFILL_RECURRENT_MAX_T
#define GDN_PREFILL_RECURRENT_MAX_T 0
#endif

constexpr int kRecWarps = 4;
constexpr int kRecRows = 4;  // state rows per warp
constexpr int kRecThreads = kRecWarps * 32;
constexpr int kRecBlockRows = kRecWarps * kRecRows;
constexpr int kRecBlocksPerHead = kD / kRecBlockRows;
static_assert(kD % kRecBlockRows == 0 && kD == 4 * 32, "a lane holds four of a row's 128 columns");
static_assert(kRecRows == 4, "a token's v rows of a warp load as one 8-byte piece (rec_bf16x4)");
static_assert(kRecBlockRows % 8 == 0, "zero_rows_outside_sequences writes 16-byte pieces of 8 columns");

__device__ __forceinline__ float rec_warp_sum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// Four consecutive bf16 (8 bytes) as floats.
__device__ __forceinline__ void rec_bf16x4(const __nv_bfloat16* p, float (&out)[4]) {
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
  const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
  out[0] = lo.x;
  out[1] = lo.y;
  out[2] = hi.x;
  out[3] = hi.y;
}

// One token's operands for this lane: its four columns of k and q (the value head's qk head), the
// warp's rows of v, and the gates g = exp(-exp(A_log) softplus(a + dt_bias)) and beta = sigmoid(b).
struct RecToken {
  float k[4], q[4], v[kRecRows], g, beta;
};
__device__ __forceinline__ RecToken rec_load_token(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                                   const __nv_bfloat16* a, const __nv_bfloat16* b, int64_t t, int h, int hk,
                                                   int first_row, int lane, float neg_exp_a_log, float dt_bias_h) {
  RecToken x;
  rec_bf16x4(k + (t * kNumQKHeads + hk) * kD + 4 * lane, x.k);
  rec_bf16x4(q + (t * kNumQKHeads + hk) * kD + 4 * lane, x.q);
  rec_bf16x4(v + (t * kNumVHeads + h) * kD + first_row, x.v);  // the warp's four rows: 8 bytes, 8-aligned
  x.g = expf(log_gate(neg_exp_a_log, __bfloat162float(a[t * kNumVHeads + h]), dt_bias_h));
  x.beta = beta_gate(__bfloat162float(b[t * kNumVHeads + h]));
  return x;
}

// grid: num_seqs x 8 value heads x kRecBlocksPerHead row blocks.
__global__ void __launch_bounds__(kRecThreads)
gdn_prefill_recurrent_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                             const __nv_bfloat16* __restrict__ v, const float* __restrict__ state,
                             const float* __restrict__ A_log, const __nv_bfloat16* __restrict__ a,
                             const float* __restrict__ dt_bias, const __nv_bfloat16* __restrict__ b,
                             const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                             __nv_bfloat16* __restrict__ output, float* __restrict__ new_state) {
  const int64_t nh = blockIdx.x / kRecBlocksPerHead;  // sequence * 8 + value head
  const int64_t n = nh / kNumVHeads;
  const int h = static_cast<int>(nh % kNumVHeads);
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int block_row0 = static_cast<int>(blockIdx.x % kRecBlocksPerHead) * kRecBlockRows;
  const int first_row = block_row0 + warp * kRecRows;
  const int64_t bos = cu_seqlens[n], eos = cu_seqlens[n + 1];

  // Output rows outside every sequence (this CTA's rows of head h), as the chunked kernels write them.
  zero_rows_outside_sequences<kRecBlockRows, kRecThreads>(output, h, block_row0, n, num_seqs, bos, eos, total,
                                                           threadIdx.x);
  if (eos <= bos) {  // the reference skips an empty sequence: its final state stays zero
    zero_state_rows<kRecBlockRows, kRecThreads>(new_state + (nh * kD + block_row0) * kD, threadIdx.x);
    return;
  }
  float4* rows_out = reinterpret_cast<float4*>(new_state + (nh * kD + first_row) * kD) + lane;
  float4 s[kRecRows];
  if (state != nullptr) {
    const float4* rows_in = reinterpret_cast<const float4*>(state + (nh * kD + first_row) * kD) + lane;
#pragma unroll
    for (int r = 0; r < kRecRows; ++r) s[r] = rows_in[r * (kD / 4)];
  } else {
#pragma unroll
    for (int r = 0; r < kRecRows; ++r) s[r] = make_float4(0.f, 0.f, 0.f, 0.f);
  }

  const float neg_exp_a_log = -expf(A_log[h]);
  const float dt_bias_h = dt_bias[h];
  RecToken cur = rec_load_token(q, k, v, a, b, bos, h, hk, first_row, lane, neg_exp_a_log, dt_bias_h);
  for (int64_t t = bos; t < eos; ++t) {
    RecToken next = cur;
    if (t + 1 < eos) next = rec_load_token(q, k, v, a, b, t + 1, h, hk, first_row, lane, neg_exp_a_log, dt_bias_h);
#pragma unroll
    for (int r = 0; r < kRecRows; ++r) {
      const float4 old = make_float4(cur.g * s[r].x, cur.g * s[r].y, cur.g * s[r].z, cur.g * s[r].w);
      const float u = rec_warp_sum(cur.k[0] * old.x + cur.k[1] * old.y + cur.k[2] * old.z + cur.k[3] * old.w);
      const float d = cur.beta * (cur.v[r] - u);
      s[r] = make_float4(old.x + cur.k[0] * d, old.y + cur.k[1] * d, old.z + cur.k[2] * d, old.w + cur.k[3] * d);
      const float o = rec_warp_sum(cur.q[0] * s[r].x + cur.q[1] * s[r].y + cur.q[2] * s[r].z + cur.q[3] * s[r].w);
      if (lane == r) output[(t * kNumVHeads + h) * kD + first_row + r] = __float2bfloat16(scale * o);
    }
    cur = next;
  }
#pragma unroll
  for (int r = 0; r < kRecRows; ++r) rows_out[r * (kD / 4)] = s[r];
}
