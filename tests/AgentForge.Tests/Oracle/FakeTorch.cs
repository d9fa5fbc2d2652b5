using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentForge.Tools.Oracle;

namespace AgentForge.Tests.Oracle;

/// <summary>
/// CI has python3 but no torch. These fakes of torch and safetensors.torch implement just what the
/// oracle script touches (tensors are flat lists, "safetensors" files are JSON), so the protocol,
/// argument passing, errors, restarts, caching and the pool run for real against python3.
/// </summary>
internal static class FakeTorch
{
    private static readonly Lazy<string> Root = new(Write);

    public static string Directory => Root.Value;

    public static OracleOptions Options(TimeSpan? requestTimeout = null) => new()
    {
        PythonExecutable = "python3",
        Environment = new Dictionary<string, string> { ["PYTHONPATH"] = Directory },
        RequestTimeout = requestTimeout ?? TimeSpan.FromMinutes(2),
        StartTimeout = TimeSpan.FromMinutes(1),
    };

    public static void RequirePython()
    {
        Assert.SkipUnless(PythonRuns(), "python3 is not on PATH");
    }

    /// <summary>Writes a fake safetensors file: name -> (dtype, values) as a 1-D tensor.</summary>
    public static string WriteInputs(string directory, params (string Name, string DType, double[] Values)[] tensors)
    {
        var json = new JsonObject();
        foreach (var (name, dtype, values) in tensors)
        {
            json[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(values.Length),
                ["data"] = new JsonArray(values.Select(v => (JsonNode)v).ToArray()),
            };
        }
        var path = Path.Combine(directory, $"inputs-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    public static double[] ReadOutput(string path, string name) =>
        JsonNode.Parse(File.ReadAllText(path))![name]!["data"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    private static bool PythonRuns()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("python3", "-c pass") { RedirectStandardError = true });
            process!.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static string Write()
    {
        var root = Path.Combine(Path.GetTempPath(), $"agentforge-faketorch-{Environment.ProcessId}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Path.Combine(root, "torch"));
        System.IO.Directory.CreateDirectory(Path.Combine(root, "safetensors"));
        File.WriteAllText(Path.Combine(root, "torch", "__init__.py"), TorchModule);
        File.WriteAllText(Path.Combine(root, "safetensors", "__init__.py"), "__version__ = \"0.0-fake\"\n");
        File.WriteAllText(Path.Combine(root, "safetensors", "torch.py"), SafetensorsModule);
        return root;
    }

    private const string TorchModule = """"
"""A stand-in for torch, enough for the oracle's protocol tests: tensors are flat Python lists."""
import builtins as _builtins

__version__ = "0.0-fake"


class _Version:
    cuda = None


version = _Version()


class dtype:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "torch." + self.name

    __str__ = __repr__


float32 = dtype("float32")
float16 = dtype("float16")
bfloat16 = dtype("bfloat16")
int64 = dtype("int64")
int32 = dtype("int32")
globals()["bool"] = dtype("bool")


class _Device:
    def __init__(self, type):
        self.type = type


class Tensor:
    def __init__(self, data, dtype=float32, shape=None, device="cpu"):
        self.data = list(data)
        self.dtype = dtype
        self.shape = tuple(shape) if shape is not None else (len(self.data),)
        self.device = _Device(device.split(":")[0] if isinstance(device, str) else device.type)

    def _map(self, other, op):
        if isinstance(other, Tensor):
            return Tensor([op(a, b) for a, b in zip(self.data, other.data)], self.dtype, self.shape, self.device.type)
        return Tensor([op(a, other) for a in self.data], self.dtype, self.shape, self.device.type)

    def __add__(self, other):
        return self._map(other, lambda a, b: a + b)

    def __mul__(self, other):
        return self._map(other, lambda a, b: a * b)

    __radd__ = __add__
    __rmul__ = __mul__

    def detach(self):
        return self

    def contiguous(self):
        return self

    def clone(self):
        return Tensor(list(self.data), self.dtype, self.shape, self.device.type)

    def cpu(self):
        return Tensor(list(self.data), self.dtype, self.shape, "cpu")

    def tolist(self):
        return list(self.data)


def tensor(value, dtype=None):
    return Tensor([value], dtype or float32, ())


class no_grad:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        return fn


class _Cuda:
    @staticmethod
    def is_available():
        return False

    @staticmethod
    def synchronize():
        pass


cuda = _Cuda()
"""";

    private const string SafetensorsModule = """"
"""A stand-in for safetensors.torch: the 'safetensors' files are JSON {name: {dtype, shape, data}}."""
import json

import torch


def load_file(path, device="cpu"):
    with open(path) as f:
        raw = json.load(f)
    return {k: torch.Tensor(v["data"], getattr(torch, v["dtype"]), v["shape"], device) for k, v in raw.items()}


def save_file(tensors, path, metadata=None):
    with open(path, "w") as f:
        json.dump({k: {"dtype": t.dtype.name, "shape": list(t.shape), "data": t.data} for k, t in tensors.items()}, f)
"""";
}
