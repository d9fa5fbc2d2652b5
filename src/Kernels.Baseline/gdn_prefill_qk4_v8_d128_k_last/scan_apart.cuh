// scan_apart.cuh: pass 2 of the two-pass prefill as two launches (GDN_PREFILL_SCAN_APART=1): a scan
// that runs only the state chain (chunk_scan_state_kernel<BV>), and every chunk's output in a second
// kernel whose CTAs run beside it on the SMs it leaves free, each starting once its chunk is done
// (chunk_output_kernel).
//
// Why (session 21, gdn-chain-timeline.sh at 2107 / 1, 16 columns, H200): the split scan's step is
// ~1950 cycles. The state warps' own work in it is ~1050 (W S 354, U' 170, update 346, the rest
// hand-overs); the other ~900 they wait for the stage that output warp 0 refills after the output
// warps pass "ready", ~1750 cycles behind the state warps. With the loads cut to cum alone
// (GDN_PREFILL_DIAG_SKIP_LOADS=3) the step still takes ~1680: the output warps' products then run
// beside the state's on the same four schedulers and stretch W S 354 -> 616 cycles. Each slice CTA
// also loads the whole Q and P of its chunk for 16 columns of output.
// Here the scan CTA is the four state warps, a signal warp and (GDN_PREFILL_APART_LOADER_WARP) a
// loader warp that refills the stages (four of W, Kd, U and cum where they fit) once the state warps'
// count shows every warp past a chunk. The state warps write each chunk's bf16 S copy and U' to the
// workspace (U' over U, which only this CTA reads). The output kernel then computes
// O = scale (diag(G) Q S + P U') per (chunk, head, 64 columns), every chunk in parallel, reading Q
// and P once per 64 columns instead of once per 16. Same operands, same bf16 roundings as the split
// scan: the outputs are the same numbers.
// Predicted for the first version (2107 / 1): the state step ~1950 -> ~1150 cycles, scan 36 -> ~21
// us, plus ~5-8 us for the output kernel after it (about 20 MB through L2): the call 52.6 -> ~44 us.
// Measured: the step ~1650 cycles (26.9 us), the output kernel +9.3 us (below).
// Included inside kernel.cu's anonymous namespace after scan_split.cuh (barriers, bulk helpers).

