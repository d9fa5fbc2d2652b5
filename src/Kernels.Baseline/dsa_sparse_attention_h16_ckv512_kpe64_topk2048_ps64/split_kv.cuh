// split_kv.cuh: sparse MLA attention split over the 2048 indices (DSA_ATTN_IMPL=1).
//
// Why: the baseline runs one CTA per (head, token), so one token is 16 CTAs that each gather all
// 2048 rows (2.4 MB) on CUDA cores: ~0.3 ms where the bytes need ~1 us. Here every CTA takes one
// slice of kSplit indices of one token for all 16 heads at once (each gathered row is read once per
// token, and 16 heads are exactly the m16 of a tensor-core tile):
//   pass 1, split_attention_kernel<kSplit, kWarps>, grid (2048 / kSplit, T), kWarps warps:
//     gather the slice's ckv+kpe rows and the token's 16 query rows into shared memory (16-byte
//     cp.async, rows by warp and pieces by lane; padding rows are zero-filled, never loaded),
//     S = Q K^T on mma.sync (bf16, fp32 accumulate, K = 576 split over warps when there are more
//     warps than n8 tiles, two accumulators per warp), S to shared memory, softmax statistics a
//     lane per index: base-2 logits, the slice's row max m and sum l, P = 2^(S - m) in bf16,
//     O = P Kc (K = kSplit, N = 512 over the warps), written unnormalized in fp32 with m and l.
//   pass 2, merge_kernel<kSplits>, grid (16, T, 4 column chunks), a programmatic dependent of
//     pass 1 (its CTAs are resident and waiting while pass 1 runs): M = max m, L = sum l 2^(m - M),
//     out = sum O 2^(m - M) / L, lse = M + log2 L (base 2 already); a row without a valid index
//     gives 0 and -inf. A warp per four slices, a lane per four columns (four loads in flight),
//     warps added in shared memory. v2 had a CTA per (head, token): 16 CTAs pulling 2 MB of fp32
//     partials at 1 token, 3.9 us in ncu at real clocks; the chunks make it 64 CTAs.
// kSplit (indices per CTA) is chosen per call on the host (kernel.cu): 32 for the 1-2 token bands
// (64 CTAs per token instead of 32), 64 above (T x 32 CTAs already fill the GPU; 32 there doubles
// the partials: 6 tokens 13.0 -> 15.3 us on the H200). v2 (4 warps, one mma chain of 36 steps per
// warp, division in every load address) ran at 6% of warp slots and 18% issue with one CTA per SM
// at 1 token: a latency-bound instruction stream; v3 has 8 warps and half-length chains.
// Workspace (cudaMallocAsync): T x splits x 16 x (512 + 2) floats.
// Since session 11 the default pass 1 is pipelined_attention_kernel (DSA_ATTN_PIPE, below): the same
// products on blocks of 32 rows with an online softmax, so a CTA can take 128 rows (4 blocks, the
// next blocks' copies in flight) and write one partial; split_attention_kernel stays for
// DSA_ATTN_PIPE=0 and the cluster merge.
#pragma once

// Included inside kernel.cu's anonymous namespace: its system headers (cooperative_groups.h for
// the cluster merge) are included at the top of kernel.cu, outside any namespace.

