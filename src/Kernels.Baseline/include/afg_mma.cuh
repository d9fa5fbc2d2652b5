// afg_mma.cuh: warp-level tensor-core and async-copy helpers shared by the baseline kernels
// (mma.sync with fp32 accumulators, ldmatrix fragment loads, 16-byte cp.async). Portable: sm_80
// (sm_89 for the e4m3 mma; on sm_90 ptxas emulates it with f16 MMAs) and up. Include it at file
// scope (not inside a namespace); `agentforge pack` bundles it with a kernel that includes it.
#pragma once

#include <cstdint>
#include <cuda_runtime.h>

namespace afg {

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// The four 8 x 8 b16 matrices whose rows lanes 0-7, 8-15, 16-23, 24-31 address (shared-memory address).
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], uint32_t smem) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* p) { ldmatrix_x4(r, smem_addr(p)); }

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(p)));
}

__device__ __forceinline__ void ldmatrix_x2(uint32_t r[2], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1]) : "r"(smem_addr(p)));
}

// C (16 x 8, fp32) += A (16 x 16, bf16, row) * B (16 x 8, bf16, col).
__device__ __forceinline__ void mma_bf16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// C (16 x 8, fp32) += A (16 x 32, e4m3, row) * B (32 x 8, e4m3, col).
__device__ __forceinline__ void mma_e4m3(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 16 bytes global -> shared without passing through registers; src_bytes < 16 fills the rest
// with zeros (0: a padding row costs no global read).
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem), "r"(src_bytes) : "memory");
}

// An L2 policy that makes the lines it fills the first to go: for bytes read once per call
// (streamed weights), so that they replace each other instead of the lines already in L2 (which
// may be dirty, and would then cost a write to DRAM beside the stream). Not volatile: the same
// value every time, so the compiler may compute it once.
__device__ __forceinline__ uint64_t l2_evict_first_policy() {
  uint64_t policy;
  asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

// 16 bytes global -> shared with the evict-first L2 policy (l2_evict_first_policy), the shared
// address made per-thread beside the copy: 0 from the lane index (shifted right by 5), which ptxas
// cannot prove uniform, is added to it. Why: CUDA 13.0's ptxas miscompiles cp.async with a cache
// policy when it folds a uniform part of the shared address (a stage's offset) into the copy's
// address. Session 40's SASS had LDGSTS [R + UR0 + imm], desc[UR1] with neither UR0 nor UR1 ever
// written, an illegal instruction at run time, whether the policy came from createpolicy, a
// constant, constant memory or an asm block of its own (marlin issue 44 and triton PR 11660 report
// the same bug). Copies that took a plain [R] address ran. The zero has to be made beside each
// copy: made once and reused, ptxas folded it back (session 40 call 8). Costs an S2R and an add a copy.
__device__ __forceinline__ void cp_async16_evict_first(void* smem, const void* gmem) {
  uint32_t lane;
  asm volatile("mov.u32 %0, %%laneid;\n" : "=r"(lane));
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem) + (lane >> 5)), "l"(gmem),
               "l"(l2_evict_first_policy())
               : "memory");
}

}  // namespace afg