// The output kernel's CTAs run beside the scan: each waits for its (chunk slot, head)'s ready count
// (every slice CTA of the head adds one after writing the chunk's S copy and U') instead of for the
// scan's end, so on the SMs the scan leaves free the outputs follow the chain a chunk behind.
// @tunable GDN_PREFILL_SCAN_APART: 0, 1, 2 (default 1) when GDN_PREFILL_SCAN_BULK=1
// 1: the state-only scan and the output kernel (this file) instead of the split scan for a call of
// up to GDN_PREFILL_APART_MAX_SEQS sequences averaging GDN_PREFILL_APART_MIN_T tokens or more
// (16-column slices: 64 scan CTAs a sequence, the other SMs free for the outputs); 2: for every call
// (a measurement aid). Needs the blocked U workspace (GDN_PREFILL_U_BLOCKS) and bulk copies (sm_90
// and up).
// Session 21, first version (the output kernel after the scan's end, PDL), H200, two rounds against
// the split scan: 2107 / 1 52.4 -> 52.5 us (state scan 36.0 -> 26.9 us added to the span, output
// +9.3), 5709 / 2 119.7 -> 128.4 (76.9 -> 58.0, +27.5), 8192 / 39 at 64 columns 130.5 -> 159.3
// (66.0 -> 54.3, +41.1), 139 / 3 14.5 -> 20.0; all PASS. The chain gained ~25% as predicted, the
// serial output kernel cost more than it.
// Then the output CTAs beside the scan (ready counts), calls 5-9: with state warp 3 fencing and
// counting after its barrier the chain slowed 26.9 -> 41.9 us (2107 / 1), so a fifth (signal) warp
// publishes; with output CTAs allowed on the scan's SMs (GDN_PREFILL_APART_EXCLUSIVE=0) the chain
// slows again (2107 / 1 49.9 us, 5709 / 2 115.4). Exclusive, against the split scan, two rounds
// (call 8): 1377 / 1 40.0 -> 38.3, 2107 / 1 52.7 -> 48.7, 5709 / 2 (4517 + 1192 tokens) 120.0 ->
// 107.8, 2040 / 2 46.5 -> 45.8; slower where the scan fills the SMs and the outputs wait for its end:
// 574 / 2 22.1 -> 26.7, 973 / 3 26.8 -> 33.1, 983 / 2 26.3 -> 30.1, 1592 / 3 38.6 -> 42.0, 1796 / 3
// 35.1 -> 42.2, 2284 / 3 48.0 -> 55.8, 2857 / 3 54.2 -> 61.7, 3271 / 2 66.2 -> 69.0. The host knows T
// and N, not the lengths: one sequence is the case it can pick (5709 / 2's gain needs the lengths).
// racecheck, synccheck, memcheck clean (239 / 3, every call apart).
#ifndef GDN_PREFILL_SCAN_APART
#define GDN_PREFILL_SCAN_APART 1
#endif
// @tunable GDN_PREFILL_APART_MIN_T: 512, 1024, 2048 (default 1024) when GDN_PREFILL_SCAN_APART=1
// The fewest tokens per sequence, on average, of a call whose 16-column scan runs apart (shorter
// chains gain less than the output kernel's tail costs).
#ifndef GDN_PREFILL_APART_MIN_T
#define GDN_PREFILL_APART_MIN_T 1024
#endif
// @tunable GDN_PREFILL_APART_MAX_SEQS: 1, 2, 3 (default 2) when GDN_PREFILL_SCAN_APART=1
// The most sequences of a call whose scan runs apart. Session 22 (H200, call 7, two rounds, with the
// loader warp), all calls apart against the split scan: 5709 / 2 119.9 -> 99.9 us, 3271 / 2 66.1 ->
// 63.6, but 983 / 2 26.2 -> 28.2, 574 / 2 22.1 -> 25.4 (below 1024 tokens a sequence), 1592 / 3 38.6
// -> 39.4, 2857 / 3 54.3 -> 57.5 (three sequences fill the SMs with scan CTAs).
// Session 39 (H200, call 1, two rounds), the three-sequence calls apart again after the mixed scan
// (=3 with APART_MIN_T=512) against the default's split / mixed scan: 2284 / 3 39.4 -> 46.7 us,
// 1800 / 3 31.1 -> 36.8, 2857 / 3 41.6 -> 51.8, 1796 / 3 30.0 -> 36.1, 1800 / 3 28.1 -> 37.0, 1592 / 3
// 31.5 -> 34.7 (predicted 2284 / 3 -> ~35): the state scan beat the mixed one by 1-3 us, the output
// kernel's tail added 8-11.
#ifndef GDN_PREFILL_APART_MAX_SEQS
#define GDN_PREFILL_APART_MAX_SEQS 2
#endif
// @tunable GDN_PREFILL_APART_STAGES: 2, 3, 4 (default 4) when GDN_PREFILL_SCAN_APART=1
// Operand stages of the state-only scan (W, Kd, U and cum of a chunk each), fewer where they do
// not fit; the bulk copies run stages - 1 chunks ahead.
#ifndef GDN_PREFILL_APART_STAGES
#define GDN_PREFILL_APART_STAGES 4
#endif
// @diagnostic GDN_PREFILL_DIAG_APART_STORES: 0, 1, 2, 3 (default 0)
// Wrong outputs, for timing only (gdn-chain-timeline.sh with GDN_PREFILL_SCAN_APART=2): which of the
// state warps' workspace stores stretch the chain. Bit 1: no S copy to the workspace; bit 2: no U'
// to the workspace (the output kernel then reads stale values). Session 22's first timeline of this
// scan put its W S at 756 cycles against the split scan's 354 alone: the S copy's 4-byte stores
// just before it were the suspect.
#ifndef GDN_PREFILL_DIAG_APART_STORES
#define GDN_PREFILL_DIAG_APART_STORES 0
#endif
// @diagnostic GDN_PREFILL_DIAG_APART_LOADS: 0, 1 (default 0)
// Wrong outputs, for timing only (gdn-chain-timeline.sh with GDN_PREFILL_SCAN_APART=2): 1 refills a
// stage with the chunk's cum alone (W, Kd and U stay an earlier chunk's). Why: session 21 measured
// bulk copies entering an SM at ~31 bytes a cycle; a 16-column chunk's W, Kd, U and cum are ~36 KB,
// ~1160 cycles at that rate, against the loader-warp step's 1278. If the step is the copies' rate,
// it drops toward the state warps' own work (~900 cycles: W S 350, update 365, barriers) here, and
// fewer bytes a chunk (W and Kd both derive from K) become the lever.
#ifndef GDN_PREFILL_DIAG_APART_LOADS
#define GDN_PREFILL_DIAG_APART_LOADS 0
#endif

