// split_kv.cuh: sparse MLA attention split over the 2048 indices (DSA_ATTN_IMPL=1).
//
// Why: the baseline runs one CTA per (head, token), so one token is 16 CTAs that each gather all
// 2048 rows (2.4 MB) on CUDA cores: ~0.3 ms where the bytes need ~1 us. Here every CTA takes one
// slice of kSplit indices of one token for all 16 heads at once (each gathered row is read once per
// token, and 16 heads are exactly the m16 of a tensor-core tile):
//   pass 1, split_attention_kernel, grid (2048 / kSplit, T), 128 threads:
//     gather the slice's ckv+kpe rows and the token's 16 query rows into shared memory (16-byte
//     cp.async; padding rows are zero-filled, never loaded), S = Q K^T on mma.sync (bf16, fp32
//     accumulate, K = 576), base-2 logits, the slice's row max m and sum l, P = 2^(S - m) in bf16,
//     O = P Kc (K = kSplit, N = 512), written unnormalized in fp32 with m and l.
//   pass 2, merge_kernel, grid (16, T): M = max m, L = sum l 2^(m - M), out = sum O 2^(m - M) / L,
//     lse = M + log2 L (base 2 already); a row without a valid index gives 0 and -inf.
// Workspace (cudaMallocAsync): T x splits x 16 x (512 + 2) floats.
// Written 2026-11-26 without a GPU at hand: default off until measured (NOTES.md).
#pragma once

// DSA_ATTN_SPLIT: 64 or 128 (a declared tunable once DSA_ATTN_IMPL=1 is measured). Indices per CTA: 64 gives 32 CTAs per token (a 1-token call fills a quarter of the SMs), ~96 KB
// of shared memory; 128 halves the partials the merge reads, ~170 KB.
#ifndef DSA_ATTN_SPLIT
#define DSA_ATTN_SPLIT 64
#endif

namespace split_kv {

constexpr int kSplit = DSA_ATTN_SPLIT;
constexpr int kSplits = kTopK / kSplit;
constexpr int kDimQk = kDimCkv + kDimKpe;  // 576
constexpr int kLdRow = kDimQk + 8;         // bf16 row stride: 1168 bytes, rows 4 banks apart
constexpr int kLdP = kSplit + 8;
constexpr int kSplitThreads = 128;
constexpr int kSplitWarps = kSplitThreads / 32;
constexpr int kIdxPerWarp = kSplit / kSplitWarps;  // logit columns per warp (16 or 8)
constexpr int kDimsPerWarp = kDimCkv / kSplitWarps;  // output columns per warp (128)
static_assert(kIdxPerWarp % 16 == 0, "each warp takes pairs of n8 tiles of indices");
constexpr float kLog2e = 1.4426950408889634f;

struct SplitSmem {
  __nv_bfloat16 q[kHeads * kLdRow];  // [head][q_nope | q_pe]
  __nv_bfloat16 k[kSplit * kLdRow];  // [index][ckv | kpe]
  __nv_bfloat16 p[kHeads * kLdP];    // 2^(S - m), bf16
  int idx[kSplit];
  float red[2][kSplitWarps][kHeads];  // per-warp row max, then row sum
};
constexpr int kSplitSmem = static_cast<int>(sizeof(SplitSmem));

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(p)));
}
__device__ __forceinline__ void mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem), "r"(src_bytes) : "memory");
}
// A fragment (16x16) of a row-major [m][k] bf16 tile at (0, k0).
__device__ __forceinline__ void load_a(uint32_t r[4], const __nv_bfloat16* base, int ld, int k0, int lane) {
  ldmatrix_x4(r, base + (lane & 15) * ld + k0 + (lane >> 4) * 8);
}
// B fragments of two n8 tiles (n0, n0 + 8), k16 at k0, of B = Y^T with Y row-major [n][k].
__device__ __forceinline__ void load_b_rows(uint32_t r[4], const __nv_bfloat16* y, int ld, int n0, int k0, int lane) {
  ldmatrix_x4(r, y + (n0 + (lane & 7) + (lane >> 4) * 8) * ld + k0 + ((lane >> 3) & 1) * 8);
}
// B fragments of two n8 tiles of a row-major [k][n] tile.
__device__ __forceinline__ void load_b_cols(uint32_t r[4], const __nv_bfloat16* x, int ld, int n0, int k0, int lane) {
  ldmatrix_x4_trans(r, x + (k0 + (lane & 7) + ((lane >> 3) & 1) * 8) * ld + n0 + (lane >> 4) * 8);
}