namespace split_kv {

constexpr int kDimQk = kDimCkv + kDimKpe;  // 576
constexpr int kLdRow = kDimQk + 8;         // bf16 row stride: 1168 bytes, rows 4 banks apart
constexpr int kPiecesPerRow = kDimQk / 8;  // 16-byte pieces of a [ckv | kpe] or query row (72)
constexpr float kLog2e = 1.4426950408889634f;

// Warp roles for kSplit indices and kWarps warps: S = Q K^T is kSplit / 8 n8 tiles of indices; with
// more warps than tiles the 576-long K dimension is split in kKParts parts (partial S summed in
// shared memory), so every warp has work and each warp's mma chain is shorter.
template <int kSplit, int kWarps>
struct SplitShape {
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kTiles = kSplit / 8;
  static constexpr int kKParts = kWarps > kTiles ? kWarps / kTiles : 1;
  static constexpr int kTilesPerWarp = kTiles * kKParts / kWarps;
  static constexpr int kKSteps = kDimQk / 16 / kKParts;  // k16 steps per warp (36, 18 or 9)
  static constexpr int kDimsPerWarp = kDimCkv / kWarps;  // output columns per warp in O = P Kc
  static constexpr int kLdP = kSplit + 8;
  static_assert(kTilesPerWarp == 1 || kTilesPerWarp % 2 == 0, "one n8 tile or pairs of them per warp");
  static_assert(kKSteps * kKParts * 16 == kDimQk, "whole k16 steps per K part");
  static_assert(kSplit % 32 == 0 && kHeads % kWarps == 0, "softmax: a lane per index, whole heads per warp");
};

template <int kSplit, int kWarps>
struct SplitSmem {
  using Shape = SplitShape<kSplit, kWarps>;
  __nv_bfloat16 q[kHeads * kLdRow];               // [head][q_nope | q_pe]
  __nv_bfloat16 k[kSplit * kLdRow];               // [index][ckv | kpe]
  __nv_bfloat16 p[kHeads * Shape::kLdP];          // 2^(S - m), bf16
  float s[Shape::kKParts][kHeads][kSplit];        // raw Q K^T, one slab per K part
  int idx[kSplit];
  float m[kHeads], l[kHeads];                     // slice row max (base 2) and sum
};
template <int kSplit, int kWarps>
constexpr int split_smem_bytes() { return static_cast<int>(sizeof(SplitSmem<kSplit, kWarps>)); }


// DSA_ATTN_DIAG_CTA_TIMES: per-CTA phase marks (ns, %globaltimer). Pass-1 CTA (x + y * gridDim.x):
// 0 start, 1 indices in shared memory, 2 block 0 landed, 3 products done, 4 partial stored, 5 block
// 0's S in shared memory, 6 block 0's P in shared memory; its SM.
// Merge CTA (x + gridDim.x * (y + gridDim.y * z)): 0 start, 1 past its programmatic wait, 2
// partials in registers, 3 output stored.
constexpr int kDiagMarks = 7;
constexpr int kDiagCtas = 1 << 14;
#if DSA_ATTN_DIAG_CTA_TIMES
__device__ unsigned long long g_diag_pass1[kDiagCtas][kDiagMarks];
__device__ unsigned g_diag_pass1_sm[kDiagCtas];
__device__ unsigned long long g_diag_merge[kDiagCtas][kDiagMarks];
#endif
// Thread 0 writes mark `mark` of this CTA once `after` exists (the timer read depends on it, so a
// mark placed after a load's first use is not hoisted above the load).
template <bool kMerge>
__device__ __forceinline__ void diag_mark(int mark, uint32_t after = 0u) {
#if DSA_ATTN_DIAG_CTA_TIMES
  if (threadIdx.x != 0) return;
  const unsigned long long now = afg::globaltimer_after(after);
  const unsigned cta = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  if (cta >= kDiagCtas) return;
  if constexpr (kMerge) {
    g_diag_merge[cta][mark] = now;
  } else {
    g_diag_pass1[cta][mark] = now;
    if (mark == 0) g_diag_pass1_sm[cta] = afg::sm_id();
  }
#else
  (void)mark;
  (void)after;
#endif
}

// The mma / ldmatrix / cp.async wrappers are afg_mma.cuh's (included at the top of kernel.cu).
using afg::cp_async16;
using afg::ldmatrix_x2;
using afg::ldmatrix_x4;
using afg::ldmatrix_x4_trans;
using afg::mma_bf16;
using afg::smem_addr;

// A fragment (16x16) of a row-major [m][k] bf16 tile at (0, k0).
__device__ __forceinline__ void load_a(uint32_t r[4], const __nv_bfloat16* base, int ld, int k0, int lane) {
  ldmatrix_x4(r, base + (lane & 15) * ld + k0 + (lane >> 4) * 8);
}
// B fragments of two n8 tiles (n0, n0 + 8), k16 at k0, of B = Y^T with Y row-major [n][k].
__device__ __forceinline__ void load_b_rows(uint32_t r[4], const __nv_bfloat16* y, int ld, int n0, int k0, int lane) {
  ldmatrix_x4(r, y + (n0 + (lane & 7) + (lane >> 4) * 8) * ld + k0 + ((lane >> 3) & 1) * 8);
}
// B fragments of one n8 tile (n0), k16 at k0, of B = Y^T (lanes 0-15 give the addresses).
__device__ __forceinline__ void load_b_rows_one(uint32_t r[2], const __nv_bfloat16* y, int ld, int n0, int k0, int lane) {
  ldmatrix_x2(r, y + (n0 + (lane & 7)) * ld + k0 + ((lane >> 3) & 1) * 8);
}
// B fragments of two n8 tiles of a row-major [k][n] tile.
__device__ __forceinline__ void load_b_cols(uint32_t r[4], const __nv_bfloat16* x, int ld, int n0, int k0, int lane) {
  ldmatrix_x4_trans(r, x + (k0 + (lane & 7) + ((lane >> 3) & 1) * 8) * ld + n0 + (lane >> 4) * 8);
}

// A slice of token t's indices, sparse_indices[t][first .. first + n), into idx (a thread per
// index, the first n threads); out-of-range ones become -1 (padding).
__device__ __forceinline__ void load_slice_indices(int* idx, const int32_t* sparse_indices, int64_t t, int first, int n,
                                                   int64_t num_cache_tokens, int tid) {
  if (tid < n) {
    const int raw = sparse_indices[t * kTopK + first + tid];
    idx[tid] = raw >= 0 && static_cast<int64_t>(raw) < num_cache_tokens ? raw : -1;
  }
}

// 16-byte cp.async of [q_nope | q_pe] of token t's 16 heads into q ([16][kLdRow]): rows by warp,
// pieces by lane (no division in the address arithmetic).
template <int kWarps>
__device__ __forceinline__ void load_query_rows(__nv_bfloat16* q, const __nv_bfloat16* q_nope, const __nv_bfloat16* q_pe,
                                                int64_t t, int warp, int lane) {
  for (int r = warp; r < kHeads; r += kWarps) {
    const __nv_bfloat16* qn = q_nope + (t * kHeads + r) * kDimCkv;
    const __nv_bfloat16* qp = q_pe + (t * kHeads + r) * kDimKpe;
    for (int c = lane; c < kPiecesPerRow; c += 32) {
      const int col = c * 8;
      cp_async16(q + r * kLdRow + col, col < kDimCkv ? qn + col : qp + (col - kDimCkv), 16);
    }
  }
}

// 16-byte cp.async of the [ckv | kpe] rows idx[0 .. n) into dst ([n][kLdRow]): rows by warp, pieces by
// lane; padding rows (idx -1) are zero-filled without a load.
template <int kWarps>
__device__ __forceinline__ void gather_rows(__nv_bfloat16* dst, const int* idx, int n, const __nv_bfloat16* ckv,
                                            const __nv_bfloat16* kpe, int warp, int lane) {
  for (int r = warp; r < n; r += kWarps) {
    const int id = idx[r];
    const int64_t row = id >= 0 ? id : 0;
    const __nv_bfloat16* ck = ckv + row * kDimCkv;
    const __nv_bfloat16* kp = kpe + row * kDimKpe;
    for (int c = lane; c < kPiecesPerRow; c += 32) {
      const int col = c * 8;
      cp_async16(dst + r * kLdRow + col, col < kDimCkv ? ck + col : kp + (col - kDimCkv), id >= 0 ? 16 : 0);
    }
  }
}

// A warp's O accumulators (16 heads x kNT n8 tiles of columns from d0) into the rows `rows`
// ([16][ld], head-major) as PartT (fp32, or bf16 with DSA_ATTN_PARTIAL_BF16): rows g and g + 8 of
// each tile. ld is kDimCkv for partials in global memory, staged_ld for the staging tile.
template <typename PartT, int kNT>
__device__ __forceinline__ void store_o_rows(PartT* rows, int ld, const float (&o)[kNT][4], int d0, int lane) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int nt = 0; nt < kNT; ++nt) {
    const int d = d0 + nt * 8 + 2 * tq;
    if constexpr (std::is_same_v<PartT, float>) {
      *reinterpret_cast<float2*>(rows + g * ld + d) = make_float2(o[nt][0], o[nt][1]);
      *reinterpret_cast<float2*>(rows + (g + 8) * ld + d) = make_float2(o[nt][2], o[nt][3]);
    } else {
      *reinterpret_cast<__nv_bfloat162*>(rows + g * ld + d) = __floats2bfloat162_rn(o[nt][0], o[nt][1]);
      *reinterpret_cast<__nv_bfloat162*>(rows + (g + 8) * ld + d) = __floats2bfloat162_rn(o[nt][2], o[nt][3]);
    }
  }
}

