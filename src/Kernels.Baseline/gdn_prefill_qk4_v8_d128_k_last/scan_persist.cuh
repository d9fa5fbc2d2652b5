// scan_persist.cuh: the split scan as a persistent grid (GDN_PREFILL_SCAN_PERSISTENT, slices of
// GDN_PREFILL_PERSIST_MIN_BV columns or more): chunk_scan_persist_kernel<BV>.
//
// Why: at 64 columns a scan CTA spends ~4.75 us of setup (its first copies, the output warps' last
// chunk, the state store) against ~1.65 us a chunk, and the 8192 calls' sequences are ~4 chunks; every
// CTA pays the setup with its SM otherwise idle (one CTA an SM: shared memory). Here one CTA an SM
// takes work items (sequence, head, slice) longest first from a queue and runs them back to back:
// the loader warp walks a ring of units (one chunk of one item each) across item boundaries, so the
// next item's first copies land under this item's last chunks, and the output warps' last chunk of an
// item runs beside the state warps' first chunk of the next.
// Model (scripts/dev/gdn_scan_model.py --persistent-residual-us, session 24's calibration): 8192 / 39's
// scan after the prep 53.5 -> 38-47 us for 1-3 us left per later item, 8192 / 57 69.3 -> 43-57.
//
// The pieces (each as in chunk_scan_split_kernel unless said):
// - Items: rank r (longest first, or the sequence order), head, slice; the first gridDim.x items by
//   blockIdx, the next ones from a counter in the workspace (ws.items) that the prep zeroes; the loader
//   takes it after griddepcontrol.wait. A static round-robin over the ranked list would leave CTAs up
//   to (longest - shortest) chunks apart (the model: the gain gone).
// - Units: the loader writes each stage's PersistUnit before the stage's arrive (a plain arrive for a
//   unit without copies: an empty sequence, or the end), so a reader that waited for the stage's
//   landing reads it.
// - State warps: at an item's first unit S from the item's initial state, at its last unit S stored.
//   At 64 columns the loader bulk-copies each item's initial state into a shared buffer when it
//   starts the item (GDN_PREFILL_PERSIST_SMEM_STATE); at 32 the state warps load the next item's into
//   a second register tile at this item's last unit (GDN_PREFILL_PERSIST_EARLY_STATE); otherwise the
//   loader prefetches its lines into L2.
// - Output warps: the output rows outside the sequences once per item; Q one unit ahead within an
//   item, at an item's first unit after the stage lands.
// - "ready" and "buffer free" count data units (ub), the stages every unit (u); the state warps
//   drain the output warps' last two "buffer free" arrivals before they leave.
// Included inside kernel.cu's anonymous namespace after scan_split.cuh.

