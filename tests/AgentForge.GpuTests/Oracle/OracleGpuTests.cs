using System.Globalization;
using System.Text.Json.Nodes;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Oracle;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.GpuTests.Oracle;

/// <summary>The real oracle: python3 + torch on the GPU, running the contest definitions' reference code.</summary>
public sealed class OracleGpuTests : IDisposable
{
    private const double GdnScale = 0.08838834764831843;

    private readonly string _work = Directory.CreateTempSubdirectory("agentforge-oracle-gpu-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static OracleOptions Options => new() { PythonExecutable = TorchPython.Executable };

    [Fact]
    public async Task Peaks_are_measured_on_the_gpu()
    {
        TorchPython.RequireCuda();
        await using var oracle = new OracleProcess(Options);
        var peaks = await oracle.MeasurePeaksAsync(TestContext.Current.CancellationToken);
        Assert.True(peaks.Measured, peaks.Problem);
        TestContext.Current.SendDiagnosticMessage($"peaks on {peaks.Device}: bf16 {peaks.Bf16FlopsPerSecond / 1e12:0} TFLOP/s, fp8 {peaks.Fp8FlopsPerSecond / 1e12:0} TFLOP/s {peaks.Problem}");
        Assert.InRange(peaks.Bf16FlopsPerSecond!.Value, 100e12, 2000e12);
    }

    [Fact]
    public async Task Probe_reports_the_gpu()
    {
        TorchPython.RequireCuda();
        await using var oracle = new OracleProcess(Options);
        var probe = await oracle.ProbeAsync(TestContext.Current.CancellationToken);
        Assert.True(probe.IsReady, probe.Failure?.ToString());
        Assert.True(probe.Environment!.CudaAvailable);
        Assert.False(string.IsNullOrEmpty(probe.Environment.DeviceName));
    }

    [Fact]
    public async Task Gdn_decode_reference_outputs_match_a_direct_call_and_are_timed_and_cached()
    {
        TorchPython.RequireCuda();
        var definition = TorchPython.LoadDefinition("gdn", "gdn_decode_qk4_v8_d128_k_last");
        var inputs = Path.Combine(_work, "gdn_inputs.safetensors");
        TorchPython.Run("""
            import sys, torch
            from safetensors.torch import save_file
            torch.manual_seed(0)
            B = 2
            bf = torch.bfloat16
            save_file({
                "q": torch.randn(B, 1, 4, 128, dtype=bf), "k": torch.randn(B, 1, 4, 128, dtype=bf),
                "v": torch.randn(B, 1, 8, 128, dtype=bf), "state": torch.randn(B, 8, 128, 128),
                "A_log": torch.randn(8), "a": torch.randn(B, 1, 8, dtype=bf), "dt_bias": torch.randn(8),
                "b": torch.randn(B, 1, 8, dtype=bf),
            }, sys.argv[1])
            """, inputs);
        var request = new OracleRequest(definition.Name, definition.Reference, definition.Inputs.Select(i => i.Name).ToList(),
            definition.Outputs.Select(o => o.Name).ToList(), inputs, Path.Combine(_work, "unused.safetensors"))
        {
            Scalars = new Dictionary<string, OracleScalar> { ["scale"] = new(DType.Float32, ScalarValue.Of(GdnScale)) },
            Timing = new OracleTiming(1, 3),
            CacheKey = new ReferenceKey(DefinitionHash.Of(definition), "gpu-test", 0, 0),
        };
        var process = new OracleProcess(Options);
        await using var oracle = new CachingOracle(process, new ReferenceCache(Path.Combine(_work, "cache")));

        var result = await oracle.RunAsync(request, TestContext.Current.CancellationToken);

        var success = Assert.IsType<OracleSuccess>(result, exactMatch: false);
        Assert.True(success.LatencyMs > 0, $"latency {success.LatencyMs}");
        var referenceFile = Path.Combine(_work, "reference.py");
        File.WriteAllText(referenceFile, definition.Reference);
        var verdict = TorchPython.Run("""
            import sys, torch
            from safetensors.torch import load_file
            namespace = {}
            exec(open(sys.argv[1]).read(), namespace)
            x = load_file(sys.argv[2], device="cuda")
            expected = namespace["run"](x["q"], x["k"], x["v"], x["state"], x["A_log"], x["a"], x["dt_bias"], x["b"], float(sys.argv[4]))
            got = load_file(sys.argv[3])
            assert got["output"].dtype == torch.bfloat16 and got["new_state"].dtype == torch.float32
            assert torch.allclose(got["output"].float(), expected[0].float().cpu(), atol=1e-2, rtol=1e-2)
            assert torch.allclose(got["new_state"], expected[1].cpu(), atol=1e-4, rtol=1e-4)
            print("same")
            """, referenceFile, inputs, success.OutputsPath, GdnScale.ToString("R", CultureInfo.InvariantCulture));
        Assert.Equal("same", verdict.Trim());

        var again = Assert.IsType<OracleSuccess>(await oracle.RunAsync(request, TestContext.Current.CancellationToken));
        Assert.True(again.FromCache);
        Assert.Equal(1, process.RunsSent);
    }

    [Fact]
    public async Task A_reference_raising_on_the_gpu_returns_its_traceback()
    {
        TorchPython.RequireCuda();
        var inputs = Path.Combine(_work, "x.safetensors");
        TorchPython.Run("import sys, torch\nfrom safetensors.torch import save_file\nsave_file({'x': torch.zeros(4)}, sys.argv[1])\n", inputs);
        const string reference = "import torch\n\ndef run(x):\n    y = x * 2\n    return y[1000]\n";
        await using var oracle = new OracleProcess(Options);
        var result = await oracle.RunAsync(
            new OracleRequest("raising", reference, ["x"], ["y"], inputs, Path.Combine(_work, "y.safetensors")), TestContext.Current.CancellationToken);
        var failure = Assert.IsType<OracleFailure>(result);
        Assert.Equal(OracleFailureKind.ReferenceError, failure.Kind);
        Assert.Contains("IndexError", failure.Message);
        Assert.Contains("return y[1000]", failure.Traceback);
    }

    [Fact]
    public async Task Dsa_indexer_reference_output_passes_the_comparator_reordered_and_fails_with_an_unreachable_token()
    {
        TorchPython.RequireCuda();
        var definition = TorchPython.LoadDefinition("dsa_paged", "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64");
        var inputs = Path.Combine(_work, "dsa_inputs.safetensors");
        // Valid structure as EVALUATION.md synthesizes it: the longest sequence uses all its pages,
        // pages distinct per row, the packed fp8 cache with per-token scales.
        TorchPython.Run("""
            import sys, torch
            from safetensors.torch import save_file
            torch.manual_seed(1)
            B, P, M, PS, D, H = 3, 40, 34, 64, 128, 64
            seq_lens = torch.tensor([M * PS, 100, 1], dtype=torch.int32)
            block_table = torch.stack([torch.randperm(P)[:M] for _ in range(B)]).to(torch.int32)
            x = torch.randn(P, PS, D, dtype=torch.bfloat16)
            scale = x.float().abs().amax(dim=-1, keepdim=True).clamp(min=1e-4) / 448.0
            fp8 = (x.float() / scale).to(torch.float8_e4m3fn)
            packed = torch.cat([fp8.view(torch.uint8).reshape(P, PS * D), scale.contiguous().view(torch.uint8).reshape(P, PS * 4)], dim=1)
            save_file({
                "q_index_fp8": torch.randn(B, H, D).clamp(-2, 2).to(torch.float8_e4m3fn),
                "k_index_cache_fp8": packed.view(torch.int8).reshape(P, PS, 1, D + 4).contiguous(),
                "weights": torch.randn(B, H),
                "seq_lens": seq_lens,
                "block_table": block_table,
            }, sys.argv[1])
            """, inputs);
        await using var oracle = new OracleProcess(Options);
        var request = new OracleRequest(definition.Name, definition.Reference, definition.Inputs.Select(i => i.Name).ToList(),
            definition.Outputs.Select(o => o.Name).ToList(), inputs, Path.Combine(_work, "dsa_out.safetensors"));
        var success = Assert.IsType<OracleSuccess>(await oracle.RunAsync(request, TestContext.Current.CancellationToken), exactMatch: false);

        // Raw little-endian dumps of every tensor let the C# comparator read them without a safetensors reader.
        var dumps = Path.Combine(_work, "dumps");
        Directory.CreateDirectory(dumps);
        var manifest = TorchPython.Run("""
            import json, os, sys, torch
            from safetensors.torch import load_file
            inputs, outputs, folder = load_file(sys.argv[1]), load_file(sys.argv[2]), sys.argv[3]
            reference = outputs["topk_indices"]
            reordered = reference.flip(1).contiguous()            # valid indices reversed, padding first
            unreachable = reference.clone()
            bt = inputs["block_table"]
            unreachable[1, 0] = int(bt[1, 1]) * 64 + 63            # row 1 has 100 tokens: position 127 is past the end
            tensors = dict(inputs, reference=reference, reordered=reordered, unreachable=unreachable)
            manifest = {}
            for name, t in tensors.items():
                t = t.contiguous().cpu()
                with open(os.path.join(folder, name + ".bin"), "wb") as f:
                    f.write(bytes(t.view(torch.uint8).reshape(-1).tolist()))
                manifest[name] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
            print(json.dumps(manifest))
            """, inputs, success.OutputsPath, dumps);
        var tensors = ReadDumps(dumps, manifest);
        var inputSet = new InputSet(definition.Name, "gpu-dsa", 0, 1,
            definition.Inputs.Select(i => new KeyValuePair<string, ArgumentValue>(i.Name, new TensorArgument(tensors[i.Name]))).ToList());
        var comparator = new OutputComparator(definition, EvaluationSettingsCatalog.Contest.Resolve(definition.Name));

        var same = comparator.Compare(inputSet, [tensors["reference"]], [tensors["reference"]]);
        var reordered = comparator.Compare(inputSet, [tensors["reordered"]], [tensors["reference"]]);
        var unreachable = comparator.Compare(inputSet, [tensors["unreachable"]], [tensors["reference"]]);

        Assert.Equal(EvaluationStatus.PASSED, same.Status);
        Assert.Equal(0, same.Outputs[0].MaxAbsoluteError);
        Assert.Equal(EvaluationStatus.PASSED, reordered.Status);
        Assert.Equal(0, reordered.Outputs[0].MaxAbsoluteError);
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, unreachable.Status);
        Assert.True(unreachable.StopsEvaluation);
        Assert.Contains("row 1", unreachable.Outputs[0].Log);
    }

    private static Dictionary<string, HostTensor> ReadDumps(string folder, string manifestJson)
    {
        var tensors = new Dictionary<string, HostTensor>();
        foreach (var (name, spec) in JsonNode.Parse(manifestJson)!.AsObject())
        {
            Assert.True(DTypes.TryParse((string?)spec!["dtype"], out var dtype), $"dtype of {name}");
            var shape = spec["shape"]!.AsArray().Select(d => (long)d!).ToArray();
            tensors[name] = new HostTensor(dtype, shape, File.ReadAllBytes(Path.Combine(folder, name + ".bin")));
        }
        return tensors;
    }
}
