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
// the other rows: u[v] = sum_k k[k]*old[v][k], S'[v][k] = old[v][k] + k[k]*beta*(v[v]-u[v]),
// out[v] = scale * sum_k q[k]*S'[v][k]. A warp owns ROWS rows; lane l holds k = 4l..4l+3 as one
// float4, so a row is one coalesced 512-byte access. All ROWS rows of a warp are loaded before
// any is used (ROWS x 16 bytes in flight per lane): the kernel is a pure stream of the state,
// 1 MiB read + 1 MiB written per sequence, and bandwidth needs many bytes in flight per SM.
// The two dot products are warp shuffle reductions; the gates are computed by every thread
// (a few special-function ops, nothing next to the 1 KiB of state each lane moves).
// Launch: one block per (b, h, group of WARPS*ROWS rows): grid B*8*(128/(WARPS*ROWS)), WARPS*32 threads.
//
// Measured (H200, 2026-11-25, L2 flushed, CUDA events; floor = 2 MiB*B / 4.2 TB/s):
//   baseline (one row at a time per warp): B=1 8.2 us, B=16 11.1 us (2.8x floor), B=64 25.7 us (1.6x)
//   this version: see NOTES.md beside this file.

#include "agentforge.h"
#include "afg_bulk.cuh"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

// Defaults: the tuner's champion over all 54 workloads (evolve on the H200, 2026-11-26, 2% faster
// geomean than WARPS=2 ROWS=8 through the full promotion gate; results/gpu/2026-11-26-h200-evolve-gdn-15min-budget).
// @tunable GDN_DECODE_WARPS: 1, 2, 4, 8 (default 4) when GDN_DECODE_PLAN=0
#ifndef GDN_DECODE_WARPS
#define GDN_DECODE_WARPS 4
#endif
// @tunable GDN_DECODE_ROWS: 1, 2, 4, 8, 16 (default 4) when GDN_DECODE_PLAN=0
#ifndef GDN_DECODE_ROWS
#define GDN_DECODE_ROWS 4
#endif
// @tunable GDN_DECODE_PERSISTENT: 0, 1 (default 0) when GDN_DECODE_PLAN=0
#ifndef GDN_DECODE_PERSISTENT
#define GDN_DECODE_PERSISTENT 0
#endif
// @tunable GDN_DECODE_PLAN: 0, 1 (default 1)
// 1: the shape is chosen per call from the batch size (the plan below); 0: WARPS / ROWS /
// STREAMING / PERSISTENT as set here for every batch. Measured on the H200 (results/gpu/
// 2026-11-26-h200-pending-checks): B=1 2.0 -> 2.1 us, B=16 5.7 -> 5.7, B=64 19.1 -> 18.3.
#ifndef GDN_DECODE_PLAN
#define GDN_DECODE_PLAN 1
#endif
// @tunable GDN_DECODE_STREAMING: 0, 1 (default 1) when GDN_DECODE_PLAN=0
#ifndef GDN_DECODE_STREAMING
#define GDN_DECODE_STREAMING 1
#endif
// @tunable GDN_DECODE_BULK: 0, 1 (default 0) when GDN_DECODE_PLAN=1
// 1: batches above GDN_DECODE_PLAN_SPLIT_B take gdn_decode_bulk_kernel: a CTA of 4 warps moves
// GDN_DECODE_BULK_ROWS whole state rows with one bulk copy in (cp.async.bulk on an mbarrier) and one
// bulk store out, the update done in shared memory. Why: at B=64 the 1-warp x 8-row kernel moves the
// state at ~91-93% of the 1 GiB copy rate, at parity with FLA (18.3 vs 18.2 us); the copy engine
// moves whole 16-32 KB blocks with no per-thread load or store instructions and no registers held
// per byte in flight. sm_90 and up (below, the row kernel). Predicted B=64 18.3 -> ~17.5 us. H200,
// session 10 (results/gpu/2026-11-26-h200-s10, call 1), against the default in one call: B=32 9.6 ->
// 10.1 / 9.6 / 10.0 us (32 / 16 / 64 rows), B=64 18.2 -> 19.2 / 18.9 / 18.8; 54/54 PASS. Slower: one
// bulk copy in flight per CTA keeps fewer bytes in flight per SM than the row kernel's loads, and
// the update waits for the whole block. Kept off for the tuner.
#ifndef GDN_DECODE_BULK
#define GDN_DECODE_BULK 0
#endif
// @tunable GDN_DECODE_BULK_ROWS: 16, 32, 64 (default 32) when GDN_DECODE_BULK=1
// State rows per bulk CTA (512 bytes each): 32 is 16 KB of shared memory, 13 CTAs per SM.
#ifndef GDN_DECODE_BULK_ROWS
#define GDN_DECODE_BULK_ROWS 32
#endif

