// dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64: baseline CUDA kernels.
//
// Default (DSA_ATTN_IMPL=1, DSA_ATTN_PIPE=1): split over the 2048 indices on tensor cores, each
// CTA's rows gathered in pipelined blocks with an online softmax, then a merge; see split_kv.cuh.
// This file keeps the first version (DSA_ATTN_IMPL=0, fp32 on CUDA cores), described below, and
// the host entry point with the launch plan.
//
// Computes absorbed-MLA sparse attention: for token t and head h, over the valid entries j of
// sparse_indices[t] (-1 = padding, anywhere in the row; an index is a token id page*64+offset
// into the flattened caches):
//   logit_j = (q_nope[t,h] . ckv[j] + q_pe[t,h] . kpe[j]) * sm_scale
//   lse[t,h] = logsumexp_j(logit_j) / ln 2       (base-2 log-sum-exp)
//   output[t,h] = sum_j softmax(logit)_j * ckv[j]   (bf16)
// A row without any valid index gives output 0 and lse = -inf.
//
// Algorithm: one block per (head, token), 256 threads (8 warps), three phases.
//   1. logits: a warp per index (indices strided over warps); lane l holds dims 2l + 64i of the
//      512-dim ckv row (bf16 pairs, coalesced) and dims 2l, 2l+1 of the 64-dim kpe row; two warp
//      reductions; the scaled logit goes to shared memory.
//   2. block max and sum of exp(logit - max) (unnormalized probabilities kept in shared memory);
//      lse = (max + log(sum)) / ln 2.
//   3. output: each warp accumulates p_j * ckv[j] over its indices (16 dims per lane), partial
//      sums are reduced across warps in shared memory and divided by the sum.
// Indices outside [0, num_pages*64) are treated like -1 (the reference only defines -1 as
// padding; other out-of-range values would fault there).
// Launch: grid (16, T), block 256, about 32 KB of static shared memory. Scratch: none.
// Measured (H200): this first version ~0.31 ms at 1 token, ~0.33 ms at 8; the default pipelined
// split kernel 7.1 us at 1 token, 11.4-12.7 us at 6-8 tokens (H200, session 15); on the H100 7.8 /
// 8.6 / 13.6 us at 1 / 2 / 6-8 tokens (NOTES.md, results/gpu).

#include "agentforge.h"
#include "afg_mma.cuh"

#include <cuda_bf16.h>

