// two_pass.cuh: the chunked gated delta rule in two launches (GDN_PREFILL_IMPL=1).
//
// Why: the single-pass kernel keeps one CTA per (sequence, head, value slice) busy with every
// chunk-local product of every chunk in turn, so a long sequence runs 16 CTAs on a 132-SM GPU and
// each chunk costs its whole dependent chain (loads, two 64x64x128 products, the triangular solve,
// two more products) on the critical path. Only the state recurrence is sequential:
//   pass 1, chunk_prep_kernel, one CTA per (chunk slot, value head), all chunks at once:
//     cum (log G), A, T = (I+A)^-1, W = T diag(beta G) K, U = T diag(beta) V (all 128 columns),
//     P = (Q K^T) o M, Kd = diag(G_C/G) K  -> workspace (bf16; cum fp32)
//   pass 2, chunk_scan_kernel<BV>, one CTA per (sequence, value head, slice of BV columns), over the
//     sequence's chunks with the next chunk's operands arriving by cp.async while this one computes:
//     U' = U - W S,  O = scale (diag(G) Q S + P U'),  S = G_C S + Kd^T U'
// Chunk slots: chunk i of sequence n is slot floor(bos_n / 64) + n + i. Slots are distinct (a
// sequence of L tokens from bos has ceil(L/64) <= floor((bos+L)/64) - floor(bos/64) + 1 chunks) and
// below floor(T/64) + N, so the host sizes the grid and the workspace from T and N alone, with no
// device synchronization; a slot that no chunk owns exits at once.
// Included inside kernel.cu's anonymous namespace (constants, helpers, solve_unit_lower).

// @tunable GDN_PREFILL_SCAN_BV: 32, 64 (default 32) when GDN_PREFILL_PLAN=0
// Value columns per scan CTA: 32 gives 4 CTAs per (sequence, head) and half the products per chunk.
#ifndef GDN_PREFILL_SCAN_BV
#define GDN_PREFILL_SCAN_BV 32
#endif
// @tunable GDN_PREFILL_SCAN_STAGES: 1, 2 (default 2) when GDN_PREFILL_IMPL=1
// 2: the next chunk's operands load while this chunk computes (~140 KB of shared memory, one CTA
// per SM); 1: no overlap, less shared memory.
#ifndef GDN_PREFILL_SCAN_STAGES
#define GDN_PREFILL_SCAN_STAGES 2
#endif

// @tunable GDN_PREFILL_PDL: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: the scan is launched as a programmatic dependent of the prep pass (cudaLaunchKernelEx): its
// CTAs start as the last prep wave runs, load their initial state, then wait for the workspace.
#ifndef GDN_PREFILL_PDL
#define GDN_PREFILL_PDL 1
#endif

// @tunable GDN_PREFILL_PLAN: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: the scan's value slice is chosen per call from the total token count (no device sync): 64
// columns from GDN_PREFILL_PLAN_LONG_T tokens on, 32 below; 0: GDN_PREFILL_SCAN_BV for every call.
// The tuner promoted SCAN_BV=64 in the >= 5710-token band only (H200: 0.1805 vs 0.1969 ms,
// results/gpu/2026-11-26-h200x2-scale-check). Measured on the H200 (session 4 of 2026-11-26,
// results/gpu/2026-11-26-h200-s4-checks): 100/100 workloads pass; 8192 tokens 205.6 -> 199.6 us
// in the same call, shorter inputs unchanged (they keep 32). Default since.
#ifndef GDN_PREFILL_PLAN
#define GDN_PREFILL_PLAN 1
#endif
// @tunable GDN_PREFILL_PLAN_LONG_T: 2048, 5710 (default 5710) when GDN_PREFILL_PLAN=1
#ifndef GDN_PREFILL_PLAN_LONG_T
#define GDN_PREFILL_PLAN_LONG_T 5710
#endif
// @tunable GDN_PREFILL_PLAN_WIDE_WAVES: 0, 2, 3 (default 0) when GDN_PREFILL_PLAN=1
// W > 0: 64-column scan slices also below GDN_PREFILL_PLAN_LONG_T tokens when the 32-column grid
// (N x 8 x 4 CTAs, one per SM) would take more than W waves; 0: by the token count alone. Why: with
// many sequences the scan is a queue of short chains (4124 / 15: 480 CTAs, 3.6 waves, each chain
// ~4 chunks plus ~3 us of state load and store), and a 64-column CTA does twice the columns for less
// than twice the time (the chunk's W, Kd, Q and P are loaded once for all of them). Session 22's
// call 9: 4124 / 15 and 3999 / 13 are the 1025-5709 band's worst against FLA (1.63, 1.67); their
// scans take 44 and 43 us after a 37-us prep. First guess: those scans ~44 -> ~32 us (1.8 waves at
// ~1.5x the step). Then scripts/dev/gdn_scan_model.py, calibrated on call 9's timelines (its --fit:
// 64 columns cost 4.5 us a CTA + 2.5 a chunk against 2.25 + 1.40 at 32, rms 0.7-1.2 us), predicts
// 4124 / 15 even (34.2 -> 34.5 us of scan) and 3999 / 13 +16.7 (its 18-chunk chain at 2.5 us a
// chunk): expected to lose. Kept, default 0, as a check of the model. No other workload of the
// dataset changes plan (3028 / 5 is 1.2 waves).
#ifndef GDN_PREFILL_PLAN_WIDE_WAVES
#define GDN_PREFILL_PLAN_WIDE_WAVES 0
#endif
// @tunable GDN_PREFILL_PLAN_NARROW: 0, 1 (default 1) when GDN_PREFILL_PLAN=1
// 1: below GDN_PREFILL_PLAN_LONG_T tokens, 16-column scan slices when the grid (8 CTAs per sequence
// and head) still fits one wave (N * 64 <= the SM count, queried on the host), else 32. Narrower
// slices halve the products on each sequence's chain but double the CTAs reading each chunk. Only
// the split scan has 16-column slices (with GDN_PREFILL_SCAN_SPLIT=0 it stays 32). H200, session 9,
// 16 columns at every N: 2107 tokens / 1 sequence 80.5 -> 66.5 us, 5709 / 2 181.2 -> 144.8, 461 / 2
// 25.4 -> 22.0, but 3-4 sequences (two waves) 8-16% slower (139 / 3 15.6 -> 16.8, 832 / 4 23.2 ->
// 26.8): hence the one-wave rule.
#ifndef GDN_PREFILL_PLAN_NARROW
#define GDN_PREFILL_PLAN_NARROW 1
#endif
// @tunable GDN_PREFILL_PLAN_NARROW_LONG: 0, 1 (default 1) when GDN_PREFILL_PLAN_NARROW=1
// 1: 16-column slices also for N <= 3 sequences when T >= 256 N (an average of 4 chunks or more;
// below GDN_PREFILL_PLAN_LONG_T), two waves or not. Why: the one-wave rule was measured before the
// scan took sequences longest first (GDN_PREFILL_SCAN_LPT); with it, the longest sequence's 64 CTAs
// start first and the short ones' fill the second wave behind its chain. scripts/dev/gdn_scan_model.py on
// the dataset's calls (3 us per CTA, 1.4 / 2.2 us per chunk at 16 / 32 columns, guessed from 2107 / 1
// and 3028 / 5) picks 16 columns for seven 3-sequence calls (e44ba4d3 1592 / 3: 47 -> 31 us of scan,
// a87ded8a 2857 / 3: 51 -> 40, aaa378be 1800 / 3: 32 -> 28) and still 32 for 139 / 3 and 832 / 4,
// the calls that measured 8-16% slower with 16 columns in session 9. Measured (H200, session 11
// call 1, results/gpu/2026-11-26-h200-s11): e44ba4d3 53.2 -> 41.9 us, a87ded8a 65.1 -> 57.7,
// aaa378be 40.7 -> 39.2, 08d4f2c4 (2284 / 3) 58.0 -> 51.1, a01a3f93 (973 / 3) 31.5 -> 27.5, 139 / 3
// 14.5 -> 14.6 (model's direction right, its gains ~60-70% of the measured); 100/100 PASS: default.
#ifndef GDN_PREFILL_PLAN_NARROW_LONG
#define GDN_PREFILL_PLAN_NARROW_LONG 1
#endif

// @tunable GDN_PREFILL_SCAN_LPT: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: the scan's CTAs take sequences longest first (ranked in-kernel from cu_seqlens before the wait
// for the prep, no host synchronization) when its grid is more than one wave. Why: at 8192 tokens
// (20-57 sequences of 1-1417 tokens, 9-23 chunks for the longest) the scan is 624-912 CTAs at one
// CTA per SM, started in sequence order, so a long sequence's chain can start in the last wave.
// ncu at 8192 / 39 (session 10): scan 102.7 us, prep 81.4. A list-scheduling model (scripts/dev/gdn_scan_model.py) of the dataset's
// 8192-token calls (3 us per CTA + 4 us per chunk) puts sequence order at 97-147 us and longest-first
// at 84-101. Predicted: scan -10..-30% at 8192, no change below (one wave, or one or two sequences).
// H200, session 10 (call 4), same call: 8192 / 39, 43, 35, 25 sequences 139.6 / 157.7 / 168.3 /
// 174.9 -> 131.4 / 133.7 / 135.6 / 139.1 us (whole call, -6..-20%), 4124 / 15 80.9 -> 75.5, the one-
// and two-sequence calls and 139 / 3 unchanged (no ranking there); all 100 workloads pass (call 5);
// racecheck, synccheck, memcheck clean on 4124 / 15 (480 ranked CTAs). Default since.
#ifndef GDN_PREFILL_SCAN_LPT
#define GDN_PREFILL_SCAN_LPT 1
#endif

// The scan's value-slice width BV (a template parameter, so a plan can pick it per call) and the
// shapes that follow from it.
// @tunable GDN_PREFILL_PREP_LEAN: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: the prep's tile loads and workspace stores walk rows from a per-thread column piece (one
// address, immediate row offsets) and the decay factors are branch-free (decay_exp_or_zero), with
// each lane's cum values loaded once; 0: a flat index divided into (row, column) per piece and a
// branch around each factor's exp. Why: ncu (session 23, call 4) counted ~180 instructions a warp
// for 12 copies, ~145 for 8 stores and ~150 for the decay step (a BSSY / BSYNC pair and a denormal
// rescale around every exp); the prep issues on 30% of cycles with two CTAs an SM, so the phases
// where every warp runs that code are issue-bound. Same values (ex2 differs only for denormal
// results, flushed to zero). Predicted: -300..-500 instructions a warp of ~1490, the loads, products
// and stores phases -5..-15% each.
#ifndef GDN_PREFILL_PREP_LEAN
#define GDN_PREFILL_PREP_LEAN 1
#endif

template <int BV>
struct ScanShape {
  static constexpr int kSlices = kD / BV;
  static constexpr int kNT = BV / 8;   // n8 tiles per row of a [*][BV] product
  static constexpr int kLdS = BV + 8;  // bf16 row stride of [*][BV] tiles
  static_assert(kNT % 4 == 0, "BV must be a multiple of 32 (two warps share a row tile)");
};
constexpr int kStages = GDN_PREFILL_SCAN_STAGES;
// Eight warps per CTA in both passes: the chains are latency-bound (one warp per scheduler issued
// every ~5 cycles with four warps), so more warps per CTA shorten each chunk's chain.
constexpr int kPrepThreads = 256;
constexpr int kScanThreads = 256;

