// scan_split.cuh: pass 2 of the two-pass prefill with the state chain apart from the output
// (GDN_PREFILL_SCAN_SPLIT=1): chunk_scan_split_kernel<BV>.
//
// Why: in chunk_scan_kernel every warp does a chunk's whole list in order (next chunk's loads, the
// bf16 state copy, W S and Q S, U', P U', the output stores, the S update), so the output's products
// and stores sit on the sequential chain S(i) -> W S(i) -> U'(i) -> S(i+1). ncu at 2107 tokens in one
// sequence (session 9): 2.5 us per chunk, ~700 instructions per warp per chunk at ~7 cycles each,
// while the chain itself is two dependent mma runs (8 and 4 k-steps) and two barriers.
// Here warps 0-3 (state) run only the chain and the loads: S copy, U' = U - W S, S = G_C S + Kd^T U';
// warps 4-7 (output) compute chunk i's O = scale (diag(G) Q S + P U') from a second copy of S(i) and
// U'(i) while the state warps go on with chunk i+1. The S copy and U' are double-buffered; named
// barriers hand them over: "ready" (state arrives when chunk i's S copy and U' are written, output
// waits), "buffer free" (output is done with chunk i's S copy and U': state may write chunk i+2's)
// and "stage free" (output is done with chunk i's stage: state may load chunk i+2 into it).
// Included inside kernel.cu's anonymous namespace after two_pass.cuh and fused.cuh.

// @tunable GDN_PREFILL_SCAN_SPLIT: 0, 1 (default 1) when GDN_PREFILL_IMPL=1
// 1: the scan with state warps and output warps (this file); 0: chunk_scan_kernel. Predicted (from
// the output's share of the instructions): 2.5 -> ~1.2 us per chunk. Measured (H200, session 9,
// three calls): 3-5% faster on every workload of more than one chunk (2107 tokens in one sequence
// 97.6 -> 93.1 us, 5709 / 2 217.5 -> 209.3, 8192 193.7 / 202.7 / 172.9 -> 185.8 / 194.2 / 164.4),
// racecheck / synccheck / memcheck clean. The prediction missed: the state warps' own chain (the
// operand loads' issue, ldmatrix -> mma waits, barriers) is ~2.3 us per chunk; a third stage of
// operands (loaded before or after the chunk's products) changed nothing (NOTES.md). Default since.
#ifndef GDN_PREFILL_SCAN_SPLIT
#define GDN_PREFILL_SCAN_SPLIT 1
#endif

// @tunable GDN_PREFILL_SCAN_BULK: 0, 1 (default 1) when GDN_PREFILL_SCAN_SPLIT=1
// 1: one state warp asks for a chunk's W, Kd, U and P tiles (padded in the workspace) and cum as
// five bulk copies (cp.async.bulk) completing on a stage mbarrier, and the output warps load the Q
// rows they use, instead of ~30 16-byte cp.async per state thread. Why: ncu's source samples of
// the split scan put ~25% of the state warps' stalls in that issue loop (LDGSTS register reuse
// behind a full memory-instruction queue), on the sequential chain. sm_90 (not only sm_90a).
// H200, session 9, one call: 2107 tokens / 1 sequence 92.9 -> 81.2 us, 5709 / 2 206.4 -> 183.5,
// 239 / 3 21.3 -> 19.4, 8192 182.0 / 193.7 / 161.8 -> 173.1 / 183.9 / 157.4; racecheck, synccheck,
// memcheck clean. A first version with one bulk copy per row of U and Q was 2x slower (each request
// has a fixed cost in the copy engine). Default since.
#ifndef GDN_PREFILL_SCAN_BULK
#define GDN_PREFILL_SCAN_BULK 1
#endif

// Bulk copies and mbarrier transaction counts exist from sm_90 on: a build for an older target
// (the contest builds plain sm_90; others may add targets) takes the cp.async path.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
constexpr bool kScanBulk = false;
#else
constexpr bool kScanBulk = GDN_PREFILL_SCAN_BULK != 0;
#endif

