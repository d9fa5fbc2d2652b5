// scan_wide.cuh: pass 2 of the two-pass prefill for a whole value head per CTA
// (GDN_PREFILL_SCAN_WIDE=1): chunk_scan_wide_kernel, 16 warps, the 128 value columns in two halves.
//
// Why: at 8192 tokens (20-57 sequences) the split scan runs 64-column slices, 16 CTAs per sequence,
// one CTA of 8 warps per SM (214 KB of shared memory, 230 registers): ncu at 8192 / 39 (session 10)
// put it at 72.5 us with issue active 21%, the tensor pipe 22% and no memory unit above 50%, i.e. the
// SM waits on one latency-bound chain at a time, and 2336 chunk steps (146 chunks x 16 CTAs) at
// ~2.5 us over 132 SMs are most of those 72 us. Here one CTA carries both halves of a head: the state
// warps 0-3 and 4-7 run the chains of columns 0-63 and 64-127 side by side, the output warps 8-15
// their outputs, and the chunk's W, Kd, U, P and cum tiles are copied once for both halves. Per warp
// the work of a chunk is the 64-column split scan's; per SM twice the warps, half the chunk steps.
// Shared memory (227,864 bytes, one CTA per SM): two operand stages without Q (123 KB), one Q tile
// the output warps load themselves (17 KB), two bf16 copies of S (70 KB) and one U' (17 KB): U' is
// single-buffered because the output of chunk i (96 mma per warp) ends before the state warps have
// done chunk i's update and chunk i+1's W S (128), so the state warps' wait for it before writing
// U'(i+1) costs nothing in that balance.
// Barriers (0 is __syncthreads): state warps among themselves; "ready" (U'(i), S(i) copy and stage i
// for the output); "done" (the output is done with U'(i)); "stage free" (with stage i); the output
// warps among themselves (Q visible, Q free). sm_90 only (bulk copies, 227 KB of shared memory).
// Included inside kernel.cu's anonymous namespace after scan_split.cuh.

// @tunable GDN_PREFILL_SCAN_WIDE: 0, 1 (default 0) when GDN_PREFILL_SCAN_SPLIT=1
// 1: where the plan picks 64-column slices (GDN_PREFILL_PLAN_LONG_T tokens on), one CTA per
// (sequence, head) with both halves instead (this file). Predicted: the scan at 8192 tokens 72 ->
// ~40 us (twice the chains per SM, half the operand copies), the 8192 calls -20..-25%.
#ifndef GDN_PREFILL_SCAN_WIDE
#define GDN_PREFILL_SCAN_WIDE 0
#endif

constexpr int kWideThreads = 512;
constexpr int kWideGroup = 256;        // threads per role
constexpr int kBarWideState = 1;       // the state warps among themselves
constexpr int kBarWideReady = 2;       // + chunk parity: U'(i), S(i) copy and stage i ready for the output
constexpr int kBarWideDone = 4;        // + chunk parity: the output is done with U'(i)
constexpr int kBarWideStageFree = 6;   // + stage: the output is done with the stage
constexpr int kBarWideOut = 8;         // the output warps among themselves
constexpr int kWideStages = 2;
constexpr int kLdWide = kD + 8;        // row stride of the [*][128] bf16 tiles (S copies, U')

// A chunk's operands except Q, as the prep wrote them (padded tiles, copied whole).
struct WideStage {
  __nv_bfloat16 w[kWsTileWK];
  __nv_bfloat16 kd[kWsTileWK];
  __nv_bfloat16 u[kWsTileU];
  __nv_bfloat16 p[kWsTileP];
  float cum[kC];
};
struct ScanWideSmem {
  WideStage st[kWideStages];
  __nv_bfloat16 q[kC * kLdK];              // Q of the chunk the output warps work on
  __nv_bfloat16 s[2][kD * kLdWide];        // bf16 copies of S(i), [k][v]
  __nv_bfloat16 up[kC * kLdWide];          // U'(i)
  uint64_t landed[kWideStages];            // the stage's bulk copies completed
  long long seq;                           // the sequence this CTA works on
};
static_assert(sizeof(ScanWideSmem) <= 227 * 1024, "the wide scan's buffers do not fit an SM");
static_assert(kScanRankMax * 8 + 8 <= sizeof(WideStage::w), "cu_seqlens staging does not fit over a W tile");

