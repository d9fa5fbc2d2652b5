"""AgentForge reference oracle: runs a FlashInfer-Bench definition's `reference` code verbatim.

The reference code is the specification, so it is exec()'d unchanged and its `run` is called the
way FlashInfer-Bench calls it: positionally, inputs in definition order, under torch.no_grad().

Protocol (version 1): one JSON object per line. Requests arrive on stdin; responses leave on the
process's original stdout, which carries nothing else: the reference's prints and anything native
libraries write to fd 1 are redirected to stderr.

  {"id": 1, "op": "hello"}
    -> {"id": 1, "ok": true, "protocol": 1, "python": "3.11.7", "executable": "...", "pid": 123,
        "torch": "2.9.0", "cuda": "13.0", "cuda_available": true, "device_name": "NVIDIA H100",
        "safetensors": "0.6.2"}
  {"id": 2, "op": "run", "definition_name": "...", "reference": "<code>",
   "inputs_path": "/x/in.safetensors", "arg_order": ["q", "k", "scale"],
   "scalars": {"scale": {"dtype": "float32", "value": 0.5}}, "absent": ["state"],
   "outputs": ["output"], "output_dtypes": {"output": "bfloat16"},
   "output_path": "/x/out.safetensors", "timing": {"warmup": 1, "iterations": 3} | null,
   "device": "cuda"}
    -> {"id": 2, "ok": true, "outputs_path": "/x/out.safetensors", "latency_ms": 1.25 | null,
        "outputs": {"output": {"dtype": "bfloat16", "shape": [4, 8]}}}
  {"id": 3, "op": "peak", "size": 8192, "iterations": 10}
    -> {"id": 3, "ok": true, "bf16_tflops": 790.1, "fp8_tflops": 1450.2 | null, "device_name": "..."}
  {"id": 4, "op": "shutdown"} -> {"id": 4, "ok": true}, then the process exits.

A failure is {"id": .., "ok": false, "kind": K, "error": "one line", "traceback": "..." | null}
with K one of reference_error (the reference raised or returned something unusable),
input_error, missing_module, no_device, bad_request, internal_error. "restart": true means the
process is exiting because its CUDA context is unusable; the client starts a new one.
"""

import gc
import hashlib
import json
import linecache
import os
import statistics
import sys
import time
import traceback
import types

PROTOCOL_VERSION = 1


def _open_protocol_stream():
    # Keep a private copy of fd 1 for the protocol, then point fd 1 at stderr so that prints from
    # the reference, from torch, or from native code cannot corrupt the response stream.
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", encoding="utf-8", buffering=1)


_protocol = _open_protocol_stream()


class RequestError(Exception):
    def __init__(self, kind, message, tb=None, restart=False):
        super().__init__(message)
        self.kind = kind
        self.tb = tb
        self.restart = restart


def _send(message):
    _protocol.write(json.dumps(message) + "\n")
    _protocol.flush()


def _import_torch():
    try:
        import torch
    except Exception as e:  # ImportError, or a broken install raising anything else
        raise RequestError("missing_module", f"python3 at {sys.executable} has no torch: {type(e).__name__}: {e}")
    return torch


def _import_safetensors():
    try:
        import safetensors.torch as st
    except Exception as e:
        raise RequestError("missing_module", f"python3 at {sys.executable} has no safetensors: {type(e).__name__}: {e}")
    return st


def _reference_traceback(error):
    # Drop the oracle's own frame: the traceback starts in the reference code.
    tb = error.__traceback__.tb_next if error.__traceback__ is not None else None
    return "".join(traceback.format_exception(type(error), error, tb))


def _is_fatal_cuda_error(error):
    text = str(error)
    return "CUDA error" in text or "device-side assert" in text or "illegal memory access" in text


_references = {}


def _reference_module(name, code):
    """The reference code executed once per (definition, code) in a fresh module namespace."""
    key = (name, hashlib.sha256(code.encode("utf-8")).hexdigest())
    module = _references.get(key)
    if module is not None:
        return module
    filename = f"<reference {name}>"
    # Registering the source lets tracebacks quote the reference's lines.
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    module = types.ModuleType(f"agentforge_reference_{key[1][:12]}")
    module.__file__ = filename
    try:
        exec(compile(code, filename, "exec"), module.__dict__)
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        raise RequestError("reference_error", f"the reference of {name} failed to load: {type(e).__name__}: {e}",
                           _reference_traceback(e))
    if not callable(module.__dict__.get("run")):
        raise RequestError("reference_error", f"the reference of {name} defines no function `run`")
    _references[key] = module
    return module


