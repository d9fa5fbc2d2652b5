using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>What `dataset synth` did: files written, files left alone because they exist, and problems.</summary>
public sealed record DatasetSynthesisReport(
    IReadOnlyList<string> Written,
    IReadOnlyList<string> SkippedExisting,
    IReadOnlyList<DataError> Errors)
{
    public bool Succeeded => Errors.Count == 0;
}

/// <summary>
/// Writes the absent blob files of a dataset with the content the materializer would synthesize
/// (<see cref="InputSynthesizers.SynthesizeBlob"/>), so a synthesized dataset and an on-the-fly
/// synthesis give identical inputs. All tensor keys that point into one file go into that file.
/// An existing file is never overwritten, not even partly: a file is written whole or not at all.
/// </summary>
public sealed class DatasetSynthesizer(InputSynthesizers? synthesizers = null)
{
    private readonly InputSynthesizers _synthesizers = synthesizers ?? InputSynthesizers.Default;

    private sealed record Request(WorkloadEntry Entry, Definition Definition, string InputName, SafetensorsInput Blob, long[] Shape);

    /// <param name="datasetRoot">The dataset root that blob paths are relative to.</param>
    /// <param name="definitions">Definitions by name; workloads of unknown definitions are errors.</param>
    /// <param name="workloads">Every workload of the dataset, with its file and line.</param>
    public DatasetSynthesisReport Synthesize(
        string datasetRoot,
        IReadOnlyList<Definition> definitions,
        IReadOnlyList<WorkloadEntry> workloads,
        CancellationToken cancellationToken = default)
    {
        var byName = definitions.ToDictionary(d => d.Name, StringComparer.Ordinal);
        var errors = new List<DataError>();
        // File -> requests in dataset order; the first request for a tensor key decides its content.
        var files = new Dictionary<string, List<Request>>(StringComparer.Ordinal);
        var fileOrder = new List<string>();
        foreach (var entry in workloads)
        {
            if (!byName.TryGetValue(entry.DefinitionName, out var definition))
            {
                errors.Add(new DataError(entry.SourceFile, entry.SourceLine, "definition", $"unknown definition '{entry.DefinitionName}'"));
                continue;
            }
            foreach (var (name, input) in entry.Workload.Inputs)
            {
                if (input is not SafetensorsInput blob)
                {
                    continue;
                }
                var field = $"workload.inputs.{name}";
                var spec = definition.FindInput(name)?.Spec;
                if (spec is null)
                {
                    errors.Add(new DataError(entry.SourceFile, entry.SourceLine, field, $"'{name}' is not an input of definition {definition.Name}"));
                    continue;
                }
                var path = BlobPaths.Resolve(datasetRoot, blob, entry, name);
                if (!path.IsOk)
                {
                    errors.Add(path.Error);
                    continue;
                }
                long[] shape;
                try
                {
                    shape = definition.ResolveShape(spec, entry.Workload.Axes);
                }
                catch (KeyNotFoundException e)
                {
                    errors.Add(new DataError(entry.SourceFile, entry.SourceLine, "workload.axes", $"cannot resolve the shape of input '{name}': {e.Message}"));
                    continue;
                }
                if (!files.TryGetValue(path.Value, out var requests))
                {
                    files[path.Value] = requests = [];
                    fileOrder.Add(path.Value);
                }
                requests.Add(new Request(entry, definition, name, blob, shape));
            }
        }

        var written = new List<string>();
        var skipped = new List<string>();
        foreach (var path in fileOrder)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (File.Exists(path))
            {
                skipped.Add(path);
                continue;
            }
            var tensors = new List<KeyValuePair<string, HostTensor>>();
            var fileErrors = new List<DataError>();
            var firstRequest = new Dictionary<string, Request>(StringComparer.Ordinal);
            foreach (var request in files[path])
            {
                var key = request.Blob.TensorKey;
                var spec = request.Definition.FindInput(request.InputName)!.Spec;
                if (firstRequest.TryGetValue(key, out var first))
                {
                    // Two workloads (or inputs) share a tensor: fine if they agree on what it is.
                    var firstSpec = first.Definition.FindInput(first.InputName)!.Spec;
                    if (firstSpec.DType != spec.DType || !first.Shape.AsSpan().SequenceEqual(request.Shape))
                    {
                        fileErrors.Add(new DataError(request.Entry.SourceFile, request.Entry.SourceLine, $"workload.inputs.{request.InputName}",
                            $"blob {request.Blob.Path} tensor '{key}' is also used by {first.Entry.SourceFile}:{first.Entry.SourceLine} " +
                            $"as {firstSpec.DType.Name()} [{string.Join(", ", first.Shape)}], here as {spec.DType.Name()} [{string.Join(", ", request.Shape)}]"));
                    }
                    continue;
                }
                firstRequest[key] = request;
                var tensor = _synthesizers.SynthesizeBlob(request.Definition, request.Entry, request.InputName, request.Shape);
                if (!tensor.IsOk)
                {
                    fileErrors.Add(tensor.Error);
                    continue;
                }
                tensors.Add(new(key, tensor.Value));
            }
            if (fileErrors.Count > 0)
            {
                errors.AddRange(fileErrors);
                continue;
            }
            var metadata = new Dictionary<string, string>
            {
                ["format"] = "pt",
                ["agentforge.synthesized"] = "true",
                ["agentforge.workload_uuid"] = files[path][0].Entry.Workload.Uuid,
            };
            if (SafetensorsWriter.WriteFile(path, tensors, metadata, overwrite: false))
            {
                written.Add(path);
            }
            else
            {
                skipped.Add(path);
            }
        }
        return new DatasetSynthesisReport(written, skipped, errors);
    }
}
