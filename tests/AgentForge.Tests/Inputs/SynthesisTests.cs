using AgentForge.Tools.Inputs;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Inputs;

public sealed class SynthesisTests
{
    private static readonly InputSynthesizers Synth = InputSynthesizers.Default;

    internal static WorkloadEntry Entry(Definition definition, string uuid, IReadOnlyDictionary<string, long> axes, params (string Name, WorkloadInput Input)[] inputs) =>
        new(definition.Name, new Workload(uuid, axes, inputs.Select(i => new KeyValuePair<string, WorkloadInput>(i.Name, i.Input)).ToList()),
            "/datasets/test/workloads/op/test.jsonl", 7);

    private static long[] Integers(HostTensor tensor) =>
        Enumerable.Range(0, (int)tensor.ElementCount).Select(i => ElementCodec.GetInteger(tensor.DType, tensor.Bytes.Span, i)).ToArray();

    private static HostTensor Synthesize(Definition definition, WorkloadEntry entry, string input, InputSynthesizers? synth = null)
    {
        var shape = definition.ResolveShape(definition.FindInput(input)!.Spec, entry.Workload.Axes);
        var result = (synth ?? Synth).SynthesizeBlob(definition, entry, input, shape);
        Assert.True(result.IsOk, result.Error?.ToString());
        Assert.Equal(definition.FindInput(input)!.Spec.DType, result.Value.DType);
        Assert.Equal(shape, result.Value.Shape);
        return result.Value;
    }

    // ---- cu_seqlens -------------------------------------------------------------------------

    [Fact]
    public void Cu_seqlens_of_every_prefill_workload_split_the_tokens_into_nonempty_sequences()
    {
        var definition = TestDataset.LoadDefinition(TestDataset.GdnPrefill);
        foreach (var entry in TestDataset.LoadWorkloads(TestDataset.GdnPrefill))
        {
            var offsets = Integers(Synthesize(definition, entry, "cu_seqlens"));
            var axes = entry.Workload.Axes;
            Assert.Equal(DType.Int64, definition.FindInput("cu_seqlens")!.Spec.DType);
            Assert.Equal(axes["num_seqs"] + 1, offsets.Length);
            Assert.Equal(0, offsets[0]);
            Assert.Equal(axes["total_seq_len"], offsets[^1]);
            for (var i = 1; i < offsets.Length; i++)
            {
                Assert.True(offsets[i] > offsets[i - 1], $"{entry.Workload.Uuid}: sequence {i - 1} is empty");
            }
        }
    }

    private static Definition Varlen(DType dtype = DType.Int64) => new(
        "varlen", "gdn",
        [new("total_seq_len", new VarAxis()), new("len_cu_seqlens", new VarAxis()), new("num_seqs", new VarAxis()), new("d", new ConstAxis(8))],
        [new("q", new TensorSpec(["total_seq_len", "d"], DType.BFloat16)), new("cu_seqlens", new TensorSpec(["len_cu_seqlens"], dtype))],
        [], "", [], null, []);

    private static Dictionary<string, long> VarlenAxes(long total, long sequences) =>
        new() { ["total_seq_len"] = total, ["len_cu_seqlens"] = sequences + 1, ["num_seqs"] = sequences };

    [Fact]
    public void Cu_seqlens_edge_cases_one_sequence_and_all_length_one()
    {
        var definition = Varlen();
        Assert.Equal([0, 9], Integers(Synthesize(definition, Entry(definition, "u", VarlenAxes(9, 1)), "cu_seqlens")));
        Assert.Equal([0, 1, 2, 3, 4], Integers(Synthesize(definition, Entry(definition, "u", VarlenAxes(4, 4)), "cu_seqlens")));
        var int32 = Varlen(DType.Int32);
        Assert.Equal([0, 5], Integers(Synthesize(int32, Entry(int32, "u", VarlenAxes(5, 1)), "cu_seqlens")));
    }

    [Fact]
    public void Cu_seqlens_is_deterministic_per_uuid_and_varies_between_uuids()
    {
        var definition = Varlen();
        var axes = VarlenAxes(1000, 10);
        var a = Integers(Synthesize(definition, Entry(definition, "uuid-1", axes), "cu_seqlens"));
        Assert.Equal(a, Integers(Synthesize(definition, Entry(definition, "uuid-1", axes), "cu_seqlens")));
        Assert.NotEqual(a, Integers(Synthesize(definition, Entry(definition, "uuid-2", axes), "cu_seqlens")));
    }

