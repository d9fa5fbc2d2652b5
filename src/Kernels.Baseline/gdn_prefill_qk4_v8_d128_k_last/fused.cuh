// fused.cuh: the chunked gated delta rule in one launch, warp-specialized (GDN_PREFILL_IMPL=2).
//
// Why: the two-pass kernels (two_pass.cuh) send every chunk's W, U, Kd, P and Q through HBM (about
// 60 KB per chunk and head, written by the prep pass and read again by each scan slice), and the
// scan's CTAs at one per SM wait on those loads: at 8192 tokens the two passes move ~250 MB where
// the inputs, outputs and states are ~90 MB. Here one CTA per (sequence, value head, slice of BV
// value columns) keeps everything on chip and overlaps the two halves of the work:
//   prep warps (0-3), chunk i+1 while the state warps do chunk i:
//     gates -> cum (log G), A = beta_i G_i/G_j k_i.k_j (i > j), P = (Q K^T) o M, T = (I+A)^-1,
//     W = T diag(beta G) K, U = T diag(beta) V_slice, Kd = diag(G_C/G) K (in place over K)
//   state warps (4-7), the sequential part with the state slice S [128 x BV] in fp32 registers:
//     U' = U - W S,  O = scale (diag(G) Q S + P U'),  S = G_C S + Kd^T U'
// The halves hand chunks over through two shared-memory stages (K->Kd, Q, W, U, P, cum) and named
// barriers: "full" (prep arrives, state waits) and "empty" (state arrives, prep waits before it
// loads a chunk into the stage). Each chunk's K, Q, V arrive by cp.async while the previous chunk
// is solved, so only a sequence's first chunk waits for its loads.
// CTAs start longest sequence first (ranked in-kernel from cu_seqlens, no host synchronization),
// so ragged batches do not end on one long sequence that started last.
// Portable (sm_80+): mma.sync, ldmatrix, cp.async and bar.sync / bar.arrive only.
// Included inside kernel.cu's anonymous namespace (constants, helpers, solve_unit_lower, two_pass.cuh).

// @tunable GDN_PREFILL_FUSED_BV: 32, 64 (default 64) when GDN_PREFILL_IMPL=2
// Value columns per fused CTA: 64 is two CTAs per (sequence, head) and ~222 KB of shared memory;
// 32 is four (more CTAs for few long sequences), the same prep work per CTA.
#ifndef GDN_PREFILL_FUSED_BV
#define GDN_PREFILL_FUSED_BV 64
#endif
// @tunable GDN_PREFILL_FUSED_MAX_T: 0, 64 (default 64) when GDN_PREFILL_IMPL=1
// The two-pass plan hands calls of at most this many tokens (so every sequence is one chunk) to the
// fused kernel with 32-column slices: one launch, no workspace. 0: never. H200, session 9, one
// call, with GDN_PREFILL_FAST_PREP=1 in both rows: 6 / 16 / 23 / 28 / 42 / 61 tokens 13.5 / 13.4 /
// 13.7 / 14.1 / 14.1 / 14.0 -> 11.1 / 11.2 / 11.2 / 11.7 / 11.8 / 11.6 us; 100/100 PASS; racecheck,
// synccheck, memcheck clean. Default since. (Longer calls: the fused kernel is bound by the prep's
// chain per chunk, NOTES.md, and the two passes win.)
#ifndef GDN_PREFILL_FUSED_MAX_T
#define GDN_PREFILL_FUSED_MAX_T 64
#endif

constexpr int kFusedThreads = 256;   // 4 prep warps, then 4 state warps
constexpr int kFusedGroup = 128;     // threads per role
// Named barriers (0 is __syncthreads).
constexpr int kBarPrep = 1;          // the prep warps among themselves
constexpr int kBarState = 2;         // the state warps among themselves
constexpr int kBarFull = 3;          // + stage: the stage holds a prepared chunk
constexpr int kBarEmpty = 5;         // + stage: the state warps are done with the stage
// Sequences ranked by length in-kernel up to this count (cu_seqlens staged over the A area).
constexpr int kFusedRankMax = 2048;

__device__ __forceinline__ void named_sync(int id, int count) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}
__device__ __forceinline__ void named_arrive(int id, int count) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}
struct PrepGroupSync {
  __device__ __forceinline__ void operator()() const { named_sync(kBarPrep, kFusedGroup); }
};