// The mbarrier and bulk-copy wrappers are include/afg_bulk.cuh's (included at the top of kernel.cu).
using afg::bulk_copy_to_smem;
using afg::mbar_arrive_expect_tx;
using afg::mbar_init;
using afg::mbar_init_fence;
using afg::mbar_wait;

static_assert(kWsTileU == kWsTileWK, "the bulk path copies the U tile with W's tile size");
// store_pseudo_values (state_tile.cuh) with U in 16-column blocks (u_block_index: the slice's columns
// from 0); with u_out also into those blocks there (the same bf16 values).
template <int NT>
__device__ __forceinline__ void store_pseudo_values_blocked(__nv_bfloat16* up, int ld, const __nv_bfloat16* u,
                                                            const float (&ws)[NT][4], int m0, int lane,
                                                            __nv_bfloat16* u_out = nullptr) {
  const int g = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int c = nt * 8 + 2 * tq;
    const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(u + u_block_index(m0 + g, c)));
    const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(u + u_block_index(m0 + g + 8, c)));
    const __nv_bfloat162 up_lo = __floats2bfloat162_rn(lo.x - ws[nt][0], lo.y - ws[nt][1]);
    const __nv_bfloat162 up_hi = __floats2bfloat162_rn(hi.x - ws[nt][2], hi.y - ws[nt][3]);
    *reinterpret_cast<__nv_bfloat162*>(up + (m0 + g) * ld + c) = up_lo;
    *reinterpret_cast<__nv_bfloat162*>(up + (m0 + g + 8) * ld + c) = up_hi;
    if (u_out != nullptr) {
      *reinterpret_cast<__nv_bfloat162*>(u_out + u_block_index(m0 + g, c)) = up_lo;
      *reinterpret_cast<__nv_bfloat162*>(u_out + u_block_index(m0 + g + 8, c)) = up_hi;
    }
  }
}

// One output warp's 16 rows (from m0) of chunk Q into q_dst [64][kLdK] by cp.async (zeros past the
// chunk's len rows); the caller commits.
__device__ __forceinline__ void load_warp_q_rows(__nv_bfloat16* q_dst, const __nv_bfloat16* q, int64_t c0, int len, int hk,
                                                 int m0, int lane) {
  for (int e = lane; e < 16 * (kD / 8); e += 32) {
    const int r = m0 + e / (kD / 8), c = (e % (kD / 8)) * 8;
    const int64_t row = r < len ? c0 + r : 0;
    cp_async16(q_dst + r * kLdK + c, q + (row * kNumQKHeads + hk) * kD + c, r < len ? 16 : 0);
  }
}

constexpr int kSplitGroup = 128;   // threads per role
constexpr int kBarSplitState = 1;  // the state warps among themselves
constexpr int kBarSplitReady = 2;  // + buffer (2): chunk's S copy and U' written, its stage landed
constexpr int kBarSplitBufFree = 4;  // + buffer (2): output done with the chunk's S copy and U'
constexpr int kBarSplitStageFree = 6;  // + stage (3): output done with the chunk's stage

