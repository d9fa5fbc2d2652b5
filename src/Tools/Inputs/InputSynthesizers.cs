using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// The synthesis tables: what to build for a <c>safetensors</c> input whose blob is absent, and
/// which <c>random</c> inputs need structure that plain random bytes lack. Lookup is by input name
/// plus a predicate on the definition, first match wins; a blob input that no entry claims is
/// plain random data of its dtype, seeded from the workload uuid.
/// </summary>
public sealed class InputSynthesizers(
    IReadOnlyList<InputSynthesizer> blobs,
    IReadOnlyList<InputSynthesizer> randomOverrides,
    SynthesisOptions? options = null)
{
    /// <summary>Structured inputs of the FlashInfer-Trace contest dataset (see EVALUATION.md, Inputs).</summary>
    public static IReadOnlyList<InputSynthesizer> DefaultBlobs { get; } =
    [
        new("cu_seqlens", "0 = c0 < ... < cN = total_seq_len, random split, every length >= 1",
            CuSeqlensSynthesis.Applies, CuSeqlensSynthesis.Synthesize),
        new("sparse_indices", "distinct token ids page*page_size+offset per row, -1 padded tail",
            SparseIndicesSynthesis.Applies, SparseIndicesSynthesis.Synthesize),
        new(PagedLayoutSynthesis.SeqLensInput, "1 <= seq_len <= max_num_pages*page_size, the longest uses every page",
            PagedLayoutSynthesis.AppliesToSeqLens, PagedLayoutSynthesis.SynthesizeSeqLens),
        new(PagedLayoutSynthesis.BlockTableInput, "distinct page ids below num_pages",
            PagedLayoutSynthesis.AppliesToBlockTable, PagedLayoutSynthesis.SynthesizeBlockTable),
        new("routing_logits", "N(0,1) in the definition's dtype",
            (_, spec) => spec.DType.IsFloatingPoint(),
            c => DataResult<HostTensor>.Ok(RandomTensors.GenerateNormal(c.Spec.DType, c.Shape, c.Key, 1f, c.Options.MaxDegreeOfParallelism))),
        new("routing_bias", "0.01 N(0,1) in the definition's dtype",
            (_, spec) => spec.DType.IsFloatingPoint(),
            c => DataResult<HostTensor>.Ok(RandomTensors.GenerateNormal(c.Spec.DType, c.Shape, c.Key, 0.01f, c.Options.MaxDegreeOfParallelism))),
        new("q", "unit L2 norm per head (gated delta net)", UnitNormSynthesis.Applies, UnitNormSynthesis.Synthesize),
        new("k", "unit L2 norm per head (gated delta net)", UnitNormSynthesis.Applies, UnitNormSynthesis.Synthesize),
    ];

    /// <summary>Random inputs replaced by valid structure (a fresh one per trial).</summary>
    public static IReadOnlyList<InputSynthesizer> DefaultRandomOverrides { get; } =
    [
        new(IndexerKeyCache.InputName, "packed fp8 e4m3fn keys with per-token float32 scales",
            IndexerKeyCache.Applies, IndexerKeyCache.Synthesize),
    ];

    public static InputSynthesizers Default { get; } = new(DefaultBlobs, DefaultRandomOverrides);

    public IReadOnlyList<InputSynthesizer> Blobs { get; } = blobs;

    public IReadOnlyList<InputSynthesizer> RandomOverrides { get; } = randomOverrides;

    public SynthesisOptions Options { get; } = options ?? SynthesisOptions.Default;

    public InputSynthesizers WithOptions(SynthesisOptions options) => new(Blobs, RandomOverrides, options);

    public InputSynthesizer? FindBlob(Definition definition, string inputName, TensorSpec spec) =>
        Blobs.FirstOrDefault(s => s.InputName == inputName && s.Applies(definition, spec));

    public InputSynthesizer? FindRandomOverride(Definition definition, string inputName, TensorSpec spec) =>
        RandomOverrides.FirstOrDefault(s => s.InputName == inputName && s.Applies(definition, spec));

    /// <summary>
    /// The content of an absent blob for input <paramref name="inputName"/> of a workload: a pure
    /// function of the workload (uuid and axes), the input and <see cref="Options"/>, the same in
    /// every trial and run.
    /// </summary>
    public DataResult<HostTensor> SynthesizeBlob(Definition definition, WorkloadEntry entry, string inputName, long[] shape)
    {
        var spec = definition.FindInput(inputName)?.Spec
            ?? throw new ArgumentException($"'{inputName}' is not an input of {definition.Name}", nameof(inputName));
        var context = new SynthesisContext(definition, entry, inputName, spec, shape,
            InputSeeds.ForStructure(entry.Workload.Uuid, inputName), Options);
        var synthesizer = FindBlob(definition, inputName, spec);
        return synthesizer is null
            ? DataResult<HostTensor>.Ok(RandomTensors.Generate(spec.DType, shape, context.Key, Options.MaxDegreeOfParallelism))
            : synthesizer.Synthesize(context);
    }

    /// <summary>The structured replacement for a random input, or null when plain random data is right.</summary>
    public DataResult<HostTensor>? TryRandomOverride(Definition definition, WorkloadEntry entry, string inputName, TensorSpec spec, long[] shape, ulong key)
    {
        var synthesizer = FindRandomOverride(definition, inputName, spec);
        return synthesizer?.Synthesize(new SynthesisContext(definition, entry, inputName, spec, shape, key, Options));
    }
}
