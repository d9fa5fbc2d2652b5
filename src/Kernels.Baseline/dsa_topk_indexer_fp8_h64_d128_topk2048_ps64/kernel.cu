// dsa_topk_indexer_fp8_h64_d128_topk2048_ps64: baseline CUDA kernel (fp32 accumulation).
//
// Computes, for each batch row b with L = seq_lens[b] cached tokens (token i lives in page
// block_table[b][i/64] at offset i%64), the score of every token
//   score(i) = sum_h relu(q[b,h] . k[i]) * weights[b,h],   q = fp8 e4m3 -> fp32,
//   k[i][d]  = fp8(page bytes[off*128 + d]) * scale(page floats[64*128/4 + off])
// (per page: 64x128 fp8 bytes, then 64 float32 scales: the deep_gemm layout) and writes the global
// ids page*64+offset of the top min(2048, L) tokens, then -1 padding. The order of the ids is
// unspecified (ties broken arbitrarily), as any valid top-k set is accepted.
//
// Algorithm (the defaults; every setting named here is a tunable below):
//   clearing kernel, grid B: zeroes a 4096-bin histogram per row (INDEXER_SCORE_HIST), then lets
//   the score kernel launch as its programmatic dependent.
//   score kernel (in the sm_90a build the native fp8 wgmma one in score_wgmma.cuh, in a plain sm_90
//   build the mma.sync one in score_mma.cuh; an fp32 one here with INDEXER_SCORE_IMPL=0), a CTA
//   per (page, row), only for rows with L > 2048 (rows with L <= 2048 take every token and need no
//   score): the page's 64 fp8 keys times the row's 64 x 128 fp8 queries on tensor cores, then
//   scale, relu, head weights and the head sum; scores go to a scratch
//   buffer [B][max_pages*64] (cudaMallocAsync, padded), and each score adds one to its row's
//   histogram bin (the top 12 bits of its order-preserving uint32 key).
//   select kernel, grid B, block INDEXER_SELECT_THREADS (1024): L <= 2048 -> ids of all L tokens,
//   then -1. Otherwise the row's histogram gives, by one block scan, the bin of the 2048-th
//   largest score; one scan of the row writes the ids of every key above that bin and keeps the
//   bin's keys; those candidates are ranked directly (key, then position) when at most 256, else
//   by 8-bit radix passes over their low 20 bits (shared-memory histograms), and placed. With
//   INDEXER_SCORE_HIST=0 the select runs the compact radix select instead (two 8-bit passes over
//   the row, one scan keeping the 16-bit prefix's candidates, two passes over those).
// seq_lens are clamped to [0, max_pages*64]; a page id outside [0, num_pages) reads as zeros.
// Launch plan: max_num_pages <= 32 (69 of the 128 workloads) is a single select launch.
// Measured and removed in session 11 (commit 4b9d460 has both; NOTES.md the numbers): a row's
// select on a cluster of 2-8 CTAs merging histograms through distributed shared memory (slower at
// every size: a pass's cluster barrier costs more than the keys it spreads), and the row's block
// table in shared memory for the id placement (within noise).
// Measured (H200, GPU span; results/gpu): 2026-11-25, before the single-launch plan: 1 page 3.2 us,
// 32 pages 4.1 us, 91 pages 89 us; 2026-11-26 with fp8 mma scores: pass-through 1.4-1.7 us,
// 34-45 pages (B 4-8) 18-27 us, 91 pages 37 us (per-thread atomics in the select); session 13
// (results/gpu/2026-11-26-s13, every workload): H200 1.3 / 9.9 / 18.1 us band means at <= 32 /
// 33-45 / 82-91 pages, H100 1.5 / 10.3 / 19.0; session 14 (the wgmma score kernel, sm_90a): H200
// 1.3 / 8.1 / 13.7, H100 1.5 / 8.5 / 14.6.

#include "agentforge.h"
#include "afg_mma.cuh"
#include "afg_wgmma.cuh"

#include <cuda_fp8.h>