// DSA_ATTN_STAGED_STORE: the O accumulators into a [16][512] staging tile in shared memory (rows
// padded by 32 bytes, so a fragment store meets at most two lanes per bank, store_o_rows), then
// the CTA copies the tile out in 16-byte pieces, consecutive threads on consecutive pieces.
template <typename PartT>
__host__ __device__ constexpr int staged_ld() { return kDimCkv + 32 / static_cast<int>(sizeof(PartT)); }
template <int kThreads, typename PartT>
__device__ __forceinline__ void copy_staged_rows_out(PartT* rows, const PartT* stage, int tid) {
  constexpr int kLd = staged_ld<PartT>();
  constexpr int kVec = 16 / static_cast<int>(sizeof(PartT));  // elements per 16-byte piece
  constexpr int kPiecesPerRow = kDimCkv / kVec;
  static_assert(kHeads * kPiecesPerRow % kThreads == 0, "whole pieces per thread");
#pragma unroll
  for (int v = tid; v < kHeads * kPiecesPerRow; v += kThreads) {
    const int r = v / kPiecesPerRow, c = (v % kPiecesPerRow) * kVec;
    *reinterpret_cast<uint4*>(rows + r * kDimCkv + c) = *reinterpret_cast<const uint4*>(stage + r * kLd + c);
  }
}

// S = Q K^T of kSplit gathered rows (raw, unscaled) into s[kKParts][16][kSplit]: this warp's n8
// tiles over its part of the 576-long K, two accumulators (even / odd k steps). k is the
// [kSplit][kLdRow] gathered rows in shared memory; q_frag(af, step, k0) gives the query's A fragment
// of this warp's k16 step `step` (column k0): from shared memory (qk_to_smem) or from registers
// loaded once per CTA (the pipelined kernel; kUnrollAll then unrolls every step so that the
// fragments' indices are constants).
template <int kSplit, int kWarps, bool kUnrollAll, typename QFrag>
__device__ __forceinline__ void qk_frags_to_smem(QFrag&& q_frag, const __nv_bfloat16* k, float (*s_out)[kHeads][kSplit],
                                                 int warp, int lane) {
  using Shape = SplitShape<kSplit, kWarps>;
  const int g = lane >> 2, tq = lane & 3;
  constexpr int kNT = Shape::kTilesPerWarp;
  const int n0 = (warp % (kWarps / Shape::kKParts)) * kNT * 8;
  const int kpart = warp / (kWarps / Shape::kKParts);
  float s[2][kNT][4];
#pragma unroll
  for (int a = 0; a < 2; ++a)
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt) s[a][nt][0] = s[a][nt][1] = s[a][nt][2] = s[a][nt][3] = 0.f;
  const int kbase = kpart * Shape::kKSteps * 16;
  const auto k_step = [&](float (&acc)[kNT][4], int step) {
    const int k0 = kbase + step * 16;
    uint32_t af[4];
    q_frag(af, step, k0);
    if constexpr (kNT == 1) {
      uint32_t bf[2];
      load_b_rows_one(bf, k, kLdRow, n0, k0, lane);
      mma_bf16(acc[0], af, bf[0], bf[1]);
    } else {
#pragma unroll
      for (int nt = 0; nt < kNT; nt += 2) {
        uint32_t bf[4];
        load_b_rows(bf, k, kLdRow, n0 + nt * 8, k0, lane);
        mma_bf16(acc[nt], af, bf[0], bf[1]);
        mma_bf16(acc[nt + 1], af, bf[2], bf[3]);
      }
    }
  };
  constexpr int kPairs = Shape::kKSteps / 2;
  if constexpr (kUnrollAll) {
#pragma unroll
    for (int ks = 0; ks < 2 * kPairs; ks += 2) {
      k_step(s[0], ks);
      k_step(s[1], ks + 1);
    }
  } else {
#pragma unroll 2
    for (int ks = 0; ks < 2 * kPairs; ks += 2) {
      k_step(s[0], ks);
      k_step(s[1], ks + 1);
    }
  }
  if constexpr (Shape::kKSteps % 2 == 1) k_step(s[0], Shape::kKSteps - 1);
#pragma unroll
  for (int nt = 0; nt < kNT; ++nt) {
    const int n = n0 + nt * 8 + 2 * tq;
    s_out[kpart][g][n] = s[0][nt][0] + s[1][nt][0];
    s_out[kpart][g][n + 1] = s[0][nt][1] + s[1][nt][1];
    s_out[kpart][g + 8][n] = s[0][nt][2] + s[1][nt][2];
    s_out[kpart][g + 8][n + 1] = s[0][nt][3] + s[1][nt][3];
  }
}
// The same with the query tile q ([16][kLdRow]) in shared memory.
template <int kSplit, int kWarps>
__device__ __forceinline__ void qk_to_smem(const __nv_bfloat16* q, const __nv_bfloat16* k, float (*s_out)[kHeads][kSplit],
                                           int warp, int lane) {
  qk_frags_to_smem<kSplit, kWarps, false>([&](uint32_t (&af)[4], int, int k0) { load_a(af, q, kLdRow, k0, lane); }, k,
                                          s_out, warp, lane);
}