// @tunable GDN_PREFILL_SPLIT_STAGES: 2, 3 (default 3) when GDN_PREFILL_U_BLOCKS=1
// Operand stages of the split scan where they fit (3 only with U in blocks, at 16 and 32 columns);
// with bulk copies the loads run stages - 1 chunks ahead. (Session 9: a third stage with cp.async
// loads, one chunk ahead, changed nothing.)
// Measured with GDN_PREFILL_U_BLOCKS (two_pass.cuh): 2107 / 1 65.5 -> 60.3 us, 5709 / 2 135.4 -> 133.1.
#ifndef GDN_PREFILL_SPLIT_STAGES
#define GDN_PREFILL_SPLIT_STAGES 3
#endif
// @tunable GDN_PREFILL_SPLIT_REFILL: 0, 1 (default 1) when GDN_PREFILL_SCAN_BULK=1
// Who refills a stage with the operands of the chunk `stages` later. 0: state warp 0, at the top of
// chunk i's step, after a barrier on which the output warps release chunk i - 1's stage; so each
// step of the state chain also waits for the output warps' products of the chunk before (the
// session-10 source samples of the 16-column scan: the output warps idle at "ready" 21% of the
// time while the state warps wait at a hand-over 11%). 1 (with three stages): output warp 0
// refills chunk i - 1's stage with chunk i + 2 right after the output warps' "ready" barrier of
// chunk i, no new barrier: the state warps arrived there after their update of chunk i - 1, and
// every output warp passed it after its products of chunk i - 1. The state chain then waits only
// for data, 1.5 chunk steps after the request. With two stages (64 columns) that would leave half a
// step, so those keep 0's refills. Predicted: the chain's step at 16 columns 1.41 -> ~1.0 us
// (2107 / 1: scan ~46 -> ~33 us).
// Session 20 (H200, calls 3-5): a refill after an extra "emptied" barrier, first without output
// warps 1-3 (a real race: racecheck showed them still reading P and cum), then with them, then as an
// mbarrier: 2107 / 1 59.8 -> 53.7 us, 5709 / 2 132.9 -> 122.2, 1377 / 1 44.5 -> 40.3, 8192 / 39
// 130.2 -> 126.6; but racecheck still reported the state warps' Kd reads against the refill.
// This version (call 6, two sweep rounds against 0): racecheck, synccheck, memcheck clean on 239 / 3;
// 2107 / 1 59.6 -> 52.6 us, 5709 / 2 133.3 -> 119.0, 1377 / 1 45.1 -> 40.0, 1592 / 3 42.7 -> 38.3,
// 139 / 3 14.4 -> 14.5, 8192 / 39 (64 columns, two stages: unchanged code) 130.0 -> 130.2. Default.
// The chain step at 16 columns went 1.41 -> ~1.2 us, not the predicted ~1.0.
#ifndef GDN_PREFILL_SPLIT_REFILL
#define GDN_PREFILL_SPLIT_REFILL 1
#endif

// @diagnostic GDN_PREFILL_DIAG_CHAIN_TIMES: 0, 1 (default 0)
// 1: lane 0 of state warp 0 and of output warp 0 in the scan's CTA 0 (the longest sequence's first
// head and slice when ranked) write the SM clock at the phase boundaries of every chunk step, for
// scripts/device/probes/gdn_chain_timeline_probe.cu (scripts/device/gdn-chain-timeline.sh): where a
// chunk step of the chain goes (~1.2 us at 16 columns, session 20, against ~0.4 us of dependent
// tensor-core and shared-memory latency). The marks (kChain*) are read in that order.
#ifndef GDN_PREFILL_DIAG_CHAIN_TIMES
#define GDN_PREFILL_DIAG_CHAIN_TIMES 0
#endif
// @diagnostic GDN_PREFILL_DIAG_SKIP_LOADS: 0, 1, 2, 3 (default 0)
// Wrong outputs, for timing only (gdn-chain-timeline.sh): which loads bind the chain step. Bit 1:
// the stage refills (chunks from `stages` on) copy only cum, W, Kd, U and P stay those of an earlier
// chunk (~45 of a 16-column stage's ~62 KB); bit 2: the output warps load Q only for the first
// `stages` chunks (~17 KB). Session 21's timeline: both roles wait ~1000 cycles a step for loads
// whose issue alone takes ~700, at ~31 bytes per cycle into each SM.
#ifndef GDN_PREFILL_DIAG_SKIP_LOADS
#define GDN_PREFILL_DIAG_SKIP_LOADS 0
#endif
constexpr int kChainDiagChunks = 256;
constexpr int kChainDiagMarks = 8;
// State warp 0: step start, buffer free (its S copy may be written), S copy written and the stage
// landed, state warps synced, W S in registers, U' synced ("ready" arrived), S updated.
enum ChainStateMark { kChainStart, kChainBufferFree, kChainLanded, kChainSynced, kChainWS, kChainUPrime, kChainUpdated };
// Output warp 0: step start, past "ready", its waits for the stage and Q done, products in registers,
// outputs stored.
// kChainOutRefilled (GDN_PREFILL_SPLIT_REFILL): output warp 0's refill issued, after "ready".
enum ChainOutputMark { kChainOutStart, kChainOutReady, kChainOutLanded, kChainOutProducts, kChainOutStored, kChainOutRefilled };
#if GDN_PREFILL_DIAG_CHAIN_TIMES
__device__ long long g_chain_marks[2][kChainDiagChunks][kChainDiagMarks];  // [state, output][chunk][mark]
#endif
// Thread 0 (state) or 128 (output) of CTA 0 writes mark `mark` of chunk `chunk` once `after` exists
// (the clock read waits for that register, so a mark after a product is not hoisted above it).
__device__ __forceinline__ void chain_mark(int chunk, int mark, uint32_t after = 0u) {
#if GDN_PREFILL_DIAG_CHAIN_TIMES
  if (blockIdx.x != 0 || (threadIdx.x != 0 && threadIdx.x != kSplitGroup) || chunk >= kChainDiagChunks) return;
  long long now;
  asm volatile("{\n.reg .b32 dep;\nmov.b32 dep, %1;\nmov.u64 %0, %%clock64;\n}\n" : "=l"(now) : "r"(after) : "memory");
  g_chain_marks[threadIdx.x / kSplitGroup][chunk][mark] = now;
#else
  (void)chunk;
  (void)mark;
  (void)after;
#endif
}

