"""What fraction of the copy bandwidth a plain copy reaches at the byte counts of GDN decode.

Issue #4 asks decode to move its state at >= 90% of the measured copy bandwidth for batch >= 16.
The harness measures that bandwidth with a 1 GiB copy; a decode call moves 512 KiB read + 512 KiB
written per sequence (8 heads x 128 x 128 fp32), so B=16 is an 8 MiB copy (16 MiB moved), where the
launch ramp and tail weigh more. This
script times torch's copy kernel (L2 flushed, kernel time from the profiler) at those sizes and at
1 GiB, and prints the fraction each size reaches: the ceiling any single kernel can expect.
    python3 scripts/yardsticks/copy_ramp.py [--batches 1 4 8 16 32 48 64]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from measure import flush_buffer, kernel_time_ms  # noqa: E402

MIB = 1 << 20


def copy_gbps(n_bytes, flush, iterations):
    src = torch.empty(n_bytes // 4, dtype=torch.float32, device="cuda").uniform_()
    dst = torch.empty_like(src)
    ms = kernel_time_ms(lambda: dst.copy_(src), flush, iterations)
    return 2 * n_bytes / (ms * 1e-3) / 1e9, ms  # read + write


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 4, 8, 16, 32, 48, 64])
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    flush = flush_buffer()
    big, _ = copy_gbps(1024 * MIB, flush, 5)
    print(f"{torch.cuda.get_device_name(0)}: 1 GiB copy {big:.0f} GB/s (read + write)")
    print(f"{'B':>4} {'bytes moved':>12} {'copy us':>9} {'GB/s':>7} {'fraction':>9}")
    for b in args.batches:
        gbps, ms = copy_gbps(b * MIB // 2, flush, args.iterations)
        print(f"{b:4d} {b:9d} MiB {ms * 1e3:9.2f} {gbps:7.0f} {gbps / big:9.2f}")


if __name__ == "__main__":
    main()