namespace {

constexpr int kNumQKHeads = 4;
constexpr int kNumVHeads = 8;
constexpr int kHeadDim = 128;
constexpr int kWarps = GDN_DECODE_WARPS;
constexpr int kRowsPerWarp = GDN_DECODE_ROWS;
constexpr int kThreads = kWarps * 32;
constexpr int kRowsPerBlock = kWarps * kRowsPerWarp;
constexpr int kRowBlocks = kHeadDim / kRowsPerBlock;
static_assert(kHeadDim % kRowsPerBlock == 0, "rows per block must divide the head size");

__device__ __forceinline__ float softplus_torch(float x) {
  // torch.nn.functional.softplus with beta = 1, threshold = 20.
  return x > 20.0f ? x : log1pf(expf(x));
}

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// Streaming: each state row is read once and written once in a call, so the cache need not keep it.
template <bool Streaming>
__device__ __forceinline__ float4 load_row(const float4* p) {
  if constexpr (Streaming) return __ldcs(p);  // evict first
  else return *p;
}

template <bool Streaming>
__device__ __forceinline__ void store_row(float4* p, float4 value) {
  if constexpr (Streaming) __stcs(p, value);  // read by nobody in this call
  else *p = value;
}

// The gates of sequence b, value head h (bh = b * 8 + h): decay g and write strength beta.
struct Gates {
  float g, beta;
};
__device__ __forceinline__ Gates decode_gates(const float* A_log, const __nv_bfloat16* a, const float* dt_bias,
                                              const __nv_bfloat16* b_gate, int64_t bh, int h) {
  const float x = __bfloat162float(a[bh]) + dt_bias[h];
  return {expf(-expf(A_log[h]) * softplus_torch(x)), 1.0f / (1.0f + expf(-__bfloat162float(b_gate[bh])))};
}

// One state row's step, lane l holding k = 4l..4l+3 of row s: old = g s, u = k.old, and the new row
// old + k beta (v - u).
__device__ __forceinline__ float4 step_row(float4 s, const float (&kk)[4], Gates gates, float v) {
  const float4 old = make_float4(gates.g * s.x, gates.g * s.y, gates.g * s.z, gates.g * s.w);
  const float u = warp_sum(kk[0] * old.x + kk[1] * old.y + kk[2] * old.z + kk[3] * old.w);
  const float d = gates.beta * (v - u);
  return make_float4(old.x + kk[0] * d, old.y + kk[1] * d, old.z + kk[2] * d, old.w + kk[3] * d);
}
// q . row over the warp.
__device__ __forceinline__ float row_dot(const float (&qq)[4], float4 row) {
  return warp_sum(qq[0] * row.x + qq[1] * row.y + qq[2] * row.z + qq[3] * row.w);
}

// Four consecutive bf16 (8 bytes) as floats.
__device__ __forceinline__ void load_bf16x4(const __nv_bfloat16* p, float out[4]) {
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  const __nv_bfloat162 lo = *reinterpret_cast<const __nv_bfloat162*>(&raw.x);
  const __nv_bfloat162 hi = *reinterpret_cast<const __nv_bfloat162*>(&raw.y);
  const float2 flo = __bfloat1622float2(lo);
  const float2 fhi = __bfloat1622float2(hi);
  out[0] = flo.x;
  out[1] = flo.y;
  out[2] = fhi.x;
  out[3] = fhi.y;
}

// The kernel for one shape: Warps warps of Rows state rows per CTA, streaming or plain loads.
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

