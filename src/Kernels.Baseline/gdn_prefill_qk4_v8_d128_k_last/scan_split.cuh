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

// @tunable GDN_PREFILL_SCAN_WGMMA: 0, 1 (default 1) when GDN_PREFILL_SCAN_SPLIT=1
// 1 (sm_90a builds; a plain sm_90 build keeps mma.sync): the split scan's four products on warpgroup
// MMAs (wgmma, A from registers, B from shared memory): the state warps' W S and Kd^T U', the output
// warps' Q S and P U'. The bf16 S copy and U', the B operand of all four, are stored by stmatrix
// .trans in wgmma's K-major layout with the 128-byte swizzle; the A fragments stay ldmatrix loads of
// the stages' padded tiles. The state warps then own S rows d0.. and d0 + 64.. (one m16 tile of each
// m64 block) instead of 32 consecutive rows.
// Why (session 24, chain timelines at 8192 / 8, 64 columns): a step is ~4900 cycles where the state's
// own products and stores are ~2500, and both roles wait on each other and on the MIO queue. With
// mma.sync every warp reads the whole B operand: per 64-column step ~250 KB of shared-memory reads
// (~1950 cycles at 128 B a cycle), 190 KB of them four copies of S and U'. A warpgroup MMA reads B
// once: ~105 KB, and one instruction per 64 x N x 16 instead of N / 8 mma.sync and their ldmatrix.
// Predicted: the step at 64 columns 4900 -> ~2500-3000 cycles, at 32 columns 2570 -> ~1800, 8192 / 39
// ~124 -> ~105 us. Measured (H200, call 4, chain timelines and a two-round sweep, all PASS): 64
// columns 4893 -> 3972 cycles (W S 763 -> 493, update 994 -> 484, output products 1368 -> 898; the
// rest is waiting for stages), 8192 / 39 123.8 -> 111.5 us, 8192 / 57 142.4 -> 128.4, 4124 / 15 66.4
// -> 64.9; 32 columns (4096 / 8) 2478 -> 2726 cycles and 16 columns (2107 / 1) 1873 -> 2257 (the
// stmatrix copies and fences before the landing wait grew more than the products shrank): see
// GDN_PREFILL_SCAN_WGMMA_MIN_BV.
#ifndef GDN_PREFILL_SCAN_WGMMA
#define GDN_PREFILL_SCAN_WGMMA 1
#endif
#if defined(__CUDA_ARCH_FEAT_SM90_ALL) && GDN_PREFILL_SCAN_WGMMA
constexpr bool kScanWgmma = true;
#else
constexpr bool kScanWgmma = false;
#endif

// @tunable GDN_PREFILL_SCAN_WGMMA_MIN_BV: 16, 32, 64 (default 32) when GDN_PREFILL_SCAN_WGMMA=1
// The narrowest slice (columns) whose scan takes the wgmma products; narrower ones keep mma.sync.
// Session 24's first run: at 16 columns (2107 / 1's chain, split) the wgmma step was slower (1873 ->
// 2257 cycles: m64n16 products of 8 dependent k steps) while 64 columns gained (4893 -> 3972).
// H200, call 5 (two rounds, with the loader warp; us): 16 / 32 / 64 against mma.sync everywhere
// (with and without loader): 2857 / 3 (16 columns) 50.6 / 48.9 / 49.1 (old 50.4), 3999 / 13 (32)
// 63.2 / 63.5 / 64.7 (65.4), 4124 / 15 (32) 65.1 / 64.9 / 66.3 (67.0), 8192 / 39 (64) 110.7 / 111.0 /
// 110.4 (124.3), 8192 / 57 126.0 / 126.3 / 126.1 (142.8). 32 is the default.
#ifndef GDN_PREFILL_SCAN_WGMMA_MIN_BV
#define GDN_PREFILL_SCAN_WGMMA_MIN_BV 32
#endif

// The mbarrier and bulk-copy wrappers are include/afg_bulk.cuh's (included at the top of kernel.cu).
using afg::bulk_copy_to_smem;
using afg::mbar_arrive;
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

// GDN_PREFILL_DIAG_SKIP_LOADS bit 4 (timing only): the output tile's values folded into one XOR, stored
// by lane 0 in the tile's first element only if it happens to be zero, so the products and the
// decays stay live while the output warps issue (almost) no stores.
template <int NT>
__device__ __forceinline__ void store_output_tile_folded(__nv_bfloat16* output, int64_t c0, int len, int m0, int h,
                                                         int col0, float g_lo, float g_hi, const float (&qs)[NT][4],
                                                         const float (&pu)[NT][4], int lane) {
  uint32_t fold = 0u;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) fold ^= __float_as_uint((e < 2 ? g_lo : g_hi) * qs[nt][e] + pu[nt][e]);
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) fold ^= __shfl_xor_sync(0xffffffffu, fold, o);
  if (lane == 0 && fold == 0u && m0 < len) output[((c0 + m0) * kNumVHeads + h) * kD + col0] = __float2bfloat16(0.f);
}

