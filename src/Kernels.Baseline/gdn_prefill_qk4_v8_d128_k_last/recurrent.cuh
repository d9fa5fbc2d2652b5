// recurrent.cuh: the gated delta rule token by token, for calls whose every sequence is short
// (GDN_PREFILL_RECURRENT_MAX_T): gdn_prefill_recurrent_kernel.
//
// Why: a call of a few tokens pays the chunked path's fixed chain. The fused kernel prepares a whole
// 64-row chunk (the solve, W, U) before its first state update: 6 / 1 took 8.3 us on the H200 (session
// 28), where the recurrence is a few hundred cycles a token.
//
// A CTA of kRecWarps warps owns kRecBlockRows state rows of one sequence and value head; each row is
// held by kRecLanesPerRow lanes of a warp, lane j holding the float4 column pieces j, j + 8, j + 16,
// j + 24 of S[v][0..127] (k-last). The rows stay in registers from the initial state to the final one.
//
// The CTA first stages the sequence's every token in shared memory (q and k as floats, its rows of v,
// the gates): one round trip to memory for the whole sequence. The tokens then go in groups of
// kRecGroup. With S the state before a group, Gamma_t the product of the group's g up to token t and
// D(i, t) that of g over tokens i+1..t, the reference's token-by-token update unrolls to
//   u_t = Gamma_t (k_t . S) + sum_{i<t} D(i, t) (k_t . k_i) d_i,   d_t = beta_t (v_t - u_t)
//   out_t = scale (Gamma_t (q_t . S) + sum_{i<=t} D(i, t) (q_t . k_i) d_i)
//   S' = Gamma_last S + sum_i D(i, last) k_i d_i
// The Gram terms D (k . k) and D (q . k) depend on the tokens alone and are staged with them; per group
// the state-dependent work is 2 kRecGroup dot products reduced together (one 8-lane reduction round
// on the chain from S to S'), a kRecGroup-step scalar solve and one pass over the rows. A group past
// the sequence's end is padded with tokens of g = 1, beta = 0 and zero q, k, v: their d is 0 and the
// decays are unchanged.
//
// Measured before (session 37, H200):
// - a first version with 32 lanes a row, the next token's operands loaded from global memory a token
//   ahead and q . S' reduced after the update: ~0.74 us a token (6 / 1 6.1 us, 31 / 1 25.1), each
//   token waiting for a memory round trip;
// - staged, a token at a time with k . S and q . S reduced together: 6 / 1 4.0 us, 12 / 1 5.1,
//   16 / 1 5.6, 31 / 1 10.1, 32 / 2 10.1 (1 / 1 2.9): 0.16-0.3 us a token, one reduction's latency
//   chain (shared loads, a 16-deep FMA chain, three shuffles) a token.
//
// Every sequence of the call has at most T tokens, so the host's T alone bounds a CTA's chain; no
// lengths are read on the host. Output rows before the first sequence and after the last are zero,
// and an empty sequence's final state is zero, as in the reference.
//
// Predicted (session 37): issue-bound at ~330 instructions a group of 4 (~0.05 us a token), the state
// loaded before cu_seqlens (one memory round trip less): 1 / 1 ~2.4 us, 6 / 1 ~3, 16 ~3.5, 32 ~4.5,
// against the fused kernel's 8.3-8.7.
// Included inside kernel.cu's anonymous namespace (constants, log_gate, beta_gate).

// @tunable GDN_PREFILL_RECURRENT_MAX_T: 0, 8, 16, 32 (default 0) when GDN_PREFILL_IMPL=1
// Calls of at most this many tokens run gdn_prefill_recurrent_kernel alone; 0: never.
#ifndef GDN_PREFILL_RECURRENT_MAX_T
#define GDN_PREFILL_RECURRENT_MAX_T 0
#endif

