// Prints the byte offsets of the CUPTI kernel activity record fields that src/Tools/Cuda/Cupti.cs
// reads (start 16, end 24, gridX 52, blockX 64, name 104), from the installed header, for every
// kernel record version the header declares that AgentForge may be handed; "ok" when they match.
//   cc -I"$CUDA/extras/CUPTI/include" -I"$CUDA/include" scripts/device/probes/cupti_offsets.c -o /tmp/cupti_offsets && /tmp/cupti_offsets
#include <cupti_activity.h>
#include <stddef.h>
#include <stdio.h>

#define REPORT(T)                                                                                       \
  do {                                                                                                  \
    const int ok = offsetof(T, start) == 16 && offsetof(T, end) == 24 && offsetof(T, gridX) == 52 &&     \
                   offsetof(T, blockX) == 64 && offsetof(T, name) == 104;                               \
    printf("%-22s start %zu end %zu gridX %zu blockX %zu name %zu: %s\n", #T, offsetof(T, start),         \
           offsetof(T, end), offsetof(T, gridX), offsetof(T, blockX), offsetof(T, name), ok ? "ok" : "MISMATCH"); \
    bad |= !ok;                                                                                         \
  } while (0)

int main(void) {
  int bad = 0;
  REPORT(CUpti_ActivityKernel4);
  REPORT(CUpti_ActivityKernel9);
#ifdef HAS_KERNEL10  // -DHAS_KERNEL10 where the header declares it (CUDA 12.x+)
  REPORT(CUpti_ActivityKernel10);
#endif
  printf("%s\n", bad ? "cupti offsets: MISMATCH" : "cupti offsets: ok");
  return bad;
}
