// mma_bf16.cuh: warp-level bf16 tensor-core helpers shared by the prefill kernels (fragment
// loaders and small GEMMs over afg_mma.cuh's mma.sync / ldmatrix / cp.async). Portable: sm_80 and up.
// Included inside kernel.cu's anonymous namespace.
#pragma once

// smem_addr, ldmatrix, mma_bf16 and cp_async16 are afg_mma.cuh's (included at the top of kernel.cu).
using afg::cp_async16;
using afg::ldmatrix_x4;
using afg::ldmatrix_x4_trans;
using afg::mma_bf16;
using afg::smem_addr;

// The first 1024-byte aligned address of the dynamic shared memory (its base's alignment is not
// promised beyond 16 bytes).
__device__ __forceinline__ unsigned char* align_smem_1024(unsigned char* raw) {
  return raw + ((1024u - (smem_addr(raw) & 1023u)) & 1023u);
}

__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most N committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait_group() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

// A fragment (16x16) of a row-major [m][k] matrix at (m0, k0).
__device__ __forceinline__ void load_a(uint32_t r[4], const __nv_bfloat16* base, int ld, int m0, int k0, int lane) {
  ldmatrix_x4(r, base + (m0 + (lane & 15)) * ld + k0 + (lane >> 4) * 8);
}

// Two floats as one bf16x2 register (lo in the low half: the lower column of an mma fragment pair).
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&p);
}

// A fragment (16x16, bf16) at (m0, k0) of X diag(f), X fp32 row-major with row stride ld (even), f
// fp32 column factors: each element multiplied in fp32 and rounded to bf16, exactly as a bf16 copy of
// X diag(f) read by load_a would hold it. Four 8-byte loads of X and two of f per lane.
__device__ __forceinline__ void load_a_f32_scaled(uint32_t r[4], const float* x, int ld, int m0, int k0, const float* f,
                                                  int lane) {
  const int g = lane >> 2, c = k0 + 2 * (lane & 3);
  const float2 f_lo = *reinterpret_cast<const float2*>(f + c);
  const float2 f_hi = *reinterpret_cast<const float2*>(f + c + 8);
  const float2 x0 = *reinterpret_cast<const float2*>(x + (m0 + g) * ld + c);
  const float2 x1 = *reinterpret_cast<const float2*>(x + (m0 + g + 8) * ld + c);
  const float2 x2 = *reinterpret_cast<const float2*>(x + (m0 + g) * ld + c + 8);
  const float2 x3 = *reinterpret_cast<const float2*>(x + (m0 + g + 8) * ld + c + 8);
  r[0] = pack_bf16x2(x0.x * f_lo.x, x0.y * f_lo.y);
  r[1] = pack_bf16x2(x1.x * f_lo.x, x1.y * f_lo.y);
  r[2] = pack_bf16x2(x2.x * f_hi.x, x2.y * f_hi.y);
  r[3] = pack_bf16x2(x3.x * f_hi.x, x3.y * f_hi.y);
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
      mma_bf16(acc[nt], af, bf[0], bf[1]);
      mma_bf16(acc[nt + 1], af, bf[2], bf[3]);
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

// A warp's m16 x 8 NT accumulator tile, rows m0.. and columns n0.., to a row-major bf16 matrix with
// row stride ld (each lane its two rows g and g + 8, two columns per n8 tile).
template <int NT>
__device__ __forceinline__ void store_tile_bf16(__nv_bfloat16* dst, int ld, int m0, int n0, const float (&acc)[NT][4],
                                                int lane) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    store_bf16x2(dst + (m0 + g) * ld + n0 + nt * 8 + 2 * tq, acc[nt][0], acc[nt][1]);
    store_bf16x2(dst + (m0 + g + 8) * ld + n0 + nt * 8 + 2 * tq, acc[nt][2], acc[nt][3]);
  }
}