// Workspace of one (slot, value head): W, U, Kd [64][128] bf16, P [64][64] bf16, cum [64] fp32.
struct ChunkWorkspace {
  __nv_bfloat16* w;
  __nv_bfloat16* u;
  __nv_bfloat16* kd;
  __nv_bfloat16* p;
  float* cum;
  __nv_bfloat16* s;  // GDN_PREFILL_SCAN_APART: each chunk's bf16 S copy (scan_apart.cuh), else null
  int* ready;        // GDN_PREFILL_SCAN_APART: per (slot, head), the scan slices done with it, else null
  // GDN_PREFILL_CHUNK_FLAGS: per (slot, head), nonzero once the prep's stores of the chunk are
  // visible at gpu scope (the scans and the output kernel wait for it instead of the prep grid's
  // end), else null. Each prep CTA zeroes its own flag and makes that visible before it lets the
  // scan launch, so a value left in the reused workspace never reads as set (and no per-call tag
  // is needed, which a replayed CUDA graph could not renew).
  unsigned* prepped;
  // GDN_PREFILL_SCAN_PERSISTENT (scan_persist.cuh): the persistent scan's item counter, zeroed by the
  // prep (its CTA 0), else null.
  int* items;
};
// @tunable GDN_PREFILL_CHUNK_FLAGS: 0, 1 (default 0) when GDN_PREFILL_SCAN_SPLIT=1
// 1: the prep marks each (chunk slot, head) done with a flag once its stores are visible, and the
// scans (the split scan's and the apart scan's bulk-copy loaders, the apart output kernel) wait for
// their chunks' flags instead of for the whole prep grid (griddepcontrol.wait). Why (session 22,
// call 9): every scan starts its chain only after the last prep CTA has ended, though it launches
// (PDL) once the last prep CTA has started: 2857 / 3 scan launched at 14.9 us, prep ended 24.7;
// 2284 / 3 14.6 / 23.9; 4124 / 15 28.2 / 37.4; 8192 / 39 54.5 / 63.6; 2107 / 1 14.6 / 16.3. A scan CTA
// still needs an SM without prep CTAs (its shared memory), so it starts as the prep's last CTAs
// leave, and its first chunks were prepped in an earlier wave or are in the last. Predicted: most
// of that gap back where the scan's first chunks are prepped early, -4..-9 us on the middle band's
// several-sequence calls (2857 / 3 1.68 -> ~1.9 against FLA), -5..-10 at 8192; the prep's CTAs each
// add a barrier, a fence and a flag store at their end. Needs bulk-copy loads (GDN_PREFILL_SCAN_BULK)
// and, apart, the loader warp.
#ifndef GDN_PREFILL_CHUNK_FLAGS
#define GDN_PREFILL_CHUNK_FLAGS 0
#endif
// Spins until the prep's flag of (slot, head) `head_slot` is set (acquire at gpu scope: the prep's
// workspace stores of that chunk are then visible to this thread's loads).
__device__ __forceinline__ void wait_chunk_prepped(const ChunkWorkspace& ws, size_t head_slot) {
  for (;;) {
    unsigned set;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(set) : "l"(ws.prepped + head_slot) : "memory");
    if (set != 0u) return;
    __nanosleep(128);
  }
}
// Before a warp's bulk copies of chunk operands: with chunk flags, lane 0 waits for the chunk's flag,
// and every lane then orders the prep's generic-proxy stores before its async-proxy reads.
__device__ __forceinline__ void wait_chunk_prepped_warp(const ChunkWorkspace& ws, size_t head_slot, int lane) {
  if (ws.prepped == nullptr) return;
  if (lane == 0) wait_chunk_prepped(ws, head_slot);
  __syncwarp();
  afg::fence_global_for_bulk();
}

// Tile sizes (elements). W, Kd and U rows are padded to kLdK and P rows to kLdV, the shared-memory
// strides of the scans, so a scan can copy such a tile as one block (GDN_PREFILL_SCAN_BULK); the
// pads are written as zeros.
constexpr int kWsTileWK = kC * kLdK;
constexpr int kWsTileU = kC * kLdK;
constexpr int kWsTileP = kC * kLdV;
constexpr size_t kWorkspaceBytesPerSlotHead = (2 * kWsTileWK + kWsTileU + kWsTileP) * 2 + kC * 4;

// @tunable GDN_PREFILL_U_BLOCKS: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: the workspace holds U in 16-column blocks ([8][64][16], u_block_index) instead of padded rows,
// so a scan CTA copies only its BV columns as one contiguous piece (2-8 KB instead of the 17 KB
// tile; the split scan keeps them in that layout). Why: ncu at 2107 tokens in one sequence (16-column
// slices, session 10) put 21% of the scan's stall samples on the state warps' wait for the chunk's
// bulk copies, and U was a quarter of their bytes while a 16-column CTA reads an eighth of it. The
// smaller stage also lets the split scan hold three stages at 16 and 32 columns
// (GDN_PREFILL_SPLIT_STAGES). Predicted: 16-column calls -10..-20% (2107 / 1, 5709 / 2). H200,
// session 10 (call 13), one call, default / U in blocks / + three stages: 2107 / 1 63.2 / 65.5 / 60.3
// us, 5709 / 2 140.4 / 135.4 / 133.1, 3028 / 5 59.9 / 60.1 / 60.0, 8192 / 39 132.2 / 130.1 / 130.3,
// 139 / 3 14.7 / 14.3 / 14.8, 239 / 3 17.9 / 18.1 / 18.5; all 100 workloads pass with both. A third of
// the prediction where it was aimed (-5%): the copies' wait is not only bytes. Default since (with
// three stages), after racecheck / synccheck / memcheck on 239 / 3 (call 14).
#ifndef GDN_PREFILL_U_BLOCKS
#define GDN_PREFILL_U_BLOCKS 1
#endif
// Element (r, c) of a U tile in 16-column blocks.
__device__ __forceinline__ int u_block_index(int r, int c) { return (c >> 4) * (kC * 16) + r * 16 + (c & 15); }
// store_tile_bf16 into a [64][128] tile laid out in 16-column blocks (u_block_index).
template <int NT>
__device__ __forceinline__ void store_tile_bf16_blocked(__nv_bfloat16* dst, int m0, int n0, const float (&acc)[NT][4], int lane) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    store_bf16x2(dst + u_block_index(m0 + g, n0 + nt * 8 + 2 * tq), acc[nt][0], acc[nt][1]);
    store_bf16x2(dst + u_block_index(m0 + g + 8, n0 + nt * 8 + 2 * tq), acc[nt][2], acc[nt][3]);
  }
}

// @tunable GDN_PREFILL_PREP_HEAD_PAIRS: 0, 1 (default 0) when GDN_PREFILL_IMPL=1
// 1: a prep CTA of 512 threads takes both value heads of a (chunk slot, qk head): two groups of 8
// warps, one a head, in lockstep through the same phases (CTA-wide barriers), sharing one load of
// the chunk's K and Q; 0: a CTA of 256 threads a (slot, value head), two CTAs an SM. Why: after
// session 23's prep changes a lone prep CTA takes ~12400 cycles but a wave of two an SM ~19300
// (2107 / 1), and a grid a little over one wave leaves the SMs that got two CTAs last: 959 / 4 has
// 152 CTAs on 132 SMs and its prep takes 11.5 us where a lone CTA takes ~7. A pair halves the CTA
// count (959 / 4: 76, one an SM), and K and Q (32 of a head's 48 KB of loads) come in once for two
// heads. Predicted: one-wave-plus calls -3..-4 us (the prep near a lone CTA's time), 8192 -3..-6%
// (the prep's bytes -16%). Measured (H200, session 23 call 9, two rounds, pairs / single): slower
// everywhere: 132 / 2 15.6 / 12.4 us, 239 / 3 19.5 / 16.3, 959 / 4 26.5 / 25.1, 2107 / 1 41.3 / 39.4,
// 4124 / 15 72.3 / 66.1, 8192 / 39 128.2 / 122.4. A lone pair CTA took 18631 cycles against a lone
// single CTA's 12377: two groups on one SM share its issue slots, tensor cores and memory pipes like
// two CTAs do (a wave of two single CTAs an SM: ~19300 a CTA), so a pair costs what two CTAs on one
// SM cost, and calls with fewer CTAs than SMs lose the SMs a single CTA each had. In lockstep the
// groups also cannot hide one's loads behind the other's products, as two desynchronized CTAs do.
// Racecheck, synccheck, memcheck clean with it (call 9). Kept, default 0.
#ifndef GDN_PREFILL_PREP_HEAD_PAIRS
#define GDN_PREFILL_PREP_HEAD_PAIRS 0
#endif
// Value heads per prep CTA (consecutive heads 2 hk, 2 hk + 1 share qk head hk; one without T's
// fragments from fp32, whose bf16 T copies would share Q's buffer) and its threads.
constexpr int kPrepHeads = GDN_PREFILL_PREP_HEAD_PAIRS && GDN_PREFILL_PREP_T_FRAGS ? 2 : 1;
constexpr int kPrepCtaThreads = kPrepThreads * kPrepHeads;
static_assert(kNumVHeads / kNumQKHeads == 2 || kPrepHeads == 1, "head pairs need two value heads a qk head");

// One value head's part of a prep CTA's shared memory.
struct PrepHeadSmem {
  __nv_bfloat16 v[kC * kLdK];   // V, all 128 value columns
  __nv_bfloat16 o[kC * kLdK];   // W staged for coalesced stores; with kPrepBulkStores Kd's staging
  float a[kC * kLdF];           // A; after the solve, T diag(beta G) in bf16 (row stride kLdV), or
                                // with kPrepBulkStores W's staging ([64][kLdK] bf16, the same bytes)
  float t[kC * kLdF];           // T (fp32)
  float partial[3][16][16];
  float cum[kC];                // log G
  float beta[kC];
  float fk[kC];                 // beta_j G_j: column factor of T for W = T diag(beta G) K
  float fd[kC];                 // G_C / G_r: row factor of Kd
};
struct PrepSmem {
  __nv_bfloat16 k[kC * kLdK];   // K; later head 0's U
  __nv_bfloat16 q[kC * kLdK];   // Q; later T diag(beta) in bf16 (row stride kLdV), or head 1's U
  PrepHeadSmem head[kPrepHeads];
  long long bos_len[2];         // this slot's first token and length; len <= 0: no chunk
  long long next_bos_len[2];    // GDN_PREFILL_PREP_PREFETCH_WAVE: the chunk of the slot a wave ahead
};
static_assert(kC * kLdK * 2 == kC * kLdF * 4, "W's bf16 staging tile takes exactly A's bytes");
static_assert(kC * kLdV * 2 <= kC * kLdF * 4, "T (bf16) does not fit over A");

// Inclusive prefix sums of cum[0..63] in place, by one warp (two entries per lane).
__device__ __forceinline__ void prefix_sum_64(float* cum, int lane) {
  const float x0 = cum[2 * lane], x1 = cum[2 * lane + 1];
  const float pair = x0 + x1;
  float run = pair;
#pragma unroll
  for (int off = 1; off < 32; off <<= 1) {
    const float y = __shfl_up_sync(0xffffffffu, run, off);
    if (lane >= off) run += y;
  }
  const float before = run - pair;
  cum[2 * lane] = before + x0;
  cum[2 * lane + 1] = before + pair;
}

// Warp 0 of a prep CTA, with the chunk's log g in cum and beta in beta: cum becomes the inclusive
// prefix sums log G, fk = beta G (the column factors of T for W) and fd = G_C / G (the row factors
// of Kd).
__device__ __forceinline__ void chunk_gate_factors(float* cum, const float* beta, float* fk, float* fd, int lane) {
  prefix_sum_64(cum, lane);
  __syncwarp();
  const float last = cum[kC - 1];
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const int r = 2 * lane + e;
    fk[r] = beta[r] * decay_exp(cum[r]);
    fd[r] = decay_exp(last - cum[r]);
  }
}

// For one warp's 16 chunk rows (from m0) and 8 NT columns (from n0) of K K^T (kk) and Q K^T (qk):
// A = beta_i G_i/G_j k_i.k_j (i > j, else 0) into a (fp32, row stride kLdF), and qk scaled in place
// to P = G_i/G_j q_i.k_j (i >= j, else 0). cum holds log G.
template <int NT>
__device__ __forceinline__ void decay_chunk_products(const float (&kk)[NT][4], float (&qk)[NT][4], const float* cum,
                                                     const float* beta, float* a, int m0, int n0, int lane) {
  const int g = lane >> 2, tq = lane & 3;
  if constexpr (GDN_PREFILL_PREP_LEAN) {
    // This lane's two rows' and 2 NT columns' cum values, loaded once; A's two columns a float2.
    const float cum_i[2] = {cum[m0 + g], cum[m0 + g + 8]};
    const float beta_i[2] = {beta[m0 + g], beta[m0 + g + 8]};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int j0 = n0 + nt * 8 + 2 * tq;
      const float2 cum_j = *reinterpret_cast<const float2*>(cum + j0);
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int i = m0 + g + h * 8;
        const float d0 = decay_exp_or_zero(i >= j0, cum_i[h] - cum_j.x);
        const float d1 = decay_exp_or_zero(i >= j0 + 1, cum_i[h] - cum_j.y);
        *reinterpret_cast<float2*>(a + i * kLdF + j0) =
            make_float2(i > j0 ? beta_i[h] * d0 * kk[nt][2 * h] : 0.f, i > j0 + 1 ? beta_i[h] * d1 * kk[nt][2 * h + 1] : 0.f);
        qk[nt][2 * h] *= d0;
        qk[nt][2 * h + 1] *= d1;
      }
    }
    return;
  }
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int i = m0 + g + (e >> 1) * 8;
      const int j = n0 + nt * 8 + 2 * tq + (e & 1);
      const float decay = i >= j ? decay_exp(cum[i] - cum[j]) : 0.f;
      a[i * kLdF + j] = i > j ? beta[i] * decay * kk[nt][e] : 0.f;
      qk[nt][e] *= decay;
    }
  }
}