// @tunable GDN_PREFILL_APART_LOADER_WARP: 0, 1 (default 1) when GDN_PREFILL_SCAN_APART=1
// 1: a loader warp issues the stages' bulk copies (a chunk's stage refilled once the state warps'
// count shows them past its update); 0: state warp 0 does, between its barrier and its W S. Why:
// session 22's timeline put the state chain's W S at ~760 cycles (the split scan's: 354 alone), with
// or without the workspace stores (GDN_PREFILL_DIAG_APART_STORES), and session 21's had one warp's
// bulk copy issue at ~900 cycles in the split scan: the issue waits, and warp 0's W S behind it.
// Predicted: W S ~760 -> ~400 cycles, the step ~1550 -> ~1200, 2107 / 1 -6..-7 us. Measured (H200,
// session 22): W S 766 -> 350 cycles, the step 1547 -> 1278; 2107 / 1 48.2 -> 42.5 us, 1377 / 1 38.0
// -> 34.5, all calls apart 5709 / 2 105.7 -> 99.9 (two rounds, call 7). The signal warp issuing them
// instead (behind its fence) gained at 2107 / 1 (48.1 -> 46.4) and lost at 5709 / 2 (106.6 -> 115.7).
#ifndef GDN_PREFILL_APART_LOADER_WARP
#define GDN_PREFILL_APART_LOADER_WARP 1
#endif

// @tunable GDN_PREFILL_APART_EXCLUSIVE: 0, 1 (default 1) when GDN_PREFILL_SCAN_APART=1
// 1: the state-only scan asks for an SM's whole shared memory (the sm_90 opt-in limit), so no
// output CTA runs beside it; 0: only what it uses (an output CTA fits beside a 16-column one).
#ifndef GDN_PREFILL_APART_EXCLUSIVE
#define GDN_PREFILL_APART_EXCLUSIVE 1
#endif
constexpr size_t kMaxSmemPerBlock = 227 * 1024;
constexpr bool kScanApart = GDN_PREFILL_SCAN_APART != 0 && GDN_PREFILL_U_BLOCKS != 0 && GDN_PREFILL_SCAN_BULK != 0;
// The bf16 S copy of each (chunk slot, head) in the workspace: 16-column blocks [v / 16][k][16], so
// a scan CTA's columns are one contiguous piece and the output kernel copies 32-byte rows.
constexpr int kWsTileS = kD * kD;
__device__ __forceinline__ int s_block_index(int d, int c) { return (c >> 4) * (kD * 16) + d * 16 + (c & 15); }

template <int BV>
struct StateStage {
  __nv_bfloat16 w[kWsTileWK];
  __nv_bfloat16 kd[kWsTileWK];
  __nv_bfloat16 u[kC * BV];  // this slice's 16-column blocks of U
  float cum[kC];
};
template <int BV, int Stages>
struct ScanStateSmemOf {
  static constexpr int kStages = Stages;
  StateStage<BV> st[Stages];
  __nv_bfloat16 s[kD * (BV + 8)];   // bf16 copy of S(i), [k][v]
  __nv_bfloat16 up[kC * (BV + 8)];  // U'(i)
  uint64_t landed[Stages];
  long long seq;
  int done;  // chunks whose S copy and U' every state warp has written (for the signal warp)
};
template <int BV, int S>
constexpr bool kStateStagesFit = sizeof(ScanStateSmemOf<BV, S>) <= 227 * 1024;
template <int BV>
using ScanStateSmem = ScanStateSmemOf<BV, kStateStagesFit<BV, GDN_PREFILL_APART_STAGES> ? GDN_PREFILL_APART_STAGES
                                          : kStateStagesFit<BV, 3> ? 3 : 2>;
