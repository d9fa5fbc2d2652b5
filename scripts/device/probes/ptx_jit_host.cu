// ptx_jit_host.cu: the host half of the PTX side-loading probe (scripts/device/ptx-jit-probe.sh),
// built for plain sm_90 without -lcuda, the way FlashInfer-Bench's torch build sees a CUDA
// solution (no 'a' target, no custom flags, no driver library linked). Question: can such a
// library run wgmma kernels by carrying their compute_90a PTX as text and loading it through the
// driver at the first call? It uses the kernels' own loader (include/afg_sideload.cuh).
//   ptx_jit_host [MORE.ptx ...]   also times the load of each further PTX file (the MoE kernels'
//                                 PTX: the one-time JIT a first call would pay)
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "afg_sideload.cuh"
#include "ptx_jit_kernel.ptx.h"  // kProbePtx, written by ptx-jit-probe.sh from ptx_jit_kernel.cu

int main(int argc, char** argv) {
  if (cudaFree(nullptr) != cudaSuccess) {  // makes the runtime's primary context current
    std::printf("no CUDA device\n");
    return 2;
  }
  const afg::DriverApi& api = afg::driver_api();
  std::printf("driver entry points through the runtime: %s\n", api.ok() ? "all found" : "missing");
  auto start = std::chrono::steady_clock::now();
  const CUmodule module = afg::load_ptx_module(api, kProbePtx, "probe");
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (module == nullptr) return 1;
  const CUfunction probe = afg::sideloaded_function(api, module, "ptx_jit_wgmma_probe", 0, "probe");
  if (probe == nullptr) return 1;
  float* out = nullptr;
  cudaMalloc(&out, 128 * sizeof(float));
  void* args[] = {&out};
  const cudaError_t launched = afg::launch_sideloaded(api, probe, dim3(1), dim3(128), 0, nullptr, false, args);
  const cudaError_t sync = cudaDeviceSynchronize();
  float host[128];
  cudaMemcpy(host, out, sizeof(host), cudaMemcpyDeviceToHost);
  int right = 0;
  for (float v : host) right += v == 1024.f;
  std::printf("probe PTX loaded in %.1f ms; launch %s, sync %s; %d of 128 threads summed 1024 (expected all)\n", ms,
              cudaGetErrorString(launched), cudaGetErrorString(sync), right);
  for (int i = 1; i < argc; ++i) {
    std::ifstream file(argv[i]);
    std::stringstream text;
    text << file.rdbuf();
    const std::string ptx = text.str();
    start = std::chrono::steady_clock::now();
    const CUmodule big = afg::load_ptx_module(api, ptx.c_str(), argv[i]);
    const double big_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %zu bytes of PTX, loaded %s in %.1f ms\n", argv[i], ptx.size(), big != nullptr ? "" : "NOT", big_ms);
  }
  return right == 128 ? 0 : 1;
}