// Scales the 8 bf16 values of a 16-byte piece by f.
__device__ __forceinline__ uint4 scale_piece(uint4 piece, float f) {
  __nv_bfloat162* h2 = reinterpret_cast<__nv_bfloat162*>(&piece);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 x = __bfloat1622float2(h2[i]);
    h2[i] = __floats2bfloat162_rn(f * x.x, f * x.y);
  }
  return piece;
}

// @tunable GDN_PREFILL_SLOT_ONE_ROUND: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: chunk_of_slot finds a slot's chunk with one round of loads: each of the first num_seqs threads
// reads its sequence's both bounds, so the owner knows its chunk without reading cu_seqlens again;
// 0: the owner's index first (one round), then thread 0 reads its bounds (a second, dependent round).
// Why: the prep timeline (GDN_PREFILL_DIAG_PREP_TIMES, session 23 call 1, H200) put the slot lookup
// at 2191 cycles of a lone prep CTA's 16612 (132 / 2) and 1450 of 25962 in a full wave (2107 / 1):
// a DRAM round trip for cu_seqlens, then an L2 one for the owner's bounds. Predicted: -300..-600
// cycles a prep CTA (the L2 round trip, ~0.2-0.3 us on every call), the same in the apart output
// kernel.
#ifndef GDN_PREFILL_SLOT_ONE_ROUND
#define GDN_PREFILL_SLOT_ONE_ROUND 1
#endif

// The chunk in workspace slot `slot`: its first token and length (<= 0 for a slot past its sequence's
// chunks) into bos_len (shared memory), by every one of the Threads threads; ends with a barrier.
// The owning sequence is the last n with floor(bos_n / 64) + n <= slot. That predicate holds for a
// prefix of the sequences (floor(bos_n / 64) + n grows with n), so with one thread per sequence the
// owner is the thread where it holds and does not hold for the next sequence: one round of loads
// instead of a binary search of dependent ones (ncu: ~8% of a one-chunk prep CTA's stall samples
// waited on it).
// The chunk of sequence n that holds `slot`, from n's bounds, into bos_len.
__device__ __forceinline__ void write_chunk_of_slot(int64_t slot, int64_t n, int64_t start, int64_t end, long long* bos_len) {
  const long long bos = start + (slot - (start / kC + n)) * kC;
  const long long len = end - bos;
  bos_len[0] = bos;
  bos_len[1] = len < kC ? len : kC;
}

// chunk_of_slot's one round, with the bounds already loaded: thread tid < num_seqs (<= Threads) holds
// sequence tid's start and end. With ahead_slot > slot, that slot's chunk goes into ahead_bos_len in
// the same round (GDN_PREFILL_PREP_PREFETCH_WAVE=2; defined whenever slot has a chunk: first slots
// rise with the sequence index and the last sequence owns every slot from its first). Ends with a
// barrier.
__device__ __forceinline__ void chunk_of_slot_held(int64_t slot, int64_t start, int64_t end, int64_t num_seqs, long long* bos_len,
                                                   int tid, int64_t ahead_slot = -1, long long* ahead_bos_len = nullptr) {
  bool owner = false;
  if (tid < num_seqs) {
    // Sequence tid + 1 starts at end (its first slot floor(end / 64) + tid + 1).
    const auto owns = [&](int64_t s) { return start / kC + tid <= s && (tid + 1 == num_seqs || end / kC + tid + 1 > s); };
    owner = owns(slot);
    if (owner) write_chunk_of_slot(slot, tid, start, end, bos_len);
    if (ahead_slot > slot && owns(ahead_slot)) write_chunk_of_slot(ahead_slot, tid, start, end, ahead_bos_len);
  }
  // The barrier orders the owner's writes before every thread's reads; with no owner (a slot
  // before the first sequence's, possible only if cu_seqlens[0] > 0) the slot has no chunk.
  if (!__syncthreads_or(owner)) {
    if (tid == 0) bos_len[0] = bos_len[1] = 0;
    __syncthreads();
  }
}

template <int Threads>
__device__ __forceinline__ void chunk_of_slot(int64_t slot, const int64_t* cu_seqlens, int64_t num_seqs, long long* bos_len,
                                              int tid) {
  if (GDN_PREFILL_SLOT_ONE_ROUND && num_seqs <= Threads) {
    const bool held = tid < num_seqs;
    chunk_of_slot_held(slot, held ? cu_seqlens[tid] : 0, held ? cu_seqlens[tid + 1] : 0, num_seqs, bos_len, tid);
    return;
  }
  int64_t owner = -1;
  if (num_seqs <= Threads) {
    owner = __syncthreads_count(tid < num_seqs && cu_seqlens[tid] / kC + tid <= slot) - 1;
  }
  if (tid == 0) {
    int64_t n = owner;
    if (num_seqs > Threads) {
      int64_t lo = 0, hi = num_seqs - 1;
      while (lo <= hi) {
        const int64_t mid = (lo + hi) / 2;
        if (cu_seqlens[mid] / kC + mid <= slot) { n = mid; lo = mid + 1; } else { hi = mid - 1; }
      }
    }
    if (n >= 0) {
      write_chunk_of_slot(slot, n, cu_seqlens[n], cu_seqlens[n + 1], bos_len);
    } else {
      bos_len[0] = bos_len[1] = 0;
    }
  }
  __syncthreads();
}

// @tunable GDN_PREFILL_PREP_TRI_PRODUCTS: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: the prep's K K^T and Q K^T cover only the n8 tiles that reach the lower triangle (20 of each
// 16-row tile's 32), split over the 8 warps at most 3 tiles apiece, in one k loop that loads each K
// fragment once for both products; P's strictly upper 16x16 blocks are stored as zeros. 0: each
// warp its 16 rows and half the columns, 4 tiles, two loops. Why: the prep timeline (session 23,
// call 1, H200) put this phase at 4198 cycles of a lone prep CTA's 16612 and 6147 of 25962 in a full
// wave, the prep's largest; 12 of its 32 tiles a row are zeros (A is read only below the diagonal
// blocks, P's upper blocks are zeros) and the two loops load the same K fragments twice. Same
// products in the same order (bit-identical A and P). Predicted: the critical warp's MMAs 64 -> 48
// and its fragment loads per k step 6 -> 4: the phase -25..-35% (-1000..-1500 cycles lone).
#ifndef GDN_PREFILL_PREP_TRI_PRODUCTS
#define GDN_PREFILL_PREP_TRI_PRODUCTS 1
#endif
// @tunable GDN_PREFILL_PREP_WU_PAIRS: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: the prep's W = T diag(beta G) K and U = T diag(beta) V take warps 0-3 and 4-7, each warp two
// 16-row tiles whose T rows reach 5 k blocks together ((0, 3) or (1, 2)) over 64 columns; 0: each
// warp both products for its 16 rows and 64 columns, so the bottom tile's warps do 4 k blocks per
// product while the top's do 1. Why: T is lower triangular, so those products' work per row tile is
// 1 : 2 : 3 : 4; the critical warps did 64 MMAs where the mean is 40. The prep timeline (session 23,
// call 1) put "W and U products" + "U staged" (where the compiler leaves the U MMAs' tail) at 2347
// cycles of a lone prep CTA. Same products in the same order (bit-identical W and U). Predicted: the
// two phases -30..-35% (-700..-800 cycles lone).
#ifndef GDN_PREFILL_PREP_WU_PAIRS
#define GDN_PREFILL_PREP_WU_PAIRS 1
#endif

// @tunable GDN_PREFILL_PREP_IDLE_KD: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: Kd = diag(G_C / G) K, the tiles' row pads and P's upper zeros go to the workspace from the
// warps the solve leaves idle while warps 0-1 substitute its diagonal blocks (solve_unit_lower's
// idle hook), as whole 16-byte stores; 0: from every warp before the K K^T / Q K^T products. Why:
// ncu (session 23, call 4, 8192 / 39) put that store pass at 13.5% of the prep's stall samples and
// 288 instructions a warp (ptxas split each 16-byte Kd store into four 4-byte ones), ahead of the
// products on every warp's critical path, while six warps idle through the diagonal blocks (~1200
// cycles). Predicted: the products phase -1000..-1500 cycles, the solve's diagonal phase unchanged
// or a little longer.
#ifndef GDN_PREFILL_PREP_IDLE_KD
#define GDN_PREFILL_PREP_IDLE_KD 1
#endif
// @tunable GDN_PREFILL_PREP_BULK_STORES: 0, 1 (default 1) when GDN_PREFILL_PREP_IDLE_KD=1
// (In effect only with GDN_PREFILL_U_BLOCKS, GDN_PREFILL_PREP_T_FRAGS and GDN_PREFILL_PREP_WU_PAIRS
// at 1 too: kPrepBulkStores.) 1: the prep stages Kd (the solve's idle warps, in the W tile's old
// buffer hs.o), W (over A, dead after the solve) and U (over K, in 16-column blocks) in shared memory
// with their row pads zeroed, and one thread hands each tile to the copy engine as one bulk store (Kd
// as soon as the solve ends, W and U at the end); 0: 16-byte stores from every thread. Why: the prep timeline (session 23, call 5) put
// "workspace stores issued" at 1650-1830 cycles a CTA, and with Kd's global stores moved into the
// solve's diagonal phase the solve's next two levels grew by 600-2200 cycles: the stores queue ahead
// of the solve's shared-memory loads in the same memory pipeline. Predicted: the stores phase ->
// ~200 cycles, the solve's levels back near 1500: a prep CTA -2000..-3000 cycles (8192: prep
// -5..-7 us).
#ifndef GDN_PREFILL_PREP_BULK_STORES
#define GDN_PREFILL_PREP_BULK_STORES 1
#endif
// @tunable GDN_PREFILL_PREP_IDLE_P: 0, 1 (default 1) when GDN_PREFILL_PREP_IDLE_KD=1
// 1: P's row pads and (with GDN_PREFILL_PREP_TRI_PRODUCTS) its upper zeros are global stores of the
// solve's idle warps, with Kd; 0: of every warp before the products, as without IDLE_KD. Why: with
// the idle-warp stores the solve's first merge level (warps 0-1, after the diagonal blocks' barrier)
// takes ~1250 cycles against ~500 before (session 23, calls 5 and 7); with bulk stores the idle
// warps' only global stores left are these 256 pieces, so if their queue delays warps 0-1's shared
// loads, level 1 falls back toward ~500 with 0. The other suspect is the idle threads' proxy fence.
// Measured (H200, session 23 call 12), default / 0: level 1 887 / 757 cycles in a lone CTA, 1300 /
// 1139 in a wave, the products phase +440 with 0; calls 132 / 2 12.5 / 12.6 us, 959 / 4 27.8 / 28.1,
// 2857 / 3 50.6 / 50.5, 8192 / 39 122.5 / 123.5. Not the cause (level 1 is still ~750 against 407);
// default stays 1.
#ifndef GDN_PREFILL_PREP_IDLE_P
#define GDN_PREFILL_PREP_IDLE_P 1
#endif
// In effect only with the idle-warp Kd stores, U in blocks, T's fragments from fp32 (W takes A's
// buffer, which the bf16 T copies would use) and the paired W / U warps (whose stores it stages).
constexpr bool kPrepBulkStores = GDN_PREFILL_PREP_BULK_STORES && GDN_PREFILL_PREP_IDLE_KD && GDN_PREFILL_U_BLOCKS &&
                                 GDN_PREFILL_PREP_T_FRAGS && GDN_PREFILL_PREP_WU_PAIRS;
static_assert(kPrepThreads == 256 && kD / 8 == 16, "the lean prep loops give each thread one 16-byte column piece of 16 rows");

