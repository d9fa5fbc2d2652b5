using AgentForge.Tools.Bench;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Oracle;

/// <summary>
/// One call of a definition's reference: which code, which inputs (a safetensors file the caller
/// wrote, holding every tensor input by name), where to write the outputs, and whether to time it.
/// </summary>
/// <param name="ArgOrder">The definition's input names in definition order: the positional order of <c>run</c>.</param>
/// <param name="Outputs">The definition's output names in order: the return value is mapped onto them.</param>
/// <param name="OutputPath">Where the oracle writes the outputs (safetensors). A caching oracle writes into its cache instead.</param>
public sealed record OracleRequest(
    string DefinitionName,
    string Reference,
    IReadOnlyList<string> ArgOrder,
    IReadOnlyList<string> Outputs,
    string InputsPath,
    string OutputPath)
{
    /// <summary>Scalar inputs, passed by value as Python int, float or bool after their dtype.</summary>
    public IReadOnlyDictionary<string, OracleScalar> Scalars { get; init; } = new Dictionary<string, OracleScalar>();

    /// <summary>Absent optional inputs, passed as None.</summary>
    public IReadOnlyList<string> Absent { get; init; } = [];

    /// <summary>Output dtypes, used only when the reference returns a Python number instead of a tensor.</summary>
    public IReadOnlyDictionary<string, DType> OutputDTypes { get; init; } = new Dictionary<string, DType>();

    /// <summary>Null: no timing. Otherwise the median of the measured calls is returned.</summary>
    public OracleTiming? Timing { get; init; }

    /// <summary>The torch device the inputs are loaded on ("cuda", "cuda:1", "cpu").</summary>
    public string Device { get; init; } = "cuda";

    /// <summary>Identifies the result for <see cref="ReferenceCache"/>; null: never cached.</summary>
    public ReferenceKey? CacheKey { get; init; }

    /// <summary>
    /// The request for one input set of a definition: argument order, scalars and absent inputs
    /// from the input set, cache key from the definition's hash and the set's uuid, trial and seed.
    /// The tensors of <paramref name="inputs"/> must already be in <paramref name="inputsPath"/>.
    /// </summary>
    public static OracleRequest For(Definition definition, InputSet inputs, string inputsPath, string outputPath, OracleTiming? timing = null, string device = "cuda")
    {
        var scalars = new Dictionary<string, OracleScalar>();
        var absent = new List<string>();
        foreach (var input in definition.Inputs)
        {
            var argument = inputs.Arguments.FirstOrDefault(a => a.Key == input.Name).Value
                ?? throw new ArgumentException($"input set of {inputs.WorkloadUuid} has no argument '{input.Name}' of {definition.Name}");
            switch (argument)
            {
                case ScalarArgument scalar:
                    scalars[input.Name] = new OracleScalar(scalar.DType, scalar.Value);
                    break;
                case AbsentArgument:
                    absent.Add(input.Name);
                    break;
            }
        }
        return new OracleRequest(
            definition.Name,
            definition.Reference,
            definition.Inputs.Select(i => i.Name).ToList(),
            definition.Outputs.Select(o => o.Name).ToList(),
            inputsPath,
            outputPath)
        {
            Scalars = scalars,
            Absent = absent,
            OutputDTypes = definition.Outputs.ToDictionary(o => o.Name, o => o.Spec.DType),
            Timing = timing,
            Device = device,
            CacheKey = new ReferenceKey(DefinitionHash.Of(definition), inputs.WorkloadUuid, inputs.Trial, inputs.Seed),
        };
    }
}

public sealed record OracleScalar(DType DType, ScalarValue Value);

/// <summary>Warm-up calls, then measured calls; the latency is their median.</summary>
public sealed record OracleTiming(int Warmup, int Iterations)
{
    public static OracleTiming From(EvaluationSettings settings) => new(settings.WarmupRuns, settings.Iterations);
}

/// <summary>What a reference output depends on: the definition (its hash) and the input set (uuid, trial, seed).</summary>
public sealed record ReferenceKey(string DefinitionHash, string WorkloadUuid, int Trial, ulong Seed);
