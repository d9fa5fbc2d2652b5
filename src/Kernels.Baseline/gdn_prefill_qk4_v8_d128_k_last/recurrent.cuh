// recurrent.cuh: the gated delta rule token by token, for calls whose every sequence is short
// (GDN_PREFILL_RECURRENT_MAX_T) or whose sequences are short on average (GDN_PREFILL_RECURRENT_MAX_AVG_T):
// gdn_prefill_recurrent_kernel.
//
// Why: a call of a few tokens pays the chunked path's fixed chain. The fused kernel prepares a whole
// 64-row chunk (the solve, W, U) before its first state update: 6 / 1 took 8.3 us on the H200 (session
// 28), where the recurrence is a few hundred cycles a token.
//
// A CTA of kRecWarps warps owns kRecBlockRows state rows of one sequence and value head; each row is
// held by 8 lanes of a warp, lane j holding the float4 column pieces j, j + 8, j + 16, j + 24 of
// S[v][0..127] (k-last). The rows stay in registers from the initial state to the final one.
//
// The CTA first stages the sequence's every token in shared memory (q and k as floats, its rows of v,
// the gates, q . k): one round trip to memory for the whole sequence. Each token is then the
// reference's update with both of its dot products taken from the old state at once:
//   ks = k . S,  qs = q . S,  d = beta (v - g ks),  S' = g S + k d,  out = scale (g qs + (q . k) d)
// (q . S' = g q . S + (q . k) d), so one 8-lane reduction a token sits on the chain from S to S'.
//
// Measured (session 37, H200; results/gpu/2026-11-28-s37):
// - a first version with 32 lanes a row, the next token's operands loaded from global memory a token
//   ahead and q . S' reduced after the update: ~0.74 us a token (6 / 1 6.1 us, 31 / 1 25.1), each token
//   waiting for a memory round trip;
// - this one (built with GDN_PREFILL_RECURRENT_MAX_T=32): 1 / 1 2.9 us, 6 / 1 4.0, 12 / 1 5.1, 16 / 1 5.6,
//   31 / 1 10.1, 32 / 2 10.1, against the fused kernel's 8.3-8.7: ~0.16 us a token up to 16 tokens,
//   ~0.3 beyond (predicted ~0.07). Built with =16 (staging for 16 tokens) it measured 4.6-4.7 / 6.0-6.1 /
//   7.1 us on 6 / 12 / 16 tokens (two calls), hence the fixed capacity below.
// - The whole definition on this kernel (=32, call 3): 6 / 1 4.1 us, 12-16 / 1 5.1-5.8, 18 / 1 6.6, 23 / 1
//   7.9, 24 / 1 8.1, 28 / 2 6.9, 30-31 / 1 9.8-10.0, 32 / 2 10.1; the fused kernel 8.3-8.7 on all of them.
//   Hence the default 24: every call of at most 24 tokens is faster (-0.3 us at 24, -4.2 at 6), and the
//   25-32-token calls stay on the fused kernel (one of them, 28 / 2, would gain; the host does not know
//   the lengths).
// - tried: the tokens in groups of 4, one reduction round a group, the Gram terms (k . k, q . k with
//   their decays) staged (commit after bb5bc50): slower at every size (1 / 1 3.9 us, 6 / 1 5.0, 16 / 1
//   7.0, 31 / 1 11.2). With a quarter of the reductions and no faster per token, the chain of
//   reductions is not what costs the time.
// - tried (session 38, H200, calls 1-4): a row over 32 lanes (a quarter of the shared-memory loads, one
//   128-bit k and q load a token, the eight dot products reduced by halving; commit 3661f37): as fast
//   as 8 lanes, so shared-memory wavefronts are not the limit either. The next token's operands read
//   into registers a token ahead: ptxas sank the loads to the loop's end again (128 registers); on the
//   one-stage kernel (96 registers) even (16 / 1 5.9 against 5.8 us). Both removed.
// - ncu (call 2, the stage-loop build at 16 / 1): a token is ~112 instructions in order; the stalls are
//   short scoreboards on shared-memory loads and shuffles that ptxas placed just before their use.
//
// Every sequence of the call has at most T tokens, so the host picks the one-stage instance from T
// alone; no lengths are read on the host. Output rows before the first sequence and after the last are zero,
// and an empty sequence's final state is zero, as in the reference.
// Included inside kernel.cu's anonymous namespace (constants, log_gate, beta_gate).