// @tunable DSA_ATTN_THREADS: 128, 256 (default 256) when DSA_ATTN_IMPL=0
// (512 would need more than the 48 KB of static shared memory: s_part is kWarps x 2 KB.)
#ifndef DSA_ATTN_THREADS
#define DSA_ATTN_THREADS 256
#endif
// @tunable DSA_ATTN_IMPL: 0, 1 (default 1)
// 0: one CTA per (head, token) on CUDA cores (this file; ~0.31 ms at 1 token on the H200);
// 1: split over the indices, all heads per CTA on tensor cores, then a merge (split_kv.cuh;
// 11.2 us at 1 token in its first version, results/gpu/2026-11-26-h200-pending-checks).
#ifndef DSA_ATTN_IMPL
#define DSA_ATTN_IMPL 1
#endif
// @tunable DSA_ATTN_SMALL_T: 0, 2, 8 (default 2) when DSA_ATTN_IMPL=1
// Calls of at most this many tokens take the small slices: DSA_ATTN_PIPE_ROWS_SMALL rows per CTA
// (32: 64 CTAs per token) in the pipelined pass 1, 32 in the unpipelined one; larger calls take
// DSA_ATTN_PIPE_ROWS (128: 16 CTAs per token), or 64 unpipelined (32 CTAs per token).
#ifndef DSA_ATTN_SMALL_T
#define DSA_ATTN_SMALL_T 2
#endif
// @tunable DSA_ATTN_WARPS: 4, 8 (default 8) when DSA_ATTN_IMPL=1
// Warps per split-attention CTA of the unpipelined pass 1 (DSA_ATTN_PIPE=0).
#ifndef DSA_ATTN_WARPS
#define DSA_ATTN_WARPS 8
#endif
// @tunable DSA_ATTN_CLUSTER: 1, 8 (default 1) when DSA_ATTN_IMPL=1
// 8: clusters of 8 split CTAs merge their slices in distributed shared memory before writing
// partials (split_kv.cuh), so the merge kernel reads 8x fewer; the unpipelined pass 1 only
// (DSA_ATTN_PIPE=0). H200, session 4: 1 token 7.7 -> 10.0 us, slower: default 1.
#ifndef DSA_ATTN_CLUSTER
#define DSA_ATTN_CLUSTER 1
#endif
// @tunable DSA_ATTN_PIPE: 0, 1 (default 1) when DSA_ATTN_IMPL=1
// 1: pass 1 pipelined (split_kv.cuh, pipelined_attention_kernel): a CTA gathers its indices in
// blocks of 32 rows through DSA_ATTN_PIPE_STAGES buffers, the next blocks' copies in flight under
// the current block's products, online softmax across blocks, one partial per CTA. Rows per CTA:
// DSA_ATTN_PIPE_ROWS_SMALL up to DSA_ATTN_SMALL_T tokens, DSA_ATTN_PIPE_ROWS above. DSA_ATTN_WARPS
// applies to the unpipelined pass 1 only (the pipelined one has DSA_ATTN_PIPE_WARPS). Measured
// (H200, session 11, all 23 workloads, with 3 stages and register-held query fragments): band
// means 1 token 7.42 -> 7.30 us, 2 tokens 8.39 -> 8.30, 6 tokens 14.43 -> 12.33, 7 tokens 15.09 ->
// 12.58, 8 tokens 16.27 -> 13.86; 23/23 PASS, sanitizers clean. Default since.
#ifndef DSA_ATTN_PIPE
#define DSA_ATTN_PIPE 1
#endif
// @tunable DSA_ATTN_PIPE_ROWS_SMALL: 32, 64, 128 (default 32) when DSA_ATTN_PIPE=1
// 32 (one block per CTA, 64 CTAs per token): 1 token 7.3 us; 64 (two blocks, 32 CTAs) 8.5 with 2
// stages; with 3 stages and register-held Q (call 13) 7.49 -> 7.74 at 1 token, 8.26 -> 8.01 at 2.
#ifndef DSA_ATTN_PIPE_ROWS_SMALL
#define DSA_ATTN_PIPE_ROWS_SMALL 32
#endif
// @tunable DSA_ATTN_PIPE_ROWS: 64, 128, 256 (default 128) when DSA_ATTN_PIPE=1
// At 8 tokens (H200, two stages, session 11 call 3): 64 rows (256 CTAs) 15.8 us, 128 14.3, 256 (64
// CTAs) 19.5.
#ifndef DSA_ATTN_PIPE_ROWS
#define DSA_ATTN_PIPE_ROWS 128
#endif
// @tunable DSA_ATTN_PIPE_STAGES: 2, 3, 4 (default 3) when DSA_ATTN_PIPE=1
// Two stages: ~93 KB of shared memory, two CTAs per SM; three: ~130 KB, one; four: ~168 KB.
// H200, session 11, with register-held query fragments: 2 -> 3 stages, 8 tokens 14.39 -> 13.86 us
// (band means, call 7); 3 -> 4 stages, 1 / 2 / 6 / 7 / 8 tokens 7.49 / 8.26 / 12.09 / 12.38 / 13.93
// -> 7.20 / 8.18 / 11.80 / 12.26 / 14.06 us (call 13, 10 workloads): within noise.
#ifndef DSA_ATTN_PIPE_STAGES
#define DSA_ATTN_PIPE_STAGES 3
#endif
// @tunable DSA_ATTN_PIPE_WARPS: 8, 16 (default 8) when DSA_ATTN_PIPE=1
// 16: S's K split in four parts, a head per warp in the softmax, 32 output columns per warp.
// H200: 8 tokens 14.39 -> 14.52 us (band means, with register-held query fragments): no gain.
#ifndef DSA_ATTN_PIPE_WARPS
#define DSA_ATTN_PIPE_WARPS 8
#endif
// @tunable DSA_ATTN_PIPE_QREGS: 0, 1 (default 1) when DSA_ATTN_PIPE=1
// 1: the query's A fragments held in registers for the whole CTA instead of an ldmatrix per k step.
// H200: 6 tokens 13.5 -> 12.4 us, 8 tokens even (14.8 -> 14.7).
#ifndef DSA_ATTN_PIPE_QREGS
#define DSA_ATTN_PIPE_QREGS 1
#endif
// @tunable DSA_ATTN_PARTIAL_BF16: 0, 1 (default 1) when DSA_ATTN_PIPE=1
// 1: the pipelined pass 1 writes its unnormalized O partial in bf16 (16 KB per CTA instead of 32)
// and the merge reads bf16. Why: the CTA timeline (H200, session 15) puts the partial's stores at
// 0.61 us of every pass-1 CTA, and the merge after pass 1 at ~1.7 us (0.6 release, ~1.0 loads and
// sums). Precision: each partial is a sum of at most 128 products p v with p <= 1, rounded once to
// bf16 (relative 2^-9), then weighted and summed in fp32: far inside the 1e-2 tolerance. Prediction:
// -0.3..-0.5 us per call at every size.
// Measured (H200, session 15, call 6, quick set): 1 / 6 / 8 tokens 7.4 / 11.6 / 13.2 -> 7.6 / 11.9
// / 13.2 us, 23/23: the merge's loads and sums took ~0.25 us less, but the stores of each pass-1 CTA
// 0.61 -> 1.18 us (4-byte pieces, eight rows per warp store: as many 32-byte sectors as fp32, each
// half written). With DSA_ATTN_STAGED_STORE (whole 16-byte pieces) it is faster: the default since.
#ifndef DSA_ATTN_PARTIAL_BF16
#define DSA_ATTN_PARTIAL_BF16 1
#endif
// @tunable DSA_ATTN_STAGED_STORE: 0, 1 (default 1) when DSA_ATTN_PIPE=1
// 1: the pipelined pass 1 stages its O partial in shared memory and writes it in 16-byte pieces, a
// warp's 32 pieces contiguous. Why: the fragment-order stores (8 bytes per lane, eight rows per warp
// instruction: eight 32-byte sectors in eight lines) cost 0.61 us per CTA (CTA timeline, H200,
// session 15), ~1000 cycles for the 1024 sectors of a 32 KB partial: about one line per cycle.
// Whole 128-byte lines per quarter-warp make it ~256 line visits. Prediction: partial stored 0.61 ->
// ~0.25 us (two barriers and the staging included), every call -0.3 us; with bf16 partials -0.5.
// Measured (H200, session 15, calls 8-9): fp32 staged 0.61 -> 0.96 us (slower: a partial leaves an
// SM at ~32 bytes a cycle whatever the pattern, so the staging only adds), bf16 staged 0.64; in two
// sweeps of the quick set, staged bf16 against fp32 fragment stores: 1 / 6 / 8 tokens 7.2 / 11.7 /
// 13.2 -> 7.1 / 11.4 / 12.6 us and 7.5 / 11.7 / 13.3 -> 7.1 / 11.4 / 12.7; 23/23. Default since
// (with DSA_ATTN_PARTIAL_BF16). Tried and removed (commit history): pass-1 clusters of 2 / 4
// merging their partials through distributed shared memory (DSA_ATTN_PIPE_CLUSTER): 1 token 7.5 ->
// 8.5-8.6 us, the cluster syncs and remote reads 2.7 us per CTA; 8 tokens 13.3 -> 19.7 with 4
// (clusters left SMs idle: a second wave).
#ifndef DSA_ATTN_STAGED_STORE
#define DSA_ATTN_STAGED_STORE 1
#endif
// @tunable DSA_ATTN_EARLY_QFRAGS: 0, 1 (default 1) when DSA_ATTN_PIPE_QREGS=1
// 1: the queries travel in a copy group of their own and each warp loads its query fragments into
// registers while block 0's rows are still in flight, instead of after they landed. Why: block 0's S
// phase (0.64 us at 1 token, CTA timeline, H200, session 15) starts with 18 ldmatrix per warp of the
// queries, which land ~1.5 us before the rows. Prediction: S 0.64 -> ~0.5 us, every call -0.1..-0.15
// us. Written after session 15's last GPU call. Measured (H200, session 16 call 2, one sweep,
// 23/23): 1 / 6 / 8 tokens 7.1 / 11.4 / 12.7 -> 6.8 / 11.0 / 12.3 us, more than predicted; default
// since.
#ifndef DSA_ATTN_EARLY_QFRAGS
#define DSA_ATTN_EARLY_QFRAGS 1
#endif
// @tunable DSA_ATTN_REDUX_SOFTMAX: 0, 1 (default 1) when DSA_ATTN_PIPE=1
// 1: the pipelined pass 1's online softmax takes each block's row max in one integer warp
// reduction (__reduce_max_sync on order-preserving bits) instead of five shuffles, and keeps the
// running sum per lane (rescaled by the head's uniform alpha), summed across lanes once per CTA
// instead of five shuffles per block. Why: the per-CTA timeline (DSA_ATTN_DIAG_CTA_TIMES, H200,
// session 15) puts block 0's softmax at 0.51 us of a 1.44 us block (S 0.67, P V 0.26), and at 8
// tokens four blocks' products take 5.5 us of an ~11 us pass 1. Prediction: softmax 0.51 -> ~0.25
// us per block, 1 token -0.25 us, 8 tokens -0.8..-1 us. Measured (H200, session 15, calls 4-5, two
// sweeps of the quick set): softmax 0.51 -> 0.35 us per block, 8 tokens' products 5.5 -> 5.1 us;
// 1 / 6 / 8 tokens 7.5 / 12.3 / 13.8 -> 7.3 / 11.8 / 13.4 us and 7.4 / 12.2 / 13.8 -> 7.2 / 11.6 /
// 13.4 us. Default since. Tried with it and removed (commit history): a copy-only producer warp per
// CTA on mbarrier stages (DSA_ATTN_PIPE_PRODUCER): S lost the 0.5 us of copy issue, but one warp
// issuing a block's 2304 copies fell behind: 8 tokens 13.4 -> 16.3 us.
#ifndef DSA_ATTN_REDUX_SOFTMAX
#define DSA_ATTN_REDUX_SOFTMAX 1
#endif
// @diagnostic DSA_ATTN_DIAG: 0, 1, 2, 3 (default 0)
// A measurement aid for the pipelined pass 1 (results are wrong with it): 1 skips the products and
// the softmax (gathers, waits and barriers only), 2 skips the merge launch (pass 1 alone), 3 skips
// the row gathers (products on whatever shared memory holds): what each part takes alone.
#ifndef DSA_ATTN_DIAG
#define DSA_ATTN_DIAG 0
#endif
// @diagnostic DSA_ATTN_DIAG_CTA_TIMES: 0, 1 (default 0)
// 1: every pipelined pass-1 CTA and every merge CTA writes %globaltimer at its phase boundaries
// into device arrays (split_kv.cuh, diag_mark) that scripts/device/attention-cta-timeline.sh reads:
// where a call's time goes, CTA by CTA. Results stay correct; the marks cost a few stores.
#ifndef DSA_ATTN_DIAG_CTA_TIMES
#define DSA_ATTN_DIAG_CTA_TIMES 0
#endif
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace {

constexpr int kHeads = 16;
constexpr int kDimCkv = 512;
constexpr int kDimKpe = 64;
constexpr int kPageSize = 64;
constexpr int kTopK = 2048;
constexpr int kThreads = DSA_ATTN_THREADS;  // every loop strides by kThreads or kWarps
constexpr int kWarps = kThreads / 32;
constexpr int kCkvPairsPerLane = kDimCkv / 64;  // 8 bf16 pairs = 16 dims per lane

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}

