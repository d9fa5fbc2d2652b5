using AgentForge.Tools.Inputs;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Inputs;

public sealed class DatasetSynthesizerTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private static Definition Paged() => new(
        "paged", "dsa_paged",
        [new("batch_size", new VarAxis()), new("max_num_pages", new VarAxis()), new("num_pages", new VarAxis()), new("page_size", new ConstAxis(64))],
        [
            new("weights", new TensorSpec(["batch_size"], DType.Float32)),
            new("seq_lens", new TensorSpec(["batch_size"], DType.Int32)),
            new("block_table", new TensorSpec(["batch_size", "max_num_pages"], DType.Int32)),
        ],
        [], "", [], null, []);

    private static WorkloadEntry Entry(string uuid, int line, long batch, string? file = null)
    {
        var path = file ?? $"./blob/workloads/paged/paged_{uuid}.safetensors";
        return new WorkloadEntry("paged", new Workload(uuid,
            new Dictionary<string, long> { ["batch_size"] = batch, ["max_num_pages"] = 3, ["num_pages"] = 100 },
            [
                new("weights", new RandomInput()),
                new("seq_lens", new SafetensorsInput(path, "seq_lens")),
                new("block_table", new SafetensorsInput(path, "block_table")),
            ]), "/d/workloads/paged/paged.jsonl", line);
    }

    private string Full(WorkloadEntry entry) =>
        Path.GetFullPath(Path.Combine(_root.Path, ((SafetensorsInput)entry.Workload.FindInput("seq_lens")!).Path));

    [Fact]
    public void Absent_blobs_are_written_one_file_per_path_with_every_key()
    {
        var entries = new[] { Entry("a", 1, 2), Entry("b", 2, 4) };
        var report = new DatasetSynthesizer().Synthesize(_root.Path, [Paged()], entries, TestContext.Current.CancellationToken);
        Assert.True(report.Succeeded, string.Join("\n", report.Errors));
        Assert.Equal(entries.Select(Full), report.Written);
        Assert.Empty(report.SkippedExisting);
        using var file = SafetensorsFile.Open(Full(entries[1])).Value!;
        Assert.Equal(["block_table", "seq_lens"], file.Entries.Select(e => e.Name).Order());
        Assert.Equal([4, 3], file.Find("block_table")!.Shape);
        Assert.Equal("b", file.Metadata["agentforge.workload_uuid"]);
    }

    [Fact]
    public void Written_blobs_hold_exactly_what_the_materializer_would_synthesize()
    {
        var entry = Entry("same", 1, 5);
        var definition = Paged();
        var onTheFly = new InputMaterializer().Materialize(definition, entry, _root.Path, 0, 1, TestContext.Current.CancellationToken).Value!;
        new DatasetSynthesizer().Synthesize(_root.Path, [definition], [entry], TestContext.Current.CancellationToken);
        Assert.True(File.Exists(Full(entry)));
        var fromFile = new InputMaterializer(strictBlobs: true).Materialize(definition, entry, _root.Path, 0, 1, TestContext.Current.CancellationToken);
        Assert.True(fromFile.IsOk, fromFile.Error?.ToString());
        foreach (var name in new[] { "seq_lens", "block_table" })
        {
            Assert.Equal(((TensorArgument)onTheFly[name]).Tensor.Bytes.ToArray(), ((TensorArgument)fromFile.Value[name]).Tensor.Bytes.ToArray());
        }
    }

    [Fact]
    public void Existing_files_are_never_overwritten_and_a_second_run_writes_nothing()
    {
        var entries = new[] { Entry("a", 1, 2), Entry("b", 2, 2) };
        Directory.CreateDirectory(Path.GetDirectoryName(Full(entries[0]))!);
        File.WriteAllText(Full(entries[0]), "someone else's file");
        var first = new DatasetSynthesizer().Synthesize(_root.Path, [Paged()], entries, TestContext.Current.CancellationToken);
        Assert.Equal([Full(entries[0])], first.SkippedExisting);
        Assert.Equal([Full(entries[1])], first.Written);
        Assert.Equal("someone else's file", File.ReadAllText(Full(entries[0])));
        var written = File.ReadAllBytes(Full(entries[1]));

        var second = new DatasetSynthesizer().Synthesize(_root.Path, [Paged()], entries, TestContext.Current.CancellationToken);
        Assert.Empty(second.Written);
        Assert.Equal(entries.Select(Full), second.SkippedExisting);
        Assert.Equal(written, File.ReadAllBytes(Full(entries[1])));
        Assert.Equal(2, Directory.GetFiles(Path.GetDirectoryName(Full(entries[0]))!).Length);
    }

    [Fact]
    public void A_file_shared_by_workloads_that_disagree_is_reported_and_not_written()
    {
        const string Shared = "./blob/shared.safetensors";
        var entries = new[] { Entry("a", 1, 2, Shared), Entry("b", 9, 3, Shared) };
        var report = new DatasetSynthesizer().Synthesize(_root.Path, [Paged()], entries, TestContext.Current.CancellationToken);
        Assert.False(report.Succeeded);
        Assert.Empty(report.Written);
        Assert.False(File.Exists(Path.Combine(_root.Path, "blob", "shared.safetensors")));
        Assert.Contains(report.Errors, e => e.Line == 9 && e.Field == "workload.inputs.seq_lens" && e.Message.Contains("also used by"));
    }

    [Fact]
    public void Unknown_definitions_and_bad_paths_are_errors_and_the_rest_is_still_written()
    {
        var stray = new WorkloadEntry("nope", new Workload("x", new Dictionary<string, long>(), []), "/d/w.jsonl", 3);
        var escaping = Entry("e", 4, 2, "../outside.safetensors");
        var good = Entry("g", 5, 2);
        var report = new DatasetSynthesizer().Synthesize(_root.Path, [Paged()], [stray, escaping, good], TestContext.Current.CancellationToken);
        Assert.Contains(report.Errors, e => e.Line == 3 && e.Field == "definition");
        Assert.Contains(report.Errors, e => e.Line == 4 && e.Field == "workload.inputs.seq_lens.path");
        Assert.Equal([Full(good)], report.Written);
    }

    [Fact]
    public void The_contest_dataset_blobs_can_be_synthesized_into_a_copy()
    {
        // Only the small files: the indexer's seq_lens/block_table for every workload.
        var definition = TestDataset.LoadDefinition(TestDataset.Indexer);
        var entries = TestDataset.LoadWorkloads(TestDataset.Indexer);
        var report = new DatasetSynthesizer().Synthesize(_root.Path, [definition], entries, TestContext.Current.CancellationToken);
        Assert.True(report.Succeeded, string.Join("\n", report.Errors));
        Assert.Equal(entries.Count, report.Written.Count);
        foreach (var entry in entries)
        {
            var path = Full(entry);
            using var file = SafetensorsFile.Open(path).Value!;
            var axes = entry.Workload.Axes;
            Assert.Equal([axes["batch_size"]], file.Find("seq_lens")!.Shape);
            Assert.Equal([axes["batch_size"], axes["max_num_pages"]], file.Find("block_table")!.Shape);
            Assert.All(file.Entries, e => Assert.Equal(DType.Int32, e.DType));
        }
    }
}
