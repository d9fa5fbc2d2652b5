// agentforge.h: the candidate contract shared by every kernel AgentForge builds.
//
// A candidate provides a host entry function whose parameters follow its definition: every
// input in definition order, then every output (destination-passing style), then the stream.
// Tensors arrive as afg::Tensor (device pointer, dtype, rank, shape; contiguous, row-major;
// data == nullptr for an absent optional input). Scalars arrive by value as float, int32_t,
// int64_t or bool after their definition dtype. Scratch memory comes from cudaMallocAsync on
// the given stream (afg::scratch_malloc). AgentForge generates the C-ABI shim (and, when packing, the TVM-FFI or torch
// binding) that calls the entry, so one source runs in the harness and in FlashInfer-Bench.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cuda_runtime.h>

namespace afg {

// Same order as FlashInfer-Bench's DType enum (and AgentForge.Tools.Trace.DType).
enum class DType : int32_t {
  Float32 = 0,
  Float16 = 1,
  BFloat16 = 2,
  Float8E4M3FN = 3,
  Float8E5M2 = 4,
  Float4E2M1 = 5,
  Int64 = 6,
  Int32 = 7,
  Int16 = 8,
  Int8 = 9,
  Bool = 10,
};

constexpr int kMaxRank = 8;

// Layout is part of the ABI between the worker (C#) and the shim: 8 + 4 + 4 + 8 * 8 = 80 bytes.
struct Tensor {
  void* data;
  DType dtype;
  int32_t rank;
  int64_t shape[kMaxRank];

  __host__ __device__ int64_t size(int dim) const { return shape[dim < 0 ? dim + rank : dim]; }
  __host__ __device__ int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= shape[i];
    return n;
  }
  __host__ __device__ bool present() const { return data != nullptr; }
  template <typename T>
  __host__ __device__ T* ptr() const { return static_cast<T*>(data); }
};

// A scalar argument slot as the shim receives it; the shim passes the typed member by value.
union Scalar {
  float f32;
  double f64;
  int32_t i32;
  int64_t i64;
  bool b;
  uint64_t raw;
};

// Sets one of Kernel's function attributes, once per kernel, attribute and process (the attribute
// stays set; a failed attempt is tried again on the next call).
template <auto Kernel, cudaFuncAttribute Attribute>
cudaError_t set_attribute_once(int value) {
  static bool done = false;  // one flag per kernel and attribute: each instantiation has its own
  if (done) return cudaSuccess;
  const cudaError_t err = cudaFuncSetAttribute(Kernel, Attribute, value);
  done = err == cudaSuccess;
  return err;
}

// Raises Kernel's dynamic shared memory limit to bytes.
template <auto Kernel>
cudaError_t allow_dynamic_smem(int bytes) {
  return set_attribute_once<Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize>(bytes);
}

// Asks for the largest shared-memory carveout for Kernel (more resident CTAs where shared memory
// limits them, less L1).
template <auto Kernel>
cudaError_t prefer_max_shared_carveout() {
  return set_attribute_once<Kernel, cudaFuncAttributePreferredSharedMemoryCarveout>(cudaSharedmemCarveoutMaxShared);
}

// Scratch for one call: cudaMallocAsync on stream, from the device's current pool, whose release
// threshold is raised to its maximum once per device and process. Why: at the default threshold (0)
// every stream, event or device synchronization hands the pool's free memory back to the OS, so the
// first call after one maps fresh memory inside cudaMallocAsync: the first timed call of every
// trial took 180-400 us of host time to issue (H200, session 14; 12-35 us for the others), and a
// caller that synchronizes between calls would pay it on every call, its GPU idle meanwhile.
// The pool then keeps the largest scratch a call has needed (freed memory stays reusable).
inline cudaError_t scratch_malloc(void** ptr, size_t bytes, cudaStream_t stream) {
  constexpr int kDevices = 64;
  static bool kept[kDevices] = {};
  int device = 0;
  if (cudaGetDevice(&device) == cudaSuccess && device >= 0 && device < kDevices && !kept[device]) {
    cudaMemPool_t pool;
    if (cudaDeviceGetMemPool(&pool, device) == cudaSuccess) {
      uint64_t keep_everything = UINT64_MAX;
      kept[device] = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_everything) == cudaSuccess;
    }
  }
  return cudaMallocAsync(ptr, bytes, stream);
}

#ifdef __CUDACC__
// Programmatic dependent launch, device side (sm_90 and up; nothing below): a primary grid lets its
// dependents be scheduled early; a dependent waits for its primary's completion and memory before
// reading what it wrote. Both are no-ops for a grid not launched as a dependent.
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
// For per-CTA timelines (measurement aids): the global nanosecond timer, read once `after` exists
// (the read depends on it, so a mark placed after a load's first use is not hoisted above the
// load), and the SM this thread runs on.
__device__ __forceinline__ unsigned long long globaltimer_after(uint32_t after) {
  unsigned long long now;
  asm volatile("{\n.reg .b32 dep;\nmov.b32 dep, %1;\nmov.u64 %0, %%globaltimer;\n}\n" : "=l"(now) : "r"(after) : "memory");
  return now;
}
__device__ __forceinline__ unsigned sm_id() {
  unsigned sm;
  asm volatile("mov.u32 %0, %%smid;\n" : "=r"(sm));
  return sm;
}
#endif

