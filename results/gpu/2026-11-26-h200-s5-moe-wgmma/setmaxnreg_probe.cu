// Does ptxas give the register-hungry branch of a warp-specialized kernel the registers that
// setmaxnreg.inc asks for? Compile on the GPU machine and read ptxas's report:
//   nvcc -arch=sm_90a -cubin -Xptxas -v -DMIN_BLOCKS=1 -o /dev/null setmaxnreg_probe.cu
// (and -DMIN_BLOCKS=0 for __launch_bounds__ without a minimum, -DSETMAXNREG=0 for none).
// 384 threads: warpgroup 0 gives registers back (40), warpgroups 1-2 ask for 232 and keep 200
// floats live across a loop.
#ifndef MIN_BLOCKS
#define MIN_BLOCKS 1
#endif
#ifndef SETMAXNREG
#define SETMAXNREG 1
#endif
#if MIN_BLOCKS
#define BOUNDS __launch_bounds__(384, 1)
#else
#define BOUNDS __launch_bounds__(384)
#endif

__global__ void BOUNDS probe(const float* __restrict__ in, float* __restrict__ out, int n) {
  const int wg = threadIdx.x / 128;
  if (wg == 0) {
#if SETMAXNREG
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
#endif
    if (threadIdx.x == 0) out[0] = in[0];
    return;
  }
#if SETMAXNREG
  asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n");
#endif
  float acc[200];
#pragma unroll
  for (int i = 0; i < 200; ++i) acc[i] = in[i * 384 + threadIdx.x];
  for (int k = 0; k < n; ++k) {
    const float x = in[k];
#pragma unroll
    for (int i = 0; i < 199; ++i) acc[i] = acc[i] * x + acc[i + 1];
    acc[199] = acc[199] * x;
  }
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < 200; ++i) s += acc[i] * (i + 1);
  out[threadIdx.x] = s;
}