// @tunable GDN_PREFILL_SCAN_PERSISTENT: 0, 1 (default 1) when GDN_PREFILL_SPLIT_LOADER_WARP=1
// 1: scans of GDN_PREFILL_PERSIST_MIN_BV columns or more whose items (sequence, head, slice) outnumber
// the SMs, of sequences averaging at most GDN_PREFILL_PERSIST_MAX_AVG_T tokens,
// run this persistent kernel on one CTA an SM. Session 25 (H200): 8192 / 32-57 -3..-12 us a call
// (57 sequences 125.1 -> 113.4; call 3), 4124 / 15 64.5 -> 60.9 and 3999 / 13 62.5 -> 60.6 at 32
// columns (call 4). Sanitizers clean (calls 3 and 5).
#ifndef GDN_PREFILL_SCAN_PERSISTENT
#define GDN_PREFILL_SCAN_PERSISTENT 1
#endif
// @tunable GDN_PREFILL_PERSIST_MIN_BV: 32, 64 (default 32) when GDN_PREFILL_SCAN_PERSISTENT=1
// The narrowest slice width the persistent scan takes (16-column plans fit one wave by construction).
#ifndef GDN_PREFILL_PERSIST_MIN_BV
#define GDN_PREFILL_PERSIST_MIN_BV 32
#endif
// @tunable GDN_PREFILL_PERSIST_MAX_AVG_T: 300, 315, 1000000 (default 315) when GDN_PREFILL_SCAN_PERSISTENT=1
// Persistent only when T <= this * N. With few long sequences the longest chain bounds the scan and
// the persistent grid measured slower: 8192 / 20 and 25 (averages 410 and 328 tokens) +1.2..+2.4 us
// in calls 3-4; 3999 / 13 (308) gained 1.9 us and 8192 / 32 (256) 2.9. The bound sits between the
// two measured sides, 20 tokens apart: a workload averaging 300-330 tokens is a guess either way.
#ifndef GDN_PREFILL_PERSIST_MAX_AVG_T
#define GDN_PREFILL_PERSIST_MAX_AVG_T 315
#endif
// @diagnostic GDN_PREFILL_DIAG_PERSIST_CTAS: 0, 8 (default 0)
// 0: the persistent grid is min(items, SMs). N > 0: at most N CTAs, so that a small call (fast under
// compute-sanitizer) still takes most of its items from the counter, the path only calls whose items
// outnumber the SMs reach otherwise (racecheck timed out on 4124 / 15 in session 25's call 1).
#ifndef GDN_PREFILL_DIAG_PERSIST_CTAS
#define GDN_PREFILL_DIAG_PERSIST_CTAS 0
#endif
// Tried in session 25 (call 6, H200; commit 88cfcdc has it): the loader copying each unit's Q rows
// as 64 bulk copies of 256 bytes with the stage instead of the output warps' cp.async one unit ahead:
// racecheck clean, but 4124 / 15 61.5 -> 83.3 us, 8192 / 39 104.4 -> 113.8, 8192 / 57 114.0 -> 120.9:
// ~1.1 us more a unit, as if the bulk-copy unit spent ~35 cycles on each small copy. A Q tile for the
// loader takes one tensor-map copy (cp.async.bulk.tensor, Q's rows 1 KB apart) and a swizzled layout
// for the output warps' ldmatrix.
// @tunable GDN_PREFILL_PERSIST_NEXT_Q: 0, 1 (default 1) when GDN_PREFILL_SCAN_PERSISTENT=1
// 1: an item's last unit carries the next item's bounds and head (the loader claims the next item
// before it publishes that unit), so the output warps ask for the next item's first Q one unit ahead
// as they do inside an item, instead of after the next item's first stage lands. Session 26 (H200,
// calls 1-2): sanitizers clean; the first unit's output step 5495 -> 4157 cycles (chain probe,
// 8192 / 32), but the calls even (the state warps bound the chain): stays 0. Session 28 (call 12, after
// the state side's boundary got shorter, PERSIST_SMEM_STATE): the scan kernel -0.7..-1.3 us on 8192 / 39,
// 48, 56, 57 (the calls 88.6 / 88.5, 93.8 / 92.6, 97.6 / 97.7, 96.6 / 94.9 us), 4124 / 15 even. Session 29
// (H100, call 1, two rounds): 4124 / 15 59.2 -> 58.3 us, 8192 / 39 99.9 -> 99.2, / 48 104.5 -> 103.8, / 56
// 110.3 -> 109.7, / 57 109.9 -> 109.5; 100/100; racecheck, synccheck, memcheck clean (H200, call 2, 959 / 4,
// 64 persistent columns): the default since.
#ifndef GDN_PREFILL_PERSIST_NEXT_Q
#define GDN_PREFILL_PERSIST_NEXT_Q 1
#endif
constexpr bool kPersistNextQ = GDN_PREFILL_PERSIST_NEXT_Q != 0;
// Tried in session 26 (call 3, H200, two rounds; commit 7d20877 has both):
// - the state swap at an item's last unit (its final S stored and the next item's initial S loaded
//   into the same registers element by element): the next item's first unit lost ~730 cycles of
//   state load, but the last unit's store grew ~2200 (1517 -> 3702 cycles, chain probe at 8192 / 32):
//   8192 / 39 103.3 -> 118.5 us, 8192 / 57 114.4 -> 128.1;
// - the item counter's atomic asked one unit before the last (its value read at the last unit):
//   even to slower (8192 / 39 103.3 -> 104.1, 8192 / 57 114.4 -> 116.5, 4124 / 15 61.4 -> 60.8).
// What they aimed at (chain probe, session 26 call 2): at an item boundary the state store takes
// ~1400-1600 cycles of the last unit, the landed wait + state load ~1300-1700 of the first.
// @tunable GDN_PREFILL_PERSIST_EARLY_STATE: 0, 1 (default 1) when GDN_PREFILL_SCAN_PERSISTENT=1
// 1: an item's last unit names the next item (sequence, head, first column), and the state warps
// load that item's initial state into a second register tile as soon as they read the last unit,
// so the loads land under the last unit's products instead of after its state store at the next
// item's first unit. One CTA an SM with 288 threads leaves ~224 registers a thread, room for the
// second tile (64 at 64 columns). Why: an item boundary costs ~3000-3500 cycles, of which the first
// unit's landed wait and state load are ~1300-1700 (session 26, chain probe), and the 8192 calls
// with many short sequences have ~7 boundaries a CTA (57 sequences: 912 items on 132 CTAs). Not the
// state swap of session 26, whose loads into the registers being stored waited behind the stores.
// Predicted: ~700-1000 cycles a boundary, 8192 / 57 and 48 -2..-3 us, 4124 / 15 (32 columns) ~-1.
// Measured (session 28, call 6, H200, two rounds): at 64 columns the second tile spilled 448 bytes
// (8192 / 39 91.0 -> 160.3 us); at 32 columns no spill, 4124 / 15 55.1 -> 54.6 and 3999 / 13 55.1 ->
// 54.6 (the scan kernel -1.0 us each). So 32 columns or fewer only; 64 columns: PERSIST_SMEM_STATE.
// Call 7 (32 columns only now, two rounds): 4124 / 15 55.4 -> 54.2, 3999 / 13 54.7 -> 54.7; sanitizers
// clean (959 / 4 at 32 persistent columns, DIAG_PERSIST_CTAS=8). Default.
#ifndef GDN_PREFILL_PERSIST_EARLY_STATE
#define GDN_PREFILL_PERSIST_EARLY_STATE 1
#endif
template <int BV>
constexpr bool kPersistEarlyState = GDN_PREFILL_PERSIST_EARLY_STATE != 0 && BV <= 32;
// @tunable GDN_PREFILL_PERSIST_SMEM_STATE: 0, 1 (default 1) when GDN_PREFILL_SCAN_PERSISTENT=1
// 1 (64 columns, with a state): the loader warp copies each item's initial state slice (32 KB, one
// contiguous block of [V][K]) into a shared-memory buffer with one bulk copy when it starts the item
// (two units ahead of the state warps), instead of the L2 prefetch; the state warps read it from
// there at the item's first unit. One buffer (the 32 KB the two stages leave free): the loader waits
// until the previous item's state was read before the next copy. Why: the 64-column scan cannot hold
// a second register tile (PERSIST_EARLY_STATE spilled), and a first unit's state load from L2 is
// ~1300-1700 cycles with its landed wait (session 26). Predicted: ~800-1000 cycles less a boundary
// (its reads hit 4-way bank conflicts, ~300 cycles), 8192 / 57 and 48 -2..-3 us, 8192 / 39 -1..-2.
// Measured (session 28, call 7, H200, two rounds; no spills): 8192 / 39 91.1 -> 87.7 us, 8192 / 48 98.8
// -> 93.0, 8192 / 56 102.0 -> 97.0, 8192 / 57 101.7 -> 95.7 (the scan kernel -3.2..-6.3 us: twice the
// prediction); racecheck / synccheck / memcheck clean (959 / 4 at 64 persistent columns,
// DIAG_PERSIST_CTAS=8). Default.
#ifndef GDN_PREFILL_PERSIST_SMEM_STATE
#define GDN_PREFILL_PERSIST_SMEM_STATE 1
#endif
// Up to this many sequences the ranking's table and cu_seqlens live in shared memory and items go
// longest first; above it (no room beside the stages) items go in sequence order and the loader reads
// each item's bounds from cu_seqlens in global memory (one L2 round trip an item, under the previous
// item's last units). Before session 35 the host sent those calls to the split scan, a CTA per item:
// 8192 / 200 335 us and 300 / 150 309 us on the H200 against 133 us for 8192 / 128
// (scripts/device/edge-check.sh).
constexpr int kPersistMaxSeqs = 128;
// Compiled only where it can run: with GDN_PREFILL_SCAN_PERSISTENT and the split scan's bulk copies
// and loader warp (its nine warps; sm_90 on). A build without them has no persistent kernel.
#define GDN_PREFILL_PERSIST_BUILT \
  (GDN_PREFILL_SCAN_PERSISTENT && GDN_PREFILL_SCAN_SPLIT && GDN_PREFILL_SCAN_BULK && GDN_PREFILL_SPLIT_LOADER_WARP)