__global__ void __launch_bounds__(kSplitThreads)
split_attention_kernel(const __nv_bfloat16* __restrict__ q_nope, const __nv_bfloat16* __restrict__ q_pe,
                       const __nv_bfloat16* __restrict__ ckv, const __nv_bfloat16* __restrict__ kpe,
                       const int32_t* __restrict__ sparse_indices, float sm_scale, int64_t num_cache_tokens,
                       float* __restrict__ part_o, float* __restrict__ part_ml) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  SplitSmem& sm = *reinterpret_cast<SplitSmem*>(smem_raw);
  const int split = blockIdx.x;
  const int64_t t = blockIdx.y;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, tq = lane & 3;

  if (tid < kSplit) {
    const int raw = sparse_indices[t * kTopK + split * kSplit + tid];
    sm.idx[tid] = raw >= 0 && static_cast<int64_t>(raw) < num_cache_tokens ? raw : -1;
  }
  // Query rows of the 16 heads: 64 + 8 pieces of 16 bytes each.
  for (int i = tid; i < kHeads * (kDimQk / 8); i += kSplitThreads) {
    const int h = i / (kDimQk / 8), c = (i % (kDimQk / 8)) * 8;
    const __nv_bfloat16* src = c < kDimCkv ? q_nope + (t * kHeads + h) * kDimCkv + c
                                           : q_pe + (t * kHeads + h) * kDimKpe + (c - kDimCkv);
    cp_async16(sm.q + h * kLdRow + c, src, 16);
  }
  __syncthreads();  // idx
  // Gathered rows; padding rows are zero-filled without a load.
  for (int i = tid; i < kSplit * (kDimQk / 8); i += kSplitThreads) {
    const int r = i / (kDimQk / 8), c = (i % (kDimQk / 8)) * 8;
    const int idx = sm.idx[r];
    const int64_t row = idx >= 0 ? idx : 0;
    const __nv_bfloat16* src = c < kDimCkv ? ckv + row * kDimCkv + c : kpe + row * kDimKpe + (c - kDimCkv);
    cp_async16(sm.k + r * kLdRow + c, src, idx >= 0 ? 16 : 0);
  }
  asm volatile("cp.async.wait_all;\n" ::: "memory");
  __syncthreads();

  // --- S = Q K^T for this warp's indices, base-2 logits; padding -> -inf --------------------------
  constexpr int kNT = kIdxPerWarp / 8;
  const int n0 = warp * kIdxPerWarp;
  float s[kNT][4];
#pragma unroll
  for (int nt = 0; nt < kNT; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
#pragma unroll 4
  for (int k0 = 0; k0 < kDimQk; k0 += 16) {
    uint32_t af[4];
    load_a(af, sm.q, kLdRow, k0, lane);
#pragma unroll
    for (int nt = 0; nt < kNT; nt += 2) {
      uint32_t bf[4];
      load_b_rows(bf, sm.k, kLdRow, n0 + nt * 8, k0, lane);
      mma(s[nt], af, bf[0], bf[1]);
      mma(s[nt + 1], af, bf[2], bf[3]);
    }
  }
  const float scale2 = sm_scale * kLog2e;
  float mx[2] = {-INFINITY, -INFINITY};  // heads g and g + 8
#pragma unroll
  for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int j = n0 + nt * 8 + 2 * tq + (e & 1);
      s[nt][e] = sm.idx[j] >= 0 ? s[nt][e] * scale2 : -INFINITY;
      mx[e >> 1] = fmaxf(mx[e >> 1], s[nt][e]);
    }
  }
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    mx[hh] = fmaxf(mx[hh], __shfl_xor_sync(0xffffffffu, mx[hh], 1));
    mx[hh] = fmaxf(mx[hh], __shfl_xor_sync(0xffffffffu, mx[hh], 2));
  }
  if (tq == 0) {
    sm.red[0][warp][g] = mx[0];
    sm.red[0][warp][g + 8] = mx[1];
  }
  __syncthreads();
  float m[2], l[2] = {0.f, 0.f};
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    m[hh] = sm.red[0][0][g + 8 * hh];
#pragma unroll
    for (int w = 1; w < kSplitWarps; ++w) m[hh] = fmaxf(m[hh], sm.red[0][w][g + 8 * hh]);
  }
  // P = 2^(S - m) (0 for padding and for a slice without a valid index), row sums.
