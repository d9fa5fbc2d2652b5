"""How much of a call's time is the L2 flush's write-back: a built candidate timed after five L2 states.

The harness (EVALUATION.md) writes a buffer of twice the L2 size before each timed call, so the call
starts with L2 full of dirty lines that go back to DRAM while the call runs; the memory floor does
not count those bytes. Session 39 saw the MoE T=16 call's GEMM1 take ~87.5 us of the harness's span
and 78.9 us alone under ncu. This times the same library and inputs (CUDA events, median) after:
  write       the harness's flush (the buffer filled), the host synchronized before the call;
  write+read  the same fill, then a read of another buffer of twice L2 (a sum): L2 left clean;
  none        no flush (L2 as the previous call left it);
  stream      flush and call issued back to back for every iteration with no synchronization, as
              the harness's timed loop does (the GPU never idles between calls);
  idle        the write flush, then 2 ms of host sleep before the call (the GPU idle, cooling).
stream against idle separates a slowdown of sustained work (clocks under power) from the flush.
Before each timed call the GPU spins (torch.cuda._sleep) while the host issues it: the events then
time the GPU's work alone, as the harness's GPU span does. Session 39's version had no spin, and its
events timed the host's issue (stream 52 us, idle 193 us for one call); with the spin (session 40,
H200, MoE T=16 on random inputs, a ~30 us call) write 34.7, write+read 30.1, none 27.7 us: the
dirty lines cost that call ~4.7 us.
    python3 scripts/yardsticks/flush_state.py LIBRARY.so DEFINITION.json AXIS=VALUE ... [--iterations 30]
e.g. LIBRARY from `agentforge bench --json` (its "library" field), axes seq_len=16 for the MoE.
Inputs are random, shaped by the definition (fp8 from normal values; scales in [0.5, 1); int scalars
0, float scalars 1): the routing then picks random experts, so compare the states, not these
times with a workload's.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from afg_call import Candidate  # noqa: E402
from measure import flush_buffer  # noqa: E402

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
                "float8_e4m3fn": torch.float8_e4m3fn, "int64": torch.int64, "int32": torch.int32}


def shape_of(spec, axes):
    return [axes[a] if isinstance(a, str) else a for a in spec["shape"]]


def random_tensor(name, spec, axes):
    shape, dtype = shape_of(spec, axes), TORCH_DTYPES[spec["dtype"]]
    if "scale" in name:
        return torch.rand(shape, device="cuda") * 0.5 + 0.5
    if dtype in (torch.int64, torch.int32):
        return torch.zeros(shape, dtype=dtype, device="cuda")
    return torch.randn(shape, device="cuda").to(dtype)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("library")
    parser.add_argument("definition")
    parser.add_argument("axes", nargs="*", help="var axes as NAME=VALUE")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--spin-cycles", type=int, default=400_000,
                        help="GPU clock cycles spun before each timed call (~200 us at 1.98 GHz)")
    args = parser.parse_args()
    definition = json.load(open(args.definition))
    axes = {k: v["value"] for k, v in definition["axes"].items() if v.get("type") == "const"}
    for pair in args.axes:
        name, value = pair.split("=")
        axes[name] = int(value)
    inputs = {}
    for name, spec in definition["inputs"].items():
        if spec["shape"] is None:
            inputs[name] = 0 if spec["dtype"].startswith("int") else 1.0
        else:
            inputs[name] = random_tensor(name, spec, axes)
    outputs = {name: torch.empty(shape_of(spec, axes), dtype=TORCH_DTYPES[spec["dtype"]], device="cuda")
               for name, spec in definition["outputs"].items()}
    candidate = Candidate(args.library, definition)
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    flush = flush_buffer()  # the yardsticks' flush: twice L2, as the harness writes
    clean = flush_buffer().fill_(1.0)  # another such buffer, only read
    for _ in range(5):
        candidate(inputs, outputs)
    torch.cuda.synchronize()
    results = {}
    for state in ("write", "write+read", "none", "stream", "idle", "write"):
        events = []
        for i in range(args.iterations):
            if state != "none":
                flush.fill_(float(i))
            if state == "write+read":
                clean.sum()
            if state != "stream":
                torch.cuda.synchronize()
            if state == "idle":
                time.sleep(0.002)
            # The GPU spins while the host issues the call, so that the events time the GPU's work
            # and not the host's issue (session 39's events without this read 52 us "stream" against
            # 86-139 us synchronized: the host's launches, not the L2 state).
            torch.cuda._sleep(args.spin_cycles)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            candidate(inputs, outputs)
            end.record()
            events.append((start, end))
            if state != "stream":
                torch.cuda.synchronize()
        torch.cuda.synchronize()
        times = [start.elapsed_time(end) * 1e3 for start, end in events]
        results.setdefault(state, []).append(statistics.median(times))
    print(f"{torch.cuda.get_device_name(0)}, L2 {l2 / 2**20:.0f} MiB, axes {args.axes}: median us of {args.iterations} calls")
    for state, medians in results.items():
        print(f"  {state:11} " + " / ".join(f"{m:.1f}" for m in medians))


if __name__ == "__main__":
    main()