// @tunable GDN_PREFILL_PREP_WU_WGMMA: 0, 1 (default 1) when GDN_PREFILL_PREP_WU_PAIRS=1
// 1 (sm_90a builds; a plain sm_90 build keeps mma.sync): the prep's W = T diag(beta G) K and U = T
// diag(beta) V as warpgroup MMAs, warps 0-3 W and 4-7 U, each warp one 16-row tile of all 128
// columns: four m64n128k16 with A from registers (T's fragments scaled as now, zeros right of a
// warp's diagonal block) and B = K or V read MN-major (trans-b) from shared memory. For that K and V
// land in two 64-column panels of [64 rows][128 bytes] in the 128-byte swizzle (prep_kv_offset), and
// the other readers of K (the lower-triangle products' ldmatrix, the idle warps' Kd staging) take
// swizzled addresses. Why: the W / U phase is ~2100-2300 cycles of a later 8192 prep CTA's ~16.8k
// (session 27 call 2) for ~1.3 MFLOP on mma.sync, ~40 MMAs and their fragment loads a warp; a
// warpgroup MMA reads B once for the warpgroup. Predicted: the phase ~2200 -> ~1000-1300 cycles, the
// 8192 prep -3..-4 us. (The descriptors: scripts/device/probes/wgmma_mn_major_probe.cu, session 27.)
// Measured (session 27, H200, two rounds each). First build (call 9), both panels at once (64
// accumulators) and U over K after a barrier: 100% correct but slower, 8192 / 39 101.0 -> 104.0 us
// (prep 52.1 -> 55.7): ptxas spilled 116 bytes at the 128-register cap; the W / U phase did fall
// 2092 -> 1555 cycles. Since (call 10): one 64-column panel at a time (32 accumulators, 127 registers,
// no spills) and U staged over Q (dead since the products), so the warpgroups never wait on each
// other: 959 / 4 27.3 -> 26.8, 3028 / 5 47.4 -> 45.9, 4124 / 15 60.9 -> 58.0, 8192 / 20 95.2 -> 90.8,
// 8192 / 39 101.1 -> 97.8 (prep 52.3 -> 49.5), 8192 / 57 111.7 -> 108.9; later 8192 prep CTAs 16833 ->
// 15773 cycles (W / U 2092 -> 1686, stores issued 812 -> 332: U's staging no longer waits). Sanitizers
// clean (959 / 4, GDN_PREFILL_DIAG_PREP_ROWS=2); 100/100 (call 11). Default.
#ifndef GDN_PREFILL_PREP_WU_WGMMA
#define GDN_PREFILL_PREP_WU_WGMMA 1
#endif
// In effect with the defaults it builds on (one head a CTA, the lower-triangle products and the bulk
// stores' paired W / U warps, T fragments and idle-warp Kd); with any of them off, mma.sync.
#if defined(__CUDA_ARCH_FEAT_SM90_ALL) && GDN_PREFILL_PREP_WU_WGMMA
constexpr bool kPrepWuWgmma = kPrepHeads == 1 && kPrepBulkStores && GDN_PREFILL_PREP_TRI_PRODUCTS;
#else
constexpr bool kPrepWuWgmma = false;
#endif
// @diagnostic GDN_PREFILL_DIAG_PREP_ALONE: 0, 1 (default 0)
// 1: the prep asks for 120 KB of shared memory, so one prep CTA runs an SM (timing only, for
// scripts/device/gdn-prep-timeline.sh). Why: a later 8192 prep CTA's solve level 1 takes ~2.6k cycles
// where a lone CTA's takes ~0.4-0.9k, and moving work off one phase moved its cycles into the next
// (GDN_PREFILL_PREP_PREFETCH_WARP, session 27): if the phases are paced by what the SM's two CTAs
// share, a CTA alone on its SM shows much shorter phases at the same loads.
// Measured (session 27, call 15, H200, 8192 / 39, later CTAs, two an SM / alone): the CTA 15467 /
// 12299 cycles (so two an SM still give 1.59x the throughput of one), loads 3832 / 3175, level 1
// 2593 / 1539, level 2 1950 / 1712, products 1343 / 1252, gate factors, diagonal blocks and W / U
// even (982 / 929, 1076 / 1077, 1668 / 1651). The sharing costs ~3.2k cycles a CTA, 1.1k of them in
// level 1; level 1 alone (1539, two warps of tf32 MMAs) is still ~2-4x the lone one-wave CTA of
// session 23, so most of it is the solve's own code since.
#ifndef GDN_PREFILL_DIAG_PREP_ALONE
#define GDN_PREFILL_DIAG_PREP_ALONE 0
#endif
// The dynamic shared memory the prep asks for: PrepSmem, plus 1024 bytes to align it for the swizzled
// tiles when GDN_PREFILL_PREP_WU_WGMMA is set (the host does not know which build runs).
constexpr size_t kPrepSmemNeeded = sizeof(PrepSmem) + (GDN_PREFILL_PREP_WU_WGMMA ? 1024 : 0);
constexpr size_t kPrepSmemBytes = GDN_PREFILL_DIAG_PREP_ALONE ? 120 * 1024 : kPrepSmemNeeded;
static_assert(kPrepSmemBytes >= kPrepSmemNeeded, "the prep's shared memory fits its request");
static_assert(offsetof(PrepSmem, k) % 1024 == 0 && offsetof(PrepSmem, head) % 1024 == 0 &&
                  offsetof(PrepHeadSmem, v) % 1024 == 0,
              "K and V start 1024-byte aligned in the prep's shared memory (the swizzle's atoms)");
constexpr int kPrepPanelBytes = kC * 128;  // one 64-column panel of a swizzled K or V tile
// Element offset of (row r, column c) in the prep's K and V tiles: padded rows (kLdK), or with
// GDN_PREFILL_PREP_WU_WGMMA two 64-column panels of [64][64] with the 16-byte pieces of row r XORed
// by r mod 8 (the 128-byte swizzle). c is a multiple of 8 for 16-byte pieces.
__device__ __forceinline__ int prep_kv_offset(int r, int c) {
  if constexpr (kPrepWuWgmma) {
    return (c >> 6) * (kC * 64) + r * 64 + ((((c & 63) >> 3) ^ (r & 7)) << 3) + (c & 7);
  } else {
    return r * kLdK + c;
  }
}

// GDN_PREFILL_PREP_PRODUCTS_WGMMA (K K^T and Q K^T as eight SS m64n64k16 warpgroup MMAs each, Q swizzled
// too, the decay over full 64 x 64 tiles) measured slower (session 27, call 12, H200): the products
// phase 1365 -> 2961 cycles, 8192 / 39 97.9 -> 102.9 us. The full tiles are 1.6x the lower-triangle
// tiles' MACs on tensor cores the SM's two warpgroups share, and every warp decays 64 columns of one
// product instead of 16-24 of both. Removed; commit 74d80ce has it.
// GDN_PREFILL_PREP_WU_IN_SOLVE (W and U rows 0-31 on mma.sync by warps 4-7 during the solve's last
// merge level, rows 32-63 by all 8 warps after it, instead of the warpgroup MMAs) measured slower
// (session 28, call 1, H200): 8192 / 39 96.1 -> 97.0 us, 8192 / 57 107.0 -> 110.0, 3028 / 5 44.8 ->
// 46.1; a later CTA's W / U phase stayed ~1.75k cycles (rows 32-63 on mma.sync by 8 warps cost what
// all 64 rows cost on wgmma). Removed; commit 0c05d0a has it.

// Per warp, the 16-row tile, first n8 tile and n8 tile count of the lower-triangle products, 8 bits
// each (mt | first << 2 | count << 5): warps 0-7 take (0, 0, 2) (1, 0, 2) (1, 2, 2) (2, 0, 3)
// (2, 3, 3) (3, 0, 3) (3, 3, 3) (3, 6, 2), every tile n <= 2 mt + 1 of every row tile mt once.
constexpr unsigned long long kTriProductTiles = 0x5b6f636e62494140ull;

// For one warp's 16 chunk rows from m0 and NT n8 tiles from column n0 (NT odd: rows n0 .. n0 + 8 NT +
// 7 of K must exist, the last pair's loader reads them): K K^T and Q K^T in one k loop (each B
// fragment of K loaded once), then A into sm.a and P into the workspace as decay_chunk_products
// makes them.
template <int NT>
__device__ __forceinline__ void lower_chunk_products(const __nv_bfloat16* k, const __nv_bfloat16* q, const float* cum,
                                                     const float* beta, float* a, __nv_bfloat16* ws_p, int m0, int n0,
                                                     int lane) {
  float kk[NT][4], qk[NT][4];
  zero(kk);
  zero(qk);
#pragma unroll
  for (int k0 = 0; k0 < kD; k0 += 16) {
    uint32_t ak[4], aq[4];
    ldmatrix_x4(ak, k + prep_kv_offset(m0 + (lane & 15), k0 + (lane >> 4) * 8));  // load_a on K's layout
    load_a(aq, q, kLdK, m0, k0, lane);
#pragma unroll
    for (int nt = 0; nt < NT; nt += 2) {
      uint32_t bf[4];
      // load_b_rows on K's layout
      ldmatrix_x4(bf, k + prep_kv_offset(n0 + nt * 8 + (lane & 7) + (lane >> 4) * 8, k0 + ((lane >> 3) & 1) * 8));
      mma_bf16(kk[nt], ak, bf[0], bf[1]);
      mma_bf16(qk[nt], aq, bf[0], bf[1]);
      if (nt + 1 < NT) {
        mma_bf16(kk[nt + 1], ak, bf[2], bf[3]);
        mma_bf16(qk[nt + 1], aq, bf[2], bf[3]);
      }
    }
  }
  decay_chunk_products(kk, qk, cum, beta, a, m0, n0, lane);
  store_tile_bf16(ws_p, kLdV, m0, n0, qk, lane);
}


// GDN_PREFILL_PREP_PERSISTENT (two prep CTAs an SM looping over the call's chunks, each unit's next
// rows prefetched into L2) measured slower in both forms: over slots (session 26, call 5: 8192 / 39
// 103.5 -> 109.8 us) and over the call's chunk index (session 27, call 1: 105.4 -> 108.0, 4124 / 15
// 61.8 -> 66.2), its later units no faster than fresh CTAs. Removed; commit 6dafebb has it.
// @tunable GDN_PREFILL_PREP_PREFETCH_WAVE: 0, 1, 2 (default 2) when GDN_PREFILL_IMPL=1
// 1: one prep CTA a slot as by default, but once its loads have landed each CTA asks L2 for the rows
// of the CTA one wave behind it (slot + 2 SMs / 8: the block scheduler hands out CTAs in index order,
// so that CTA starts about when a CTA of this wave ends). Keeps the hardware's dynamic scheduling,
// which the persistent prep's fixed assignment gives up. Why: the later CTAs' K, Q, V land after
// ~6200 cycles of their ~18.4k (session 26, call 5), ~2900 when they were L2 hits. Predicted: the
// later waves' CTAs ~-3000 cycles, 8192 / 39's prep 54.6 -> ~46-48 us; one-wave calls unchanged.
// Measured (session 27, call 1, H200), default / 1: 8192 / 39 105.4 / 104.2 us (prep 56.5 / 55.8),
// 8192 / 20 98.7 / 97.7, 4124 / 15 61.8 / 62.1. The later CTAs' loads did land sooner (6430 -> 4292
// cycles) and the lookup with held bounds took 529 cycles against 1013, but the gate factors grew
// 518 -> 1279 and the solve's level 1 1997 -> 3009 (in the first wave too): a CTA 18987 -> 17823.
// Reading: the 1.5 prefetches a thread (each a load-store instruction whose line must come from
// DRAM) queue ahead of warp 0's and the idle warps' memory instructions, and the ahead slot's
// lookup is a second round and barrier.
// 2: the same rows asked of L2 through the copy engine: the ahead slot's chunk found in the unit's own
// lookup round, and the CTA's 1 / gridDim.x share of that chunk's three contiguous row ranges (K and
// Q of every qk head, V of every value head: the ahead slot's CTAs together ask for all of it) as
// three bulk prefetches from one thread. Predicted: the loads as with 1, the gate factors and level 1
// back to the default's: a later CTA ~16.0-16.5k cycles, 8192 / 39's prep 56.5 -> ~49-50 us.
// Measured (session 27, call 2, H200, two rounds), 0 / 1 / 2: 959 / 4 27.3 / 27.7 / 27.4 us, 3028 / 5
// 48.1 / 48.5 / 47.7, 4124 / 15 62.3 / 62.0 / 60.6, 8192 / 20 99.2 / 97.6 / 94.9, 8192 / 39 104.7 /
// 103.3 / 100.8 (prep 56.2 / 54.9 / 52.1), 8192 / 57 116.0 / 115.3 / 112.4. Timeline (8192 / 39, later
// CTAs, 0 -> 2): loads 6430 -> 4202 cycles, lookup 1013 -> 600, gate factors 518 -> 811, level 1
// 1997 -> 2385, a CTA 18987 -> 16833 (predicted 16.0-16.5k; the prep -4.1 us of the -6..-7
// predicted: the first wave, a quarter of the CTAs, gains nothing). 100/100 (call 3); sanitizers clean
// on 959 / 4 with GDN_PREFILL_DIAG_PREP_ROWS=2 (two slot rows resident, so the prefetch runs). Default.
#ifndef GDN_PREFILL_PREP_PREFETCH_WAVE
#define GDN_PREFILL_PREP_PREFETCH_WAVE 2
#endif
constexpr bool kPrepPrefetchWave = GDN_PREFILL_PREP_PREFETCH_WAVE != 0;
constexpr bool kPrepBulkPrefetch = GDN_PREFILL_PREP_PREFETCH_WAVE == 2;
// @tunable GDN_PREFILL_PREP_PREFETCH_WARP: 0, 7 (default 0) when GDN_PREFILL_PREP_PREFETCH_WAVE=2
// The warp whose first lane issues the bulk prefetches. 0: warp 0, which then computes the gate
// factors alone while the other warps wait at the next barrier; 7: a warp with nothing to do there.
// Why: with PREFETCH_WAVE=2 the gate factors phase grew 518 -> 811 cycles (session 27, call 2; 968 in
// call 10), the prefetch issue in front of warp 0's work. Predicted: the phase back to ~550, a later
// 8192 prep CTA -300..-400 cycles, the 8192 prep ~-1 us. Measured (session 27, call 14, H200, two
// rounds, 0 / 7): 959 / 4 26.7 / 26.6 us, 4124 / 15 58.5 / 58.0, 8192 / 20 90.9 / 90.7, 8192 / 39 98.7 /
// 97.5, 8192 / 57 108.9 / 108.5 (within the rounds' ranges). Timeline (8192 / 39, later CTAs): gate
// factors 959 -> 665 cycles as predicted, but the products 1368 -> 1644 and the diagonal blocks 1107 ->
// 1406: the CTA 15745 -> 15661. The cycles moved to the next phases instead of leaving, as if the SM's
// shared pipes (its other CTA's work) set the pace more than this CTA's own chain. Stays 0.
#ifndef GDN_PREFILL_PREP_PREFETCH_WARP
#define GDN_PREFILL_PREP_PREFETCH_WARP 0
#endif
static_assert(GDN_PREFILL_PREP_PREFETCH_WARP >= 0 && GDN_PREFILL_PREP_PREFETCH_WARP < kPrepCtaThreads / 32,
              "the prefetching warp is one of the prep CTA's");
