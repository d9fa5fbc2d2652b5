namespace AgentForge.Tools.Trace;

/// <summary>
/// A FlashInfer-Trace dataset folder: definitions/**.json, workloads/**.jsonl, solutions/**.json,
/// traces/**.jsonl (blobs under blob/ are referenced by workloads). Loading never throws for bad
/// data: what loads is kept, and every problem is in <see cref="Errors"/> with file, line and field.
/// </summary>
public sealed class TraceDataset
{
    public const string EnvironmentVariable = "FIB_DATASET_PATH";

    private readonly Dictionary<string, Definition> definitions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> definitionFiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<WorkloadEntry>> workloads = new(StringComparer.Ordinal);
    private readonly List<Solution> solutions = [];
    private readonly List<TraceEntry> traces = [];
    private readonly List<DataError> errors = [];

    // Names (file stems, as definitions/<op_type>/<name>.json) of definition files that failed to
    // load: their workloads are skipped quietly, the definition's own error says what to fix.
    private readonly HashSet<string> brokenDefinitions = new(StringComparer.Ordinal);

    private TraceDataset(string root) => Root = root;

    public string Root { get; }

    /// <summary>Definitions by name.</summary>
    public IReadOnlyDictionary<string, Definition> Definitions => definitions;

    public IReadOnlyList<Solution> Solutions => solutions;

    /// <summary>Traces from traces/ (evaluations), in file and line order.</summary>
    public IReadOnlyList<TraceEntry> Traces => traces;

    public IReadOnlyList<DataError> Errors => errors;

    /// <summary>Every workload that loaded and passed its checks, by definition then file order.</summary>
    public IEnumerable<WorkloadEntry> AllWorkloads => definitions.Keys.SelectMany(Workloads);

    public Definition? FindDefinition(string name) => definitions.GetValueOrDefault(name);

    /// <summary>The file a definition was read from.</summary>
    public string? DefinitionFile(string name) => definitionFiles.GetValueOrDefault(name);

    /// <summary>A definition's workloads in file order (the order of FlashInfer-Bench's runs).</summary>
    public IReadOnlyList<WorkloadEntry> Workloads(string definitionName) =>
        workloads.TryGetValue(definitionName, out var list) ? list : [];

    /// <summary>The dataset root: <paramref name="explicitRoot"/> (--dataset), else $FIB_DATASET_PATH.</summary>
    public static DataResult<string> ResolveRoot(string? explicitRoot) =>
        ResolveRoot(explicitRoot, Environment.GetEnvironmentVariable(EnvironmentVariable));

    public static DataResult<string> ResolveRoot(string? explicitRoot, string? environmentRoot)
    {
        var (root, source) = !string.IsNullOrWhiteSpace(explicitRoot)
            ? (explicitRoot, "--dataset")
            : (environmentRoot, EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(root))
        {
            return DataResult<string>.Fail(new DataError("(dataset)", null, "--dataset",
                $"no dataset given: pass --dataset DIR or set {EnvironmentVariable}"));
        }
        return Directory.Exists(root)
            ? DataResult<string>.Ok(root)
            : DataResult<string>.Fail(new DataError(root, null, source, "dataset folder does not exist"));
    }

    public static TraceDataset Load(string root)
    {
        var dataset = new TraceDataset(root);
        dataset.LoadDefinitions();
        dataset.LoadWorkloads();
        dataset.LoadSolutions();
        dataset.LoadTraces();
        return dataset;
    }

