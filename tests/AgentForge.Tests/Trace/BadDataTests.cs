using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Trace;

/// <summary>Each kind of bad data gives one error naming the file, the line and the field.</summary>
public sealed class BadDataTests
{
    private static DataError SingleError(TinyDataset dataset, IBlobInspector? inspector = null, bool requireBlobs = false)
    {
        var loaded = TraceDataset.Load(dataset.Root);
        return Assert.Single(loaded.Errors.Concat(loaded.CheckBlobs(inspector, requireBlobs)));
    }

    private static void AssertLocated(DataError error, string file, int line, string field, string messagePart)
    {
        Assert.Equal(file, error.File);
        Assert.Equal(line, error.Line);
        Assert.Equal(field, error.Field);
        Assert.Contains(messagePart, error.Message);
        Assert.StartsWith($"{file}:{line}: {field}: ", error.ToString());
    }

    [Fact]
    public void The_tiny_dataset_itself_is_clean()
    {
        using var dataset = TinyDataset.Create();

        var loaded = TraceDataset.Load(dataset.Root);

        Assert.Empty(loaded.Errors);
        Assert.Empty(loaded.CheckBlobs(inspector: null, requireFiles: false));
        var entry = Assert.Single(loaded.Workloads("tiny"));
        Assert.Equal(new WorkloadEntry("tiny", entry.Workload, dataset.WorkloadFile, 1), entry);
    }

    [Fact]
    public void Malformed_json_in_a_definition_names_its_line()
    {
        var broken = TinyDataset.Definition.Replace("\"op_type\": \"demo\",", "\"op_type\": \"demo\"");
        using var dataset = TinyDataset.Create(broken);

        var error = SingleError(dataset);

        AssertLocated(error, dataset.DefinitionFile, TinyDataset.LineOf(broken, "\"axes\""), "op_type", "malformed JSON");
    }