// @tunable GDN_PREFILL_RECURRENT_MAX_T: 0, 8, 16, 24, 32 (default 24) when GDN_PREFILL_IMPL=1
// Calls of at most this many tokens run gdn_prefill_recurrent_kernel alone; 0: never.
#ifndef GDN_PREFILL_RECURRENT_MAX_T
#define GDN_PREFILL_RECURRENT_MAX_T 24
#endif
// @tunable GDN_PREFILL_RECURRENT_MAX_AVG_T: 0, 2, 3, 4, 8 (default 3) when GDN_PREFILL_IMPL=1
// Calls of many short sequences (T <= this many tokens times N) run gdn_prefill_recurrent_kernel alone
// too, each sequence staged kRecMaxT tokens at a time; 0: never. Why: the chunked path pays a 64-token
// prep unit and a scan item for every sequence however short, ~0.75-0.79 us a sequence (2048 / 1024
// 771 us, 4096 / 1500 1128, ~3.0x the floor, which is the states' bytes: 128 KB a sequence and head, in
// and out). The recurrent kernel moves a state once.
// Its worst case is one long sequence holding almost every token: a chain of (avg - 1) N + 1 tokens.
// The multi-stage instance's token measured ~0.35 us there (1537 tokens 540 us), so the chain costs
// ~0.35 (avg - 1) us a sequence against the chunked path's ~0.79: ahead up to an average of ~3.
// Measured (session 38, H200, calls 2-4 and 6-7; edge_workloads.py, every edge passing):
// | call | chunked (=0) | recurrent |
// | 2048 / 1024 | 776.5 | 405.7 |
// | 4096 / 1500 | 1134.3 | 642.7 |
// | 300 / 150 | 117.6 | 63.3 |
// | 400 / 140 | 69.5 | 55.6 |
// | 1536 / 512, one 1025-token chain (avg 3's worst case) | 400.9 | 374.2 |
// | 2048 / 512, one 1537-token chain (avg 4's worst case) | 405.7 | 540.5 |
// Hence 3: at 4 the worst case is 1.33x slower than the chunked path; at 3 it stays ahead.
// No dataset call has an average under 6 tokens, so the dataset's plans are unchanged.
#ifndef GDN_PREFILL_RECURRENT_MAX_AVG_T
#define GDN_PREFILL_RECURRENT_MAX_AVG_T 3
#endif

// @tunable GDN_PREFILL_RECURRENT_MIN_BLOCKS: 0, 1, 3 (default 0) when GDN_PREFILL_IMPL=1
// gdn_prefill_recurrent_kernel's __launch_bounds__ minimum of CTAs an SM; 0: none given.
// Why: the multi-stage instance builds to exactly 128 registers (an occupancy target of four CTAs
// of 128 threads; nothing in the build asks for it), while the one-stage instance takes 96, and its
// token loop defers two of q's loads past k . S's reduction. A minimum of 1 CTA allows up to 255
// registers, of 3 up to 168.
// Measured (session 39, H200, edge workloads, us; default / =1 / =3; every row PASS):
// | 1536 / 512 (one 1025-token chain) | 374.9 | 267.3 | 269.0 |
// | 2048 / 1024                       | 407.2 | 475.1 | 473.2 |
// | 4096 / 1500                       | 641.2 | 737.5 | 736.0 |
// The long chain gains 29% (predicted for 2048 / 512's: 540 -> ~300), the many-sequence calls lose
// 15-17% (fewer resident CTAs to hide the states' movement). The host cannot tell the two apart
// from T and N alone, so the default stays 0. The one-stage instance is unchanged (4.0 / 5.0 / 5.7).
#ifndef GDN_PREFILL_RECURRENT_MIN_BLOCKS
#define GDN_PREFILL_RECURRENT_MIN_BLOCKS 0
#endif