// ---- GDN_PREFILL_SCAN_WGMMA: the B operands (S copy [BV][128], U' [BV][64], both K-major with the
// 128-byte swizzle: row n holds the K values of column n, 64 a 128-byte row, K blocks of 64 BV rows
// apart; 16-byte chunk c of row n sits at chunk c ^ (n & 7)) and the four products.
// Shared-memory byte address of K values k..k+7 (k a multiple of 8) of column n in such an operand.
template <int BV>
__device__ __forceinline__ uint32_t sw128_chunk_addr(uint32_t base, int n, int k) {
  return base + static_cast<uint32_t>((k >> 6) * (BV * 128) + n * 128 + ((((k & 63) >> 3) ^ (n & 7)) << 4));
}
// Descriptor of k16 step ks of such an operand (32 bytes a step inside a 128-byte row).
template <int BV>
__device__ __forceinline__ uint64_t sw128_step_desc(uint32_t base, int ks) {
  return afg::desc_sw128(base + static_cast<uint32_t>((ks >> 2) * (BV * 128) + (ks & 3) * 32));
}
// Stores a warp's 16 x 8 NT fragment tile (rows r0.. of the product's K, columns = the operand's N)
// into the K-major operand at base: x4 stmatrix .trans per pair of n8 tiles. lo[nt] / hi[nt]: the
// packed pairs of rows g and g + 8.
template <int BV, int NT>
__device__ __forceinline__ void store_kmajor_tile(uint32_t base, int r0, const uint32_t (&lo)[NT], const uint32_t (&hi)[NT],
                                                  int lane) {
  const int q = lane >> 3, j = lane & 7;
#pragma unroll
  for (int nt = 0; nt < NT; nt += 2) {
    const int n = 8 * (nt + (q >> 1)) + j;
    afg::stmatrix_x4_trans(sw128_chunk_addr<BV>(base, n, r0 + 8 * (q & 1)), lo[nt], hi[nt], lo[nt + 1], hi[nt + 1]);
  }
}
// The bf16 copy of this warp's S rows (d0.. and d0 + 64..; wgmma's m64 blocks) as the B operand.
template <int BV, int NT>
__device__ __forceinline__ void copy_state_tile_wg(uint32_t s_base, const float (&s)[2][NT][4], int d0, int lane) {
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
    uint32_t lo[NT], hi[NT];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      lo[nt] = pack_bf16x2(s[mt][nt][0], s[mt][nt][1]);
      hi[nt] = pack_bf16x2(s[mt][nt][2], s[mt][nt][3]);
    }
    store_kmajor_tile<BV, NT>(s_base, d0 + 64 * mt, lo, hi, lane);
  }
}
// acc[warp's 16 rows m0.. x BV] += A[m0.., 0..K) (row-major bf16, row stride lda) * B (the K-major
// operand at b_base), on the warpgroup: issued, committed and waited for here.
template <int BV, int K>
__device__ __forceinline__ void wg_product(float (&acc)[BV / 8][4], const __nv_bfloat16* a, int lda, int m0,
                                           uint32_t b_base, int lane) {
  constexpr int kSteps = K / 16;
  uint32_t af[kSteps][4];
#pragma unroll
  for (int ks = 0; ks < kSteps; ++ks) load_a(af[ks], a, lda, m0, 16 * ks, lane);
  float (&d)[BV / 2] = *reinterpret_cast<float (*)[BV / 2]>(&acc[0][0]);
  afg::wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < kSteps; ++ks) afg::wgmma_m64k16_bf16_rs<BV>(d, af[ks], sw128_step_desc<BV>(b_base, ks));
  afg::wgmma_commit();
  afg::wgmma_wait<0>();
  afg::fence_fragment(d);
#pragma unroll
  for (int ks = 0; ks < kSteps; ++ks) afg::fence_regs(af[ks]);
}
// S = gc S + Kd^T U' on the warpgroup: this warp's rows d0.. and d0 + 64.. of S (the two m64 blocks),
// Kd [64][kLdK] in the stage (A = Kd^T by ldmatrix .trans), U' the K-major operand at up_base.
template <int BV>
__device__ __forceinline__ void update_state_tile_wg(float (&s)[2][BV / 8][4], float gc, const __nv_bfloat16* kd,
                                                     uint32_t up_base, int d0, int lane) {
  uint32_t af[2][kC / 16][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int ks = 0; ks < kC / 16; ++ks) load_a_trans(af[mt][ks], kd, kLdK, d0 + 64 * mt, 16 * ks, lane);
#pragma unroll
    for (int nt = 0; nt < BV / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) s[mt][nt][e] *= gc;
    }
  }
  afg::wgmma_fence();
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
    float (&d)[BV / 2] = *reinterpret_cast<float (*)[BV / 2]>(&s[mt][0][0]);
#pragma unroll
    for (int ks = 0; ks < kC / 16; ++ks) afg::wgmma_m64k16_bf16_rs<BV>(d, af[mt][ks], sw128_step_desc<BV>(up_base, ks));
  }
  afg::wgmma_commit();
  afg::wgmma_wait<0>();
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
    afg::fence_fragment(*reinterpret_cast<float (*)[BV / 2]>(&s[mt][0][0]));
#pragma unroll
    for (int ks = 0; ks < kC / 16; ++ks) afg::fence_regs(af[mt][ks]);
  }
}
// U' = U - W S for this warp's 16 chunk rows (m0..) into the K-major U' operand (K = chunk rows).
// u_at(r, c): the stage's U element (chunk row r, slice column c).
template <int BV, typename UAt>
__device__ __forceinline__ void store_pseudo_values_wg(uint32_t up_base, UAt u_at, const float (&ws)[BV / 8][4], int m0,
                                                       int lane) {
  constexpr int NT = BV / 8;
  const int g = lane >> 2, tq = lane & 3;
  uint32_t lo[NT], hi[NT];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int c = nt * 8 + 2 * tq;
    const float2 ulo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(u_at(m0 + g, c)));
    const float2 uhi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(u_at(m0 + g + 8, c)));
    lo[nt] = pack_bf16x2(ulo.x - ws[nt][0], ulo.y - ws[nt][1]);
    hi[nt] = pack_bf16x2(uhi.x - ws[nt][2], uhi.y - ws[nt][3]);
  }
  store_kmajor_tile<BV, NT>(up_base, m0, lo, hi, lane);
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

