// Stand-in (see cuda_runtime.h).
#pragma once
#include "cuda_runtime.h"
struct __half_raw { unsigned short x; };
struct __half2_raw { unsigned short x, y; };
struct __half {
  unsigned short x;
  __half() = default;
  __half(const __half_raw&);
};
struct __half2 {
  __half x, y;
  __half2() = default;
  __half2(const __half2_raw&);
};
typedef __half half;
float __half2float(__half);
__half __float2half(float);
__half __float2half_rn(float);
float2 __half22float2(__half2);
__half2 __floats2half2_rn(float, float);
__half2 __float22half2_rn(float2);