constexpr int kRecWarps = 4;
constexpr int kRecLanesPerRow = 8;
constexpr int kRecRowsPerWarp = 32 / kRecLanesPerRow;
constexpr int kRecThreads = kRecWarps * 32;
constexpr int kRecBlockRows = kRecWarps * kRecRowsPerWarp;
constexpr int kRecBlocksPerHead = kD / kRecBlockRows;
constexpr int kRecPieces = kD / 4 / kRecLanesPerRow;  // float4 pieces of a row per lane
// Tokens a CTA can stage: fixed at the largest declared switch, whatever the switch. The kernel built
// for 32 measured faster than the one built for 16 on the same calls of at most 16 tokens (H200, session
// 37, two calls: 6 / 1 4.0 against 4.6-4.7 us, 16 / 1 5.6-5.7 against 7.1). Likely the same ptxas
// schedule change session 38 profiled for the stage loop (see the kernel); not checked. With a fixed
// capacity the switch changes only the host's plan.
constexpr int kRecMaxT = 32;
static_assert(GDN_PREFILL_RECURRENT_MAX_T <= kRecMaxT, "GDN_PREFILL_RECURRENT_MAX_T above the staging capacity");
static_assert(kD % kRecBlockRows == 0 && kD % (4 * kRecLanesPerRow) == 0, "rows and pieces tile the state");
static_assert(kRecBlockRows == 16, "a token's v rows of a CTA stage as four 8-byte pieces");
static_assert(kRecBlockRows % 8 == 0, "zero_rows_outside_sequences writes 16-byte pieces of 8 columns");

struct RecSmem {
  float4 k[kRecMaxT][kD / 4];
  float4 q[kRecMaxT][kD / 4];
  float v[kRecMaxT][kRecBlockRows];
  float out[kRecMaxT][kRecBlockRows];  // scale * output, stored to global memory after the last token
  float g[kRecMaxT], beta[kRecMaxT], qk[kRecMaxT];
};
static_assert(sizeof(RecSmem) <= 48 * 1024, "static shared memory: kRecMaxT too large");

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