#if GDN_PREFILL_PERSIST_BUILT

// One chunk of one item, as the loader hands it to the readers through the stage it loaded.
struct PersistUnit {
  long long bos, eos;  // the item's sequence
  int n, h, v0;        // sequence, value head, first value column
  int chunk;           // chunk of the sequence; kPersistEmpty: the sequence is empty; kPersistEnd: no more work
  int last;            // the item's last unit
  // GDN_PREFILL_PERSIST_NEXT_Q / _EARLY_STATE, in an item's last unit: the next item's sequence bounds,
  // value head, sequence and first column; next_h = -1 when the next unit has no rows (no next item,
  // or an empty sequence).
  long long next_bos, next_eos;
  int next_h, next_n, next_v0;

  // The next item's state slice (next_h >= 0).
  __device__ __forceinline__ int64_t next_state_offset() const { return slice_offset(next_n, next_h, next_v0); }

  // The item's chunks (0 for an empty sequence).
  __device__ __forceinline__ int chunks() const { return eos > bos ? static_cast<int>((eos - bos + kC - 1) / kC) : 0; }
  // Where a state slice starts in [N][H][V][K]: rows v0.. of sequence n, head h.
  static __device__ __forceinline__ int64_t slice_offset(int n, int h, int v0) { return ((n * kNumVHeads + h) * kD + v0) * kD; }
  // The item's state slice.
  __device__ __forceinline__ int64_t state_offset() const { return slice_offset(n, h, v0); }
};
constexpr int kPersistEmpty = -1;
constexpr int kPersistEnd = -2;

