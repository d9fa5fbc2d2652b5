// mma_bf16.cuh: warp-level bf16 tensor-core helpers shared by the prefill kernels (mma.sync
// m16n8k16 with fp32 accumulators, ldmatrix fragment loaders, cp.async). Portable: sm_80 and up.
// Included inside kernel.cu's anonymous namespace.
#pragma once

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

// 16 bytes global -> shared without passing through registers; src_bytes 0 writes zeros.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem), "r"(src_bytes) : "memory");
}

__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most N committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait_group() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

__device__ __forceinline__ void mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// A fragment (16x16) of a row-major [m][k] matrix at (m0, k0).
__device__ __forceinline__ void load_a(uint32_t r[4], const __nv_bfloat16* base, int ld, int m0, int k0, int lane) {
  ldmatrix_x4(r, base + (m0 + (lane & 15)) * ld + k0 + (lane >> 4) * 8);
}

// A fragment (16x16) of A = X^T where X is row-major [k][m], at (m0, k0).
__device__ __forceinline__ void load_a_trans(uint32_t r[4], const __nv_bfloat16* x, int ld, int m0, int k0, int lane) {
  ldmatrix_x4_trans(r, x + (k0 + (lane & 7) + (lane >> 4) * 8) * ld + m0 + ((lane >> 3) & 1) * 8);
}

// B fragments for two n8 tiles (n0, n0+8), k16 at k0, of B = Y^T where Y is row-major [n][k].
// r[0], r[1]: tile n0; r[2], r[3]: tile n0 + 8.
__device__ __forceinline__ void load_b_rows(uint32_t r[4], const __nv_bfloat16* y, int ld, int n0, int k0, int lane) {
  ldmatrix_x4(r, y + (n0 + (lane & 7) + (lane >> 4) * 8) * ld + k0 + ((lane >> 3) & 1) * 8);
}

// B fragments for two n8 tiles of a row-major [k][n] matrix.
__device__ __forceinline__ void load_b_cols(uint32_t r[4], const __nv_bfloat16* x, int ld, int n0, int k0, int lane) {
  ldmatrix_x4_trans(r, x + (k0 + (lane & 7) + ((lane >> 3) & 1) * 8) * ld + n0 + (lane >> 4) * 8);
}

// acc[16 x 8*NT] += A[m0.., 0..K) * B, A row-major in smem, B given by a loader of two n8 tiles.
template <int NT, int K, bool BRows>
__device__ __forceinline__ void gemm_rowA(float (&acc)[NT][4], const __nv_bfloat16* a, int lda, int m0,
                                          const __nv_bfloat16* b, int ldb, int n0, int lane) {
#pragma unroll
  for (int k0 = 0; k0 < K; k0 += 16) {
    uint32_t af[4];
    load_a(af, a, lda, m0, k0, lane);
#pragma unroll
    for (int nt = 0; nt < NT; nt += 2) {
      uint32_t bf[4];
      if (BRows) load_b_rows(bf, b, ldb, n0 + nt * 8, k0, lane);
      else load_b_cols(bf, b, ldb, n0 + nt * 8, k0, lane);
      mma(acc[nt], af, bf[0], bf[1]);
      mma(acc[nt + 1], af, bf[2], bf[3]);
    }
  }
}

template <int NT>
__device__ __forceinline__ void zero(float (&acc)[NT][4]) {
#pragma unroll
  for (int i = 0; i < NT; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
}

__device__ __forceinline__ void store_bf16x2(__nv_bfloat16* p, float x, float y) {
  *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(x, y);
}
