// ptx_jit_host.cu: the host half of the PTX side-loading probe (scripts/device/ptx-jit-probe.sh),
// built for plain sm_90 with -lcuda, the way FlashInfer-Bench builds a CUDA solution (no 'a'
// target, no custom flags, libcuda linked). Question: can such a library still run wgmma kernels
// by carrying their compute_90a PTX as text and loading it through the driver at the first call?
//   ptx_jit_host [MORE.ptx ...]   also times cuModuleLoadData of each further PTX file (the MoE
//                                 kernels' PTX: the one-time JIT a first call would pay)
#include <cuda.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "ptx_jit_kernel.ptx.h"  // kProbePtx, written by ptx-jit-probe.sh from ptx_jit_kernel.cu

namespace {

const char* describe(CUresult r) {
  const char* text = nullptr;
  cuGetErrorString(r, &text);
  return text != nullptr ? text : "unknown error";
}

double load_ms(const char* ptx, CUmodule* module, CUresult* result) {
  const auto start = std::chrono::steady_clock::now();
  *result = cuModuleLoadData(module, ptx);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (cudaFree(nullptr) != cudaSuccess) {  // makes the runtime's primary context current
    std::printf("no CUDA device\n");
    return 2;
  }
  CUmodule module;
  CUresult r;
  const double ms = load_ms(kProbePtx, &module, &r);
  if (r != CUDA_SUCCESS) {
    std::printf("cuModuleLoadData(probe PTX, compute_90a): %s\n", describe(r));
    return 1;
  }
  CUfunction probe;
  if ((r = cuModuleGetFunction(&probe, module, "ptx_jit_wgmma_probe")) != CUDA_SUCCESS) {
    std::printf("cuModuleGetFunction: %s\n", describe(r));
    return 1;
  }
  float* out = nullptr;
  cudaMalloc(&out, 128 * sizeof(float));
  void* args[] = {&out};
  r = cuLaunchKernel(probe, 1, 1, 1, 128, 1, 1, 0, nullptr, args, nullptr);
  const cudaError_t sync = cudaDeviceSynchronize();
  float host[128];
  cudaMemcpy(host, out, sizeof(host), cudaMemcpyDeviceToHost);
  int right = 0;
  for (float v : host) right += v == 1024.f;
  std::printf("probe PTX loaded in %.1f ms; launch %s, sync %s; %d of 128 threads summed 1024 (expected all)\n", ms,
              describe(r), cudaGetErrorString(sync), right);
  for (int i = 1; i < argc; ++i) {
    std::ifstream file(argv[i]);
    std::stringstream text;
    text << file.rdbuf();
    const std::string ptx = text.str();
    CUmodule big;
    const double big_ms = load_ms(ptx.c_str(), &big, &r);
    std::printf("%s: %zu bytes of PTX, cuModuleLoadData %.1f ms (%s)\n", argv[i], ptx.size(), big_ms, describe(r));
    if (r == CUDA_SUCCESS) cuModuleUnload(big);
  }
  return right == 128 ? 0 : 1;
}