namespace launch_detail {
inline cudaLaunchConfig_t config(dim3 grid, dim3 block, size_t smem, cudaStream_t stream) {
  cudaLaunchConfig_t c{};
  c.gridDim = grid;
  c.blockDim = block;
  c.dynamicSmemBytes = smem;
  c.stream = stream;
  return c;
}
inline cudaLaunchAttribute programmatic() {
  cudaLaunchAttribute a{};
  a.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  a.val.programmaticStreamSerializationAllowed = 1;
  return a;
}
inline cudaLaunchAttribute cluster_of(unsigned cluster_x) {
  cudaLaunchAttribute a{};
  a.id = cudaLaunchAttributeClusterDimension;
  a.val.clusterDim.x = cluster_x;
  a.val.clusterDim.y = 1;
  a.val.clusterDim.z = 1;
  return a;
}
}  // namespace launch_detail

// Launches kernel on stream; with dependent, as a programmatic dependent of the kernel before it on
// the stream (it may start while that one finishes, and must wait for it with pdl_wait before
// reading what it wrote).
template <typename... Params, typename... Args>
cudaError_t launch(bool dependent, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                   Args... args) {
  cudaLaunchConfig_t config = launch_detail::config(grid, block, smem, stream);
  cudaLaunchAttribute attribute[1] = {launch_detail::programmatic()};
  config.attrs = attribute;
  config.numAttrs = dependent ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, args...);
}

// launch with thread block clusters of cluster_x CTAs along x (grid.x a multiple of it).
template <typename... Params, typename... Args>
cudaError_t launch_clusters(bool dependent, unsigned cluster_x, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem,
                            cudaStream_t stream, Args... args) {
  cudaLaunchConfig_t config = launch_detail::config(grid, block, smem, stream);
  cudaLaunchAttribute attribute[2] = {launch_detail::cluster_of(cluster_x), launch_detail::programmatic()};
  config.attrs = attribute;
  config.numAttrs = dependent ? 2 : 1;
  return cudaLaunchKernelEx(&config, kernel, args...);
}
// How many clusters of cluster_x CTAs of kernel (block threads, smem bytes each) the device holds at
// once (0 when it cannot say).
template <typename... Params>
int resident_clusters(void (*kernel)(Params...), unsigned cluster_x, dim3 block, size_t smem) {
  cudaLaunchConfig_t config = launch_detail::config(dim3(cluster_x), block, smem, nullptr);
  cudaLaunchAttribute attribute[1] = {launch_detail::cluster_of(cluster_x)};
  config.attrs = attribute;
  config.numAttrs = 1;
  int clusters = 0;
  return cudaOccupancyMaxActiveClusters(&clusters, kernel, &config) == cudaSuccess ? clusters : 0;
}

// An error the entry finds itself (an input it cannot serve, a plan whose buffers would not fit)
// rather than a failed launch: cudaGetLastError does not carry it, and the entry returns void, so it
// records the error here and the generated shim and bindings report it as the call's failure. Before
// (session 35), a host path returning cudaErrorNotSupported left the outputs unset and the harness
// saw only wrong numbers. The first error of a call is kept; take_call_error() clears it.
inline cudaError_t& entry_error_slot() {
  static thread_local cudaError_t error = cudaSuccess;
  return error;
}
inline void report_error(cudaError_t error) {
  if (error != cudaSuccess && entry_error_slot() == cudaSuccess) entry_error_slot() = error;
}
// An entry's check of its inputs (shapes, dtypes, values it cannot serve): when !ok, prints which
// and records cudaErrorInvalidValue as the call's failure. Returns ok.
inline bool expect(bool ok, const char* entry, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "%s: unexpected %s\n", entry, what);
    report_error(cudaErrorInvalidValue);
  }
  return ok;
}
// The call's error for the shim and bindings: the entry's own, else the last launch's (cudaGetLastError,
// which also clears a failed launch so that the next call does not report it again).
inline cudaError_t take_call_error() {
  const cudaError_t own = entry_error_slot();
  entry_error_slot() = cudaSuccess;
  const cudaError_t launched = cudaGetLastError();
  return own != cudaSuccess ? own : launched;
}

}  // namespace afg

static_assert(sizeof(afg::Tensor) == 80, "afg::Tensor layout is shared with the worker");
static_assert(sizeof(afg::Scalar) == 8, "afg::Scalar layout is shared with the worker");

// Candidate-side error check for host calls: prints the error, records it as the call's failure
// (afg::report_error) and returns from the entry.
#define AFG_CUDA_CHECK(expr)                                                              \
  do {                                                                                    \
    cudaError_t afg_err_ = (expr);                                                        \
    if (afg_err_ != cudaSuccess) {                                                        \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr,           \
                   cudaGetErrorString(afg_err_));                                         \
      afg::report_error(afg_err_);                                                        \
      return;                                                                             \
    }                                                                                     \
  } while (0)