// @tunable INDEXER_SELECT_THREADS: 256, 512, 1024 (default 1024)
// H200, session 8 (results/gpu/2026-11-26-h200-s8), with the compact select: 15 rows x 91 pages
// 23.1 -> 20.7 us with 1024 instead of 512, 27 x 91 30.2 -> 27.9, 256 slower (29.9 / 36.7);
// 128/128 PASS with 1024. Default since (512 was chosen for the v2 select with per-thread atomics).
#ifndef INDEXER_SELECT_THREADS
#define INDEXER_SELECT_THREADS 1024
#endif
// @tunable INDEXER_SELECT_COMPACT: 0, 1 (default 1)
// 1: after the select's first two radix passes (16 bits) one scan writes the ids of every key
// above the threshold's 16-bit prefix straight to the output and keeps the keys on that prefix
// (up to kSelectCandidates, else the full-row path) in shared memory; the last two passes and the
// final placement run over those candidates only. 3 scans of the row instead of 5 (vLLM's and
// TensorRT-LLM's decode top-k also refine only the threshold bin). Prediction (session 7): the
// select -30% at 91 pages, pass-through and short rows unchanged. Measured (H200, session 8,
// results/gpu/2026-11-26-h200-s8): the call at 15 x ~91 pages 25.8 -> 23.2 us, 27 rows 32.8 ->
// 30.1 (-10%: the select is ~half the call), pass-through unchanged; 128/128 PASS. Default since.
#ifndef INDEXER_SELECT_COMPACT
#define INDEXER_SELECT_COMPACT 1
#endif
// @tunable INDEXER_SELECT_BINNED: 0, 1 (default 0) when INDEXER_SELECT_COMPACT=1
// 1: the select in fewer phases, as vLLM's and TensorRT-LLM's decode top-k do (one fine histogram,
// then only the threshold bin refined): the row's largest and smallest keys, one 4096-bin
// histogram of the keys' distance below the largest ((max - key) >> shift on the order-preserving
// keys, the shift that fits max - min into 12 bits: ~8 bins per binade on scores of both signs, as
// the workloads' are), a block scan for the bin of the 2048-th key, one scan
// that writes every key above that bin and keeps the bin's keys as candidates, then the bin's
// candidates ranked directly (key, then position: a total order, each its own slot) when there
// are at most kSelectDirectMax of them, else the 8-bit radix passes over them. Why (session 11):
// ncu put the select at 17.4 us of a 30 x 91-page call, latency-bound phases (each radix pass is a
// clear, a count, a pick and three barriers) on 30 SMs; the compact select runs four passes and
// three full scans. Prediction: the select -20..-30%, 82-91-page calls 23.1 -> ~19 us, 33-45 pages
// 13.2 -> ~11.5 us; pass-through unchanged. Written in session 11 after the last GPU call, its
// logic replayed on random rows by scripts/dev/emulate_binned_select.py. Measured (H100, session
// 12 call 1): 128/128 PASS but slower at every size: 15 x 45 pages 15.1 -> 20.8 us, 15 x 91 19.9 ->
// 27.4, 30 x 91 27.8 -> 35.7. Kept off.
#ifndef INDEXER_SELECT_BINNED
#define INDEXER_SELECT_BINNED 0
#endif
// @tunable INDEXER_SCORE_HIST: 0, 1 (default 1) when INDEXER_SELECT_COMPACT=1
// 1: the score kernel also counts its keys into a 4096-bin histogram per row in global memory (the
// top 12 bits of the order-preserving key: sign, exponent, 3 mantissa bits; one atomic per score,
// INDEXER_HIST_AGGREGATE), cleared by a one-CTA-per-row kernel launched first (the
// score kernel its programmatic dependent, waiting only before its first atomic). The select then
// starts from that histogram: one block scan finds the threshold bin, one scan of the row writes the
// keys above it and keeps the bin's keys (2-233 on rows like the workloads', scripts/dev/
// emulate_binned_select.py's model), ranked directly when there are at most kSelectDirectMax, else
// by radix passes over the bin's low 20 bits. Why (session 12's INDEXER_SELECT_DIAG timeline, H200,
// 15 x 91 pages): of the select's 11.5 us after the score kernel, its two row-wide radix passes
// take 4.9; here they go, the histogram's atomics ride on the score kernel's epilogue, and the keys
// stay in registers from their load to the scan (no shared-memory copy). BINNED (session 11) built
// the same kind of histogram inside the select, after a pass for the row's extremes: it measured
// slower. Prediction: select 11.5 -> ~7 us after the score, the score kernel and the clearing
// launch +0.5..1 us: 15 x 91 pages ~19 -> ~15.5 us, 30 x 91 ~27 -> ~23; pass-through unchanged.
// Measured (session 13, results/gpu/2026-11-26-s13): H200 call 1, 15 x 91 19.2 -> 15.8 us, 30 x 91
// 27.2 -> 23.5, the select 11.5 -> 6.2 us after the score kernel, which itself ends 1.9 us later
// (the clearing kernel ahead of it 0.6, its atomics and the dependent launch 1.3). With the later
// changes (one atomic per score, the held keys' pages and bits loaded before their use, 64-bit
// ranking words), H100 call 5, both full runs in one call: band means 33-45 pages 13.83 -> 11.79
// us, 82-91 pages 24.05 -> 21.38, pass-through 1.54 -> 1.55; call 8: 11.53 / 20.08. 128/128 in
// every full run (calls 1-8). Default since.
#ifndef INDEXER_SCORE_HIST
#define INDEXER_SCORE_HIST 1
#endif
// @tunable INDEXER_HIST_AGGREGATE: 0, 1 (default 0) when INDEXER_SCORE_HIST=1
// 1: a warp's lanes that share a bin add once (__match_any_sync); 0: an atomic per score. H200 call
// 2: the score kernel 0.4 us shorter with 0 at 15 x 91 pages (15.9 -> 15.7 us); H100 call 3 even.
#ifndef INDEXER_HIST_AGGREGATE
#define INDEXER_HIST_AGGREGATE 0
#endif
// @tunable INDEXER_HIST_INLINE_CLEAR: 0, 1 (default 0) when INDEXER_SCORE_HIST=1
// 1: no clearing kernel: the score CTA of a row's first page slot clears the row's histogram as it
// starts and publishes this call's epoch in the row's flag (release); the row's other CTAs wait
// for that epoch (acquire) before their first atomic. Grids dispatch CTAs in index order and the
// first page slot of a row precedes its other slots, so the flag's writer is always resident or
// done when a CTA waits (as single-pass scans with decoupled look-back rely on). The epoch is a
// per-process call counter, mixed, so a stale flag in reused scratch never matches. Why: the
// clearing kernel delays the score kernel's start by ~0.6 us (H200 timeline, session 13).
#ifndef INDEXER_HIST_INLINE_CLEAR
#define INDEXER_HIST_INLINE_CLEAR 0
#endif
// @tunable INDEXER_HIST_BITS: 12, 13, 14 (default 12) when INDEXER_SCORE_HIST=1
// The histogram's bins per row, 2^bits of the keys' top bits: more bins, fewer candidates in the
// threshold bin (12 bits: ~8 bins per binade, 33-64 candidates at 15 x 91 pages by ncu's count of
// the ranking's shuffles), but more to clear and scan: 14 bits measured slower (H100, call 4: 64 KB
// rows, clearing 2.6-3.7 us, 15 x 91 pages 16.6 -> 20.0 us).
#ifndef INDEXER_HIST_BITS
#define INDEXER_HIST_BITS 12
#endif
// @diagnostic INDEXER_DIAG_FORCE_REFINE: 0, 1, 2 (default 0)
// A correctness aid for INDEXER_SCORE_HIST (results stay exact; only slower): the workloads' rows
// leave 33-64 candidates in the threshold bin, so the direct ranking is the only refinement their
// runs exercise. 1 sends every row's candidates through the radix passes over their low 20 bits
// (from shared memory), 2 through the fallback over the row's keys in the bin (as when more than
// kSelectCandidates share it, e.g. a row of equal scores). Run the full definition with each.
#ifndef INDEXER_DIAG_FORCE_REFINE
#define INDEXER_DIAG_FORCE_REFINE 0
#endif
// @diagnostic INDEXER_DIAG_NO_HIST_ATOMICS: 0, 1 (default 0)
// A measurement aid for INDEXER_SCORE_HIST (results are wrong with it): the score kernels compute
// bins but count nothing, so the timeline says what the histogram's atomics cost the score kernel.
#ifndef INDEXER_DIAG_NO_HIST_ATOMICS
#define INDEXER_DIAG_NO_HIST_ATOMICS 0
#endif
// @diagnostic INDEXER_SELECT_DIAG: 0, 1, 2, 3, 4, 5, 6 (default 0)
// A measurement aid for the compact select (results are wrong with it): the select returns after
// its row's keys are on chip (1), after the two row-wide radix passes (2), or after the scan that
// places the keys above the 16-bit prefix and keeps the candidates (3). With INDEXER_SCORE_HIST: 1
// after the wait for the scores, 2 after the threshold bin's scan, 3 after the row scan, 4 after the
// row's keys have landed in registers (no histogram scan), 5 the whole select except the radix
// passes when the threshold bin holds more than the direct ranking takes (so its time against the
// full select's says which refinement ran), 6 as 3 without the row scan's output stores. The call timeline's select
// end minus the score kernel's end then says what each phase costs. H200, session 12 (15 rows x 91
// pages, of 11.5 us after the score kernel's end): keys on chip 1.6 us, the two row passes 4.9,
// the row scan 2.9, the candidates' passes and placement 2.2. Two variants aimed at the passes
// were slower and removed (commit 6fecd66 has both; NOTES.md): per-warp histograms with atomic-free
// placement (15 x 91 19.1 -> 25.0 us) and ballot-round aggregation instead of __match_any_sync
// (19.3 -> 24.4).
#ifndef INDEXER_SELECT_DIAG
#define INDEXER_SELECT_DIAG 0
#endif
// @tunable INDEXER_SCORE_IMPL: 0, 1, 2 (default 2)
// 0: scores on CUDA cores in fp32 (this file); 1: on fp8 tensor cores (score_mma.cuh, mma.sync
// m16n8k32 e4m3, scale/relu/weights/head sum in the epilogue). H200, 91 pages: 89.7 us with 0,
// 37.3 us with 1 (results/gpu/2026-11-26-h200-pending-checks), 128/128 workloads pass with 1.
// 2: in a library built for sm_90a, on native fp8 wgmma (score_wgmma.cuh: one warpgroup per page,
// tokens as M, heads as N); elsewhere as 1. Prediction (session 14, H200, 15 x 91 pages): the score
// kernel 9.4 -> ~7 us (its F2FP + HMMA product phase, ~25% of its stall samples, down to 4 wgmma),
// the call 15.1 -> ~13 us. Measured (H200, session 14 call 3, one sweep): the score kernel 9.1 ->
// 5.7 us, 15 x 91 pages 14.8 -> 11.3 us, 30 x 91 20.4 -> 15.4, 15 x 45 12.0 -> 9.9, 30 x 33 9.4 ->
// 7.8 (INDEXER_SCORE_MIN_BLOCKS=1 the same); 128/128. Default since (the manifest's target is
// sm_90a; the portable build runs 1).
#ifndef INDEXER_SCORE_IMPL
#define INDEXER_SCORE_IMPL 2
#endif
// @tunable INDEXER_SCORE_PAGES: 1, 2, 4 (default 1) when INDEXER_SCORE_IMPL=1
// Page slots per CTA of the fp8 score kernel: with more than one the row's queries are loaded
// once per CTA and the next page's keys land while a page multiplies (two buffers). Predicted at
// 91 pages (B=27): score kernel 13.9 -> ~9 us (ncu clocks); measured (session 4) 2 and 4 slower
// on short rows (fewer, longer CTAs), no faster at 91 pages. Default 1.
#ifndef INDEXER_SCORE_PAGES
#define INDEXER_SCORE_PAGES 1
#endif
// @tunable INDEXER_CLEAR_PREFETCH: 0, 1 (default 1) when INDEXER_SCORE_HIST=1
// 1: the histogram's clearing kernel (the call's first, t = 0) asks L2 for each row's length and
// block-table row, so the score CTAs' first two loads (launched ~0.8 us later) hit L2 instead of
// DRAM. Prediction (H200, 15 x 91 pages): the score kernel -0.2..-0.4 us. Measured (H200, session 14,
// in four sweeps beside other settings): -0.1..-0.3 us per scoring call, never slower; 128/128
// (call 5). Default since.
#ifndef INDEXER_CLEAR_PREFETCH
#define INDEXER_CLEAR_PREFETCH 1
#endif
// @diagnostic INDEXER_DIAG_CTA_TIMES: 0, 1 (default 0)
// A measurement aid (results stay correct, the kernels slower by a few stores): thread 0 of every
// wgmma score CTA and select CTA writes %globaltimer at its phase boundaries into device arrays
// (g_diag_score, g_diag_select) that scripts/device/probes/indexer_cta_timeline_probe.cu reads back
// after one call: when each CTA started, how long its loads, products and epilogue took, on which SM.
#ifndef INDEXER_DIAG_CTA_TIMES
#define INDEXER_DIAG_CTA_TIMES 0
#endif
// @diagnostic INDEXER_DIAG_NC_SCORE_IDS: 0, 1 (default 0)
// 1: the fp8 score kernels load the row's length and the first page id non-coherently (load_now),
// as first written; ptxas then sank the wgmma kernel's page id load past the length's early exit
// (ncu's SASS, session 14 call 4), a third dependent DRAM round trip per CTA. For comparing against
// the default (coherent loads, which stay where written).
#ifndef INDEXER_DIAG_NC_SCORE_IDS
#define INDEXER_DIAG_NC_SCORE_IDS 0
#endif
// @tunable INDEXER_SCORE_EARLY_PAGE: 0, 1 (default 1) when INDEXER_SCORE_IMPL=1
// 1: a score CTA loads its first page's id together with the row's length instead of after the
// length check, so its keys' copies start one dependent round trip sooner. Why (ncu source view,
// H200, session 13, 15 x 91 pages): the kernel runs 1365 CTAs in 1.7 waves (79 registers: 6 CTAs of
// 4 warps per SM), DRAM at 11% of peak, and the top stall samples (15% + 8%) wait on the length and
// then on the page id before the copies' addresses exist. Prediction: each wave one round trip
// shorter, the score kernel 9.1 -> ~8 us. Measured (H200, call 10): the score kernel at 15 x 91 pages
// 11.2 -> 10.75 us, 30 x 91 21.9 -> 20.5; 128/128. Default since (with INDEXER_SCORE_MIN_BLOCKS=8).
#ifndef INDEXER_SCORE_EARLY_PAGE
#define INDEXER_SCORE_EARLY_PAGE 1
#endif
// @tunable INDEXER_SCORE_MIN_BLOCKS: 1, 8 (default 8) when INDEXER_SCORE_IMPL=1
// The fp8 score kernel's resident CTAs per SM asked of ptxas (__launch_bounds__: at most 64
// registers for 8), with the shared-memory carveout at its largest so 8 CTAs of ~19 KB fit. ncu
// (H200, session 13): 79 registers and the default carveout both held it to 6 CTAs per SM, 1.7
// waves at 15 x 91 pages. Prediction with 8: 1.3 waves, the score kernel -10..-20% (if no spills).
// Measured (H200, call 11, each setting twice in one sweep; 64 registers, no stack): with the early
// page, 15 x 91 pages 18.6 -> 16.4 us, 30 x 91 30.0 -> 21.8 (its score kernel 21.9 -> 13.7), 30 x 33
// 10.8 -> 10.0, 15 x 45 13.1 even; 128/128. Default since. (That machine's default score kernel at
// 30 x 91 took 21.9 us where call 2's H200 took 14.0: compare within a call.) 11 (call 15, with or
// without INDEXER_SCORE_HEAD_PASSES=2) squeezed ptxas to 40 registers and 368 bytes of stack: 15 x
// 91 pages 14.9 -> 21.6 us; not a declared value since.
#ifndef INDEXER_SCORE_MIN_BLOCKS
#define INDEXER_SCORE_MIN_BLOCKS 8
#endif
// @tunable INDEXER_SCORE_HEAD_PASSES: 1, 2 (default 1) when INDEXER_SCORE_IMPL=1
// The fp8 score kernel's 64 heads in this many passes per warp (2: 16 live accumulators instead of
// 32, the page's key fragments read from shared memory once per pass), so fewer registers allow
// more resident CTAs (with INDEXER_SCORE_MIN_BLOCKS=11, shared memory's limit at ~19 KB a CTA:
// 15 x 91 pages' 1365 CTAs in one wave instead of 1.3). Prediction: the score kernel -15..-25% at
// 82-91 pages, the same sums in the same order (identical scores). Measured (H200, call 15): alone
// 15 x 91 14.9 -> 15.7 us, 30 x 91 20.4 -> 22.4 (8 CTAs per SM already hold a 15-row call's scored
// CTAs in one wave; the second pass re-reads the keys' fragments); with 11 CTAs per SM it spills.
// 128/128. Kept off.
#ifndef INDEXER_SCORE_HEAD_PASSES
#define INDEXER_SCORE_HEAD_PASSES 1
#endif
// @tunable INDEXER_PASS_SPECULATE: 0, 1 (default 1)
// 1: the select's pass-through branch (rows of <= 2048 tokens: 69 of the 128 workloads are only
// that, one launch of 1.4-1.6 us) loads its block-table entries together with the row's length
// instead of after it: the length decides only which entries are used, and every entry below
// max_pages is in bounds. One dependent memory round trip fewer in a kernel that is two of them.
// Prediction (session 8): pass-through calls 1.4-1.6 -> ~1.0-1.2 us; under the contest's mean of
// speedups those 69 workloads are most of the definition's score. Measured (H200, session 9,
// results/gpu/2026-11-26-h200-s9): 1.4 -> 1.2, 1.6 -> 1.4, 1.8 -> 1.4 us; 128/128; the
// definition's mean speedup 1506x -> 1848x. Default since.
#ifndef INDEXER_PASS_SPECULATE
#define INDEXER_PASS_SPECULATE 1
#endif
// @tunable INDEXER_PDL: 0, 1 (default 1)
// 1: on the scoring plan the select kernel is a programmatic dependent of the score kernel
// (cudaLaunchKernelEx): the score kernel lets it launch as its last CTAs start, the select's CTAs
// read their row's length and take their shared memory meanwhile, then wait (griddepcontrol.wait)
// before the first score. The pass-through plan (one select launch) stays a plain launch: nothing
// of this call runs before it. Why: the MoE's and the GDN prefill's launches gained 2-14 us from
// PDL (NOTES.md there); the indexer's two launches have none, and at 33-91 pages a call is 13-28 us.
// Prediction (session 8): -1 to -2 us per scoring call, pass-through unchanged. Measured (H200,
// session 9): 15 x 91 pages 20.4 -> 19.4 us, 27 x 91 27.8 -> 26.5, pass-through unchanged; 128/128.
// Default since.
#ifndef INDEXER_PDL
#define INDEXER_PDL 1
#endif
#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>