// GDN_PREFILL_DIAG_CHAIN_TIMES: the chain marks (chain_mark) of CTA 0 indexed by unit, plus each
// recorded unit's kind for scripts/device/probes/gdn_chain_timeline_probe.cu: bit 2 recorded, bit 0
// an item's first unit (its state loaded: kChainStateLoaded), bit 1 its last (the state stored after
// kChainUpdated).
constexpr int kChainStateLoaded = 7;
static_assert(kChainStateLoaded < kChainDiagMarks, "a mark slot of its own");
#if GDN_PREFILL_DIAG_CHAIN_TIMES
__device__ int g_chain_unit_kinds[kChainDiagChunks];
#endif
__device__ __forceinline__ void chain_unit_kind(int u, bool first, bool last) {
#if GDN_PREFILL_DIAG_CHAIN_TIMES
  if (blockIdx.x == 0 && threadIdx.x == 0 && u < kChainDiagChunks) g_chain_unit_kinds[u] = 4 | (first ? 1 : 0) | (last ? 2 : 0);
#else
  (void)u;
  (void)first;
  (void)last;
#endif
}

// StateBuf: with GDN_PREFILL_PERSIST_SMEM_STATE's buffer for an item's initial state.
template <int BV, int Stages, bool StateBuf = false>
struct ScanPersistSmemOf {
  static constexpr int kStages = Stages;
  SplitStage<BV> st[Stages];
  alignas(1024) __nv_bfloat16 s[2][kD * (BV + 8)];  // the S copies, wgmma's K-major layout (or padded rows)
  __nv_bfloat16 up[2][kC * (BV + 8)];               // U'
  uint64_t landed[Stages];                          // the stage's copies (and its unit) landed
  uint64_t freed[Stages];                           // every state and output thread done with it
  PersistUnit unit[Stages];
  // GDN_PREFILL_PERSIST_SMEM_STATE: an item's initial state slice, [BV][K] fp32 (a stand-in elsewhere).
  alignas(128) float s_in[StateBuf ? BV * kD : 4];
  uint64_t s_in_full;   // the slice's bulk copy landed
  uint64_t s_in_empty;  // every state thread has read it
  long long cu[kPersistMaxSeqs + 1];  // cu_seqlens
  int seq_of_rank[kPersistMaxSeqs];   // sequence of each length rank (longest first)
  static_assert(sizeof(s[0]) % 1024 == 0 && sizeof(up[0]) % 1024 == 0, "every S copy and U' buffer starts 1024-byte aligned");
};
template <int BV, int Stages>
using ScanPersistSmemPlain = ScanPersistSmemOf<BV, Stages, false>;
template <int BV>
constexpr int kPersistStages = kStagesThatFit<ScanPersistSmemPlain, BV>;
// GDN_PREFILL_PERSIST_SMEM_STATE where its buffer fits beside the stages the plain layout gets (64
// columns with U in 16-column blocks; not with GDN_PREFILL_U_BLOCKS=0's padded U tiles).
template <int BV>
constexpr bool kPersistSmemState = GDN_PREFILL_PERSIST_SMEM_STATE != 0 && BV == 64 &&
                                   sizeof(ScanPersistSmemOf<BV, kPersistStages<BV>, true>) + 1024 <= 227 * 1024;