__global__ void __launch_bounds__(kWideThreads, 1)
chunk_scan_wide_kernel(const __nv_bfloat16* __restrict__ q, const float* __restrict__ state,
                       const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                       bool rank_by_length, ChunkWorkspace ws, __nv_bfloat16* __restrict__ output,
                       float* __restrict__ new_state) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  __trap();  // never launched below sm_90: its shared memory does not fit there (the launch fails first)
#else
  extern __shared__ __align__(16) unsigned char smem_raw[];
  ScanWideSmem& sm = *reinterpret_cast<ScanWideSmem*>(smem_raw);
  const int h = blockIdx.x % kNumVHeads;
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t n = sequence_of_rank<kWideThreads, kScanRankMax>(blockIdx.x / kNumVHeads, rank_by_length, cu_seqlens,
                                                                  num_seqs, reinterpret_cast<long long*>(sm.st[0].w),
                                                                  &sm.seq, tid);
  const int64_t bos = cu_seqlens[n];
  const int64_t eos = cu_seqlens[n + 1];
  float* out_state = new_state + (n * kNumVHeads + h) * kD * kD;  // [v][k] of this head
  if (eos <= bos) {
    // The reference skips empty sequences: their final state stays zero.
    for (int i = tid; i < kD * kD / 4; i += kWideThreads) reinterpret_cast<float4*>(out_state)[i] = make_float4(0.f, 0.f, 0.f, 0.f);
    zero_rows_outside_sequences<kD, kWideThreads>(output, h, 0, n, num_seqs, bos, eos, total, tid);
    return;
  }
  const int nchunks = static_cast<int>((eos - bos + kC - 1) / kC);
  const int64_t first_slot = bos / kC + n;
  const auto chunk_len = [&](int i) {
    const int64_t left = eos - (bos + static_cast<int64_t>(i) * kC);
    return static_cast<int>(left < kC ? left : kC);
  };
  if (tid == 0) {
    for (int j = 0; j < kWideStages; ++j) mbar_init(&sm.landed[j], 1);
    mbar_init_fence();
  }
  __syncthreads();

  if (warp < 8) {
    // ============================================ state warps ============================================
    // Warp sw: rows d0.. (32) of S for the column half n0.. (64 columns); W S rows m0.. (16).
    const int sw = warp, n0 = (sw >> 2) * 64, d0 = (sw & 3) * 32, m0 = (sw & 3) * 16;
    // Chunk i's W, Kd, U, P and cum: five bulk copies from lanes of state warp 0 on landed[stage].
    const auto load_chunk = [&](int i) {
      if (sw != 0) return;
      WideStage& st = sm.st[i % kWideStages];
      const size_t head_slot = static_cast<size_t>(first_slot + i) * kNumVHeads + h;
      uint64_t* bar = &sm.landed[i % kWideStages];
      constexpr uint32_t kTileBytes = kWsTileWK * 2;
      if (lane == 0) mbar_arrive_expect_tx(bar, 3 * kTileBytes + kWsTileP * 2 + kC * 4);
      __syncwarp();
      if (lane == 0) bulk_copy_to_smem(st.w, ws.w + head_slot * kWsTileWK, kTileBytes, bar);
      if (lane == 1) bulk_copy_to_smem(st.kd, ws.kd + head_slot * kWsTileWK, kTileBytes, bar);
      if (lane == 2) bulk_copy_to_smem(st.u, ws.u + head_slot * kWsTileU, kTileBytes, bar);
      if (lane == 3) bulk_copy_to_smem(st.p, ws.p + head_slot * kWsTileP, kWsTileP * 2, bar);
      if (lane == 4) bulk_copy_to_smem(st.cum, ws.cum + head_slot * kC, kC * 4, bar);
    };
    float s_acc[2][8][4];
    // The initial state does not depend on the prep pass: it loads before the wait.
    load_state_tile(s_acc, state != nullptr ? state + ((n * kNumVHeads + h) * kD + n0) * kD : nullptr, d0, lane);
    afg::pdl_wait();
    load_chunk(0);
    for (int i = 0; i < nchunks; ++i) {
      const int b = i & 1;
      const WideStage& st = sm.st[i % kWideStages];
      // Chunk i+1 into the stage chunk i-1 used, once the output warps are done with it.
      if (i + 1 < nchunks) {
        if (i >= 1) named_sync(kBarWideStageFree + (i + 1) % kWideStages, kWideThreads);
        load_chunk(i + 1);
      }
      // s[b] held S(i-2): the output was done with it before U'(i-1) was written (the "done" wait).
      copy_state_tile_bf16(sm.s[b] + n0, kLdWide, s_acc, d0, lane);
      mbar_wait(&sm.landed[i % kWideStages], static_cast<uint32_t>(i / kWideStages) & 1u);
      named_sync(kBarWideState, kWideGroup);
      float wsa[8][4];
      zero(wsa);
      gemm_rowA<8, kD, false>(wsa, st.w, kLdK, m0, sm.s[b], kLdWide, n0, lane);
      // U'(i-1) is still read by the output of chunk i-1 until it says "done".
      if (i >= 1) named_sync(kBarWideDone + ((i - 1) & 1), kWideThreads);
      store_pseudo_values(sm.up + n0, kLdWide, st.u + n0, kLdK, wsa, m0, lane);
      named_sync(kBarWideState, kWideGroup);
      named_arrive(kBarWideReady + b, kWideThreads);  // chunk i's S copy, U' and stage for the output
      update_state_tile(s_acc, expf(st.cum[kC - 1]), st.kd, sm.up + n0, kLdWide, d0, lane);
    }
    store_state_tile(out_state + n0 * kD, s_acc, d0, lane);
    return;
  }

  // ============================================ output warps ============================================
  const int otid = tid - kWideGroup, ow = warp - 8;
  const int m0 = (ow & 3) * 16, n0 = (ow >> 2) * 64;
  zero_rows_outside_sequences<kD, kWideGroup>(output, h, 0, n, num_seqs, bos, eos, total, otid);
  // Chunk i's Q rows (zeros past the sequence) by cp.async from the 256 output threads; q is an
  // input of the call, not the prep's, so the first load goes before the prep is done.
  const auto load_q = [&](int i) {
    const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
    const int len = chunk_len(i);
    for (int e = otid; e < kC * (kD / 8); e += kWideGroup) {
      const int r = e / (kD / 8), c = (e % (kD / 8)) * 8;
      const int64_t row = r < len ? c0 + r : 0;
      cp_async16(sm.q + r * kLdK + c, q + (row * kNumQKHeads + hk) * kD + c, r < len ? 16 : 0);
    }
    cp_async_commit();
  };
  load_q(0);
  for (int i = 0; i < nchunks; ++i) {
    const int b = i & 1;
    const WideStage& st = sm.st[i % kWideStages];
    const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
    const int len = chunk_len(i);
    cp_async_wait_group<0>();
    named_sync(kBarWideOut, kWideGroup);  // Q(i) visible to every output warp
    named_sync(kBarWideReady + b, kWideThreads);
    // The stage's bulk copies are acquired here too, not only through the state warps' barrier.
    mbar_wait(&sm.landed[i % kWideStages], static_cast<uint32_t>(i / kWideStages) & 1u);
    float qs[8][4], pu[8][4];
    zero(qs);
    zero(pu);
    gemm_rowA<8, kD, false>(qs, sm.q, kLdK, m0, sm.s[b], kLdWide, n0, lane);
    gemm_rowA<8, kC, false>(pu, st.p, kLdV, m0, sm.up, kLdWide, n0, lane);
    const float g_lo = expf(st.cum[m0 + (lane >> 2)]);
    const float g_hi = expf(st.cum[m0 + (lane >> 2) + 8]);
    // U'(i) and the stage are no longer read by this warp; each arrival is awaited exactly once.
    if (i + 1 < nchunks) named_arrive(kBarWideDone + b, kWideThreads);
    if (i + kWideStages < nchunks) named_arrive(kBarWideStageFree + i % kWideStages, kWideThreads);
    if (i + 1 < nchunks) {
      named_sync(kBarWideOut, kWideGroup);  // every output warp is done reading Q(i)
      load_q(i + 1);
    }
    store_output_tile(output, c0, len, m0, h, n0, scale, g_lo, g_hi, qs, pu, lane);
  }
#endif
}