__global__ void __launch_bounds__(kThreads)
dsa_sparse_attention_kernel(const __nv_bfloat16* __restrict__ q_nope, const __nv_bfloat16* __restrict__ q_pe,
                            const __nv_bfloat16* __restrict__ ckv, const __nv_bfloat16* __restrict__ kpe,
                            const int32_t* __restrict__ sparse_indices, float sm_scale,
                            int64_t num_cache_tokens, __nv_bfloat16* __restrict__ output,
                            float* __restrict__ lse) {
  __shared__ int s_idx[kTopK];
  __shared__ float s_p[kTopK];                 // scaled logits, then exp(logit - max)
  __shared__ float s_part[kWarps][kDimCkv];    // per-warp partial outputs
  __shared__ float s_red[kWarps];
  __shared__ int s_cnt[kWarps];

  const int h = blockIdx.x;
  const int t = blockIdx.y;
  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int64_t th = static_cast<int64_t>(t) * kHeads + h;

  // Valid indices; invalid ones become -1.
  int my_valid = 0;
  for (int i = tid; i < kTopK; i += kThreads) {
    const int raw = sparse_indices[static_cast<int64_t>(t) * kTopK + i];
    const bool ok = raw >= 0 && static_cast<int64_t>(raw) < num_cache_tokens;
    s_idx[i] = ok ? raw : -1;
    my_valid += ok ? 1 : 0;
  }

  // Query in registers, fp32.
  const __nv_bfloat162* qn2 = reinterpret_cast<const __nv_bfloat162*>(q_nope + th * kDimCkv);
  const __nv_bfloat162* qp2 = reinterpret_cast<const __nv_bfloat162*>(q_pe + th * kDimKpe);
  float2 qn[kCkvPairsPerLane];
#pragma unroll
  for (int i = 0; i < kCkvPairsPerLane; ++i) qn[i] = __bfloat1622float2(qn2[lane + 32 * i]);
  const float2 qp = __bfloat1622float2(qp2[lane]);

  // Count of valid indices (block reduction).
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) my_valid += __shfl_xor_sync(0xffffffffu, my_valid, offset);
  if (lane == 0) s_cnt[warp] = my_valid;
  __syncthreads();
  int num_valid = 0;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) num_valid += s_cnt[w];

  if (num_valid == 0) {
    // Block-uniform: no valid index -> zero output, lse = -inf.
    for (int d = tid; d < kDimCkv; d += kThreads) output[th * kDimCkv + d] = __float2bfloat16(0.0f);
    if (tid == 0) lse[th] = -INFINITY;
    return;
  }

  // Phase 1: logits.
  for (int j = warp; j < kTopK; j += kWarps) {
    const int idx = s_idx[j];
    if (idx < 0) continue;  // warp-uniform
    const __nv_bfloat162* c2 = reinterpret_cast<const __nv_bfloat162*>(ckv + static_cast<int64_t>(idx) * kDimCkv);
    const __nv_bfloat162* p2 = reinterpret_cast<const __nv_bfloat162*>(kpe + static_cast<int64_t>(idx) * kDimKpe);
    float acc_n = 0.0f;
#pragma unroll
    for (int i = 0; i < kCkvPairsPerLane; ++i) {
      const float2 c = __bfloat1622float2(c2[lane + 32 * i]);
      acc_n += qn[i].x * c.x + qn[i].y * c.y;
    }
    const float2 p = __bfloat1622float2(p2[lane]);
    float acc_p = qp.x * p.x + qp.y * p.y;
    acc_n = warp_sum(acc_n);
    acc_p = warp_sum(acc_p);
    if (lane == 0) s_p[j] = (acc_n + acc_p) * sm_scale;
  }
  __syncthreads();

  // Phase 2: max, then sum of exp.
  float m = -INFINITY;
  for (int j = tid; j < kTopK; j += kThreads)
    if (s_idx[j] >= 0) m = fmaxf(m, s_p[j]);
  m = warp_max(m);
  if (lane == 0) s_red[warp] = m;
  __syncthreads();
  m = s_red[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) m = fmaxf(m, s_red[w]);
  __syncthreads();  // everyone has read s_red before it is reused

  float sum = 0.0f;
  for (int j = tid; j < kTopK; j += kThreads) {
    const float e = s_idx[j] >= 0 ? expf(s_p[j] - m) : 0.0f;
    s_p[j] = e;
    sum += e;
  }
  sum = warp_sum(sum);
  if (lane == 0) s_red[warp] = sum;
  __syncthreads();  // also publishes s_p (probabilities) for phase 3
  sum = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) sum += s_red[w];

  if (tid == 0) lse[th] = (m + logf(sum)) / 0.69314718055994530942f;

  // Phase 3: output = sum_j p_j * ckv[j] / sum.
  float2 acc[kCkvPairsPerLane];