template <int BV>
struct FusedStage {
  static constexpr int kLdS = BV + 8;
  __nv_bfloat16 k[kC * kLdK];   // K, then Kd = diag(G_C/G) K once W is computed
  __nv_bfloat16 q[kC * kLdK];
  __nv_bfloat16 w[kC * kLdK];
  __nv_bfloat16 u[kC * kLdS];   // U, this CTA's value columns
  __nv_bfloat16 p[kC * kLdV];   // masked, decayed Q K^T
  float cum[kC];                // log G
};
template <int BV>
struct FusedSmem {
  static constexpr int kLdS = BV + 8;
  FusedStage<BV> st[2];
  __nv_bfloat16 v[2][kC * kLdS];  // V slices of the chunk being prepared and the next one
  float a[kC * kLdF];             // A; after the solve T diag(beta G) in bf16 (row stride kLdV)
  float t[kC * kLdF];             // T; then T diag(beta) in bf16 (row stride kLdV)
  float partial[3][16][16];
  float cum[kC];
  float beta[kC];
  float fk[kC];                   // beta_j G_j
  float fd[kC];                   // G_C / G_r
  __nv_bfloat16 s[kD * kLdS];     // bf16 copy of the state slice [k][v]
  __nv_bfloat16 up[kC * kLdS];    // U'
  long long seq;                  // the sequence this CTA works on
};
static_assert(sizeof(FusedSmem<64>) <= 227 * 1024, "the fused kernel's stages do not fit an SM");
static_assert(kFusedRankMax * 8 + 8 <= sizeof(float) * kC * kLdF * 2, "cu_seqlens staging does not fit over A and T");

