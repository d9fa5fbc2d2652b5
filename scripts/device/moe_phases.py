"""Where a MoE call's time goes, per workload, from `agentforge bench --json` rows of the baseline
(their "timeline": the kernels of one timed call, CUPTI times relative to its first start).
    python3 scripts/device/moe_phases.py BENCH.jsonl [WORKLOAD_PREFIX ...]
Per row: T, the active local experts (from the memory floor's bytes: weights of the experts that
receive tokens, plus activations and output), when routing ends, GEMM1's time after routing and the
rate it reads W13 at, the SwiGLU pass's time after GEMM1, GEMM2's time after SwiGLU and its W2
rate, the tail after GEMM2 (the bf16 conversion) and the fixed costs (routing + SwiGLU + tail) as a
share of the floor. Rows without a split SwiGLU pass (large T: SwiGLU in GEMM1, a combine kernel)
print the kernels they have. Why: session 16 found GEMM1 reading at 3.05 TB/s with 5 experts and
4.1 with 30 while GEMM2 stayed near the copy rate; this prints that for every workload at once."""
import sys

from timeline import bench_rows  # scripts/device/timeline.py: the bench rows, filtered by workload

HIDDEN, INTER = 7168, 2048
W13_BYTES = 2 * INTER * HIDDEN  # one expert's GEMM1 weights (fp8)
W2_BYTES = HIDDEN * INTER       # one expert's GEMM2 weights (fp8)
SCALE_BYTES = 4 * ((2 * INTER // 128) * (HIDDEN // 128) + (HIDDEN // 128) * (INTER // 128))
EXPERT_BYTES = W13_BYTES + W2_BYTES + SCALE_BYTES


def active_experts(row):
    """The floor's weight bytes over one expert's: the floor counts the hidden states (fp8 and their
    scales) and the bf16 output besides the active experts' weights."""
    T = row["axes"]["seq_len"]
    floor_bytes = row["floor_memory_ms"] * 1e-3 * row["copy_bandwidth_gbps"] * 1e9
    other = T * HIDDEN * (1 + 2) + T * (HIDDEN // 128) * 4
    return max(0, round((floor_bytes - other) / EXPERT_BYTES))


def phases(row):
    """The line printed for one row (or a note when its kernels are not the split small-T ones)."""
    T = row["axes"]["seq_len"]
    timeline = row.get("timeline") or []
    by_prefix = lambda prefix: next((e for e in timeline if (e.get("name") or "").startswith(prefix)), None)
    end = lambda e: e["start_us"] + e["duration_us"]
    routing, gemm1, swiglu, gemm2 = by_prefix("moe_routing"), by_prefix("gemm1"), by_prefix("swiglu_kernel"), by_prefix("gemm2")
    span = row["latency_ms"] * 1e3
    experts = active_experts(row)
    head = f"{row['uuid'][:8]} T={T:<6d} experts {experts:2d} span {span:7.1f} us"
    if None in (routing, gemm1, swiglu, gemm2) or experts == 0:
        names = " ".join((e.get("name") or e["kind"]) for e in timeline)
        return f"{head}  ({names or 'no timeline'})"
    g1 = end(gemm1) - end(routing)
    sw = end(swiglu) - end(gemm1)
    g2 = end(gemm2) - end(swiglu)
    tail = span - end(gemm2)
    fixed = end(routing) + sw + tail
    floor = row["floor_ms"] * 1e3
    return (f"{head}  routing {end(routing):4.1f}  GEMM1 {g1:6.1f} us {experts * W13_BYTES / g1 / 1e6:4.2f} TB/s"
            f"  SwiGLU +{sw:4.1f}  GEMM2 {g2:6.1f} us {experts * W2_BYTES / g2 / 1e6:4.2f} TB/s  tail {tail:4.1f}"
            f"  fixed {fixed:4.1f} us = {fixed / floor:4.1%} of the floor {floor:.1f}")


def main(path, prefixes):
    rows = bench_rows(path, prefixes)
    print(f"copy bandwidth {rows[0]['copy_bandwidth_gbps']:.0f} GB/s ({rows[0].get('device', '?')})" if rows else "no rows")
    for row in sorted(rows, key=lambda r: r["axes"]["seq_len"]):
        print(phases(row))


def self_test():
    kernel = lambda name, start, dur: {"kind": "kernel", "name": name, "start_us": start, "duration_us": dur}
    bandwidth = 4000.0
    floor_bytes = 5 * EXPERT_BYTES + 7 * HIDDEN * 3 + 7 * (HIDDEN // 128) * 4
    row = {"uuid": "b8f4f012-aaaa", "axes": {"seq_len": 7}, "latency_ms": 0.0771, "copy_bandwidth_gbps": bandwidth,
           "floor_memory_ms": floor_bytes / (bandwidth * 1e9) * 1e3, "floor_ms": floor_bytes / (bandwidth * 1e9) * 1e3,
           "timeline": [kernel("moe_zero_counts_kernel", 0.0, 0.7), kernel("moe_routing_wide_kernel", 0.7, 4.0),
                        kernel("gemm1_fp8_kernel", 1.4, 50.0), kernel("swiglu_kernel", 5.6, 49.4),
                        kernel("gemm2_small_kernel", 52.0, 22.3), kernel("moe_to_bf16_kernel", 56.0, 21.1)]}
    assert active_experts(row) == 5, active_experts(row)
    line = phases(row)
    # routing ends at 4.7; GEMM1 51.4 - 4.7 = 46.7 us for 5 x 29.36 MB; SwiGLU ends 55.0 (+3.6);
    # GEMM2 74.3 - 55.0 = 19.3 us; the tail 77.1 - 74.3 = 2.8; fixed 4.7 + 3.6 + 2.8 = 11.1 us.
    assert "routing  4.7" in line and "GEMM1   46.7 us 3.14 TB/s" in line, line
    assert "SwiGLU + 3.6" in line and "GEMM2   19.3 us 3.80 TB/s" in line and "tail  2.8" in line, line
    assert "fixed 11.1 us" in line, line
    large = {**row, "axes": {"seq_len": 901}, "timeline": [kernel("gemm1_wgmma_kernel", 0, 1), kernel("moe_combine_kernel", 1, 1)]}
    assert phases(large).endswith("(gemm1_wgmma_kernel moe_combine_kernel)"), phases(large)
    print("self-test passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        main(sys.argv[1], sys.argv[2:])
