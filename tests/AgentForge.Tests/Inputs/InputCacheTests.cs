using AgentForge.Tools.Inputs;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Inputs;

public sealed class InputCacheTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static InputSet Set(ulong seed, int elements = 256) => new("def", "uuid", 0, seed,
    [
        new("x", new TensorArgument(RandomTensors.Generate(DType.BFloat16, [elements], seed))),
        new("idx", new TensorArgument(RandomTensors.Generate(DType.Int32, [3], seed))),
        new("scale", new ScalarArgument(DType.Float32, ScalarValue.Of(2.0))),
        new("offset", new ScalarArgument(DType.Int32, ScalarValue.Of(192L))),
        new("flag", new ScalarArgument(DType.Bool, ScalarValue.Of(true))),
        new("weird", new ScalarArgument(DType.Float32, ScalarValue.Of(double.NegativeInfinity))),
        new("state", new AbsentArgument()),
    ]);

    private static InputCacheKey Key(ulong seed) => new("sha256:abc", "uuid", 0, seed);

    [Fact]
    public async Task Callers_asking_for_one_key_at_once_wait_for_a_single_creation()
    {
        var cache = new InputCache(_dir.Path, 1 << 20);
        var created = 0;
        using var start = new Barrier(4);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait(TestContext.Current.CancellationToken);
            return cache.GetOrAdd(Key(5), () =>
            {
                Interlocked.Increment(ref created);
                Thread.Sleep(100); // generation takes a while: the others arrive meanwhile
                return DataResult<InputSet>.Ok(Set(5));
            });
        }, TestContext.Current.CancellationToken)));

        Assert.Equal(1, created);
        Assert.Equal((1, 3), (cache.Misses, cache.Hits));
        Assert.All(results, r => Assert.Equal(cache.PathFor(Key(5)), r.Value!.Path));
        foreach (var result in results)
        {
            result.Value!.Dispose();
        }
    }

    [Fact]
    public void A_stored_set_comes_back_in_order_with_tensors_scalars_and_absent_inputs()
    {
        var cache = new InputCache(_dir.Path, 1 << 20);
        Assert.Null(cache.TryGet(Key(1)));
        var original = Set(1);
        var path = cache.Put(Key(1), original);
        Assert.Equal(cache.PathFor(Key(1)), path);
        using var hit = cache.TryGet(Key(1));
        Assert.NotNull(hit);
        var read = hit.Inputs;
        Assert.Equal(original.Arguments.Select(a => a.Key), read.Arguments.Select(a => a.Key));
        Assert.Equal((original.DefinitionName, original.WorkloadUuid, original.Trial, original.Seed),
            (read.DefinitionName, read.WorkloadUuid, read.Trial, read.Seed));
        foreach (var (name, value) in original.Arguments)
        {
            switch (value)
            {
                case TensorArgument tensor:
                    var other = Assert.IsType<TensorArgument>(read[name]).Tensor;
                    Assert.Equal(tensor.Tensor.DType, other.DType);
                    Assert.Equal(tensor.Tensor.Shape, other.Shape);
                    Assert.Equal(tensor.Tensor.Bytes.ToArray(), other.Bytes.ToArray());
                    break;
                default:
                    Assert.Equal(value, read[name]);
                    break;
            }
        }
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void The_file_is_plain_safetensors_with_the_input_list_in_its_metadata()
    {
        var cache = new InputCache(_dir.Path, 1 << 20);
        var path = cache.Put(Key(2), Set(2));
        using var file = SafetensorsFile.Open(path).Value!;
        Assert.Equal(["idx", "x"], file.Entries.Select(e => e.Name).Order());
        var inputs = file.Metadata[InputCache.InputsMetadataKey];
        Assert.Contains("{\"name\":\"scale\",\"kind\":\"scalar\",\"dtype\":\"float32\",\"literal\":\"float\",\"value\":2}", inputs);
        Assert.Contains("{\"name\":\"state\",\"kind\":\"absent\"}", inputs);
        Assert.Contains("\"value\":\"-Infinity\"", inputs);
    }

    [Fact]
    public void Keys_that_differ_in_any_part_are_different_entries()
    {
        var keys = new[]
        {
            new InputCacheKey("h1", "u", 0, 1), new InputCacheKey("h2", "u", 0, 1),
            new InputCacheKey("h1", "v", 0, 1), new InputCacheKey("h1", "u", 1, 1), new InputCacheKey("h1", "u", 0, 2),
        };
        Assert.Equal(keys.Length, keys.Select(k => k.FileName).Distinct().Count());
        Assert.All(keys, k => Assert.Matches("^[0-9a-f]{32}\\.safetensors$", k.FileName));
    }

    [Fact]
    public void The_least_recently_used_entries_are_evicted_to_fit_the_bound()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var probe = new InputCache(_dir.Combine("probe"), long.MaxValue, clock);
        var entrySize = new FileInfo(probe.Put(Key(0), Set(0))).Length;
        var cache = new InputCache(_dir.Combine("lru"), 2 * entrySize + entrySize / 2, clock);

        cache.Put(Key(1), Set(1));
        clock.Now += TimeSpan.FromMinutes(1);
        cache.Put(Key(2), Set(2));
        clock.Now += TimeSpan.FromMinutes(1);
        cache.TryGet(Key(1))!.Dispose(); // 1 is now more recent than 2
        clock.Now += TimeSpan.FromMinutes(1);
        cache.Put(Key(3), Set(3));

        Assert.True(File.Exists(cache.PathFor(Key(1))));
        Assert.False(File.Exists(cache.PathFor(Key(2))));
        Assert.True(File.Exists(cache.PathFor(Key(3))));
        Assert.True(cache.TotalBytes() <= cache.MaxBytes);
    }

    [Fact]
    public void An_entry_larger_than_the_bound_is_kept_until_the_next_write()
    {
        var cache = new InputCache(_dir.Path, 10);
        var path = cache.Put(Key(1), Set(1));
        Assert.True(File.Exists(path));
        cache.Put(Key(2), Set(2));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_corrupt_or_foreign_entry_is_a_miss_and_is_removed()
    {
        var cache = new InputCache(_dir.Path, 1 << 20);
        var path = cache.Put(Key(1), Set(1));
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..20]);
        Assert.Null(cache.TryGet(Key(1)));
        Assert.False(File.Exists(path));

        // A valid safetensors file under the key's name but written for another key.
        SafetensorsWriter.WriteFile(cache.PathFor(Key(5)), [new("x", RandomTensors.Generate(DType.Int8, [2], 1))]);
        Assert.Null(cache.TryGet(Key(5)));
    }

    [Fact]
    public void Get_or_add_creates_once_and_passes_data_errors_through()
    {
        var cache = new InputCache(_dir.Path, 1 << 20);
        var calls = 0;
        DataResult<InputSet> Create()
        {
            calls++;
            return DataResult<InputSet>.Ok(Set(7));
        }
        using (var first = cache.GetOrAdd(Key(7), Create).Value!)
        using (var second = cache.GetOrAdd(Key(7), Create).Value!)
        {
            Assert.Equal(first.Path, second.Path);
        }
        Assert.Equal(1, calls);
        var error = new DataError("w.jsonl", 3, "workload.inputs.q", "blob missing");
        var failed = cache.GetOrAdd(Key(8), () => error);
        Assert.Equal(error, failed.Error);
        Assert.False(File.Exists(cache.PathFor(Key(8))));
    }

    [Fact]
    public void Materialized_sets_round_trip_through_the_cache()
    {
        var definition = new Definition("d", "op", [new("n", new VarAxis())],
            [new("a", new TensorSpec(["n"], DType.Float8E4M3FN)), new("s", new TensorSpec(null, DType.Float32))], [], "", [], null, []);
        var entry = new WorkloadEntry("d", new Workload("u1", new Dictionary<string, long> { ["n"] = 1000 },
            [new("s", new ScalarInput(ScalarValue.Of(0.5)))]), "w.jsonl", 1);
        var set = new InputMaterializer().Materialize(definition, entry, _dir.Path, 2, 9, TestContext.Current.CancellationToken).Value!;
        var cache = new InputCache(_dir.Combine("cache"), 1 << 20);
        var key = new InputCacheKey("defhash", "u1", 2, set.Seed);
        cache.Put(key, set);
        using var hit = cache.TryGet(key)!;
        Assert.Equal(((TensorArgument)set["a"]).Tensor.Bytes.ToArray(), ((TensorArgument)hit.Inputs["a"]).Tensor.Bytes.ToArray());
        Assert.Equal(set["s"], hit.Inputs["s"]);
    }

    [Fact]
    public void Concurrent_writers_evicting_each_other_never_fail_and_never_remove_entries_in_use()
    {
        // A bound of about three entries, twelve writers at once: each evicts the others' files.
        var entryBytes = new FileInfo(new InputCache(_dir.Path + "-probe", long.MaxValue).Put(Key(0), Set(0, 4096))).Length;
        var cache = new InputCache(_dir.Path, 3 * entryBytes);
        var held = new System.Collections.Concurrent.ConcurrentBag<CachedInputSet>();
        Parallel.For(1, 61, new ParallelOptions { MaxDegreeOfParallelism = 12 }, i =>
        {
            var entry = cache.GetOrAdd(Key((ulong)i), () => DataResult<InputSet>.Ok(Set((ulong)i, 4096)));
            Assert.True(entry.IsOk);
            if (i % 20 == 0)
            {
                held.Add(entry.Value);
            }
            else
            {
                entry.Value.Dispose();
            }
        });
        // Entries still held by callers survived every eviction.
        Assert.All(held, h => Assert.True(File.Exists(h.Path), h.Path));
        foreach (var h in held)
        {
            h.Dispose();
        }
    }
}