  const Gates gates = decode_gates(A_log, a, dt_bias, b_gate, bh, h);

#pragma unroll
  for (int r = 0; r < Rows; ++r) {
    const float4 next = step_row(s[r], kk, gates, vv[r]);
    store_row<Streaming>(reinterpret_cast<float4*>(new_state + row_base + static_cast<int64_t>(r) * kHeadDim) + lane, next);
    const float o = row_dot(qq, next);
    if (lane == r % 32) output[static_cast<int64_t>(bh) * kHeadDim + first_row + r] = __float2bfloat16(scale * o);
  }
}

// The bulk-copy shape (GDN_DECODE_BULK): a CTA of 4 warps per (b, h, group of Rows rows). Thread 0
// asks for the Rows x 512 contiguous bytes of state with one bulk copy while every thread loads its
// q, k, v and gates; each warp then updates Rows / 4 rows in shared memory (lane l holds k = 4l..4l+3)
// and, after a proxy fence and a barrier, thread 0 writes the block back with one bulk store.
template <int Rows>
__global__ void __launch_bounds__(128)
gdn_decode_bulk_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                       const __nv_bfloat16* __restrict__ v, const float* __restrict__ state,
                       const float* __restrict__ A_log, const __nv_bfloat16* __restrict__ a,
                       const float* __restrict__ dt_bias, const __nv_bfloat16* __restrict__ b_gate,
                       float scale, __nv_bfloat16* __restrict__ output, float* __restrict__ new_state) {
  static_assert(kHeadDim % Rows == 0 && Rows % 4 == 0, "rows per CTA must divide the head size over 4 warps");
  constexpr int kBlocksPerHead = kHeadDim / Rows;
  constexpr int kRowsPerWarpHere = Rows / 4;
  constexpr uint32_t kBytes = Rows * kHeadDim * sizeof(float);
  __shared__ __align__(128) float4 tile[Rows * (kHeadDim / 4)];
  __shared__ __align__(8) uint64_t landed;
  const int bh = blockIdx.x / kBlocksPerHead;  // b * 8 + h
  const int first_block_row = (blockIdx.x % kBlocksPerHead) * Rows;
  const int b = bh / kNumVHeads;
  const int h = bh % kNumVHeads;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int64_t row_base = (static_cast<int64_t>(bh) * kHeadDim + first_block_row) * kHeadDim;
  const bool has_state = state != nullptr;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  constexpr bool kBulk = false;  // no bulk copies below sm_90: plain loads and stores of the same cells
#else
  constexpr bool kBulk = true;
#endif
  if (kBulk && threadIdx.x == 0 && has_state) {
    afg::mbar_init(&landed, 1);
    afg::mbar_init_fence();
    afg::mbar_arrive_expect_tx(&landed, kBytes);
    afg::bulk_copy_to_smem(tile, state + row_base, kBytes, &landed);
  }

  const int64_t qk_off = (static_cast<int64_t>(b) * kNumQKHeads + h / (kNumVHeads / kNumQKHeads)) * kHeadDim;
  float kk[4];
  float qq[4];
  load_bf16x4(k + qk_off + 4 * lane, kk);
  load_bf16x4(q + qk_off + 4 * lane, qq);
  const int first_row = first_block_row + warp * kRowsPerWarpHere;
  float vv[kRowsPerWarpHere];
#pragma unroll
  for (int r = 0; r < kRowsPerWarpHere; ++r) vv[r] = __bfloat162float(v[static_cast<int64_t>(bh) * kHeadDim + first_row + r]);
  const Gates gates = decode_gates(A_log, a, dt_bias, b_gate, bh, h);

  // Thread 0 initialized the barrier before any thread waits on it: the barrier below orders that.
  __syncthreads();
  if (kBulk && has_state) afg::mbar_wait(&landed, 0);
#pragma unroll
  for (int r = 0; r < kRowsPerWarpHere; ++r) {
    const int cell_index = (warp * kRowsPerWarpHere + r) * (kHeadDim / 4) + lane;
    float4& cell = tile[cell_index];
    if (!kBulk && has_state) cell = reinterpret_cast<const float4*>(state + row_base)[cell_index];
    const float4 s = has_state ? cell : make_float4(0.f, 0.f, 0.f, 0.f);
    const float4 next = step_row(s, kk, gates, vv[r]);
    cell = next;
    const float o = row_dot(qq, next);
    if (lane == r % 32) output[static_cast<int64_t>(bh) * kHeadDim + first_row + r] = __float2bfloat16(scale * o);
  }
  if (!kBulk) {
#pragma unroll
    for (int r = 0; r < kRowsPerWarpHere; ++r) {
      const int cell_index = (warp * kRowsPerWarpHere + r) * (kHeadDim / 4) + lane;
      reinterpret_cast<float4*>(new_state + row_base)[cell_index] = tile[cell_index];
    }
    return;
  }
  afg::fence_smem_for_bulk();
  __syncthreads();
  if (threadIdx.x == 0) afg::bulk_store_and_wait(new_state + row_base, tile, kBytes);
}

