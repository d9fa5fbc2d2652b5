using AgentForge.Tools.Inputs;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Inputs;

public sealed class InputMaterializerTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private const string Blob = "./blob/workloads/paged/paged_w1.safetensors";

    /// <summary>An indexer-like definition small enough for unit tests.</summary>
    private static Definition Paged() => new(
        "paged_small", "dsa_paged",
        [
            new("batch_size", new VarAxis()), new("max_num_pages", new VarAxis()), new("num_pages", new VarAxis()),
            new("page_size", new ConstAxis(64)), new("heads", new ConstAxis(4)), new("one", new ConstAxis(1)), new("dim_sf", new ConstAxis(132)),
        ],
        [
            new("q", new TensorSpec(["batch_size", "heads"], DType.Float8E4M3FN)),
            new("k_index_cache_fp8", new TensorSpec(["num_pages", "page_size", "one", "dim_sf"], DType.Int8)),
            new("weights", new TensorSpec(["batch_size", "heads"], DType.Float32)),
            new("seq_lens", new TensorSpec(["batch_size"], DType.Int32)),
            new("block_table", new TensorSpec(["batch_size", "max_num_pages"], DType.Int32)),
            new("scale", new TensorSpec(null, DType.Float32)),
            new("flag", new TensorSpec(null, DType.Int32)),
        ],
        [new("out", new TensorSpec(["batch_size"], DType.Int32))],
        "", [], null, []);

    private static readonly Dictionary<string, long> Axes = new() { ["batch_size"] = 3, ["max_num_pages"] = 2, ["num_pages"] = 9 };

    private static WorkloadEntry Entry(params (string Name, WorkloadInput Input)[] inputs) =>
        new("paged_small", new Workload("4f1c2d9e-0000-4000-8000-000000000001", Axes,
            inputs.Select(i => new KeyValuePair<string, WorkloadInput>(i.Name, i.Input)).ToList()),
            "/data/workloads/paged/paged_small.jsonl", 12);

    private static WorkloadEntry Standard() => Entry(
        ("weights", new RandomInput()),
        ("k_index_cache_fp8", new RandomInput()),
        ("seq_lens", new SafetensorsInput(Blob, "seq_lens")),
        ("block_table", new SafetensorsInput(Blob, "block_table")),
        ("scale", new ScalarInput(ScalarValue.Of(0.125))));

    private InputSet Materialize(WorkloadEntry entry, int trial = 0, ulong runSeed = 1, InputMaterializer? materializer = null)
    {
        var result = (materializer ?? new InputMaterializer()).Materialize(Paged(), entry, _root.Path, trial, runSeed, TestContext.Current.CancellationToken);
        Assert.True(result.IsOk, result.Error?.ToString());
        return result.Value;
    }

    private static byte[] Bytes(InputSet set, string name) => ((TensorArgument)set[name]).Tensor.Bytes.ToArray();

    private DataError Fail(WorkloadEntry entry, InputMaterializer? materializer = null)
    {
        var result = (materializer ?? new InputMaterializer()).Materialize(Paged(), entry, _root.Path, 0, 1, TestContext.Current.CancellationToken);
        Assert.False(result.IsOk);
        Assert.Equal("/data/workloads/paged/paged_small.jsonl", result.Error.File);
        Assert.Equal(12, result.Error.Line);
        return result.Error;
    }

    private void WriteBlob(params (string Key, HostTensor Tensor)[] tensors) =>
        Assert.True(SafetensorsWriter.WriteFile(Path.Combine(_root.Path, Blob),
            tensors.Select(t => new KeyValuePair<string, HostTensor>(t.Key, t.Tensor)).ToList()));

    [Fact]
    public void Inputs_come_in_definition_order_with_the_recorded_seed()
    {
        var set = Materialize(Standard(), trial: 2, runSeed: 99);
        Assert.Equal(["q", "k_index_cache_fp8", "weights", "seq_lens", "block_table", "scale", "flag"], set.Arguments.Select(a => a.Key));
        Assert.Equal(InputSeeds.ForSet(99, "4f1c2d9e-0000-4000-8000-000000000001", 2), set.Seed);
        Assert.Equal((2, "paged_small"), (set.Trial, set.DefinitionName));
        Assert.Equal(new ScalarArgument(DType.Float32, ScalarValue.Of(0.125)), set["scale"]);
        // An input the workload does not mention is random; a scalar one is a random scalar.
        Assert.Equal([3, 4], ((TensorArgument)set["q"]).Tensor.Shape);
        Assert.Equal(DType.Int32, Assert.IsType<ScalarArgument>(set["flag"]).DType);
        var weights = ((TensorArgument)set["weights"]).Tensor;
        Assert.Equal(RandomTensors.Generate(DType.Float32, [3, 4], InputSeeds.ForInput(set.Seed, "weights")).Bytes.ToArray(), weights.Bytes.ToArray());
    }

    [Fact]
    public void Random_inputs_change_per_trial_and_run_seed_but_replay_exactly()
    {
        var a = Materialize(Standard(), trial: 0);
        var again = Materialize(Standard(), trial: 0);
        var nextTrial = Materialize(Standard(), trial: 1);
        var otherRun = Materialize(Standard(), trial: 0, runSeed: 2);
        foreach (var name in new[] { "q", "weights", "k_index_cache_fp8" })
        {
            Assert.Equal(Bytes(a, name), Bytes(again, name));
            Assert.NotEqual(Bytes(a, name), Bytes(nextTrial, name));
            Assert.NotEqual(Bytes(a, name), Bytes(otherRun, name));
        }
    }

    [Fact]
    public void Synthesized_blob_inputs_are_the_same_in_every_trial_and_run()
    {
        var a = Materialize(Standard(), trial: 0, runSeed: 1);
        var b = Materialize(Standard(), trial: 2, runSeed: 77);
        Assert.Equal(Bytes(a, "seq_lens"), Bytes(b, "seq_lens"));
        Assert.Equal(Bytes(a, "block_table"), Bytes(b, "block_table"));
        var lens = ElementCodec.ToFloat32(((TensorArgument)a["seq_lens"]).Tensor);
        Assert.InRange(lens.Max(), 65, 128);
    }

    [Fact]
    public void The_random_indexer_cache_is_a_valid_packed_cache()
    {
        var set = Materialize(Standard());
        var cache = ((TensorArgument)set["k_index_cache_fp8"]).Tensor;
        Assert.Equal(IndexerKeyCache.Generate([9, 64, 1, 132], InputSeeds.ForInput(set.Seed, "k_index_cache_fp8")).Bytes.ToArray(), cache.Bytes.ToArray());
    }

    [Fact]
    public void A_present_blob_is_read_and_checked_not_synthesized()
    {
        var lens = new HostTensor(DType.Int32, [3], new byte[] { 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0 });
        var table = RandomTensors.Generate(DType.Int32, [3, 2], 4);
        WriteBlob(("seq_lens", lens), ("block_table", table));
        var set = Materialize(Standard());
        Assert.Equal(lens.Bytes.ToArray(), Bytes(set, "seq_lens"));
        Assert.Equal(table.Bytes.ToArray(), Bytes(set, "block_table"));
        // The set owns copies: it outlives the blob file.
        File.Delete(Path.Combine(_root.Path, Blob));
        Assert.Equal(lens.Bytes.ToArray(), Bytes(set, "seq_lens"));
    }

    [Fact]
    public void A_blob_with_the_wrong_dtype_names_the_workload_line_and_field()
    {
        WriteBlob(("seq_lens", RandomTensors.Generate(DType.Int64, [3], 1)), ("block_table", RandomTensors.Generate(DType.Int32, [3, 2], 1)));
        var error = Fail(Standard());
        Assert.Equal("workload.inputs.seq_lens", error.Field);
        Assert.Contains("dtype int64", error.Message);
        Assert.Contains("int32", error.Message);
        Assert.StartsWith("/data/workloads/paged/paged_small.jsonl:12: workload.inputs.seq_lens:", error.ToString());
    }

    [Fact]
    public void A_blob_with_the_wrong_shape_is_an_error()
    {
        WriteBlob(("seq_lens", RandomTensors.Generate(DType.Int32, [3], 1)), ("block_table", RandomTensors.Generate(DType.Int32, [3, 3], 1)));
        var error = Fail(Standard());
        Assert.Equal("workload.inputs.block_table", error.Field);
        Assert.Contains("shape [3, 3]", error.Message);
        Assert.Contains("[3, 2]", error.Message);
    }

    [Fact]
    public void A_blob_without_the_tensor_key_is_an_error_listing_what_it_has()
    {
        WriteBlob(("seq_lens", RandomTensors.Generate(DType.Int32, [3], 1)));
        var error = Fail(Standard());
        Assert.Equal("workload.inputs.block_table", error.Field);
        Assert.Contains("no tensor 'block_table'", error.Message);
        Assert.Contains("seq_lens", error.Message);
    }

    [Fact]
    public void A_corrupt_blob_is_an_error_not_a_crash()
    {
        var path = Path.Combine(_root.Path, Blob);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [1, 2, 3]);
        var error = Fail(Standard());
        Assert.Equal("workload.inputs.seq_lens", error.Field);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Strict_blobs_turn_an_absent_blob_into_blob_missing()
    {
        var error = Fail(Standard(), new InputMaterializer(strictBlobs: true));
        Assert.Equal("workload.inputs.seq_lens", error.Field);
        Assert.Contains("blob missing", error.Message);
        Assert.Contains(Blob, error.Message);
    }

    [Fact]
    public void Workload_mistakes_are_errors_naming_the_field()
    {
        Assert.Equal("workload.inputs.bogus", Fail(Entry(("bogus", new RandomInput()))).Field);
        Assert.Contains("scalar value was given for a tensor", Fail(Entry(("weights", new ScalarInput(ScalarValue.Of(1L))))).Message);
        Assert.Equal("workload.inputs.seq_lens.path", Fail(Entry(("seq_lens", new SafetensorsInput("../../etc/passwd", "x")))).Field);
        Assert.Contains("absolute", Fail(Entry(("seq_lens", new SafetensorsInput("/tmp/x.safetensors", "x")))).Message);
        var noAxes = new WorkloadEntry("paged_small", new Workload("u", new Dictionary<string, long>(), []), "/data/workloads/paged/paged_small.jsonl", 12);
        Assert.Equal("workload.axes", Fail(noAxes).Field);
    }

    [Fact]
    public void Results_do_not_depend_on_the_degree_of_parallelism()
    {
        var serial = Materialize(Standard(), materializer: new InputMaterializer(maxDegreeOfParallelism: 1));
        var parallel = Materialize(Standard(), materializer: new InputMaterializer(maxDegreeOfParallelism: -1));
        foreach (var (name, value) in serial.Arguments)
        {
            if (value is TensorArgument tensor)
            {
                Assert.Equal(tensor.Tensor.Bytes.ToArray(), Bytes(parallel, name));
            }
        }
    }

    [Fact]
    public void Real_gdn_decode_workload_materializes_with_random_unnormalized_q()
    {
        var definition = TestDataset.LoadDefinition(TestDataset.GdnDecode);
        var entry = TestDataset.LoadWorkloads(TestDataset.GdnDecode)[0];
        var result = new InputMaterializer().Materialize(definition, entry, TestDataset.RequireRoot(), 0, 5, TestContext.Current.CancellationToken);
        Assert.True(result.IsOk, result.Error?.ToString());
        Assert.Equal(definition.Inputs.Select(i => i.Name), result.Value.Arguments.Select(a => a.Key));
        Assert.Equal(ScalarKind.Float, ((ScalarArgument)result.Value["scale"]).Value.Kind);
        var q = ElementCodec.ToFloat32(((TensorArgument)result.Value["q"]).Tensor);
        Assert.Contains(q.Chunk(128), v => Math.Abs(Math.Sqrt(v.Sum(x => (double)x * x)) - 1) > 0.5);
    }

    [Fact]
    public void Real_prefill_workload_with_absent_blobs_materializes()
    {
        var root = TestDataset.RequireRoot();
        var definition = TestDataset.LoadDefinition(TestDataset.GdnPrefill);
        var entry = TestDataset.LoadWorkloads(TestDataset.GdnPrefill).OrderBy(e => e.Workload.Axes["total_seq_len"]).First();
        Assert.False(File.Exists(Path.Combine(root, ((SafetensorsInput)entry.Workload.FindInput("q")!).Path)));
        var result = new InputMaterializer().Materialize(definition, entry, root, 1, 5, TestContext.Current.CancellationToken);
        Assert.True(result.IsOk, result.Error?.ToString());
        var strict = new InputMaterializer(strictBlobs: true).Materialize(definition, entry, root, 1, 5, TestContext.Current.CancellationToken);
        Assert.False(strict.IsOk);
        Assert.Equal((entry.SourceFile, entry.SourceLine, "workload.inputs.q"), (strict.Error.File, strict.Error.Line, strict.Error.Field));
    }
}