static_assert(kStateStagesFit<64, 2>, "the state-only scan's buffers do not fit an SM");

// Four state warps and a signal warp: the signal warp publishes each finished chunk to the output
// kernel (a fence, then the ready counts), so the fence's wait for the stores to reach L2 stays off
// the chain. (With state warp 3 doing it after its barrier, 2107 / 1's chain took 41.9 us instead
// of 26.9.)
// GDN_PREFILL_APART_LOADER_WARP=1 adds a sixth, loader warp.
constexpr int kApartThreads = kSplitGroup + 32 + (GDN_PREFILL_APART_LOADER_WARP != 0 ? 32 : 0);
constexpr int kSignalWarp = kSplitGroup / 32;
constexpr int kLoaderWarp = kSignalWarp + 1;

template <int BV>
__global__ void __launch_bounds__(kApartThreads, 1)
chunk_scan_state_kernel(const float* __restrict__ state, const int64_t* __restrict__ cu_seqlens, int64_t num_seqs,
                        int64_t total, bool rank_by_length, ChunkWorkspace ws, __nv_bfloat16* __restrict__ output,
                        float* __restrict__ new_state) {
  static_assert(BV % 16 == 0 && kD % BV == 0, "value slices of 16, 32, 64 or 128 columns");
  constexpr int kSlicesPerHead = kD / BV;
  constexpr int kNT = BV / 8;
  constexpr int kLdS = BV + 8;
  constexpr int kStateStages = ScanStateSmem<BV>::kStages;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  ScanStateSmem<BV>& sm = *reinterpret_cast<ScanStateSmem<BV>*>(smem_raw);
  const int slice = blockIdx.x % kSlicesPerHead;
  const int h = (blockIdx.x / kSlicesPerHead) % kNumVHeads;
  const int v0 = slice * BV;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t n = sequence_of_rank<kApartThreads, kScanRankMax>(blockIdx.x / (kSlicesPerHead * kNumVHeads), rank_by_length,
                                                                cu_seqlens, num_seqs,
                                                                reinterpret_cast<long long*>(sm.st[0].w), &sm.seq, tid);
  const int64_t bos = cu_seqlens[n];
  const int64_t eos = cu_seqlens[n + 1];
  float* out_state = new_state + ((n * kNumVHeads + h) * kD + v0) * kD;  // rows v0.. of [v][k]
  zero_rows_outside_sequences<BV, kApartThreads>(output, h, v0, n, num_seqs, bos, eos, total, tid);
  if (eos <= bos) {
    if (ws.prepped == nullptr) afg::pdl_wait();
    afg::pdl_launch_dependents();
    zero_state_rows<BV, kApartThreads>(out_state, tid);  // the reference skips empty sequences
    return;
  }
  const int nchunks = static_cast<int>((eos - bos + kC - 1) / kC);
  const int64_t first_slot = bos / kC + n;
  const auto head_slot = [&](int i) { return static_cast<size_t>(first_slot + i) * kNumVHeads + h; };
  if (tid == 0) {
    for (int j = 0; j < kStateStages; ++j) mbar_init(&sm.landed[j], 1);
    mbar_init_fence();
    sm.done = 0;
  }
  __syncthreads();

  // Chunk i's W, Kd, this slice's U blocks and cum into its stage: four bulk copies completing on
  // landed[stage], from lanes 0-3 of the calling warp (issuers 4) or from lane 0 alone (issuers 1).
  const auto load_chunk = [&](int i, int issuers) {
    StateStage<BV>& st = sm.st[i % kStateStages];
    uint64_t* bar = &sm.landed[i % kStateStages];
    const size_t slot = head_slot(i);
    constexpr uint32_t kTileBytes = kWsTileWK * 2;
    constexpr uint32_t kUBytes = kC * BV * 2;
    if (GDN_PREFILL_DIAG_APART_LOADS != 0 && i >= kStateStages) {
      if (lane == 0) mbar_arrive_expect_tx(bar, kC * 4);
      if (issuers > 1) __syncwarp();
      if (lane == 3 % issuers) bulk_copy_to_smem(st.cum, ws.cum + slot * kC, kC * 4, bar);
      return;
    }
    if (lane == 0) mbar_arrive_expect_tx(bar, 2 * kTileBytes + kUBytes + kC * 4);
    if (issuers > 1) __syncwarp();
    if (lane == 0) bulk_copy_to_smem(st.w, ws.w + slot * kWsTileWK, kTileBytes, bar);
    if (lane == 1 % issuers) bulk_copy_to_smem(st.kd, ws.kd + slot * kWsTileWK, kTileBytes, bar);
    if (lane == 2 % issuers) bulk_copy_to_smem(st.u, ws.u + slot * kWsTileU + (v0 / 16) * (kC * 16), kUBytes, bar);
    if (lane == 3 % issuers) bulk_copy_to_smem(st.cum, ws.cum + slot * kC, kC * 4, bar);
  };

  // Chunks whose S copy and U' every state warp has written (thread 0's release after their barrier;
  // read with an acquire by the loader and signal warps).
  const auto chunks_done = [&] {
    int done;
    asm volatile("atom.acquire.cta.shared.or.b32 %0, [%1], 0;\n" : "=r"(done) : "r"(afg::smem_addr(&sm.done)) : "memory");
    return done;
  };
  if (GDN_PREFILL_APART_LOADER_WARP != 0 && warp == kLoaderWarp) {
    // ============================ loader warp ============================
    // Its own warp: the signal warp's fence waits for the chunk's stores to reach L2 (~1-2 us under
    // load), and refills queued behind it starved the state warps (5709 / 2 106.6 -> 115.7 us).
    // With chunk flags it waits for each chunk's prep instead of the prep grid's end.
    if (ws.prepped == nullptr) afg::pdl_wait();
    afg::pdl_launch_dependents();
    if (lane != 0) return;
    const auto load_prepped_chunk = [&](int i) {
      if (ws.prepped != nullptr) {
        // (wait_chunk_prepped_warp's steps for this warp's one live lane.)
        wait_chunk_prepped(ws, head_slot(i));
        afg::fence_global_for_bulk();
      }
      load_chunk(i, 1);
    };
    int loaded = 0;
    for (; loaded < kStateStages && loaded < nchunks; ++loaded) load_prepped_chunk(loaded);
    while (loaded < nchunks) {
      const int done = chunks_done();
      // done = i + 1 is set after chunk i's U' barrier, which every state warp passes after chunk
      // i - 1's update: chunk done - 2's stage is free, and chunk done - 2 + stages goes into it.
      if (loaded > done - 2 + kStateStages) {
        __nanosleep(32);
        continue;
      }
      for (; loaded < nchunks && loaded <= done - 2 + kStateStages; ++loaded) load_prepped_chunk(loaded);
    }
    return;
  }
  if (warp == kSignalWarp) {
    // ============================ signal warp ============================
    if (ws.prepped == nullptr) afg::pdl_wait();
    afg::pdl_launch_dependents();
    if (lane != 0) return;
    int published = 0;
    while (published < nchunks) {
      const int done = chunks_done();
      if (done == published) {
        __nanosleep(64);
        continue;
      }
      // The state warps wrote chunks [published, done) before the barrier after which thread 0 set
      // sm.done (a release this load acquires): this fence makes those stores visible at gpu scope
      // before the counts (as a grid barrier does: block barrier, then one thread's fence and atomic).
      __threadfence();
      for (int j = published; j < done; ++j) atomicAdd(ws.ready + head_slot(j), 1);
      published = done;
    }
    return;
  }

  // S [128 x BV]: warp w owns rows d in [32 w, 32 w + 32), every column (state_tile.cuh).
  const int d0 = warp * 32;
  const int m0 = warp * 16;  // chunk rows of this warp in W S
  float s_acc[2][kNT][4];
  load_state_tile(s_acc, state != nullptr ? state + ((n * kNumVHeads + h) * kD + v0) * kD : nullptr, d0, lane);
  // The output kernel's CTAs launch once every CTA of this grid has passed here. Without chunk flags
  // the prep has then ended, so they see its zeroed ready counts; with them (the loader warp waits
  // for each chunk's prep) each output CTA waits for its chunk's flag first.
  if (ws.prepped == nullptr) afg::pdl_wait();
  afg::pdl_launch_dependents();
  if (warp == 0 && GDN_PREFILL_APART_LOADER_WARP == 0) {
    for (int j = 0; j < kStateStages && j < nchunks; ++j) load_chunk(j, 4);
  }
  for (int i = 0; i < nchunks; ++i) {
    const StateStage<BV>& st = sm.st[i % kStateStages];
    const size_t slot = head_slot(i);
    // GDN_PREFILL_DIAG_CHAIN_TIMES (state warp 0's marks only; the probe's "buffer free" phase is here
    // the S copy and its stores, "S copy + stage landed" the stage's wait).
    chain_mark(i, kChainStart);
    // The S copy (read by chunk i - 1's W S, which every warp finished before the barrier after U')
    // and the workspace's copy of S(i) for the output kernel.
    copy_state_tile_bf16(sm.s, kLdS, s_acc, d0, lane);
    __nv_bfloat16* s_out = ws.s + slot * kWsTileS;
    if constexpr ((GDN_PREFILL_DIAG_APART_STORES & 1) == 0) {
      for_each_state_pair(s_acc, d0, lane,
                          [&](int d, int c, float x, float y) { store_bf16x2(s_out + s_block_index(d, v0 + c), x, y); });
    }
    chain_mark(i, kChainBufferFree);
    mbar_wait(&sm.landed[i % kStateStages], static_cast<uint32_t>(i / kStateStages) & 1u);
    chain_mark(i, kChainLanded);
    // Every warp is past chunk i - 1's update (its reads of U', Kd and cum) and has written its rows
    // of the S copy.
    named_sync(kBarSplitState, kSplitGroup);
    chain_mark(i, kChainSynced);
    // Chunk i - 1's stage is free: chunk i - 1 + stages goes into it.
    if (warp == 0 && GDN_PREFILL_APART_LOADER_WARP == 0 && i >= 1 && i - 1 + kStateStages < nchunks) {
      load_chunk(i - 1 + kStateStages, 4);
    }

    // U' = U - W S -> up, and over this slice's U blocks in the workspace (only this CTA reads them,
    // and their copy into the stage has completed).
    {
      float wsa[kNT][4];
      zero(wsa);
      gemm_rowA<kNT, kD, false>(wsa, st.w, kLdK, m0, sm.s, kLdS, 0, lane);
      chain_mark(i, kChainWS, __float_as_uint(wsa[0][0]));
      __nv_bfloat16* u_out = (GDN_PREFILL_DIAG_APART_STORES & 2) == 0 ? ws.u + slot * kWsTileU + (v0 / 16) * (kC * 16) : nullptr;
      store_pseudo_values_blocked(sm.up, kLdS, st.u, wsa, m0, lane, u_out);
    }
    named_sync(kBarSplitState, kSplitGroup);  // U' complete; every warp is past W S (the S copy is free)
    chain_mark(i, kChainUPrime);
    // Chunk i's S copy and U' are in the workspace: over to the signal warp.
    // (Atomics, release / acquire: racecheck flagged the plain store and load as a hazard.)
    if (tid == 0) {
      int previous;
      asm volatile("atom.release.cta.shared.exch.b32 %0, [%1], %2;\n" : "=r"(previous) : "r"(afg::smem_addr(&sm.done)), "r"(i + 1) : "memory");
    }

    // S = G_C S + Kd^T U'
    update_state_tile(s_acc, expf(st.cum[kC - 1]), st.kd, sm.up, kLdS, d0, lane);
    chain_mark(i, kChainUpdated, __float_as_uint(s_acc[0][0][0]));
  }
  store_state_tile(out_state, s_acc, d0, lane);
}

