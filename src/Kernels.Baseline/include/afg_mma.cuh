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

// The evict-first policy as a constant: the value createpolicy.fractional.L2::evict_first gives for
// a fraction of 1.0 (the encoding CUTLASS names CacheHintSm90::EVICT_FIRST), no instruction.
constexpr uint64_t kL2EvictFirstPolicy = 0x12F0000000000000ull;

// cp_async16 of a whole 16-byte piece with the evict-first policy created in the same asm block,
// beside the copy. Why: CUDA 13.0's ptxas can lose the uniform register that holds a policy
// created (or a constant moved) elsewhere and hand LDGSTS an undefined descriptor, an illegal
// instruction at run time (session 40: the MoE's split-tile GEMM1 with either; marlin issue 44 and
// triton PR 11660 report the same ptxas bug).
__device__ __forceinline__ void cp_async16_evict_first(void* smem, const void* gmem) {
  asm volatile(
      "{\n"
      ".reg .b64 policy;\n"
      "createpolicy.fractional.L2::evict_first.b64 policy, 1.0;\n"
      "cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, policy;\n"
      "}\n" ::"r"(smem_addr(smem)),
      "l"(gmem)
      : "memory");
}

// cp_async16_evict_first with an explicit source size (src_bytes < 16 zero-fills, as cp_async16).
// Why a second form: the SASS of session 40 (call 5) showed the trap: ptxas folded the stage's
// uniform shared-memory offset into the copy's address ([R + UR0]) and gave the policy the odd
// pair UR1 (desc[UR1]), which LDGSTS cannot take. Its zero-filling form has no [R + UR] address,
// so with a source size ptxas cannot prove to be 16 the address stays in a plain register.
__device__ __forceinline__ void cp_async16_evict_first_sized(void* smem, const void* gmem, int src_bytes) {
  asm volatile(
      "{\n"
      ".reg .b64 policy;\n"
      "createpolicy.fractional.L2::evict_first.b64 policy, 1.0;\n"
      "cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, policy;\n"
      "}\n" ::"r"(smem_addr(smem)),
      "l"(gmem), "r"(src_bytes)
      : "memory");
}

// cp_async16_evict_first with the shared-memory address made per-thread for ptxas: the lane index
// shifted right by 5 (always 0) is added inside the asm block. Why: in session 40's SASS (call 6)
// every trapping copy had the form LDGSTS [R + UR0 + imm], desc[UR1] with neither UR0 nor UR1
// ever written, while the kernels whose copies took a plain [R] address ran with the policy. A
// uniform part of the address (the stage's offset) is what ptxas folds into a UR; with an addend
// it cannot prove uniform, the whole address stays in a vector register.
__device__ __forceinline__ void cp_async16_evict_first_vector_address(void* smem, const void* gmem) {
  asm volatile(
      "{\n"
      ".reg .b64 policy;\n"
      ".reg .b32 lane, address;\n"
      "mov.u32 lane, %%laneid;\n"
      "shr.u32 lane, lane, 5;\n"
      "add.u32 address, %0, lane;\n"
      "createpolicy.fractional.L2::evict_first.b64 policy, 1.0;\n"
      "cp.async.cg.shared.global.L2::cache_hint [address], [%1], 16, policy;\n"
      "}\n" ::"r"(smem_addr(smem)),
      "l"(gmem)
      : "memory");
}

// cp_async16 of a whole 16-byte piece with an L2 cache policy (l2_evict_first_policy).
__device__ __forceinline__ void cp_async16_policy(void* smem, const void* gmem, uint64_t policy) {
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem), "l"(policy) : "memory");
}

}  // namespace afg
