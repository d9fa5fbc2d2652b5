// split_kv.cuh: sparse MLA attention split over the 2048 indices (DSA_ATTN_IMPL=1).
//
// Why: the baseline runs one CTA per (head, token), so one token is 16 CTAs that each gather all
// 2048 rows (2.4 MB) on CUDA cores: ~0.3 ms where the bytes need ~1 us. Here every CTA takes one
// slice of kSplit indices of one token for all 16 heads at once (each gathered row is read once per
// token, and 16 heads are exactly the m16 of a tensor-core tile):
//   pass 1, split_attention_kernel<kSplit>, grid (2048 / kSplit, T), 128 threads:
//     gather the slice's ckv+kpe rows and the token's 16 query rows into shared memory (16-byte
//     cp.async; padding rows are zero-filled, never loaded), S = Q K^T on mma.sync (bf16, fp32
//     accumulate, K = 576), base-2 logits, the slice's row max m and sum l, P = 2^(S - m) in bf16,
//     O = P Kc (K = kSplit, N = 512), written unnormalized in fp32 with m and l.
//   pass 2, merge_kernel<kSplits>, grid (16, T), a programmatic dependent of pass 1 (its CTAs are
//     resident and waiting while pass 1 runs): M = max m, L = sum l 2^(m - M),
//     out = sum O 2^(m - M) / L, lse = M + log2 L (base 2 already); a row without a valid index
//     gives 0 and -inf. Each thread sums 16 slices of 4 columns with all 16 loads in flight
//     (kSplits / 16 thread groups, added in shared memory): the partials sit in L2, so the merge is
//     bound by load latency, not bytes.
// kSplit (indices per CTA) is chosen per call on the host (kernel.cu): 32 for the 1-2 token bands
// (64 CTAs per token instead of 32: each CTA gathers half as much, the latency of one CTA's gather
// is what a 1-token call waits for), 64 above (T x 32 CTAs already fill the GPU).
// Workspace (cudaMallocAsync): T x splits x 16 x (512 + 2) floats.
#pragma once

namespace split_kv {

constexpr int kDimQk = kDimCkv + kDimKpe;  // 576
constexpr int kLdRow = kDimQk + 8;         // bf16 row stride: 1168 bytes, rows 4 banks apart
constexpr int kSplitThreads = 128;
constexpr int kSplitWarps = kSplitThreads / 32;
constexpr int kDimsPerWarp = kDimCkv / kSplitWarps;  // output columns per warp (128)
constexpr float kLog2e = 1.4426950408889634f;

template <int kSplit>
struct SplitSmem {
  static constexpr int kLdP = kSplit + 8;
  __nv_bfloat16 q[kHeads * kLdRow];  // [head][q_nope | q_pe]
  __nv_bfloat16 k[kSplit * kLdRow];  // [index][ckv | kpe]
  __nv_bfloat16 p[kHeads * kLdP];    // 2^(S - m), bf16
  int idx[kSplit];
  float red[2][kSplitWarps][kHeads];  // per-warp row max, then row sum
};
template <int kSplit>
constexpr int split_smem_bytes() { return static_cast<int>(sizeof(SplitSmem<kSplit>)); }

// Programmatic dependent launch: a dependent grid waits here for its primary's results (memory
// flushed); the primary lets its dependents be scheduled from its start.
__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }
__device__ __forceinline__ void pdl_allow_dependents() { asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory"); }

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
__device__ __forceinline__ void ldmatrix_x2(uint32_t r[2], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1]) : "r"(smem_addr(p)));
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
// B fragments of one n8 tile (n0), k16 at k0, of B = Y^T (lanes 0-15 give the addresses).
__device__ __forceinline__ void load_b_rows_one(uint32_t r[2], const __nv_bfloat16* y, int ld, int n0, int k0, int lane) {
  ldmatrix_x2(r, y + (n0 + (lane & 7)) * ld + k0 + ((lane >> 3) & 1) * 8);
}
// B fragments of two n8 tiles of a row-major [k][n] tile.
__device__ __forceinline__ void load_b_cols(uint32_t r[4], const __nv_bfloat16* x, int ld, int n0, int k0, int lane) {
  ldmatrix_x4_trans(r, x + (k0 + (lane & 7) + ((lane >> 3) & 1) * 8) * ld + n0 + (lane >> 4) * 8);
}

