"""Calls an AgentForge-built candidate library (its generated C-ABI shim) from Python with torch tensors,
so that a yardstick script can time AgentForge's kernel and a library's with one method in one process.
The structs mirror src/Kernels.Baseline/include/agentforge.h (afg::Tensor, 80 bytes; afg::Scalar, 8 bytes)."""
import ctypes

import torch

DTYPES = {
    torch.float32: 0, torch.float16: 1, torch.bfloat16: 2, torch.float8_e4m3fn: 3, torch.float8_e5m2: 4,
    torch.int64: 6, torch.int32: 7, torch.int16: 8, torch.int8: 9, torch.bool: 10,
}


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32), ("shape", ctypes.c_int64 * 8)]


class Scalar(ctypes.Union):
    _fields_ = [("f32", ctypes.c_float), ("f64", ctypes.c_double), ("i32", ctypes.c_int32), ("i64", ctypes.c_int64), ("b", ctypes.c_bool)]


def _tensor(t):
    s = Tensor()
    if t is None:
        s.data = None
        return s
    assert t.is_contiguous()
    s.data = t.data_ptr()
    s.dtype = DTYPES[t.dtype]
    s.rank = t.dim()
    for i, n in enumerate(t.shape):
        s.shape[i] = n
    return s


def _scalar(value, dtype):
    s = Scalar()
    if dtype in ("int64",):
        s.i64 = int(value)
    elif dtype in ("int32", "int16", "int8"):
        s.i32 = int(value)
    elif dtype == "bool":
        s.b = bool(value)
    else:
        s.f32 = float(value)
    return s


class Candidate:
    def __init__(self, library_path, definition):
        self.lib = ctypes.CDLL(library_path)
        self.lib.agentforge_entry.restype = ctypes.c_int
        self.lib.agentforge_entry.argtypes = [ctypes.POINTER(Tensor), ctypes.POINTER(Scalar), ctypes.c_void_p]
        self.definition = definition

    def __call__(self, inputs, outputs):
        """inputs: name -> tensor/scalar/None in any order; outputs: name -> preallocated tensor."""
        tensors, scalars, keep = [], [], []
        for name, spec in self.definition["inputs"].items():
            value = inputs[name]
            if spec["shape"] is None:
                scalars.append(_scalar(value, spec["dtype"]))
            else:
                if value is not None and not value.is_contiguous():
                    value = value.contiguous()
                keep.append(value)
                tensors.append(_tensor(value))
        for name in self.definition["outputs"]:
            tensors.append(_tensor(outputs[name]))
        t_array = (Tensor * len(tensors))(*tensors)
        s_array = (Scalar * max(1, len(scalars)))(*scalars) if scalars else (Scalar * 1)()
        error = self.lib.agentforge_entry(t_array, s_array, ctypes.c_void_p(torch.cuda.current_stream().cuda_stream))
        if error != 0:
            raise RuntimeError(f"candidate launch failed with cudaError {error}")