// A chunk's operands in the split scan: U keeps the workspace's whole padded rows (the bulk path
// copies the tile in one piece; this CTA reads its columns v0.. of it), or with GDN_PREFILL_U_BLOCKS
// only this CTA's BV columns in 16-column blocks.
constexpr bool kSplitUBlocked = GDN_PREFILL_U_BLOCKS != 0;
template <int BV>
struct SplitStage {
  __nv_bfloat16 w[kWsTileWK];
  __nv_bfloat16 kd[kWsTileWK];
  __nv_bfloat16 q[kC * kLdK];
  __nv_bfloat16 u[kSplitUBlocked ? kC * BV : kWsTileU];
  __nv_bfloat16 p[kWsTileP];
  float cum[kC];
};
// The split scan's shared memory for a slice width and a number of operand stages.
template <int BV, int Stages>
struct ScanSplitSmemOf {
  static constexpr int kStages = Stages;
  SplitStage<BV> st[Stages];
  __nv_bfloat16 s[2][kD * (BV + 8)];   // bf16 copies of S(i), [k][v]
  __nv_bfloat16 up[2][kC * (BV + 8)];  // U'(i)
  uint64_t landed[Stages];             // GDN_PREFILL_SCAN_BULK: the stage's copies completed
  long long seq;                       // the sequence this CTA works on
};
// GDN_PREFILL_SPLIT_STAGES stages where they fit an SM, else 2.
template <int BV>
using ScanSplitSmem = ScanSplitSmemOf<BV, sizeof(ScanSplitSmemOf<BV, GDN_PREFILL_SPLIT_STAGES>) <= 227 * 1024
                                              ? GDN_PREFILL_SPLIT_STAGES : 2>;
static_assert(sizeof(ScanSplitSmem<64>) <= 227 * 1024, "the split scan's buffers do not fit an SM");