namespace {

constexpr int kHeads = 64;
constexpr int kHeadDim = 128;
constexpr int kPageSize = 64;
constexpr int kTopK = 2048;
constexpr int kRowBytes = kHeadDim + 4;                             // 132
constexpr int kPageBytes = kPageSize * kRowBytes;                   // 8448
constexpr int kPageWords = kPageBytes / 4;                          // 2112
constexpr int kFp8Words = kPageSize * kHeadDim / 4;                 // 2048: scales start here
constexpr int kScoreThreads = 256;
constexpr int kHeadGroups = kScoreThreads / kPageSize;              // 4
constexpr int kHeadsPerThread = kHeads / kHeadGroups;               // 16
constexpr int kWordsPerRow = kHeadDim / 4;                          // 32
constexpr int kSelectThreads = INDEXER_SELECT_THREADS;  // the select kernel's loops are blockDim-generic
static_assert(kHeads == kPageSize, "the score kernel loads scales and weights with the same 64 threads");

__device__ __forceinline__ float fp8_to_float(uint32_t byte) {
  __nv_fp8_e4m3 v;
  v.__x = static_cast<__nv_fp8_storage_t>(byte & 0xffu);
  return static_cast<float>(v);
}

__device__ __forceinline__ int clamp_len(int len, int max_len) {
  return len < 0 ? 0 : (len > max_len ? max_len : len);
}

// Programmatic dependent launch (INDEXER_PDL): the score kernels let the select launch early; the
// select waits for them before reading a score. Both are no-ops without it or before sm_90.
__device__ __forceinline__ void allow_select_launch() {
  if constexpr (INDEXER_PDL != 0) afg::pdl_launch_dependents();
}
__device__ __forceinline__ void wait_for_scores() {
  if constexpr (INDEXER_PDL != 0) afg::pdl_wait();
}

// A read-only load the front end must keep where it is written (volatile: it may not be dropped or
// made conditional on the branch that uses the value, which would put it behind the load that
// decides the branch); ptxas then schedules it like any load. Check the SASS when measuring.
__device__ __forceinline__ int32_t load_now(const int32_t* p) {
  int32_t v;
  asm volatile("ld.global.nc.b32 %0, [%1];\n" : "=r"(v) : "l"(p));
  return v;
}
// INDEXER_DIAG_CTA_TIMES: per-CTA phase marks (ns). Score CTA (x + y * gridDim.x): 0 start, 1 length
// and page id in hand, 2 copies landed, 3 products done, 4 end; its SM. Select CTA (row): 0 start,
// 1 scores visible, 2 threshold found, 3 row scanned, 4 end.
constexpr int kDiagMarks = 5;
constexpr int kDiagScoreCtas = 1 << 15;
constexpr int kDiagSelectCtas = 1024;
#if INDEXER_DIAG_CTA_TIMES
__device__ unsigned long long g_diag_score[kDiagScoreCtas][kDiagMarks];
__device__ unsigned g_diag_score_sm[kDiagScoreCtas];
__device__ unsigned long long g_diag_select[kDiagSelectCtas][kDiagMarks];
#endif
// Writes mark `mark` of this CTA (thread 0) once `after` exists: the timer read waits for it.
template <bool kSelect>
__device__ __forceinline__ void diag_mark(int mark, uint32_t after = 0u) {
#if INDEXER_DIAG_CTA_TIMES
  if (threadIdx.x != 0) return;
  const unsigned long long now = afg::globaltimer_after(after);
  if constexpr (kSelect) {
    if (blockIdx.x < kDiagSelectCtas) g_diag_select[blockIdx.x][mark] = now;
  } else {
    const unsigned cta = blockIdx.y * gridDim.x + blockIdx.x;
    if (cta < kDiagScoreCtas) {
      g_diag_score[cta][mark] = now;
      if (mark == 0) g_diag_score_sm[cta] = afg::sm_id();
    }
  }
#endif
}

// A coherent load issued where it is written: ptxas moved the select's non-coherent key loads past
// its next barrier to their first use (ncu, session 13), which put their round trip behind the
// histogram scan instead of beside it. H200, call 14, each setting twice: 15 x 91 pages 15.5 / 15.6
// -> 14.9 / 15.0 us, 30 x 91 21.2 / 21.0 -> 20.4 / 20.5. The wgmma score kernel uses it for its row
// length and page id too, whose non-coherent loads ptxas split across the early exit (session 14).
__device__ __forceinline__ int32_t load_before_barrier(const int32_t* p) {
  int32_t v;
  asm volatile("ld.relaxed.gpu.global.b32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
  return v;
}
// A score kernel's row length or page id: coherent (load_before_barrier), as non-coherent ones
// ptxas sank past the kernels' early exit (session 14); non-coherent with INDEXER_DIAG_NC_SCORE_IDS.
__device__ __forceinline__ int32_t load_score_id(const int32_t* at) {
  return INDEXER_DIAG_NC_SCORE_IDS ? load_now(at) : load_before_barrier(at);
}

// The cache id of row position i, on page `page` of the row's block table.
__device__ __forceinline__ int32_t token_id(int32_t page, int i) { return page * kPageSize + (i % kPageSize); }

// Order-preserving map float -> uint32 (larger float -> larger key; -0 and +0 map alike).
__device__ __forceinline__ uint32_t float_key(float f) {
  const uint32_t u = __float_as_uint(f);
  return f >= 0.0f ? (u | 0x80000000u) : ~u;
}

// INDEXER_SCORE_HIST: the score kernel's histogram per row, bins of the keys' top INDEXER_HIST_BITS
// bits in descending key order (bin 0 holds the largest keys). Session 13 measured 4 copies of it
// (score CTA p counting into copy p % 4) slower: 15 x 91 pages 15.9 -> 16.7 us (H200, call 2).
// The compact select's own path: with INDEXER_SELECT_COMPACT=0 or INDEXER_SELECT_BINNED=1 the
// histogram is off (those selects build their own), so every declared setting builds.
constexpr bool kScoreHist = INDEXER_SCORE_HIST != 0 && INDEXER_SELECT_COMPACT != 0 && INDEXER_SELECT_BINNED == 0;
constexpr int kHistBins = 1 << INDEXER_HIST_BITS;
constexpr int kHistShift = 32 - INDEXER_HIST_BITS;  // a key's bin is its top INDEXER_HIST_BITS bits
constexpr bool kHistInlineClear = kScoreHist && INDEXER_HIST_INLINE_CLEAR != 0;
__device__ __forceinline__ uint32_t hist_bin(uint32_t key) { return (kHistBins - 1) - (key >> kHistShift); }

// The score kernels' histogram: the rows' bins, and for INDEXER_HIST_INLINE_CLEAR each row's flag
// and this call's epoch.
struct ScoreHist {
  uint32_t* bins;                 // [B][kHistBins]
  unsigned long long* flags;      // [B] (INDEXER_HIST_INLINE_CLEAR)
  unsigned long long epoch;

  // Every thread of the CTA calls it as the CTA starts: the first page slot's CTA of row b clears
  // the row (INDEXER_HIST_INLINE_CLEAR) and publishes the epoch.
  __device__ __forceinline__ void begin(int b, int first_slot) const {
    if constexpr (kHistInlineClear) {
      if (first_slot != 0) return;  // block-uniform
      uint4* row = reinterpret_cast<uint4*>(bins + static_cast<int64_t>(b) * kHistBins);
      for (int i = threadIdx.x; i < kHistBins / 4; i += blockDim.x) row[i] = make_uint4(0u, 0u, 0u, 0u);
      __threadfence();
      __syncthreads();
      if (threadIdx.x == 0)
        asm volatile("st.release.gpu.global.u64 [%0], %1;\n" ::"l"(flags + b), "l"(epoch) : "memory");
    }
  }
  // Every thread of the CTA calls it before its first atomic: the row's bins are clear (the clearing
  // kernel's grid complete, INDEXER_PDL; or the row's flag at this epoch).
  __device__ __forceinline__ void wait_cleared(int b) const {
    if constexpr (kHistInlineClear) {
      if (threadIdx.x == 0) {
        unsigned long long seen;
        while (true) {
          asm volatile("ld.acquire.gpu.global.u64 %0, [%1];\n" : "=l"(seen) : "l"(flags + b) : "memory");
          if (seen == epoch) break;
          __nanosleep(64);
        }
      }
      __syncthreads();
    } else if constexpr (INDEXER_PDL != 0) {
      afg::pdl_wait();
    }
  }
  // Counts the scores of the warp's lanes with `counted` into row b's histogram; with
  // INDEXER_HIST_AGGREGATE the lanes that share a bin add once. Every lane of the warp calls it.
  __device__ __forceinline__ void count(int b, bool counted, float score, int lane) const {
    const uint32_t bin = counted ? hist_bin(float_key(score)) : 0xffffffffu;
    uint32_t* at = bins + static_cast<int64_t>(b) * kHistBins + bin;
    if constexpr (INDEXER_DIAG_NO_HIST_ATOMICS != 0) {
      if (bin == 0xfffffffeu) *at = 0u;  // never true: keeps the bin's arithmetic
    } else if constexpr (INDEXER_HIST_AGGREGATE != 0) {
      const uint32_t same = __match_any_sync(0xffffffffu, bin);
      if (counted && (__ffs(same) - 1) == lane) atomicAdd(at, static_cast<uint32_t>(__popc(same)));
    } else {
      if (counted) atomicAdd(at, 1u);
    }
  }
};

// Clears the rows' histograms (grid B, a CTA per row) before the score kernel counts into them;
// with INDEXER_CLEAR_PREFETCH it first asks L2 for the row's length and block-table row, which
// every score CTA of the row loads first.
__global__ void __launch_bounds__(256) indexer_clear_hist_kernel(uint4* __restrict__ hist, const int32_t* __restrict__ seq_lens,
                                                                 const int32_t* __restrict__ block_table, int max_pages) {
  if constexpr (INDEXER_PDL != 0) afg::pdl_launch_dependents();  // the score kernel may start now
  if constexpr (INDEXER_CLEAR_PREFETCH != 0) {
    const int32_t* bt_row = block_table + static_cast<int64_t>(blockIdx.x) * max_pages;
    constexpr int kIdsPerLine = 128 / sizeof(int32_t);
    // Every 128-byte line of the row: one per 32 ids from its start, and its last id's.
    const int lines = (max_pages + kIdsPerLine - 1) / kIdsPerLine;
    if (static_cast<int>(threadIdx.x) <= lines) {
      const int i = static_cast<int>(threadIdx.x) < lines ? static_cast<int>(threadIdx.x) * kIdsPerLine : max_pages - 1;
      asm volatile("prefetch.global.L2 [%0];\n" ::"l"(bt_row + i));
    }
    if (threadIdx.x == blockDim.x - 1) asm volatile("prefetch.global.L2 [%0];\n" ::"l"(seq_lens + blockIdx.x));
  }
  uint4* row = hist + static_cast<int64_t>(blockIdx.x) * (kHistBins / 4);
  for (int i = threadIdx.x; i < kHistBins / 4; i += blockDim.x) row[i] = make_uint4(0u, 0u, 0u, 0u);
}

__global__ void __launch_bounds__(kScoreThreads)
indexer_score_kernel(const uint8_t* __restrict__ q_fp8, const uint32_t* __restrict__ cache_words,
                     const float* __restrict__ weights, const int32_t* __restrict__ seq_lens,
                     const int32_t* __restrict__ block_table, int max_pages, int64_t num_pages,
                     float* __restrict__ scores, ScoreHist hist) {
  __shared__ __align__(16) float s_q[kHeads][kHeadDim];          // 32 KB
  __shared__ uint32_t s_k[kPageSize][kWordsPerRow + 1];          // padded: conflict-free rows
  __shared__ float s_scale[kPageSize];
  __shared__ float s_w[kHeads];
  __shared__ float s_part[kHeadGroups][kPageSize];

  allow_select_launch();
  const int p = blockIdx.x;  // page slot in the block table row
  const int b = blockIdx.y;
  const int tid = threadIdx.x;
  const int L = clamp_len(seq_lens[b], max_pages * kPageSize);
  if (L <= kTopK || p * kPageSize >= L) return;  // block-uniform
  if constexpr (kScoreHist) hist.begin(b, p);

  const int page = block_table[static_cast<int64_t>(b) * max_pages + p];
  const bool page_ok = page >= 0 && static_cast<int64_t>(page) < num_pages;

  const uint8_t* qb = q_fp8 + static_cast<int64_t>(b) * kHeads * kHeadDim;
  for (int i = tid; i < kHeads * kHeadDim; i += kScoreThreads) s_q[i / kHeadDim][i % kHeadDim] = fp8_to_float(qb[i]);
  const uint32_t* pw = cache_words + static_cast<int64_t>(page_ok ? page : 0) * kPageWords;
  for (int i = tid; i < kPageSize * kWordsPerRow; i += kScoreThreads)
    s_k[i / kWordsPerRow][i % kWordsPerRow] = page_ok ? pw[i] : 0u;
  if (tid < kPageSize) {
    s_scale[tid] = page_ok ? __uint_as_float(pw[kFp8Words + tid]) : 0.0f;
    s_w[tid] = weights[static_cast<int64_t>(b) * kHeads + tid];
  }
  __syncthreads();

  const int tok = tid % kPageSize;
  const int hg = tid / kPageSize;
  const float sc = s_scale[tok];
  float acc[kHeadsPerThread];
#pragma unroll
  for (int j = 0; j < kHeadsPerThread; ++j) acc[j] = 0.0f;
#pragma unroll 4
  for (int w = 0; w < kWordsPerRow; ++w) {
    const uint32_t word = s_k[tok][w];
    // Dequantize exactly as the reference: fp8 value times the token's scale, in fp32.
    const float k0 = fp8_to_float(word) * sc;
    const float k1 = fp8_to_float(word >> 8) * sc;
    const float k2 = fp8_to_float(word >> 16) * sc;
    const float k3 = fp8_to_float(word >> 24) * sc;
#pragma unroll
    for (int j = 0; j < kHeadsPerThread; ++j) {
      const float4 qv = *reinterpret_cast<const float4*>(&s_q[hg * kHeadsPerThread + j][4 * w]);
      acc[j] += qv.x * k0 + qv.y * k1 + qv.z * k2 + qv.w * k3;
    }
  }
  float part = 0.0f;
#pragma unroll
  for (int j = 0; j < kHeadsPerThread; ++j) part += fmaxf(acc[j], 0.0f) * s_w[hg * kHeadsPerThread + j];
  s_part[hg][tok] = part;
  __syncthreads();
  if constexpr (kScoreHist) hist.wait_cleared(b);
  if (tid < kPageSize) {  // warps 0 and 1, whole
    const int pos = p * kPageSize + tid;
    float s = 0.0f;
#pragma unroll
    for (int g = 0; g < kHeadGroups; ++g) s += s_part[g][tid];
    if (pos < L) scores[static_cast<int64_t>(b) * max_pages * kPageSize + pos] = s;
    if constexpr (kScoreHist) hist.count(b, pos < L, s, tid & 31);
  }
}

#if INDEXER_SCORE_IMPL >= 1
constexpr bool kScoreEarlyPage = INDEXER_SCORE_EARLY_PAGE != 0;
constexpr int kHeadPasses = INDEXER_SCORE_HEAD_PASSES;
static_assert(kHeadPasses == 1 || kHeadPasses == 2 || kHeadPasses == 4, "INDEXER_SCORE_HEAD_PASSES divides the 4 m tiles");
#include "score_mma.cuh"
#include "score_wgmma.cuh"
#endif

// Keys cached in shared memory per row (dynamic, min(L, this) x 4 bytes); longer rows read the rest
// from the score buffer on every pass.
constexpr int kSelectCacheKeys = 16384;
constexpr bool kSelectCompact = INDEXER_SELECT_COMPACT != 0;
constexpr bool kPassSpeculate = INDEXER_PASS_SPECULATE != 0;
// Candidates kept after two passes (keys and their positions, behind the key cache in dynamic
// shared memory); a row with more keys on the threshold's 16-bit prefix takes the full-row path.
constexpr int kSelectCandidates = 4096;
// Per candidate its key and row position, and (INDEXER_SCORE_HIST) its cache id and its rank order
// (key, then ~position, as one 64-bit word).
constexpr int kSelectCandidateBytes = kSelectCompact ? kSelectCandidates * (kScoreHist ? 20 : 8) : 0;
// INDEXER_SELECT_BINNED: the fine histogram (bins of (max key - key) >> shift, bin 0 the largest
// keys), and how many candidates in the threshold bin are ranked directly (each compares itself
// with all of them: n^2 / threads steps, ~0.5 us at 128). scripts/dev/emulate_binned_select.py
// replays the algorithm: on rows like the workloads' (sums over 64 heads of relu(q.k) times a
// normal weight) the threshold bin holds 37-93 keys.
constexpr bool kSelectBinned = INDEXER_SELECT_BINNED != 0;
constexpr int kSelectBins = 4096;
constexpr int kSelectBinBits = 12;
constexpr int kSelectDirectMax = 256;
static_assert(!kSelectBinned || (kSelectCompact && kSelectBins % kSelectThreads == 0 && kSelectBins == 1 << kSelectBinBits),
              "the binned select is a compact one, whole bins per thread");
static_assert(kSelectBins % kSelectThreads == 0 && kHistBins % kSelectThreads == 0, "whole histogram bins per select thread");
static_assert(kSelectDirectMax <= kSelectThreads, "the direct ranking has a thread per candidate at least");
// INDEXER_SCORE_HIST: keys per thread held in registers from their load to the row scan (rows of up
// to this many times the select's threads; the rest of a longer row is read in the scan).
constexpr int kHeldKeys = 8;

// Output slots for the lanes of the warp with `take` from *counter: an atomic per taking lane, which
// the compiler aggregates per warp itself (one shared add per warp, offsets in lane order). Session
// 13 (H200, INDEXER_SELECT_LEAN, removed after measuring; with the other cuts there): a hand-written
// ballot aggregation got the compiler's sequence nested inside its lane-0 branch (~17 instructions
// per claim); this measured 0.4-0.6 us faster per scoring call.
__device__ __forceinline__ int claim_slot(bool take, int* counter) { return take ? atomicAdd(counter, 1) : 0; }

// The radix digit that holds the rem-th largest key: warp 0 reads the 256-bin histogram, lane l
// holding bins 8l..8l+7, a suffix sum over lanes finds the lane whose bins hold it and that lane
// walks its 8 bins (no thread walks all 256). Updates prefix, mask and remaining.
__device__ __forceinline__ void pick_digit(const uint32_t* hist, int lane, int shift, uint32_t& prefix_out,
                                           uint32_t& mask_out, int& remaining) {
  uint32_t c[8];
  int mine = 0;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    c[j] = hist[8 * lane + j];
    mine += static_cast<int>(c[j]);
  }
  int suffix = mine;  // keys in bins 8l and above
#pragma unroll
  for (int off = 1; off < 32; off <<= 1) {
    const int v = __shfl_down_sync(0xffffffffu, suffix, off);
    if (lane + off < 32) suffix += v;
  }
  const int rem = remaining;
  int above = suffix - mine;  // keys in the bins above this lane's
  if (above < rem && suffix >= rem) {  // exactly one lane
#pragma unroll
    for (int j = 7; j >= 0; --j) {
      const int cj = static_cast<int>(c[j]);
      if (above + cj >= rem) {
        prefix_out |= static_cast<uint32_t>(8 * lane + j) << shift;
        mask_out |= 0xffu << shift;
        remaining = rem - above;
        break;
      }
      above += cj;
    }
  }
}

__global__ void __launch_bounds__(kSelectThreads)
indexer_select_kernel(const float* __restrict__ scores, const uint32_t* __restrict__ hist,
                      const int32_t* __restrict__ seq_lens, const int32_t* __restrict__ block_table, int max_pages,
                      int cache_keys, int32_t* __restrict__ topk_indices) {
  extern __shared__ uint32_t s_keys[];  // cache_keys entries
  __shared__ uint32_t s_hist[256];
  __shared__ uint32_t s_prefix;
  __shared__ uint32_t s_mask;
  __shared__ int s_remaining;
  __shared__ int s_gt;
  __shared__ int s_eq;
  __shared__ int s_cand;  // candidates on the threshold's 16-bit prefix (INDEXER_SELECT_COMPACT)
  // INDEXER_SELECT_BINNED (bins, extremes) and INDEXER_SCORE_HIST (warp totals) only; one element otherwise.
  constexpr int kBinnedWarps = kSelectBinned ? kSelectThreads / 32 : 1;
  __shared__ uint32_t s_bins[kSelectBinned ? kSelectBins : 1];
  __shared__ uint32_t s_warp_max[kBinnedWarps];
  __shared__ uint32_t s_warp_min[kBinnedWarps];
  __shared__ int s_warp_total[kSelectBinned || kScoreHist ? kSelectThreads / 32 : 1];
  __shared__ int s_thr_bin;
  __shared__ int s_above;

  const int b = blockIdx.x;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int32_t* bt = block_table + static_cast<int64_t>(b) * max_pages;
  int32_t* out = topk_indices + static_cast<int64_t>(b) * kTopK;
  constexpr int kPassPerThread = (kTopK + kSelectThreads - 1) / kSelectThreads;
  int32_t early_page[kPassPerThread];
  if (kPassSpeculate) {
    // This thread's pass-through pages, asked for together with the row's length (both are inputs):
    // one memory round trip before the stores instead of two. In bounds: columns < max_pages.
#pragma unroll
    for (int j = 0; j < kPassPerThread; ++j) {
      const int i = tid + j * kSelectThreads;
      early_page[j] = i < kTopK && i / kPageSize < max_pages ? load_now(bt + i / kPageSize) : 0;
    }
  }
  const int L = clamp_len(seq_lens[b], max_pages * kPageSize);

  if (L <= kTopK) {  // block-uniform: every token is in the top-k
#pragma unroll
    for (int j = 0; j < kPassPerThread; ++j) {
      const int i = tid + j * kSelectThreads;
      if (i < kTopK) out[i] = i < L ? token_id(kPassSpeculate ? early_page[j] : bt[i / kPageSize], i) : -1;
    }
    return;
  }

  const float* sc = scores + static_cast<int64_t>(b) * max_pages * kPageSize;
  // INDEXER_SCORE_HIST: the pages of this thread's held keys, asked for while the score kernel runs
  // (the block table is an input; i < L is in bounds), so the row scan places ids without a
  // dependent L2 round trip.
  int32_t held_page[kScoreHist ? kHeldKeys : 1];
  if constexpr (kScoreHist) {
    // One base address per thread, each batch an immediate offset (kSelectThreads / kPageSize pages on).
    const int32_t* my_pages = bt + tid / kPageSize;
#pragma unroll
    for (int j = 0; j < kHeldKeys; ++j)
      held_page[j] = j * kSelectThreads + tid < L ? load_now(my_pages + j * (kSelectThreads / kPageSize)) : 0;
  }
  diag_mark<true>(0);
  wait_for_scores();  // INDEXER_PDL: the score kernel is complete and its scores visible
  diag_mark<true>(1);
  const int cached = L < cache_keys ? L : cache_keys;
  // One read of the row's scores (in L2: the score kernel just wrote them), keys kept on chip.
#pragma unroll 4
  for (int i = tid; i < cached; i += kSelectThreads) s_keys[i] = float_key(sc[i]);
  const auto key_at = [&](int i) { return i < cached ? s_keys[i] : float_key(sc[i]); };
  if (tid == 0) {
    s_prefix = 0u;
    s_mask = 0u;
    s_remaining = kTopK;
    s_gt = 0;
    s_eq = 0;
    s_cand = 0;
    s_thr_bin = 0;  // set by find_threshold_bin; defined even for a histogram that does not add up
    s_above = 0;
  }
  if constexpr (INDEXER_SELECT_DIAG == 1) {
    __syncthreads();
    return;
  }
  // Invariant: at least s_remaining keys match (key & s_mask) == s_prefix, and the keys above that
  // prefix number kTopK - s_remaining.
  // One radix pass over n keys (key_of(c, key) -> whether c is a key of the row, and the key):
  // the histogram of the next 8 bits of the keys on the prefix, then warp 0 picks the digit.
  const auto radix_pass = [&](int shift, int n, auto&& key_of) {
    for (int i = tid; i < 256; i += kSelectThreads) s_hist[i] = 0u;
    __syncthreads();  // the cleared histogram, the keys, the previous pass's digit
    const uint32_t prefix = s_prefix;
    const uint32_t mask = s_mask;
    // Warp-aggregated: the lanes of a warp that share a bin add once (scores of similar size share
    // their top byte, and one atomic per key on one bin serializes).
    for (int base = 0; base < n; base += kSelectThreads) {
      const int c = base + tid;
      uint32_t key = 0u;
      const bool counted = c < n && key_of(c, key) && (key & mask) == prefix;
      const uint32_t bin = counted ? (key >> shift) & 0xffu : 0x100u;  // 0x100: not counted
      const uint32_t same = __match_any_sync(0xffffffffu, bin);
      if (counted && (__ffs(same) - 1) == lane) atomicAdd(&s_hist[bin], static_cast<uint32_t>(__popc(same)));
    }
    __syncthreads();
    if (warp == 0) {
      uint32_t p = prefix, m = mask;
      int rem = s_remaining;
      pick_digit(s_hist, lane, shift, p, m, rem);
      if (m != mask) {  // the one lane that found the digit (its mask grew; s_remaining may be changing)
        s_prefix = p;
        s_mask = m;
        s_remaining = rem;
      }
    }
    __syncthreads();
  };
  const auto row_key = [&](int i, uint32_t& key) {
    key = key_at(i);
    return true;
  };
  // Places key `key` of row position i (gt: above the threshold; eq: equal to it) by warp-
  // aggregated slots: one shared atomic per warp and class, lanes placed by ballot rank.
  const auto place = [&](bool valid, uint32_t key, int i, uint32_t thr, int n_gt, int take_eq) {
    const bool gt = valid && key > thr;
    const bool eq = valid && key == thr;
    const int gt_slot = claim_slot(gt, &s_gt);
    const int eq_slot = claim_slot(eq, &s_eq);
    if (gt || eq) {
      const int32_t id = token_id(bt[i / kPageSize], i);
      if (gt) {
        out[gt_slot] = id;
      } else if (eq_slot < take_eq) {
        out[n_gt + eq_slot] = id;
      }
    }
  };

  // The compact selects' candidate buffer (keys, row positions and with INDEXER_SCORE_HIST cache
  // ids) behind the key cache.
  uint32_t* s_cand_key = s_keys + cache_keys;
  int* s_cand_pos = reinterpret_cast<int*>(s_cand_key + kSelectCandidates);
  int32_t* s_cand_id = s_cand_pos + kSelectCandidates;  // INDEXER_SCORE_HIST only
  // INDEXER_SCORE_HIST only, where the key cache is empty: 48 KB into the dynamic shared memory.
  uint64_t* s_cand_order = reinterpret_cast<uint64_t*>(s_cand_id + kSelectCandidates);
  // Keeps candidate c (when the buffer has room): its key, row position i and, with
  // INDEXER_SCORE_HIST, its cache id id_of() and rank order (key, then ~position, one 64-bit word).
  const auto keep_candidate = [&](int c, uint32_t key, int i, auto&& id_of) {
    if (c >= kSelectCandidates) return;
    s_cand_key[c] = key;
    s_cand_pos[c] = i;
    if constexpr (kScoreHist) {
      s_cand_id[c] = id_of();
      s_cand_order[c] = (static_cast<uint64_t>(key) << 32) | static_cast<uint32_t>(~i);
    }
  };
  // One scan of the row: keys with above(key) are in the top-k (placed now, as "gt"), keys with
  // on(key) are the candidates (kept up to kSelectCandidates). Returns how many were on.
  // split_key: row position i (its key, id_of() its cache id; i >= L: none) of that scan. Every
  // lane of the warp calls it.
  const auto split_key = [&](int i, uint32_t key, auto&& id_of, auto&& above_of, auto&& on_of) {
    const bool above = i < L && above_of(key);
    const bool on = i < L && on_of(key);
    const int above_slot = claim_slot(above, &s_gt);
    const int c = claim_slot(on, &s_cand);
    if (above && INDEXER_SELECT_DIAG != 6) out[above_slot] = id_of();
    if (on) keep_candidate(c, key, i, id_of);
  };
  const auto split_row = [&](auto&& above_of, auto&& on_of) {
    for (int base = 0; base < L; base += kSelectThreads) {
      const int i = base + tid;
      split_key(i, i < L ? key_at(i) : 0u, [&] { return token_id(bt[i / kPageSize], i); }, above_of, on_of);
    }
    __syncthreads();
    return s_cand;
  };
  // The candidates' radix passes from `first_shift` down, then their placement around the
  // threshold: the kept candidates, or (fits false: too many) the row's keys with on(key).
  const auto select_among_candidates = [&](bool fits, int n_cand, int first_shift, auto&& on_of) {
    const int n = fits ? n_cand : L;
    const auto cand_key = [&](int c, uint32_t& key) {
      key = fits ? s_cand_key[c] : key_at(c);
      return fits || on_of(key);
    };
    // 8-bit digits from first_shift down, then the lowest byte (first_shift 12: bits 19-12, 11-4,
    // then 7-0, whose upper half the prefix fixes already).
    for (int shift = first_shift; shift > 0; shift -= 8) radix_pass(shift, n, cand_key);
    radix_pass(0, n, cand_key);
    const uint32_t thr = s_prefix;
    const int take_eq = s_remaining;
    const int n_gt = kTopK - take_eq;  // keys placed by split_row are counted in s_gt already
    for (int base = 0; base < n; base += kSelectThreads) {
      const int c = base + tid;
      uint32_t key = 0u;
      const bool valid = c < n && cand_key(c, key);
      place(valid, key, valid ? (fits ? s_cand_pos[c] : c) : 0, thr, n_gt, take_eq);
    }
  };

  // The bin of the 2048-th largest key, bins in descending key order, thread t holding the counts
  // of bins [t kPer, (t + 1) kPer): a block prefix sum over threads, and the one thread whose bins
  // cross 2048 walks them. Sets s_thr_bin and s_above (the keys in the bins before it); needs more
  // than 2048 keys in all.
  const auto find_threshold_bin = [&](const auto& counts) {
    constexpr int kPer = sizeof(counts) / sizeof(counts[0]);
    int mine = 0;
#pragma unroll
    for (int j = 0; j < kPer; ++j) mine += static_cast<int>(counts[j]);
    int inclusive = mine;
#pragma unroll
    for (int off = 1; off < 32; off <<= 1) {
      const int v = __shfl_up_sync(0xffffffffu, inclusive, off);
      if (lane >= off) inclusive += v;
    }
    if (lane == 31) s_warp_total[warp] = inclusive;
    __syncthreads();
    // The warps before this one: every warp scans the warp totals across its lanes (a loop over
    // up to 31 totals was ~10% of the select's instructions, ncu session 13).
    constexpr int kWarps = kSelectThreads / 32;
    const int total_of_lane = lane < kWarps ? s_warp_total[lane] : 0;
    int warps_inclusive = total_of_lane;
#pragma unroll
    for (int off = 1; off < 32; off <<= 1) {
      const int v = __shfl_up_sync(0xffffffffu, warps_inclusive, off);
      if (lane >= off) warps_inclusive += v;
    }
    const int before = inclusive - mine + __shfl_sync(0xffffffffu, warps_inclusive - total_of_lane, warp);
    if (before < kTopK && before + mine >= kTopK) {  // exactly one thread
      int acc = before;
#pragma unroll
      for (int j = 0; j < kPer; ++j) {
        if (acc + static_cast<int>(counts[j]) >= kTopK) {
          s_thr_bin = tid * kPer + j;
          s_above = acc;
          break;
        }
        acc += static_cast<int>(counts[j]);
      }
    }
    __syncthreads();
  };
  // The kept candidates ranked directly (larger key first, then smaller position: a total order),
  // each written to its own slot after `above` when among the first rem: `split` threads per
  // candidate (as many as the block allows, up to a warp) compare it with a share of the others
  // each, their counts summed by shuffles.
  const auto rank_directly = [&](int n_cand, int above, int rem) {
    // Block-uniform: the largest power of two with n_cand * split <= threads, at most a warp (a
    // shift, not a division: ncu put this phase at a fifth of the select's instructions).
    const int fit = kSelectThreads / (n_cand > 0 ? n_cand : 1);
    const int log_fit = 31 - __clz(fit);
    const int log_split = log_fit < 5 ? log_fit : 5;
    const int split = 1 << log_split;
    const int c = tid >> log_split, part = tid & (split - 1);
    const bool mine = c < n_cand;
    const uint32_t key = mine ? s_cand_key[c] : 0u;
    const int pos = mine ? s_cand_pos[c] : 0;
    int rank = 0;
    if (mine) {
      if constexpr (kScoreHist) {  // one 64-bit load and compare per other candidate
        const uint64_t order = s_cand_order[c];
#pragma unroll 4
        for (int o = part; o < n_cand; o += split) rank += s_cand_order[o] > order ? 1 : 0;
      } else {
#pragma unroll 4
        for (int o = part; o < n_cand; o += split) {
          const uint32_t other = s_cand_key[o];
          rank += other > key || (other == key && s_cand_pos[o] < pos) ? 1 : 0;
        }
      }
    }
    for (int off = 1; off < split; off <<= 1) rank += __shfl_xor_sync(0xffffffffu, rank, off);
    if (mine && part == 0 && rank < rem)
      out[above + rank] = kScoreHist ? s_cand_id[c] : token_id(bt[pos / kPageSize], pos);
  };

  if constexpr (!kSelectCompact) {
#pragma unroll 1
    for (int pass = 0; pass < 4; ++pass) radix_pass(24 - 8 * pass, L, row_key);
    const uint32_t thr = s_prefix;        // key of the 2048-th largest score
    const int take_eq = s_remaining;      // how many keys equal to thr to take (>= 1)
    const int n_gt = kTopK - take_eq;     // number of keys strictly greater than thr
    for (int base = 0; base < L; base += kSelectThreads) {
      const int i = base + tid;
      const uint32_t key = i < L ? key_at(i) : 0u;
      place(i < L, key, i, thr, n_gt, take_eq);
    }
  } else if constexpr (kSelectBinned) {
    constexpr int kWarps = kSelectThreads / 32;
    // 1. The row's largest and smallest keys (each thread reads back the keys it cached itself),
    // the bins cleared; bins of (max - key) >> shift with max - min fitting 12 bits.
    uint32_t my_max = 0u, my_min = 0xffffffffu;
    for (int i = tid; i < L; i += kSelectThreads) {
      const uint32_t key = key_at(i);
      my_max = key > my_max ? key : my_max;
      my_min = key < my_min ? key : my_min;
    }
    for (int i = tid; i < kSelectBins; i += kSelectThreads) s_bins[i] = 0u;
    my_max = __reduce_max_sync(0xffffffffu, my_max);
    my_min = __reduce_min_sync(0xffffffffu, my_min);
    if (lane == 0) {
      s_warp_max[warp] = my_max;
      s_warp_min[warp] = my_min;
    }
    __syncthreads();  // the warps' extremes, the cleared bins
    uint32_t kmax = s_warp_max[0], kmin = s_warp_min[0];
#pragma unroll
    for (int w = 1; w < kWarps; ++w) {
      kmax = s_warp_max[w] > kmax ? s_warp_max[w] : kmax;
      kmin = s_warp_min[w] < kmin ? s_warp_min[w] : kmin;
    }
    const int span_bits = 32 - __clz(static_cast<int>(kmax - kmin));  // 0 when every key is equal
    const int shift = span_bits > kSelectBinBits ? span_bits - kSelectBinBits : 0;
    const auto bin_of = [&](uint32_t key) { return (kmax - key) >> shift; };  // < 4096
    // 2. The histogram, warp-aggregated like the radix passes' (neighbouring keys share bins).
    for (int base = 0; base < L; base += kSelectThreads) {
      const int i = base + tid;
      const uint32_t bin = i < L ? bin_of(key_at(i)) : 0xffffffffu;
      const uint32_t same = __match_any_sync(0xffffffffu, bin);
      if (i < L && (__ffs(same) - 1) == lane) atomicAdd(&s_bins[bin], static_cast<uint32_t>(__popc(same)));
    }
    __syncthreads();
    // 3. The bin of the 2048-th largest key.
    constexpr int kPer = kSelectBins / kSelectThreads;
    uint32_t counts[kPer];
#pragma unroll
    for (int j = 0; j < kPer; ++j) counts[j] = s_bins[tid * kPer + j];
    find_threshold_bin(counts);
    const uint32_t thr_bin = static_cast<uint32_t>(s_thr_bin);
    const int above = s_above;      // keys in the bins above: all in the top-k
    const int rem = kTopK - above;  // how many of the threshold bin's keys to take (>= 1)
    // 4. One scan: keys above the bin to the output, the bin's keys kept as candidates.
    const auto on_bin = [&](uint32_t key) { return bin_of(key) == thr_bin; };
    const int n_cand = split_row([&](uint32_t key) { return bin_of(key) < thr_bin; }, on_bin);
    const bool fits = n_cand <= kSelectCandidates;  // block-uniform
    if (fits && n_cand <= kSelectDirectMax) {
      rank_directly(n_cand, above, rem);  // 5a. each candidate's rank among the bin's keys
    } else {
      // 5b. Too many for that: the rem-th largest of the bin's keys by 8-bit radix passes over them
      // (or over the row's keys in the bin when they did not fit), then the placement.
      if (tid == 0) s_remaining = rem;  // s_prefix and s_mask are 0 from the start
      select_among_candidates(fits, n_cand, 24, on_bin);
    }
  } else if constexpr (kScoreHist) {
    // 1. The row's histogram (the score kernel's) and the row's keys, every load issued before
    // either is used; the keys stay in registers until the scan.
    constexpr int kPer = kHistBins / kSelectThreads;
    uint32_t counts[kPer];
    const uint32_t* my_bins = hist + static_cast<int64_t>(b) * kHistBins + tid * kPer;
#pragma unroll
    for (int j = 0; j < kPer; ++j) counts[j] = my_bins[j];
    // The keys' bits, every load unconditional and converted only after the histogram scan: ncu's
    // source view (H100, session 13) had each conditional load followed by its conversion, so the
    // eight loads went one round trip at a time (the largest stall of the select). Past the row's
    // end they read the next row's scores or the scratch's tail padding (the host pads the score
    // buffer by kHeldKeys x threads floats), never used: one base address per thread and immediate
    // offsets, no per-load clamp.
    int32_t held_bits[kHeldKeys];
    const int32_t* my_bits = reinterpret_cast<const int32_t*>(sc) + tid;
#pragma unroll
    for (int j = 0; j < kHeldKeys; ++j) held_bits[j] = load_before_barrier(my_bits + j * kSelectThreads);
    if constexpr (INDEXER_SELECT_DIAG == 4) {
      uint32_t all = 0u;
#pragma unroll
      for (int j = 0; j < kHeldKeys; ++j) all ^= static_cast<uint32_t>(held_bits[j]);
      if (all == 0x9e3779b9u) s_cand = 1;  // depends on every load
      __syncthreads();
      return;
    }
    // 2. The bin of the 2048-th largest key: its 12 key bits, the keys above it, how many to take.
    find_threshold_bin(counts);
    diag_mark<true>(2, static_cast<uint32_t>(s_thr_bin));
    if constexpr (INDEXER_SELECT_DIAG == 2) return;
    uint32_t held[kHeldKeys];
#pragma unroll
    for (int j = 0; j < kHeldKeys; ++j)
      held[j] = j * kSelectThreads + tid < L ? float_key(__int_as_float(held_bits[j])) : 0u;
    const uint32_t top = static_cast<uint32_t>(kHistBins - 1 - s_thr_bin);
    const int above = s_above;
    const int rem = kTopK - above;
    const auto above_bin = [&](uint32_t key) { return (key >> kHistShift) > top; };
    const auto on_bin = [&](uint32_t key) { return (key >> kHistShift) == top; };
    // 3. One scan: keys above the bin to the output, the bin's keys kept as candidates.
    // Slots from the two shared counters, one add per warp and batch (the compiler aggregates
    // them). Tried and removed: one add per warp for all its batches (INDEXER_HIST_SCAN_SLOTS,
    // slower in sessions 13 and 14: 15 x 91 pages 11.6 -> 12.0 us on the H100).
#pragma unroll
    for (int j = 0; j < kHeldKeys; ++j) {
      const int i = j * kSelectThreads + tid;
      if (j * kSelectThreads < L) split_key(i, held[j], [&] { return token_id(held_page[j], i); }, above_bin, on_bin);
    }
    for (int base = kHeldKeys * kSelectThreads; base < L; base += kSelectThreads) {
      const int i = base + tid;
      split_key(i, i < L ? key_at(i) : 0u, [&] { return token_id(bt[i / kPageSize], i); }, above_bin, on_bin);
    }
    __syncthreads();
    diag_mark<true>(3);
    if constexpr (INDEXER_SELECT_DIAG == 3 || INDEXER_SELECT_DIAG == 6) return;
    const int n_cand = s_cand;
    // block-uniform (INDEXER_DIAG_FORCE_REFINE sends every row down one of the rare paths)
    const bool fits = n_cand <= kSelectCandidates && INDEXER_DIAG_FORCE_REFINE != 2;
    if (fits && n_cand <= kSelectDirectMax && INDEXER_DIAG_FORCE_REFINE == 0) {
      rank_directly(n_cand, above, rem);  // 4a. each candidate's rank among the bin's keys
    } else {
      if constexpr (INDEXER_SELECT_DIAG == 5) return;
      // 4b. The rem-th largest of the bin's keys by radix passes over their low 20 bits (over the
      // row's keys in the bin when they did not fit), then the placement.
      if (tid == 0) {
        s_prefix = top << kHistShift;
        s_mask = ~0u << kHistShift;
        s_remaining = rem;
      }
      select_among_candidates(fits, n_cand, kHistShift - 8, on_bin);
    }
    diag_mark<true>(4);
  } else {
    radix_pass(24, L, row_key);
    radix_pass(16, L, row_key);
    if constexpr (INDEXER_SELECT_DIAG == 2) return;
    // One scan: keys above the threshold's 16-bit prefix are in the top-k (placed now, as "gt"),
    // keys on it are the candidates for the last two passes.
    const uint32_t prefix16 = s_prefix, mask16 = s_mask;
    const auto on_prefix = [&](uint32_t key) { return (key & mask16) == prefix16; };
    const int n_cand = split_row([&](uint32_t key) { return (key & mask16) > prefix16; }, on_prefix);
    if constexpr (INDEXER_SELECT_DIAG == 3) return;
    select_among_candidates(n_cand <= kSelectCandidates, n_cand, 8, on_prefix);
  }
}

bool check(bool ok, const char* what) { return afg::expect(ok, "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64", what); }

}  // namespace