template <int BV>
using ScanPersistSmem = ScanPersistSmemOf<BV, kPersistStages<BV>, kPersistSmemState<BV>>;
template <int BV>
constexpr size_t kScanPersistSmemBytes = sizeof(ScanPersistSmem<BV>) + 1024;
static_assert(kScanPersistSmemBytes<64> <= 227 * 1024, "the persistent scan's buffers do not fit an SM");

template <int BV>
__global__ void __launch_bounds__(kSplitThreads, 1)
chunk_scan_persist_kernel(const __nv_bfloat16* __restrict__ q, const float* __restrict__ state,
                          const int64_t* __restrict__ cu_seqlens, int64_t num_seqs, float scale, int64_t total,
                          bool rank_by_length, ChunkWorkspace ws, __nv_bfloat16* __restrict__ output,
                          float* __restrict__ new_state) {
  static_assert(kScanThreads == 2 * kSplitGroup && kSplitThreads == kScanThreads + 32,
                "four state warps, four output warps and the loader warp");
  static_assert(BV % 16 == 0 && kD % BV == 0, "value slices of 16, 32, 64 or 128 columns");
  constexpr int kSlicesPerHead = kD / BV;
  constexpr int kNT = BV / 8;
  constexpr bool kWg = kScanWgmma && BV >= GDN_PREFILL_SCAN_WGMMA_MIN_BV;
  constexpr int kStages = ScanPersistSmem<BV>::kStages;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  ScanPersistSmem<BV>& sm = *reinterpret_cast<ScanPersistSmem<BV>*>(align_smem_1024(smem_raw));
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2;
  const int num_items = static_cast<int>(num_seqs) * kNumVHeads * kSlicesPerHead;

  // The sequences and their ranking, once per CTA, where they fit (kPersistMaxSeqs).
  const bool seqs_in_smem = num_seqs <= kPersistMaxSeqs;
  if (seqs_in_smem) {
    for (int i = tid; i <= num_seqs; i += kSplitThreads) sm.cu[i] = cu_seqlens[i];
  }
  if (tid == 0) {
    for (int j = 0; j < kStages; ++j) {
      mbar_init(&sm.landed[j], 1);
      mbar_init(&sm.freed[j], kScanThreads);
    }
    mbar_init(&sm.s_in_full, 1);
    mbar_init(&sm.s_in_empty, kSplitGroup);
    mbar_init_fence();
  }
  __syncthreads();
  if (seqs_in_smem) {
    for (int n = tid; n < num_seqs; n += kSplitThreads) {
      sm.seq_of_rank[rank_by_length ? length_rank(sm.cu, num_seqs, n) : n] = n;
    }
  }
  __syncthreads();

  if (warp >= 8) {
    // ============================================ loader warp ============================================
    afg::pdl_wait();  // the workspace and the item counter are the prep's
    int item = blockIdx.x;
    int u = 0;  // units handed out
    int state_copies = 0;  // GDN_PREFILL_PERSIST_SMEM_STATE: initial states copied
    // Stage u % stages once its unit u - stages is released (wait_stage); the unit is written
    // (publish), then the arrive (with the copies' byte count, or plain) releases it to the readers.
    const auto wait_stage = [&]() -> int {
      const int s = u % kStages;
      if (u >= kStages) mbar_wait(&sm.freed[s], static_cast<uint32_t>(u / kStages - 1) & 1u);
      return s;
    };
    const auto publish = [&](int s, const PersistUnit& unit) {
      if (lane == 0) sm.unit[s] = unit;
      __syncwarp();
    };
    // Item `it`'s sequence, head and slice (its bounds from cu_seqlens).
    const auto describe_item = [&](int it) -> PersistUnit {
      PersistUnit d{};
      d.h = (it / kSlicesPerHead) % kNumVHeads;
      const int rank = it / (kSlicesPerHead * kNumVHeads);
      d.n = seqs_in_smem ? sm.seq_of_rank[rank] : rank;
      d.v0 = (it % kSlicesPerHead) * BV;
      d.bos = seqs_in_smem ? sm.cu[d.n] : cu_seqlens[d.n];
      d.eos = seqs_in_smem ? sm.cu[d.n + 1] : cu_seqlens[d.n + 1];
      d.next_h = -1;
      return d;
    };
    // The next item from the counter. Taken as late as the copies allow (at this item's last unit,
    // once the stage two units back is free: the readers are one unit from the item's end), so the
    // counter hands items out in the order the CTAs free up, longest first. Session 25's call 2 took
    // it at the item's start: a CTA on the longest chain then held a long item it could start only
    // after its chain, and 8192 / 25 lost 20 us of scan (62.4 against 42.0 unpersisted).
    const auto claim_next_item = [&]() -> int {
      int next = 0;
      if (lane == 0) next = static_cast<int>(gridDim.x) + atomicAdd(ws.items, 1);
      return __shfl_sync(0xffffffffu, next, 0);
    };
    // A unit without copies (an empty sequence, or the end): published and released by a plain arrive.
    const auto hand_over_without_copies = [&](const PersistUnit& unit) {
      const int s = wait_stage();
      publish(s, unit);
      if (lane == 0) mbar_arrive(&sm.landed[s]);
    };
    for (;;) {
      if (item >= num_items) {
        PersistUnit end{};
        end.chunk = kPersistEnd;
        hand_over_without_copies(end);
        break;
      }
      PersistUnit unit = describe_item(item);
      const int nchunks = unit.chunks();
      if (nchunks == 0) {
        unit.chunk = kPersistEmpty;
        unit.last = 1;
        hand_over_without_copies(unit);
        ++u;
        item = claim_next_item();
        continue;
      }
      // The item's initial state: into the shared buffer (GDN_PREFILL_PERSIST_SMEM_STATE) once the
      // previous item's was read, else into L2 for the state warps' loads at its first unit.
      if (kPersistSmemState<BV> && state != nullptr) {
        if (state_copies > 0) mbar_wait(&sm.s_in_empty, static_cast<uint32_t>(state_copies - 1) & 1u);
        if (lane == 0) {
          mbar_arrive_expect_tx(&sm.s_in_full, BV * kD * 4);
          bulk_copy_to_smem(sm.s_in, state + unit.state_offset(), BV * kD * 4, &sm.s_in_full);
        }
        __syncwarp();
        ++state_copies;
      } else if (state != nullptr) {
        const char* rows = reinterpret_cast<const char*>(state + unit.state_offset());
        for (int line = lane; line < BV * kD * 4 / 128; line += 32) {
          asm volatile("prefetch.global.L2 [%0];\n" ::"l"(rows + line * 128));
        }
      }
      const int64_t first_slot = unit.bos / kC + unit.n;
      int next = 0;
      for (int c = 0; c < nchunks; ++c) {
        unit.chunk = c;
        unit.last = c == nchunks - 1;
        const int s = wait_stage();
        if (unit.last) {
          next = claim_next_item();
          if ((kPersistNextQ || kPersistEarlyState<BV>) && next < num_items) {
            const PersistUnit after = describe_item(next);
            if (after.eos > after.bos) {
              unit.next_bos = after.bos;
              unit.next_eos = after.eos;
              unit.next_h = after.h;
              unit.next_n = after.n;
              unit.next_v0 = after.v0;
            }
          }
        }
        publish(s, unit);
        issue_stage_copies<BV>(sm.st[s], &sm.landed[s], ws, static_cast<size_t>(first_slot + c) * kNumVHeads + unit.h,
                               unit.v0, lane);
        ++u;
      }
      item = next;
    }
    return;
  }

  if (warp < 4) {
    // ============================================ state warps ============================================
    const int sw = warp;
    constexpr int kMtStride = kWg ? 64 : 16;
    const int d0 = kWg ? sw * 16 : sw * 32;
    const int m0 = sw * 16;
    float s_acc[2][kNT][4];
    // GDN_PREFILL_PERSIST_EARLY_STATE: the next item's initial state, asked for at this item's last unit.
    [[maybe_unused]] float s_next[2][kNT][4];
    bool next_loaded = false;
    int state_reads = 0;   // GDN_PREFILL_PERSIST_SMEM_STATE: initial states read from the buffer
    int u = 0, ub = 0;     // units seen; data units (the S copy / U' buffers and "ready")
    bool first = true;     // the next unit starts an item
    PersistUnit unit{};
    for (;;) {
      const int s = u % kStages;
      const uint32_t phase = static_cast<uint32_t>(u / kStages) & 1u;
      chain_mark(u, kChainStart);
      if (first) {
        mbar_wait(&sm.landed[s], phase);
        unit = sm.unit[s];
        if (unit.chunk == kPersistEnd) break;
        if (unit.chunk == kPersistEmpty) {
          // The reference skips empty sequences: their final state stays zero.
          zero_state_rows<BV, kSplitGroup>(new_state + unit.state_offset(), tid);
          mbar_arrive(&sm.freed[s]);
          ++u;
          continue;
        }
        if (kPersistEarlyState<BV> && next_loaded) {
          // Asked for at the last item's last unit (this item was its next_*).
#pragma unroll
          for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
              for (int e = 0; e < 4; ++e) s_acc[i][nt][e] = s_next[i][nt][e];
        } else if (kPersistSmemState<BV> && state != nullptr) {
          mbar_wait(&sm.s_in_full, static_cast<uint32_t>(state_reads) & 1u);
          load_state_tile<kNT, kMtStride>(s_acc, sm.s_in, d0, lane);
          mbar_arrive(&sm.s_in_empty);
          ++state_reads;
        } else {
          load_state_tile<kNT, kMtStride>(
              s_acc, state != nullptr ? state + unit.state_offset() : nullptr, d0, lane);
        }
        next_loaded = false;
        chain_mark(u, kChainStateLoaded, __float_as_uint(s_acc[0][0][0]));
      }
      const int b = ub & 1;
      // The S copy and U' buffers of this unit held data unit ub - 2: wait until the output warps are done.
      if (ub >= 2) named_sync(kBarSplitBufFree + b, kScanThreads);
      chain_mark(u, kChainBufferFree);
      __nv_bfloat16* s_copy = sm.s[b];
      __nv_bfloat16* up = sm.up[b];
      split_copy_state<BV, kWg>(s_copy, s_acc, d0, lane);
      if (!first) {
        mbar_wait(&sm.landed[s], phase);
        unit = sm.unit[s];
      }
      // GDN_PREFILL_PERSIST_EARLY_STATE: the next item's state, landing under this unit's products.
      if (kPersistEarlyState<BV> && unit.last && unit.next_h >= 0) {
        load_state_tile<kNT, kMtStride>(s_next, state != nullptr ? state + unit.next_state_offset() : nullptr, d0, lane);
        next_loaded = true;
      }
      chain_unit_kind(u, first, unit.last != 0);
      chain_mark(u, kChainLanded);
      const SplitStage<BV>& st = sm.st[s];
      named_sync(kBarSplitState, kSplitGroup);
      chain_mark(u, kChainSynced);
      {
        float wsa[kNT][4];
        split_w_times_s<BV, kWg>(wsa, st, s_copy, m0, lane);
        chain_mark(u, kChainWS, __float_as_uint(wsa[0][0]));
        split_store_pseudo_values<BV, kWg>(up, st, unit.v0, wsa, m0, lane);
      }
      named_sync(kBarSplitState, kSplitGroup);
      named_arrive(kBarSplitReady + b, kScanThreads);
      chain_mark(u, kChainUPrime);
      split_update_state<BV, kWg>(s_acc, st, up, d0, lane);
      mbar_arrive(&sm.freed[s]);
      chain_mark(u, kChainUpdated, __float_as_uint(s_acc[0][0][0]));
      if (unit.last) {
        store_state_tile<kNT, kMtStride>(new_state + unit.state_offset(), s_acc, d0, lane);
      }
      first = unit.last != 0;
      ++u;
      ++ub;
    }
    // The output warps arrived "buffer free" after each data unit; the last two are still pending.
    for (int k = ub >= 2 ? ub - 2 : 0; k < ub; ++k) named_sync(kBarSplitBufFree + (k & 1), kScanThreads);
    return;
  }

  // ============================================ output warps ============================================
  const int otid = tid - kSplitGroup, ow = warp - 4;
  const int m0 = ow * 16;
  // Chunk `chunk` of the sequence [bos, eos)'s Q rows of value head h's qk head into stage s.
  const auto load_q = [&](int s, long long bos, long long eos, int h, int chunk) {
    const int64_t c0 = bos + static_cast<int64_t>(chunk) * kC;
    load_warp_q_rows(sm.st[s].q, q, c0, chunk_length(bos, eos, chunk), h / (kNumVHeads / kNumQKHeads), m0, lane);
    cp_async_commit();
  };
  int u = 0, ub = 0;
  bool first = true, q_ahead = false;  // an item's first unit next; this unit's Q already asked for
  for (;;) {
    const int s = u % kStages;
    chain_mark(u, kChainOutStart);
    mbar_wait(&sm.landed[s], static_cast<uint32_t>(u / kStages) & 1u);
    const PersistUnit unit = sm.unit[s];
    if (unit.chunk == kPersistEnd) break;
    if (first) zero_rows_outside_sequences<BV, kSplitGroup>(output, unit.h, unit.v0, unit.n, num_seqs, unit.bos, unit.eos, total, otid);
    if (unit.chunk == kPersistEmpty) {
      mbar_arrive(&sm.freed[s]);
      first = true;
      ++u;
      continue;
    }
    // This warp's ldmatrix reads of the stages' Q rows (units u - 2 and u - 1) come before its
    // cp.async writes of them here: program order in one warp, made explicit for racecheck (call 2
    // warned of cp.async writes against ldmatrix reads without it).
    __syncwarp();
    if (!q_ahead) load_q(s, unit.bos, unit.eos, unit.h, unit.chunk);
    // The next unit's Q into the stage after this one (its previous unit's Q rows were this warp's):
    // this item's next chunk, or with GDN_PREFILL_PERSIST_NEXT_Q the next item's first.
    const bool next_in_item = !unit.last;
    const bool next_item_q = kPersistNextQ && unit.last && unit.next_h >= 0;
    if (next_in_item) {
      load_q((u + 1) % kStages, unit.bos, unit.eos, unit.h, unit.chunk + 1);
    } else if (next_item_q) {
      load_q((u + 1) % kStages, unit.next_bos, unit.next_eos, unit.next_h, 0);
    }
    const bool next_q = next_in_item || next_item_q;
    const int b = ub & 1;
    named_sync(kBarSplitReady + b, kScanThreads);
    chain_mark(u, kChainOutReady);
    if (next_q) cp_async_wait_group<1>(); else cp_async_wait_group<0>();
    __syncwarp();
    chain_mark(u, kChainOutLanded);
    const SplitStage<BV>& st = sm.st[s];
    float qs[kNT][4], pu[kNT][4];
    split_output_products<BV, kWg>(qs, pu, st, sm.s[b], sm.up[b], m0, lane);
    chain_mark(u, kChainOutProducts, __float_as_uint(qs[0][0]) ^ __float_as_uint(pu[0][0]));
    const float g_lo = expf(st.cum[m0 + g]);
    const float g_hi = expf(st.cum[m0 + g + 8]);
    named_arrive(kBarSplitBufFree + b, kScanThreads);
    mbar_arrive(&sm.freed[s]);
    const int64_t c0 = unit.bos + static_cast<int64_t>(unit.chunk) * kC;
    store_output_tile(output, c0, chunk_length(unit.bos, unit.eos, unit.chunk), m0, unit.h, unit.v0, scale, g_lo, g_hi, qs,
                      pu, lane);
    chain_mark(u, kChainOutStored);
    first = unit.last != 0;
    q_ahead = next_q;
    ++u;
    ++ub;
  }
}
#endif  // GDN_PREFILL_PERSIST_BUILT