    private static IEnumerable<string> FilesUnder(string root, string folder, string extension)
    {
        var directory = Path.Combine(root, folder);
        return Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "*" + extension, SearchOption.AllDirectories)
                .Where(f => f.EndsWith(extension, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
            : [];
    }

    private void LoadDefinitions()
    {
        if (!Directory.Exists(Path.Combine(Root, "definitions")))
        {
            errors.Add(new DataError(Root, null, "definitions", "the dataset has no definitions/ folder"));
            return;
        }
        foreach (var file in FilesUnder(Root, "definitions", ".json"))
        {
            var result = TraceJson.ReadDefinitionFile(file);
            if (!result.IsOk)
            {
                errors.AddRange(result.Errors);
                brokenDefinitions.Add(Path.GetFileNameWithoutExtension(file));
                continue;
            }
            var definition = result.Value;
            if (definitionFiles.TryGetValue(definition.Name, out var first))
            {
                errors.Add(new DataError(file, LineOf(file, "\"name\""), "name", $"definition '{definition.Name}' is already defined in {first}"));
                continue;
            }
            definitions.Add(definition.Name, definition);
            definitionFiles.Add(definition.Name, file);
        }
    }

    private void LoadWorkloads()
    {
        var seen = new Dictionary<(string, string), WorkloadEntry>();
        foreach (var file in FilesUnder(Root, "workloads", ".jsonl"))
        {
            foreach (var entry in ReadCheckedTraces(file))
            {
                var workload = new WorkloadEntry(entry.Trace.Definition, entry.Trace.Workload, entry.SourceFile, entry.SourceLine);
                if (seen.TryGetValue((workload.DefinitionName, workload.Workload.Uuid), out var first))
                {
                    errors.Add(new DataError(file, entry.SourceLine, "workload.uuid",
                        $"uuid '{workload.Workload.Uuid}' is already used at {first.SourceFile}:{first.SourceLine}"));
                    continue;
                }
                seen.Add((workload.DefinitionName, workload.Workload.Uuid), workload);
                if (!workloads.TryGetValue(workload.DefinitionName, out var list))
                {
                    workloads.Add(workload.DefinitionName, list = []);
                }
                list.Add(workload);
            }
        }
    }

    private void LoadTraces()
    {
        foreach (var file in FilesUnder(Root, "traces", ".jsonl"))
        {
            traces.AddRange(ReadCheckedTraces(file));
        }
    }

    /// <summary>The traces of a .jsonl file whose definition is known and whose workload fits it.</summary>
    private IEnumerable<TraceEntry> ReadCheckedTraces(string file)
    {
        var (entries, fileErrors) = TraceJson.ReadTraceFile(file);
        errors.AddRange(fileErrors);
        foreach (var entry in entries)
        {
            if (brokenDefinitions.Contains(entry.Trace.Definition) && !definitions.ContainsKey(entry.Trace.Definition))
            {
                continue;
            }
            if (!definitions.TryGetValue(entry.Trace.Definition, out var definition))
            {
                errors.Add(new DataError(file, entry.SourceLine, "definition", $"unknown definition '{entry.Trace.Definition}'"));
                continue;
            }
            var problems = WorkloadValidator.Check(definition, entry.Trace.Workload, file, entry.SourceLine);
            errors.AddRange(problems);
            if (problems.Count == 0)
            {
                yield return entry;
            }
        }
    }

    private void LoadSolutions()
    {
        foreach (var file in FilesUnder(Root, "solutions", ".json"))
        {
            var result = TraceJson.ReadSolutionFile(file);
            if (!result.IsOk)
            {
                errors.AddRange(result.Errors);
            }
            else if (!definitions.ContainsKey(result.Value.Definition))
            {
                errors.Add(new DataError(file, LineOf(file, "\"definition\""), "definition", $"unknown definition '{result.Value.Definition}'"));
            }
            else
            {
                solutions.Add(result.Value);
            }
        }
    }

    /// <summary>Line of the first occurrence of <paramref name="text"/>, for errors about a valid document.</summary>
    private static int? LineOf(string file, string text)
    {
        var lines = File.ReadLines(file).Select((line, index) => (line, index)).FirstOrDefault(l => l.line.Contains(text, StringComparison.Ordinal));
        return lines.line is null ? null : lines.index + 1;
    }

    /// <summary>
    /// Every safetensors input of every loaded workload, with the shape and dtype the definition
    /// requires and the blob path resolved against the dataset root.
    /// </summary>
    public IEnumerable<BlobReference> BlobReferences()
    {
        foreach (var entry in AllWorkloads)
        {
            var definition = definitions[entry.DefinitionName];
            foreach (var (name, input) in entry.Workload.Inputs)
            {
                if (input is SafetensorsInput blob && definition.FindInput(name) is { } spec)
                {
                    yield return new BlobReference(
                        entry.DefinitionName,
                        entry.Workload.Uuid,
                        name,
                        blob.Path,
                        Path.GetFullPath(Path.Combine(Root, blob.Path)),
                        blob.TensorKey,
                        definition.ResolveShape(spec.Spec, entry.Workload.Axes),
                        spec.Spec.DType,
                        entry.SourceFile,
                        entry.SourceLine);
                }
            }
        }
    }

    /// <summary>
    /// Checks the blobs that workloads reference. An absent file is an error only when
    /// <paramref name="requireFiles"/>: otherwise its input is synthesized (EVALUATION.md). A present
    /// file is compared with the definition through <paramref name="inspector"/>, when given.
    /// </summary>
    public IReadOnlyList<DataError> CheckBlobs(IBlobInspector? inspector, bool requireFiles)
    {
        var found = new List<DataError>();
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Root)) + Path.DirectorySeparatorChar;
        foreach (var blob in BlobReferences())
        {
            if (!blob.FullPath.StartsWith(root, StringComparison.Ordinal))
            {
                found.Add(blob.Error("path", $"blob path '{blob.Path}' leaves the dataset root"));
                continue;
            }
            if (!File.Exists(blob.FullPath))
            {
                if (requireFiles)
                {
                    found.Add(blob.Error("path", $"blob missing: {blob.Path} (looked for {blob.FullPath})"));
                }
                continue;
            }
            if (inspector is null)
            {
                continue;
            }
            switch (inspector.Probe(blob.FullPath, blob.TensorKey))
            {
                case BlobProbe.Unreadable u:
                    found.Add(blob.Error("path", $"blob {blob.Path} is not a readable safetensors file: {u.Reason}"));
                    break;
                case BlobProbe.KeyMissing k:
                    found.Add(blob.Error("tensor_key", $"blob {blob.Path} has no tensor '{blob.TensorKey}' (it has {string.Join(", ", k.AvailableKeys)})"));
                    break;
                case BlobProbe.Found f:
                    if (!f.Shape.SequenceEqual(blob.Shape))
                    {
                        found.Add(blob.Error("", $"blob tensor '{blob.TensorKey}' has shape [{string.Join(", ", f.Shape)}], but the definition requires [{string.Join(", ", blob.Shape)}]"));
                    }
                    if (!DTypes.TryParseSafetensorsName(f.DType, out var dtype) || dtype != blob.DType)
                    {
                        found.Add(blob.Error("", $"blob tensor '{blob.TensorKey}' has dtype {f.DType}, but the definition requires {blob.DType.Name()} ({blob.DType.SafetensorsName()})"));
                    }
                    break;
            }
        }
        return found;
    }
}
