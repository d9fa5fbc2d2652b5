"""What every yardstick script shares: the definition's reference, the L2 flush buffer, and the two
timings (the GPU's kernel-busy time through the torch profiler, and the CUDA-event span of the call),
both with the L2 flushed before each call.
  python3 scripts/yardsticks/measure.py --self-test    checks the busy-time arithmetic (no GPU, no torch)"""
import json
import os
import statistics
import sys


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def reference_fn(definition):
    scope = {}
    exec(definition["reference"], scope)
    return scope["run"]


def flush_buffer():
    import torch
    props = torch.cuda.get_device_properties(0)
    return torch.empty(2 * props.L2_cache_size // 4 + 1024, dtype=torch.float32, device="cuda")


def busy_us(intervals):
    """Length of the union of (start, end) intervals: the time at least one kernel ran. Sequential
    kernels give the sum of their durations; kernels that overlap (a programmatic dependent running
    beside its primary) count once, where a sum would count the overlap twice."""
    total, reach = 0.0, None
    for start, end in sorted(intervals):
        if reach is None or start >= reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def is_flush_kernel(name):
    """The L2 flush's kernel (torch's fill_: an elementwise kernel on FillFunctor). Matching "fill"
    alone also took every kernel with "prefill" in its name for the flush (the GDN prefill's fused
    kernel went uncounted: ours_kernel_ms 0 on every workload of <= 64 tokens until 2026-11-28)."""
    return "fillfunctor" in name.lower()


class Call:
    """One profiled call: its kernels' durations in us by name, and their (start, end) intervals."""

    def __init__(self):
        self.durations = {}
        self.intervals = []
        self.kernels = 0

    def add(self, name, duration_us, interval=None):
        self.durations[name] = self.durations.get(name, 0.0) + duration_us
        self.kernels += 1
        # An interval counts only where its length is the kernel's duration (the same clock).
        if interval is not None and abs((interval[1] - interval[0]) - duration_us) <= 0.01 * duration_us + 0.5:
            self.intervals.append(interval)

    def busy_us(self):
        # Every kernel with its interval: the union; else (a profiler without them, or intervals on
        # another clock than the durations) the sum, as before intervals were read.
        if self.kernels and len(self.intervals) == self.kernels:
            return busy_us(self.intervals)
        return sum(self.durations.values())


def profile_calls(fn, flush, iterations):
    """One profiled pass: for each call (L2 flushed before it), a Call with its GPU kernel durations
    in us by kernel name (summed when a name launches several times in one call; the flush excluded)
    and each kernel's device interval."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    calls = []
    # The flush and the call are issued back to back, as the AgentForge harness and FlashInfer's CUPTI
    # timing (flashinfer.testing.bench_gpu_time_with_cupti: zero the flush buffer, call, synchronize)
    # issue them: a call then pays for the flush's tail, ~0.6-1.1 us on an H100 (session 34, call 7).
    # YARDSTICK_FLUSH_SYNC=1 synchronizes after the flush instead, as this script did through session 33.
    sync_after_flush = os.environ.get("YARDSTICK_FLUSH_SYNC", "0") == "1"
    for i in range(iterations):
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            flush.fill_(float(i))  # profiled too; is_flush_kernel leaves it out of the call's kernels
            if sync_after_flush:
                torch.cuda.synchronize()
            fn()
            torch.cuda.synchronize()
        call = Call()
        for e in prof.events():
            if e.device_type == torch.autograd.DeviceType.CUDA and not is_flush_kernel(e.name):
                span = getattr(e, "time_range", None)
                interval = (span.start, span.end) if span is not None and span.end > span.start else None
                call.add(e.name[:80], e.device_time, interval)
        calls.append(call)
    return calls


def kernel_time_of(calls):
    """Median over calls of the GPU's kernel-busy time, ms (launch gaps excluded, overlap counted once)."""
    return statistics.median(call.busy_us() for call in calls) / 1000.0


def kernel_breakdown_of(calls):
    """Median duration of each kernel over the calls, us."""
    names = {name for call in calls for name in call.durations}
    return {name: statistics.median(call.durations[name] for call in calls if name in call.durations) for name in names}


def kernel_time_ms(fn, flush, iterations):
    return kernel_time_of(profile_calls(fn, flush, iterations))


def event_span_ms(fn, flush, iterations):
    """Median CUDA-event span around the call (host launch overhead included)."""
    import torch
    spans = []
    for i in range(iterations):
        flush.fill_(float(i))
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        spans.append(start.elapsed_time(end))
    return statistics.median(spans)


def time_call(fn, flush, warmup, iterations):
    """(kernel_time_ms, event_span_ms, per-kernel us) after warm-up calls: one profiled pass."""
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    span = event_span_ms(fn, flush, iterations)
    calls = profile_calls(fn, flush, iterations)
    return kernel_time_of(calls), span, kernel_breakdown_of(calls)


def self_test():
    assert busy_us([]) == 0.0
    assert busy_us([(0, 10), (12, 20)]) == 18.0, "sequential kernels: the sum"
    assert busy_us([(0, 30), (5, 25)]) == 30.0, "a kernel inside another counts once"
    assert busy_us([(10, 40), (0, 20), (35, 50)]) == 50.0, "overlaps in any order"
    call = Call()
    call.add("prep", 10.0, (0.0, 10.0))
    call.add("scan", 30.0, (9.0, 39.0))
    call.add("output", 28.0, (12.0, 40.0))
    assert call.busy_us() == 40.0 and sum(call.durations.values()) == 68.0
    bare = Call()
    bare.add("copy", 5.0)
    bare.add("copy", 7.0, (0.0, 7.0))
    assert bare.busy_us() == 12.0, "a kernel without its interval: the sum"
    skewed = Call()
    skewed.add("a", 10.0, (0.0, 1.0))
    skewed.add("b", 10.0, (0.5, 1.5))
    assert skewed.busy_us() == 20.0, "intervals on another clock than the durations: the sum"
    assert is_flush_kernel("void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, std::array<char*, 1ul> >")
    assert not is_flush_kernel("gdn_prefill_fused_kernel(__nv_bfloat16 const*)"), "a prefill kernel is not the flush"
    print("self-test passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        print(__doc__)