// O += P Kc for this warp's kDimCkv / kWarps output columns: p is [16][kLdP] bf16, k the
// [kSplit][kLdRow] gathered rows (their first 512 columns).
template <int kSplit, int kWarps>
__device__ __forceinline__ void pv_accumulate(float (&o)[SplitShape<kSplit, kWarps>::kDimsPerWarp / 8][4],
                                              const __nv_bfloat16* p, const __nv_bfloat16* k, int warp, int lane) {
  using Shape = SplitShape<kSplit, kWarps>;
  constexpr int kDims = Shape::kDimsPerWarp;
  const int d0 = warp * kDims;
#pragma unroll
  for (int k0 = 0; k0 < kSplit; k0 += 16) {
    uint32_t af[4];
    load_a(af, p, Shape::kLdP, k0, lane);
#pragma unroll
    for (int nt = 0; nt < kDims / 8; nt += 2) {
      uint32_t bf[4];
      load_b_cols(bf, k, kLdRow, d0 + nt * 8, k0, lane);
      mma_bf16(o[nt], af, bf[0], bf[1]);
      mma_bf16(o[nt + 1], af, bf[2], bf[3]);
    }
  }
}

// kCluster > 1 (DSA_ATTN_CLUSTER): the CTAs of a thread block cluster (kCluster consecutive slices
// of one token) merge their slices through distributed shared memory before anything reaches
// global memory, so pass 1 writes kSplits / kCluster partials per token instead of kSplits (at 1
// token 8 instead of 64: 256 KB instead of 2 MB for the merge to read).
template <int kSplit, int kWarps, int kCluster>
__global__ void __launch_bounds__(kWarps * 32)
split_attention_kernel(const __nv_bfloat16* __restrict__ q_nope, const __nv_bfloat16* __restrict__ q_pe,
                       const __nv_bfloat16* __restrict__ ckv, const __nv_bfloat16* __restrict__ kpe,
                       const int32_t* __restrict__ sparse_indices, float sm_scale, int64_t num_cache_tokens,
                       float* __restrict__ part_o, float* __restrict__ part_ml) {
  using Shape = SplitShape<kSplit, kWarps>;
  constexpr int kSplits = kTopK / kSplit;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  SplitSmem<kSplit, kWarps>& sm = *reinterpret_cast<SplitSmem<kSplit, kWarps>*>(smem_raw);
  afg::pdl_launch_dependents();  // the merge's CTAs may take free SMs now; they wait for this grid's end
  const int split = blockIdx.x;
  const int64_t t = blockIdx.y;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;

  load_slice_indices(sm.idx, sparse_indices, t, split * kSplit, kSplit, num_cache_tokens, tid);
  load_query_rows<kWarps>(sm.q, q_nope, q_pe, t, warp, lane);  // query rows first
  __syncthreads();  // idx
  gather_rows<kWarps>(sm.k, sm.idx, kSplit, ckv, kpe, warp, lane);
  asm volatile("cp.async.wait_all;\n" ::: "memory");
  __syncthreads();

  qk_to_smem<kSplit, kWarps>(sm.q, sm.k, sm.s, warp, lane);
  __syncthreads();

  // --- Softmax statistics per head (a lane per index): base-2 logits, padding -> -inf ------------
  const float scale2 = sm_scale * kLog2e;
  for (int h = warp; h < kHeads; h += kWarps) {
    float x[kSplit / 32];
    float mx = -INFINITY;
#pragma unroll
    for (int j = 0; j < kSplit / 32; ++j) {
      const int n = lane + 32 * j;
      float v = sm.s[0][h][n];
#pragma unroll
      for (int p = 1; p < Shape::kKParts; ++p) v += sm.s[p][h][n];
      x[j] = sm.idx[n] >= 0 ? v * scale2 : -INFINITY;
      mx = fmaxf(mx, x[j]);
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    float l = 0.f;
#pragma unroll
    for (int j = 0; j < kSplit / 32; ++j) {
      const float p = mx == -INFINITY ? 0.f : exp2f(x[j] - mx);  // 0 for padding and an empty slice
      l += p;
      sm.p[h * Shape::kLdP + lane + 32 * j] = __float2bfloat16_rn(p);
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) l += __shfl_xor_sync(0xffffffffu, l, off);
    if (lane == 0) {
      sm.m[h] = mx;
      sm.l[h] = l;
    }
  }
  __syncthreads();  // P, m, l

  // --- O = P Kc for this warp's output columns --------------------------------------------------
  constexpr int kDims = Shape::kDimsPerWarp;
  const int d0 = warp * kDims;
  float o[kDims / 8][4];
#pragma unroll
  for (int nt = 0; nt < kDims / 8; ++nt) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.f;
  pv_accumulate<kSplit, kWarps>(o, sm.p, sm.k, warp, lane);
  if constexpr (kCluster == 1) {
    const int64_t base = (t * kSplits + split) * kHeads;
    store_o_rows(part_o + base * kDimCkv, kDimCkv, o, d0, lane);
    if (tid < kHeads) {
      part_ml[(base + tid) * 2] = sm.m[tid];
      part_ml[(base + tid) * 2 + 1] = sm.l[tid];
    }
  } else {
    // --- Cluster merge: this CTA's O [16][512] fp32 over its gathered rows (no longer read once
    // every warp is past O = P Kc), then rank r merges columns [r, r + 1) x 512 / kCluster of every
    // slice of the cluster, read from the other CTAs' shared memory.
    namespace cg = cooperative_groups;
    static_assert(kSplits % kCluster == 0 && kDimCkv % (4 * kCluster) == 0, "whole clusters, whole column quads per rank");
    static_assert(sizeof(sm.k) >= sizeof(float) * kHeads * kDimCkv, "O must fit over the gathered rows");
    constexpr int kGroups = kSplits / kCluster;            // partials per token
    constexpr int kQuads = kDimCkv / kCluster / 4;         // column quads per rank and head
    cg::cluster_group cluster = cg::this_cluster();
    float* s_o = reinterpret_cast<float*>(sm.k);
    __syncthreads();  // every warp is done with the gathered rows
    store_o_rows(s_o, kDimCkv, o, d0, lane);
    cluster.sync();  // every CTA's O, m and l visible to the cluster
    const int rank = static_cast<int>(cluster.block_rank());
    const int64_t base = (t * kGroups + split / kCluster) * kHeads;
    for (int e = tid; e < kHeads * kQuads; e += Shape::kThreads) {
      const int h = e / kQuads;
      const int col = rank * (kDimCkv / kCluster) + (e % kQuads) * 4;
      float mc[kCluster];
      float mx = -INFINITY;
#pragma unroll
      for (int c = 0; c < kCluster; ++c) {
        mc[c] = cluster.map_shared_rank(&sm, c)->m[h];
        mx = fmaxf(mx, mc[c]);
      }
      float sum = 0.f;
      float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
      for (int c = 0; c < kCluster; ++c) {
        const float w = mx == -INFINITY ? 0.f : exp2f(mc[c] - mx);  // 0 for an empty slice
        sum += w * cluster.map_shared_rank(&sm, c)->l[h];
        const float4 x = *reinterpret_cast<const float4*>(cluster.map_shared_rank(s_o, c) + h * kDimCkv + col);
        acc.x += w * x.x;
        acc.y += w * x.y;
        acc.z += w * x.z;
        acc.w += w * x.w;
      }
      *reinterpret_cast<float4*>(part_o + (base + h) * kDimCkv + col) = acc;
      if (rank == 0 && e % kQuads == 0) {
        part_ml[(base + h) * 2] = mx;
        part_ml[(base + h) * 2 + 1] = sum;
      }
    }
    cluster.sync();  // this CTA's shared memory stays until every rank has read it
  }
}

// A float's bits as an int whose signed order is the float order (negative floats have their
// magnitude bits flipped), and back: the warp's max of floats in one integer reduction (REDUX).
__device__ __forceinline__ int float_to_ordered(float x) {
  const int i = __float_as_int(x);
  return i >= 0 ? i : i ^ 0x7fffffff;
}
__device__ __forceinline__ float ordered_to_float(int k) { return __int_as_float(k >= 0 ? k : k ^ 0x7fffffff); }

// Merge: a CTA per (head, token, 128-column chunk); warp w sums slices 4w..4w+3 (a lane per four
// columns, four loads in flight per lane), the warps' sums are added in shared memory. PartT is the
// partials' element type: float, or bf16 from the pipelined pass 1 with DSA_ATTN_PARTIAL_BF16.
constexpr int kMergeChunks = kDimCkv / 128;
template <int kSplits>
constexpr int merge_threads() { return 32 * (kSplits / 4); }

// Four consecutive partial columns as floats.
__device__ __forceinline__ float4 load_part4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load_part4(const __nv_bfloat16* p) {
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
  const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
  return make_float4(lo.x, lo.y, hi.x, hi.y);
}

template <int kSplits, typename PartT>
__global__ void __launch_bounds__(merge_threads<kSplits>())
merge_kernel(const PartT* __restrict__ part_o, const float* __restrict__ part_ml,
             __nv_bfloat16* __restrict__ output, float* __restrict__ lse) {
  constexpr int kWarps = kSplits / 4;
  static_assert(kSplits % 4 == 0 && kSplits <= 64, "four slices per warp, two per lane for the weights");
  const int h = blockIdx.x;
  const int64_t t = blockIdx.y;
  const int chunk = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  __shared__ float s_w[kSplits];
  __shared__ float s_total[2];
  __shared__ float4 s_acc[kWarps][32];
  diag_mark<true>(0);
  afg::pdl_wait();  // the slices of pass 1, complete and visible
  diag_mark<true>(1);
  const int d = chunk * 128 + lane * 4;
  float4 x[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) x[i] = load_part4(part_o + ((t * kSplits + warp * 4 + i) * kHeads + h) * kDimCkv + d);
  diag_mark<true>(2, __float_as_uint(x[3].w));
  // Warp 0: the slices' maximum (base 2) and the weights 2^(m - max), a lane per slice (two per lane).
  if (warp == 0) {
    float m_part[2], l_part[2];
    float mx = -INFINITY;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int s = lane + 32 * i;
      const int64_t at = ((t * kSplits + s) * kHeads + h) * 2;
      m_part[i] = s < kSplits ? part_ml[at] : -INFINITY;
      l_part[i] = s < kSplits ? part_ml[at + 1] : 0.f;
      mx = fmaxf(mx, m_part[i]);
    }
    if constexpr (DSA_ATTN_REDUX_SOFTMAX != 0) {
      mx = ordered_to_float(__reduce_max_sync(0xffffffffu, float_to_ordered(mx)));
    } else {
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    }
    float sum = 0.f;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int s = lane + 32 * i;
      const float w = mx == -INFINITY ? 0.f : exp2f(m_part[i] - mx);  // 0 for an empty slice (m = -inf)
      if (s < kSplits) s_w[s] = w;
      sum += w * l_part[i];
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0) {
      s_total[0] = mx;
      s_total[1] = sum;
    }
  }
  __syncthreads();  // s_w, s_total
  // An empty slice holds zeros and weighs 0, so no branch is needed.
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float w = s_w[warp * 4 + i];
    acc.x += w * x[i].x;
    acc.y += w * x[i].y;
    acc.z += w * x[i].z;
    acc.w += w * x[i].w;
  }
  s_acc[warp][lane] = acc;
  __syncthreads();
  if (warp != 0) return;