constexpr int kRecWarps = 4;
constexpr int kRecLanesPerRow = 8;
constexpr int kRecRowsPerWarp = 32 / kRecLanesPerRow;
constexpr int kRecThreads = kRecWarps * 32;
constexpr int kRecBlockRows = kRecWarps * kRecRowsPerWarp;
constexpr int kRecBlocksPerHead = kD / kRecBlockRows;
constexpr int kRecPieces = kD / 4 / kRecLanesPerRow;  // float4 pieces of a row per lane
// Tokens a CTA stages: the largest call the kernel takes (at least 1, so the kernel compiles when off).
constexpr int kRecMaxT = GDN_PREFILL_RECURRENT_MAX_T > 0 ? GDN_PREFILL_RECURRENT_MAX_T : 1;
static_assert(kD % kRecBlockRows == 0 && kD % (4 * kRecLanesPerRow) == 0, "rows and pieces tile the state");
static_assert(kRecBlockRows == 16, "a token's v rows of a CTA stage as four 8-byte pieces");
static_assert(kRecBlockRows % 8 == 0, "zero_rows_outside_sequences writes 16-byte pieces of 8 columns");

constexpr int kRecGroup = 4;  // tokens a reduction round serves
// Tokens a CTA stages, a whole number of groups.
constexpr int kRecTokens = (kRecMaxT + kRecGroup - 1) / kRecGroup * kRecGroup;

struct RecSmem {
  float4 k[kRecTokens][kD / 4];
  float4 q[kRecTokens][kD / 4];
  float v[kRecTokens][kRecBlockRows];
  float out[kRecTokens][kRecBlockRows];  // scale * output, stored to global memory after the last token
  float4 kk[kRecTokens];                 // [t][i]: D(i, t) k_t . k_i of the token's group, i < t (else 0)
  float4 qk[kRecTokens];                 // [t][i]: D(i, t) q_t . k_i, i <= t (else 0)
  float g[kRecTokens], beta[kRecTokens];
  float gamma[kRecTokens];  // Gamma_t: g of the group's tokens up to t
  float tail[kRecTokens];   // D(t, last): g of the group's tokens after t
};
static_assert(sizeof(RecSmem) <= 48 * 1024, "static shared memory: GDN_PREFILL_RECURRENT_MAX_T too large");

__device__ __forceinline__ float rec_warp_sum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}
// Four consecutive bf16 (8 bytes, as loaded) as floats.
__device__ __forceinline__ float4 rec_bf16x4(uint2 raw) {
  const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
  const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
  return make_float4(lo.x, lo.y, hi.x, hi.y);
}
__device__ __forceinline__ float rec_dot(float4 x, float4 y) { return x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w; }
__device__ __forceinline__ float4 rec_axpby(float a, float4 x, float b, float4 y) {
  return make_float4(a * x.x + b * y.x, a * x.y + b * y.y, a * x.z + b * y.z, a * x.w + b * y.w);
}

// The group's Gram term of pair p (0..15): the 6 k . k pairs i < t, then the 10 q . k pairs i <= t.
struct RecPair {
  int t, i;
  bool qk;
};
__device__ __forceinline__ RecPair rec_pair(int p) {
  if (p < 6) {
    const int t = p < 1 ? 1 : p < 3 ? 2 : 3;
    return {t, p - t * (t - 1) / 2, false};
  }
  const int r = p - 6;
  const int t = r < 1 ? 0 : r < 3 ? 1 : r < 6 ? 2 : 3;
  return {t, r - t * (t + 1) / 2, true};
}
static_assert(kRecGroup == 4, "rec_pair enumerates the pairs of a group of 4");