// @tunable GDN_PREFILL_SPLIT_LOADER_WARP: 0, 1 (default 1) when GDN_PREFILL_SCAN_BULK=1
// 1: a ninth warp issues every stage's bulk copies (W, Kd, U, P, cum), each once both roles have
// released the stage (the state warps after their update of the chunk it held, the output warps
// after their products; a per-stage "freed" mbarrier the loader waits on), so neither role's chain issues
// copies: state warp 0 (two stages, 64 columns) or output warp 0 (GDN_PREFILL_SPLIT_REFILL, three
// stages) spent ~900-1500 cycles a step blocked issuing five copies. Only the loader waits for the
// prep grid (griddepcontrol.wait): the state and output warps read the workspace only through it.
// Session 24's chain timeline at 64 columns with wgmma products (8192 / 8): a step of ~3970 cycles
// of which the state warps waited ~1540 for the stage to be free and their own copies' issue and
// ~1000 for the landing; their products and stores are ~1400. Predicted: the 64-column step ->
// ~2000-2500 cycles, 8192 / 39 ~111 -> ~95 us; the 16 / 32-column steps -5..-15%. Measured (call 5):
// 64 columns 3962 -> 3706 cycles (the state warps now wait ~1000, p90 ~1700, for the stage to land:
// with two stages a chunk's copies start only once both roles are done with the chunk two back),
// 32 columns 2634 -> 2395, 16 columns 2214 -> 1798 (wgmma at every width there); calls: 8192 / 39
// 112.0 -> 110.7 us, 8192 / 57 129.4 -> 126.0, 2857 / 3 53.2 -> 50.6, 3999 / 13 64.2 -> 63.2.
#ifndef GDN_PREFILL_SPLIT_LOADER_WARP
#define GDN_PREFILL_SPLIT_LOADER_WARP 1
#endif
constexpr bool kSplitLoaderWarp = GDN_PREFILL_SCAN_BULK != 0 && GDN_PREFILL_SPLIT_LOADER_WARP != 0;
// Threads of the split scan's CTA: four state warps, four output warps, the loader warp.
constexpr int kSplitThreads = kScanThreads + (kSplitLoaderWarp ? 32 : 0);

// @tunable GDN_PREFILL_SPLIT_LOADER_PARTS: 0, 1 (default 0) when GDN_PREFILL_SPLIT_LOADER_WARP=1
// 1: the loader refills a stage in three parts, each once its readers are done with the chunk it held:
// W and U after the state warps' U' (their only readers), Kd after the update, P and cum after the
// update and the output warps' products; each part lands on its own mbarrier, which the state warps
// wait on just before the product that reads it. Why: with the loader warp (64 columns, two stages)
// the state warps still wait ~1000 cycles a step (p90 ~1700) for their stage, whose copies could start
// only after both roles finished the chunk two back; W and U, needed first, now start about half a step
// earlier. Predicted: the 64-column step 3706 -> ~3100 cycles, 8192 / 39 ~110 -> ~105 us; 16 / 32
// columns (three stages, already ahead) even. Measured (H200, session 24 call 10, one round, all PASS,
// racecheck / synccheck / memcheck clean at 64 columns): 8192 / 39 110.2 -> 109.4 us, 8192 / 57 125.9
// -> 125.3, 4124 / 15 64.8 -> 64.4, 2857 / 3 49.0 -> 49.6, 132 / 2 12.3 -> 12.4: within noise. When the
// copies start is not what the state warps wait for; how long 43 KB take to land is (next: measure the
// landing time per part in the chain timeline). Default 0.
#ifndef GDN_PREFILL_SPLIT_LOADER_PARTS
#define GDN_PREFILL_SPLIT_LOADER_PARTS 0
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
// @diagnostic GDN_PREFILL_DIAG_SKIP_LOADS: 0, 1, 2, 3, 4, 6 (default 0)
// Wrong outputs, for timing only (gdn-chain-timeline.sh): which loads bind the chain step. Bit 1:
// the stage refills (chunks from `stages` on) copy only cum, W, Kd, U and P stay those of an earlier
// chunk (~45 of a 16-column stage's ~62 KB); bit 2: the output warps load Q only for the first
// `stages` chunks (~17 KB); bit 4: the output warps store no output tile (one store a warp keeps
// the products alive). Session 24: at 64 columns the state warps wait ~1600 cycles a step for the
// output warps, whose step has ~1500 cycles blocked between two marks with nothing between them
// but the LSU's queue (1024 Q cp.async and 2048 4-byte output stores a chunk). Session 21's
// timeline: both roles wait ~1000 cycles a step for loads whose issue alone takes ~700, at ~31 bytes
// per cycle into each SM.
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
// Chunk (head_slot)'s W, Kd, U (this slice's columns from v0), P and cum into stage st as five bulk
// copies completing on bar, from lanes 0-4 of the calling warp (lane 0 arms the transaction count).
template <int BV>
__device__ __forceinline__ void issue_stage_copies(SplitStage<BV>& st, uint64_t* bar, const ChunkWorkspace& ws,
                                                   size_t head_slot, int v0, int lane) {
  constexpr uint32_t kTileBytes = kWsTileWK * 2;
  // U: the padded tile, or this slice's 16-column blocks (contiguous) with GDN_PREFILL_U_BLOCKS.
  constexpr uint32_t kUBytes = kSplitUBlocked ? kC * BV * 2 : kTileBytes;
  const __nv_bfloat16* u_src = ws.u + head_slot * kWsTileU + (kSplitUBlocked ? (v0 / 16) * (kC * 16) : 0);
  if (lane == 0) mbar_arrive_expect_tx(bar, 2 * kTileBytes + kUBytes + kWsTileP * 2 + kC * 4);
  __syncwarp();
  if (lane == 0) bulk_copy_to_smem(st.w, ws.w + head_slot * kWsTileWK, kTileBytes, bar);
  if (lane == 1) bulk_copy_to_smem(st.kd, ws.kd + head_slot * kWsTileWK, kTileBytes, bar);
  if (lane == 2) bulk_copy_to_smem(st.u, u_src, kUBytes, bar);
  if (lane == 3) bulk_copy_to_smem(st.p, ws.p + head_slot * kWsTileP, kWsTileP * 2, bar);
  if (lane == 4) bulk_copy_to_smem(st.cum, ws.cum + head_slot * kC, kC * 4, bar);
}