#pragma unroll
  for (int w = 1; w < kWarps; ++w) {
    const float4 y = s_acc[w][lane];
    acc.x += y.x;
    acc.y += y.y;
    acc.z += y.z;
    acc.w += y.w;
  }
  const float mx = s_total[0], sum = s_total[1];
  const int64_t th = t * kHeads + h;
  const float inv = mx == -INFINITY ? 0.f : 1.0f / sum;
  __nv_bfloat162* out2 = reinterpret_cast<__nv_bfloat162*>(output + th * kDimCkv + d);
  out2[0] = __floats2bfloat162_rn(acc.x * inv, acc.y * inv);
  out2[1] = __floats2bfloat162_rn(acc.z * inv, acc.w * inv);
  if (chunk == 0 && lane == 0) lse[th] = mx == -INFINITY ? -INFINITY : mx + log2f(sum);
  diag_mark<true>(3);
}

// Pass 1 then pass 2 (a programmatic dependent) for slices of kSplit indices, merged in clusters of
// kCluster CTAs first when kCluster > 1; part holds T x partials_per_token<kSplit, kCluster>() x 16 x
// (512 + 2) floats.
template <int kSplit, int kCluster>
constexpr int partials_per_token() { return kTopK / kSplit / kCluster; }

template <int kSplit, int kWarps, int kCluster>
cudaError_t launch(int64_t T, const __nv_bfloat16* q_nope, const __nv_bfloat16* q_pe, const __nv_bfloat16* ckv,
                   const __nv_bfloat16* kpe, const int32_t* sparse_indices, float sm_scale, int64_t num_cache_tokens,
                   float* part, __nv_bfloat16* output, float* lse, cudaStream_t stream) {
  constexpr int kSplits = kTopK / kSplit;
  constexpr int kPartials = partials_per_token<kSplit, kCluster>();
  const cudaError_t allowed = afg::allow_dynamic_smem<split_attention_kernel<kSplit, kWarps, kCluster>>(
      split_smem_bytes<kSplit, kWarps>());
  if (allowed != cudaSuccess) return allowed;
  float* part_o = part;
  float* part_ml = part + static_cast<size_t>(T) * kPartials * kHeads * kDimCkv;
  if constexpr (kCluster == 1) {
    split_attention_kernel<kSplit, kWarps, kCluster><<<dim3(kSplits, static_cast<unsigned>(T)), kWarps * 32,
                                                       split_smem_bytes<kSplit, kWarps>(), stream>>>(
        q_nope, q_pe, ckv, kpe, sparse_indices, sm_scale, num_cache_tokens, part_o, part_ml);
  } else {
    const cudaError_t launched = afg::launch_clusters(false, kCluster, split_attention_kernel<kSplit, kWarps, kCluster>,
                                                     dim3(kSplits, static_cast<unsigned>(T)), dim3(kWarps * 32),
                                                     split_smem_bytes<kSplit, kWarps>(), stream, q_nope, q_pe, ckv, kpe,
                                                     sparse_indices, sm_scale, num_cache_tokens, part_o, part_ml);
    if (launched != cudaSuccess) return launched;
  }
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  return afg::launch(true, merge_kernel<kPartials, float>, dim3(kHeads, static_cast<unsigned>(T), kMergeChunks),
                     dim3(merge_threads<kPartials>()), 0, stream, static_cast<const float*>(part_o),
                     static_cast<const float*>(part_ml), output, lse);
}