    [Fact]
    public void Cu_seqlens_split_points_cover_the_whole_range()
    {
        var definition = Varlen();
        var firstLengths = new HashSet<long>();
        for (var u = 0; u < 400; u++)
        {
            firstLengths.Add(Integers(Synthesize(definition, Entry(definition, $"u{u}", VarlenAxes(10, 3)), "cu_seqlens"))[1]);
        }
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), firstLengths.Order());
    }

    [Fact]
    public void Cu_seqlens_that_cannot_exist_are_a_data_error_naming_the_workload()
    {
        var definition = Varlen();
        var entry = Entry(definition, "u", VarlenAxes(3, 5));
        var result = Synth.SynthesizeBlob(definition, entry, "cu_seqlens", [6]);
        Assert.False(result.IsOk);
        Assert.Equal(("/datasets/test/workloads/op/test.jsonl", 7, "workload.inputs.cu_seqlens"),
            (result.Error.File, result.Error.Line, result.Error.Field));
        Assert.Contains("cannot split", result.Error.Message);
    }

    // ---- sparse_indices ---------------------------------------------------------------------

    private static void CheckSparseRow(long[] row, long capacity, long pageSize)
    {
        var valid = row.TakeWhile(v => v != -1).ToArray();
        Assert.All(row.Skip(valid.Length), v => Assert.Equal(-1, v));
        Assert.All(valid, v => Assert.InRange(v, 0, capacity - 1));
        Assert.Equal(valid.Length, valid.Distinct().Count());
        if (valid.Length > 0 && valid.Length < row.Length)
        {
            // A padded row is a whole short sequence: its tokens fill ceil(n / page_size) pages.
            Assert.Equal((valid.Length + pageSize - 1) / pageSize, valid.Select(v => v / pageSize).Distinct().Count());
        }
    }

    [Fact]
    public void Sparse_indices_of_every_attention_workload_are_valid_distinct_and_padded_at_the_tail()
    {
        var definition = TestDataset.LoadDefinition(TestDataset.SparseAttention);
        var paddedRows = 0;
        var fullRows = 0;
        foreach (var entry in TestDataset.LoadWorkloads(TestDataset.SparseAttention))
        {
            var tensor = Synthesize(definition, entry, "sparse_indices");
            var values = Integers(tensor);
            var (rows, topk) = ((int)tensor.Shape[0], (int)tensor.Shape[1]);
            var capacity = entry.Workload.Axes["num_pages"] * 64;
            var kinds = new List<bool>();
            for (var r = 0; r < rows; r++)
            {
                var row = values.AsSpan(r * topk, topk).ToArray();
                CheckSparseRow(row, capacity, 64);
                var full = row[^1] != -1;
                Assert.True(full || row[0] != -1, "no empty rows by default");
                kinds.Add(full);
            }
            if (rows >= 2)
            {
                Assert.Contains(true, kinds);
                Assert.Contains(false, kinds);
            }
            paddedRows += kinds.Count(k => !k);
            fullRows += kinds.Count(k => k);
        }
        Assert.True(paddedRows > 5 && fullRows > 5, $"{paddedRows} padded and {fullRows} full rows");
    }

    private static Definition Sparse() => new(
        "sparse", "dsa_paged",
        [new("num_tokens", new VarAxis()), new("topk", new ConstAxis(128)), new("num_pages", new VarAxis()), new("page_size", new ConstAxis(16))],
        [new("sparse_indices", new TensorSpec(["num_tokens", "topk"], DType.Int32))],
        [], "", [], null, []);

    [Fact]
    public void Sparse_indices_can_include_rows_without_any_valid_index()
    {
        var definition = Sparse();
        var synth = Synth.WithOptions(new SynthesisOptions(EmptyIndexRowFraction: 0.3));
        foreach (var rows in new[] { 1, 2, 5 })
        {
            var entry = Entry(definition, $"rows{rows}", new Dictionary<string, long> { ["num_tokens"] = rows, ["num_pages"] = 40 });
            var values = Integers(Synthesize(definition, entry, "sparse_indices", synth));
            var rowArrays = values.Chunk(128).ToList();
            Assert.Contains(rowArrays, row => row.All(v => v == -1));
            Assert.All(rowArrays, row => CheckSparseRow(row, 40 * 16, 16));
        }
    }

    [Fact]
    public void Sparse_indices_never_exceed_a_small_cache()
    {
        // 3 pages of 16 tokens hold 48 tokens: fewer than topk, so even full rows are padded.
        var definition = Sparse();
        var entry = Entry(definition, "tiny", new Dictionary<string, long> { ["num_tokens"] = 4, ["num_pages"] = 3 });
        var values = Integers(Synthesize(definition, entry, "sparse_indices"));
        Assert.All(values.Chunk(128), row => CheckSparseRow(row, 48, 16));
        Assert.Contains(values.Chunk(128), row => row.Count(v => v != -1) == 48);
    }

    [Fact]
    public void Sparse_indices_are_deterministic_per_uuid()
    {
        var definition = Sparse();
        var axes = new Dictionary<string, long> { ["num_tokens"] = 3, ["num_pages"] = 100 };
        var a = Synthesize(definition, Entry(definition, "same", axes), "sparse_indices").Bytes.ToArray();
        Assert.Equal(a, Synthesize(definition, Entry(definition, "same", axes), "sparse_indices").Bytes.ToArray());
        Assert.NotEqual(a, Synthesize(definition, Entry(definition, "other", axes), "sparse_indices").Bytes.ToArray());
    }

    // ---- seq_lens and block_table -----------------------------------------------------------

    [Fact]
    public void Indexer_seq_lens_and_block_tables_of_every_workload_are_consistent()
    {
        var definition = TestDataset.LoadDefinition(TestDataset.Indexer);
        foreach (var entry in TestDataset.LoadWorkloads(TestDataset.Indexer))
        {
            var axes = entry.Workload.Axes;
            var (batch, maxPages, numPages) = (axes["batch_size"], axes["max_num_pages"], axes["num_pages"]);
            var seqLens = Integers(Synthesize(definition, entry, "seq_lens"));
            var table = Integers(Synthesize(definition, entry, "block_table"));
            Assert.All(seqLens, s => Assert.InRange(s, 1, maxPages * 64));
            Assert.InRange(seqLens.Max(), (maxPages - 1) * 64 + 1, maxPages * 64);
            Assert.All(table, p => Assert.InRange(p, 0, numPages - 1));
            Assert.True(batch * maxPages <= numPages);
            Assert.Equal(table.Length, table.Distinct().Count());
        }
    }

    private static Definition Paged() => new(
        "paged", "dsa_paged",
        [new("batch_size", new VarAxis()), new("max_num_pages", new VarAxis()), new("num_pages", new VarAxis()), new("page_size", new ConstAxis(64))],
        [
            new("seq_lens", new TensorSpec(["batch_size"], DType.Int32)),
            new("block_table", new TensorSpec(["batch_size", "max_num_pages"], DType.Int32)),
        ],
        [], "", [], null, []);

    [Fact]
    public void Block_tables_of_a_crowded_cache_are_distinct_within_each_row()
    {
        var definition = Paged();
        var entry = Entry(definition, "crowded", new Dictionary<string, long> { ["batch_size"] = 4, ["max_num_pages"] = 5, ["num_pages"] = 7 });
        var table = Integers(Synthesize(definition, entry, "block_table"));
        foreach (var row in table.Chunk(5))
        {
            Assert.Equal(5, row.Distinct().Count());
            Assert.All(row, p => Assert.InRange(p, 0, 6));
        }
    }

    [Fact]
    public void Seq_lens_and_block_table_agree_whichever_is_synthesized_first()
    {
        var definition = Paged();
        var entry = Entry(definition, "agree", new Dictionary<string, long> { ["batch_size"] = 6, ["max_num_pages"] = 3, ["num_pages"] = 50 });
        var lens = Integers(Synthesize(definition, entry, "seq_lens"));
        var table = Integers(Synthesize(definition, entry, "block_table"));
        var context = new SynthesisContext(definition, entry, "seq_lens", definition.Inputs[0].Spec, [6], 0, SynthesisOptions.Default);
        var layout = PagedLayoutSynthesis.Create(context).Value!;
        Assert.Equal(layout.SeqLens, lens);
        Assert.Equal(layout.BlockTable.SelectMany(r => r), table);
    }

    [Fact]
    public void A_row_wider_than_the_cache_is_a_data_error()
    {
        var definition = Paged();
        var entry = Entry(definition, "bad", new Dictionary<string, long> { ["batch_size"] = 1, ["max_num_pages"] = 9, ["num_pages"] = 4 });
        var result = Synth.SynthesizeBlob(definition, entry, "block_table", [1, 9]);
        Assert.False(result.IsOk);
        Assert.Equal("workload.inputs.block_table", result.Error.Field);
    }

    // ---- gated delta net q and k, MoE routing ---------------------------------------------

    [Fact]
    public void Gdn_prefill_q_and_k_have_unit_norm_per_token_and_head()
    {
        var definition = TestDataset.LoadDefinition(TestDataset.GdnPrefill);
        var entry = TestDataset.LoadWorkloads(TestDataset.GdnPrefill).OrderBy(e => e.Workload.Axes["total_seq_len"]).Skip(3).First();
        var q = Synthesize(definition, entry, "q");
        var k = Synthesize(definition, entry, "k");
        Assert.Equal(DType.BFloat16, q.DType);
        Assert.NotEqual(q.Bytes.ToArray(), k.Bytes.ToArray());
        foreach (var tensor in new[] { q, k })
        {
            var values = ElementCodec.ToFloat32(tensor);
            foreach (var vector in values.Chunk(128))
            {
                var norm = Math.Sqrt(vector.Sum(v => (double)v * v));
                // bf16 keeps 8 significant bits: each element is off by at most 2^-9 relative.
                Assert.InRange(norm, 1 - 4e-3, 1 + 4e-3);
            }
        }
    }

    [Fact]
    public void Moe_routing_logits_are_standard_normal_and_the_bias_is_small()
    {
        var definition = TestDataset.LoadDefinition(TestDataset.Moe);
        var entry = TestDataset.LoadWorkloads(TestDataset.Moe).OrderBy(e => e.Workload.Axes["seq_len"]).First(e => e.Workload.Axes["seq_len"] >= 64);
        var logits = ElementCodec.ToFloat32(Synthesize(definition, entry, "routing_logits"));
        Assert.Equal(DType.Float32, definition.FindInput("routing_logits")!.Spec.DType);
        var mean = logits.Average();
        var variance = logits.Sum(v => (v - mean) * (v - mean)) / logits.Length;
        Assert.InRange(mean, -5 / Math.Sqrt(logits.Length), 5 / Math.Sqrt(logits.Length));
        Assert.InRange(variance, 1 - 5 * Math.Sqrt(2.0 / logits.Length), 1 + 5 * Math.Sqrt(2.0 / logits.Length));

        var bias = Synthesize(definition, entry, "routing_bias");
        Assert.Equal(DType.BFloat16, bias.DType);
        var values = ElementCodec.ToFloat32(bias);
        var std = Math.Sqrt(values.Sum(v => (double)v * v) / values.Length);
        Assert.InRange(std, 0.0075, 0.0125);
        Assert.All(values, v => Assert.InRange(v, -0.07f, 0.07f));
    }

    [Fact]
    public void Names_claimed_by_the_table_fall_back_to_plain_random_when_the_predicate_rejects()
    {
        // A "q" outside a gated delta net is ordinary data: plain random from the uuid.
        var definition = new Definition("attention", "mha",
            [new("n", new VarAxis()), new("d", new ConstAxis(16))],
            [new("q", new TensorSpec(["n", "d"], DType.BFloat16)), new("mystery", new TensorSpec(["n"], DType.Int32))],
            [], "", [], null, []);
        var entry = Entry(definition, "plain", new Dictionary<string, long> { ["n"] = 4 });
        Assert.Null(Synth.FindBlob(definition, "q", definition.Inputs[0].Spec));
        var q = Synthesize(definition, entry, "q");
        Assert.Equal(RandomTensors.Generate(DType.BFloat16, [4, 16], InputSeeds.ForStructure("plain", "q")).Bytes.ToArray(), q.Bytes.ToArray());
        var mystery = Integers(Synthesize(definition, entry, "mystery"));
        Assert.All(mystery, v => Assert.InRange(v, -1024, 1023));
    }

    [Fact]
    public void Every_blob_input_of_the_contest_dataset_has_a_structured_synthesizer()
    {
        var root = TestDataset.RequireRoot();
        foreach (var name in new[] { TestDataset.Indexer, TestDataset.SparseAttention, TestDataset.GdnPrefill, TestDataset.Moe })
        {
            var definition = TestDataset.LoadDefinition(name);
            var entry = TestDataset.LoadWorkloads(name)[0];
            foreach (var (input, _) in entry.Workload.Inputs.Where(i => i.Value is SafetensorsInput))
            {
                Assert.True(Synth.FindBlob(definition, input, definition.FindInput(input)!.Spec) is not null, $"{name}.{input} ({root})");
            }
        }
    }

    // ---- the indexer's packed key cache -----------------------------------------------------

    [Fact]
    public void Packed_indexer_cache_decodes_to_the_keys_it_came_from_within_fp8_precision()
    {
        const int PageSize = 64;
        const int HeadDim = 128;
        const ulong Key = 0xC0FFEE;
        var cache = IndexerKeyCache.Generate([5, PageSize, 1, HeadDim + 4], Key);
        Assert.Equal(DType.Int8, cache.DType);
        Assert.Equal(5 * PageSize * (HeadDim + 4), cache.Bytes.Length);
        var rng = new CounterRng(Key);
        var decoded = new float[HeadDim];
        for (var page = 0; page < 5; page++)
        {
            for (var token = 0; token < PageSize; token++)
            {
                IndexerKeyCache.Decode(cache.Bytes.Span, PageSize, HeadDim, page, token, decoded);
                var x = Enumerable.Range(0, HeadDim).Select(d => IndexerKeyCache.SourceValue(rng, page, token, d, PageSize, HeadDim)).ToArray();
                var scale = MathF.Max(x.Max(MathF.Abs), 1e-4f) / 448f;
                var storedScale = BitConverter.ToSingle(cache.Bytes.Span.Slice(page * PageSize * (HeadDim + 4) + PageSize * HeadDim + token * 4, 4));
                Assert.Equal(scale, storedScale);
                var payload = cache.Bytes.Span.Slice(page * PageSize * (HeadDim + 4) + token * HeadDim, HeadDim);
                // The largest key lands on fp8's largest finite value, 448.
                Assert.Contains(payload.ToArray(), b => (b & 0x7F) == 0x7E);
                for (var d = 0; d < HeadDim; d++)
                {
                    Assert.NotEqual(0x7F, payload[d] & 0x7F);
                    // e4m3: 3 mantissa bits (relative error <= 2^-4) above 2^-6, absolute 2^-10 below.
                    var tolerance = Math.Max(Math.Abs(x[d]) / 16, scale / 1024) * 1.0001;
                    Assert.True(Math.Abs(decoded[d] - x[d]) <= tolerance, $"page {page} token {token} dim {d}: {decoded[d]} vs {x[d]}");
                }
                Assert.Equal(x, x.Select(v => ElementCodec.BFloat16ToFloat(ElementEncoder.FloatToBFloat16(v))));
            }
        }
    }

    [Fact]
    public void Packed_indexer_cache_does_not_depend_on_threads()
    {
        long[] shape = [37, 64, 1, 132];
        Assert.Equal(IndexerKeyCache.Generate(shape, 3, 1).Bytes.ToArray(), IndexerKeyCache.Generate(shape, 3, -1).Bytes.ToArray());
    }

    [Fact]
    public void The_cache_override_applies_to_the_indexer_definition_only()
    {
        var indexer = TestDataset.LoadDefinition(TestDataset.Indexer);
        Assert.NotNull(Synth.FindRandomOverride(indexer, "k_index_cache_fp8", indexer.FindInput("k_index_cache_fp8")!.Spec));
        var other = new Definition("other", "x", [new("n", new VarAxis())],
            [new("k_index_cache_fp8", new TensorSpec(["n"], DType.Int8))], [], "", [], null, []);
        Assert.Null(Synth.FindRandomOverride(other, "k_index_cache_fp8", other.Inputs[0].Spec));
    }
}