template <int BV>
__global__ void __launch_bounds__(kFusedThreads, 1)
gdn_prefill_fused_kernel(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                         const __nv_bfloat16* __restrict__ v, const float* __restrict__ state,
                         const float* __restrict__ A_log, const __nv_bfloat16* __restrict__ a_in,
                         const float* __restrict__ dt_bias, const __nv_bfloat16* __restrict__ b_in,
                         const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                         bool rank_by_length, __nv_bfloat16* __restrict__ output, float* __restrict__ new_state) {
  constexpr int kSlicesPerHead = kD / BV;
  constexpr int kNT = BV / 8;
  constexpr int kLdS = BV + 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  FusedSmem<BV>& sm = *reinterpret_cast<FusedSmem<BV>*>(smem_raw);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2;
  const int slice = blockIdx.x % kSlicesPerHead;
  const int h = (blockIdx.x / kSlicesPerHead) % kNumVHeads;
  const int64_t rank = blockIdx.x / (kSlicesPerHead * kNumVHeads);
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int v0 = slice * BV;

  // --- which sequence: the rank-th longest (ties by index), or sequence `rank` when every sequence
  // is one chunk (rank_by_length false: the order buys nothing, and each CTA's O(N^2) ranking would
  // cost O(N^3) over the grid) or for huge batches ---------------------------------------------------
  const int64_t n = sequence_of_rank<kFusedThreads, kFusedRankMax>(rank, rank_by_length, cu_seqlens, num_seqs,
                                                                   reinterpret_cast<long long*>(sm.a), &sm.seq, tid);
  const int64_t bos = cu_seqlens[n];
  const int64_t eos = cu_seqlens[n + 1];
  float* out_state = new_state + ((n * kNumVHeads + h) * kD + v0) * kD;  // rows v0.. of [v][k]
  if (eos <= bos) {
    // The reference skips empty sequences: their final state stays zero.
    zero_state_rows<BV, kFusedThreads>(out_state, tid);
    zero_rows_outside_sequences<BV, kFusedThreads>(output, h, v0, n, num_seqs, bos, eos, total, tid);
    return;
  }
  const int nchunks = static_cast<int>((eos - bos + kC - 1) / kC);
  const auto chunk_len = [&](int i) { return chunk_length(bos, eos, i); };

  if (warp < 4) {
    // =========================================== prep warps ===========================================
    const int ptid = tid, pw = warp;
    const int m0 = pw * 16;
    const float neg_a = -expf(A_log[h]);
    const float bias = dt_bias[h];
    float gate_a = 0.f, gate_b = 0.f;  // raw a, b of this thread's row of the chunk loaded last
    // Issues chunk i's K, Q (into its stage) and V slice by cp.async, and its gate inputs by plain loads.
    const auto issue_chunk = [&](int i) {
      FusedStage<BV>& st = sm.st[i & 1];
      __nv_bfloat16* vb = sm.v[i & 1];
      const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
      const int len = chunk_len(i);
      for (int e = ptid; e < kC * (kD / 8); e += kFusedGroup) {
        const int r = e / (kD / 8), c = (e % (kD / 8)) * 8;
        const int bytes = r < len ? 16 : 0;
        const int64_t row = r < len ? c0 + r : 0;
        cp_async16(st.k + r * kLdK + c, k + (row * kNumQKHeads + hk) * kD + c, bytes);
        cp_async16(st.q + r * kLdK + c, q + (row * kNumQKHeads + hk) * kD + c, bytes);
      }
      for (int e = ptid; e < kC * (BV / 8); e += kFusedGroup) {
        const int r = e / (BV / 8), c = (e % (BV / 8)) * 8;
        const int bytes = r < len ? 16 : 0;
        const int64_t row = r < len ? c0 + r : 0;
        cp_async16(vb + r * kLdS + c, v + (row * kNumVHeads + h) * kD + v0 + c, bytes);
      }
      cp_async_commit();
      if (ptid < kC && ptid < len) {
        const int64_t gi = (c0 + ptid) * kNumVHeads + h;
        gate_a = __bfloat162float(a_in[gi]);
        gate_b = __bfloat162float(b_in[gi]);
      }
    };
    issue_chunk(0);
    for (int i = 0; i < nchunks; ++i) {
      FusedStage<BV>& st = sm.st[i & 1];
      const __nv_bfloat16* vb = sm.v[i & 1];
      const int len = chunk_len(i);
      cp_async_wait_group<0>();
      if (ptid < kC) {
        const bool real = ptid < len;
        sm.cum[ptid] = real ? log_gate(neg_a, gate_a, bias) : 0.f;
        sm.beta[ptid] = real ? beta_gate(gate_b) : 0.f;
      }
      named_sync(kBarPrep, kFusedGroup);
      if (pw == 0) {
        chunk_gate_factors(sm.cum, sm.beta, sm.fk, sm.fd, lane);
        st.cum[2 * lane] = sm.cum[2 * lane];  // this lane's own prefix sums
        st.cum[2 * lane + 1] = sm.cum[2 * lane + 1];
      }
      named_sync(kBarPrep, kFusedGroup);

      // A = beta_i G_i/G_j k_i.k_j (i > j) -> smem fp32;  P = G_i/G_j q_i.k_j (i >= j) -> stage
      {
        float kk[8][4], qk[8][4];
        zero(kk);
        zero(qk);
        gemm_rowA<8, kD, true>(kk, st.k, kLdK, m0, st.k, kLdK, 0, lane);
        gemm_rowA<8, kD, true>(qk, st.q, kLdK, m0, st.k, kLdK, 0, lane);
        decay_chunk_products(kk, qk, sm.cum, sm.beta, sm.a, m0, 0, lane);
        store_tile_bf16(st.p, kLdV, m0, 0, qk, lane);
      }
      named_sync(kBarPrep, kFusedGroup);

      // The next chunk's loads go out now and land while this chunk is solved. Its stage held chunk
      // i-1: wait until the state warps are done with it.
      if (i + 1 < nchunks) {
        if (i + 1 >= 2) named_sync(kBarEmpty + ((i + 1) & 1), kFusedThreads);
        issue_chunk(i + 1);
      }

      solve_unit_lower<kFusedGroup>(sm.a, sm.t, sm.partial, ptid, PrepGroupSync{});
      // Without GDN_PREFILL_PREP_T_FRAGS: T diag(beta G) over A (dead); T diag(beta) over T once every
      // thread has read its part of T.
      __nv_bfloat16* tw = reinterpret_cast<__nv_bfloat16*>(sm.a);
      __nv_bfloat16* tu = reinterpret_cast<__nv_bfloat16*>(sm.t);
      if constexpr (!GDN_PREFILL_PREP_T_FRAGS) {
        constexpr int kPairs = kC * (kC / 2) / kFusedGroup;
        __nv_bfloat162 tu_pairs[kPairs];
#pragma unroll
        for (int it = 0; it < kPairs; ++it) {
          const int idx = ptid + it * kFusedGroup;
          const int r = idx / (kC / 2), c = (idx % (kC / 2)) * 2;
          const float t0 = t_lower(sm.t, r, c), t1 = t_lower(sm.t, r, c + 1);
          store_bf16x2(tw + r * kLdV + c, t0 * sm.fk[c], t1 * sm.fk[c + 1]);
          tu_pairs[it] = __floats2bfloat162_rn(t0 * sm.beta[c], t1 * sm.beta[c + 1]);
        }
        named_sync(kBarPrep, kFusedGroup);
#pragma unroll
        for (int it = 0; it < kPairs; ++it) {
          const int idx = ptid + it * kFusedGroup;
          const int r = idx / (kC / 2), c = (idx % (kC / 2)) * 2;
          *reinterpret_cast<__nv_bfloat162*>(tu + r * kLdV + c) = tu_pairs[it];
        }
        named_sync(kBarPrep, kFusedGroup);
      }

      // W = T diag(beta G) K -> stage;  U = T diag(beta) V -> stage
      {
        float acc[16][4];
        zero(acc);
        gemm_t_scaled(acc, sm.t, sm.fk, tw, m0, st.k, kLdK, 0, lane);
        store_tile_bf16(st.w, kLdK, m0, 0, acc, lane);
        float u[kNT][4];
        zero(u);
        gemm_t_scaled(u, sm.t, sm.beta, tu, m0, vb, kLdS, 0, lane);
        store_tile_bf16(st.u, kLdS, m0, 0, u, lane);
      }
      named_sync(kBarPrep, kFusedGroup);  // every warp is done reading K
      for (int e = ptid; e < kC * (kD / 8); e += kFusedGroup) {
        const int r = e / (kD / 8), c = (e % (kD / 8)) * 8;
        uint4* piece = reinterpret_cast<uint4*>(st.k + r * kLdK + c);
        *piece = scale_piece(*piece, sm.fd[r]);
      }
      // bar.arrive orders these stores before the state warps' reads on the hardware (PTX: memory
      // accesses before bar.arrive are performed relative to the barrier's participants), but
      // compute-sanitizer's racecheck reported the Kd stores against the S update's reads when the
      // arrive followed them directly (session 9): a prep barrier first keeps the tool's verdict
      // meaningful for this kernel, for one barrier per chunk.
      named_sync(kBarPrep, kFusedGroup);
      named_arrive(kBarFull + (i & 1), kFusedThreads);  // the stage holds chunk i
    }
    return;
  }

  // ============================================ state warps ============================================
  const int stid = tid - kFusedGroup, sw = warp - 4;
  zero_rows_outside_sequences<BV, kFusedGroup>(output, h, v0, n, num_seqs, bos, eos, total, stid);
  // S [128 x BV]: warp sw owns rows d in [32 sw, 32 sw + 32) (two m16 tiles), every column.
  const int d0 = sw * 32;
  float s_acc[2][kNT][4];
  load_state_tile(s_acc, state != nullptr ? state + ((n * kNumVHeads + h) * kD + v0) * kD : nullptr, d0, lane);
  // Chunk products [64 x BV]: warp sw takes chunk rows [16 sw, 16 sw + 16), every column.
  const int m0 = sw * 16;
  for (int i = 0; i < nchunks; ++i) {
    const FusedStage<BV>& st = sm.st[i & 1];
    const int64_t c0 = bos + static_cast<int64_t>(i) * kC;
    const int len = chunk_len(i);
    copy_state_tile_bf16(sm.s, kLdS, s_acc, d0, lane);
    // Waits for the prepared chunk; all state threads pass together, so S's copy is complete too.
    named_sync(kBarFull + (i & 1), kFusedThreads);

    // U' = U - W S -> smem;  Q S kept in registers
    float qs[kNT][4];
    {
      float wsa[kNT][4];
      zero(wsa);
      zero(qs);
      gemm_rowA<kNT, kD, false>(wsa, st.w, kLdK, m0, sm.s, kLdS, 0, lane);
      gemm_rowA<kNT, kD, false>(qs, st.q, kLdK, m0, sm.s, kLdS, 0, lane);
      store_pseudo_values(sm.up, kLdS, st.u, kLdS, wsa, m0, lane);
    }
    named_sync(kBarState, kFusedGroup);

    // O = scale (diag(G) Q S + P U')
    {
      float pu[kNT][4];
      zero(pu);
      gemm_rowA<kNT, kC, false>(pu, st.p, kLdV, m0, sm.up, kLdS, 0, lane);
      store_output_tile(output, c0, len, m0, h, v0, scale, expf(st.cum[m0 + g]), expf(st.cum[m0 + g + 8]), qs, pu, lane);
    }

    // S = G_C S + Kd^T U'
    update_state_tile(s_acc, expf(st.cum[kC - 1]), st.k, sm.up, kLdS, d0, lane);
    // The prep warps wait for this before loading chunk i+2 into the stage.
    if (i + 2 < nchunks) named_arrive(kBarEmpty + (i & 1), kFusedThreads);
  }

  // Final state straight to global memory (four 32-byte runs per store instruction).
  store_state_tile(out_state, s_acc, d0, lane);
}