// A shape of gdn_decode_rows_kernel as a type, for run()'s launch_shape.
template <int Warps, int Rows, bool Streaming>
struct Shape {
  static constexpr int kWarps = Warps, kRows = Rows;
  static constexpr bool kStreaming = Streaming;
};

// One launch of the shape <Warps, Rows, Streaming> for B sequences.
template <int Warps, int Rows, bool Streaming>
void launch_rows(int64_t B, const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, const float* state,
                 const float* A_log, const __nv_bfloat16* a, const float* dt_bias, const __nv_bfloat16* b_gate,
                 float scale, __nv_bfloat16* output, float* new_state, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(B * kNumVHeads * (kHeadDim / (Warps * Rows))));
  gdn_decode_rows_kernel<Warps, Rows, Streaming><<<grid, Warps * 32, 0, stream>>>(
      q, k, v, state, A_log, a, dt_bias, b_gate, scale, output, new_state);
}

// Persistent variant: a grid that fills the GPU once; each warp walks units of ROWS rows with a
// grid stride and loads the next unit's state while it computes the current one, so the memory
// system never waits for a block to retire and a new one to start.
__global__ void __launch_bounds__(kThreads)
gdn_decode_persistent_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                             const __nv_bfloat16* __restrict__ v, const float* __restrict__ state,
                             const float* __restrict__ A_log, const __nv_bfloat16* __restrict__ a,
                             const float* __restrict__ dt_bias, const __nv_bfloat16* __restrict__ b_gate,
                             float scale, __nv_bfloat16* __restrict__ output, float* __restrict__ new_state,
                             int64_t units) {
  constexpr int kUnitsPerHead = kHeadDim / kRowsPerWarp;
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarps;
  int64_t unit = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);

  float4 s[kRowsPerWarp];
  auto load = [&](int64_t u, float4 (&dst)[kRowsPerWarp]) {
    const int64_t row_base = u * kRowsPerWarp * kHeadDim;  // units are laid out row-major over (b, h, v)
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      dst[r] = state != nullptr
                   ? load_row<GDN_DECODE_STREAMING != 0>(reinterpret_cast<const float4*>(state + row_base + static_cast<int64_t>(r) * kHeadDim) + lane)
                   : make_float4(0.f, 0.f, 0.f, 0.f);
    }
  };
  if (unit < units) load(unit, s);
  for (; unit < units; unit += warps) {
    float4 next_s[kRowsPerWarp];
    const int64_t next_unit = unit + warps;
    if (next_unit < units) load(next_unit, next_s);

    const int64_t bh = unit / kUnitsPerHead;
    const int first_row = static_cast<int>(unit % kUnitsPerHead) * kRowsPerWarp;
    const int b = static_cast<int>(bh / kNumVHeads);
    const int h = static_cast<int>(bh % kNumVHeads);
    const int64_t qk_off = (static_cast<int64_t>(b) * kNumQKHeads + h / (kNumVHeads / kNumQKHeads)) * kHeadDim;
    float kk[4];
    float qq[4];
    load_bf16x4(k + qk_off + 4 * lane, kk);
    load_bf16x4(q + qk_off + 4 * lane, qq);
    const Gates gates = decode_gates(A_log, a, dt_bias, b_gate, bh, h);
    const int64_t row_base = unit * kRowsPerWarp * kHeadDim;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const float vv = __bfloat162float(v[bh * kHeadDim + first_row + r]);
      const float4 nxt = step_row(s[r], kk, gates, vv);
      store_row<GDN_DECODE_STREAMING != 0>(reinterpret_cast<float4*>(new_state + row_base + static_cast<int64_t>(r) * kHeadDim) + lane, nxt);
      const float o = row_dot(qq, nxt);
      if (lane == r % 32) output[bh * kHeadDim + first_row + r] = __float2bfloat16(scale * o);
    }
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) s[r] = next_s[r];
  }
}

