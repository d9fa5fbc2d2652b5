// afg_tma.cuh: 2D tensor maps for the Hopper tensor memory accelerator (TMA): the host encodes
// them (cuTensorMapEncodeTiled, resolved through the runtime like afg_sideload.cuh's functions, so
// the library needs no -lcuda), the device issues box copies into shared memory that complete on
// an mbarrier's transaction count (armed with afg_bulk.cuh's mbar_arrive_expect_tx). sm_90 instructions
// (no `a` suffix needed).
#pragma once

#include "afg_sideload.cuh"  // driver_entry

#include <cstdint>

namespace afg {

// A tensor map of a row-major uint8 matrix (rows x row_bytes, row_bytes a multiple of 16) whose
// boxes are box_rows x box_bytes and land with the 128-byte swizzle: 16-byte chunk c of box row r
// at chunk c ^ (r & 7), the layout wgmma's 128-byte swizzled descriptors read (box_bytes = 128,
// destination 1024-byte aligned). False when the driver function is missing or refuses.
// promotion: how much L2 fetches around a box's lines (256 bytes by default: a 128-byte-wide box
// then brings in the row's next 128 bytes too).
inline bool encode_tma_2d_u8(CUtensorMap* map, const void* base, uint64_t rows, uint64_t row_bytes, uint32_t box_rows,
                             uint32_t box_bytes, CUtensorMapL2promotion promotion = CU_TENSOR_MAP_L2_PROMOTION_L2_256B) {
  using Encode = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*,
                              const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                              CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
  static const Encode encode = [] {
    void* function = nullptr;
    return driver_entry("cuTensorMapEncodeTiled", &function) ? reinterpret_cast<Encode>(function) : nullptr;
  }();
  if (encode == nullptr) return false;
  const cuuint64_t dims[2] = {row_bytes, rows};
  const cuuint64_t strides[1] = {row_bytes};
  const cuuint32_t box[2] = {box_bytes, box_rows};
  const cuuint32_t element_strides[2] = {1, 1};
  return encode(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void*>(base), dims, strides, box, element_strides,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, promotion, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

// The box of `map` at (x bytes, y rows) into shared memory at dst; its bytes count against the
// mbarrier bar's transaction count (armed by afg_bulk.cuh's mbar_arrive_expect_tx).
__device__ __forceinline__ void tma_load_2d(uint32_t dst, const CUtensorMap* map, int x, int y, uint32_t bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(bar)
      : "memory");
#endif
}

// Orders this thread's earlier shared-memory accesses (generic proxy) before its later copy-engine
// ones: issued before a box refills a buffer the CTA read with ordinary loads (after the barrier
// that gathers those reads). Unlike afg_wgmma.cuh's fence_proxy_async, also in the portable build.
__device__ __forceinline__ void fence_before_box_refill() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// tma_load_2d with an L2 cache policy for the lines the box reads (e.g. afg_mma.cuh's
// l2_evict_first_policy for bytes read once).
__device__ __forceinline__ void tma_load_2d_policy(uint32_t dst, const CUtensorMap* map, int x, int y, uint32_t bar, uint64_t policy) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3}], [%4], %5;\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(bar), "l"(policy)
      : "memory");
#endif
}

// The same box multicast to the CTAs of this thread block cluster in cta_mask (bit r: rank r): it lands at
// dst's offset in each one's shared memory and counts against the mbarrier at bar's offset in each.
__device__ __forceinline__ void tma_load_2d_multicast(uint32_t dst, const CUtensorMap* map, int x, int y, uint32_t bar,
                                                      uint16_t cta_mask) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1, {%2, %3}], [%4], "
      "%5;\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(bar), "h"(cta_mask)
      : "memory");
#endif
}

}  // namespace afg