#pragma unroll
  for (int nt = 0; nt < kNT; ++nt) {
    float p[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float mm = m[e >> 1];
      p[e] = mm == -INFINITY ? 0.f : exp2f(s[nt][e] - mm);
      l[e >> 1] += p[e];
    }
    const int j = n0 + nt * 8 + 2 * tq;
    *reinterpret_cast<__nv_bfloat162*>(sm.p + g * kLdP + j) = __floats2bfloat162_rn(p[0], p[1]);
    *reinterpret_cast<__nv_bfloat162*>(sm.p + (g + 8) * kLdP + j) = __floats2bfloat162_rn(p[2], p[3]);
  }
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    l[hh] += __shfl_xor_sync(0xffffffffu, l[hh], 1);
    l[hh] += __shfl_xor_sync(0xffffffffu, l[hh], 2);
  }
  if (tq == 0) {
    sm.red[1][warp][g] = l[0];
    sm.red[1][warp][g + 8] = l[1];
  }
  __syncthreads();  // P and the partial sums

  // --- O = P Kc for this warp's 128 output columns ------------------------------------------------
  const int d0 = warp * kDimsPerWarp;
  float o[kDimsPerWarp / 8][4];
#pragma unroll
  for (int nt = 0; nt < kDimsPerWarp / 8; ++nt) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.f;
#pragma unroll
  for (int k0 = 0; k0 < kSplit; k0 += 16) {
    uint32_t af[4];
    load_a(af, sm.p, kLdP, k0, lane);
#pragma unroll
    for (int nt = 0; nt < kDimsPerWarp / 8; nt += 2) {
      uint32_t bf[4];
      load_b_cols(bf, sm.k, kLdRow, d0 + nt * 8, k0, lane);
      mma(o[nt], af, bf[0], bf[1]);
      mma(o[nt + 1], af, bf[2], bf[3]);
    }
  }
  const int64_t base = (t * kSplits + split) * kHeads;
#pragma unroll
  for (int nt = 0; nt < kDimsPerWarp / 8; ++nt) {
    const int d = d0 + nt * 8 + 2 * tq;
    *reinterpret_cast<float2*>(part_o + (base + g) * kDimCkv + d) = make_float2(o[nt][0], o[nt][1]);
    *reinterpret_cast<float2*>(part_o + (base + g + 8) * kDimCkv + d) = make_float2(o[nt][2], o[nt][3]);
  }
  if (tid < kHeads) {
    float lsum = 0.f;
#pragma unroll
    for (int w = 0; w < kSplitWarps; ++w) lsum += sm.red[1][w][tid];
    float mmax = sm.red[0][0][tid];
#pragma unroll
    for (int w = 1; w < kSplitWarps; ++w) mmax = fmaxf(mmax, sm.red[0][w][tid]);
    part_ml[(base + tid) * 2] = mmax;
    part_ml[(base + tid) * 2 + 1] = lsum;
  }
}

constexpr int kMergeThreads = kDimCkv / 4;  // four output columns per thread

__global__ void __launch_bounds__(kMergeThreads)
merge_kernel(const float* __restrict__ part_o, const float* __restrict__ part_ml,
             __nv_bfloat16* __restrict__ output, float* __restrict__ lse) {
  const int h = blockIdx.x;
  const int64_t t = blockIdx.y;
  const int tid = threadIdx.x;
  __shared__ float s_w[kSplits];
  __shared__ float s_total[2];
  if (tid < 32) {
    float mx = -INFINITY;
    for (int s = tid; s < kSplits; s += 32) mx = fmaxf(mx, part_ml[((t * kSplits + s) * kHeads + h) * 2]);
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    float sum = 0.f;
    for (int s = tid; s < kSplits; s += 32) {
      const int64_t at = ((t * kSplits + s) * kHeads + h) * 2;
      const float w = mx == -INFINITY ? 0.f : exp2f(part_ml[at] - mx);  // 0 for an empty slice (m = -inf)
      s_w[s] = w;
      sum += w * part_ml[at + 1];
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (tid == 0) {
      s_total[0] = mx;
      s_total[1] = sum;
    }
  }
  __syncthreads();
  const float mx = s_total[0], sum = s_total[1];
  const int64_t th = t * kHeads + h;
  const int d = tid * 4;
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
  if (mx != -INFINITY) {
    for (int s = 0; s < kSplits; ++s) {
      const float w = s_w[s];
      if (w == 0.f) continue;
      const float4 x = *reinterpret_cast<const float4*>(part_o + ((t * kSplits + s) * kHeads + h) * kDimCkv + d);
      acc.x += w * x.x;
      acc.y += w * x.y;
      acc.z += w * x.z;
      acc.w += w * x.w;
    }
    const float inv = 1.0f / sum;
    acc.x *= inv;
    acc.y *= inv;
    acc.z *= inv;
    acc.w *= inv;
  }
  __nv_bfloat162* out2 = reinterpret_cast<__nv_bfloat162*>(output + th * kDimCkv + d);
  out2[0] = __floats2bfloat162_rn(acc.x, acc.y);
  out2[1] = __floats2bfloat162_rn(acc.z, acc.w);
  if (tid == 0) lse[th] = mx == -INFINITY ? -INFINITY : mx + log2f(sum);
}

}  // namespace split_kv