// Stages tokens [bos, bos + len) of value head h: q and k of its qk head hk as floats, the CTA's rows of
// v, the gates and q . k. Every load is issued before the first is used. Ends with a barrier.
__device__ __forceinline__ void rec_stage_tokens(RecSmem& sm, const __nv_bfloat16* q, const __nv_bfloat16* k,
                                                 const __nv_bfloat16* v, const __nv_bfloat16* a,
                                                 const __nv_bfloat16* b, int64_t bos, int len, int h, int hk,
                                                 int block_row0, float neg_exp_a_log, float dt_bias_h, int tid) {
  constexpr int kQkRounds = (kRecMaxT * (kD / 4) + kRecThreads - 1) / kRecThreads;
  uint2 q_raw[kQkRounds], k_raw[kQkRounds];
#pragma unroll
  for (int i = 0; i < kQkRounds; ++i) {
    const int idx = tid + i * kRecThreads, t = idx / (kD / 4), piece = idx % (kD / 4);
    if (t < len) {
      const int64_t at = ((bos + t) * kNumQKHeads + hk) * kD + 4 * piece;
      q_raw[i] = *reinterpret_cast<const uint2*>(q + at);
      k_raw[i] = *reinterpret_cast<const uint2*>(k + at);
    }
  }
  constexpr int kVRounds = (kRecMaxT * (kRecBlockRows / 4) + kRecThreads - 1) / kRecThreads;
  uint2 v_raw[kVRounds];
#pragma unroll
  for (int i = 0; i < kVRounds; ++i) {
    const int idx = tid + i * kRecThreads, t = idx / (kRecBlockRows / 4), piece = idx % (kRecBlockRows / 4);
    if (t < len) v_raw[i] = *reinterpret_cast<const uint2*>(v + ((bos + t) * kNumVHeads + h) * kD + block_row0 + 4 * piece);
  }
  // One token's gates a thread (kRecMaxT <= kRecThreads: the static_assert below).
  float a_t = 0.f, b_t = 0.f;
  if (tid < len) {
    a_t = __bfloat162float(a[(bos + tid) * kNumVHeads + h]);
    b_t = __bfloat162float(b[(bos + tid) * kNumVHeads + h]);
  }
#pragma unroll
  for (int i = 0; i < kQkRounds; ++i) {
    const int idx = tid + i * kRecThreads, t = idx / (kD / 4), piece = idx % (kD / 4);
    if (t < len) {
      sm.q[t][piece] = rec_bf16x4(q_raw[i]);
      sm.k[t][piece] = rec_bf16x4(k_raw[i]);
    }
  }
#pragma unroll
  for (int i = 0; i < kVRounds; ++i) {
    const int idx = tid + i * kRecThreads, t = idx / (kRecBlockRows / 4), piece = idx % (kRecBlockRows / 4);
    if (t < len) *reinterpret_cast<float4*>(&sm.v[t][4 * piece]) = rec_bf16x4(v_raw[i]);
  }
  if (tid < len) {
    sm.g[tid] = expf(log_gate(neg_exp_a_log, a_t, dt_bias_h));
    sm.beta[tid] = beta_gate(b_t);
  }
  __syncthreads();
  // q . k: a warp per token.
  const int lane = tid & 31;
  for (int t = tid >> 5; t < len; t += kRecWarps) {
    const float x = rec_dot(sm.q[t][lane], sm.k[t][lane]);
    const float sum = rec_warp_sum(x);
    if (lane == 0) sm.qk[t] = sum;
  }
  __syncthreads();
}
static_assert(kRecMaxT <= kRecThreads, "rec_stage_tokens loads one token's gates a thread");

// The staged tokens [0, len) of the CTA's rows: lane j of block row `block_row` holds pieces j, j + 8,
// j + 16, j + 24 of it in s; scale * output into sm.out.
__device__ __forceinline__ void rec_run_tokens(RecSmem& sm, float4 (&s)[kRecPieces], int len, int j, int block_row,
                                               float scale) {
  for (int t = 0; t < len; ++t) {
    float ks = 0.f, qs = 0.f;
#pragma unroll
    for (int i = 0; i < kRecPieces; ++i) {
      ks += rec_dot(sm.k[t][j + kRecLanesPerRow * i], s[i]);
      qs += rec_dot(sm.q[t][j + kRecLanesPerRow * i], s[i]);
    }
#pragma unroll
    for (int offset = kRecLanesPerRow / 2; offset > 0; offset >>= 1) {
      ks += __shfl_xor_sync(0xffffffffu, ks, offset);
      qs += __shfl_xor_sync(0xffffffffu, qs, offset);
    }
    const float g = sm.g[t];
    const float d = sm.beta[t] * (sm.v[t][block_row] - g * ks);
#pragma unroll
    for (int i = 0; i < kRecPieces; ++i) s[i] = rec_axpby(g, s[i], d, sm.k[t][j + kRecLanesPerRow * i]);
    if (j == 0) sm.out[t][block_row] = scale * (g * qs + sm.qk[t] * d);
  }
}