def _scalar(name, spec):
    dtype = spec.get("dtype", "")
    value = spec.get("value")
    try:
        if dtype == "bool":
            return bool(value)
        if dtype.startswith("int") or dtype.startswith("uint"):
            return int(value)
        return float(value)  # float dtypes; "NaN"/"Infinity" arrive as strings and parse here
    except (TypeError, ValueError) as e:
        raise RequestError("bad_request", f"scalar '{name}': cannot make a {dtype} of {value!r}: {e}")


def _synchronize(torch, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _normalize(torch, name, result, outputs, output_dtypes):
    """The reference's return value as {output name: CPU tensor}, like FlashInfer-Bench's normalize_outputs."""
    if isinstance(result, torch.Tensor):
        values = [result]
    elif isinstance(result, dict):
        missing = [o for o in outputs if o not in result]
        if missing:
            raise RequestError("reference_error", f"the reference of {name} returned a dict without {missing}")
        values = [result[o] for o in outputs]
    elif isinstance(result, (tuple, list)):
        values = list(result)
    elif isinstance(result, (int, float, bool)):
        values = [result]
    else:
        raise RequestError("reference_error",
                           f"the reference of {name} returned {type(result).__name__}; expected a tensor, "
                           f"a tuple/list of tensors or a dict")
    if len(values) != len(outputs):
        raise RequestError("reference_error",
                           f"the reference of {name} returned {len(values)} value(s); the definition has "
                           f"{len(outputs)} output(s) {outputs}")
    tensors = {}
    for output, value in zip(outputs, values):
        if not isinstance(value, torch.Tensor):
            dtype = output_dtypes.get(output)
            value = torch.tensor(value, dtype=getattr(torch, dtype) if dtype else None)
        # save_file wants contiguous CPU tensors that share no storage; on CPU, .cpu() is a no-op.
        tensor = value.detach()
        tensor = tensor.cpu().contiguous() if tensor.device.type != "cpu" else tensor.contiguous().clone()
        tensors[output] = tensor
    return tensors


def _l2_flush_bytes(torch):
    try:
        l2 = int(getattr(torch.cuda.get_device_properties(torch.cuda.current_device()), "L2_cache_size", 0))
    except Exception:
        l2 = 0
    return 2 * (l2 if l2 > 0 else 64 * 1024 * 1024)


def _measure(torch, module, args, device, warmup, iterations):
    """Median latency in ms: warm-up calls, then each measured call alone, L2 flushed before it."""
    def call():
        with torch.no_grad():
            module.run(*args)

    for _ in range(warmup):
        call()
    times = []
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        flush = torch.empty(_l2_flush_bytes(torch) // 4, dtype=torch.int32, device=device)
        for _ in range(iterations):
            flush.zero_()
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            call()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        del flush
    else:
        for _ in range(iterations):
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000.0)
    return float(statistics.median(times))


def _op_hello(request):
    info = {
        "protocol": PROTOCOL_VERSION,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "pid": os.getpid(),
    }
    torch = _import_torch()
    st = _import_safetensors()
    info["torch"] = str(getattr(torch, "__version__", "unknown"))
    info["cuda"] = getattr(getattr(torch, "version", None), "cuda", None)
    available = bool(torch.cuda.is_available())
    info["cuda_available"] = available
    info["device_name"] = torch.cuda.get_device_name(0) if available else None
    package = sys.modules.get("safetensors")
    info["safetensors"] = str(getattr(package, "__version__", "unknown")) if package is not None else None
    del st
    return info


def _op_peak(request):
    """Dense matrix-product throughput of this GPU through torch: the 'measured peak' that the
    harness's compute floors divide by. bf16: torch.matmul; fp8 e4m3: torch._scaled_mm with unit
    scales (None where this torch or GPU has no fp8 path). Random data (zeros run faster)."""
    torch = _import_torch()
    if not torch.cuda.is_available():
        raise RequestError("no_device", f"torch {torch.__version__} at {sys.executable} sees no CUDA device")
    n = int(request.get("size") or 8192)
    iterations = int(request.get("iterations") or 10)

    def rate(fn):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iterations):
            fn()
        end.record()
        torch.cuda.synchronize()
        return 2.0 * n * n * n * iterations / (start.elapsed_time(end) * 1e-3) / 1e12

    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    result = {"size": n, "bf16_tflops": rate(lambda: a @ b), "fp8_tflops": None,
              "device_name": torch.cuda.get_device_name(0)}
    try:
        a8 = a.to(torch.float8_e4m3fn)
        b8 = b.to(torch.float8_e4m3fn).t()  # column-major, as _scaled_mm wants its second operand
        one = torch.tensor(1.0, device="cuda")
        result["fp8_tflops"] = rate(lambda: torch._scaled_mm(a8, b8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16))
    except Exception as e:  # no fp8 GEMM in this torch / on this GPU: the caller falls back
        result["fp8_error"] = f"{type(e).__name__}: {e}"
    del a, b
    torch.cuda.empty_cache()
    return result


