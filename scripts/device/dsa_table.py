"""Per DSA definition and workload band: latency (GPU span), floor ratio, speedup over the
reference and launch gaps, from `agentforge bench --json` rows.
    python3 scripts/device/dsa_table.py BENCH.jsonl"""
import json
import statistics
import sys

# Bands named by issue #7: attention by tokens (its targets are at 1 and 8 tokens), the indexer by
# pages (<= 32 pages fit in 2048 tokens and take the pass-through path; 82-91 pages is the target).
BANDS = {
    "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64": (
        "num_tokens", [("1 token", 1, 1), ("2 tokens", 2, 2), ("3-5 tokens", 3, 5), ("6-8 tokens", 6, 8)]),
    "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64": (
        "max_num_pages", [("<= 32 pages (pass-through)", 0, 32), ("33-45 pages", 33, 45), ("46-81 pages", 46, 81),
                          ("82-91 pages", 82, 91)]),
}


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    for definition, (axis, bands) in BANDS.items():
        mine = [r for r in rows if r["definition"] == definition]
        if not mine:
            continue
        device = mine[0].get("device", "?")
        print(f"\n{definition} ({device}; {len(mine)} rows, {sum(r['status'].startswith('PASS') for r in mine)} passed)")
        print(f"{'band':28} {'n':>3} {'latency us mean [min, max]':>28} {'x floor':>8} {'speedup':>8} {'gaps us max':>11}")
        for name, low, high in bands:
            band = [r for r in mine if low <= r["axes"][axis] <= high and r.get("latency_ms")]
            if not band:
                continue
            lat = [r["latency_ms"] * 1e3 for r in band]
            floor = statistics.mean(r["floor_ratio"] for r in band if r.get("floor_ratio"))
            speedup = statistics.geometric_mean(r["speedup"] for r in band if r.get("speedup"))
            gaps = max((r.get("launch_gaps_ms") or 0.0) * 1e3 for r in band)
            cell = f"{statistics.mean(lat):.1f} [{min(lat):.1f}, {max(lat):.1f}]"
            print(f"{name:28} {len(band):3d} {cell:>28} {floor:8.2f} {speedup:8.1f} {gaps:11.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