// --- Pipelined pass 1 (DSA_ATTN_PIPE=1) ---------------------------------------------------------
// A CTA takes kRows indices of one token in blocks of kBlock (32) rows through kStages shared-memory
// buffers: block b + kStages - 1 is gathered while block b's products run, and the softmax is online
// across the blocks (running max and sum per head, O rescaled by 2^(m_old - m_new)), so a CTA writes
// one partial for kRows indices. Why (session 11): a gather-only probe (scripts/device/probes/
// dsa_gather_probe.cu, H200) reads one token's 2048 rows in ~3 us and eight tokens' in ~9 us of GPU
// span whatever the CTA shape; split<64> at 8 tokens takes 12.5 us (ncu) because each CTA gathers,
// then computes with the loads idle, and writes 32 partials per token that the merge reads back.
// Measured (session 11, 128 rows, 8 warps, cp.async): 8 tokens 16.5 -> 14.3 us; pass 1's products
// alone (DSA_ATTN_DIAG=3) take ~8 us at 8 tokens: the per-block chains (S, softmax, O with three
// barriers, 8 warps at ~24% issue) are the bound, not the loads. Options against that:
//   kWarps = 16: K split in four parts for S (9 k16 steps per warp), a head per warp in the softmax,
//     32 output columns per warp: half the chain per warp, twice the warps to hide latency;
//   kQRegs: the query's A fragments of this warp's K part loaded once per CTA into registers
//     (9-18 x 4 registers) instead of an ldmatrix per k step of every block (default).
// Measured and removed (commit 7808134 has them): a block's rows by 64 bulk copies issued by one
// warp against per-stage mbarriers (8 tokens 14.8 -> 18.6 us), and the merge inside this grid
// after a cooperative grid barrier (1 token 7.5 -> 10.0 us); NOTES.md has the numbers. Measured
// and removed in session 16 (commit e5cf0ec has them; H200, call 2, 1 / 6 / 8 tokens): L2
// prefetches of one line per 2 MB / 64 KB of the caches against address-translation misses (7.3 /
// 11.5 / 12.6 -> 7.1 / 11.5 / 12.8 and 7.2 / 11.7 / 13.0 us; block 0 landed earlier by what the
// indices lost, and a gather probe after such touches was unchanged), and the merge released by
// per-slice flags instead of the programmatic wait (7.1 / 11.5 / 12.7 -> 7.9 / 12.1 / 13.0 us: the
// fence and release store wait for the partial's stores, 0.64 -> 1.25 us at 1 token, and the merge
// started only ~0.1 us earlier).
template <int kRows, int kStages, int kWarps>
struct PipeSmem {
  static constexpr int kBlock = 32;
  using Shape = SplitShape<kBlock, kWarps>;
  __nv_bfloat16 q[kHeads * kLdRow];                 // [head][q_nope | q_pe]
  __nv_bfloat16 k[kStages][kBlock * kLdRow];        // gathered blocks [index][ckv | kpe]
  __nv_bfloat16 p[kHeads * Shape::kLdP];            // 2^(S - m_running), bf16
  float s[Shape::kKParts][kHeads][kBlock];          // raw Q K^T of the block, one slab per K part
  float alpha[kHeads];                              // 2^(m_old - m_new): O's rescale for the block
  int idx[kRows];
};
template <int kRows, int kStages, int kWarps>
constexpr int pipe_smem_bytes() { return static_cast<int>(sizeof(PipeSmem<kRows, kStages, kWarps>)); }

