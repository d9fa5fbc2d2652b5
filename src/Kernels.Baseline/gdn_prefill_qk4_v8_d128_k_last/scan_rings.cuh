// scan_rings.cuh: pass 2 of the two-pass prefill with the state warps and the output warps on
// operand rings of their own (GDN_PREFILL_SCAN_RINGS=1): chunk_scan_rings_kernel<BV>.
//
// Why: in the split scan (scan_split.cuh) one stage holds everything a chunk needs, so a stage is
// refilled only when both roles are done with it, and the state chain's data then depends on the
// output warps' progress. Session 20's source samples of the 16-column split scan (after its output
// refills): the output warps wait at "ready" ~14% of the samples and the state warps for a free S /
// U' buffer ~12%; a third buffer changed nothing. Here the state's ring holds W, Kd, U and cum
// (bulk copies from state warp 0, refilled once the state warps' own barrier shows every state warp
// past its update of the chunk), and each output warp loads its own 16 rows of Q and P and its 16
// gate sums by cp.async into the output ring, refilled right after its own products. The roles meet
// only at "ready" (the S copy and U' of a chunk) and at "buffer free".
// sm_90 and up (bulk copies); kernel.cu launches it only where kScanBulk holds. Included inside
// kernel.cu's anonymous namespace after scan_split.cuh (its barrier ids, chain marks and helpers).
// Its chunk step is the split scan's (the same products, barriers and marks) on other buffers: if
// it measures faster it replaces chunk_scan_split_kernel, else it goes; until then the two kernels
// keep that step side by side.

// @tunable GDN_PREFILL_SCAN_RINGS: 0, 1 (default 0) when GDN_PREFILL_SCAN_SPLIT=1
// 1: the scan on separate operand rings per role (this file) instead of chunk_scan_split_kernel
// (with GDN_PREFILL_U_BLOCKS=1 and bulk copies; otherwise the split scan runs).
// Predicted (session 20, not yet measured): if each role's own chain step is ~1 us at 16 columns
// against today's ~1.2, 2107 / 1 52.6 -> ~46 us, 5709 / 2 119 -> ~105. Measure with
// scripts/device/gdn-chain-timeline.sh first (-- GDN_PREFILL_SCAN_RINGS=1 for this kernel's marks).
#ifndef GDN_PREFILL_SCAN_RINGS
#define GDN_PREFILL_SCAN_RINGS 0
#endif

// The state warps' operands of one chunk (bulk copies, completing on the ring's mbarrier).
template <int BV>
struct RingStateStage {
  __nv_bfloat16 w[kWsTileWK];
  __nv_bfloat16 kd[kWsTileWK];
  __nv_bfloat16 u[kC * BV];  // this slice's 16-column blocks of U (GDN_PREFILL_U_BLOCKS)
  float cum[kC];
};
// The output warps' operands of one chunk: each warp fills and reads only its own 16 rows.
struct RingOutputStage {
  __nv_bfloat16 q[kC * kLdK];
  __nv_bfloat16 p[kC * kLdV];
  float cum[kC];
};
template <int BV, int StateStages, int OutputStages>
struct ScanRingsSmemOf {
  static constexpr int kStateStages = StateStages;
  static constexpr int kOutputStages = OutputStages;
  RingStateStage<BV> st[StateStages];
  RingOutputStage ot[OutputStages];
  __nv_bfloat16 s[2][kD * (BV + 8)];   // bf16 copies of S(i), [k][v]
  __nv_bfloat16 up[2][kC * (BV + 8)];  // U'(i)
  uint64_t landed[StateStages];        // the state stage's bulk copies completed
  long long seq;                       // the sequence this CTA works on
};
template <int BV, int S, int O>
constexpr bool kRingsFit = sizeof(ScanRingsSmemOf<BV, S, O>) <= 227 * 1024;
// Three stages in both rings where they fit (16 and 32 columns), else two for the state (64).
template <int BV>
using ScanRingsSmem = ScanRingsSmemOf<BV, kRingsFit<BV, 3, 3> ? 3 : 2, kRingsFit<BV, 3, 3> || kRingsFit<BV, 2, 3> ? 3 : 2>;
static_assert(kRingsFit<16, 3, 3> && kRingsFit<32, 3, 3> && kRingsFit<64, 2, 3>, "the rings' sizes changed");