def _op_run(request):
    name = request["definition_name"]
    device = request.get("device") or "cuda"
    torch = _import_torch()
    st = _import_safetensors()
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RequestError("no_device", f"torch {torch.__version__} at {sys.executable} sees no CUDA device "
                                        f"(torch.cuda.is_available() is False); device {device!r} was requested")
    module = _reference_module(name, request["reference"])

    inputs_path = request["inputs_path"]
    try:
        tensors = st.load_file(inputs_path, device=device)
    except Exception as e:
        raise RequestError("input_error", f"cannot load inputs {inputs_path}: {type(e).__name__}: {e}")
    scalars = request.get("scalars") or {}
    absent = set(request.get("absent") or [])
    args = []
    for arg in request["arg_order"]:
        if arg in scalars:
            args.append(_scalar(arg, scalars[arg]))
        elif arg in absent:
            args.append(None)
        elif arg in tensors:
            args.append(tensors[arg])
        else:
            raise RequestError("input_error", f"input '{arg}' is not in {inputs_path} (it holds {sorted(tensors)}), "
                                              f"nor a scalar, nor absent")
    del tensors

    try:
        with torch.no_grad():
            result = module.run(*args)
        _synchronize(torch, device)
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        raise RequestError("reference_error", f"the reference of {name} raised {type(e).__name__}: {e}",
                           _reference_traceback(e), restart=_is_fatal_cuda_error(e))

    outputs = request["outputs"]
    tensors = _normalize(torch, name, result, outputs, request.get("output_dtypes") or {})
    del result
    output_path = request["output_path"]
    staging = f"{output_path}.{os.getpid()}.tmp"
    st.save_file(tensors, staging)
    os.replace(staging, output_path)  # readers never see a half-written file
    described = {o: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)} for o, t in tensors.items()}
    del tensors

    latency = None
    timing = request.get("timing")
    if timing:
        try:
            latency = _measure(torch, module, args, device, int(timing.get("warmup", 10)), int(timing.get("iterations", 50)))
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            raise RequestError("reference_error", f"the reference of {name} raised {type(e).__name__} while timed: {e}",
                               _reference_traceback(e), restart=_is_fatal_cuda_error(e))
    return {"outputs_path": output_path, "latency_ms": latency, "outputs": described}


def _release_memory():
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()  # several oracles may share one GPU
        except Exception:
            pass


def main():
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8")
    while True:
        line = sys.stdin.readline()
        if not line:
            return  # the client closed stdin
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request must be a JSON object")
        except ValueError as e:
            _send({"id": None, "ok": False, "kind": "bad_request", "error": f"not a JSON request: {e}", "traceback": None})
            continue
        request_id = request.get("id")
        op = request.get("op")
        restart = False
        try:
            if op == "hello":
                response = _op_hello(request)
            elif op == "run":
                response = _op_run(request)
            elif op == "peak":
                response = _op_peak(request)
            elif op == "shutdown":
                _send({"id": request_id, "ok": True})
                return
            else:
                raise RequestError("bad_request", f"unknown op {op!r}")
            response.update(id=request_id, ok=True)
            _send(response)
        except RequestError as e:
            restart = e.restart
            _send({"id": request_id, "ok": False, "kind": e.kind, "error": str(e), "traceback": e.tb, "restart": restart})
        except KeyError as e:
            _send({"id": request_id, "ok": False, "kind": "bad_request", "error": f"request lacks field {e}", "traceback": None})
        except Exception as e:
            _send({"id": request_id, "ok": False, "kind": "internal_error", "error": f"{type(e).__name__}: {e}",
                   "traceback": traceback.format_exc()})
        finally:
            _release_memory()
        if restart:
            sys.stderr.flush()
            os._exit(3)


if __name__ == "__main__":
    main()