// @tunable GDN_PREFILL_PREP_EARLY_GATES: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: warp 0 loads the chunk's gate inputs (a, b for two rows a lane, the prefix sum's layout; A_log
// and dt_bias) before it issues its K / Q / V copies, and computes log g, beta and the gate factors
// while the copies land, instead of threads 0-63 loading the gates after their copies and warp 0
// computing the factors after the landing barrier, with the other warps waiting at one more
// barrier. Why: that phase was ~830-870 cycles of a later 8192 prep CTA's ~15.2k (session 28, call 1)
// with warp 0 idle through the loads' ~4.0k. Predicted: the phase -> ~150 cycles, a later CTA
// -4..-5%, 8192 / 39's prep ~-2 us. Measured (session 28, H200, two rounds each):
// - a first form with the gate loads after the copies (call 2, then call 3 on another card): 8192 /
//   39 96.7 -> 94.8 and 92.9 -> 94.1 us; its loads phase grew 3949 -> 4311 cycles: the gate loads,
//   issued behind twelve copies, returned behind them. Removed.
// - this form (calls 3-4; "=2" in the results): 959 / 4 25.7 -> 25.7 us, 3028 / 5 44.2 -> 43.8,
//   4124 / 15 56.5 -> 55.6, 8192 / 20 85.6 -> 84.0, 8192 / 39 92.9 -> 91.6 (prep 44.6 -> 42.9), 8192 / 57
//   104.5 -> 103.1; call 4 again 92.7 -> 91.5 at 8192 / 39. A later 8192 / 39 CTA 12841-12959 cycles
//   (14233 with the first form), its loads 3377. 100/100, racecheck / synccheck / memcheck clean (959 / 4,
//   DIAG_PREP_ROWS=2), the portable build passes. Default.
#ifndef GDN_PREFILL_PREP_EARLY_GATES
#define GDN_PREFILL_PREP_EARLY_GATES 1
#endif
// GDN_PREFILL_PREP_LATE_V (K and Q as one cp.async group, V as a second awaited only before the solve)
// measured even (session 28, call 2, H200: 8192 / 39 96.7 -> 96.4 us, 4124 / 15 58.5 -> 57.7, 8192 /
// 57 106.1 -> 107.4; the loads phase 3949 -> 3877 cycles): the copies' latency, not their bytes, sets
// the loads phase. Removed.
// @diagnostic GDN_PREFILL_DIAG_PREP_ROWS: 0, 2 (default 0)
// N > 0: the host takes N slot rows of prep CTAs (8 N CTAs) for the resident ones, so that a small call
// (fast under compute-sanitizer) prefetches the way the 8192 calls do (GDN_PREFILL_PREP_PREFETCH_WAVE:
// N rows ahead).
#ifndef GDN_PREFILL_DIAG_PREP_ROWS
#define GDN_PREFILL_DIAG_PREP_ROWS 0
#endif

// GDN_PREFILL_PREP_PREFETCH_WAVE: whether a prep CTA keeps every sequence's bounds in registers
// (thread n sequence n) for its own slot's lookup and the wave-ahead slot's; the host's launch plan
// asks the same question.
__host__ __device__ constexpr bool prep_holds_bounds(int64_t num_seqs) {
  return kPrepPrefetchWave && GDN_PREFILL_SLOT_ONE_ROUND && num_seqs <= kPrepCtaThreads;
}

// GDN_PREFILL_PREP_PREFETCH_WAVE=1: chunk [c0, c0 + len)'s K and Q rows (qk head hk) and V rows (value head
// h) into L2, two 128-byte lines a row each, by `threads` threads from tid.
__device__ __forceinline__ void prefetch_prep_rows(const __nv_bfloat16* k, const __nv_bfloat16* q, const __nv_bfloat16* v,
                                                   int64_t c0, int len, int h, int hk, int tid, int threads) {
  constexpr int kLinesPerRow = 6;  // K, Q, V: 256 bytes a row each
  for (int i = tid; i < len * kLinesPerRow; i += threads) {
    const int64_t row = c0 + i / kLinesPerRow;
    const int part = i % kLinesPerRow;
    const __nv_bfloat16* src = part < 2   ? k + (row * kNumQKHeads + hk) * kD
                               : part < 4 ? q + (row * kNumQKHeads + hk) * kD
                                          : v + (row * kNumVHeads + h) * kD;
    asm volatile("prefetch.global.L2 [%0];\n" ::"l"(reinterpret_cast<const char*>(src) + (part & 1) * 128));
  }
}

// GDN_PREFILL_PREP_PREFETCH_WAVE=2: share `part` of `parts` of chunk [c0, c0 + len)'s K, Q and V rows
// (every head's: each tensor's rows are one contiguous range) asked of L2 by bulk prefetches.
__device__ __forceinline__ void prefetch_prep_chunk_share(const __nv_bfloat16* k, const __nv_bfloat16* q, const __nv_bfloat16* v,
                                                          int64_t c0, int len, unsigned part, unsigned parts) {
  if (len <= 0) return;
  const auto share = [&](const __nv_bfloat16* base, int heads) {
    const uint32_t bytes = static_cast<uint32_t>(len) * heads * kD * 2;  // a multiple of 256
    const uint32_t piece = (bytes / parts) & ~15u, offset = piece * part;
    const uint32_t size = part + 1 == parts ? bytes - offset : piece;
    if (size > 0) afg::bulk_prefetch_l2(reinterpret_cast<const char*>(base + c0 * heads * kD) + offset, size);
  };
  share(k, kNumQKHeads);
  share(q, kNumQKHeads);
  share(v, kNumVHeads);
}

// @diagnostic GDN_PREFILL_DIAG_PREP_NO_IDLE_FENCE: 0, 1 (default 0)
// 1: the solve's idle threads skip their async-proxy fence after staging Kd (the bulk store may then
// copy stale shared memory: timing only, for scripts/device/gdn-prep-timeline.sh). Why: with the
// idle-warp work the solve's first level takes ~750-1300 cycles against ~400 before (session 23), not
// because of P's stores (GDN_PREFILL_PREP_IDLE_P, call 12); the fence is the other suspect.
// Measured (H200, session 23 call 15), with / without the fence: level 1 878 / 845 cycles in a lone
// CTA, 1318 / 1312 in 8192's later CTAs. Not the fence either. Left: the code ptxas makes of the
// solve with the idle hook (its level 1 was ~400 cycles before the hook existed), the Kd staging's
// shared-memory traffic, or LEAN's float2 A stores (call 5 turned IDLE_KD and LEAN on together).
#ifndef GDN_PREFILL_DIAG_PREP_NO_IDLE_FENCE
#define GDN_PREFILL_DIAG_PREP_NO_IDLE_FENCE 0
#endif
// Row r's pads (never read as values; zeros so every byte a scan copies is written) of the W and Kd
// tiles (w, kd: the workspace's tiles or their shared staging) and of U in the workspace when it is
// kept in padded rows.
__device__ __forceinline__ void zero_wkdu_row_pads(__nv_bfloat16* w, __nv_bfloat16* kd, __nv_bfloat16* ws_u, int r) {
  const uint4 zero4 = make_uint4(0, 0, 0, 0);
  *reinterpret_cast<uint4*>(w + r * kLdK + kD) = zero4;
  *reinterpret_cast<uint4*>(kd + r * kLdK + kD) = zero4;
  if (!GDN_PREFILL_U_BLOCKS) *reinterpret_cast<uint4*>(ws_u + r * kLdK + kD) = zero4;
}
// P's zeros that no product writes, by thread t of `threads`: its row pads and, with
// GDN_PREFILL_PREP_TRI_PRODUCTS, its strictly upper 16x16 blocks (row tile r / 16, columns from
// 16 (r / 16 + 1)), which no warp's tiles cover.
__device__ __forceinline__ void zero_p_padding(__nv_bfloat16* ws_p, int t, int threads) {
  const uint4 zero4 = make_uint4(0, 0, 0, 0);
  for (int r = t; r < kC; r += threads) *reinterpret_cast<uint4*>(ws_p + r * kLdV + kC) = zero4;
  if (!GDN_PREFILL_PREP_TRI_PRODUCTS) return;
  for (int i = t; i < kC * (kC / 8); i += threads) {
    const int r = i / (kC / 8), c = (i % (kC / 8)) * 8;
    if (c >= 16 * (r / 16 + 1)) *reinterpret_cast<uint4*>(ws_p + r * kLdV + c) = zero4;
  }
}

// The prep's workspace writes that read neither A nor T (GDN_PREFILL_PREP_IDLE_KD): Kd = diag(G_C/G)
// K, the padded tiles' row pads and (with GDN_PREFILL_PREP_IDLE_P) P's zeros, by the 192 threads the
// solve's diagonal phase leaves idle (t = tid - 64). With GDN_PREFILL_PREP_BULK_STORES
// (kPrepBulkStores), Kd and the W and Kd row pads go to the shared staging tiles kd_stage and w_stage
// instead (the bulk stores copy them), followed by the proxy fence.
struct PrepIdleStores {
  const __nv_bfloat16* k;  // K in shared memory (row stride kLdK)
  const float* fd;         // G_C / G_r
  __nv_bfloat16* ws_w;
  __nv_bfloat16* ws_kd;
  __nv_bfloat16* ws_u;
  __nv_bfloat16* ws_p;
  __nv_bfloat16* kd_stage;  // kPrepBulkStores: Kd's [64][kLdK] staging tile, else unused
  __nv_bfloat16* w_stage;   // kPrepBulkStores: W's [64][kLdK] staging tile, else unused
  __device__ __forceinline__ void operator()(int t) const {
    constexpr int kIdle = kPrepThreads - 64, kRowsPerPass = kIdle / (kD / 8);
    const int pc = (t & 15) * 8;
    __nv_bfloat16* kd = kPrepBulkStores ? kd_stage : ws_kd;
    __nv_bfloat16* w = kPrepBulkStores ? w_stage : ws_w;
#pragma unroll 2
    for (int r = t >> 4; r < kC; r += kRowsPerPass) {
      const uint4 piece = *reinterpret_cast<const uint4*>(k + prep_kv_offset(r, pc));
      *reinterpret_cast<uint4*>(kd + r * kLdK + pc) = scale_piece(piece, fd[r]);
    }
    if (t < kC) zero_wkdu_row_pads(w, kd, ws_u, t);
    if (kPrepBulkStores && !GDN_PREFILL_DIAG_PREP_NO_IDLE_FENCE) afg::fence_smem_for_bulk();
    if (GDN_PREFILL_PREP_IDLE_P) zero_p_padding(ws_p, t, kIdle);
  }
};

