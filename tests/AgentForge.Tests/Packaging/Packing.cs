using AgentForge.Tests.Trace;
using AgentForge.Tools.Build;
using AgentForge.Tools.Packaging;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Packaging;

/// <summary>The shared dataset, the baselines beside the test binaries, and small candidates for the checks.</summary>
internal static class Packing
{
    private static readonly Lazy<TraceDataset> LazyDataset = new(() => TraceDataset.Load(SharedData.DatasetRoot));
    private static readonly Lazy<BaselineCatalog> LazyCatalog = new(() =>
    {
        var root = BaselineCatalog.Locate(null) ?? throw new DirectoryNotFoundException("baseline kernels not found beside the tests or in src/");
        var loaded = BaselineCatalog.Load(root);
        return loaded.IsOk ? loaded.Value : throw new InvalidOperationException(loaded.Error!.ToString());
    });

    public static TraceDataset Dataset => LazyDataset.Value;

    public static BaselineCatalog Catalog => LazyCatalog.Value;

    public static SolutionPacker Packer => SolutionPacker.FromCatalog(Catalog);

    public static string ContractHeader => Packer.ContractHeader;

    public static IEnumerable<string> DefinitionNames => Dataset.Definitions.Keys.Order(StringComparer.Ordinal);

    public static TheoryData<string, string> DefinitionsAndBindings()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in DefinitionNames)
        {
            data.Add(name, "tvm-ffi");
            data.Add(name, "torch");
        }
        return data;
    }

    public static Definition Definition(string name) => Dataset.FindDefinition(name) ?? throw new KeyNotFoundException(name);

    public static BindingKind Binding(string wireName) =>
        BindingKinds.TryParse(wireName, out var kind) ? kind : throw new ArgumentException(wireName);

    public static PackResult PackBaseline(string definition, BindingKind binding, PackOptions? options = null)
    {
        var input = PackSources.FromBaseline(Catalog, definition);
        Assert.True(input.IsOk, input.Error?.ToString());
        return Packer.Pack(Definition(definition), input.Value, options ?? new PackOptions(binding));
    }

    public static Solution PackedBaseline(string definition, BindingKind binding)
    {
        var result = PackBaseline(definition, binding);
        Assert.False(result.Refused, string.Join("\n", result.Findings));
        return result.Solution!;
    }

    /// <summary>
    /// What packing a baseline may say: a note for each header it includes from the shared include
    /// folder (bundled at the root); for a baseline built for an 'a' target (its manifest target,
    /// e.g. the MoE's sm_90a), the architecture-specific warnings that the official plain sm_XY
    /// build compiles its guarded fallback. Nothing else. A solution folder extracted from a packed
    /// baseline (<paramref name="extracted"/>) carries those headers as its own files: no notes.
    /// </summary>
    public static void AssertBaselineFindings(string definition, IReadOnlyList<PackFinding> findings, bool extracted = false)
    {
        var notes = findings.Where(f => f.Check == PackCheck.SharedHeader).ToList();
        Assert.All(notes, f => Assert.Equal(FindingSeverity.Note, f.Severity));
        Assert.Equal(extracted ? 0 : BaselineSharedHeaders(definition).Count, notes.Count);
        var rest = findings.Except(notes).ToList();
        if (!Catalog.For(definition)!.Target.EndsWith('a'))
        {
            Assert.Empty(rest);
            return;
        }
        Assert.NotEmpty(rest);
        Assert.All(rest, f => Assert.True(f.Check == PackCheck.ArchSpecific && f.Severity == FindingSeverity.Warning, f.ToString()));
    }

    /// <summary>The shared include folder's headers (<see cref="IncludeFolder.SharedFiles"/>) that a baseline's
    /// sources include, directly or through another shared header (as packing bundles them), by path, with their text.</summary>
    public static IReadOnlyDictionary<string, string> BaselineSharedHeaders(string definition)
    {
        var shared = IncludeFolder.SharedFiles(Catalog.IncludeDirectory);
        var texts = Catalog.For(definition)!.Sources.Select(s => File.ReadAllText(Path.Combine(Catalog.Root, s))).ToList();
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var added = true; added;)
        {
            added = false;
            foreach (var (path, text) in shared)
            {
                if (!found.ContainsKey(path) && texts.Any(t => t.Contains($"#include \"{path}\"", StringComparison.Ordinal)))
                {
                    found[path] = text;
                    texts.Add(text);
                    added = true;
                }
            }
        }
        return found;
    }

    /// <summary>A packed baseline's kernel files: its own sources (definition folder dropped) and the shared
    /// headers it includes, sorted by path (the contract header and the binding follow them in a solution).</summary>
    public static IReadOnlyList<string> BaselineKernelFiles(string definition) =>
        [.. Catalog.For(definition)!.Sources.Select(s => Path.GetFileName(s)!).Concat(BaselineSharedHeaders(definition).Keys).Order(StringComparer.Ordinal)];

    /// <summary>The target_hardware a packed baseline declares: "cuda", and its 'a' target if it has one.</summary>
    public static IReadOnlyList<string> BaselineHardware(string definition) =>
        Catalog.For(definition)!.Target is var t && t.EndsWith('a') ? ["cuda", t] : ["cuda"];

    // ---- small candidates for the checks (never compiled; the checks read text) ----

    /// <summary>MoE: tensors, an int32_t and a float scalar, one output.</summary>
    public const string Moe = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";

    /// <summary>GDN decode: an optional tensor input, a float scalar, two outputs.</summary>
    public const string GdnDecode = "gdn_decode_qk4_v8_d128_k_last";

    /// <summary>The contract's entry for a definition, with a body that launches one kernel.</summary>
    public static string Kernel(string definition = Moe, string? declaration = null, string before = "", string body = "") =>
        $$"""
        #include "agentforge.h"

        #include <cuda_bf16.h>
        #include <cstdint>

        {{before}}
        __global__ void scale_kernel(float* out, int n) {
          int i = blockIdx.x * blockDim.x + threadIdx.x;
          if (i < n) out[i] = 0.0f;
        }

        {{declaration ?? ShimGenerator.EntryDeclaration(Definition(definition), "run")}} {
          scale_kernel<<<1, 32, 0, stream>>>(nullptr, 0);
          {{body}}
        }
        """;

    public static PackInput Input(string definition, params SourceFile[] sources) =>
        new(new CandidateSource("test_candidate", definition, sources));

    public static PackResult Pack(string definition, string kernel, BindingKind binding = BindingKind.TvmFfi, bool force = false) =>
        Packer.Pack(Definition(definition), Input(definition, new SourceFile("kernel.cu", kernel)), new PackOptions(binding, Force: force));

    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgentForge.sln")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException("AgentForge.sln not found above the test binaries");
    }
}