template <int kRows, int kStages, int kWarps, bool kQRegs>
__global__ void __launch_bounds__(kWarps * 32)
pipelined_attention_kernel(const __nv_bfloat16* __restrict__ q_nope, const __nv_bfloat16* __restrict__ q_pe,
                           const __nv_bfloat16* __restrict__ ckv, const __nv_bfloat16* __restrict__ kpe,
                           const int32_t* __restrict__ sparse_indices, float sm_scale, int64_t num_cache_tokens,
                           float* __restrict__ part_o, float* __restrict__ part_ml) {
  using Smem = PipeSmem<kRows, kStages, kWarps>;
  constexpr int kBlock = Smem::kBlock;
  using Shape = typename Smem::Shape;
  constexpr int kBlocks = kRows / kBlock;
  constexpr int kSplits = kTopK / kRows;
  constexpr int kHeadsPerWarp = kHeads / kWarps;
  constexpr bool kReduxSoftmax = DSA_ATTN_REDUX_SOFTMAX != 0;
  static_assert(kRows % kBlock == 0 && kRows <= kWarps * 32 && kStages >= 2, "whole blocks, an index per thread");
  static_assert(kBlock == 32, "a lane per index of a block in the softmax");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Smem& sm = *reinterpret_cast<Smem*>(smem_raw);
  afg::pdl_launch_dependents();  // the merge's CTAs may take free SMs now; they wait for this grid's end
  diag_mark<false>(0);
  const int split = blockIdx.x;
  const int64_t t = blockIdx.y;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2;  // the rows g and g + 8 of this lane's accumulators

  load_slice_indices(sm.idx, sparse_indices, t, split * kRows, kRows, num_cache_tokens, tid);
  load_query_rows<kWarps>(sm.q, q_nope, q_pe, t, warp, lane);  // part of the first copy group
  // DSA_ATTN_EARLY_QFRAGS: the queries are a copy group of their own, the oldest, so that their
  // fragments can be loaded while block 0 is still in flight.
  constexpr bool kEarlyQFrags = kQRegs && DSA_ATTN_EARLY_QFRAGS != 0;
  if constexpr (kEarlyQFrags) asm volatile("cp.async.commit_group;\n" ::: "memory");
  __syncthreads();  // idx
  diag_mark<false>(1, static_cast<uint32_t>(sm.idx[0]));
  // Block b into buffer b % kStages; padding rows are zeros, never loaded (their P is 0, and 0 times
  // a stale NaN would not be). One commit per call, issued or not, so that "all but the newest
  // kStages - 1 groups done" means block b landed.
  const auto gather_block = [&](int b) {
    if (b < kBlocks && DSA_ATTN_DIAG != 3) gather_rows<kWarps>(sm.k[b % kStages], sm.idx + b * kBlock, kBlock, ckv, kpe, warp, lane);
    asm volatile("cp.async.commit_group;\n" ::: "memory");
  };
#pragma unroll
  for (int b = 0; b < kStages - 1; ++b) gather_block(b);

  const float scale2 = sm_scale * kLog2e;
  float m_run[kHeadsPerWarp], l_run[kHeadsPerWarp];  // heads warp + i * kWarps
#pragma unroll
  for (int i = 0; i < kHeadsPerWarp; ++i) {
    m_run[i] = -INFINITY;
    l_run[i] = 0.f;
  }
  constexpr int kDims = Shape::kDimsPerWarp;
  const int d0 = warp * kDims;
  float o[kDims / 8][4];
#pragma unroll
  for (int nt = 0; nt < kDims / 8; ++nt) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.f;
  // kQRegs: this warp's A fragments of Q over its K part, loaded once Q landed (kEarlyQFrags) or
  // after block 0 (and Q) landed.
  constexpr int kQFrags = kQRegs ? Shape::kKSteps : 1;
  uint32_t qf[kQFrags][4];
  const auto load_q_frags = [&] {
    const int kbase = (warp / (kWarps / Shape::kKParts)) * Shape::kKSteps * 16;
#pragma unroll
    for (int ks = 0; ks < Shape::kKSteps; ++ks) load_a(qf[ks], sm.q, kLdRow, kbase + ks * 16, lane);
  };
  if constexpr (kEarlyQFrags) {
    // Committed: the queries, then kStages - 1 blocks' groups; the queries' group is complete when
    // at most kStages - 1 are pending.
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 1) : "memory");
    __syncthreads();  // every thread's query pieces landed
    load_q_frags();
  }

  for (int b = 0; b < kBlocks; ++b) {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 2) : "memory");  // block b (and Q) landed
    // The refill of buffer (b - 1) % kStages goes after this barrier: every warp has finished block
    // b - 1's O product, the buffer's last reader, before it.
    __syncthreads();  // block b (and the queries) landed for every thread; block b - 1 fully read
    if (b == 0) diag_mark<false>(2, *reinterpret_cast<const uint32_t*>(sm.k[0]));
    gather_block(b + kStages - 1);
    const __nv_bfloat16* kb = sm.k[b % kStages];
    if constexpr (DSA_ATTN_DIAG == 1) {
      __syncthreads();
      __syncthreads();
      continue;
    }
    if constexpr (kQRegs) {
      if (!kEarlyQFrags && b == 0) load_q_frags();
      qk_frags_to_smem<kBlock, kWarps, true>(
          [&](uint32_t (&af)[4], int step, int) {
#pragma unroll
            for (int i = 0; i < 4; ++i) af[i] = qf[step][i];
          },
          kb, sm.s, warp, lane);
    } else {
      qk_to_smem<kBlock, kWarps>(sm.q, kb, sm.s, warp, lane);
    }
    __syncthreads();  // S
    if (b == 0) diag_mark<false>(5);

    // Online softmax, a lane per index: heads warp + i * kWarps.