// Stages tokens [bos, bos + len) of value head h, padded to whole groups: q and k of its qk head hk as
// floats, the CTA's rows of v, the gates, then the groups' decays and Gram terms. Every global load is
// issued before the first is used. Ends with a barrier.
__device__ __forceinline__ void rec_stage_tokens(RecSmem& sm, const __nv_bfloat16* q, const __nv_bfloat16* k,
                                                 const __nv_bfloat16* v, const __nv_bfloat16* a,
                                                 const __nv_bfloat16* b, int64_t bos, int len, int h, int hk,
                                                 int block_row0, float neg_exp_a_log, float dt_bias_h, int tid) {
  const int padded = (len + kRecGroup - 1) / kRecGroup * kRecGroup;
  constexpr int kQkRounds = (kRecTokens * (kD / 4) + kRecThreads - 1) / kRecThreads;
  uint2 q_raw[kQkRounds], k_raw[kQkRounds];
#pragma unroll
  for (int i = 0; i < kQkRounds; ++i) {
    const int idx = tid + i * kRecThreads, t = idx / (kD / 4), piece = idx % (kD / 4);
    q_raw[i] = k_raw[i] = make_uint2(0, 0);
    if (t < len) {
      const int64_t at = ((bos + t) * kNumQKHeads + hk) * kD + 4 * piece;
      q_raw[i] = *reinterpret_cast<const uint2*>(q + at);
      k_raw[i] = *reinterpret_cast<const uint2*>(k + at);
    }
  }
  constexpr int kVRounds = (kRecTokens * (kRecBlockRows / 4) + kRecThreads - 1) / kRecThreads;
  uint2 v_raw[kVRounds];
#pragma unroll
  for (int i = 0; i < kVRounds; ++i) {
    const int idx = tid + i * kRecThreads, t = idx / (kRecBlockRows / 4), piece = idx % (kRecBlockRows / 4);
    v_raw[i] = make_uint2(0, 0);
    if (t < len) v_raw[i] = *reinterpret_cast<const uint2*>(v + ((bos + t) * kNumVHeads + h) * kD + block_row0 + 4 * piece);
  }
  // One token's gates a thread (kRecTokens <= kRecThreads: the static_assert below).
  float a_t = 0.f, b_t = 0.f;
  if (tid < len) {
    a_t = __bfloat162float(a[(bos + tid) * kNumVHeads + h]);
    b_t = __bfloat162float(b[(bos + tid) * kNumVHeads + h]);
  }
#pragma unroll
  for (int i = 0; i < kQkRounds; ++i) {
    const int idx = tid + i * kRecThreads, t = idx / (kD / 4), piece = idx % (kD / 4);
    if (t < padded) {
      sm.q[t][piece] = rec_bf16x4(q_raw[i]);
      sm.k[t][piece] = rec_bf16x4(k_raw[i]);
    }
  }
#pragma unroll
  for (int i = 0; i < kVRounds; ++i) {
    const int idx = tid + i * kRecThreads, t = idx / (kRecBlockRows / 4), piece = idx % (kRecBlockRows / 4);
    if (t < padded) *reinterpret_cast<float4*>(&sm.v[t][4 * piece]) = rec_bf16x4(v_raw[i]);
  }
  if (tid < padded) {  // padding: g = 1, beta = 0
    sm.g[tid] = tid < len ? expf(log_gate(neg_exp_a_log, a_t, dt_bias_h)) : 1.0f;
    sm.beta[tid] = tid < len ? beta_gate(b_t) : 0.0f;
  }
  __syncthreads();
  // A token's decays within its group: a thread per token.
  if (tid < padded) {
    const int first = tid - tid % kRecGroup, last = first + kRecGroup - 1;
    float gamma = 1.0f, tail = 1.0f;
    for (int i = first; i <= tid; ++i) gamma *= sm.g[i];
    for (int i = tid + 1; i <= last; ++i) tail *= sm.g[i];
    sm.gamma[tid] = gamma;
    sm.tail[tid] = tail;
    sm.kk[tid] = sm.qk[tid] = make_float4(0.f, 0.f, 0.f, 0.f);
  }
  __syncthreads();
  // The Gram terms: 16 a group, each an 8-lane dot product (lane j: pieces j, j + 8, j + 16, j + 24).
  const int lane = tid & 31, j = lane % kRecLanesPerRow;
  const int dots = padded / kRecGroup * 16;
  for (int dot = tid / kRecLanesPerRow; dot < dots; dot += kRecThreads / kRecLanesPerRow) {
    const int first = dot / 16 * kRecGroup;
    const RecPair pair = rec_pair(dot % 16);
    const float4* x = pair.qk ? sm.q[first + pair.t] : sm.k[first + pair.t];
    float part[kRecPieces];
#pragma unroll
    for (int i = 0; i < kRecPieces; ++i) part[i] = rec_dot(x[j + kRecLanesPerRow * i], sm.k[first + pair.i][j + kRecLanesPerRow * i]);
    float sum = (part[0] + part[1]) + (part[2] + part[3]);
#pragma unroll
    for (int offset = kRecLanesPerRow / 2; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (j == 0) {
      float decay = 1.0f;  // D(i, t)
      for (int u = first + pair.i + 1; u <= first + pair.t; ++u) decay *= sm.g[u];
      float* row = reinterpret_cast<float*>(pair.qk ? &sm.qk[first + pair.t] : &sm.kk[first + pair.t]);
      row[pair.i] = decay * sum;
    }
  }
  __syncthreads();
}
static_assert(kRecTokens <= kRecThreads, "rec_stage_tokens loads one token's gates a thread");
static_assert(kRecThreads % (16 * kRecLanesPerRow) == 0, "the Gram dot loop keeps whole warps in step");

// grid: num_seqs x 8 value heads x kRecBlocksPerHead row blocks.
__global__ void __launch_bounds__(kRecThreads)
gdn_prefill_recurrent_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                             const __nv_bfloat16* __restrict__ v, const float* __restrict__ state,
                             const float* __restrict__ A_log, const __nv_bfloat16* __restrict__ a,
                             const float* __restrict__ dt_bias, const __nv_bfloat16* __restrict__ b,
                             const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                             __nv_bfloat16* __restrict__ output, float* __restrict__ new_state) {
  __shared__ RecSmem sm;
  const int64_t nh = blockIdx.x / kRecBlocksPerHead;  // sequence * 8 + value head
  const int64_t n = nh / kNumVHeads;
  const int h = static_cast<int>(nh % kNumVHeads);
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int group = lane / kRecLanesPerRow, j = lane % kRecLanesPerRow;  // the lane's row, its pieces
  const int block_row0 = static_cast<int>(blockIdx.x % kRecBlocksPerHead) * kRecBlockRows;
  const int block_row = warp * kRecRowsPerWarp + group;  // row within the CTA's block
  // The state rows and the head's gate constants do not depend on cu_seqlens: their loads go first.
  const int64_t row_floats = (nh * kD + block_row0 + block_row) * kD;
  float4 s[kRecPieces];
#pragma unroll
  for (int i = 0; i < kRecPieces; ++i) {
    s[i] = state != nullptr ? reinterpret_cast<const float4*>(state + row_floats)[j + kRecLanesPerRow * i]
                            : make_float4(0.f, 0.f, 0.f, 0.f);
  }
  const float neg_exp_a_log = -expf(A_log[h]), dt_bias_h = dt_bias[h];
  const int64_t bos = cu_seqlens[n], eos = cu_seqlens[n + 1];

  // Output rows outside every sequence (this CTA's rows of head h), as the chunked kernels write them.
  zero_rows_outside_sequences<kRecBlockRows, kRecThreads>(output, h, block_row0, n, num_seqs, bos, eos, total, tid);
  if (eos <= bos) {  // the reference skips an empty sequence: its final state stays zero
    zero_state_rows<kRecBlockRows, kRecThreads>(new_state + (nh * kD + block_row0) * kD, tid);
    return;
  }
  // A sequence is never longer than the call (T <= kRecMaxT on the host); the bound keeps malformed
  // cu_seqlens inside the staging buffers.
  const int len = static_cast<int>(eos - bos < kRecMaxT ? eos - bos : kRecMaxT);
  rec_stage_tokens(sm, q, k, v, a, b, bos, len, h, hk, block_row0, neg_exp_a_log, dt_bias_h, tid);

  for (int first = 0; first < len; first += kRecGroup) {
    // The group's dot products with the state before it, reduced in one round.
    float ks[kRecGroup], qs[kRecGroup];
#pragma unroll
    for (int t = 0; t < kRecGroup; ++t) {
      float kp[kRecPieces], qp[kRecPieces];
#pragma unroll
      for (int i = 0; i < kRecPieces; ++i) {
        kp[i] = rec_dot(sm.k[first + t][j + kRecLanesPerRow * i], s[i]);
        qp[i] = rec_dot(sm.q[first + t][j + kRecLanesPerRow * i], s[i]);
      }
      ks[t] = (kp[0] + kp[1]) + (kp[2] + kp[3]);
      qs[t] = (qp[0] + qp[1]) + (qp[2] + qp[3]);
    }
#pragma unroll
    for (int offset = kRecLanesPerRow / 2; offset > 0; offset >>= 1) {
#pragma unroll
      for (int t = 0; t < kRecGroup; ++t) {
        ks[t] += __shfl_xor_sync(0xffffffffu, ks[t], offset);
        qs[t] += __shfl_xor_sync(0xffffffffu, qs[t], offset);
      }
    }
    // The scalar solve: d_t from the d of the group's earlier tokens.
    float d[kRecGroup];
#pragma unroll
    for (int t = 0; t < kRecGroup; ++t) {
      const float4 kk = sm.kk[first + t];
      const float kkv[4] = {kk.x, kk.y, kk.z, kk.w};
      float u = sm.gamma[first + t] * ks[t];
#pragma unroll
      for (int i = 0; i < t; ++i) u += kkv[i] * d[i];
      d[t] = sm.beta[first + t] * (sm.v[first + t][block_row] - u);
    }
    if (j == 0) {
#pragma unroll
      for (int t = 0; t < kRecGroup; ++t) {
        const float4 qk = sm.qk[first + t];
        const float qkv[4] = {qk.x, qk.y, qk.z, qk.w};
        float o = sm.gamma[first + t] * qs[t];
#pragma unroll
        for (int i = 0; i <= t; ++i) o += qkv[i] * d[i];
        sm.out[first + t][block_row] = scale * o;  // padded tokens' rows are never stored
      }
    }
    // S' = Gamma_last S + sum_i D(i, last) d_i k_i.
    float e[kRecGroup];
#pragma unroll
    for (int t = 0; t < kRecGroup; ++t) e[t] = sm.tail[first + t] * d[t];
    const float decay = sm.gamma[first + kRecGroup - 1];
#pragma unroll
    for (int i = 0; i < kRecPieces; ++i) {
      float4 x = make_float4(decay * s[i].x, decay * s[i].y, decay * s[i].z, decay * s[i].w);
#pragma unroll
      for (int t = 0; t < kRecGroup; ++t) x = rec_axpby(1.0f, x, e[t], sm.k[first + t][j + kRecLanesPerRow * i]);
      s[i] = x;
    }
  }
#pragma unroll
  for (int i = 0; i < kRecPieces; ++i) reinterpret_cast<float4*>(new_state + row_floats)[j + kRecLanesPerRow * i] = s[i];
  __syncthreads();
  // The outputs: a token's 16 rows of this CTA are 32 contiguous bytes, four 8-byte pieces.
  for (int idx = tid; idx < len * (kRecBlockRows / 4); idx += kRecThreads) {
    const int t = idx / (kRecBlockRows / 4), piece = idx % (kRecBlockRows / 4);
    const float4 o = *reinterpret_cast<const float4*>(&sm.out[t][4 * piece]);
    const __nv_bfloat162 lo = __floats2bfloat162_rn(o.x, o.y), hi = __floats2bfloat162_rn(o.z, o.w);
    uint2 raw;
    raw.x = *reinterpret_cast<const unsigned*>(&lo);
    raw.y = *reinterpret_cast<const unsigned*>(&hi);
    *reinterpret_cast<uint2*>(output + ((bos + t) * kNumVHeads + h) * kD + block_row0 + 4 * piece) = raw;
  }
}