// @diagnostic GDN_PREFILL_DIAG_PREP_TIMES: 0, 1 (default 0)
// 1: thread 0 of every prep CTA records the SM clock after each phase's barrier (so a mark is the
// slowest warp's) and the global timer at its start and after its last stores are issued, for
// scripts/device/gdn-prep-timeline.sh. Why: a lone prep CTA takes ~10 us for one 64-token chunk
// (132 / 2: 24 CTAs, prep 10.1 us; session 22, call 9) and every band waits on it; ncu's barrier
// stalls do not say which phase.
#ifndef GDN_PREFILL_DIAG_PREP_TIMES
#define GDN_PREFILL_DIAG_PREP_TIMES 0
#endif
constexpr int kPrepDiagCtas = 4096;
// Start, slot found, K / Q / V and gates landed, gate factors, K K^T and Q K^T (A, P stored), the
// solve's diagonal blocks, its first merge level, T solved (with GDN_PREFILL_SOLVE_MMA: the solve's
// three barriers), W computed (the barrier before U overwrites K), W and U in shared memory, workspace
// stores issued.
enum PrepMark {
  kPrepStart, kPrepSlotFound, kPrepLoaded, kPrepGates, kPrepProducts, kPrepSolveDiag, kPrepSolveLevel1, kPrepSolved,
  kPrepW, kPrepWU, kPrepStored, kPrepMarks
};
#if GDN_PREFILL_DIAG_PREP_TIMES
__device__ long long g_prep_marks[kPrepDiagCtas][kPrepMarks];     // SM clock
__device__ unsigned long long g_prep_span[kPrepDiagCtas][2];      // global timer: start, stores issued
#endif
__device__ __forceinline__ void prep_mark(int mark) {
#if GDN_PREFILL_DIAG_PREP_TIMES
  const int cta = blockIdx.y * gridDim.x + blockIdx.x;
  if (threadIdx.x != 0 || cta >= kPrepDiagCtas) return;
  long long now;
  asm volatile("mov.u64 %0, %%clock64;\n" : "=l"(now)::"memory");
  g_prep_marks[cta][mark] = now;
  if (mark == kPrepStart || mark == kPrepStored) {
    unsigned long long global_ns;
    asm volatile("mov.u64 %0, %%globaltimer;\n" : "=l"(global_ns)::"memory");
    g_prep_span[cta][mark == kPrepStart ? 0 : 1] = global_ns;
  }
#else
  (void)mark;
#endif
}
// The solve's barrier with GDN_PREFILL_DIAG_PREP_TIMES: a block barrier, then the next solve mark
// (diagonal blocks, level 1, solved; a solve with more barriers stops marking at "solved").
struct PrepMarkingSync {
  int* next;
  __device__ __forceinline__ void operator()() const {
    __syncthreads();
    if (*next <= kPrepSolved) prep_mark((*next)++);
  }
};

__global__ void __launch_bounds__(kPrepCtaThreads, 2 / kPrepHeads)
chunk_prep_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                  const __nv_bfloat16* __restrict__ v, const float* __restrict__ A_log,
                  const __nv_bfloat16* __restrict__ a_in, const float* __restrict__ dt_bias,
                  const __nv_bfloat16* __restrict__ b_in, const int64_t* __restrict__ cu_seqlens,
                  int64_t num_seqs, int64_t prefetch_slots_ahead, ChunkWorkspace ws) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  // With GDN_PREFILL_PREP_WU_WGMMA the swizzled K and V tiles need 1024-byte alignment (the host asks
  // 1024 bytes more: kPrepSmemBytes).
  PrepSmem& sm = *reinterpret_cast<PrepSmem*>(kPrepWuWgmma ? align_smem_1024(smem_raw) : smem_raw);
  const int tid = threadIdx.x;
  // With GDN_PREFILL_PREP_HEAD_PAIRS, thread group `group` (8 warps) takes value head 2 blockIdx.x +
  // group; both groups run the same phases in lockstep, so the barriers below are the CTA's. gtid and
  // warp count within the group.
  const int group = tid / kPrepThreads, gtid = tid % kPrepThreads;
  const int lane = gtid & 31, warp = gtid >> 5;
  // The persistent scan's item counter starts at zero each call (the scan reads it only after this
  // grid has ended: griddepcontrol.wait).
  if (ws.items != nullptr && blockIdx.x == 0 && blockIdx.y == 0 && tid == 0) *ws.items = 0;
  const int h = blockIdx.x * kPrepHeads + group;
  PrepHeadSmem& hs = sm.head[group];
  const int hk = h / (kNumVHeads / kNumQKHeads);
  // Products of 64 rows: warp w takes the 16-row tile (w & 3) and half (w >> 2) of the columns.
  const int m0 = (warp & 3) * 16;
  const int half = warp >> 2;
  // GDN_PREFILL_PREP_PREFETCH_WAVE: thread tid < num_seqs keeps sequence tid's bounds for the unit's
  // lookup and for the lookup of the chunk whose rows it prefetches.
  const bool held = prep_holds_bounds(num_seqs);
  int64_t seq_start = 0, seq_end = 0;
  if (held && tid < num_seqs) {
    seq_start = cu_seqlens[tid];
    seq_end = cu_seqlens[tid + 1];
  }
  // One CTA a (chunk slot, value head): grid.y is the call's slots. GDN_PREFILL_PREP_PREFETCH_WAVE: the
  // slot of the CTA one wave behind this one (held bounds only), whose rows are asked of L2 once this
  // CTA's have landed.
  const int64_t slot = blockIdx.y;
  const int64_t ahead_slot =
      held && prefetch_slots_ahead > 0 && slot + prefetch_slots_ahead < gridDim.y ? slot + prefetch_slots_ahead : -1;
  const size_t head_slot = static_cast<size_t>(slot) * kNumVHeads + h;
  prep_mark(kPrepStart);
  // GDN_PREFILL_CHUNK_FLAGS: this head's flag starts unset. The store, then its thread's fence (after
  // the slot lookup's load, so its wait overlaps that load) and a barrier come before this CTA lets
  // the scan launch: no scan CTA can then read an earlier call's value.
  if (ws.prepped == nullptr) {
    afg::pdl_launch_dependents();
  } else if (gtid == 0) {
    // Relaxed at gpu scope: the scans read it with acquire loads from other CTAs.
    asm volatile("st.relaxed.gpu.global.u32 [%0], %1;\n" ::"l"(ws.prepped + head_slot), "r"(0u) : "memory");
  }
  // GDN_PREFILL_SCAN_APART: this (slot, head)'s ready count starts at zero (the scan's CTAs count up
  // only after this grid has ended, or with chunk flags after this CTA's flag, and the output
  // kernel's CTAs start after that).
  if (ws.ready != nullptr && gtid == 0) ws.ready[head_slot] = 0;

  if (held) {
    chunk_of_slot_held(slot, seq_start, seq_end, num_seqs, sm.bos_len, tid, kPrepBulkPrefetch ? ahead_slot : -1,
                       sm.next_bos_len);
  } else {
    chunk_of_slot<kPrepCtaThreads>(slot, cu_seqlens, num_seqs, sm.bos_len, tid);
  }
  if (ws.prepped != nullptr) {
    if (gtid == 0) __threadfence();
    __syncthreads();
    afg::pdl_launch_dependents();
  }
  const int64_t c0 = sm.bos_len[0];
  const int len = static_cast<int>(sm.bos_len[1]);
  prep_mark(kPrepSlotFound);
  if (len <= 0) return;

  // --- load K, Q (head hk: with head pairs K by group 0, Q by group 1) and V (head h, all columns);
  // rows past len are zero ------------------------------------------------------------------------
  const bool loads_k = kPrepHeads == 1 || group == 0, loads_q = kPrepHeads == 1 || group == 1;
  // GDN_PREFILL_PREP_LEAN: this thread's column piece pc of rows pr, pr + 16, ... (the pieces of row
  // r of the three tiles sit at fixed offsets from the chunk's first row).
  const int pc = (gtid & 15) * 8, pr = gtid >> 4;
  // GDN_PREFILL_PREP_EARLY_GATES: warp 0's gate inputs asked before its copies (a load issued after
  // the twelve copies returns behind them), rows 2 lane and 2 lane + 1, kept raw until the copies are out.
  __nv_bfloat16 raw_a[2] = {}, raw_b[2] = {};
  float a_log_h = 0.f, dt_bias_h = 0.f;
  if (GDN_PREFILL_PREP_EARLY_GATES && warp == 0) {
    a_log_h = A_log[h];
    dt_bias_h = dt_bias[h];
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int r = 2 * lane + e;
      if (r < len) {
        raw_a[e] = a_in[(c0 + r) * kNumVHeads + h];
        raw_b[e] = b_in[(c0 + r) * kNumVHeads + h];
      }
    }
  }
  if constexpr (GDN_PREFILL_PREP_LEAN) {
    const __nv_bfloat16* k_row0 = k + (c0 * kNumQKHeads + hk) * kD + pc;
    const __nv_bfloat16* q_row0 = q + (c0 * kNumQKHeads + hk) * kD + pc;
    const __nv_bfloat16* v_row0 = v + (c0 * kNumVHeads + h) * kD + pc;
#pragma unroll
    for (int r = pr; r < kC; r += kPrepThreads / 16) {
      // Past len: nothing read (zero bytes), the chunk's first row named as a valid address.
      const int bytes = r < len ? 16 : 0, row = r < len ? r : 0;
      if (loads_k) cp_async16(sm.k + prep_kv_offset(r, pc), k_row0 + row * (kNumQKHeads * kD), bytes);
      if (loads_q) cp_async16(sm.q + r * kLdK + pc, q_row0 + row * (kNumQKHeads * kD), bytes);
      cp_async16(hs.v + prep_kv_offset(r, pc), v_row0 + row * (kNumVHeads * kD), bytes);
    }
  } else {
    for (int i = gtid; i < kC * (kD / 8); i += kPrepThreads) {
      const int r = i / (kD / 8), c = (i % (kD / 8)) * 8;
      const int bytes = r < len ? 16 : 0;
      const int64_t row = r < len ? c0 + r : 0;
      if (loads_k) cp_async16(sm.k + prep_kv_offset(r, c), k + (row * kNumQKHeads + hk) * kD + c, bytes);
      if (loads_q) cp_async16(sm.q + r * kLdK + c, q + (row * kNumQKHeads + hk) * kD + c, bytes);
      cp_async16(hs.v + prep_kv_offset(r, c), v + (row * kNumVHeads + h) * kD + c, bytes);
    }
  }
  // Row r's log g and beta (zero outside the chunk) from its gate inputs.
  const auto gate_of_raw = [](bool in_chunk, float a_log_h, float dt_bias_h, __nv_bfloat16 a, __nv_bfloat16 b, float& lg, float& bt) {
    lg = in_chunk ? log_gate(-expf(a_log_h), __bfloat162float(a), dt_bias_h) : 0.f;
    bt = in_chunk ? beta_gate(__bfloat162float(b)) : 0.f;
  };
  if constexpr (GDN_PREFILL_PREP_EARLY_GATES) {
    // Warp 0: rows 2 lane and 2 lane + 1, then the factors, under the copies.
    if (warp == 0) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int r = 2 * lane + e;
        gate_of_raw(r < len, a_log_h, dt_bias_h, raw_a[e], raw_b[e], hs.cum[r], hs.beta[r]);
      }
      __syncwarp();
      chunk_gate_factors(hs.cum, hs.beta, hs.fk, hs.fd, lane);
    }
  } else if (gtid < kC) {
    if (gtid < len) {
      const int64_t gi = (c0 + gtid) * kNumVHeads + h;
      gate_of_raw(true, A_log[h], dt_bias[h], a_in[gi], b_in[gi], hs.cum[gtid], hs.beta[gtid]);
    } else {
      hs.cum[gtid] = hs.beta[gtid] = 0.f;
    }
  }
  cp_async_wait_all();
  // GDN_PREFILL_PREP_WU_WGMMA: the warpgroup MMAs read K and V through the async proxy.
  if constexpr (kPrepWuWgmma) afg::fence_proxy_async();
  __syncthreads();
  prep_mark(kPrepLoaded);
  // The next unit's rows asked of L2 once this unit's have landed (not competing with them for DRAM).
  if (kPrepBulkPrefetch && ahead_slot >= 0) {
    if (tid == 32 * GDN_PREFILL_PREP_PREFETCH_WARP) {
      prefetch_prep_chunk_share(k, q, v, sm.next_bos_len[0], static_cast<int>(sm.next_bos_len[1]), blockIdx.x, gridDim.x);
    }
  } else if (ahead_slot >= 0) {
    chunk_of_slot_held(ahead_slot, seq_start, seq_end, num_seqs, sm.next_bos_len, tid);
    prefetch_prep_rows(k, q, v, sm.next_bos_len[0], static_cast<int>(sm.next_bos_len[1]), h, hk, gtid, kPrepThreads);
  }
  if constexpr (!GDN_PREFILL_PREP_EARLY_GATES) {
    if (warp == 0) chunk_gate_factors(hs.cum, hs.beta, hs.fk, hs.fd, lane);
    __syncthreads();
  }
  prep_mark(kPrepGates);

  __nv_bfloat16* ws_w = ws.w + head_slot * kWsTileWK;
  __nv_bfloat16* ws_u = ws.u + head_slot * kWsTileU;
  __nv_bfloat16* ws_kd = ws.kd + head_slot * kWsTileWK;
  __nv_bfloat16* ws_p = ws.p + head_slot * kWsTileP;
  // Staging tiles: W in hs.o, or with bulk stores over A (dead after the solve) while Kd is staged in
  // hs.o; U over K (group 0) or Q (group 1; both dead once every group's products and W are done).
  __nv_bfloat16* w_stage = kPrepBulkStores ? reinterpret_cast<__nv_bfloat16*>(hs.a) : hs.o;
  // (GDN_PREFILL_PREP_WU_WGMMA: U over Q, dead since the products, so U's warpgroup need not wait
  // for W's to finish reading K.)
  __nv_bfloat16* u_stage = kPrepWuWgmma || group != 0 ? sm.q : sm.k;
  // With GDN_PREFILL_PREP_IDLE_KD the solve's idle warps write Kd, the pads and (IDLE_P) P's zeros.