    [Fact]
    public void Malformed_json_in_a_workload_line_names_that_line()
    {
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2").Replace("\"axes\":{", "\"axes\":{,"));

        var error = SingleError(dataset);

        AssertLocated(error, dataset.WorkloadFile, 2, "workload.axes", "malformed JSON");
    }

    [Fact]
    public void An_unknown_definition_is_named()
    {
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", definition: "huge"));

        var error = SingleError(dataset);

        AssertLocated(error, dataset.WorkloadFile, 2, "definition", "unknown definition 'huge'");
    }

    [Fact]
    public void A_missing_var_axis_is_named()
    {
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", axes: ""));

        var error = SingleError(dataset);

        AssertLocated(error, dataset.WorkloadFile, 2, "workload.axes.n", "missing value for var axis 'n' (used by input 'x')");
    }

    [Fact]
    public void An_axis_the_definition_lacks_is_named()
    {
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", axes: "\"n\":2,\"m\":3"));

        AssertLocated(SingleError(dataset), dataset.WorkloadFile, 2, "workload.axes.m", "has no axis 'm'");
    }

    [Fact]
    public void A_const_axis_with_another_value_is_named()
    {
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", axes: "\"n\":2,\"d\":8"));

        AssertLocated(SingleError(dataset), dataset.WorkloadFile, 2, "workload.axes.d", "const axis 'd' is 4 in the definition, not 8");
    }

    [Fact]
    public void A_negative_axis_value_is_named()
    {
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", axes: "\"n\":-1"));

        AssertLocated(SingleError(dataset), dataset.WorkloadFile, 2, "workload.axes.n", "must be >= 0, found -1");
    }

    [Fact]
    public void An_unknown_dtype_names_the_line_of_the_field()
    {
        var broken = TinyDataset.Definition.Replace("\"idx\": {\"shape\": [\"n\"], \"dtype\": \"int32\"}", "\"idx\": {\"shape\": [\"n\"], \"dtype\": \"int128\"}");
        using var dataset = TinyDataset.Create(broken);

        var error = SingleError(dataset);

        AssertLocated(error, dataset.DefinitionFile, TinyDataset.LineOf(broken, "int128"), "inputs.idx.dtype", "unknown dtype 'int128'");
    }

    [Fact]
    public void A_shape_naming_an_undeclared_axis_is_named()
    {
        var broken = TinyDataset.Definition.Replace("\"y\": {\"shape\": [\"n\", \"d\"]", "\"y\": {\"shape\": [\"n\", \"k\"]");
        using var dataset = TinyDataset.Create(broken);

        AssertLocated(SingleError(dataset), dataset.DefinitionFile, TinyDataset.LineOf(broken, "\"y\""), "outputs.y.shape[1]", "axis 'k' is not declared");
    }

    [Fact]
    public void A_scalar_given_for_a_tensor_is_named()
    {
        var inputs = TinyDataset.Inputs.Replace("\"x\":{\"type\":\"random\"}", "\"x\":{\"type\":\"scalar\",\"value\":1.0}");
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", inputs: inputs));

        AssertLocated(SingleError(dataset), dataset.WorkloadFile, 2, "workload.inputs.x.type", "input 'x' is a tensor of shape [n, d], but the workload gives a scalar");
    }

    [Fact]
    public void A_tensor_given_for_a_scalar_is_named()
    {
        var inputs = TinyDataset.Inputs.Replace("\"scale\":{\"type\":\"scalar\",\"value\":0.5}", "\"scale\":{\"type\":\"random\"}");
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", inputs: inputs));

        AssertLocated(SingleError(dataset), dataset.WorkloadFile, 2, "workload.inputs.scale.type", "input 'scale' is a scalar (shape null), but the workload gives a tensor (random)");
    }

    [Fact]
    public void A_scalar_value_that_is_a_tensor_literal_is_named()
    {
        var inputs = TinyDataset.Inputs.Replace("\"value\":0.5", "\"value\":[0.5]");
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", inputs: inputs));

        AssertLocated(SingleError(dataset), dataset.WorkloadFile, 2, "workload.inputs.scale.value", "a scalar value must be a number or a bool, found an array");
    }

    [Fact]
    public void An_input_the_definition_lacks_is_named()
    {
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", inputs: TinyDataset.Inputs + ",\"y\":{\"type\":\"random\"}"));

        AssertLocated(SingleError(dataset), dataset.WorkloadFile, 2, "workload.inputs.y", "'y' is an output of definition 'tiny', not an input");
    }

    [Fact]
    public void A_duplicate_uuid_is_named()
    {
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("good"));

        AssertLocated(SingleError(dataset), dataset.WorkloadFile, 2, "workload.uuid", $"already used at {dataset.WorkloadFile}:1");
    }

    [Fact]
    public void A_missing_blob_is_an_error_only_when_blobs_are_required()
    {
        using var dataset = TinyDataset.Create();

        var loaded = TraceDataset.Load(dataset.Root);

        Assert.Empty(loaded.CheckBlobs(inspector: null, requireFiles: false));
        var error = Assert.Single(loaded.CheckBlobs(inspector: null, requireFiles: true));
        AssertLocated(error, dataset.WorkloadFile, 1, "workload.inputs.idx.path", $"blob missing: {TinyDataset.BlobPath}");
    }

    [Fact]
    public void A_blob_with_another_shape_is_named()
    {
        using var dataset = TinyDataset.Create();
        var blob = dataset.CreateBlob();
        var inspector = new FakeBlobInspector(blob, "idx", new BlobProbe.Found([3], "I32"));

        AssertLocated(SingleError(dataset, inspector), dataset.WorkloadFile, 1, "workload.inputs.idx", "blob tensor 'idx' has shape [3], but the definition requires [2]");
    }

    [Fact]
    public void A_blob_with_another_dtype_is_named()
    {
        using var dataset = TinyDataset.Create();
        var blob = dataset.CreateBlob();
        var inspector = new FakeBlobInspector(blob, "idx", new BlobProbe.Found([2], "I64"));

        AssertLocated(SingleError(dataset, inspector), dataset.WorkloadFile, 1, "workload.inputs.idx", "has dtype I64, but the definition requires int32 (I32)");
    }

    [Fact]
    public void A_blob_without_the_tensor_key_is_named()
    {
        using var dataset = TinyDataset.Create();
        var blob = dataset.CreateBlob();
        var inspector = new FakeBlobInspector(blob, "idx", new BlobProbe.KeyMissing(["q", "k"]));

        AssertLocated(SingleError(dataset, inspector), dataset.WorkloadFile, 1, "workload.inputs.idx.tensor_key", "has no tensor 'idx' (it has q, k)");
    }

    [Fact]
    public void A_matching_blob_passes()
    {
        using var dataset = TinyDataset.Create();
        var blob = dataset.CreateBlob();
        var inspector = new FakeBlobInspector(blob, "idx", new BlobProbe.Found([2], "I32"));

        var loaded = TraceDataset.Load(dataset.Root);

        Assert.Empty(loaded.CheckBlobs(inspector, requireFiles: true));
        var reference = Assert.Single(loaded.BlobReferences());
        Assert.Equal(blob, reference.FullPath);
        Assert.Equal([2L], reference.Shape);
        Assert.Equal(DType.Int32, reference.DType);
    }

    [Fact]
    public void A_blob_path_outside_the_dataset_is_named()
    {
        var inputs = TinyDataset.Inputs.Replace(TinyDataset.BlobPath, "../elsewhere/w.safetensors");
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", inputs: inputs));

        var errors = TraceDataset.Load(dataset.Root).CheckBlobs(inspector: null, requireFiles: false);

        AssertLocated(Assert.Single(errors), dataset.WorkloadFile, 2, "workload.inputs.idx.path", "leaves the dataset root");
    }

    [Fact]
    public void Several_problems_in_one_file_are_all_reported()
    {
        var broken = TinyDataset.Definition.Replace("\"float32\"", "\"float64\"").Replace("\"op_type\": \"demo\",", "");
        var read = TraceJson.ReadDefinition(broken, "defs/tiny.json");

        Assert.Equal(["op_type", "inputs.x.dtype", "inputs.scale.dtype", "outputs.y.dtype"], read.Errors.Select(e => e.Field));
        Assert.Equal(1, read.Errors[0].Line);
    }

    [Fact]
    public void No_dataset_root_is_a_clear_error()
    {
        var none = TraceDataset.ResolveRoot(null, null);
        var missing = TraceDataset.ResolveRoot("/nonexistent/dataset", null);
        var fromEnvironment = TraceDataset.ResolveRoot(null, Path.GetTempPath());

        Assert.Contains("pass --dataset DIR or set FIB_DATASET_PATH", Assert.Single(none.Errors).ToString());
        Assert.Equal("/nonexistent/dataset: --dataset: dataset folder does not exist", Assert.Single(missing.Errors).ToString());
        Assert.Equal(Path.GetTempPath(), fromEnvironment.Value);
    }

    [Fact]
    public void Solutions_and_traces_load_and_name_unknown_definitions()
    {
        using var dataset = TinyDataset.Create();
        const string solution = """
            {
              "name": "tiny_cuda",
              "definition": "tiny",
              "author": "me",
              "spec": {"language": "cuda", "target_hardware": ["cuda"], "entry_point": "k.cu::run"},
              "sources": [{"path": "k.cu", "content": "// kernel"}]
            }
            """;
        Directory.CreateDirectory(Path.Combine(dataset.Root, "solutions", "demo"));
        File.WriteAllText(Path.Combine(dataset.Root, "solutions", "demo", "tiny_cuda.json"), solution);
        var orphan = Path.Combine(dataset.Root, "solutions", "demo", "orphan.json");
        File.WriteAllText(orphan, solution.Replace("\"definition\": \"tiny\"", "\"definition\": \"gone\""));
        var traces = Path.Combine(dataset.Root, "traces", "demo", "tiny.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(traces)!);
        File.WriteAllLines(traces, [TinyDataset.Line("t1"), "", TinyDataset.Line("t2", definition: "gone")]);

        var loaded = TraceDataset.Load(dataset.Root);

        Assert.Equal("tiny_cuda", Assert.Single(loaded.Solutions).Name);
        Assert.Equal(1, Assert.Single(loaded.Traces).SourceLine);
        Assert.Equal(
            [$"{orphan}:3: definition: unknown definition 'gone'", $"{traces}:3: definition: unknown definition 'gone'"],
            loaded.Errors.Select(e => e.ToString()));
    }

    private sealed class FakeBlobInspector(string path, string key, BlobProbe probe) : IBlobInspector
    {
        public BlobProbe Probe(string fullPath, string tensorKey) =>
            fullPath == path && tensorKey == key ? probe : new BlobProbe.Unreadable("unexpected probe");
    }
}