// Every chunk's output from the state-only scan's S copies and U': a CTA per (head, 64 columns,
// chunk slot), four warps of 16 chunk rows. Q from the input, P and cum from the prep's workspace.
constexpr int kOutputThreads = 128;
constexpr int kOutputCols = 64;
constexpr int kLdOut = kOutputCols + 8;
struct OutputSmem {
  __nv_bfloat16 q[kC * kLdK];
  __nv_bfloat16 p[kWsTileP];
  __nv_bfloat16 s[kD * kLdOut];
  __nv_bfloat16 up[kC * kLdOut];
  float cum[kC];
  long long bos_len[2];
};

__global__ void __launch_bounds__(kOutputThreads)
chunk_output_kernel(const __nv_bfloat16* __restrict__ q, const int64_t* __restrict__ cu_seqlens, int64_t num_seqs,
                    float scale, int slices_per_head, ChunkWorkspace ws, __nv_bfloat16* __restrict__ output) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  OutputSmem& sm = *reinterpret_cast<OutputSmem*>(smem_raw);
  constexpr int kHalves = kD / kOutputCols;
  const int h = blockIdx.x / kHalves;
  const int v0 = (blockIdx.x % kHalves) * kOutputCols;
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int64_t slot = blockIdx.y;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  // The chunk in this slot (as the prep finds it).
  chunk_of_slot<kOutputThreads>(slot, cu_seqlens, num_seqs, sm.bos_len, tid);
  const int64_t c0 = sm.bos_len[0];
  const int len = static_cast<int>(sm.bos_len[1]);
  // One CTA waits for the scan's grid to end before its own: this grid then ends after the scan (the
  // stream's next work and the final states), while every other CTA waits only for its chunk.
  const bool last_cta = blockIdx.x == 0 && blockIdx.y == gridDim.y - 1;
  if (len <= 0) {  // a slot past its sequence's chunks
    if (last_cta) afg::pdl_wait();
    return;
  }

  const int m0 = warp * 16;
  // Q is an input: its rows load before the wait for the scan.
  load_warp_q_rows(sm.q, q, c0, len, hk, m0, lane);
  const size_t head_slot = static_cast<size_t>(slot) * kNumVHeads + h;
  // Every slice CTA of this head has written the chunk's S copy and U' (and the prep's P and cum
  // were complete before the scan's CTAs started counting). With chunk flags the ready count is
  // this call's (zeroed by the prep, then counted) only once the chunk's flag is set: before that
  // it may hold an earlier call's count.
  if (tid == 0) {
    if (ws.prepped != nullptr) wait_chunk_prepped(ws, head_slot);
    int done = 0;
    for (;;) {
      asm volatile("ld.acquire.gpu.global.b32 %0, [%1];\n" : "=r"(done) : "l"(ws.ready + head_slot) : "memory");
      if (done >= slices_per_head) break;
      __nanosleep(256);
    }
  }
  __syncthreads();
  const __nv_bfloat16* p = ws.p + head_slot * kWsTileP;
  for (int e = tid; e < kWsTileP / 8; e += kOutputThreads) cp_async16(sm.p + e * 8, p + e * 8, 16);
  // S copy and U': this CTA's four 16-column blocks, 32-byte rows into [k][kLdOut] / [c][kLdOut].
  const __nv_bfloat16* s_in = ws.s + head_slot * kWsTileS + (v0 / 16) * (kD * 16);
  const __nv_bfloat16* u_in = ws.u + head_slot * kWsTileU + (v0 / 16) * (kC * 16);
  for (int e = tid; e < kD * (kOutputCols / 8); e += kOutputThreads) {
    const int b = e / (kD * 2), d = (e / 2) % kD, half = e % 2;
    cp_async16(sm.s + d * kLdOut + b * 16 + half * 8, s_in + b * (kD * 16) + d * 16 + half * 8, 16);
  }
  for (int e = tid; e < kC * (kOutputCols / 8); e += kOutputThreads) {
    const int b = e / (kC * 2), r = (e / 2) % kC, half = e % 2;
    cp_async16(sm.up + r * kLdOut + b * 16 + half * 8, u_in + b * (kC * 16) + r * 16 + half * 8, 16);
  }
  if (tid < kC / 4) cp_async16(sm.cum + 4 * tid, ws.cum + head_slot * kC + 4 * tid, 16);
  cp_async_commit();
  cp_async_wait_group<0>();
  __syncthreads();

  constexpr int kNT = kOutputCols / 8;
  float qs[kNT][4], pu[kNT][4];
  zero(qs);
  zero(pu);
  gemm_rowA<kNT, kD, false>(qs, sm.q, kLdK, m0, sm.s, kLdOut, 0, lane);
  gemm_rowA<kNT, kC, false>(pu, sm.p, kLdV, m0, sm.up, kLdOut, 0, lane);
  const int g = lane >> 2;
  store_output_tile(output, c0, len, m0, h, v0, scale, expf(sm.cum[m0 + g]), expf(sm.cum[m0 + g + 8]), qs, pu, lane);
  if (last_cta) afg::pdl_wait();
}
