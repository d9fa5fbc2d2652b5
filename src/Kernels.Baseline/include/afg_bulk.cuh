// afg_bulk.cuh: bulk copies between global and shared memory (cp.async.bulk, the copy engine's
// non-tensor path) and the mbarrier transaction counts that tell when they landed. sm_90 and up,
// not only sm_90a; the bodies are empty below sm_90, so a kernel must take another path there.
// Include it at file scope after afg_mma.cuh (smem_addr); `agentforge pack` bundles it.
#pragma once

#include <cstdint>
#include <cuda_runtime.h>

#include "afg_mma.cuh"

namespace afg {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define AFG_BULK_ASM(...)
#else
#define AFG_BULK_ASM(...) asm volatile(__VA_ARGS__)
#endif

// An mbarrier counting `count` arrivals; the fence makes the initialization visible to the copy engine.
__device__ __forceinline__ void mbar_init(uint64_t* bar, uint32_t count) {
  AFG_BULK_ASM("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_init_fence() {
  AFG_BULK_ASM("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
// One arrival that also expects `bytes` from the copies completing on this phase.
__device__ __forceinline__ void mbar_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
  AFG_BULK_ASM("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}
// More bytes for the current phase to expect, without an arrival (a copy added to a stage whose
// arrival with its other bytes already happened).
__device__ __forceinline__ void mbar_expect_tx(uint64_t* bar, uint32_t bytes) {
  AFG_BULK_ASM("mbarrier.expect_tx.relaxed.cta.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}
// One arrival (release at CTA scope): e.g. a reader's "done with this buffer" for the thread that
// refills it by bulk copies after waiting on the phase.
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  AFG_BULK_ASM("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_addr(bar)) : "memory");
}
// One arrival on the mbarrier at bar's offset in the shared memory of this cluster's CTA `rank` (this
// CTA's own included): a consumer's release of a stage that a multicast fills. Its ordering is the
// default (release at CTA scope): what it hands over is shared memory the tensor cores finished
// reading, not data this thread wrote (session 32's first form, .release.cluster, ran the clusters
// ~45% slower).
__device__ __forceinline__ void mbar_arrive_cluster(uint64_t* bar, uint32_t rank) {
  AFG_BULK_ASM(
      "{\n .reg .b32 remote;\n mapa.shared::cluster.u32 remote, %0, %1;\n"
      " mbarrier.arrive.shared::cluster.b64 _, [remote];\n}\n" ::"r"(smem_addr(bar)),
      "r"(rank)
      : "memory");
}
// This CTA's rank in its thread block cluster.
__device__ __forceinline__ uint32_t cluster_rank() {
  uint32_t rank = 0;
  AFG_BULK_ASM("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(rank));
  return rank;
}
// Every thread of every CTA of the cluster (none exited): what each wrote before is visible to all
// after (e.g. mbarrier initializations before another CTA's multicast or remote arrival).
__device__ __forceinline__ void cluster_sync_all() {
  AFG_BULK_ASM("barrier.cluster.arrive.release.aligned;\n barrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}
// Waits until the barrier's phase with this parity has completed.
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
  uint32_t done = 0;
  while (!done) {
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(smem_addr(bar)), "r"(parity)
        : "memory");
  }
#endif
}
// Asks L2 for `bytes` (a multiple of 16) from a 16-byte-aligned global address through the copy
// engine: one instruction, no load slot held, nothing waits on it (a hint).
__device__ __forceinline__ void bulk_prefetch_l2(const void* src, uint32_t bytes) {
  AFG_BULK_ASM("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(src), "r"(bytes) : "memory");
}
// bytes (a multiple of 16; both addresses 16-byte aligned) from global to shared memory, completing on bar.
__device__ __forceinline__ void bulk_copy_to_smem(void* dst, const void* src, uint32_t bytes, uint64_t* bar) {
  AFG_BULK_ASM("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(
                   smem_addr(dst)),
               "l"(src), "r"(bytes), "r"(smem_addr(bar))
               : "memory");
}
// Makes this thread's ordinary shared-memory writes visible to the copy engine (before a barrier
// and a bulk store of them).
__device__ __forceinline__ void fence_smem_for_bulk() {
  AFG_BULK_ASM("fence.proxy.async.shared::cta;\n" ::: "memory");
}
// Orders global memory this thread has seen written through ordinary stores (its own, or another
// CTA's that it acquired) before its later bulk copies read that memory (the copy engine is another
// proxy).
__device__ __forceinline__ void fence_global_for_bulk() {
  AFG_BULK_ASM("fence.proxy.async.global;\n" ::: "memory");
}
// bytes from shared to global memory as one more bulk copy of this thread's open bulk group (both
// addresses 16-byte aligned, bytes a multiple of 16); bulk_commit closes the group.
__device__ __forceinline__ void bulk_store(void* dst, const void* src, uint32_t bytes) {
  AFG_BULK_ASM("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;\n" ::"l"(dst), "r"(smem_addr(src)), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void bulk_commit() { AFG_BULK_ASM("cp.async.bulk.commit_group;\n" ::: "memory"); }
// Waits until this thread's committed bulk groups have read their shared memory (it may then be
// reused or released: enough before a CTA exits; the grid's end makes the global writes visible).
__device__ __forceinline__ void bulk_wait_read() { AFG_BULK_ASM("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
// Waits until this thread's committed bulk groups are complete (their global writes done).
__device__ __forceinline__ void bulk_wait_all() { AFG_BULK_ASM("cp.async.bulk.wait_group 0;\n" ::: "memory"); }
// bytes from shared to global memory as one bulk group, then waits until the group is complete
// (its shared memory may be reused and its global writes are done).
__device__ __forceinline__ void bulk_store_and_wait(void* dst, const void* src, uint32_t bytes) {
  bulk_store(dst, src, bytes);
  bulk_commit();
  bulk_wait_all();
}

#undef AFG_BULK_ASM

}  // namespace afg
