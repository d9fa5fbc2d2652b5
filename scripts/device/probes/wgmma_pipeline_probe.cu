// wgmma_pipeline_probe.cu: how close to the fp8 tensor peak can an MMA warpgroup pair get with
// each K-block structure the MoE GEMMs could use? No global loads: every CTA multiplies the same
// shared-memory stage over and over (one 128-K block of 128 A rows and 256 B rows, the 128-byte
// swizzle), so what it measures is MMA issue, waits, folds (two-level accumulation: each block's
// product scaled into the accumulator) and barriers alone. Session 6 measured the real GEMM1
// without its loads at ~840 TFLOP/s (42% of the H200's fp8 peak); this says which structure is
// worth building. Build and run on the GPU machine (scripts/device/wgmma-probe.sh):
//   nvcc -gencode arch=compute_90a,code=sm_90a -O3 -I src/Kernels.Baseline/include -o wgmma_probe wgmma_pipeline_probe.cu && ./wgmma_probe
// Variants (CTA = 2 MMA warpgroups, warpgroup w owns A rows [64w, 64w + 64) x all 256 B rows):
//   serial        the current GEMM1: per K block two column passes of 4 m64n128k32 into a
//                 temporary, wait for all, fold (64 FMA), both passes in turn
//   serial+sync   the same with a block barrier per K block (the lockstep loading's barrier)
//   n64-pipe      four m64n64k32 sub-passes per K block into two alternating 32-register
//                 temporaries, wait_group 1: a sub-pass's fold overlaps the next one's MMAs, and
//                 the last fold of a block overlaps the first MMAs of the next (same 192 registers)
//   n64-pipe+sync the same with a block barrier per K block (before the next block's first issue)
//   no-fold n128  upper bound: accumulate straight into the two 64-register accumulators
//   no-fold n256  upper bound: one m64n256k32 per k step into a 128-register accumulator
//   serial+copies / no-fold n128+copies: the same, with every thread also copying its share of a
//                 48 KB stage per K block (cp.async, 12 x 16 bytes, from an L2-resident buffer into
//                 shared memory no MMA reads; two groups in flight), as the MoE K loop does: does
//                 the shared-memory traffic of the copies (48 KB written per block beside the 96 KB
//                 the n128 passes read) hold the MMAs back?
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#include "afg_wgmma.cuh"

#define CHECK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { std::printf("%s: %s\n", #x, cudaGetErrorString(e_)); return 1; } } while (0)

constexpr int kRowBytes = 128;                 // one 128-K block of fp8 per row
constexpr int kRowsA = 128, kRowsB = 256;
constexpr int kStageBytes = (kRowsA + kRowsB) * kRowBytes;  // 48 KB
constexpr int kSmem = 2 * kStageBytes + 1024;                // the MMAs' stage, then the copies' target
constexpr int kCopyPieces = kStageBytes / 16 / 256;          // 12 per thread per K block

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }
// The kernels' own wrappers (src/Kernels.Baseline/include/afg_wgmma.cuh), so the probe times the
// instructions the MoE GEMMs issue.
using afg::desc_sw128;
using afg::fence_fragment;
using afg::wgmma_commit;
using afg::wgmma_fence;
using afg::wgmma_m64n128k32_e4m3;
using afg::wgmma_m64n64k32_e4m3;
using afg::wgmma_wait;
template <int R>
__device__ __forceinline__ void fold(float (&acc)[R], const float (&t)[R], float s) {
#pragma unroll
  for (int i = 0; i < R; ++i) acc[i] += t[i] * s;
}

// D (64 x 256, fp32) = A (64 x 32 e4m3, shared) * B^T (256 x 32 e4m3, shared) (+ D when accumulate):
// the upper bound's shape, which no kernel uses (its accumulator leaves no registers for a fold).
__device__ __forceinline__ void wgmma_m64n256k32_e4m3(float (&d)[128], uint64_t a, uint64_t b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, %128, %129, p, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
      : "l"(a), "l"(b), "r"(accumulate));
}

enum Variant { kSerial, kSerialSync, kN64Pipe, kN64PipeSync, kNoFold128, kNoFold256, kSerialCopies, kNoFold128Copies, kVariants };
const char* const kNames[kVariants] = {"serial", "serial+sync", "n64-pipe", "n64-pipe+sync", "no-fold n128", "no-fold n256",
                                       "serial+copies", "no-fold+copies"};