#pragma unroll
  for (int i = 0; i < kCkvPairsPerLane; ++i) acc[i] = make_float2(0.0f, 0.0f);
  for (int j = warp; j < kTopK; j += kWarps) {
    const int idx = s_idx[j];
    if (idx < 0) continue;  // warp-uniform
    const float p = s_p[j];
    const __nv_bfloat162* c2 = reinterpret_cast<const __nv_bfloat162*>(ckv + static_cast<int64_t>(idx) * kDimCkv);
#pragma unroll
    for (int i = 0; i < kCkvPairsPerLane; ++i) {
      const float2 c = __bfloat1622float2(c2[lane + 32 * i]);
      acc[i].x += p * c.x;
      acc[i].y += p * c.y;
    }
  }
#pragma unroll
  for (int i = 0; i < kCkvPairsPerLane; ++i) {
    const int d = 2 * (lane + 32 * i);
    s_part[warp][d] = acc[i].x;
    s_part[warp][d + 1] = acc[i].y;
  }
  __syncthreads();
  const float inv_sum = 1.0f / sum;
  for (int d = tid; d < kDimCkv; d += kThreads) {
    float o = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) o += s_part[w][d];
    output[th * kDimCkv + d] = __float2bfloat16(o * inv_sum);
  }
}

#if DSA_ATTN_IMPL == 1
#include "split_kv.cuh"
#endif