// The split scan's steps on either product path (kWg: wgmma and the K-major S copy / U', else
// mma.sync and padded rows), shared with the persistent scan (scan_persist.cuh).
// The bf16 S copy of this warp's rows (wgmma's readers get the async-proxy fence).
template <int BV, bool kWg>
__device__ __forceinline__ void split_copy_state(__nv_bfloat16* s_copy, const float (&s_acc)[2][BV / 8][4], int d0, int lane) {
  if constexpr (kWg) {
    copy_state_tile_wg<BV, BV / 8>(smem_addr(s_copy), s_acc, d0, lane);
    afg::fence_proxy_async();  // the S copy is read by wgmma (the async proxy)
  } else {
    copy_state_tile_bf16(s_copy, BV + 8, s_acc, d0, lane);
  }
}
// wsa = W S for this warp's 16 chunk rows (m0..).
template <int BV, bool kWg>
__device__ __forceinline__ void split_w_times_s(float (&wsa)[BV / 8][4], const SplitStage<BV>& st, const __nv_bfloat16* s_copy,
                                                int m0, int lane) {
  zero(wsa);
  if constexpr (kWg) {
    wg_product<BV, kD>(wsa, st.w, kLdK, m0, smem_addr(s_copy), lane);
  } else {
    gemm_rowA<BV / 8, kD, false>(wsa, st.w, kLdK, m0, s_copy, BV + 8, 0, lane);
  }
}
// U' = U - W S for this warp's rows into the U' buffer; v0: the slice's first column (U's padded rows).
template <int BV, bool kWg>
__device__ __forceinline__ void split_store_pseudo_values(__nv_bfloat16* up, const SplitStage<BV>& st, int v0,
                                                          const float (&wsa)[BV / 8][4], int m0, int lane) {
  if constexpr (kWg) {
    const auto u_at = [&](int r, int c) { return kSplitUBlocked ? st.u + u_block_index(r, c) : st.u + v0 + r * kLdK + c; };
    store_pseudo_values_wg<BV>(smem_addr(up), u_at, wsa, m0, lane);
    afg::fence_proxy_async();  // U' is read by wgmma
  } else if constexpr (kSplitUBlocked) {
    store_pseudo_values_blocked(up, BV + 8, st.u, wsa, m0, lane);
  } else {
    store_pseudo_values(up, BV + 8, st.u + v0, kLdK, wsa, m0, lane);
  }
}
// S = G_C S + Kd^T U' for this warp's rows.
template <int BV, bool kWg>
__device__ __forceinline__ void split_update_state(float (&s_acc)[2][BV / 8][4], const SplitStage<BV>& st,
                                                   const __nv_bfloat16* up, int d0, int lane) {
  if constexpr (kWg) {
    update_state_tile_wg<BV>(s_acc, expf(st.cum[kC - 1]), st.kd, smem_addr(up), d0, lane);
  } else {
    update_state_tile(s_acc, expf(st.cum[kC - 1]), st.kd, up, BV + 8, d0, lane);
  }
}
// The output warp's Q S and P U' for its 16 chunk rows (m0..).
template <int BV, bool kWg>
__device__ __forceinline__ void split_output_products(float (&qs)[BV / 8][4], float (&pu)[BV / 8][4], const SplitStage<BV>& st,
                                                      const __nv_bfloat16* s_copy, const __nv_bfloat16* up, int m0, int lane) {
  zero(qs);
  zero(pu);
  if constexpr (kWg) {
    wg_product<BV, kD>(qs, st.q, kLdK, m0, smem_addr(s_copy), lane);
    wg_product<BV, kC>(pu, st.p, kLdV, m0, smem_addr(up), lane);
  } else {
    gemm_rowA<BV / 8, kD, false>(qs, st.q, kLdK, m0, s_copy, BV + 8, 0, lane);
    gemm_rowA<BV / 8, kC, false>(pu, st.p, kLdV, m0, up, BV + 8, 0, lane);
  }
}

// The split scan's shared memory for a slice width and a number of operand stages.
template <int BV, int Stages>
struct ScanSplitSmemOf {
  static constexpr int kStages = Stages;
  SplitStage<BV> st[Stages];
  // bf16 copies of S(i): [k][v] rows of BV + 8, or with GDN_PREFILL_SCAN_WGMMA wgmma's K-major
  // swizzled [v][k] (BV x 256 bytes); each buffer starts 1024-byte aligned (the swizzle's atoms).
  alignas(1024) __nv_bfloat16 s[2][kD * (BV + 8)];
  __nv_bfloat16 up[2][kC * (BV + 8)];  // U'(i), the same two layouts (K = the chunk's rows)
  uint64_t landed[Stages];             // GDN_PREFILL_SCAN_BULK: the stage's copies completed
  uint64_t freed[Stages];              // GDN_PREFILL_SPLIT_LOADER_WARP: every state and output thread done with it
  uint64_t landed_wu[Stages];          // GDN_PREFILL_SPLIT_LOADER_PARTS: W and U landed
  uint64_t landed_kd[Stages];          //   Kd landed (landed[]: P and cum)
  uint64_t freed_wu[Stages];           //   the state warps done with W and U
  uint64_t freed_kd[Stages];           //   the state warps done with Kd (freed[]: P and cum, both roles)
  static_assert(sizeof(s[0]) % 1024 == 0 && sizeof(up[0]) % 1024 == 0, "every S copy and U' buffer starts 1024-byte aligned");
  long long seq;                       // the sequence this CTA works on
};
// GDN_PREFILL_SPLIT_STAGES stages where a scan's shared memory SmemOf<BV, stages> fits an SM, else 2
// (+ 1024 bytes to align the base).
template <template <int, int> class SmemOf, int BV>
constexpr int kStagesThatFit = sizeof(SmemOf<BV, GDN_PREFILL_SPLIT_STAGES>) + 1024 <= 227 * 1024 ? GDN_PREFILL_SPLIT_STAGES : 2;
template <int BV>
using ScanSplitSmem = ScanSplitSmemOf<BV, kStagesThatFit<ScanSplitSmemOf, BV>>;
template <int BV>
constexpr size_t kScanSplitSmemBytes = sizeof(ScanSplitSmem<BV>) + 1024;
static_assert(kScanSplitSmemBytes<64> <= 227 * 1024, "the split scan's buffers do not fit an SM");

