using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentForge.Tools.Oracle;
using AgentForge.Tools.Trace;

namespace AgentForge.GpuTests.Oracle;

/// <summary>Helpers for GPU tests that need python3 with torch and CUDA: skip without them, run scripts, load definitions.</summary>
internal static class TorchPython
{
    private static readonly Lazy<string?> Missing = new(Probe);

    public static string Executable => OracleOptions.DefaultPython();

    /// <summary>Skips unless the GPU is there and python3 imports torch and safetensors and sees CUDA.</summary>
    public static void RequireCuda()
    {
        Gpu.RequireDevice();
        Assert.SkipWhen(Missing.Value is not null, $"no usable torch with CUDA: {Missing.Value}");
    }

    /// <summary>Runs a Python script with arguments; fails the test with stderr when it fails.</summary>
    public static string Run(string script, params string[] arguments)
    {
        var (code, stdout, stderr) = Execute(["-c", script, .. arguments]);
        Assert.True(code == 0, $"python failed with code {code}:\n{stderr}");
        return stdout;
    }

    /// <summary>The contest dataset: FIB_DATASET_PATH, else a shared/flashinfer-trace beside an ancestor directory.</summary>
    public static string DatasetRoot()
    {
        if (Environment.GetEnvironmentVariable("FIB_DATASET_PATH") is { Length: > 0 } configured && Directory.Exists(configured))
        {
            return configured;
        }
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                foreach (var candidate in new[] { Path.Combine(directory.FullName, "shared", "flashinfer-trace"), Path.Combine(directory.FullName, "flashinfer-trace") })
                {
                    if (Directory.Exists(Path.Combine(candidate, "definitions")))
                    {
                        return candidate;
                    }
                }
            }
        }
        Assert.Skip("the FlashInfer-Trace dataset was not found (set FIB_DATASET_PATH)");
        return "";
    }

    /// <summary>A definition read straight from its JSON (the dataset loader lives elsewhere).</summary>
    public static Definition LoadDefinition(string opType, string name)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(DatasetRoot(), "definitions", opType, name + ".json")))!.AsObject();
        var axes = json["axes"]!.AsObject().Select(a => new KeyValuePair<string, AxisSpec>(a.Key,
            (string)a.Value!["type"]! == "const" ? new ConstAxis((long)a.Value["value"]!) : new VarAxis())).ToList();
        return new Definition(
            (string)json["name"]!,
            (string)json["op_type"]!,
            axes,
            Tensors(json["inputs"]!.AsObject()),
            Tensors(json["outputs"]!.AsObject()),
            (string)json["reference"]!,
            [],
            null,
            []);
    }

    private static List<NamedTensorSpec> Tensors(JsonObject specs) => specs.Select(s =>
    {
        Assert.True(DTypes.TryParse((string?)s.Value!["dtype"], out var dtype));
        var shape = s.Value["shape"] is JsonArray array ? array.Select(a => (string)a!).ToList() : null;
        return new NamedTensorSpec(s.Key, new TensorSpec(shape, dtype, Optional: (bool?)s.Value["optional"] ?? false));
    }).ToList();

    private static string? Probe()
    {
        try
        {
            var (code, _, stderr) = Execute(["-c", "import torch, safetensors.torch; assert torch.cuda.is_available(), 'torch.cuda.is_available() is False'"]);
            return code == 0 ? null : stderr.Trim().Split('\n').LastOrDefault() ?? $"exit code {code}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{Executable}: {e.Message}";
        }
    }

    private static (int Code, string Stdout, string Stderr) Execute(string[] arguments)
    {
        var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }
}