// A launch plan per batch size (GDN_DECODE_PLAN=1): the tuner's champions differ by batch band
// (evolve on the H200, 2026-11-26): small batches want 4 warps x 4 rows per CTA with streaming
// loads (the all-workload default), batches above 16 want 1 warp x 8 rows with plain loads (1.04x
// in that band), where the default is 2-5% behind FLA. Both shapes are instances of
// gdn_decode_rows_kernel; the host picks one per call from B alone.
// @tunable GDN_DECODE_PLAN_SPLIT_B: 8, 16, 32 (default 16) when GDN_DECODE_PLAN=1
// Batches up to this size take the small-batch shape.
#ifndef GDN_DECODE_PLAN_SPLIT_B
#define GDN_DECODE_PLAN_SPLIT_B 16
#endif

// @tunable GDN_DECODE_PLAN_TINY_B: 0, 4, 8 (default 8) when GDN_DECODE_PLAN=1
// Batches from 2 up to this size (0: none) take 8 warps x 2 rows with plain loads: the same 16 rows a
// CTA as the small-batch shape, twice the warps, so twice the rows' loads in flight per CTA where the
// grid is only B x 64 CTAs. Why: the H100 (session 33, call 7, one round) ran that shape at B=4 / 8 in
// 3.3 / 4.6 us against 3.5 / 4.8 with the plan, and slower from B=16 (7.9 against 7.5). Measured on the
// H100 three times since (session 33 call 8, session 34 calls 1 and 6, two rounds each): B=4 3.5 ->
// 3.3-3.4, B=8 4.9 -> 4.6, B=16 even, B=1 2.2 -> 2.3 (hence from B=2: a single sequence keeps the
// streaming shape); 54/54. The default since session 34; the H200 has not run it (no H200 came in
// sessions 33-34): scripts/device/pending-checks.sh keeps the check against 0 for the first one.
#ifndef GDN_DECODE_PLAN_TINY_B
#define GDN_DECODE_PLAN_TINY_B 8
#endif

