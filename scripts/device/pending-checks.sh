#!/usr/bin/env bash
# The variants written without a GPU at hand, checked in one call (after `PACK_TESTS=0 bash
# scripts/device/pack.sh`, `.device` carried): each against its measured default on a few workloads,
# then, where every one of those passed, the variant on every workload of its definition.
#   scripts/device/pending-checks.sh
#   ONLY=sparse_attention scripts/device/pending-checks.sh     the checks of matching definitions
# Table per sweep (latency, floor ratio), then one "N/M passed" line per full run.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
attention=dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64
indexer=dsa_topk_indexer_fp8_h64_d128_topk2048_ps64
moe=moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048
prefill=gdn_prefill_qk4_v8_d128_k_last
decode=gdn_decode_qk4_v8_d128_k_last

# definition, workloads, variant (NAME=V[,NAME=V]), more settings to compare, "quick" as a fifth
# field to skip the full-definition run (prefill: its Python reference takes minutes) or
# "full-default" to run the full definition on the default instead of the variant (",sanitize"
# added, e.g. "quick,sanitize": the sanitizers of scripts/device/gdn-fused-check.sh on one call for
# the variant and each further setting, once the quick rows pass), and bench arguments for every
# run of the check as a sixth (e.g. --target portable); e.g.
#   "$moe|b8f4f012 81955b1e 1a4c6ba1|MOE_FP8_STAGES=3|MOE_FP8_STAGES=4"
# Earlier lists ran in results/gpu/2026-11-26-h200-pending-checks and -s4-checks (there:
# GDN_PREFILL_PLAN=1 passed its quick set, 8192 tokens -3%; DSA_ATTN_CLUSTER=8 passed 23/23 but was
# slower, 7.7 -> 10.0 us at 1 token; INDEXER_SCORE_PAGES=2/4 passed 128/128, no faster;
# MOE_SMALL_BN=32 passed 19/19, slower). Written since, not yet run:
# MOE_STREAM_K and MOE_ASYNC_SCALES ran in -s4-moe. The two full definitions left by session 4
# (indexer score template at one page, attention after its include move) ran in session 5:
# 128/128 and 23/23 (results/gpu/2026-11-26-h200-s5-checks). Add a line here for each variant
# written without a GPU. Session 7 (results/gpu/2026-11-26-h200-s7) ran session 6's list: the
# producer register split 96 hung (88 passed, no faster), the portable build's mid tiles at every T
# (default since), and MOE_WGMMA_PIPE never ran: ptxas serializes it (removed). Pending: the MoE
# default after that removal (sm_90a, any workload above 256 tokens builds it) and the lockstep K
# loop issuing the next stage's loads under the first MMAs (MOE_WGMMA_LOADS_UNDER_MMA); in the portable
# build, whole GEMM1 units finishing SwiGLU themselves (MOE_WHOLE_DIRECT_SWIGLU), and the stream-K
# GEMM2 with prescaled W2 (MOE_GEMM2_PRESCALE, alone and with 128-pair units; also at small T),
# and compact expert slots for the small-T tile grids (MOE_COMPACT_EXPERT_SLOTS; T=1 28.9 us).
# Indexer: the select refining only the threshold's 16-bit-prefix candidates (INDEXER_SELECT_COMPACT;
# its default path was refactored into the same helpers, so the sweep's default rows check it too).
# Session 8 ran that list (results/gpu/2026-11-26-h200-s8): compact expert slots and the compact
# select became defaults, the rest is recorded at its tunable. Pending: routing with a CTA per token
# (MOE_ROUTING_WIDE_MAX_T; ncu put the warp-per-token routing at 9-13 us at small T): default up
# to 256 tokens since. Pending: the small tiles' whole weight slice asked of L2 at CTA start
# (MOE_L2_PREFETCH: 1 measured 20-30% slower, 2 pending), and the select's thread count again
# now that it is compact (1024 passed its quick set, 10% faster: full run pending); the tiny-T
# split plan (MOE_TINY_T). Ran: the select's 1024 threads became the default; the tiny-T splits and
# the partial prefetch were slower. Pending: the tile kernels' loads addressed once per tile
# (MOE_TILE_LOADER; the SASS of a K block was mostly load addressing): default since (-2 to -4%).
# Pending: the rolling L2 prefetch of the next block (MOE_L2_PREFETCH=3) and the tile's scales
# copied with its first stage (MOE_TILE_SCALES_AHEAD). Ran: scales ahead default (-5%), the rolling
# prefetch +17-24%. Pending (written after the last GPU call of session 8): one barrier per block
# with three or more stages (MOE_STREAM_ONE_BARRIER), GEMM2's own stages and warps at small T
# (MOE_SMALL_GEMM2_STAGES / _WARPS), and the producer warpgroup for 128-pair wgmma tiles again
# (measured slower in session 5, before persistent tiles and the combine kernel); the indexer's
# select as a programmatic dependent of its score kernel (INDEXER_PDL); the pass-through branch's
# block-table loads issued with the row length's (INDEXER_PASS_SPECULATE).
# Session 9 (results/gpu/2026-11-26-h200-s9) ran session 8's list: the MoE variants were all slower,
# the indexer's PDL select and speculative pass-through loads became defaults. Pending (written after
# session 9's last GPU call): the GDN prefill default after a review's mends (16-column slices
# whenever the grid fits one wave, the SM count read before any launch, no ranking on the
# single-chunk fused path); its rows against the narrow plan and the cp.async scan off confirm it.
# Pending too: the GDN decode's bulk-copy kernel above 16 sequences (GDN_DECODE_BULK, three row
# counts; all 54 workloads if it passes), and the solve's merges on tf32 tensor cores (GDN_PREFILL_SOLVE_MMA; its fragment code was
# replayed in exact arithmetic by scripts/dev/emulate_solve_mma.py); all 100 workloads if it passes.
# Session 10 (results/gpu/2026-11-26-h200-s10) ran that list: the tf32 solve became the default, the
# decode's bulk kernel was slower (B=64 18.2 -> 18.8-19.2 us). Pending: the prep's W and U with A
# fragments straight from the fp32 T (GDN_PREFILL_PREP_T_FRAGS; all 100 workloads if it passes).
# Ran in session 10: T_FRAGS became the default. Pending: U in 16-column blocks in the workspace
# (GDN_PREFILL_U_BLOCKS) alone and with three split-scan stages two chunks ahead (SPLIT_STAGES=3).
# Both became defaults (call 13-14). Pending (written after session 10's last GPU call): 16-column
# slices for up to three long sequences (GDN_PREFILL_PLAN_NARROW_LONG); and the non-default scan
# paths under U blocks (cp.async split scan, the unsplit scan, two stages), never run on a GPU with
# the blocked workspace: their quick rows are a correctness check.
# After those, a final read of session 10's change (no GPU left) folded the prefill's accumulator
# tile stores (store_tile_bf16), the W / U products' A operand (gemm_t_scaled), an empty sequence's
# zero state, a chunk's length and the split scan's stage count into helpers: same operations, checked
# by kernel_syntax.py only; every check above runs them, and `gpu-check.sh quick` first confirms them.
# Session 11 (results/gpu/2026-11-26-h200-s11) ran that list: NARROW_LONG became the default, the
# fallback scan paths passed their quick rows; the DSA attention's pipelined pass 1 became the
# default; its bulk-copy gathers, the merge inside its grid, the indexer's cluster select and its
# block table in shared memory measured slower or even and were removed (commit 4b9d460 has them).
# Pending (written after session 11's last GPU call): the indexer's binned select
# (INDEXER_SELECT_BINNED: a 4096-bin histogram, then the threshold bin's candidates ranked
# directly), at 91, 45, 33 and 34 pages and on a pass-through row; all 128 workloads if it passes.
# Also pending: the DSA merge with every warp computing its own slices' weights
# (DSA_ATTN_MERGE_WARP_WEIGHTS; all 23 workloads if it passes).
# Session 12 (results/gpu/2026-11-26-h100-s12, an H100) ran those two: both passed every workload,
# neither was faster (the binned select 20-30% slower), defaults unchanged. Pending: the MoE split
# tile grids finishing SwiGLU and the bf16 output in their own epilogues (MOE_FUSED_EPILOGUES; two
# launches fewer at T <= 256): passed 19/19, T=7 -3%, T=55 +1.5% (GEMM1 4-10 us longer with the
# tickets' fences), T=1 even. Pending: the call's first memset replaced by a zeroing kernel with
# routing as its programmatic dependent (MOE_ZERO_COUNTS_KERNEL), and the SwiGLU pass with its loads
# issued at once (MOE_SWIGLU_VEC); both from the call timelines (scripts/device/timeline.py).
# Both became defaults (call 4). Pending: the compact select with per-warp histograms and
# atomic-free placement (INDEXER_SELECT_PRIVATE; INDEXER_SELECT_DIAG put 7.8 of its 11.5 us after
# the score kernel in the row passes and the row scan); its DIAG rows give the new phase times.
# Ran (call 6): 128/128 but slower everywhere (15 x 91 pages 19.1 -> 25.0 us; its passes 7.8 us
# instead of 4.9): off. Pending: the radix passes' aggregation by ballot rounds instead of
# __match_any_sync (INDEXER_SELECT_BALLOT_HIST), with its DIAG=2 rows for the passes' time.
# Ran (call 7): 128/128, slower (15 x 91 19.3 -> 24.4 us): both removed (commit 6fecd66 has them).
# Pending: the SwiGLU pass and the small GEMM2 reading routing's results before their wait
# (MOE_EARLY_ROUTING_READS), alone and with the fused epilogues.
# Ran (calls 13-14, H100): default since (-1.5..-2.5 us from T=7 up). Pending: every tile grid's
# expert slots compacted (MOE_COMPACT_ALL_SLOTS), the active experts' CTAs first.
# Ran (call 16, H100): default since (T=7 and T=16 -3 us).
# Session 13 (results/gpu/2026-11-26-s13): pending, the indexer's select starting from a histogram
# the score kernel counts (INDEXER_SCORE_HIST: the two row-wide radix passes gone), at 91, 45 and 33
# pages; all 128 workloads if it passes. The default's rows check the select's refactor (split_key).
# Ran (call 1, H200): 128/128; 15 x 91 pages 19.2 -> 15.8 us, 30 x 91 27.2 -> 23.5, 30 x 33 12.3 -> 9.4;
# the select ends 6.2 us after the score kernel (11.5 before), but the score kernel ends 1.9 us later
# (0.6 us of clearing kernel ahead of it, 1.3 us longer). Pending: what the score kernel's extra time
# is (no atomics at all, a diagnostic; 4 histogram copies; one atomic per score) and the clearing
# done by each row's first score CTA (INDEXER_HIST_INLINE_CLEAR); the select's phases (DIAG 1-3).
# Ran (call 2, H200; 128/128 with the inline clearing): the score kernel's extra time is not the
# atomics' contention (4 copies slower, one atomic per score slightly faster, no atomics at all still
# +0.7 us); the inline clearing even. The select after the score kernel at 15 x 91: wait 0.4 us,
# histogram scan +0.7, row scan +3.3, ranking and placement +1.8. Pending: the held keys' pages
# loaded before the wait (the row scan's id loads were dependent L2 round trips), candidates'
# ids kept, the direct ranking with as many threads per candidate as fit.
# Ran (call 3, an H100; 128/128 with one atomic per score): 15 x 91 pages 20.0 -> 16.6 us, but the
# row scan still 3.7 us and the ranking 1.8 after it. Pending: the row scan's slots from one block
# prefix sum (INDEXER_HIST_SCAN_SLOTS: no same-address shared atomics), 13 / 14 histogram bits
# (fewer candidates: ~190 -> ~40 on a model of the workloads' scores).
# Ran (call 4, H100): both slower. 14 bits: the 64 KB histogram's clearing (2.6-3.7 us, one CTA per
# row) and scan (DIAG 2 +5 us after the score kernel); prefix-sum slots: each thread's own slots make
# the id stores uncoalesced (a warp's store hits 32 places), 16.6 -> 17.4 us; the row scan with them
# still ~3.7 us. Pending: where the row scan and the ranking go (DIAG 4: the keys' loads alone; 5:
# the radix refinement skipped; 6: the row scan without its id stores).
# Ran (call 5, H100; 128/128, and the default's full run in the same call): at 15 x 91 pages after the
# score kernel: keys landed +0.8 us (DIAG 4), histogram scan +1.4 (2), row scan +5.2 (3), +4.4
# without its id stores (6), the full select +7.0, the same with the radix refinement skipped (5):
# the direct ranking ran. Suspected: the held keys' plain loads sunk past the scan's barriers to
# their uses (one L2 round trip per batch). Pending: the keys by load_now, the ranking by one 64-bit
# order word per candidate (its n^2 compares are issue-bound: ~8 instructions each before).
# Ran (call 6, H100; 128/128): 15 x 45 pages 15.6 -> 13.7 us, 30 x 91 25.0 -> 23.5, 15 x 91 16.6 ->
# 16.4; the row scan (DIAG 3) unchanged, the ranking ~2 us still. Pending: one shared atomic per
# warp for the row scan's slots (INDEXER_HIST_SCAN_SLOTS=1, replacing the prefix-sum version).
# Ran (call 7, H100; 128/128): one atomic per warp for the row scan's slots, mixed: off. Calls 8-9:
# unconditional key loads; the histogram select became the default; ncu of the score kernel (H200):
# 1.7 waves (79 registers, 6 CTAs per SM by registers and by the carveout), DRAM 11% of peak, the
# top stalls on the row's length and then the page id. Pending: the first page id loaded with the
# length (INDEXER_SCORE_EARLY_PAGE), 8 CTAs per SM (INDEXER_SCORE_MIN_BLOCKS=8), both.
# Ran (call 10, H200; 128/128 with the early page): 15 x 91 18.2 -> 17.7 / 16.8 / 16.3 us (early page
# / 8 CTAs / both); 30 x 91 30.0 -> 28.5 / 22.3 / 21.8, but the default's score kernel there took
# 21.9 us (14.5 in call 1). Pending: both again, each setting twice in one sweep (INDEXER_PDL=1 is
# the default spelled out, so its rows repeat the default's), then all 128 with both.
# Ran (call 11, H200, 128/128): both defaults since. Call 12 (H200, 128/128 with the defaults): the
# select's instruction cuts (INDEXER_SELECT_LEAN, each setting twice) -0.4..-0.6 us per scoring
# call, kept and the switch removed; without 8 CTAs per SM the score kernel is slower again (30 x 91
# pages 21.4 -> 27.9 us). Call 13 (H200): INDEXER_SCORE_PAGES=2 slower again (15 x 91 15.6 -> 17.2
# us); ncu of the lean select: ptxas had moved the held keys' loads past the threshold scan's first
# barrier. Pending: the keys by a coherent relaxed load issued before it (INDEXER_DIAG_NC_KEYS=1 is
# the code before), each twice, then all 128 with the defaults. Ran (call 14, H200): -0.5 us per
# scoring call, 128/128; kept, switch removed. Call 15 (H200): the score kernel's heads in two passes
# slower (15 x 91 14.9 -> 15.7 us), 11 CTAs per SM spills (-> 21.6): both off.
# Pending (written after session 13's last GPU call): the histogram select's rare refinements on
# every workload, which the workloads' 33-64 candidates per row never reach: INDEXER_DIAG_FORCE_REFINE=1
# (radix passes over the candidates) and =2 (the fallback over the row's keys in the bin); both
# must stay 128/128 (slower is expected). Also re-apply commit 47db9ff (CUPTI enabled before the
# warm-up; reverted untested) and check it: GPU tests, then `bench --trials 3 --json` on M e05c6c03
# and I 3eab2c37, host_issue_max_call no longer 0. A review after the last call (not run on a GPU,
# checked by kernel_syntax.py in every declared setting) removed INDEXER_HIST_COPIES, kept the
# candidates through one helper and set the score kernel's carveout through afg::
# prefer_max_shared_carveout: these checks' default rows and full runs confirm it.
# Ran (session 14, call 1, H200): both refinements 128/128 (slower, as expected), with the review's
# code in the default rows; CUPTI enabled before the warm-up did not move the longest issue off
# timed call 0 (276 / 181 / 187 us): the worker now times the issue in raw ticks. Pending: the
# score kernel on native fp8 wgmma (INDEXER_SCORE_IMPL=2, score_wgmma.cuh), in the sm_90a build
# (both rows built with --target arch_specific; the portable build keeps the mma.sync kernel).
# Ran (call 3, H200): wgmma scores 15 x 91 pages 14.8 -> 11.3 us, 128/128: the default since (the
# manifest's target is sm_90a). Pending: the wgmma kernel with 2 and 4 pages per CTA
# (INDEXER_WGMMA_PAGES), and the portable build's default (the wgmma kernel compiled empty, the
# mma.sync one chosen on the host) on every workload.
# Ran (call 4, H200): 2 and 4 pages per CTA slower (15 x 91 11.0 -> 11.5 / 13.4 us); the portable
# build's default 128/128 at IMPL=1's speed. ncu of the wgmma kernel: only 561 of its 1365 CTAs
# work at 15 x 91 (the rest exit past their row's end), DRAM 15%, and ptxas had sunk the page id's
# load past the early exit. Pending: the ids by coherent loads (INDEXER_DIAG_NC_SCORE_IDS=1 is the
# code before) in both builds, and the clearing kernel prefetching lengths and block-table rows.
# Ran (call 5, H200): coherent ids -0.1..-0.3 us (the page ids were L2 hits after each row's
# first CTA), 128/128; the prefetch -0..-0.2 us, 128/128. Pending: the score CTAs in page order
# (INDEXER_SCORE_PAGE_MAJOR), alone and with the prefetch, in both builds.
# Ran (call 7, H200): page order no faster (15 x 91 11.1 / 11.1, 30 x 91 15.4 -> 15.2 us; portable
# 14.6 -> 14.9), with the prefetch 15.1; 128/128. Pending: the persistent wgmma score kernel
# (INDEXER_WGMMA_PERSISTENT), and with the prefetch.
# Ran (call 8, H200): persistent CTAs slower (15 x 91 11.4 -> 12.5 us, its score kernel 7.1 us; the
# select could not start before the score CTAs left the SMs), 128/128; removed. Pending: 2 and 4
# warpgroups per CTA, each its own page (INDEXER_WGMMA_GROUPS), 4 also with the prefetch.
# Ran (call 9, H200): 2 and 4 warpgroups per CTA slower (15 x 91 10.9 -> 11.7 / 11.8 us); removed
# with page order, the prefetch a default (-0.1..-0.3 us in four sweeps). Pending: the portable
# build's final default on every workload (the row with the non-coherent ids beside it).
# Ran (calls 11-12): the portable indexer 128/128 (H200), its quick rows on the H100 too.
# Pending: the MoE's wide routing ranking each kept expert among the kept groups only, two threads
# per expert (MOE_ROUTING_SPLIT_RANK; ncu, H100 call 13: the 256-key walk and the barrier after it).
# Ran (call 14, H100): T=1 12.3 -> 11.1 us, 19/19: the only path since (switch removed).
# The select's phases now (H100, call 16, 15 x 91 pages, DIAG runs): after the score kernel's end,
# wait 0.8 us, threshold scan +0.6, row scan +2.8 (+2.1 without its id stores), ranking +0.8.
# Pending: the row scan's slots from one shared atomic per warp (INDEXER_HIST_SCAN_SLOTS=1, mixed in
# session 13 before the select's other cuts), with its row-scan phase time beside it.
# Ran (call 17, H100): warp slots slower again (15 x 91 11.6 -> 12.0 us), their row scan too; 128/128.
# Pending (written after session 14's last GPU call, never compiled by nvcc): the score kernel's ids
# through L1 with their load kept before the exit (INDEXER_SCORE_IDS_L1). With it, check the SASS
# (`scripts/device/sass-head.sh $OUT/sweep.jsonl indexer_score_wgmma`: both LDGs before the EXIT) and
# the phase (`scripts/device/indexer-cta-timeline.sh -- INDEXER_SCORE_IDS_L1=1`, mark 1 - 0).
# Session 15 (results/gpu/2026-11-26-s15) ran it: even (15 x 91 11.1 -> 11.0 us, 128/128), and its
# SASS still had the page id's load past the exit; removed. Nothing pending here; written after
# session 15's last GPU call and not yet compiled by nvcc: afg::globaltimer_after / afg::sm_id in
# agentforge.h (every kernel includes it; the diagnostic marks call them) and the probes' shared
# timeline_probe_common.h: `scripts/device/attention-cta-timeline.sh 1` and
# `scripts/device/indexer-cta-timeline.sh` compile both, any bench compiles agentforge.h.
# Pending (written after session 15's last GPU call): the MoE tile grids as resident CTAs looping
# over their tiles, stopping at the first empty expert slot (MOE_LOOPING_TILES; T=1 / 7 / 16 / 55);
# beside it the new per-tile timeline, `scripts/device/moe-cta-timeline.sh 1 7 16` and the same with
# `-- MOE_LOOPING_TILES=1` (GEMM1's first tile start, its span, tiles in flight per SM).
# Pending too: the attention's pass 1 prefetching one line per 2 MB / 64 KB of both caches beside its
# index load (DSA_ATTN_TLB_WARM=1 / 2): a test of whether address translation is part of the two
# cold round trips; read `scripts/device/attention-cta-timeline.sh 1 8 -- DSA_ATTN_TLB_WARM=1` (and
# =2) beside the default's: "block 0 landed" is the phase it should move; `scripts/device/dsa-gather-probe.sh`
# answers the same question on the bare gather (its first table: touched pages vs not). And the query fragments
# loaded while block 0 is in flight (DSA_ATTN_EARLY_QFRAGS=1; the timeline's block 0 S phase).
# And the merge released by per-slice flags instead of the programmatic wait (DSA_ATTN_FLAG_MERGE=1;
# the timeline's "merge: wait released" against the last pass-1 end; if it passes, compute-sanitizer
# on it: FUSED_DEFINITION=$attention FUSED_SANITIZE_DEFINES=DSA_ATTN_FLAG_MERGE=1
# FUSED_SANITIZE_WORKLOAD=5096e459 FUSED_SWEEP=0 scripts/device/gdn-fused-check.sh).
# Last (its sweep.jsonl stays in $OUT): the indexer's ids through L1 with the page id's load kept
# before the exit by a use on the exit path (INDEXER_SCORE_IDS_NC=1); then
# `bash scripts/device/sass-head.sh $OUT/sweep.jsonl indexer_score_wgmma 40` (both LDG before the
# EXIT) and `scripts/device/indexer-cta-timeline.sh 15 91 1 -- INDEXER_SCORE_IDS_NC=1` (mark 1 - 0).
# Session 16 (results/gpu/2026-11-26-s16) ran session 15's list: MOE_LOOPING_TILES won at T <= 7
# only (now MOE_LOOPING_TILES_MAX_T=8), DSA_ATTN_EARLY_QFRAGS became the default, DSA_ATTN_TLB_WARM,
# DSA_ATTN_FLAG_MERGE and INDEXER_SCORE_IDS_NC were even or slower and are removed. Then written and
# run the same session: MOE_TILE_MIN_BLOCKS (left at 0), MOE_SMALL_WGMMA and MOE_SMALL_GEMM2_WGMMA
# (the small tiles on wgmma; defaults), MOE_GEMM1_SPLITS=7 (default). Pending (written after
# session 16's last GPU call, compiled by kernel_syntax.py only): GEMM1 at small T as the resident
# stream-K grid on the wgmma tile (MOE_SMALL_GEMM1_STREAMK=1; the split grid's last wave drains
# ~10 us with DRAM half idle at 5-14 active experts); all 19 workloads if it passes, then
# `scripts/device/moe-cta-timeline.sh 7 16 -- MOE_SMALL_GEMM1_STREAMK=1` is not meaningful (the
# stream-K kernel has no tile marks): read GEMM1's span in the sweep's timelines instead
# (`python3 scripts/device/timeline.py $OUT/sweep.jsonl b8f4f012`), or all phases at once with
# `python3 scripts/device/moe_phases.py $OUT/pending-full.jsonl`. Also pending: no SwiGLU pass at
# small T, each GEMM2 fp8-C tile building its own C from G1 (MOE_GEMM2_OWN_SWIGLU=1); with it, the
# two together. Run compute-sanitizer on the own-C tile once it passes (FUSED_DEFINITION=$moe
# FUSED_SANITIZE_DEFINES=MOE_GEMM2_OWN_SWIGLU=1 FUSED_SANITIZE_WORKLOAD=b8f4f012 FUSED_SWEEP=0
# scripts/device/gdn-fused-check.sh).
# Session 17 (results/gpu/2026-11-26-s17) ran both: slower (T=7 / 14 / 55 77.6 / 159.7 / 319.1 ->
# 78.8 / 166.8 / 340.8 us with the stream-K GEMM1, 85.6 / 166.2 / 344.4 with the own-C GEMM2); 19/19
# each. Then (calls 4-8): GEMM2 writing the bf16 output itself at large T, no combine kernel
# (MOE_WGMMA_COMBINE=2), with the summed rows zeroed by routing: the default since (-44 / -44 / -10
# us at T=11948 / 14107 / 901); zeroed by GEMM1 instead: even (removed); the wide routing at every
# T: 45 -> 84 us of routing at T=14107, -3 us at T=901 (not adopted). Call 9 (H200): the cleaned
# default 19/19 (T=14107 1927.9 us against 1977.7 with the combine kernel, T=11948 1743.8 / 1714.2,
# T=901 436.3 / 444.1; the large-T rows move +-30-50 us between sweeps); the small GEMM1 tile on 128
# consecutive W1 rows (MOE_SMALL_CONTIG_ROWS=1) passed 19/19 but was even (T=7 / 14 / 16 / 32 / 55 /
# 80 77.6 / 159.9 / 138.3 / 172.3 / 319.2 / 330.6 -> 77.2 / 159.4 / 138.1 / 172.0 / 319.0 / 330.9
# us): reverted (commit 90fb519 has it). Calls 11-12: the lanes routing kernel (MOE_ROUTING_LANES=1)
# 19/19 with every workload routed through it, the routing kernel -5.7 us at T=901 and -9 at T=14107:
# default since. Pending (written after session 17's last GPU call, compiled by kernel_syntax.py
# only): the lockstep K loop's next-block scale loads issued after the block's last wgmma commit
# (MOE_WGMMA_LATE_SCALES=1; the wgmma fence waited for them in flight: 5.4% of GEMM1's stall
# samples at T=14107); all 19 workloads if it passes; its large-T rows move +-30-50 us between
# sweeps, so read GEMM1's and GEMM2's durations in the timelines too
# (`python3 scripts/device/timeline.py $OUT/sweep.jsonl 5e8dc11c 58a34f27`).
# Also pending: the lanes routing kernel below 256 tokens too (MOE_ROUTING_WIDE_MAX_T=0; at T=7 it
# took 7.7 us against the wide kernel's 4.1, but call 11's full run with it had T=52-80 1-3 us
# under call 9's default on another machine): quick rows only.
# And the lockstep loop without its block barrier, stages handed over by mbarriers
# (MOE_WGMMA_MBAR_STAGES=1; first the ceiling: `PROFILE_NCU_FLAGS="--clock-control none"
# PROFILE_LAUNCHES=1 scripts/device/profile.sh $moe 5e8dc11c gemm1_wgmma --define
# MOE_WGMMA_DIAG_NO_LOADS=3` against =1's 52% tensor-pipe activity), alone and with the late scales.
# Session 18 (results/gpu/2026-11-26-s18) ran session 17's queue (LATE_SCALES, MBAR_STAGES, the
# wide routing at T=16-80: none better alone), then MBAR_STAGES with GEMM2's staged scales and the
# staged epilogue became defaults (19/19 each), then GEMM1's staged scales from a token-major copy
# routing writes (MOE_WGMMA_TILE_SCALES=3, call 15). Pending (written after the last GPU call):
# routing's scale copy storing at the warp's end (MOE_ROUTING_SCALES_LATE_STORE); its first call is
# also the first nvcc build of the review that removed MOE_WGMMA_LATE_SCALES and TILE_SCALES=1.
# And the GDN scan's time per chunk with 64- and 32-column slices on the long single chains (2107 / 1,
# 5709 / 2, 1592 / 3; the default plan's 16 columns in the default rows): does the segmented scan
# pay (GDN NOTES, session 18)? Session 19 (results/gpu/2026-11-27-s19) ran both: the late store
# became the default; the scan per chunk 1.41 / 1.95 / 2.9 us at 16 / 32 / 64 columns (2107 / 1).
# Then a warpgroup with no pairs in its half of a 128-pair tile skipping its MMAs: slower, removed.
# Then the 64-pair tiles' producer filling two K blocks at a time (MOE_WGMMA_PAIRED_FILL): slower,
# removed. Then the next tile's pair list copied during this tile (MOE_WGMMA_PAIRS_AHEAD): GEMM2
# +10..+25 us in ncu's locked-clock durations, removed. Pending: five stages for the 64-pair tiles
# (MOE_WGMMA_BM64_STAGES=5): even. Then GEMM2's rows out of shared memory by bulk copies and bulk
# reductions (MOE_WGMMA_BULK_OUT): the default since. Session 20 (results/gpu/2026-11-27-s20): the
# GDN split scan's refills by the output warps became the default. Pending (written after the last
# GPU call): the GDN scan on one operand ring per role (GDN_PREFILL_SCAN_RINGS); run
# `scripts/device/gdn-chain-timeline.sh` first (and with `-- GDN_PREFILL_SCAN_RINGS=1`), then this
# check; sanitize it with FUSED_SANITIZE_DEFINES=GDN_PREFILL_SCAN_RINGS=1 FUSED_SWEEP=0
# scripts/device/gdn-fused-check.sh (239 / 3: both rings reused). And the MoE's large-T tile
# turnover: `scripts/device/moe-wgmma-tile-timeline.sh 14107` (no check line: a probe).
# Session 21 (results/gpu/2026-11-27-s21) ran session 20's GDN_PREFILL_SCAN_RINGS: even, not kept.
# Pending (written after session 21's last GPU call): GEMM2's next tile loading during this tile's
# epilogue (MOE_WGMMA_NEXT_FILL; first build; 128-pair tiles only, T > 4096: T=7 and 901 are controls). Run
# `scripts/device/moe-wgmma-tile-timeline.sh 14107 -- MOE_WGMMA_NEXT_FILL=1` beside it: the turnover
# should fall from ~4.9 to ~3 us a GEMM2 tile. Also unbuilt since session 21's last call, and built
# by these checks' default rows: the prefill's chunk_of_slot (the prep's slot lookup as a helper
# shared with the output kernel), the rings scan's removal, and the MoE k_loop_mbar's resume hook
# (the default passes 0 blocks prefilled). The prefill row against APART=0 is the split scan's control.
# And where the state-only scan's ~1600-cycle step goes (its state warp 0 now has the chain marks):
# `scripts/device/gdn-chain-timeline.sh "2107 1" "5709 2" -- GDN_PREFILL_SCAN_APART=2`.
# Session 22 (results/gpu/2026-11-27-s22) ran session 21's list: the prefill's default after the
# review's mends passed its quick rows (apart 2107 / 1 47.9 us), MOE_WGMMA_NEXT_FILL passed 19/19 but
# was slower at locked clocks (GEMM2 680 -> 737 us; kept at 0). Pending (written after session 22's
# last GPU call): the prep's diagnostic marks (prep_mark, no-ops in the default build) inserted into
# chunk_prep_kernel; the default's quick rows against the loader warp's absence check them. Not
# sweep checks, also pending: `scripts/device/gdn-prep-timeline.sh` (its first build) and
# `scripts/device/moe-wgmma-tile-timeline.sh "14107 32"` (the workload's local expert offset).
# Pending too: 64-column scan slices where 32 would take more than two waves (GDN_PREFILL_PLAN_WIDE_WAVES=2;
# only 4124 / 15 and 3999 / 13 change plan), beside 64 columns from 2048 tokens (LONG_T=2048); the
# calibrated scan model (scripts/dev/gdn_scan_model.py) predicts even and +16.7 us of scan: a check
# of the model as much as of the plan. And
# the apart scan for three and five sequences now that its loader warp steps 16 columns in ~0.65 us:
# at 32 columns (NARROW_LONG=0: 96 scan CTAs at N = 3, SMs left for the outputs; session 21 measured
# it before the loader warp, ~1.07 us a step, slower) and with output CTAs allowed beside the scan
# (APART_EXCLUSIVE=0), no code change. The middle band's worst against FLA are these calls (1.68-1.79).
# And per-chunk prep flags (GDN_PREFILL_CHUNK_FLAGS=1: the scans' bulk-copy loaders and the apart
# output kernel wait for their chunks' prep instead of the prep grid's end; the split scan at 16, 32
# and 64 columns and the apart scan, on 1-39 sequences); if its quick rows pass, sanitize it before
# anything else (its "sanitize" scope runs gdn-fused-check.sh's sanitizers on 239 / 3 with each of
# its settings), then all 100.
# Session 23 (results/gpu/2026-11-27-s23) ran that list (call 2): LOADER_WARP=0, CHUNK_FLAGS,
# WIDE_WAVES=2, LONG_T=2048 and the apart scan for 3-5 sequences all lose or tie; none adopted. Its
# prep changes were measured in the same session. Pending (settings only, no code): the prep's
# GDN_PREFILL_PREP_LEAN without GDN_PREFILL_PREP_IDLE_KD (and so without BULK_STORES, which needs it),
# to split what made the solve's first level grow (~400 -> ~750-1300 cycles; the prep timeline,
# `gdn-prep-timeline.sh "132 2" "8192 39" -- GDN_PREFILL_PREP_IDLE_KD=0`, says more than this sweep).
# Session 24 (written after its last GPU call): the persistent 64-column scan (scan_persist.cuh). Run
# its sanitizers first, on a call whose 64-column items outnumber the SMs (the item counter's path):
#   FUSED_SANITIZE_WORKLOAD=4b6143dd FUSED_SANITIZE_DEFINES="GDN_PREFILL_IMPL=1 GDN_PREFILL_PLAN_LONG_T=2048 GDN_PREFILL_SCAN_PERSISTENT=1" FUSED_SWEEP=0 scripts/device/gdn-fused-check.sh
# Predicted: 8192 / 39 ~110 -> ~95-100 us, 8192 / 57 ~126 -> ~105-115 (gdn_scan_model.py
# --persistent-residual-us 1..3); 4124 / 15 unchanged (32 columns: not persistent).
# Session 25 (results/gpu/2026-11-27-s25) ran it: after two mends (the next item claimed at the
# current item's last unit, a __syncwarp before the Q loads) the persistent scan is the default for
# 32- and 64-column calls averaging <= 315 tokens whose items outnumber the SMs; sanitizers clean.
# Pending (written after session 25's last GPU call, kernel_syntax.py only): the persistent scan's
# loader refactored into wait_stage / publish / describe_item (the default build: rebuild it first,
# its quick rows and sanitizers, e.g. FUSED_SANITIZE_WORKLOAD=54856fec FUSED_SANITIZE_DEFINES="GDN_PREFILL_IMPL=1
# GDN_PREFILL_DIAG_PERSIST_CTAS=8" FUSED_SWEEP=0 scripts/device/gdn-fused-check.sh); the persistent
# scan's chain marks: `scripts/device/gdn-chain-variants.sh "8192 32" "8192 64" -- "" GDN_PREFILL_PERSIST_NEXT_Q=1`
# (units by kind: what an item boundary costs, the model's R ~ 3 us); and GDN_PREFILL_PERSIST_NEXT_Q=1
# (the next item's first Q asked for one unit ahead), sanitized the same way with it added.
# Also new (session 25, CPU-tested only): `bench --input NAME=absent|NUMBER`, the cases issue #4 item 1
# names that no workload holds. No record in results/ shows them run before. Run both GDN definitions
# without a state and with scale 0 (the prefill's Python reference takes minutes: a band each):
#   agentforge bench --definition $decode --baseline --trials 1 --input state=absent --input scale=0
#   agentforge bench --definition $prefill --baseline --trials 1 --input state=absent --input scale=0 \
#     --workloads 77daf91d 25d9c14d e92dafeb 54856fec 6f1ad833 4b6143dd 410794d4 9a5d694b
# (6 / 1 fused, 132 / 2, 239 / 3, 959 / 4, 2107 / 1 apart, 4124 / 15 and 8192 / 39, 57 persistent).
# Session 26 (results/gpu/2026-11-27-s26) ran that list: the refactored default passed at session 25's
# times, NEXT_Q even (stays 0), the chain probe split the boundary (store ~1600, load ~1300-1700
# cycles), both GDN definitions passed without a state and with scale 0 (54/54, 100/100). Then the
# state swap and early claim (slower, removed) and the persistent prep over slots (100/100, slower).
# Session 27 (results/gpu/2026-11-27-s27) ran session 26's queue (the persistent prep slower again,
# removed; PREFETCH_WAVE=1 even) and its own variants: the bulk-prefetch wave (=2), the mixed-width
# scan for three sequences (GDN_PREFILL_SCAN_MIXED=1) and W / U on wgmma (GDN_PREFILL_PREP_WU_WGMMA=1)
# became defaults; the SS-wgmma products were slower (removed), PREFETCH_WARP=7 even. Pending: the
# mixed plan's cost ratio, which decides c2bb4f66 (13 / 12 / 4 chunks: mixed at 130, not at 145 or 160;
# predicted ~32.8 -> ~32.0 us if mixed) and keeps the others' choices. Not a check line: ncu's source
# view of chunk_prep_kernel at 8192 / 39 for the solve's level 1 (1.5k cycles even alone on an SM;
# NOTES.md, session 27), e.g. `PROFILE_SOURCE=1 PROFILE_LAUNCHES=1 scripts/device/profile.sh gdn_prefill_qk4_v8_d128_k_last
# 410794d4 chunk_prep` with PROFILE_SOURCE=1 (stall samples per SASS instruction).
# Written after the last call (kernel_syntax.py only; first line below): W and U rows 0-31 on mma.sync
# by warps 4-7 during the solve's last merge level, rows 32-63 by all 8 warps after it
# (GDN_PREFILL_PREP_WU_IN_SOLVE=1; predicted the 8192 prep -1.5..-2.5 us). Its quick rows, then
# `gdn-prep-timeline.sh "8192 39" -- GDN_PREFILL_PREP_WU_IN_SOLVE=1` (the W / U phase ~1.7k -> ~1.0k
# cycles, level 2 unchanged) and the sanitizers (",sanitize" runs them on 959 / 4; add
# GDN_PREFILL_DIAG_PREP_ROWS=2 by hand for the prefetch path). If it wins, all 100 and the default.
# Its default rows also rebuild two unbuilt refactors of the session's end: gemm_t_lower as
# gemm_t_lower_by with a B loader (77daf91d, 6 / 1, runs the fused kernel that uses it),
# solve_unit_lower's level-2 hook (every prep), and the final review's: the prep kernel's body straight
# again for its one slot (no unit lambda, loop or record flags, grid.y for the slot count),
# align_smem_1024 shared with the prep, the mixed plan ranking through length_rank.
# Session 28 (results/gpu/2026-11-27-s28) ran that list (call 1): the default passed its quick rows at
# its times; WU_IN_SOLVE slower (8192 / 39 +0.9 us, / 57 +3.0; removed, commit 0c05d0a has it); the
# mixed plan's ratio even at 130 / 145 / 160 (stays 145). Then (calls 2-10) the prep's early gates, the
# persistent scan's initial states off the boundary (SMEM_STATE at 64 columns, EARLY_STATE at 32)
# became defaults. Pending (written after the last call): GDN_PREFILL_PREP_EARLY_GATES folded to 0 / 1
# (1 = the measured "=2"; the default build's code changed, same operations): its default rows
# against =0 rebuild it. Ran (call 11): the default passed at its times (8192 / 39 88.6 us, =0 90.2).
# Pending: GDN_PREFILL_PERSIST_NEXT_Q=1 (call 12: the scan kernel -0.7..-1.3 us on the 8192 calls; its
# full run was cut by session 28's device budget at 76%): the quick rows again, then all 100; the
# default if it passes (its sanitizers ran clean in session 26, before PERSIST_SMEM_STATE: rerun them,
# FUSED_SANITIZE_WORKLOAD=54856fec FUSED_SANITIZE_DEFINES="GDN_PREFILL_IMPL=1 GDN_PREFILL_PLAN=0
# GDN_PREFILL_SCAN_BV=64 GDN_PREFILL_DIAG_PERSIST_CTAS=8 GDN_PREFILL_PERSIST_NEXT_Q=1" FUSED_SWEEP=0
# scripts/device/gdn-fused-check.sh). PENDING_FULL_TIMEOUT=420 leaves the full run its ~5 minutes.
# Its default rows also rebuild two edits made after session 28's last call (kernel_syntax.py only):
# the persistent scan's state buffer taken only where it fits (a StateBuf template parameter; the
# default layout is the same type) and one slice_offset for the item's and the next item's state.
# Ran (session 29, call 1, H100): NEXT_Q -0.4..-0.9 us on the five rows, 100/100 (the two unbuilt edits
# rebuilt in its default rows, passing); sanitizers clean (call 2): the default since.
# Pending (session 29, no code change): T=901 on the warp-specialized 128-pair kernels
# (MOE_WGMMA_BM64_MAX_T=0; they now run above that limit only). Session 5 had 128-pair lockstep tiles
# at T=901 774 us against 552 with 64, but there the 128-row tiles' MMAs (78% padding at ~28 pairs an
# expert) sat on the critical path with the loads; with TMA-fed tiles GEMM1 at T=901 should be
# W1-streaming bound: predicted ~4 TB/s, GEMM1 ~273 -> ~240 us, the call ~426 -> ~390-400.
# And the portable build (plain sm_90) after moe_ws.cuh joined kernel.cu: its kernels compile empty
# there and the host never selects them (built_with_wgmma()), but no nvcc has built it yet: its
# default against MOE_WGMMA_WS=0 (the same path), then all 19 on the default.
# Pending (written after session 29's last call, kernel_syntax.py only): MOE_WGMMA_WS_HALF_TILES=1, an
# expert's last row tile with <= 64 pairs as a 64-row tile in both warp-specialized GEMMs (a column
# pass per MMA warpgroup). Predicted T=14107 / 11948 -50..-90 us (GEMM1 and GEMM2 -5..-8%). Its default
# rows also rebuild session 29's review of moe_ws.cuh (never built by nvcc): C's slot rows from the
# tile walk's starts instead of a second prefix scan, one pass / release helper for the four K loops,
# bulk_row_out shared with the lockstep GEMM2. Expected: the default's times of call 14 (1339 / 1462 us).
# Ran (session 30, call 1, H200): HALF_TILES=1 slower (11948 1318 -> 1457 us, 14107 1500 -> 1655; GEMM1
# +110..125 us) and removed; BM64_MAX_T=0 slower at T=901 (430 -> 505 us); the portable build 19/19; the
# reviewed moe_ws.cuh at call 14's times (1318 / 1500 us), 19/19.
# Pending (session 30): the small GEMM1 tile's weight rows by TMA boxes (MOE_SMALL_TMA=1; the
# dram-pattern probe read its pattern at 0.97-0.98 of contiguous by TMA, 0.89-0.90 by cp.async):
# predicted GEMM1 -8..-12 us at T=14-32; then all 19 (their large-T rows rebuild moe_ws.cuh without
# the half tiles). The portable build's mma.sync tile with it: a quick correctness check.
# Ran (call 3): MOE_SMALL_TMA=1 correct (19/19, sanitizers clean, portable quick rows pass) and
# no faster (removed after the session's calls); (call 5) MOE_WGMMA_BM64_TMA=1 T=901 432 -> 410 us, 19/19 (the default since), MOE_SMALL_TMA=2
# no faster. Pending (session 30, after call 7's tile timeline at T=901): the wgmma GEMM2's epilogue
# row weights and masks read at the tile's start (MOE_WGMMA_EARLY_ROW_INFO=1) and the producer's
# next pair list read under the current tile (MOE_WGMMA_PRODUCER_PAIRS_AHEAD=1), both new defaults,
# against each off; then all 19 on the new default. Ran (call 8): 19/19; the epilogue 2.82 -> 1.28 us but
# the call even (411-414 us with either off): early row reads kept without a tunable, pairs ahead removed.
# Ran (session 30, calls 12-13, H100): GEMM2_EARLY_B=1 -5..-6 us at T=901, 19/19: the default. Ran
# (call 16): the wide routing kernel's direct-output zeroing (T=32 on MOE_SMALL_T=16,MOE_WGMMA_MIN_T=16
# passes), 19/19 on the default. Ran (call 17): routing asking L2 for GEMM1's first tiles
# (MOE_WGMMA_W1_PREFETCH_BLOCKS 2 / 4 / 6): routing +2.5..+3.3 us, GEMM1 -0..-1: removed (2ebcfd8).
# Ran (call 19, H100, two rounds): MOE_WGMMA_BM64_SLOT_C=1 (C in expert-slot order, GEMM2's A tiles
# as TMA boxes) 532.2 -> 528.6 us at T=901, GEMM2's added time only -1.4 (predicted -5..-8); 19/19; its
# default rows built the new a_map parameter and TileCoord::slot0 and passed. Pending: the same with
# three rounds, on an H100 and on an H200 (the default if GEMM2 moves beyond the noise on both).
# The final review's mends (after the last device call, kernel_syntax.py only) are rebuilt by the
# default rows: one B-box helper and one W1 / W2 map for the producer kernels (T=901), and the
# warp-specialized kernels' shared pieces (ws_zero, WsScalePair, ws_stage_passes; T=14107). Expected:
# the defaults' times (H200 call 18: 410.2 / 1439.9 us; H100 call 16: 529.1 at T=901).
# Ran (session 31, calls 1-2, H100): the mends' default rows pass at their times; SLOT_C -3.6..-4.3 us
# in three calls: the default. Session 31 made MOE_WGMMA_WS_PERMUTED_A and MOE_WGMMA_WS_ZERO_IN_GEMM1
# defaults from H100 sweeps (and one H200 round, call 15) and left MOE_WGMMA_WS_GEMM2_EPILOGUE=1
# (stmatrix staging: the tile's epilogue -0.25 us, the calls even) at 0. Pending: the two defaults
# against neither and the stmatrix staging, three rounds, on an H200 (and an H100); then the new
# kernels under compute-sanitizer on one large call (the copy kernel, GEMM1's one-thread loader, its
# zeroing warps; racecheck of a call this size takes many minutes, memcheck and synccheck first):
#   FUSED_DEFINITION=$moe FUSED_SANITIZE_WORKLOAD=58a34f27 FUSED_SANITIZE_DEFINES=MOE_WGMMA_WS_PERMUTED_A=1
#   FUSED_SANITIZE_TOOLS="memcheck synccheck" FUSED_SANITIZE_TIMEOUT=250 FUSED_SWEEP=0 scripts/device/gdn-fused-check.sh
#   (the tools run one after another: 2 x 250 s + 60 stays inside a call's 600 s)
# The final review's mend (after the last device call, kernel_syntax.py only): the two one-thread TMA
# loaders of moe_ws.cuh are one function (ws_load_tiles, B boxes by issue_b_boxes) and the slot rows
# come from TileCoord::slot0 (ws_slot removed); the check's default rows rebuild it. Expected: call 13's
# defaults (H100 1243.0 / 1444.4 us), 19/19.
# Ran (session 32, call 1, H100): the mend's default rows pass at their times; the stmatrix staging
# mixed again (stays 0); memcheck and synccheck clean at T=11948 (call 9). Session 32 made
# MOE_WGMMA_WS_MULTICAST=1 (two-CTA clusters multicasting shared B tiles) the default from H100 sweeps
# and two H200 calls (19/19 on the H200, call 11). Pending: on an H100, the default against the single-CTA
# kernels, then the whole definition on the default (19/19 expected; H100 calls 7-8: T=11948 ~1225-1256,
# T=14107 ~1414-1432 us). The final review (after the last device call, kernel_syntax.py only) removed
# TileWalk's unreachable phantom tile, gave ws_launch the shared-memory limit and folded the ws launch
# dispatch: the default rows rebuild it.
# Ran (session 33, call 1, H100): multicast GEMM1 -19..-27 us against the single-CTA kernels, 19/19 on
# the default. Pending: the decode's tiny-batch shape (GDN_DECODE_PLAN_TINY_B=8: 8 warps x 2 rows at
# B <= 8; one H100 round put it 0.2 us ahead at B=4 / 8), on both cards, two rounds, then all 54
# workloads with it. Ran on the H100 (session 33, call 8): B=4 / 8 -0.2..-0.3 us, B=1 +0.1, B=16 even,
# 54/54 with 8. Left: the same on an H200.
# Pending (written after session 33's last call, kernel_syntax.py only): the warp-specialized GEMMs with
# A from registers (MOE_WGMMA_WS_A_REGS=1: one ldmatrix pass a stage, both column passes on wgmma RS).
# Before it, in the same call (seconds): nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17
# -I src/Kernels.Baseline/include -o /tmp/rs_probe scripts/device/probes/wgmma_rs_e4m3_probe.cu &&
# /tmp/rs_probe (SS and RS must both print MATCH: the fragment layout alone).
# Then: does it pass (a wrong fragment layout shows as INCORRECT at once), and does ptxas spill
# (profile.sh's res-usage line; LOCAL > 0)? Then the clock: PROFILE_NCU_FLAGS="--clock-control none
# --cache-control none" profile.sh $moe 5e8dc11c "_ws_kernel" --define MOE_WGMMA_WS_A_REGS=1 against the
# default (GEMM1 839 us at 1.59-1.60 GHz): the prediction is a higher clock, GEMM1 -3..-9%.
# Ran (session 34, call 1, H100): the RS probe MATCH; A_REGS 19/19 but GEMM1 +12..+17 us, the clock
# unchanged (1.63 -> 1.64 GHz): removed. TINY_B on the H100 again: B=4 / 8 -0.2 / -0.3 us, 54/54; the
# default since (2 <= B <= 8). Ran on an H200 (session 34, call 9): even there (B=4 +0.1 us), 54/54.
# Pending (session 35, written after its last device call; not a variant, so no line below): the edge
# workloads' explicit cu_seqlens (empty sequences, tokens before the first and after the last sequence,
# 140 sequences with 80 empty) and the indexer's explicit seq_lens (an empty row, one token, exactly
# 2048 beside a scored row) have never run on a GPU. The kernels have code for these cases, but nothing
# synthesized exercised it. Run first: `bash scripts/device/edge-check.sh gdn_prefill_qk4_v8_d128_k_last
# dsa_topk_indexer_fp8_h64_d128_topk2048_ps64` (24 workloads, ~3 min; expected all PASS), then the GDN prefill's quick set after session 35's contract
# change (`sweep.sh gdn_prefill_qk4_v8_d128_k_last "410794d4 9a5d694b 54856fec" ""`; the cut call 7 did not
# reach it), then on an H100 the MoE's new band switches: `moe-bench.sh --trials 1` (predicted T=901
# ~529 -> ~505 us, 1.108 -> ~1.06x).
# Pending (session 35, written after its last device call, kernel_syntax.py only): GDN_PREFILL_RECURRENT_MAX_T
# (recurrent.cuh: calls of at most 8 / 16 / 32 tokens token by token, the state rows in registers, the
# next token's operands loading under this one's update). Predicted 6 / 1 8.3 -> ~3 us, 16 tokens ~4-5,
# 32 tokens ~6-7 against the fused kernel's ~8.3-8.9. First the edge set with it (`edge-check.sh
# gdn_prefill_qk4_v8_d128_k_last -- --define GDN_PREFILL_RECURRENT_MAX_T=32`: its 20-token call has two
# empty sequences and tokens outside every sequence), then the dataset's small calls (the line below).
# Session 36's review (no GPU; kernel_syntax.py only): the prefill's gate formulas became two helpers
# (log_gate, beta_gate) in every path, the same float operations; the GDN prefill quick set above
# rebuilds it (expected: its times, all PASS).
# Ran (session 37, results/gpu/2026-11-28-s37, H200): the edge set 25/25 (explicit blobs included), the
# prefill quick set after the gate helpers at its times, the recurrent path 100/100 and 17/17 edges in
# three versions (the staged one kept). Pending: its default as committed after the last call, 24 with
# the staging capacity fixed at 32 (the kernel code of the =32 build, measured in call 3; the host's
# switch at 24 never ran): its quick rows against =0 (expected 4.0 / 5.0 / 5.7 us at 6 / 12 / 16 tokens,
# 8.4-8.6 at 31 / 32 on the fused kernel), then all 100 on the default. Also: ncu of the recurrent kernel
# at 16 / 1 (`profile.sh gdn_prefill_qk4_v8_d128_k_last ef9515b6 recurrent`): measured ~0.16 us a token
# against ~0.07 predicted, and its groups-of-4 version no faster: what does a token wait on?
# Pending too (written after session 37's last call; its lane emulation checked in exact arithmetic):
# GDN_PREFILL_RECURRENT_LANES=32 (32 lanes a row: a quarter of the shared-memory reads, a halving
# reduction of the token's eight dot products; predicted 16 / 1 5.6 -> ~4 us), alone and with =32 tokens;
# all 100 with it (and the 17 prefill edges) if it is faster.
# And (written after that): the recurrent kernel stages a sequence longer than 32 tokens 32 at a time,
# and GDN_PREFILL_RECURRENT_MAX_AVG_T=4 sends calls of many short sequences to it (no dataset call has
# an average under 6 tokens). The default's quick rows above rebuild the restructured kernel (expected:
# call 3's times). Then, on the edge set: `bash scripts/device/edge-check.sh gdn_prefill_qk4_v8_d128_k_last
# -- --define GDN_PREFILL_RECURRENT_MAX_AVG_T=4` (and with GDN_PREFILL_RECURRENT_LANES=32 too); session 37's
# default there (call 1, H200): 300 / 150 116.9 us, 400 / 140 69.9, 2048 / 1024 771.3, 4096 / 1500 1128.0;
# predicted ~45 / ~40 / ~300 / ~450. Every edge must pass (400 / 140 has 80 empty sequences).
# Ran (session 38, results/gpu/2026-11-28-s38, H200): the default (24) 100/100, but its recurrent kernel
# 0.6-1.6 us slower than call 3's (6 / 12 / 16 tokens 4.7 / 6.3 / 7.4 us); LANES=32 as slow (removed);
# MAX_AVG_T=4 17/17 edges, 2048 / 1024 771 -> 405 us, 4096 / 1500 1128 -> 643, 300 / 150 117 -> 63.
# Ran (calls 3-4): reading the next token's operands a token ahead (PREFETCH=1) no faster (removed); a
# one-stage kernel instance for calls of <= 32 tokens brought back 4.0 / 5.1 / 5.8 us (96 registers),
# 100/100; MAX_AVG_T=4 the default since (17/17 edges). Calls 6-7: at 4 a new worst-case edge (one
# 1537-token chain beside 511 one-token sequences) was 1.33x slower than the chunked path: default 3.
# Pending (session 38, from call 5's band-3 chains: results/gpu/2026-11-28-s38/05-gdn-bench/band3-chains.md):
# the three-sequence calls on the apart scan. The state-only scan steps a chunk in 0.74-0.94 us on one or
# two sequences, the split / mixed scans in 1.38-1.75. a01a3f93 ([2, 18, 18] chunks, 1.99x FLA on the
# H200, 1.84 on the H100) runs a 20-step chain on the 16-column split scan (192 CTAs on 132 SMs).
# Session 39 (results/gpu/2026-11-28-s39 call 1) ran session 38's list: the three-sequence calls apart
# (APART_MAX_SEQS=3, APART_MIN_T=512) slower on all six (2284 / 3 39.4 -> 46.7 us); RECURRENT_MIN_BLOCKS
# 1 / 3 faster on one long chain (1536 / 512 375 -> 267 us) and slower on many sequences (2048 / 1024
# 407 -> 475); both stay tunables at their defaults.
# Also pending, on an H100 when one is lent: `moe-bench.sh --trials 1` (session 35's MoE band switches;
# predicted T=901 ~529 -> ~505 us) and `gdn-bench.sh both --trials 1` (the recurrent path's <= 128 band
# and band 3 on that card; session 33: band 3 worst 1.84).
# Session 39 call 2: GDN_PREFILL_SPLIT_PAIR=1 passed 100/100 but was slower on every split call (removed;
# commit 762737c has it).
# Pending (session 39, written after the last device call; kernel_syntax.py only): MOE_GEMM1_LATE_RELEASE=1,
# the split-tile GEMM1 no longer letting the SwiGLU pass launch early (its waiting CTAs, one per local
# pair, sat resident beside GEMM1: T=16's GEMM1 took 87.8 us in the call against 78.9 alone under ncu).
# Predicted: T=16 -1..-2 us at most (PDL releases the dependents only when every GEMM1 CTA has released
# or exited: the SwiGLU CTAs can sit beside GEMM1's last wave only); T > 192 unchanged. More than that
# would mean the release rule is not what the hardware does. Run with SWEEP_ROUNDS=2;
# all 19 if the quick rows pass; the portable build's quick rows too. If it holds, the same question
# for every other early release whose dependents wait resident beside a long bandwidth-bound kernel.
# Also pending (a measurement, not a check; after the checks, in the same call): whether the MoE T=16
# GEMM1's ~9 us in the timed call is sustained-load clocks. The flush_state.py states "stream" (flush
# and call back to back, as the harness) against "idle" (2 ms of idle GPU before each call):
#   agentforge bench --definition $moe --baseline --trials 1 --workloads a7c2bcfd --reference-iterations 0 --json $OUT/b.jsonl
#   python3 scripts/yardsticks/flush_state.py LIBRARY_FROM_b.jsonl $FIB_DATASET_PATH/definitions/.../moe_fp8_*.json seq_len=16
# Predicted, if clocks: stream ~8-10 us slower than idle; if not, within ~1 us.
# Nothing else pending: add a line here for each variant written without a GPU.
# Session 40 (results/gpu/2026-11-28-s40 call 1) ran it: even (T=16 136.1 -> 136.6 us), 19/19, portable
# even. With MOE_PDL=0 GEMM1 still took 85.4 us at T=16 (78.9 alone under ncu): not PDL. Pending
# (session 40): MOE_WEIGHT_EVICT_FIRST=1, W1 and W2 read with an L2 evict-first policy in the
# cp.async kernels, so that the stream does not evict (and write back) the flush's dirty lines.
# Predicted GEMM1 -5..-7 us at T=7-55, GEMM2 even, T=901 unchanged. Then flush_state.py (now with
# the GPU spinning while the host issues) on both libraries at T=16.
# Session 40 (calls 2-8) ran it through six forms: every form with the policy beside a shared
# address ptxas split into [R + UR] trapped (illegal instruction, CUDA 13.0 ptxas); the form with a
# per-thread zero beside each copy ran 19/19 but was slower from T=14 (T=7 -2.2 us, T=55 +10). Kept
# as MOE_WEIGHT_EVICT_FIRST=1, default 0.
# Pending (session 40, written after call 8): MOE_WEIGHT_TMA, gemm1_fp8_kernel's W1 stages as two TMA
# boxes a stage (1: with an L2 evict-first policy, 2: without), waited on an mbarrier a slot.
# Predicted at T=16: 2 about even (GEMM1 ~87 us), 1 GEMM1 -5..-8 us (the flush's dirty lines left in
# L2), the call ~138 -> ~131 us. Two rounds; all 19 and the portable build's quick rows.
# Session 40 call 9 ran it (one round, T=7 / 16 / 32 / 55): every row passed; 2 even, 1 slower (T=16
# 138.3 -> 149.3 us, GEMM2 unchanged yet +3.5: it now writes back the flush's dirty lines). Pending:
# MOE_WEIGHT_TMA=3 (1 with the map's L2 promotion off), alone and with W2 evict-first by the cp.async
# form (MOE_WEIGHT_EVICT_FIRST=1: its per-copy cost, ~+2.6 us on GEMM2 at T=16, but the write-backs
# then fall to the next call's flush). Predicted at T=16: 3 GEMM1 ~85 us (below 2's 91) and GEMM2
# +3.5 again; 3 with EVICT_FIRST GEMM2 ~+2.6 only, the call ~-3 us. A gain that holds would be worth
# GEMM2's tiles as TMA boxes too (no per-copy cost).
# Also pending (written after that): MOE_WEIGHT_TMA_W2, gemm2_small_kernel's W2 stages as 64-row
# boxes (1: evict-first, 2: plain), so that with both GEMMs' weights evict-first the dirty lines stay
# in L2 until the next call's flush. Predicted at T=16 with MOE_WEIGHT_TMA=3: GEMM1 ~85 us, GEMM2
# ~43-44 (even), the call ~133 (from ~138). Two rounds; all 19 with it if the quick rows pass; then
# memcheck and racecheck on one T=16 call (new mbarrier pipelines in both GEMMs):
#   FUSED_DEFINITION=$moe FUSED_SANITIZE_DEFINES="MOE_WEIGHT_TMA=3 MOE_WEIGHT_TMA_W2=1" \
#     FUSED_SANITIZE_WORKLOAD=a7c2bcfd FUSED_SANITIZE_TOOLS="memcheck racecheck" FUSED_SWEEP=0 \
#     bash scripts/device/gdn-fused-check.sh
# The cp.async policy copies of the third setting can be checked for ptxas's miscompile first, with no
# timing: `scripts/device/sass-policy-check.sh $moe -DMOE_WEIGHT_TMA=3 -DMOE_WEIGHT_EVICT_FIRST=1`
# (should print "no odd descriptors").
checks=(
  "$moe|b8f4f012 8cba5890 a7c2bcfd 6230e838 81955b1e|MOE_WEIGHT_TMA=3,MOE_WEIGHT_TMA_W2=1|MOE_WEIGHT_TMA=2,MOE_WEIGHT_TMA_W2=2 MOE_WEIGHT_TMA=3 MOE_WEIGHT_TMA=3,MOE_WEIGHT_EVICT_FIRST=1||"
  "$moe|b8f4f012 a7c2bcfd 81955b1e|MOE_WEIGHT_TMA=3,MOE_WEIGHT_TMA_W2=1|MOE_WEIGHT_TMA=2,MOE_WEIGHT_TMA_W2=2|quick|--target portable"
)
# A call has 10 minutes: no check starts after PENDING_DEADLINE seconds (default 420), so the ones
# that ran report instead of the call being cut mid-check; the rest are named for the next call.
started=$(date +%s)
for check in "${checks[@]}"; do
  IFS='|' read -r definition workloads variant others scope args <<< "$check"
  if [ $(( $(date +%s) - started )) -ge "${PENDING_DEADLINE:-420}" ]; then
    echo "== not started (deadline ${PENDING_DEADLINE:-420} s): $variant on $workloads ${args:-}"
    continue
  fi
  # ONLY=<part of a definition name> runs the checks of matching definitions alone.
  case "$definition" in *"${ONLY:-}"*) ;; *) continue ;; esac
  settings=("" "$variant")
  # More settings to compare: space-separated (a setting itself is NAME=V[,NAME=V]).
  if [ -n "$others" ]; then read -ra more <<< "$others"; settings+=("${more[@]}"); fi
  echo "== $definition: default vs $variant ${others:+vs $others}"
  rm -f "$out/sweep.jsonl"
  OUT="$out" SWEEP_ARGS="${args:-}" bash scripts/device/sweep.sh "$definition" "$workloads" "${settings[@]}" | tail -n $(( ${#settings[@]} + 1 + (${SWEEP_ROUNDS:-1} > 1 ? 1 : 0) ))
  # Per kernel: median duration and time added to the span, per workload and setting.
  python3 scripts/device/timeline.py --phases "$out/sweep.jsonl"
  # A variant's rows are named NAME=V[...] in brackets, plus @target when --target was given.
  # The rows that gate the full run: the variant's, or with "full-default" the default's (no brackets).
  gate="$variant"; [ "${scope:-}" = "full-default" ] && gate=""
  passed=$(python3 -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; name=lambda r: r['candidate'].split('@')[0]; print(sum(1 for r in rows if (name(r).endswith('[' + sys.argv[2] + ']') if sys.argv[2] else not name(r).endswith(']')) and r['status'].startswith('PASS')))" "$out/sweep.jsonl" "$gate")
  # Each workload is timed SWEEP_ROUNDS times, and every round's row has to pass.
  expected=$(( $(wc -w <<< "$workloads") * ${SWEEP_ROUNDS:-1} ))
  if [ "$passed" = "$expected" ] && [[ "${scope:-}" == *sanitize* ]]; then
    # "sanitize" in the fifth field: compute-sanitizer (racecheck, synccheck, memcheck) on one call
    # of the definition's sanitize workload, for the variant and each further setting.
    for setting in "$variant" ${others:-}; do
      FUSED_DEFINITION="$definition" FUSED_SANITIZE_DEFINES="${setting//,/ }" FUSED_SWEEP=0 \
        bash scripts/device/gdn-fused-check.sh 2>&1 | tail -n 4
    done
  fi
  if [ "$passed" = "$expected" ] && [[ "${scope:-}" == *quick* ]]; then
    echo "$variant: every quick workload passed (full run skipped for this check)"
  elif [ "$passed" = "$expected" ]; then
    # "full-default" as the fifth field: the full run takes the default (a new default, checked
    # against the setting it replaced in the sweep), not the variant.
    defines_of "$variant"
    [ "${scope:-}" = "full-default" ] && defines=()
    # The reference's outputs only (no timed reference calls: no speedup is read here), 4 at a time.
    timeout "${PENDING_FULL_TIMEOUT:-420}" agentforge bench --definition "$definition" --baseline --trials 1 "${defines[@]}" ${args:-} \
      --reference-iterations 0 --oracle-processes 4 --json "$out/pending-full.jsonl" >> "$out/pending-full.log" 2>&1
    grep -E "^$definition: .*passed" "$out/pending-full.log" | tail -n 1
    python3 - "$out/pending-full.jsonl" "$gate" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
name = lambda r: r["candidate"].split("@")[0]
rows = [r for r in rows if (name(r).endswith("[" + sys.argv[2] + "]") if sys.argv[2] else not name(r).endswith("]")) and r.get("launch_gaps_ms") is not None]
if rows:
    gaps = sorted(r["launch_gaps_ms"] * 1e3 for r in rows)
    print(f"  launch gaps (span - kernel sum): min {gaps[0]:.1f} us, median {statistics.median(gaps):.1f} us, max {gaps[-1]:.1f} us")
PY
  else
    echo "${gate:-default}: $passed of the quick workloads' $expected rows passed; see $out/sweep.log"
    grep -m 3 -E "error|INCORRECT|RUNTIME" "$out/sweep.log" | cut -c1-300
  fi
done
