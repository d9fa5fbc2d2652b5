"""Per MoE workload: active local experts, our latency (GPU span) and floor ratio, speedup over the
reference, and the SGLang-derived Triton path's kernel time on the same GPU in the same call."""
import json
import sys


def number(value):
    """A JSON number, or NaN for null and for the trace's "Infinity"/"NaN" strings."""
    return float(value) if isinstance(value, (int, float)) else float("nan")


def floor_megabytes(row):
    """Bytes behind the memory floor: floor time x the copy bandwidth the harness measured."""
    floor_ms, gbps = number(row.get("floor_memory_ms")), number(row.get("copy_bandwidth_gbps"))
    return floor_ms * 1e-3 * gbps * 1e9 / 1e6


def rows_by_uuid(path):
    """The rows of a .jsonl file keyed by workload uuid (a later row of the same workload wins)."""
    with open(path) as f:
        return {row["uuid"]: row for row in (json.loads(line) for line in f if line.strip())}


def main(ours_path, triton_path):
    ours = rows_by_uuid(ours_path)
    triton = rows_by_uuid(triton_path)
    print(f"{'workload':9} {'T':>6} {'active':>6} {'MB':>7} {'status':>8} {'ours us':>10} {'x floor':>8} {'speedup':>8} {'triton us':>10} {'triton/ours':>11} {'triton matched':>14} {'ours matched':>12} {'ours @1e-2':>10} {'gaps us':>8} {'NVML MHz':>8}")
    for uuid, r in sorted(ours.items(), key=lambda kv: kv[1]["axes"]["seq_len"]):
        t = triton.get(uuid, {})
        lat = r.get("latency_ms")
        tr = t.get("triton_kernel_ms")
        ratio = tr / lat if lat and tr else float("nan")
        print(f"{uuid[:8]:9} {r['axes']['seq_len']:6d} {t.get('active_experts', -1):6d} {floor_megabytes(r):7.0f} {r['status'][:8]:>8} "
              f"{(lat or float('nan')) * 1e3:10.1f} {r.get('floor_ratio') or float('nan'):8.2f} {r.get('speedup') or float('nan'):8.1f} "
              f"{(tr or float('nan')) * 1e3:10.1f} {ratio:11.2f} {t.get('matched', float('nan')):14.4f} "
              f"{number(r.get('matched_ratio')):12.4f} {number(r.get('matched_ratio_at_default_tolerance')):10.4f} "
              f"{number(r.get('launch_gaps_ms')) * 1e3:8.1f} {number(r.get('nvml_sm_clock_mhz')):8.0f}")
    print("triton/ours > 1: ours is faster. Ours: GPU span (CUPTI) in the harness; Triton: sum of kernel times, routing excluded.")
    print("ours matched: worst matched ratio under the contest tolerance (atol 1, rtol 0.3); @1e-2: under FlashInfer-Bench's default;")
    print("gaps: span minus the sum of kernel times (issue #6 asks < 5 us). NVML MHz: NVML's SM clock setting while our calls were timed (nan without NVML; not the clock a heavy kernel runs at, see README).")
    print("MB: the bytes the memory floor counts (weights of the active experts, activations, output), from the floor and the copy bandwidth.")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