template <int BV>
__global__ void __launch_bounds__(kScanThreads, 1)
chunk_scan_split_kernel(const __nv_bfloat16* __restrict__ q, const float* __restrict__ state,
                        const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                        bool rank_by_length, ChunkWorkspace ws, __nv_bfloat16* __restrict__ output,
                        float* __restrict__ new_state) {
  static_assert(kScanThreads == 2 * kSplitGroup, "four state warps and four output warps");
  // Every warp covers all BV columns of its rows, so any BV that is a multiple of 16 works (the
  // two-warps-per-row-tile split of chunk_scan_kernel needs 32).
  static_assert(BV % 16 == 0 && kD % BV == 0, "value slices of 16, 32, 64 or 128 columns");
  constexpr int kSlicesPerHead = kD / BV;
  constexpr int kNT = BV / 8;
  constexpr int kLdS = BV + 8;
  constexpr int kSplitStages = ScanSplitSmem<BV>::kStages;
  // Chunks the operand loads run ahead: stages - 1 with bulk copies; one with cp.async (its waits
  // count one commit group in flight).
  constexpr int kAhead = kScanBulk ? kSplitStages - 1 : 1;
  constexpr bool kOutputRefills = kScanBulk && GDN_PREFILL_SPLIT_REFILL != 0 && kSplitStages >= 3;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  ScanSplitSmem<BV>& sm = *reinterpret_cast<ScanSplitSmem<BV>*>(smem_raw);
  const int slice = blockIdx.x % kSlicesPerHead;
  const int h = (blockIdx.x / kSlicesPerHead) % kNumVHeads;
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int v0 = slice * BV;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2;
  // Longest sequence first with rank_by_length (stage 0's W tile holds cu_seqlens meanwhile: no copy
  // into the stages starts before this returns).
  const int64_t n = sequence_of_rank<kScanThreads, kScanRankMax>(blockIdx.x / (kSlicesPerHead * kNumVHeads), rank_by_length,
                                                                 cu_seqlens, num_seqs,
                                                                 reinterpret_cast<long long*>(sm.st[0].w), &sm.seq, tid);

  const int64_t bos = cu_seqlens[n];
  const int64_t eos = cu_seqlens[n + 1];
  float* out_state = new_state + ((n * kNumVHeads + h) * kD + v0) * kD;  // rows v0.. of [v][k]
  if (eos <= bos) {
    // The reference skips empty sequences: their final state stays zero.
    zero_state_rows<BV, kScanThreads>(out_state, tid);
    zero_rows_outside_sequences<BV, kScanThreads>(output, h, v0, n, num_seqs, bos, eos, total, tid);
    return;
  }
  const int nchunks = static_cast<int>((eos - bos + kC - 1) / kC);
  const int64_t first_slot = bos / kC + n;
  const auto chunk_len = [&](int i) { return chunk_length(bos, eos, i); };

  if constexpr (kScanBulk) {
    if (tid == 0) {
      for (int j = 0; j < kSplitStages; ++j) mbar_init(&sm.landed[j], 1);
      mbar_init_fence();
    }
    __syncthreads();
  }

  // Chunk i's operands into its stage: by cp.async from every state thread (one commit group), or
  // with GDN_PREFILL_SCAN_BULK as five bulk copies (the padded W, Kd, U and P tiles and cum) from
  // lanes 0-4 of the calling warp (state warp 0, or output warp 0 with GDN_PREFILL_SPLIT_REFILL),
  // completing on landed[stage]; Q then comes from the output warps (load_q), its only readers. (A
  // bulk copy per row of Q and U measured 2x slower: each request has a fixed cost in the copy engine.)
  const auto load_chunk = [&](int i) {
    SplitStage<BV>& st = sm.st[i % kSplitStages];
    const size_t head_slot = static_cast<size_t>(first_slot + i) * kNumVHeads + h;
    const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
    const int len = chunk_len(i);
    const __nv_bfloat16* w = ws.w + head_slot * kWsTileWK;
    const __nv_bfloat16* kd = ws.kd + head_slot * kWsTileWK;
    const __nv_bfloat16* u = ws.u + head_slot * kWsTileU;
    const __nv_bfloat16* p = ws.p + head_slot * kWsTileP;
    const float* cum = ws.cum + head_slot * kC;
    if constexpr (kScanBulk) {
      wait_chunk_prepped_warp(ws, head_slot, lane);  // GDN_PREFILL_CHUNK_FLAGS
      uint64_t* bar = &sm.landed[i % kSplitStages];
      constexpr uint32_t kTileBytes = kWsTileWK * 2;
      // U: the padded tile, or this slice's 16-column blocks (contiguous) with GDN_PREFILL_U_BLOCKS.
      constexpr uint32_t kUBytes = kSplitUBlocked ? kC * BV * 2 : kTileBytes;
      const __nv_bfloat16* u_src = kSplitUBlocked ? u + (v0 / 16) * (kC * 16) : u;
      if constexpr ((GDN_PREFILL_DIAG_SKIP_LOADS & 1) != 0) {
        if (i >= kSplitStages) {
          if (lane == 0) mbar_arrive_expect_tx(bar, kC * 4);
          __syncwarp();
          if (lane == 4) bulk_copy_to_smem(st.cum, cum, kC * 4, bar);
          return;
        }
      }
      if (lane == 0) mbar_arrive_expect_tx(bar, 2 * kTileBytes + kUBytes + kWsTileP * 2 + kC * 4);
      __syncwarp();
      if (lane == 0) bulk_copy_to_smem(st.w, w, kTileBytes, bar);
      if (lane == 1) bulk_copy_to_smem(st.kd, kd, kTileBytes, bar);
      if (lane == 2) bulk_copy_to_smem(st.u, u_src, kUBytes, bar);
      if (lane == 3) bulk_copy_to_smem(st.p, p, kWsTileP * 2, bar);
      if (lane == 4) bulk_copy_to_smem(st.cum, cum, kC * 4, bar);
      return;
    }
    load_scan_operands<kSplitGroup, BV, kSplitUBlocked>(st.w, st.kd, st.q, kSplitUBlocked ? st.u : st.u + v0, kLdK, st.p,
                                                        st.cum, ws, head_slot, q, c0, len, hk, v0, tid);
  };

  if (warp < 4) {
    // ============================================ state warps ============================================
    const int sw = warp;
    // S [128 x BV]: warp sw owns rows d in [32 sw, 32 sw + 32) (two m16 tiles), every column. The
    // initial state does not depend on the prep pass: it loads before the wait.
    const int d0 = sw * 32;
    float s_acc[2][kNT][4];
    load_state_tile(s_acc, state != nullptr ? state + ((n * kNumVHeads + h) * kD + v0) * kD : nullptr, d0, lane);
    // With chunk flags (bulk loads only) each chunk's loader waits for that chunk's prep instead.
    if (ws.prepped == nullptr) afg::pdl_wait();
    if (!kScanBulk || sw == 0) {
      for (int j = 0; j < kAhead && j < nchunks; ++j) load_chunk(j);
    }
    const int m0 = sw * 16;  // chunk rows of this warp in W S
    for (int i = 0; i < nchunks; ++i) {
      const int b = i & 1;
      const SplitStage<BV>& st = sm.st[i % kSplitStages];
      // Chunk i + kAhead goes into the stage chunk i + kAhead - stages used, once the output warps
      // are done with it.
      chain_mark(i, kChainStart);
      const int ahead = i + kAhead;
      // With output refills only chunk kAhead (its stage was never used) loads here.
      if (ahead < nchunks && (!kOutputRefills || ahead == kSplitStages - 1)) {
        if (ahead >= kSplitStages) named_sync(kBarSplitStageFree + ahead % kSplitStages, kScanThreads);
        if (!kScanBulk || sw == 0) load_chunk(ahead);
      }
      // The S copy and U' buffers of chunk i held chunk i-2: wait until the output warps are done.
      if (i >= 2) named_sync(kBarSplitBufFree + b, kScanThreads);
      chain_mark(i, kChainBufferFree);
      __nv_bfloat16* s_copy = sm.s[b];
      __nv_bfloat16* up = sm.up[b];
      copy_state_tile_bf16(s_copy, kLdS, s_acc, d0, lane);
      // Chunk i's operands have landed: its copies completed the stage barrier's phase i / 2, or its
      // cp.async group is done when at most chunk i+1's is still in flight.
      if constexpr (kScanBulk) {
        mbar_wait(&sm.landed[i % kSplitStages], static_cast<uint32_t>(i / kSplitStages) & 1u);
      } else if (i + 1 < nchunks) {
        cp_async_wait_group<1>();
      } else {
        cp_async_wait_group<0>();
      }
      chain_mark(i, kChainLanded);
      named_sync(kBarSplitState, kSplitGroup);
      chain_mark(i, kChainSynced);

      // U' = U - W S -> up
      {
        float wsa[kNT][4];
        zero(wsa);
        gemm_rowA<kNT, kD, false>(wsa, st.w, kLdK, m0, s_copy, kLdS, 0, lane);
        chain_mark(i, kChainWS, __float_as_uint(wsa[0][0]));
        if constexpr (kSplitUBlocked) {
          store_pseudo_values_blocked(up, kLdS, st.u, wsa, m0, lane);
        } else {
          store_pseudo_values(up, kLdS, st.u + v0, kLdK, wsa, m0, lane);
        }
      }
      named_sync(kBarSplitState, kSplitGroup);
      named_arrive(kBarSplitReady + b, kScanThreads);  // chunk i's S copy, U' and stage for the output
      chain_mark(i, kChainUPrime);

      // S = G_C S + Kd^T U'
      update_state_tile(s_acc, expf(st.cum[kC - 1]), st.kd, up, kLdS, d0, lane);
      chain_mark(i, kChainUpdated, __float_as_uint(s_acc[0][0][0]));
    }
    // Final state straight to global memory (four 32-byte runs per store instruction).
    store_state_tile(out_state, s_acc, d0, lane);
    return;
  }

  // ============================================ output warps ============================================
  const int otid = tid - kSplitGroup, ow = warp - 4;
  zero_rows_outside_sequences<BV, kSplitGroup>(output, h, v0, n, num_seqs, bos, eos, total, otid);
  const int m0 = ow * 16;  // chunk rows of this warp
  // GDN_PREFILL_SCAN_BULK: each output warp loads the 16 rows of Q it multiplies (cp.async, zeros
  // past the sequence) one chunk ahead; the stage's Q rows of two chunks back were read by this
  // warp only.
  const auto load_q = [&](int i) {
    SplitStage<BV>& st = sm.st[i % kSplitStages];
    const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
    if ((GDN_PREFILL_DIAG_SKIP_LOADS & 2) == 0 || i < kSplitStages) load_warp_q_rows(st.q, q, c0, chunk_len(i), hk, m0, lane);
    cp_async_commit();
  };
  if constexpr (kScanBulk) load_q(0);
  for (int i = 0; i < nchunks; ++i) {
    const int b = i & 1;
    const SplitStage<BV>& st = sm.st[i % kSplitStages];
    const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
    const int len = chunk_len(i);
    chain_mark(i, kChainOutStart);
    if constexpr (kScanBulk) {
      if (i + 1 < nchunks) load_q(i + 1);
    }
    named_sync(kBarSplitReady + b, kScanThreads);
    chain_mark(i, kChainOutReady);
    // Output refills: past "ready" of chunk i every warp is done with chunk i - 1's stage (the state
    // warps' update came before their arrival, this group's products before its wait).
    if (kOutputRefills && ow == 0 && i >= 1 && i + kAhead < nchunks) load_chunk(i + kAhead);
    chain_mark(i, kChainOutRefilled);
    if constexpr (kScanBulk) {
      // The bulk copies' data is acquired here too, not only through the state warps' barrier (the
      // phase is complete by now: the stage is not reloaded before this warp's "stage free").
      mbar_wait(&sm.landed[i % kSplitStages], static_cast<uint32_t>(i / kSplitStages) & 1u);
      if (i + 1 < nchunks) cp_async_wait_group<1>(); else cp_async_wait_group<0>();
      __syncwarp();
    }
    chain_mark(i, kChainOutLanded);
    float qs[kNT][4], pu[kNT][4];
    zero(qs);
    zero(pu);
    gemm_rowA<kNT, kD, false>(qs, st.q, kLdK, m0, sm.s[b], kLdS, 0, lane);
    gemm_rowA<kNT, kC, false>(pu, st.p, kLdV, m0, sm.up[b], kLdS, 0, lane);
    chain_mark(i, kChainOutProducts, __float_as_uint(qs[0][0]) ^ __float_as_uint(pu[0][0]));
    const float g_lo = expf(st.cum[m0 + g]);
    const float g_hi = expf(st.cum[m0 + g + 8]);
    // The buffers and the stage are no longer read: the state warps may reuse them for chunk i+2
    // (buffers) and chunk i + stages (stage); each arrival is awaited exactly once.
    if (i + 2 < nchunks) named_arrive(kBarSplitBufFree + b, kScanThreads);
    if (!kOutputRefills && i + kSplitStages < nchunks) named_arrive(kBarSplitStageFree + i % kSplitStages, kScanThreads);
    store_output_tile(output, c0, len, m0, h, v0, scale, g_lo, g_hi, qs, pu, lane);
    chain_mark(i, kChainOutStored);
  }
}
