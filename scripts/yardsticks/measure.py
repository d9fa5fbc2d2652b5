"""What every yardstick script shares: the definition's reference, the L2 flush buffer, and the two
timings (sum of GPU kernel times through the torch profiler, and the CUDA-event span of the call),
both with the L2 flushed before each call."""
import json
import statistics

import torch


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def reference_fn(definition):
    scope = {}
    exec(definition["reference"], scope)
    return scope["run"]


def flush_buffer():
    props = torch.cuda.get_device_properties(0)
    return torch.empty(2 * props.L2_cache_size // 4 + 1024, dtype=torch.float32, device="cuda")


def profile_calls(fn, flush, iterations):
    """One profiled pass: for each call (L2 flushed before it), its GPU kernel durations in us by
    kernel name (summed when a name launches several times in one call; the flush excluded)."""
    from torch.profiler import ProfilerActivity, profile
    calls = []
    for i in range(iterations):
        flush.fill_(float(i))
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        call = {}
        for e in prof.events():
            if e.device_type == torch.autograd.DeviceType.CUDA and "fill" not in e.name.lower():
                call[e.name[:80]] = call.get(e.name[:80], 0.0) + e.device_time
        calls.append(call)
    return calls


def kernel_time_of(calls):
    """Median over calls of the sum of the call's GPU kernel durations, ms (launch gaps excluded)."""
    return statistics.median(sum(call.values()) for call in calls) / 1000.0


def kernel_breakdown_of(calls):
    """Median duration of each kernel over the calls, us."""
    names = {name for call in calls for name in call}
    return {name: statistics.median(call[name] for call in calls if name in call) for name in names}


def kernel_time_ms(fn, flush, iterations):
    return kernel_time_of(profile_calls(fn, flush, iterations))


def event_span_ms(fn, flush, iterations):
    """Median CUDA-event span around the call (host launch overhead included)."""
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
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    span = event_span_ms(fn, flush, iterations)
    calls = profile_calls(fn, flush, iterations)
    return kernel_time_of(calls), span, kernel_breakdown_of(calls)