void run(afg::Tensor q_index_fp8, afg::Tensor k_index_cache_fp8, afg::Tensor weights, afg::Tensor seq_lens,
         afg::Tensor block_table, afg::Tensor topk_indices, cudaStream_t stream) {
  using afg::DType;
  if (!check(q_index_fp8.rank == 3 && q_index_fp8.dtype == DType::Float8E4M3FN &&
                 q_index_fp8.size(1) == kHeads && q_index_fp8.size(2) == kHeadDim, "q_index_fp8")) return;
  const int64_t B = q_index_fp8.size(0);
  if (!check(k_index_cache_fp8.rank == 4 && k_index_cache_fp8.dtype == DType::Int8 &&
                 k_index_cache_fp8.size(1) == kPageSize && k_index_cache_fp8.size(2) == 1 &&
                 k_index_cache_fp8.size(3) == kRowBytes, "k_index_cache_fp8")) return;
  const int64_t num_pages = k_index_cache_fp8.size(0);
  if (!check(weights.rank == 2 && weights.dtype == DType::Float32 && weights.size(0) == B &&
                 weights.size(1) == kHeads, "weights")) return;
  if (!check(seq_lens.rank == 1 && seq_lens.dtype == DType::Int32 && seq_lens.size(0) == B, "seq_lens")) return;
  if (!check(block_table.rank == 2 && block_table.dtype == DType::Int32 && block_table.size(0) == B, "block_table")) return;
  const int64_t max_pages = block_table.size(1);
  if (!check(topk_indices.rank == 2 && topk_indices.dtype == DType::Int32 && topk_indices.size(0) == B &&
                 topk_indices.size(1) == kTopK, "topk_indices")) return;
  if (B == 0) return;
  if (!check(B <= 65535 && max_pages <= (1 << 20), "batch size or max_num_pages (too large)")) return;
  if (!check(reinterpret_cast<std::uintptr_t>(k_index_cache_fp8.data) % 4 == 0, "k_index_cache_fp8 alignment")) return;

  float* scores = nullptr;
  uint32_t* hist = nullptr;  // INDEXER_SCORE_HIST: behind the scores in the same allocation
  // INDEXER_SCORE_HIST: padded by the select's held keys, so its unconditional loads past the last
  // row stay in the allocation (a multiple of 256 bytes either way).
  const size_t score_bytes = (static_cast<size_t>(B) * static_cast<size_t>(max_pages) * kPageSize +
                              (kScoreHist ? kHeldKeys * kSelectThreads : 0)) * sizeof(float);
  // The histogram's bins, then (INDEXER_HIST_INLINE_CLEAR) the rows' flags.
  const size_t hist_bytes = kScoreHist ? static_cast<size_t>(B) * (kHistBins * sizeof(uint32_t) +
                                                                  (kHistInlineClear ? sizeof(unsigned long long) : 0))
                                       : 0;
  ScoreHist score_hist{};
  cudaError_t launch_err = cudaSuccess;
  // Launch plan from the shapes alone (no device sync): with max_num_pages * 64 <= 2048 every row
  // holds at most 2048 tokens, the answer is all of them, and one launch of the select kernel
  // (its pass-through branch) is the whole call: no scratch, no scores.
  if (max_pages > 0 && max_pages * kPageSize > kTopK) {
    AFG_CUDA_CHECK(afg::scratch_malloc(reinterpret_cast<void**>(&scores), score_bytes + hist_bytes, stream));
    if (kScoreHist) {  // score_bytes is a multiple of 256: the histogram's uint4 rows are aligned
      hist = reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(scores) + score_bytes);
      score_hist.bins = hist;
      score_hist.flags = reinterpret_cast<unsigned long long*>(hist + static_cast<size_t>(B) * kHistBins);
      if (kHistInlineClear) {
        // This call's epoch: a per-process counter through a 64-bit mix (splitmix64's finalizer), so
        // neither a stale flag in reused scratch nor fresh memory's contents plausibly match it.
        static unsigned long long calls = 0;
        unsigned long long z = ++calls * 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        score_hist.epoch = z ^ (z >> 31);
      } else {
        indexer_clear_hist_kernel<<<static_cast<unsigned>(B), 256, 0, stream>>>(reinterpret_cast<uint4*>(hist), seq_lens.ptr<const int32_t>(),
                                                                            block_table.ptr<const int32_t>(), static_cast<int>(max_pages));
      }
    }
#if INDEXER_SCORE_IMPL >= 1
    if (!check(reinterpret_cast<std::uintptr_t>(k_index_cache_fp8.data) % 16 == 0 &&
                   reinterpret_cast<std::uintptr_t>(q_index_fp8.data) % 16 == 0,
               "16-byte alignment of q_index_fp8 / k_index_cache_fp8 (cp.async)")) {
      cudaFreeAsync(scores, stream);
      return;
    }
    const dim3 grid_mma(static_cast<unsigned>((max_pages + INDEXER_SCORE_PAGES - 1) / INDEXER_SCORE_PAGES),
                        static_cast<unsigned>(B));
    // A programmatic dependent of the histogram's clearing (INDEXER_SCORE_HIST with INDEXER_PDL).
    const bool score_pdl = INDEXER_PDL && kScoreHist && !kHistInlineClear;
    if (INDEXER_SCORE_IMPL == 2 && afg::built_with_wgmma()) {
      constexpr auto kernel = score_wgmma::indexer_score_wgmma_kernel;
      if constexpr (INDEXER_SCORE_MIN_BLOCKS > 1) afg::prefer_max_shared_carveout<kernel>();
      launch_err = afg::launch(score_pdl, kernel, dim3(static_cast<unsigned>(max_pages), static_cast<unsigned>(B)),
                               dim3(score_wgmma::kThreads), score_wgmma::kDynamicSmem, stream,
                               q_index_fp8.ptr<const uint8_t>(), k_index_cache_fp8.ptr<const uint8_t>(),
                               weights.ptr<const float>(), seq_lens.ptr<const int32_t>(),
                               block_table.ptr<const int32_t>(), static_cast<int>(max_pages), num_pages, scores,
                               score_hist);
    } else {
      // The carveout for 8 resident CTAs; best effort (the default carveout still runs, at 6).
      if constexpr (INDEXER_SCORE_MIN_BLOCKS > 1) afg::prefer_max_shared_carveout<score_mma::indexer_score_mma_kernel<INDEXER_SCORE_PAGES>>();
      launch_err = afg::launch(score_pdl, score_mma::indexer_score_mma_kernel<INDEXER_SCORE_PAGES>, grid_mma,
                               dim3(score_mma::kThreads), 0, stream, q_index_fp8.ptr<const uint8_t>(),
                               k_index_cache_fp8.ptr<const uint8_t>(), weights.ptr<const float>(),
                               seq_lens.ptr<const int32_t>(), block_table.ptr<const int32_t>(), static_cast<int>(max_pages),
                               num_pages, scores, score_hist);
    }
#else
    const dim3 grid(static_cast<unsigned>(max_pages), static_cast<unsigned>(B));
    launch_err = afg::launch(INDEXER_PDL && kScoreHist && !kHistInlineClear, indexer_score_kernel, grid,
                             dim3(kScoreThreads), 0, stream,
                             q_index_fp8.ptr<const uint8_t>(), k_index_cache_fp8.ptr<const uint32_t>(),
                             weights.ptr<const float>(), seq_lens.ptr<const int32_t>(), block_table.ptr<const int32_t>(),
                             static_cast<int>(max_pages), num_pages, scores, score_hist);
#endif
  }
  // Scores exist only on the scoring plan; the pass-through launch needs no key cache, nor does the
  // histogram's select (INDEXER_SCORE_HIST: its keys stay in registers; the rare fallback reads L2).
  const int cache_keys = scores == nullptr || kScoreHist
                             ? 0
                             : static_cast<int>(std::min<int64_t>(max_pages * kPageSize, kSelectCacheKeys));
  // The key cache, then (INDEXER_SELECT_COMPACT, scoring plan only) the candidate buffer.
  const size_t cache_bytes = static_cast<size_t>(cache_keys) * sizeof(uint32_t) + (scores == nullptr ? 0 : kSelectCandidateBytes);
  // The 48 KB default covers static and dynamic shared memory together: the scoring plan always
  // raises the limit (once per process), so a cache of just under 48 KB plus the kernel's static
  // arrays is not refused (a cache just under 48 KB, max_num_pages about 60-64, was, before
  // session 11).
  if (launch_err == cudaSuccess && scores != nullptr)
    launch_err = afg::allow_dynamic_smem<indexer_select_kernel>(kSelectCacheKeys * static_cast<int>(sizeof(uint32_t)) +
                                                                kSelectCandidateBytes);
  if (launch_err == cudaSuccess) {
    // A dependent launch only behind this call's own score kernel (INDEXER_PDL).
    launch_err = afg::launch(INDEXER_PDL && scores != nullptr, indexer_select_kernel, dim3(static_cast<unsigned>(B)),
                             dim3(kSelectThreads), cache_bytes, stream, static_cast<const float*>(scores),
                             static_cast<const uint32_t*>(hist), seq_lens.ptr<const int32_t>(),
                             block_table.ptr<const int32_t>(), static_cast<int>(max_pages), cache_keys,
                             topk_indices.ptr<int32_t>());
    // The clearing kernel's launch error too (a <<<>>> launch: cudaGetLastError reports it);
    // peeked, so the binding still returns it as this call's failure.
    if (launch_err == cudaSuccess) launch_err = cudaPeekAtLastError();
  }
  if (scores != nullptr) cudaFreeAsync(scores, stream);
  if (launch_err != cudaSuccess) {
    std::fprintf(stderr, "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64: launch failed: %s\n",
                 cudaGetErrorString(launch_err));
    afg::report_error(launch_err);
  }
}