bool check(bool ok, const char* what) { return afg::expect(ok, "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64", what); }

}  // namespace

void run(afg::Tensor q_nope, afg::Tensor q_pe, afg::Tensor ckv_cache, afg::Tensor kpe_cache,
         afg::Tensor sparse_indices, float sm_scale, afg::Tensor output, afg::Tensor lse,
         cudaStream_t stream) {
  using afg::DType;
  if (!check(q_nope.rank == 3 && q_nope.dtype == DType::BFloat16 && q_nope.size(1) == kHeads &&
                 q_nope.size(2) == kDimCkv, "q_nope")) return;
  const int64_t T = q_nope.size(0);
  if (!check(q_pe.rank == 3 && q_pe.dtype == DType::BFloat16 && q_pe.size(0) == T &&
                 q_pe.size(1) == kHeads && q_pe.size(2) == kDimKpe, "q_pe")) return;
  if (!check(ckv_cache.rank == 3 && ckv_cache.dtype == DType::BFloat16 && ckv_cache.size(1) == kPageSize &&
                 ckv_cache.size(2) == kDimCkv, "ckv_cache")) return;
  const int64_t P = ckv_cache.size(0);
  if (!check(kpe_cache.rank == 3 && kpe_cache.dtype == DType::BFloat16 && kpe_cache.size(0) == P &&
                 kpe_cache.size(1) == kPageSize && kpe_cache.size(2) == kDimKpe, "kpe_cache")) return;
  if (!check(sparse_indices.rank == 2 && sparse_indices.dtype == DType::Int32 &&
                 sparse_indices.size(0) == T && sparse_indices.size(1) == kTopK, "sparse_indices")) return;
  if (!check(output.rank == 3 && output.dtype == DType::BFloat16 && output.size(0) == T &&
                 output.size(1) == kHeads && output.size(2) == kDimCkv, "output")) return;
  if (!check(lse.rank == 2 && lse.dtype == DType::Float32 && lse.size(0) == T && lse.size(1) == kHeads, "lse")) return;
  if (T == 0) return;
  if (!check(T <= 65535, "num_tokens (grid.y limit 65535)")) return;

#if DSA_ATTN_IMPL == 1
  // Pass 1 per (slice of indices, token), pass 2 merges the slices per (head, token). The slice
  // size is the launch plan, chosen from T alone (no device synchronization).
  const bool small = T <= DSA_ATTN_SMALL_T;
  // Indices per pass-1 CTA for small and large calls, and the partials a token's slices leave.
  constexpr int kSmallRows = DSA_ATTN_PIPE ? DSA_ATTN_PIPE_ROWS_SMALL : 32;
  constexpr int kLargeRows = DSA_ATTN_PIPE ? DSA_ATTN_PIPE_ROWS : 64;
  constexpr int kCluster = DSA_ATTN_PIPE ? 1 : DSA_ATTN_CLUSTER;  // the cluster merge: unpipelined only
  const size_t parts = static_cast<size_t>(T) * kHeads *
                       (small ? split_kv::partials_per_token<kSmallRows, kCluster>() : split_kv::partials_per_token<kLargeRows, kCluster>());
  float* part = nullptr;
  AFG_CUDA_CHECK(afg::scratch_malloc(reinterpret_cast<void**>(&part), parts * (kDimCkv + 2) * sizeof(float), stream));
  const auto launch = [&](auto rows) {
    constexpr int kRows = decltype(rows)::value;
#if DSA_ATTN_PIPE
    return split_kv::launch_pipelined<kRows, DSA_ATTN_PIPE_STAGES, DSA_ATTN_PIPE_WARPS, DSA_ATTN_PIPE_QREGS != 0>(
#else
    return split_kv::launch<kRows, DSA_ATTN_WARPS, DSA_ATTN_CLUSTER>(
#endif
        T, q_nope.ptr<const __nv_bfloat16>(), q_pe.ptr<const __nv_bfloat16>(), ckv_cache.ptr<const __nv_bfloat16>(),
        kpe_cache.ptr<const __nv_bfloat16>(), sparse_indices.ptr<const int32_t>(), sm_scale, P * kPageSize, part,
        output.ptr<__nv_bfloat16>(), lse.ptr<float>(), stream);
  };
  const cudaError_t err = small ? launch(std::integral_constant<int, kSmallRows>{}) : launch(std::integral_constant<int, kLargeRows>{});
  AFG_CUDA_CHECK(cudaFreeAsync(part, stream));
  AFG_CUDA_CHECK(err);
#else
  const dim3 grid(kHeads, static_cast<unsigned>(T));
  dsa_sparse_attention_kernel<<<grid, kThreads, 0, stream>>>(
      q_nope.ptr<const __nv_bfloat16>(), q_pe.ptr<const __nv_bfloat16>(), ckv_cache.ptr<const __nv_bfloat16>(),
      kpe_cache.ptr<const __nv_bfloat16>(), sparse_indices.ptr<const int32_t>(), sm_scale, P * kPageSize,
      output.ptr<__nv_bfloat16>(), lse.ptr<float>());
  AFG_CUDA_CHECK(cudaGetLastError());
#endif
}