#if GDN_PREFILL_PREP_IDLE_KD
  const PrepIdleStores idle{sm.k, hs.fd, ws_w, ws_kd, ws_u, ws_p, hs.o, w_stage};
#else
  const NoIdleWork idle{};
#endif
  if constexpr (!GDN_PREFILL_PREP_IDLE_KD) {
    if (gtid < kC) zero_wkdu_row_pads(ws_w, ws_kd, ws_u, gtid);

    // --- Kd = diag(G_C/G) K straight to the workspace -----------------------------------------------
    for (int i = gtid; i < kC * (kD / 8); i += kPrepThreads) {
      const int r = i / (kD / 8), c = (i % (kD / 8)) * 8;
      *reinterpret_cast<uint4*>(ws_kd + r * kLdK + c) =
          scale_piece(*reinterpret_cast<const uint4*>(sm.k + r * kLdK + c), hs.fd[r]);
    }
  }

  // --- A = beta_i G_i/G_j k_i.k_j (i > j) -> smem; P = G_i/G_j q_i.k_j (i >= j) -> workspace ----
  // P's zeros here unless the idle warps write them (GDN_PREFILL_PREP_IDLE_KD and IDLE_P).
  if (!(GDN_PREFILL_PREP_IDLE_KD && GDN_PREFILL_PREP_IDLE_P)) zero_p_padding(ws_p, gtid, kPrepThreads);
  if constexpr (GDN_PREFILL_PREP_TRI_PRODUCTS) {
    const unsigned tiles = static_cast<unsigned>(kTriProductTiles >> (8 * warp)) & 0xffu;
    const int tile_m0 = (tiles & 3u) * 16, tile_n0 = ((tiles >> 2) & 7u) * 8;
    if ((tiles >> 5) == 3u) {
      lower_chunk_products<3>(sm.k, sm.q, hs.cum, hs.beta, hs.a, ws_p, tile_m0, tile_n0, lane);
    } else {
      lower_chunk_products<2>(sm.k, sm.q, hs.cum, hs.beta, hs.a, ws_p, tile_m0, tile_n0, lane);
    }
  } else {
    const int n0 = half * 32;
    float kk[4][4], qk[4][4];
    zero(kk);
    zero(qk);
    gemm_rowA<4, kD, true>(kk, sm.k, kLdK, m0, sm.k, kLdK, n0, lane);
    gemm_rowA<4, kD, true>(qk, sm.q, kLdK, m0, sm.k, kLdK, n0, lane);
    decay_chunk_products(kk, qk, hs.cum, hs.beta, hs.a, m0, n0, lane);
    store_tile_bf16(ws_p, kLdV, m0, n0, qk, lane);
  }
  __syncthreads();
  prep_mark(kPrepProducts);

#if GDN_PREFILL_DIAG_PREP_TIMES
  int next_solve_mark = kPrepSolveDiag;
  solve_unit_lower<kPrepThreads>(hs.a, hs.t, hs.partial, gtid, PrepMarkingSync{&next_solve_mark}, idle);
#else
  solve_unit_lower<kPrepThreads>(hs.a, hs.t, hs.partial, gtid, BlockSync{}, idle);
#endif
  prep_mark(kPrepSolved);
  // kPrepBulkStores: Kd is staged (the solve's idle threads fenced it before its barriers).
  if (kPrepBulkStores && gtid == 0) {
    afg::bulk_store(ws_kd, hs.o, kWsTileWK * 2);
    afg::bulk_commit();
  }
  // Without GDN_PREFILL_PREP_T_FRAGS (one head a CTA then), T with its columns scaled, in bf16:
  // T diag(beta G) over A (dead), T diag(beta) over Q (dead).
  __nv_bfloat16* tw = reinterpret_cast<__nv_bfloat16*>(hs.a);
  __nv_bfloat16* tu = sm.q;
  if constexpr (!GDN_PREFILL_PREP_T_FRAGS) {
    for (int i = gtid; i < kC * (kC / 2); i += kPrepThreads) {
      const int r = i / (kC / 2), c = (i % (kC / 2)) * 2;
      const float t0 = t_lower(hs.t, r, c), t1 = t_lower(hs.t, r, c + 1);
      store_bf16x2(tw + r * kLdV + c, t0 * hs.fk[c], t1 * hs.fk[c + 1]);
      store_bf16x2(tu + r * kLdV + c, t0 * hs.beta[c], t1 * hs.beta[c + 1]);
    }
    __syncthreads();
  }

  // --- W = T diag(beta G) K -> w_stage;  U = T diag(beta) V -> u_stage (after the barrier) ---------
  if constexpr (kPrepWuWgmma) {
    // Warpgroup 0 (warps 0-3) W, warpgroup 1 U; warp w of a warpgroup rows 16 (w & 3).., one 64-column
    // panel at a time (32 accumulators: the prep's 128 registers a thread hold the fragments too):
    // four k16 steps over the chunk's rows, A = the warp's T fragments (zeros right of its diagonal
    // block, where T's storage holds scratch), B = K or V from its swizzled panel. Each panel is
    // stored once its MMAs are done (W into its staging tile, U in 16-column blocks over Q).
    const bool is_u = warp >= 4;
    const int m_w = (warp & 3) * 16;
    const float* f = is_u ? hs.beta : hs.fk;
    const uint32_t b_base = smem_addr(is_u ? hs.v : sm.k);
    uint32_t af[kC / 16][4];
#pragma unroll
    for (int step = 0; step < kC / 16; ++step) {
      if (step * 16 <= m_w) {
        load_a_f32_scaled(af[step], hs.t, kLdF, m_w, step * 16, f, lane);
      } else {
        af[step][0] = af[step][1] = af[step][2] = af[step][3] = 0u;
      }
    }
#pragma unroll
    for (int panel = 0; panel < kD / 64; ++panel) {
      float acc[8][4];
      zero(acc);
      afg::wgmma_fence();
#pragma unroll
      for (int step = 0; step < kC / 16; ++step) {
        afg::wgmma_m64n64k16_bf16_rs_mn(reinterpret_cast<float(&)[32]>(acc), af[step],
                                        afg::desc_sw128_mn(b_base + panel * kPrepPanelBytes + step * 2048, kPrepPanelBytes));
      }
      afg::wgmma_commit();
      afg::wgmma_wait<0>();
      afg::fence_fragment(reinterpret_cast<float(&)[32]>(acc));
#pragma unroll
      for (int step = 0; step < kC / 16; ++step) afg::fence_regs(af[step]);
      if (is_u) {
        store_tile_bf16_blocked(u_stage, m_w, panel * 64, acc, lane);
      } else {
        store_tile_bf16(w_stage, kLdK, m_w, panel * 64, acc, lane);
      }
    }
    prep_mark(kPrepW);
    afg::fence_smem_for_bulk();
  } else if constexpr (GDN_PREFILL_PREP_WU_PAIRS) {
    // Warps 0-3 W, 4-7 U; (warp >> 1) & 1 picks row tiles (0, 3) or (1, 2), warp & 1 the column half.
    const bool is_u = warp >= 4;
    const int pair = (warp >> 1) & 1, n0 = (warp & 1) * 64;
    const int m_lo = pair ? 16 : 0, m_hi = pair ? 32 : 48;
    const float* f = is_u ? hs.beta : hs.fk;
    const __nv_bfloat16* t_scaled = is_u ? tu : tw;
    const __nv_bfloat16* b = is_u ? hs.v : sm.k;
    float lo[8][4], hi[8][4];
    zero(lo);
    zero(hi);
    gemm_t_scaled(lo, hs.t, f, t_scaled, m_lo, b, kLdK, n0, lane);
    gemm_t_scaled(hi, hs.t, f, t_scaled, m_hi, b, kLdK, n0, lane);
    if (!is_u) {
      store_tile_bf16(w_stage, kLdK, m_lo, n0, lo, lane);
      store_tile_bf16(w_stage, kLdK, m_hi, n0, hi, lane);
    }
    __syncthreads();  // every warp is done reading K (and, with head pairs, Q is long dead)
    prep_mark(kPrepW);
    // U in the workspace's 16-column blocks with bulk stores, else in padded rows.
    if (is_u && kPrepBulkStores) {
      store_tile_bf16_blocked(u_stage, m_lo, n0, lo, lane);
      store_tile_bf16_blocked(u_stage, m_hi, n0, hi, lane);
    } else if (is_u) {
      store_tile_bf16(u_stage, kLdK, m_lo, n0, lo, lane);
      store_tile_bf16(u_stage, kLdK, m_hi, n0, hi, lane);
    }
    if (kPrepBulkStores) afg::fence_smem_for_bulk();
  } else {
    const int n0 = half * 64;
    float acc[8][4];
    zero(acc);
    gemm_t_scaled(acc, hs.t, hs.fk, tw, m0, sm.k, kLdK, n0, lane);
    store_tile_bf16(w_stage, kLdK, m0, n0, acc, lane);
    zero(acc);
    gemm_t_scaled(acc, hs.t, hs.beta, tu, m0, hs.v, kLdK, n0, lane);
    __syncthreads();  // every warp is done reading K
    prep_mark(kPrepW);
    store_tile_bf16(u_stage, kLdK, m0, n0, acc, lane);
  }
  __syncthreads();
  prep_mark(kPrepWU);
  if constexpr (kPrepBulkStores) {
    if (gtid == 0) {
      afg::bulk_store(ws_w, w_stage, kWsTileWK * 2);
      afg::bulk_store(ws_u, u_stage, kC * kD * 2);
      afg::bulk_commit();
    }
  } else if constexpr (GDN_PREFILL_PREP_LEAN) {
#pragma unroll
    for (int r = pr; r < kC; r += kPrepThreads / 16) {
      *reinterpret_cast<uint4*>(ws_w + r * kLdK + pc) = *reinterpret_cast<const uint4*>(w_stage + r * kLdK + pc);
      *reinterpret_cast<uint4*>(ws_u + (GDN_PREFILL_U_BLOCKS ? u_block_index(r, pc) : r * kLdK + pc)) =
          *reinterpret_cast<const uint4*>(u_stage + r * kLdK + pc);
    }
  } else {
    for (int i = gtid; i < kC * (kD / 8); i += kPrepThreads) {
      const int r = i / (kD / 8), c = (i % (kD / 8)) * 8;
      *reinterpret_cast<uint4*>(ws_w + r * kLdK + c) = *reinterpret_cast<const uint4*>(w_stage + r * kLdK + c);
      *reinterpret_cast<uint4*>(ws_u + (GDN_PREFILL_U_BLOCKS ? u_block_index(r, c) : r * kLdK + c)) =
          *reinterpret_cast<const uint4*>(u_stage + r * kLdK + c);
    }
  }
  if (gtid < kC) ws.cum[head_slot * kC + gtid] = hs.cum[gtid];
  prep_mark(kPrepStored);
  // The bulk stores must have read their staging tiles before this CTA's shared memory goes; with
  // chunk flags they must be complete before the flag is released (the grid's end covers the rest).
  if (kPrepBulkStores && gtid == 0) {
    if (ws.prepped != nullptr) afg::bulk_wait_all();
    else afg::bulk_wait_read();
  }
  if (ws.prepped != nullptr) {
    // Every thread's workspace stores, then one thread a head's fence and release of the chunk's flag
    // (the grid barrier's pattern: the barrier orders the CTA's stores before the fence, which makes
    // them visible at gpu scope before the flag).
    __syncthreads();
    if (gtid == 0) {
      __threadfence();
      // The scans read these tiles with bulk copies (the async proxy); the readers fence too, this
      // covers a narrower reading of the proxy rules for one instruction per CTA.
      afg::fence_global_for_bulk();
      asm volatile("st.release.gpu.global.u32 [%0], %1;\n" ::"l"(ws.prepped + head_slot), "r"(1u) : "memory");
    }
  }
}