// The outputs of staged tokens [0, len) from sm.out: a token's 16 rows of this CTA are 32 contiguous
// bytes, four 8-byte pieces.
__device__ __forceinline__ void rec_store_outputs(const RecSmem& sm, __nv_bfloat16* output, int64_t first_token, int len,
                                                  int h, int block_row0, int tid) {
  for (int idx = tid; idx < len * (kRecBlockRows / 4); idx += kRecThreads) {
    const int t = idx / (kRecBlockRows / 4), piece = idx % (kRecBlockRows / 4);
    const float4 o = *reinterpret_cast<const float4*>(&sm.out[t][4 * piece]);
    const __nv_bfloat162 lo = __floats2bfloat162_rn(o.x, o.y), hi = __floats2bfloat162_rn(o.z, o.w);
    uint2 raw;
    raw.x = *reinterpret_cast<const unsigned*>(&lo);
    raw.y = *reinterpret_cast<const unsigned*>(&hi);
    *reinterpret_cast<uint2*>(output + ((first_token + t) * kNumVHeads + h) * kD + block_row0 + 4 * piece) = raw;
  }
}

// grid: num_seqs x 8 value heads x kRecBlocksPerHead row blocks. A sequence longer than kRecMaxT tokens
// (GDN_PREFILL_RECURRENT_MAX_AVG_T's calls) is staged kRecMaxT tokens at a time, unless kOneStage: the
// host launches that one for calls of at most kRecMaxT tokens, whose sequences fit one stage.
// Why two kernels (session 38, H200, call 2): with the stage loop around it the token loop measured
// 0.6-1.6 us slower at 6-16 tokens (ptxas took 128 registers, not 96, and sank two of q's four loads to
// their use), though its source had not changed; the one-stage kernel is the measured code again.
template <bool kOneStage>
__global__ void
#if GDN_PREFILL_RECURRENT_MIN_BLOCKS > 0
__launch_bounds__(kRecThreads, GDN_PREFILL_RECURRENT_MIN_BLOCKS)
#else
__launch_bounds__(kRecThreads)
#endif
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
  const int block_row0 = static_cast<int>(blockIdx.x % kRecBlocksPerHead) * kRecBlockRows;
  const int group = lane / kRecLanesPerRow, j = lane % kRecLanesPerRow;  // the lane's row, its pieces
  const int block_row = warp * kRecRowsPerWarp + group;                  // row within the CTA's block
  const int64_t row_floats = (nh * kD + block_row0 + block_row) * kD;
  const int64_t bos = cu_seqlens[n], eos = cu_seqlens[n + 1];

  // Output rows outside every sequence (this CTA's rows of head h), as the chunked kernels write them.
  zero_rows_outside_sequences<kRecBlockRows, kRecThreads>(output, h, block_row0, n, num_seqs, bos, eos, total, tid);
  if (eos <= bos) {  // the reference skips an empty sequence: its final state stays zero
    zero_state_rows<kRecBlockRows, kRecThreads>(new_state + (nh * kD + block_row0) * kD, tid);
    return;
  }
  float4 s[kRecPieces];
#pragma unroll
  for (int i = 0; i < kRecPieces; ++i) {
    s[i] = state != nullptr ? reinterpret_cast<const float4*>(state + row_floats)[j + kRecLanesPerRow * i]
                            : make_float4(0.f, 0.f, 0.f, 0.f);
  }
  const float neg_exp_a_log = -expf(A_log[h]), dt_bias_h = dt_bias[h];
  for (int64_t first = bos; first < eos; first += kRecMaxT) {
    const int len = static_cast<int>(eos - first < kRecMaxT ? eos - first : kRecMaxT);
    rec_stage_tokens(sm, q, k, v, a, b, first, len, h, hk, block_row0, neg_exp_a_log, dt_bias_h, tid);
    rec_run_tokens(sm, s, len, j, block_row, scale);
    __syncthreads();
    rec_store_outputs(sm, output, first, len, h, block_row0, tid);
    if (kOneStage) break;
    if (first + kRecMaxT < eos) __syncthreads();  // the next stage overwrites what these stores read
  }
#pragma unroll
  for (int i = 0; i < kRecPieces; ++i) reinterpret_cast<float4*>(new_state + row_floats)[j + kRecLanesPerRow * i] = s[i];
}