// One CTA's work in the split scan: item `item` = (rank * 8 + head) * (128 / BV) + slice, the plain
// kernel's blockIdx.x (chunk_scan_split_mixed_kernel maps its CTAs onto items of two widths). With
// known_seq >= 0 the caller has already found the rank's sequence (no lookup round here).
template <int BV>
__device__ __forceinline__ void split_scan_item(int64_t item, const __nv_bfloat16* __restrict__ q, const float* __restrict__ state,
                                                const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale,
                                                int64_t total, bool rank_by_length, const ChunkWorkspace& ws,
                                                __nv_bfloat16* __restrict__ output, float* __restrict__ new_state,
                                                int64_t known_seq = -1) {
  static_assert(kScanThreads == 2 * kSplitGroup, "four state warps and four output warps");
  // Every warp covers all BV columns of its rows, so any BV that is a multiple of 16 works (the
  // two-warps-per-row-tile split of chunk_scan_kernel needs 32).
  static_assert(BV % 16 == 0 && kD % BV == 0, "value slices of 16, 32, 64 or 128 columns");
  constexpr int kSlicesPerHead = kD / BV;
  constexpr int kNT = BV / 8;
  constexpr bool kWg = kScanWgmma && BV >= GDN_PREFILL_SCAN_WGMMA_MIN_BV;  // this width's products on wgmma
  constexpr int kSplitStages = ScanSplitSmem<BV>::kStages;
  // Chunks the operand loads run ahead: stages - 1 with bulk copies; one with cp.async (its waits
  // count one commit group in flight).
  constexpr int kAhead = kScanBulk ? kSplitStages - 1 : 1;
  // The loader warp exists in every build (the host launches kSplitThreads) but loads only where
  // bulk copies do (sm_90 and up); elsewhere it leaves at once.
  constexpr bool kLoaderWarp = kScanBulk && kSplitLoaderWarp;
  constexpr bool kParts = kLoaderWarp && GDN_PREFILL_SPLIT_LOADER_PARTS != 0 && (GDN_PREFILL_DIAG_SKIP_LOADS & 1) == 0;
  constexpr bool kOutputRefills = !kLoaderWarp && kScanBulk && GDN_PREFILL_SPLIT_REFILL != 0 && kSplitStages >= 3;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  ScanSplitSmem<BV>& sm = *reinterpret_cast<ScanSplitSmem<BV>*>(align_smem_1024(smem_raw));
  // Releasing chunk i's stage: with the loader warp every state and output thread arrives on the
  // stage's "freed" mbarrier (the loader waits on its phase, as a copy-engine pipeline's producer
  // does; a named barrier arrive -> sync hand-over to the copies was flagged by racecheck), without
  // it the output warps arrive on a named barrier state warp 0's refill waits on.
  const auto release_stage = [&](int i) {
    if constexpr (kLoaderWarp) {
      mbar_arrive(&sm.freed[i % kSplitStages]);
    } else {
      named_arrive(kBarSplitStageFree + i % kSplitStages, kScanThreads);
    }
  };
  const int slice = static_cast<int>(item % kSlicesPerHead);
  const int h = static_cast<int>((item / kSlicesPerHead) % kNumVHeads);
  const int hk = h / (kNumVHeads / kNumQKHeads);
  const int v0 = slice * BV;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2;
  // Longest sequence first with rank_by_length (stage 0's W tile holds cu_seqlens meanwhile: no copy
  // into the stages starts before this returns).
  const int64_t n = known_seq >= 0 ? known_seq
                                    : sequence_of_rank<kSplitThreads, kScanRankMax>(item / (kSlicesPerHead * kNumVHeads),
                                                                                    rank_by_length, cu_seqlens, num_seqs,
                                                                                    reinterpret_cast<long long*>(sm.st[0].w),
                                                                                    &sm.seq, tid);

  const int64_t bos = cu_seqlens[n];
  const int64_t eos = cu_seqlens[n + 1];
  float* out_state = new_state + ((n * kNumVHeads + h) * kD + v0) * kD;  // rows v0.. of [v][k]
  if (eos <= bos) {
    // The reference skips empty sequences: their final state stays zero.
    zero_state_rows<BV, kSplitThreads>(out_state, tid);
    zero_rows_outside_sequences<BV, kSplitThreads>(output, h, v0, n, num_seqs, bos, eos, total, tid);
    return;
  }
  const int nchunks = static_cast<int>((eos - bos + kC - 1) / kC);
  const int64_t first_slot = bos / kC + n;
  const auto chunk_len = [&](int i) { return chunk_length(bos, eos, i); };

  if constexpr (kScanBulk) {
    if (tid == 0) {
      for (int j = 0; j < kSplitStages; ++j) {
        mbar_init(&sm.landed[j], 1);
        if (kLoaderWarp) mbar_init(&sm.freed[j], kScanThreads);
        if (kParts) {
          mbar_init(&sm.landed_wu[j], 1);
          mbar_init(&sm.landed_kd[j], 1);
          mbar_init(&sm.freed_wu[j], kSplitGroup);
          mbar_init(&sm.freed_kd[j], kSplitGroup);
        }
      }
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
    if constexpr (kScanBulk) {
      wait_chunk_prepped_warp(ws, head_slot, lane);  // GDN_PREFILL_CHUNK_FLAGS
      uint64_t* bar = &sm.landed[i % kSplitStages];
      if constexpr ((GDN_PREFILL_DIAG_SKIP_LOADS & 1) != 0) {
        if (i >= kSplitStages) {
          if (lane == 0) mbar_arrive_expect_tx(bar, kC * 4);
          __syncwarp();
          if (lane == 4) bulk_copy_to_smem(st.cum, ws.cum + head_slot * kC, kC * 4, bar);
          return;
        }
      }
      if constexpr (kParts) {
        // Each part after its readers released the chunk this stage held (phase i / stages - 1).
        constexpr uint32_t kTileBytes = kWsTileWK * 2;
        constexpr uint32_t kUBytes = kSplitUBlocked ? kC * BV * 2 : kTileBytes;
        const __nv_bfloat16* u_src = ws.u + head_slot * kWsTileU + (kSplitUBlocked ? (v0 / 16) * (kC * 16) : 0);
        const int s = i % kSplitStages;
        const bool refill = i >= kSplitStages;
        const uint32_t parity = static_cast<uint32_t>(i / kSplitStages - 1) & 1u;
        if (refill) mbar_wait(&sm.freed_wu[s], parity);
        if (lane == 0) mbar_arrive_expect_tx(&sm.landed_wu[s], kTileBytes + kUBytes);
        __syncwarp();
        if (lane == 0) bulk_copy_to_smem(st.w, ws.w + head_slot * kWsTileWK, kTileBytes, &sm.landed_wu[s]);
        if (lane == 1) bulk_copy_to_smem(st.u, u_src, kUBytes, &sm.landed_wu[s]);
        if (refill) mbar_wait(&sm.freed_kd[s], parity);
        if (lane == 0) mbar_arrive_expect_tx(&sm.landed_kd[s], kTileBytes);
        __syncwarp();
        if (lane == 0) bulk_copy_to_smem(st.kd, ws.kd + head_slot * kWsTileWK, kTileBytes, &sm.landed_kd[s]);
        if (refill) mbar_wait(&sm.freed[s], parity);
        if (lane == 0) mbar_arrive_expect_tx(bar, kWsTileP * 2 + kC * 4);
        __syncwarp();
        if (lane == 0) bulk_copy_to_smem(st.p, ws.p + head_slot * kWsTileP, kWsTileP * 2, bar);
        if (lane == 1) bulk_copy_to_smem(st.cum, ws.cum + head_slot * kC, kC * 4, bar);
        return;
      }
      issue_stage_copies<BV>(st, bar, ws, head_slot, v0, lane);
      return;
    }
    load_scan_operands<kSplitGroup, BV, kSplitUBlocked>(st.w, st.kd, st.q, kSplitUBlocked ? st.u : st.u + v0, kLdK, st.p,
                                                        st.cum, ws, head_slot, q, c0, len, hk, v0, tid);
  };

  if (warp >= 8) {
    // ============================================ loader warp ============================================
    if constexpr (kLoaderWarp) {
      if (ws.prepped == nullptr) afg::pdl_wait();
      for (int j = 0; j < nchunks; ++j) {
        // The stage held chunk j - stages: both roles have released it (that release completed phase
        // j / stages - 1 of its "freed" barrier).
        // (With GDN_PREFILL_SPLIT_LOADER_PARTS load_chunk waits for each part's release itself.)
        if (!kParts && j >= kSplitStages) {
          mbar_wait(&sm.freed[j % kSplitStages], static_cast<uint32_t>(j / kSplitStages - 1) & 1u);
        }
        load_chunk(j);
      }
    }
    return;
  }
  if (warp < 4) {
    // ============================================ state warps ============================================
    const int sw = warp;
    // S [128 x BV]: warp sw owns rows d in [32 sw, 32 sw + 32) (two m16 tiles), every column. The
    // initial state does not depend on the prep pass: it loads before the wait.
    // With GDN_PREFILL_SCAN_WGMMA rows d0.. and d0 + 64.. instead (one m16 tile of each m64 block).
    constexpr int kMtStride = kWg ? 64 : 16;
    const int d0 = kWg ? sw * 16 : sw * 32;
    float s_acc[2][kNT][4];
    load_state_tile<kNT, kMtStride>(s_acc, state != nullptr ? state + ((n * kNumVHeads + h) * kD + v0) * kD : nullptr, d0,
                                    lane);
    // With chunk flags (bulk loads only) each chunk's loader waits for that chunk's prep instead.
    if constexpr (!kLoaderWarp) {
      if (ws.prepped == nullptr) afg::pdl_wait();
      if (!kScanBulk || sw == 0) {
        for (int j = 0; j < kAhead && j < nchunks; ++j) load_chunk(j);
      }
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
      if (!kLoaderWarp && ahead < nchunks && (!kOutputRefills || ahead == kSplitStages - 1)) {
        if (ahead >= kSplitStages) named_sync(kBarSplitStageFree + ahead % kSplitStages, kScanThreads);
        if (!kScanBulk || sw == 0) load_chunk(ahead);
      }
      // The S copy and U' buffers of chunk i held chunk i-2: wait until the output warps are done.
      if (i >= 2) named_sync(kBarSplitBufFree + b, kScanThreads);
      chain_mark(i, kChainBufferFree);
      __nv_bfloat16* s_copy = sm.s[b];
      __nv_bfloat16* up = sm.up[b];
      split_copy_state<BV, kWg>(s_copy, s_acc, d0, lane);
      // Chunk i's operands have landed: its copies completed the stage barrier's phase i / 2, or its
      // cp.async group is done when at most chunk i+1's is still in flight.
      [[maybe_unused]] const uint32_t phase = static_cast<uint32_t>(i / kSplitStages) & 1u;
      if constexpr (kParts) {
        mbar_wait(&sm.landed_wu[i % kSplitStages], phase);  // W and U: the first product's
      } else if constexpr (kScanBulk) {
        mbar_wait(&sm.landed[i % kSplitStages], phase);
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
        split_w_times_s<BV, kWg>(wsa, st, s_copy, m0, lane);
        chain_mark(i, kChainWS, __float_as_uint(wsa[0][0]));
        split_store_pseudo_values<BV, kWg>(up, st, v0, wsa, m0, lane);
      }
      // W and U are read (every state thread is past its U' stores): the loader may refill them.
      if (kParts && i + kSplitStages < nchunks) mbar_arrive(&sm.freed_wu[i % kSplitStages]);
      named_sync(kBarSplitState, kSplitGroup);
      named_arrive(kBarSplitReady + b, kScanThreads);  // chunk i's S copy, U' and stage for the output
      chain_mark(i, kChainUPrime);
      if constexpr (kParts) {
        mbar_wait(&sm.landed_kd[i % kSplitStages], phase);  // Kd
        mbar_wait(&sm.landed[i % kSplitStages], phase);     // cum (and P, the output's)
      }

      // S = G_C S + Kd^T U'
      split_update_state<BV, kWg>(s_acc, st, up, d0, lane);
      // The loader may refill this chunk's stage once the output warps release it too.
      if (kParts && i + kSplitStages < nchunks) mbar_arrive(&sm.freed_kd[i % kSplitStages]);
      if (kLoaderWarp && i + kSplitStages < nchunks) release_stage(i);
      chain_mark(i, kChainUpdated, __float_as_uint(s_acc[0][0][0]));
    }
    // Final state straight to global memory (four 32-byte runs per store instruction).
    store_state_tile<kNT, kMtStride>(out_state, s_acc, d0, lane);
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
    split_output_products<BV, kWg>(qs, pu, st, sm.s[b], sm.up[b], m0, lane);
    chain_mark(i, kChainOutProducts, __float_as_uint(qs[0][0]) ^ __float_as_uint(pu[0][0]));
    const float g_lo = expf(st.cum[m0 + g]);
    const float g_hi = expf(st.cum[m0 + g + 8]);
    // The buffers and the stage are no longer read: the state warps may reuse them for chunk i+2
    // (buffers) and chunk i + stages (stage); each arrival is awaited exactly once.
    if (i + 2 < nchunks) named_arrive(kBarSplitBufFree + b, kScanThreads);
    if (!kOutputRefills && i + kSplitStages < nchunks) release_stage(i);
    if constexpr ((GDN_PREFILL_DIAG_SKIP_LOADS & 4) == 0) {
      store_output_tile(output, c0, len, m0, h, v0, scale, g_lo, g_hi, qs, pu, lane);
    } else {
      store_output_tile_folded(output, c0, len, m0, h, v0, g_lo, g_hi, qs, pu, lane);
    }
    chain_mark(i, kChainOutStored);
  }
}

template <int BV>
__global__ void __launch_bounds__(kSplitThreads, 1)
chunk_scan_split_kernel(const __nv_bfloat16* __restrict__ q, const float* __restrict__ state,
                        const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                        bool rank_by_length, ChunkWorkspace ws, __nv_bfloat16* __restrict__ output,
                        float* __restrict__ new_state) {
  split_scan_item<BV>(blockIdx.x, q, state, cu_seqlens, num_seqs, scale, total, rank_by_length, ws, output, new_state);
}

// @tunable GDN_PREFILL_SCAN_MIXED: 0, 1, 2 (default 1) when GDN_PREFILL_PLAN_NARROW_LONG=1
// 1: the three-sequence calls the plan gives 16-column slices (GDN_PREFILL_PLAN_NARROW_LONG) run
// chunk_scan_split_mixed_kernel: its CTAs read the sequences' chunk counts (a >= b >= c, longest
// first) and, where the cost model below says so, run the longest sequence in 16-column slices (64
// CTAs) and the other two in 32-column slices (32 CTAs each): 128 CTAs, one wave on 132 SMs, where
// 16 columns throughout take 192 and the third sequence's CTAs wait for the second's SMs. Else the
// 16-column items as before. Why: 1800 / 3 (chunks 13, 8, 8) is the middle band's worst against FLA
// (1.95, session 27 call 4): its scan adds ~20.5 us after the prep, ~16 steps of a 16-column slice
// (~0.95 us a step), where its longest chain is 13. Cost model, in 16-column steps: 16 columns
// throughout ~max(a, b + c), mixed ~max(a, b * GDN_PREFILL_SCAN_MIXED_T32_PCT / 100) (a 32-column step
// on wgmma ~2700 cycles against ~1870 for 16 columns on mma.sync: session 24's chain timelines).
// Predicted: 1800 / 3 (aaa378be) 33.3 -> ~30.5 us, 2857 / 3 (22, 14, 10) 49.3 -> ~47.5; the other
// three-sequence calls unchanged (the model keeps them at 16 columns: 13 / 12 / 4, 18 / 18 / 2, ...).
// Measured (session 27, H200, two rounds each). First build (call 5): 1800 / 3 33.0 -> 29.1 us, 2857 / 3
// 49.2 -> 45.6, but the calls the model left at 16 columns +1.1..+1.6 us (1800 / 3 c2bb4f66 32.6 ->
// 34.2): the plan's cu_seqlens loads came before the scan's own lookup round, one more dependent
// round trip. Since (call 6) the plan's loads stand in for that lookup (split_scan_item's known_seq):
// aaa378be 33.2 -> 29.6, a87ded8a 49.3 -> 45.3, c2bb4f66 32.7 / 32.9, e44ba4d3 34.1 / 34.1, a01a3f93
// 42.4 / 41.6, e286a4f4 31.4 / 32.3; 2 (this kernel's 16-column path with the plain lookup) matched
// the default everywhere (33.2, 49.6, 32.6, 33.8, 42.7, 31.4). racecheck, synccheck, memcheck clean on
// aaa378be (call 5). Default.
#ifndef GDN_PREFILL_SCAN_MIXED
#define GDN_PREFILL_SCAN_MIXED 1
#endif
// @tunable GDN_PREFILL_SCAN_MIXED_T32_PCT: 130, 145, 160 (default 145) when GDN_PREFILL_SCAN_MIXED=1
// A 32-column step's cost in percent of a 16-column step's, for the mixed plan's choice.
#ifndef GDN_PREFILL_SCAN_MIXED_T32_PCT
#define GDN_PREFILL_SCAN_MIXED_T32_PCT 145
#endif
// The CTAs of the mixed plan: 64 for the longest sequence, 32 for each other one (3 sequences).
constexpr int64_t kMixedWideSeqs = 3;
constexpr int64_t kMixedCtas = kNumVHeads * (kD / 16) + (kMixedWideSeqs - 1) * kNumVHeads * (kD / 32);
// The three sequences of a mixed-plan call, longest first (ties by lower index, as sequence_of_rank
// orders them; in index order without rank_by_length), and whether the mixed plan's one wave is
// expected to beat 16 columns throughout. Every thread of every CTA computes the same answer from
// the same four cu_seqlens loads, which stand in for the split scan's own lookup round.
struct MixedPlan {
  int64_t seq_of_rank[kMixedWideSeqs];
  bool mixed;
};
__device__ __forceinline__ MixedPlan mixed_plan(const int64_t* cu_seqlens, bool rank_by_length) {
  long long cu[kMixedWideSeqs + 1];
#pragma unroll
  for (int i = 0; i <= kMixedWideSeqs; ++i) cu[i] = cu_seqlens[i];
  MixedPlan plan;
  int64_t chunks[kMixedWideSeqs];
#pragma unroll
  for (int i = 0; i < kMixedWideSeqs; ++i) {
    const int64_t rank = rank_by_length ? length_rank(cu, kMixedWideSeqs, i) : i;
    const long long len = cu[i + 1] - cu[i];
    plan.seq_of_rank[rank] = i;
    chunks[rank] = len > 0 ? (len + kC - 1) / kC : 0;
  }
  // Cost in 16-column steps x 100 (ranks 0-2 longest first only with rank_by_length; without it the
  // mixed plan is not taken: its one wave needs the longest sequence at 16 columns).
  const auto larger = [](int64_t x, int64_t y) { return x > y ? x : y; };
  const int64_t narrow_cost = 100 * larger(chunks[0], chunks[1] + chunks[2]);
  const int64_t mixed_cost = larger(100 * chunks[0], chunks[1] * GDN_PREFILL_SCAN_MIXED_T32_PCT);
  plan.mixed = rank_by_length && GDN_PREFILL_SCAN_MIXED == 1 && mixed_cost < narrow_cost;
  return plan;
}

// GDN_PREFILL_SCAN_MIXED: the split scan of three sequences over 192 CTAs (16 columns' grid). With the
// mixed plan the first 64 CTAs leave at once (the block scheduler hands them out first, so their SMs
// free within microseconds), the next 64 take the longest sequence's 16-column items and the last 64
// the other two sequences' 32-column items (ranks 1 and 2); otherwise every CTA its 16-column item.
// Shared memory: the larger of the two widths' (the host's launch).
__global__ void __launch_bounds__(kSplitThreads, 1)
chunk_scan_split_mixed_kernel(const __nv_bfloat16* __restrict__ q, const float* __restrict__ state,
                              const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                              bool rank_by_length, ChunkWorkspace ws, __nv_bfloat16* __restrict__ output,
                              float* __restrict__ new_state) {
  constexpr int64_t kNarrowItemsPerSeq = kNumVHeads * (kD / 16), kWideItemsPerSeq = kNumVHeads * (kD / 32);
  constexpr int64_t kNarrowCtas = kMixedWideSeqs * kNarrowItemsPerSeq;
  const int64_t cta = blockIdx.x;
  // GDN_PREFILL_SCAN_MIXED=2 (a diagnostic): this kernel's 16-column path with the split scan's own
  // lookup, to tell this kernel's code from its plan's loads.
  if (GDN_PREFILL_SCAN_MIXED == 2 || num_seqs != kMixedWideSeqs || gridDim.x != kNarrowCtas) {
    split_scan_item<16>(cta, q, state, cu_seqlens, num_seqs, scale, total, rank_by_length, ws, output, new_state);
    return;
  }
  const MixedPlan plan = mixed_plan(cu_seqlens, rank_by_length);
  if (!plan.mixed) {
    split_scan_item<16>(cta, q, state, cu_seqlens, num_seqs, scale, total, rank_by_length, ws, output, new_state,
                        plan.seq_of_rank[cta / kNarrowItemsPerSeq]);
    return;
  }
  const int64_t idle = kNarrowCtas - kMixedCtas;
  if (cta < idle) return;
  const int64_t index = cta - idle;
  if (index < kNarrowItemsPerSeq) {
    split_scan_item<16>(index, q, state, cu_seqlens, num_seqs, scale, total, true, ws, output, new_state, plan.seq_of_rank[0]);
  } else {
    // 32-column items of ranks 1 and 2: item numbers from rank 1's first.
    const int64_t item = kWideItemsPerSeq + (index - kNarrowItemsPerSeq);
    split_scan_item<32>(item, q, state, cu_seqlens, num_seqs, scale, total, true, ws, output, new_state,
                        plan.seq_of_rank[item / kWideItemsPerSeq]);
  }
}