#pragma unroll
    for (int i = 0; i < kHeadsPerWarp; ++i) {
      const int h = warp + i * kWarps;
      float v = sm.s[0][h][lane];
#pragma unroll
      for (int part = 1; part < Shape::kKParts; ++part) v += sm.s[part][h][lane];
      const float x = sm.idx[b * kBlock + lane] >= 0 ? v * scale2 : -INFINITY;
      float mx;
      if constexpr (kReduxSoftmax) {
        mx = ordered_to_float(__reduce_max_sync(0xffffffffu, float_to_ordered(x)));
      } else {
        mx = x;
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      }
      const float m_new = fmaxf(m_run[i], mx);
      // Nothing valid yet (m_new = -inf): O and l are still 0, any factor keeps them so.
      const float alpha = m_new == -INFINITY ? 1.f : exp2f(m_run[i] - m_new);
      const float pv = m_new == -INFINITY ? 0.f : exp2f(x - m_new);
      if constexpr (kReduxSoftmax) {
        l_run[i] = l_run[i] * alpha + pv;  // this lane's share; the lanes are summed once, at the end
      } else {
        float sum = pv;
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
        l_run[i] = l_run[i] * alpha + sum;
      }
      m_run[i] = m_new;
      sm.p[h * Shape::kLdP + lane] = __float2bfloat16_rn(pv);
      if (lane == 0) sm.alpha[h] = alpha;
    }
    __syncthreads();  // P, alpha
    if (b == 0) diag_mark<false>(6);

    const float a_lo = sm.alpha[g], a_hi = sm.alpha[g + 8];
#pragma unroll
    for (int nt = 0; nt < kDims / 8; ++nt) {
      o[nt][0] *= a_lo;
      o[nt][1] *= a_lo;
      o[nt][2] *= a_hi;
      o[nt][3] *= a_hi;
    }
    pv_accumulate<kBlock, kWarps>(o, sm.p, kb, warp, lane);
  }
  diag_mark<false>(3, __float_as_uint(o[0][0]));

  if constexpr (kReduxSoftmax) {
#pragma unroll
    for (int i = 0; i < kHeadsPerWarp; ++i)
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) l_run[i] += __shfl_xor_sync(0xffffffffu, l_run[i], off);
  }
  const int64_t base = (t * kSplits + split) * kHeads;
  using PartT = std::conditional_t<DSA_ATTN_PARTIAL_BF16 != 0, __nv_bfloat16, float>;
  PartT* const part_rows = reinterpret_cast<PartT*>(part_o) + base * kDimCkv;
  if constexpr (DSA_ATTN_STAGED_STORE != 0) {
    // Through shared memory (the gathered blocks' buffers, read for the last time before this
    // barrier) so that every store is a whole 16-byte piece of a contiguous warp-wide run.
    __syncthreads();
    PartT* const stage = reinterpret_cast<PartT*>(sm.k[0]);
    store_o_rows(stage, staged_ld<PartT>(), o, d0, lane);
    __syncthreads();
    copy_staged_rows_out<kWarps * 32>(part_rows, stage, tid);
  } else {
    store_o_rows(part_rows, kDimCkv, o, d0, lane);
  }
  if (lane == 0) {
#pragma unroll
    for (int i = 0; i < kHeadsPerWarp; ++i) {
      const int h = warp + i * kWarps;
      part_ml[(base + h) * 2] = m_run[i];
      part_ml[(base + h) * 2 + 1] = l_run[i];
    }
  }
  diag_mark<false>(4);
}

// Pipelined pass 1 then the merge (a programmatic dependent); part holds T x (2048 / kRows) x 16 x
// (512 + 2) floats.
template <int kRows, int kStages, int kWarps, bool kQRegs>
cudaError_t launch_pipelined(int64_t T, const __nv_bfloat16* q_nope, const __nv_bfloat16* q_pe, const __nv_bfloat16* ckv,
                             const __nv_bfloat16* kpe, const int32_t* sparse_indices, float sm_scale,
                             int64_t num_cache_tokens, float* part, __nv_bfloat16* output, float* lse,
                             cudaStream_t stream) {
  constexpr int kSplits = kTopK / kRows;
  constexpr int kSmem = pipe_smem_bytes<kRows, kStages, kWarps>();
  constexpr auto kernel = pipelined_attention_kernel<kRows, kStages, kWarps, kQRegs>;
  const cudaError_t allowed = afg::allow_dynamic_smem<kernel>(kSmem);
  if (allowed != cudaSuccess) return allowed;
  float* part_o = part;
  float* part_ml = part + static_cast<size_t>(T) * kSplits * kHeads * kDimCkv;
  kernel<<<dim3(kSplits, static_cast<unsigned>(T)), kWarps * 32, kSmem, stream>>>(
      q_nope, q_pe, ckv, kpe, sparse_indices, sm_scale, num_cache_tokens, part_o, part_ml);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess || DSA_ATTN_DIAG == 2) return err;
  // The partials are bf16 with DSA_ATTN_PARTIAL_BF16 (in the first half of part_o's floats).
  using PartT = std::conditional_t<DSA_ATTN_PARTIAL_BF16 != 0, __nv_bfloat16, float>;
  return afg::launch(true, merge_kernel<kSplits, PartT>, dim3(kHeads, static_cast<unsigned>(T), kMergeChunks),
                     dim3(merge_threads<kSplits>()), 0, stream, reinterpret_cast<const PartT*>(part_o),
                     static_cast<const float*>(part_ml), output, lse);
}

}  // namespace split_kv