// This thread's share of one 48 KB stage copied from src (this CTA's L2-resident slice) into the
// shared memory at dst, as one commit group; at most two groups left in flight.
__device__ __forceinline__ void copy_stage(uint32_t dst, const uint8_t* src) {
#pragma unroll
  for (int i = 0; i < kCopyPieces; ++i) {
    const int piece = threadIdx.x + 256 * i;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst + 16 * piece), "l"(src + 16 * piece) : "memory");
  }
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 2;\n" ::: "memory");
}

// Four k32 steps of one K block: A rows of this warpgroup, B rows [first_row, first_row + N).
template <int N>
__device__ __forceinline__ void block_steps(float (&d)[N / 2], uint32_t a_tile, uint32_t b_tile, int first_row, bool accumulate) {
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const uint64_t a = desc_sw128(a_tile + 32 * k), b = desc_sw128(b_tile + first_row * kRowBytes + 32 * k);
    if constexpr (N == 64) wgmma_m64n64k32_e4m3(d, a, b, accumulate || k > 0);
    else if constexpr (N == 128) wgmma_m64n128k32_e4m3(d, a, b, accumulate || k > 0);
    else wgmma_m64n256k32_e4m3(d, a, b, accumulate || k > 0);
  }
}

template <int V>
__global__ void __launch_bounds__(256, 1) probe(int k_blocks, float* out, const uint8_t* copy_src) {
  extern __shared__ uint8_t smem_raw[];
  uint8_t* smem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~static_cast<uintptr_t>(1023));
  // Finite e4m3 values (exponent field <= 7: magnitudes below 2), different per byte.
  for (int i = threadIdx.x; i < (kRowsA + kRowsB) * kRowBytes; i += blockDim.x) smem[i] = static_cast<uint8_t>((i * 37 + 11) & 0x3F);
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  __syncthreads();
  const int wg = threadIdx.x >> 7;
  const uint32_t a_tile = smem_addr(smem) + wg * 64 * kRowBytes, b_tile = smem_addr(smem) + kRowsA * kRowBytes;
  float result = 0.f;
  const uint32_t copy_dst = smem_addr(smem) + kStageBytes;
  const uint8_t* copy_from = copy_src + static_cast<size_t>(blockIdx.x) * kStageBytes;
  if constexpr (V == kSerial || V == kSerialSync || V == kSerialCopies) {
    float acc0[64], acc1[64], tmp[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) acc0[i] = acc1[i] = 0.f;
    for (int kb = 0; kb < k_blocks; ++kb) {
      if constexpr (V == kSerialSync) __syncthreads();
      if constexpr (V == kSerialCopies) copy_stage(copy_dst, copy_from);
      const float s = 1.f + 1e-7f * kb;
      wgmma_fence(); block_steps<128>(tmp, a_tile, b_tile, 0, false); wgmma_commit(); wgmma_wait<0>(); fence_fragment(tmp); fold(acc0, tmp, s);
      wgmma_fence(); block_steps<128>(tmp, a_tile, b_tile, 128, false); wgmma_commit(); wgmma_wait<0>(); fence_fragment(tmp); fold(acc1, tmp, s);
    }
#pragma unroll
    for (int i = 0; i < 64; ++i) result += acc0[i] + acc1[i];
  } else if constexpr (V == kN64Pipe || V == kN64PipeSync) {
    float acc0[32], acc1[32], acc2[32], acc3[32], ta[32], tb[32];
#pragma unroll
    for (int i = 0; i < 32; ++i) acc0[i] = acc1[i] = acc2[i] = acc3[i] = 0.f;
    wgmma_fence(); block_steps<64>(ta, a_tile, b_tile, 0, false); wgmma_commit();
    for (int kb = 0; kb < k_blocks; ++kb) {
      const float s = 1.f + 1e-7f * kb;
      wgmma_fence(); block_steps<64>(tb, a_tile, b_tile, 64, false); wgmma_commit(); wgmma_wait<1>(); fence_fragment(ta); fold(acc0, ta, s);
      wgmma_fence(); block_steps<64>(ta, a_tile, b_tile, 128, false); wgmma_commit(); wgmma_wait<1>(); fence_fragment(tb); fold(acc1, tb, s);
      wgmma_fence(); block_steps<64>(tb, a_tile, b_tile, 192, false); wgmma_commit(); wgmma_wait<1>(); fence_fragment(ta); fold(acc2, ta, s);
      if (kb + 1 < k_blocks) {
        if constexpr (V == kN64PipeSync) __syncthreads();
        wgmma_fence(); block_steps<64>(ta, a_tile, b_tile, 0, false); wgmma_commit(); wgmma_wait<1>();
      } else {
        wgmma_wait<0>();
      }
      fence_fragment(tb); fold(acc3, tb, s);
    }
#pragma unroll
    for (int i = 0; i < 32; ++i) result += acc0[i] + acc1[i] + acc2[i] + acc3[i];
  } else if constexpr (V == kNoFold128 || V == kNoFold128Copies) {
    float acc0[64], acc1[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) acc0[i] = acc1[i] = 0.f;
    for (int kb = 0; kb < k_blocks; ++kb) {
      if constexpr (V == kNoFold128Copies) copy_stage(copy_dst, copy_from);
      wgmma_fence(); block_steps<128>(acc0, a_tile, b_tile, 0, true); block_steps<128>(acc1, a_tile, b_tile, 128, true); wgmma_commit(); wgmma_wait<1>();
    }
    wgmma_wait<0>(); fence_fragment(acc0); fence_fragment(acc1);
#pragma unroll
    for (int i = 0; i < 64; ++i) result += acc0[i] + acc1[i];
  } else {
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;
    for (int kb = 0; kb < k_blocks; ++kb) {
      wgmma_fence(); block_steps<256>(acc, a_tile, b_tile, 0, true); wgmma_commit(); wgmma_wait<1>();
    }
    wgmma_wait<0>(); fence_fragment(acc);
#pragma unroll
    for (int i = 0; i < 128; ++i) result += acc[i];
  }
  asm volatile("cp.async.wait_all;\n" ::: "memory");
  out[blockIdx.x * blockDim.x + threadIdx.x] = result;
}