// A chunk's scan operands by cp.async from Threads threads, as one commit group: W, Kd and the
// chunk's Q rows (zeros past len) into [64][kLdK] tiles, the BV columns of U from v0 into u_dst
// (row stride ld_u), P and cum; head_slot names the chunk's (slot, head) workspace tiles.
template <int Threads, int BV, bool UDstBlocked = false>
__device__ __forceinline__ void load_scan_operands(__nv_bfloat16* w_dst, __nv_bfloat16* kd_dst, __nv_bfloat16* q_dst,
                                                   __nv_bfloat16* u_dst, int ld_u, __nv_bfloat16* p_dst, float* cum_dst,
                                                   const ChunkWorkspace& ws, size_t head_slot, const __nv_bfloat16* q,
                                                   int64_t c0, int len, int hk, int v0, int tid) {
  const __nv_bfloat16* w = ws.w + head_slot * kWsTileWK;
  const __nv_bfloat16* kd = ws.kd + head_slot * kWsTileWK;
  for (int e = tid; e < kC * (kD / 8); e += Threads) {
    const int r = e / (kD / 8), c = (e % (kD / 8)) * 8;
    cp_async16(w_dst + r * kLdK + c, w + r * kLdK + c, 16);
    cp_async16(kd_dst + r * kLdK + c, kd + r * kLdK + c, 16);
    const int64_t row = r < len ? c0 + r : 0;
    cp_async16(q_dst + r * kLdK + c, q + (row * kNumQKHeads + hk) * kD + c, r < len ? 16 : 0);
  }
  // U: BV columns from v0, from padded rows or 16-column blocks (GDN_PREFILL_U_BLOCKS), into rows of
  // stride ld_u or (UDstBlocked) the same 16-column blocks.
  const __nv_bfloat16* u = ws.u + head_slot * kWsTileU;
  for (int e = tid; e < kC * (BV / 8); e += Threads) {
    const int r = e / (BV / 8), c = (e % (BV / 8)) * 8;
    cp_async16(u_dst + (UDstBlocked ? u_block_index(r, c) : r * ld_u + c),
               u + (GDN_PREFILL_U_BLOCKS ? u_block_index(r, v0 + c) : r * kLdK + v0 + c), 16);
  }
  const __nv_bfloat16* p = ws.p + head_slot * kWsTileP;
  for (int e = tid; e < kC * (kC / 8); e += Threads) {
    const int r = e / (kC / 8), c = (e % (kC / 8)) * 8;
    cp_async16(p_dst + r * kLdV + c, p + r * kLdV + c, 16);
  }
  if (tid < kC / 4) cp_async16(cum_dst + 4 * tid, ws.cum + head_slot * kC + 4 * tid, 16);
  cp_async_commit();
}

template <int BV>
struct ScanStage {
  __nv_bfloat16 w[kC * kLdK];
  __nv_bfloat16 kd[kC * kLdK];
  __nv_bfloat16 q[kC * kLdK];
  __nv_bfloat16 u[kC * ScanShape<BV>::kLdS];  // this CTA's value columns of U
  __nv_bfloat16 p[kC * kLdV];
  float cum[kC];
};
template <int BV>
struct ScanSmem {
  ScanStage<BV> st[kStages];
  __nv_bfloat16 s[kD * ScanShape<BV>::kLdS];   // bf16 copy of the state slice, [k][v]
  __nv_bfloat16 up[kC * ScanShape<BV>::kLdS];  // U'
  long long seq;                                // the sequence this CTA works on
};
// Sequences ranked by length in the scans up to this count (cu_seqlens staged over stage 0's W tile).
constexpr int64_t kScanRankMax = 1024;
static_assert(kScanRankMax * 8 + 8 <= kC * kLdK * 2, "cu_seqlens staging does not fit over a W tile");

template <int BV>
__global__ void __launch_bounds__(kScanThreads, 1)
chunk_scan_kernel(const __nv_bfloat16* __restrict__ q, const float* __restrict__ state,
                  const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                  bool rank_by_length, ChunkWorkspace ws, __nv_bfloat16* __restrict__ output,
                  float* __restrict__ new_state) {
  // The names the body was written with, for this BV.
  constexpr int kScanBV = BV;
  constexpr int kScanSlices = ScanShape<BV>::kSlices;
  constexpr int kScanNT = ScanShape<BV>::kNT;
  constexpr int kLdS = ScanShape<BV>::kLdS;
  static_assert(sizeof(ScanStage<BV>) >= sizeof(float) * BV * kD, "state staging does not fit a stage");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  ScanSmem<BV>& sm = *reinterpret_cast<ScanSmem<BV>*>(smem_raw);
  const int slice = blockIdx.x % kScanSlices;
  const int h = (blockIdx.x / kScanSlices) % kNumVHeads;
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int v0 = slice * kScanBV;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t n = sequence_of_rank<kScanThreads, kScanRankMax>(blockIdx.x / (kScanSlices * kNumVHeads), rank_by_length,
                                                                 cu_seqlens, num_seqs,
                                                                 reinterpret_cast<long long*>(sm.st[0].w), &sm.seq, tid);
  const int g = lane >> 2, tq = lane & 3;
  // The state slice S [128 x kScanBV]: warp w owns the 16 rows d in [16w, 16w+16).
  const int d0 = warp * 16;
  // Chunk products [64 x kScanBV]: warp w takes row tile (w & 3) and half (w >> 2) of the columns.
  constexpr int kHalfNT = kScanNT / 2;
  const int m0 = (warp & 3) * 16;
  const int n0 = (warp >> 2) * (kScanBV / 2);

  const int64_t bos = cu_seqlens[n];
  const int64_t eos = cu_seqlens[n + 1];
  float* out_state = new_state + ((n * kNumVHeads + h) * kD + v0) * kD;  // rows v0.. of [v][k]
  zero_rows_outside_sequences<kScanBV, kScanThreads>(output, h, v0, n, num_seqs, bos, eos, total, tid);
  if (eos <= bos) {
    // The reference skips empty sequences: their final state stays zero.
    zero_state_rows<kScanBV, kScanThreads>(out_state, tid);
    return;
  }
  const int nchunks = static_cast<int>((eos - bos + kC - 1) / kC);
  const int64_t first_slot = bos / kC + n;

  auto load_chunk = [&](int i, ScanStage<BV>& st) {
    const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
    const int len = static_cast<int>(eos - c0 < kC ? eos - c0 : kC);
    load_scan_operands<kScanThreads, BV>(st.w, st.kd, st.q, st.u, kLdS, st.p, st.cum, ws,
                                         static_cast<size_t>(first_slot + i) * kNumVHeads + h, q, c0, len, hk, v0, tid);
  };

  // The initial state first (it does not depend on the prep pass), then the workspace.
  float s_acc[kScanNT][4];
  if (state != nullptr) {
    float* staging = reinterpret_cast<float*>(&sm.st[0]);  // [kScanBV v][128 k] fp32
    const float* src = state + ((n * kNumVHeads + h) * kD + v0) * kD;
    for (int i = tid; i < kScanBV * kD / 4; i += kScanThreads) cp_async16(staging + 4 * i, src + 4 * i, 16);
    cp_async_commit();
    cp_async_wait_group<0>();
    __syncthreads();
#pragma unroll
    for (int nt = 0; nt < kScanNT; ++nt) {
      const int d = d0 + g;
      const int c = nt * 8 + 2 * tq;
      s_acc[nt][0] = staging[c * kD + d];
      s_acc[nt][1] = staging[(c + 1) * kD + d];
      s_acc[nt][2] = staging[c * kD + d + 8];
      s_acc[nt][3] = staging[(c + 1) * kD + d + 8];
    }
    __syncthreads();
  } else {
    zero(s_acc);
  }
  afg::pdl_wait();
  if (kStages > 1) load_chunk(0, sm.st[0]);

  for (int i = 0; i < nchunks; ++i) {
    const bool prefetch = kStages > 1 && i + 1 < nchunks;
    if (kStages == 1) load_chunk(i, sm.st[0]);
    if (prefetch) load_chunk(i + 1, sm.st[(i + 1) % kStages]);
    const ScanStage<BV>& st = sm.st[i % kStages];
    const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
    const int len = static_cast<int>(eos - c0 < kC ? eos - c0 : kC);

    // bf16 copy of the state for the products that read it
#pragma unroll
    for (int nt = 0; nt < kScanNT; ++nt) {
      const int c = nt * 8 + 2 * tq;
      store_bf16x2(sm.s + (d0 + g) * kLdS + c, s_acc[nt][0], s_acc[nt][1]);
      store_bf16x2(sm.s + (d0 + g + 8) * kLdS + c, s_acc[nt][2], s_acc[nt][3]);
    }
    if (prefetch) cp_async_wait_group<1>(); else cp_async_wait_group<0>();
    __syncthreads();

    // --- U' = U - W S -> smem;  Q S kept in registers -------------------------------------------
    float qs[kHalfNT][4];
    {
      float ws_acc[kHalfNT][4];
      zero(ws_acc);
      zero(qs);
      gemm_rowA<kHalfNT, kD, false>(ws_acc, st.w, kLdK, m0, sm.s, kLdS, n0, lane);
      gemm_rowA<kHalfNT, kD, false>(qs, st.q, kLdK, m0, sm.s, kLdS, n0, lane);
      store_pseudo_values(sm.up + n0, kLdS, st.u + n0, kLdS, ws_acc, m0, lane);
    }
    __syncthreads();

    // --- O = scale (diag(G) Q S + P U') ------------------------------------------------------------
    {
      float pu[kHalfNT][4];
      zero(pu);
      gemm_rowA<kHalfNT, kC, false>(pu, st.p, kLdV, m0, sm.up, kLdS, n0, lane);
      store_output_tile(output, c0, len, m0, h, v0 + n0, scale, expf(st.cum[m0 + g]), expf(st.cum[m0 + g + 8]), qs, pu, lane);
    }

    // --- S = G_C S + Kd^T U' ---------------------------------------------------------------------------
    {
      const float gc = expf(st.cum[kC - 1]);
#pragma unroll
      for (int nt = 0; nt < kScanNT; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) s_acc[nt][e] *= gc;
      }
#pragma unroll
      for (int k0 = 0; k0 < kC; k0 += 16) {
        uint32_t af[4];
        load_a_trans(af, st.kd, kLdK, d0, k0, lane);
#pragma unroll
        for (int nt = 0; nt < kScanNT; nt += 2) {
          uint32_t bf[4];
          load_b_cols(bf, sm.up, kLdS, nt * 8, k0, lane);
          mma_bf16(s_acc[nt], af, bf[0], bf[1]);
          mma_bf16(s_acc[nt + 1], af, bf[2], bf[3]);
        }
      }
    }
    __syncthreads();
  }

  // --- final state: fragments -> staging [v][k] -> new_state (coalesced) --------------------------
  float* out_staging = reinterpret_cast<float*>(&sm.st[0]);
#pragma unroll
  for (int nt = 0; nt < kScanNT; ++nt) {
    const int d = d0 + g;
    const int c = nt * 8 + 2 * tq;
    out_staging[c * kD + d] = s_acc[nt][0];
    out_staging[(c + 1) * kD + d] = s_acc[nt][1];
    out_staging[c * kD + d + 8] = s_acc[nt][2];
    out_staging[(c + 1) * kD + d + 8] = s_acc[nt][3];
  }
  __syncthreads();
  for (int i = tid; i < kScanBV * kD / 4; i += kScanThreads) reinterpret_cast<float4*>(out_state)[i] = reinterpret_cast<const float4*>(out_staging)[i];
}
