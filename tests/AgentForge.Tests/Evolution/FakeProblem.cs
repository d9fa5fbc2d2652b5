using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Evolution;

/// <summary>
/// A decode-like definition named so that it gets the GDN decode bands (b&lt;=4, b5-16, b&gt;16),
/// with workloads at batch sizes 1, 4, 16 and 64, and a baseline whose source declares one
/// tunable parameter. Kernels are described by marker lines the fake evaluator reads.
/// </summary>
internal static class FakeProblem
{
    public const string DefinitionName = "gdn_decode_fake";

    public static readonly Definition Definition = new(
        DefinitionName,
        "gdn",
        [new("batch_size", new VarAxis()), new("d", new ConstAxis(128))],
        [new("x", new TensorSpec(["batch_size", "d"], DType.BFloat16)), new("scale", new TensorSpec(null, DType.Float32))],
        [new("y", new TensorSpec(["batch_size", "d"], DType.BFloat16))],
        "import torch\n\ndef run(x, scale):\n    return x * scale\n",
        [],
        "A fake decode step for tests.",
        []);

    public static readonly IReadOnlyList<long> Batches = [1, 4, 16, 64];

    public static IReadOnlyList<WorkloadEntry> Workloads { get; } = Batches.Select((b, i) => new WorkloadEntry(
        DefinitionName,
        new Workload($"w{b:D3}-0000-0000-0000-000000000000", new Dictionary<string, long> { ["batch_size"] = b }, [new("x", new RandomInput()), new("scale", new ScalarInput(ScalarValue.Of(1.0)))]),
        "fake.jsonl",
        i + 1)).ToList();

    /// <summary>A kernel source with markers: behaviour, base cost, and optionally a tunable BLOCK whose values change the cost.</summary>
    public static string Kernel(string behaviour = "honest", double costMs = 1.0, bool tunable = true, string extra = "") =>
        $"// fake kernel for tests\n// @fake behaviour={behaviour} cost={costMs.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n"
        + (tunable ? "// @tunable BLOCK: 16, 32, 64, 128 (default 32)\n#ifndef BLOCK\n#define BLOCK 32\n#endif\n" : "")
        + "#include \"agentforge.h\"\nvoid run(afg::Tensor x, float scale, afg::Tensor y, cudaStream_t stream) {}\n" + extra;

    public static CandidateSource Source(string kernel, IReadOnlyDictionary<string, string>? defines = null) =>
        new("fake", DefinitionName, [new SourceFile($"{DefinitionName}/kernel.cu", kernel)], "run", TargetKind.Portable, defines);

    public static EvolutionProblem Problem(string? baselineKernel = null) =>
        new("gated_delta_net", [new DefinitionTask(Definition, Workloads, Source(baselineKernel ?? Kernel()))]);
}
