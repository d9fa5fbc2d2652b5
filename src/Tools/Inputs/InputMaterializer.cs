using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// Builds the inputs of one (workload, trial) in definition order: scalars from the workload,
/// random inputs from seeded generators (a fresh draw per trial), blob inputs read from their
/// safetensors file (checked against the definition's dtype and resolved shape) or, when the
/// file is absent, synthesized from the workload uuid (the same in every trial). Inputs the
/// workload does not mention are random. Problems with the data come back as a
/// <see cref="DataError"/> naming the workload's file, line and field.
/// </summary>
/// <param name="strictBlobs">Report an absent blob as an error instead of synthesizing it.</param>
public sealed class InputMaterializer(InputSynthesizers? synthesizers = null, bool strictBlobs = false, int maxDegreeOfParallelism = -1)
{
    private readonly InputSynthesizers _synthesizers = WithParallelism(synthesizers ?? InputSynthesizers.Default, maxDegreeOfParallelism);

    public InputSynthesizers Synthesizers => _synthesizers;

    public bool StrictBlobs { get; } = strictBlobs;

    public DataResult<InputSet> Materialize(
        Definition definition, WorkloadEntry entry, string datasetRoot, int trial, ulong runSeed,
        CancellationToken cancellationToken = default)
    {
        var workload = entry.Workload;
        foreach (var (name, _) in workload.Inputs)
        {
            if (definition.FindInput(name) is null)
            {
                return Error(entry, $"workload.inputs.{name}", $"'{name}' is not an input of definition {definition.Name}");
            }
        }
        var setSeed = InputSeeds.ForSet(runSeed, workload.Uuid, trial);
        var arguments = new List<KeyValuePair<string, ArgumentValue>>(definition.Inputs.Count);
        var blobs = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, spec) in definition.Inputs)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var argument = MaterializeOne(definition, entry, datasetRoot, setSeed, name, spec, blobs);
                if (!argument.IsOk)
                {
                    return argument.Error;
                }
                arguments.Add(new(name, argument.Value));
            }
        }
        finally
        {
            foreach (var file in blobs.Values)
            {
                file.Dispose();
            }
        }
        // Keyed by CacheId (a variant's reference is not its dataset workload's); seeded by the uuid
        // (a variant draws the same random inputs as its dataset workload).
        return DataResult<InputSet>.Ok(new InputSet(definition.Name, workload.CacheId, trial, setSeed, arguments));
    }

    private DataResult<ArgumentValue> MaterializeOne(
        Definition definition, WorkloadEntry entry, string datasetRoot, ulong setSeed,
        string name, TensorSpec spec, Dictionary<string, SafetensorsFile> blobs)
    {
        var field = $"workload.inputs.{name}";
        var provided = entry.Workload.FindInput(name);
        if (provided is ScalarInput scalar)
        {
            return spec.IsScalar
                ? DataResult<ArgumentValue>.Ok(new ScalarArgument(spec.DType, scalar.Value))
                : Error(entry, field, $"a scalar value was given for a tensor input of dtype {spec.DType.Name()}");
        }
        long[] shape;
        try
        {
            shape = definition.ResolveShape(spec, entry.Workload.Axes);
        }
        catch (KeyNotFoundException e)
        {
            return Error(entry, "workload.axes", $"cannot resolve the shape of input '{name}': {e.Message}");
        }
        var inputKey = InputSeeds.ForInput(setSeed, name);
        switch (provided)
        {
            case null or RandomInput:
                if (spec.IsScalar)
                {
                    return DataResult<ArgumentValue>.Ok(new ScalarArgument(spec.DType, RandomTensors.Scalar(spec.DType, inputKey)));
                }
                var structured = _synthesizers.TryRandomOverride(definition, entry, name, spec, shape, inputKey);
                if (structured is not null)
                {
                    return structured.IsOk ? DataResult<ArgumentValue>.Ok(new TensorArgument(structured.Value)) : structured.Error;
                }
                return DataResult<ArgumentValue>.Ok(new TensorArgument(
                    RandomTensors.Generate(spec.DType, shape, inputKey, _synthesizers.Options.MaxDegreeOfParallelism)));
            case SafetensorsInput blob:
                return ReadOrSynthesizeBlob(definition, entry, datasetRoot, name, spec, shape, blob, blobs);
            case AbsentInput:
                return spec.Optional
                    ? DataResult<ArgumentValue>.Ok(new AbsentArgument())
                    : Error(entry, field, $"'{name}' is not an optional input of definition {definition.Name}: it cannot be absent");
            default:
                return Error(entry, field, $"unsupported input kind {provided.GetType().Name}");
        }
    }

    private DataResult<ArgumentValue> ReadOrSynthesizeBlob(
        Definition definition, WorkloadEntry entry, string datasetRoot, string name, TensorSpec spec, long[] shape,
        SafetensorsInput blob, Dictionary<string, SafetensorsFile> blobs)
    {
        var field = $"workload.inputs.{name}";
        var path = BlobPaths.Resolve(datasetRoot, blob, entry, name);
        if (!path.IsOk)
        {
            return path.Error;
        }
        if (!File.Exists(path.Value))
        {
            if (StrictBlobs)
            {
                return Error(entry, field, $"blob missing: {blob.Path} (resolved to {path.Value})");
            }
            var synthesized = _synthesizers.SynthesizeBlob(definition, entry, name, shape);
            return synthesized.IsOk ? DataResult<ArgumentValue>.Ok(ToArgument(spec, synthesized.Value)) : synthesized.Error;
        }
        if (!blobs.TryGetValue(path.Value, out var file))
        {
            var opened = SafetensorsFile.Open(path.Value);
            if (!opened.IsOk)
            {
                return Error(entry, field, $"blob {blob.Path} is unreadable: {opened.Error}");
            }
            file = opened.Value;
            blobs[path.Value] = file;
        }
        var stored = file.Find(blob.TensorKey);
        if (stored is null)
        {
            var keys = string.Join(", ", file.Entries.Select(e => e.Name));
            return Error(entry, field, $"blob {blob.Path} has no tensor '{blob.TensorKey}' (it has: {keys})");
        }
        if (stored.DType != spec.DType)
        {
            return Error(entry, field,
                $"blob {blob.Path} tensor '{blob.TensorKey}' has dtype {stored.DType.Name()}, the definition says {spec.DType.Name()}");
        }
        if (!stored.Shape.AsSpan().SequenceEqual(shape))
        {
            return Error(entry, field,
                $"blob {blob.Path} tensor '{blob.TensorKey}' has shape {stored.ShapeText}, the definition and axes give [{string.Join(", ", shape)}]");
        }
        // Blobs are small (index structures, routing logits): a copy frees the mapping at once.
        return DataResult<ArgumentValue>.Ok(ToArgument(spec, file.ReadCopy(blob.TensorKey)!));
    }

    private static ArgumentValue ToArgument(TensorSpec spec, HostTensor tensor)
    {
        if (!spec.IsScalar)
        {
            return new TensorArgument(tensor);
        }
        // A 0-d blob for a scalar input is passed by value, as a scalar from the JSON would be.
        var bytes = tensor.Bytes.Span;
        return new ScalarArgument(spec.DType, spec.DType switch
        {
            DType.Bool => ScalarValue.Of(bytes[0] != 0),
            _ when spec.DType.IsFloatingPoint() => ScalarValue.Of((double)ElementCodec.GetFloat(spec.DType, bytes, 0)),
            _ => ScalarValue.Of(ElementCodec.GetInteger(spec.DType, bytes, 0)),
        });
    }

    private static InputSynthesizers WithParallelism(InputSynthesizers synthesizers, int maxDegreeOfParallelism) =>
        synthesizers.Options.MaxDegreeOfParallelism == maxDegreeOfParallelism
            ? synthesizers
            : synthesizers.WithOptions(synthesizers.Options with { MaxDegreeOfParallelism = maxDegreeOfParallelism });

    private static DataError Error(WorkloadEntry entry, string field, string message) =>
        new(entry.SourceFile, entry.SourceLine, field, message);
}