template <int BV>
__global__ void __launch_bounds__(kScanThreads, 1)
chunk_scan_rings_kernel(const __nv_bfloat16* __restrict__ q, const float* __restrict__ state,
                        const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                        bool rank_by_length, ChunkWorkspace ws, __nv_bfloat16* __restrict__ output,
                        float* __restrict__ new_state) {
  static_assert(kScanThreads == 2 * kSplitGroup, "four state warps and four output warps");
  static_assert(BV % 16 == 0 && kD % BV == 0, "value slices of 16, 32, 64 or 128 columns");
  // (Dependent on BV so that they hold only where the kernel is instantiated: kernel.cu launches it
  // only with both.)
  static_assert(GDN_PREFILL_U_BLOCKS != 0 || BV < 0, "the state ring copies U as this slice's 16-column blocks");
  static_assert(kScanBulk || BV < 0, "the state ring is filled by bulk copies (sm_90 and up)");
  constexpr int kSlicesPerHead = kD / BV;
  constexpr int kNT = BV / 8;
  constexpr int kLdS = BV + 8;
  constexpr int kStateStages = ScanRingsSmem<BV>::kStateStages;
  constexpr int kOutputStages = ScanRingsSmem<BV>::kOutputStages;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  ScanRingsSmem<BV>& sm = *reinterpret_cast<ScanRingsSmem<BV>*>(smem_raw);
  const int slice = blockIdx.x % kSlicesPerHead;
  const int h = (blockIdx.x / kSlicesPerHead) % kNumVHeads;
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int v0 = slice * BV;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2;
  // Longest sequence first with rank_by_length (state stage 0's W tile holds cu_seqlens meanwhile:
  // no copy into the rings starts before this returns).
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
  const auto head_slot = [&](int i) { return static_cast<size_t>(first_slot + i) * kNumVHeads + h; };
  if (tid == 0) {
    for (int j = 0; j < kStateStages; ++j) mbar_init(&sm.landed[j], 1);
    mbar_init_fence();
  }
  __syncthreads();

  if (warp < 4) {
    // ============================================ state warps ============================================
    const int sw = warp;
    // Chunk i's W, Kd, U (this slice's blocks) and cum into its state stage: four bulk copies from
    // lanes 0-3 of state warp 0, completing on landed[stage].
    const auto load_state_chunk = [&](int i) {
      RingStateStage<BV>& st = sm.st[i % kStateStages];
      uint64_t* bar = &sm.landed[i % kStateStages];
      const size_t slot = head_slot(i);
      constexpr uint32_t kTileBytes = kWsTileWK * 2;
      constexpr uint32_t kUBytes = kC * BV * 2;
      if (lane == 0) mbar_arrive_expect_tx(bar, 2 * kTileBytes + kUBytes + kC * 4);
      __syncwarp();
      if (lane == 0) bulk_copy_to_smem(st.w, ws.w + slot * kWsTileWK, kTileBytes, bar);
      if (lane == 1) bulk_copy_to_smem(st.kd, ws.kd + slot * kWsTileWK, kTileBytes, bar);
      if (lane == 2) bulk_copy_to_smem(st.u, ws.u + slot * kWsTileU + (v0 / 16) * (kC * 16), kUBytes, bar);
      if (lane == 3) bulk_copy_to_smem(st.cum, ws.cum + slot * kC, kC * 4, bar);
    };
    // S [128 x BV]: warp sw owns rows d in [32 sw, 32 sw + 32) (two m16 tiles), every column. The
    // initial state does not depend on the prep pass: it loads before the wait.
    const int d0 = sw * 32;
    float s_acc[2][kNT][4];
    load_state_tile(s_acc, state != nullptr ? state + ((n * kNumVHeads + h) * kD + v0) * kD : nullptr, d0, lane);
    afg::pdl_wait();
    if (sw == 0) {
      for (int j = 0; j < kStateStages && j < nchunks; ++j) load_state_chunk(j);
    }
    const int m0 = sw * 16;  // chunk rows of this warp in W S
    for (int i = 0; i < nchunks; ++i) {
      const int b = i & 1;
      const RingStateStage<BV>& st = sm.st[i % kStateStages];
      chain_mark(i, kChainStart);
      // The S copy and U' buffers of chunk i held chunk i-2: wait until the output warps are done.
      if (i >= 2) named_sync(kBarSplitBufFree + b, kScanThreads);
      chain_mark(i, kChainBufferFree);
      __nv_bfloat16* s_copy = sm.s[b];
      __nv_bfloat16* up = sm.up[b];
      copy_state_tile_bf16(s_copy, kLdS, s_acc, d0, lane);
      mbar_wait(&sm.landed[i % kStateStages], static_cast<uint32_t>(i / kStateStages) & 1u);
      chain_mark(i, kChainLanded);
      named_sync(kBarSplitState, kSplitGroup);
      chain_mark(i, kChainSynced);
      // Past this barrier every state warp is done with chunk i - 1's stage (its update came first):
      // refill it with chunk i - 1 + stages.
      if (sw == 0 && i >= 1 && i - 1 + kStateStages < nchunks) load_state_chunk(i - 1 + kStateStages);
      chain_mark(i, kChainRefilled);

      // U' = U - W S -> up
      {
        float wsa[kNT][4];
        zero(wsa);
        gemm_rowA<kNT, kD, false>(wsa, st.w, kLdK, m0, s_copy, kLdS, 0, lane);
        chain_mark(i, kChainWS, __float_as_uint(wsa[0][0]));
        store_pseudo_values_blocked(up, kLdS, st.u, wsa, m0, lane);
      }
      named_sync(kBarSplitState, kSplitGroup);
      named_arrive(kBarSplitReady + b, kScanThreads);  // chunk i's S copy and U' for the output warps
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
  // Chunk i's rows m0.. of Q (zeros past the sequence), of P and of cum into its output stage, by
  // cp.async from this warp alone (one commit group per chunk): no other warp reads them.
  const auto load_output_rows = [&](int i) {
    RingOutputStage& ot = sm.ot[i % kOutputStages];
    load_warp_q_rows(ot.q, q, bos + static_cast<int64_t>(i) * kC, chunk_length(bos, eos, i), hk, m0, lane);
    const size_t slot = head_slot(i);
    const __nv_bfloat16* p = ws.p + slot * kWsTileP;
    for (int e = lane; e < 16 * (kC / 8); e += 32) {
      const int r = m0 + e / (kC / 8), c = (e % (kC / 8)) * 8;
      cp_async16(ot.p + r * kLdV + c, p + r * kLdV + c, 16);
    }
    if (lane < 4) cp_async16(ot.cum + m0 + 4 * lane, ws.cum + slot * kC + m0 + 4 * lane, 16);
    cp_async_commit();
  };
  // P and cum come from the prep pass.
  afg::pdl_wait();
  for (int j = 0; j < kOutputStages && j < nchunks; ++j) load_output_rows(j);
  for (int i = 0; i < nchunks; ++i) {
    const int b = i & 1;
    const RingOutputStage& ot = sm.ot[i % kOutputStages];
    const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
    const int len = chunk_length(bos, eos, i);
    chain_mark(i, kChainOutStart);
    named_sync(kBarSplitReady + b, kScanThreads);
    chain_mark(i, kChainOutReady);
    // Chunk i's rows have landed when at most the later chunks' groups are in flight.
    const int later = nchunks - 1 - i < kOutputStages - 1 ? nchunks - 1 - i : kOutputStages - 1;
    if (later >= 2) cp_async_wait_group<2>(); else if (later == 1) cp_async_wait_group<1>(); else cp_async_wait_group<0>();
    __syncwarp();
    chain_mark(i, kChainOutLanded);
    float qs[kNT][4], pu[kNT][4];
    zero(qs);
    zero(pu);
    gemm_rowA<kNT, kD, false>(qs, ot.q, kLdK, m0, sm.s[b], kLdS, 0, lane);
    gemm_rowA<kNT, kC, false>(pu, ot.p, kLdV, m0, sm.up[b], kLdS, 0, lane);
    const float g_lo = expf(ot.cum[m0 + g]);
    const float g_hi = expf(ot.cum[m0 + g + 8]);
    chain_mark(i, kChainOutProducts, __float_as_uint(qs[0][0]) ^ __float_as_uint(pu[0][0]));
    // The S copy and U' are no longer read: the state warps may reuse them for chunk i+2.
    if (i + 2 < nchunks) named_arrive(kBarSplitBufFree + b, kScanThreads);
    // This warp's rows of chunk i's stage are read (every lane's, after the products and the gate
    // sums): refill them with chunk i + stages.
    __syncwarp();
    if (i + kOutputStages < nchunks) load_output_rows(i + kOutputStages);
    store_output_tile(output, c0, len, m0, h, v0, scale, g_lo, g_hi, qs, pu, lane);
    chain_mark(i, kChainOutStored);
  }
}