bool check(bool ok, const char* what) { return afg::expect(ok, "gdn_decode_qk4_v8_d128_k_last", what); }

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
  if (!check(B * kNumVHeads * kRowBlocks <= 0x7fffffffLL, "batch size (grid too large)")) return;

  if (scale == 0.0f) scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(kHeadDim)));

  // One launch of gdn_decode_rows_kernel in the shape S (warps, rows, streaming) on this call's tensors.
  [[maybe_unused]] const auto launch_shape = [&](auto shape) {
    using S = decltype(shape);
    launch_rows<S::kWarps, S::kRows, S::kStreaming>(
        B, q.ptr<const __nv_bfloat16>(), k.ptr<const __nv_bfloat16>(), v.ptr<const __nv_bfloat16>(),
        state.present() ? state.ptr<const float>() : nullptr, A_log.ptr<const float>(), a.ptr<const __nv_bfloat16>(),
        dt_bias.ptr<const float>(), b.ptr<const __nv_bfloat16>(), scale, output.ptr<__nv_bfloat16>(), new_state.ptr<float>(),
        stream);
  };

#if GDN_DECODE_PLAN == 1
  // Tiny batches (2 <= B <= GDN_DECODE_PLAN_TINY_B): 8 warps x 2 rows, plain loads; small (B = 1 too):
  // 4 warps x 4 rows, streaming loads; larger: 1 warp x 8 rows, plain loads.
  if (B >= 2 && B <= GDN_DECODE_PLAN_TINY_B) {
    launch_shape(Shape<8, 2, false>{});
  } else if (B <= GDN_DECODE_PLAN_SPLIT_B) {
    launch_shape(Shape<4, 4, true>{});
  } else if (GDN_DECODE_BULK) {
#if defined(GDN_DECODE_BULK) && GDN_DECODE_BULK
    constexpr int kBulkRows = GDN_DECODE_BULK_ROWS;
    gdn_decode_bulk_kernel<kBulkRows><<<static_cast<unsigned>(B * kNumVHeads * (kHeadDim / kBulkRows)), 128, 0, stream>>>(
        q.ptr<const __nv_bfloat16>(), k.ptr<const __nv_bfloat16>(), v.ptr<const __nv_bfloat16>(),
        state.present() ? state.ptr<const float>() : nullptr, A_log.ptr<const float>(), a.ptr<const __nv_bfloat16>(),
        dt_bias.ptr<const float>(), b.ptr<const __nv_bfloat16>(), scale, output.ptr<__nv_bfloat16>(), new_state.ptr<float>());
#endif
  } else {
    launch_shape(Shape<1, 8, false>{});
  }
#elif GDN_DECODE_PERSISTENT
  static int resident_blocks = 0;  // blocks the whole GPU holds at once; asked once per process
  if (resident_blocks == 0) {
    int device = 0, sms = 0, per_sm = 0;
    AFG_CUDA_CHECK(cudaGetDevice(&device));
    AFG_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    AFG_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, gdn_decode_persistent_kernel, kThreads, 0));
    resident_blocks = sms * (per_sm > 0 ? per_sm : 1);
  }
  const int64_t units = B * kNumVHeads * (kHeadDim / kRowsPerWarp);
  const int64_t needed = (units + kWarps - 1) / kWarps;
  const unsigned blocks = static_cast<unsigned>(needed < resident_blocks ? needed : resident_blocks);
  gdn_decode_persistent_kernel<<<blocks, kThreads, 0, stream>>>(
      q.ptr<const __nv_bfloat16>(), k.ptr<const __nv_bfloat16>(), v.ptr<const __nv_bfloat16>(),
      state.present() ? state.ptr<const float>() : nullptr, A_log.ptr<const float>(),
      a.ptr<const __nv_bfloat16>(), dt_bias.ptr<const float>(), b.ptr<const __nv_bfloat16>(), scale,
      output.ptr<__nv_bfloat16>(), new_state.ptr<float>(), units);
#else
  launch_shape(Shape<kWarps, kRowsPerWarp, GDN_DECODE_STREAMING != 0>{});
#endif
  AFG_CUDA_CHECK(cudaGetLastError());
}
