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


def kernel_time_ms(fn, flush, iterations):
    """Median over calls of the sum of the call's GPU kernel durations (launch gaps excluded)."""
    from torch.profiler import ProfilerActivity, profile
    sums = []
    for i in range(iterations):
        flush.fill_(float(i))
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        sums.append(sum(e.device_time for e in prof.events()
                        if e.device_type == torch.autograd.DeviceType.CUDA and "fill" not in e.name.lower()) / 1000.0)
    return statistics.median(sums)


def kernel_breakdown_us(fn, flush, iterations):
    """Median duration of each GPU kernel of the call, by kernel name (microseconds; summed when a
    name launches several times in one call)."""
    from torch.profiler import ProfilerActivity, profile
    per_name = {}
    for i in range(iterations):
        flush.fill_(float(i))
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        call = {}
        for e in prof.events():
            if e.device_type == torch.autograd.DeviceType.CUDA and "fill" not in e.name.lower():
                call[e.name] = call.get(e.name, 0.0) + e.device_time
        for name, us in call.items():
            per_name.setdefault(name, []).append(us)
    return {name[:80]: statistics.median(v) for name, v in per_name.items()}


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
    """(kernel_time_ms, event_span_ms) after warm-up calls."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    span = event_span_ms(fn, flush, iterations)
    return kernel_time_ms(fn, flush, iterations), span
