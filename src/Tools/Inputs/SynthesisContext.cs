using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>Knobs of structure synthesis. `dataset synth` and the materializer must agree on them.</summary>
/// <param name="PaddedIndexRowFraction">Share of <c>sparse_indices</c> rows with fewer than topk
/// valid indices (-1 padded at the tail); with two rows or more at least one is padded and one full.</param>
/// <param name="EmptyIndexRowFraction">Share of <c>sparse_indices</c> rows with no valid index at
/// all (the kernel must output 0 and lse -inf); when above 0 at least one row is empty.</param>
/// <param name="MaxDegreeOfParallelism">For large tensors; -1 uses every core. Results never depend on it.</param>
public sealed record SynthesisOptions(
    double PaddedIndexRowFraction = 0.5,
    double EmptyIndexRowFraction = 0.0,
    int MaxDegreeOfParallelism = -1)
{
    public static SynthesisOptions Default { get; } = new();
}

/// <summary>What a synthesizer knows about the input it builds.</summary>
/// <param name="Shape">The input's shape resolved under the workload's axes.</param>
/// <param name="Key">The input's own stream key: from the uuid for a blob, from the set seed for a random input.</param>
public sealed record SynthesisContext(
    Definition Definition,
    WorkloadEntry Entry,
    string InputName,
    TensorSpec Spec,
    long[] Shape,
    ulong Key,
    SynthesisOptions Options)
{
    public Workload Workload => Entry.Workload;

    public string Field => $"workload.inputs.{InputName}";

    public DataError Fail(string message) => new(Entry.SourceFile, Entry.SourceLine, Field, message);

    /// <summary>
    /// A key shared by every input of the workload that synthesizes with the same label, so
    /// structures split over several inputs (seq_lens and block_table) agree with each other.
    /// </summary>
    public ulong SharedKey(string label) => InputSeeds.ForStructure(Workload.Uuid, label);

    /// <summary>An axis value: a definition constant, or the workload's value of a var axis.</summary>
    public long? Axis(string name) => Definition.FindAxis(name) switch
    {
        ConstAxis c => c.Value,
        VarAxis when Workload.Axes.TryGetValue(name, out var v) => v,
        _ => null,
    };

    /// <summary>The resolved shape of another input of the definition, or null if it has none.</summary>
    public long[]? ShapeOf(string inputName)
    {
        var spec = Definition.FindInput(inputName)?.Spec;
        if (spec is null || spec.IsScalar)
        {
            return null;
        }
        try
        {
            return Definition.ResolveShape(spec, Workload.Axes);
        }
        catch (KeyNotFoundException)
        {
            return null;
        }
    }

    public HostTensor Allocate() => HostTensor.Allocate(Spec.DType, Shape);
}

/// <summary>
/// One entry of the synthesis table: builds input <paramref name="InputName"/> of any definition
/// for which <paramref name="Applies"/> holds. The table, not code paths, decides what is
/// structured, so another dataset's inputs with the same names but other meanings fall back to
/// plain random data when the predicate rejects them.
/// </summary>
public sealed record InputSynthesizer(
    string InputName,
    string Description,
    Func<Definition, TensorSpec, bool> Applies,
    Func<SynthesisContext, DataResult<HostTensor>> Synthesize);