template <int V>
int measure(int ctas, int k_blocks, float* out, const uint8_t* copy_src, float peak_tflops) {
  CHECK(cudaFuncSetAttribute(probe<V>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
  cudaFuncAttributes attributes{};
  CHECK(cudaFuncGetAttributes(&attributes, probe<V>));
  probe<V><<<ctas, 256, kSmem>>>(k_blocks, out, copy_src);  // warm-up
  CHECK(cudaGetLastError());
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  float best = 1e30f;
  for (int trial = 0; trial < 5; ++trial) {
    CHECK(cudaEventRecord(start));
    probe<V><<<ctas, 256, kSmem>>>(k_blocks, out, copy_src);
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0.f;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    best = ms < best ? ms : best;
  }
  const double flop = 2.0 * 128 * 256 * 128 * static_cast<double>(k_blocks) * ctas;
  const double tflops = flop / (best * 1e-3) / 1e12;
  std::printf("%-14s %8.3f ms %8.1f TFLOP/s %6.1f%% of peak  %3d registers, %4d bytes stack\n", kNames[V], best, tflops,
              100.0 * tflops / peak_tflops, attributes.numRegs, static_cast<int>(attributes.localSizeBytes));
  return 0;
}

int main(int argc, char** argv) {
  const int k_blocks = argc > 1 ? std::atoi(argv[1]) : 4000;
  const float peak = argc > 2 ? static_cast<float>(std::atof(argv[2])) : 1979.f;  // fp8 dense, H100/H200 SXM
  int sms = 0;
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("%s, %d SMs, %d K blocks per CTA, one CTA per SM, peak taken as %.0f TFLOP/s\n", prop.name, sms, k_blocks, peak);
  float* out = nullptr;
  CHECK(cudaMalloc(&out, static_cast<size_t>(sms) * 256 * sizeof(float)));
  uint8_t* copy_src = nullptr;  // 48 KB per CTA: ~6.3 MB, L2-resident after the warm-up
  CHECK(cudaMalloc(&copy_src, static_cast<size_t>(sms) * kStageBytes));
  CHECK(cudaMemset(copy_src, 0x11, static_cast<size_t>(sms) * kStageBytes));
  int rc = 0;
  rc |= measure<kSerial>(sms, k_blocks, out, copy_src, peak);
  rc |= measure<kSerialSync>(sms, k_blocks, out, copy_src, peak);
  rc |= measure<kN64Pipe>(sms, k_blocks, out, copy_src, peak);
  rc |= measure<kN64PipeSync>(sms, k_blocks, out, copy_src, peak);
  rc |= measure<kNoFold128>(sms, k_blocks, out, copy_src, peak);
  rc |= measure<kNoFold256>(sms, k_blocks, out, copy_src, peak);
  rc |= measure<kSerialCopies>(sms, k_blocks, out, copy_src, peak);
  rc |= measure<kNoFold128Copies>(sms, k_blocks, out, copy_src, peak);
  CHECK(cudaFree(copy_src));
  CHECK(cudaFree(out));
  return rc;
}