template <int kSplit>
__global__ void __launch_bounds__(kSplitThreads)
split_attention_kernel(const __nv_bfloat16* __restrict__ q_nope, const __nv_bfloat16* __restrict__ q_pe,
                       const __nv_bfloat16* __restrict__ ckv, const __nv_bfloat16* __restrict__ kpe,
                       const int32_t* __restrict__ sparse_indices, float sm_scale, int64_t num_cache_tokens,
                       float* __restrict__ part_o, float* __restrict__ part_ml) {
  constexpr int kSplits = kTopK / kSplit;
  constexpr int kIdxPerWarp = kSplit / kSplitWarps;  // logit columns per warp (8 or 16)
  static_assert(kIdxPerWarp == 8 || kIdxPerWarp % 16 == 0, "one n8 tile or pairs of them per warp");
  constexpr int kLdP = SplitSmem<kSplit>::kLdP;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  SplitSmem<kSplit>& sm = *reinterpret_cast<SplitSmem<kSplit>*>(smem_raw);
  pdl_allow_dependents();  // the merge's CTAs may take free SMs now; they wait for this grid's end
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
    if constexpr (kNT == 1) {
      uint32_t bf[2];
      load_b_rows_one(bf, sm.k, kLdRow, n0, k0, lane);
      mma(s[0], af, bf[0], bf[1]);
    } else {
#pragma unroll
      for (int nt = 0; nt < kNT; nt += 2) {
        uint32_t bf[4];
        load_b_rows(bf, sm.k, kLdRow, n0 + nt * 8, k0, lane);
        mma(s[nt], af, bf[0], bf[1]);
        mma(s[nt + 1], af, bf[2], bf[3]);
      }
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

// Merge threads: a group of 128 threads (four columns each) per 16 slices.
template <int kSplits>
constexpr int merge_threads() { return (kDimCkv / 4) * (kSplits / 16); }

template <int kSplits>
__global__ void __launch_bounds__(merge_threads<kSplits>())
merge_kernel(const float* __restrict__ part_o, const float* __restrict__ part_ml,
             __nv_bfloat16* __restrict__ output, float* __restrict__ lse) {
  constexpr int kGroups = kSplits / 16;
  static_assert(kSplits % 16 == 0 && kSplits <= 64, "16 slices per thread group, two per lane for the weights");
  const int h = blockIdx.x;
  const int64_t t = blockIdx.y;
  const int tid = threadIdx.x;
  const int quad = tid % (kDimCkv / 4), group = tid / (kDimCkv / 4);
  __shared__ float s_w[kSplits];
  __shared__ float s_total[2];
  __shared__ float4 s_acc[kGroups > 1 ? kGroups - 1 : 1][kDimCkv / 4];
  pdl_wait();  // the slices of pass 1, complete and visible
  if (tid < 32) {
    float m_part[2], l_part[2];
    float mx = -INFINITY;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int s = tid + 32 * i;
      const int64_t at = ((t * kSplits + s) * kHeads + h) * 2;
      m_part[i] = s < kSplits ? part_ml[at] : -INFINITY;
      l_part[i] = s < kSplits ? part_ml[at + 1] : 0.f;
      mx = fmaxf(mx, m_part[i]);
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    float sum = 0.f;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int s = tid + 32 * i;
      const float w = mx == -INFINITY ? 0.f : exp2f(m_part[i] - mx);  // 0 for an empty slice (m = -inf)
      if (s < kSplits) s_w[s] = w;
      sum += w * l_part[i];
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (tid == 0) {
      s_total[0] = mx;
      s_total[1] = sum;
    }
  }
  // This group's 16 slices, every load issued before the first is used (an empty slice holds
  // zeros and weighs 0, so no branch is needed).
  const int d = quad * 4;
  float4 x[16];
#pragma unroll
  for (int i = 0; i < 16; ++i)
    x[i] = *reinterpret_cast<const float4*>(part_o + ((t * kSplits + group * 16 + i) * kHeads + h) * kDimCkv + d);
  __syncthreads();  // s_w, s_total
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
  for (int i = 0; i < 16; ++i) {
    const float w = s_w[group * 16 + i];
    acc.x += w * x[i].x;
    acc.y += w * x[i].y;
    acc.z += w * x[i].z;
    acc.w += w * x[i].w;
  }
  if (kGroups > 1) {
    if (group > 0) s_acc[group - 1][quad] = acc;
    __syncthreads();
    if (group > 0) return;
#pragma unroll
    for (int g = 0; g < kGroups - 1; ++g) {
      const float4 y = s_acc[g][quad];
      acc.x += y.x;
      acc.y += y.y;
      acc.z += y.z;
      acc.w += y.w;
    }
  }
  const float mx = s_total[0], sum = s_total[1];
  const int64_t th = t * kHeads + h;
  const float inv = mx == -INFINITY ? 0.f : 1.0f / sum;
  __nv_bfloat162* out2 = reinterpret_cast<__nv_bfloat162*>(output + th * kDimCkv + d);
  out2[0] = __floats2bfloat162_rn(acc.x * inv, acc.y * inv);
  out2[1] = __floats2bfloat162_rn(acc.z * inv, acc.w * inv);
  if (tid == 0) lse[th] = mx == -INFINITY ? -INFINITY : mx + log2f(sum);
}

// Pass 1 then pass 2 (a programmatic dependent) for slices of kSplit indices; part holds
// T x (2048 / kSplit) x 16 x (512 + 2) floats.
template <int kSplit>
cudaError_t launch(int64_t T, const __nv_bfloat16* q_nope, const __nv_bfloat16* q_pe, const __nv_bfloat16* ckv,
                   const __nv_bfloat16* kpe, const int32_t* sparse_indices, float sm_scale, int64_t num_cache_tokens,
                   float* part, __nv_bfloat16* output, float* lse, cudaStream_t stream) {
  constexpr int kSplits = kTopK / kSplit;
  static bool configured = false;  // the dynamic shared memory limit, once per instance and process
  if (!configured) {
    const cudaError_t err = cudaFuncSetAttribute(split_attention_kernel<kSplit>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize, split_smem_bytes<kSplit>());
    if (err != cudaSuccess) return err;
    configured = true;
  }
  float* part_o = part;
  float* part_ml = part + static_cast<size_t>(T) * kSplits * kHeads * kDimCkv;
  split_attention_kernel<kSplit><<<dim3(kSplits, static_cast<unsigned>(T)), kSplitThreads, split_smem_bytes<kSplit>(), stream>>>(
      q_nope, q_pe, ckv, kpe, sparse_indices, sm_scale, num_cache_tokens, part_o, part_ml);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(kHeads, static_cast<unsigned>(T));
  config.blockDim = dim3(merge_threads<kSplits>());
  config.stream = stream;
  cudaLaunchAttribute dependent[1];
  dependent[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  dependent[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = dependent;
  config.numAttrs = 1;
  return cudaLaunchKernelEx(&config, merge_kernel<kSplits>, static_cast<const float*>(part_o),
                            static_cast<const float*>(part_ml), output, lse);
}

}  // namespace split_kv
