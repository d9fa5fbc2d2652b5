using AgentForge.Tests.Inputs;
using AgentForge.Tools.Bench.Floors;
using AgentForge.Tools.Inputs;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Trace;

/// <summary>`bench --input`: the cases a definition allows but its workloads never hold (GDN without a state, scale 0).</summary>
public sealed class WorkloadOverridesTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private const string Uuid = "9a5d694b-7d4c-4ee6-8315-a13053ab6f92";

    /// <summary>A GDN-prefill-like definition: an optional state whose leading axis only a constraint ties to cu_seqlens.</summary>
    private static Definition Gdnish() => new(
        "gdnish", "gdn",
        [
            new("total_seq_len", new VarAxis()), new("num_seqs", new VarAxis()), new("len_cu_seqlens", new VarAxis()),
            new("heads", new ConstAxis(2)),
        ],
        [
            new("q", new TensorSpec(["total_seq_len", "heads"], DType.BFloat16)),
            new("state", new TensorSpec(["num_seqs", "heads"], DType.Float32, Optional: true)),
            new("cu_seqlens", new TensorSpec(["len_cu_seqlens"], DType.Int64)),
            new("scale", new TensorSpec(null, DType.Float32)),
        ],
        [new("output", new TensorSpec(["total_seq_len", "heads"], DType.BFloat16)), new("new_state", new TensorSpec(["num_seqs", "heads"], DType.Float32))],
        "", [], null, ["len_cu_seqlens == num_seqs + 1", "total_seq_len == cu_seqlens[-1].item()"]);

    private static WorkloadEntry Entry() =>
        new("gdnish", new Workload(Uuid, new Dictionary<string, long> { ["total_seq_len"] = 12, ["num_seqs"] = 3, ["len_cu_seqlens"] = 4 },
            [new("state", new RandomInput()), new("scale", new ScalarInput(ScalarValue.Of(0.5)))]), "/data/gdnish.jsonl", 7);

    private static WorkloadOverrides Parse(params string[] pairs)
    {
        var overrides = WorkloadOverrides.Parse(Gdnish(), pairs, out var error);
        Assert.Null(error);
        return Assert.IsType<WorkloadOverrides>(overrides);
    }

    private static string ParseError(params string[] pairs)
    {
        Assert.Null(WorkloadOverrides.Parse(Gdnish(), pairs, out var error));
        return Assert.IsType<string>(error);
    }

    [Fact]
    public void An_optional_input_becomes_absent_and_a_scalar_takes_the_number_in_a_variant_of_the_same_workload()
    {
        var overrides = Parse("state=absent", "scale=0");
        Assert.Equal("state=absent,scale=0", overrides.Variant);

        var derived = overrides.Apply(Entry());
        Assert.Equal(Uuid, derived.Workload.Uuid);
        Assert.Equal("state=absent,scale=0", derived.Workload.Variant);
        Assert.Equal($"{Uuid}+state=absent,scale=0", derived.Workload.CacheId);
        Assert.IsType<AbsentInput>(derived.Workload.FindInput("state"));
        Assert.Equal(0.0, Assert.IsType<ScalarInput>(derived.Workload.FindInput("scale")).Value.AsDouble);
        Assert.Equal(Entry().Workload.Axes, derived.Workload.Axes);
        Assert.NotEqual(Entry().Workload, derived.Workload);
        // The dataset workload itself is keyed by its uuid alone.
        Assert.Equal(Uuid, Entry().Workload.CacheId);
    }

    [Fact]
    public void An_input_the_workload_left_out_is_added()
    {
        var derived = Parse("scale=0.25").Apply(new WorkloadEntry("gdnish", new Workload(Uuid, new Dictionary<string, long>(), []), "f", 1));
        Assert.Equal(0.25, Assert.IsType<ScalarInput>(derived.Workload.FindInput("scale")).Value.AsDouble);
    }

    [Theory]
    [InlineData("q=absent", "does not mark 'q' optional")]
    [InlineData("q=1", "'q' is a tensor input")]
    [InlineData("scale=fast", "not a value of the scalar input's dtype float32")]
    [InlineData("scale=nan", "not a value of the scalar input's dtype float32")]
    [InlineData("beta=0", "not an input of gdnish (its inputs: q, state, cu_seqlens, scale)")]
    [InlineData("state", "expected NAME=VALUE")]
    [InlineData("=absent", "expected NAME=VALUE")]
    public void A_value_its_input_cannot_take_is_a_usage_error_that_names_it(string pair, string expected) =>
        Assert.Contains(expected, ParseError(pair));

    [Fact]
    public void A_name_given_twice_is_a_usage_error() =>
        Assert.Contains("given twice", ParseError("scale=0", "scale=1"));

    [Fact]
    public void No_pairs_is_no_override() =>
        Assert.Null(WorkloadOverrides.Parse(Gdnish(), [], out _));

    [Fact]
    public void The_variant_materializes_an_absent_argument_under_its_own_key_with_the_original_random_draws()
    {
        var materializer = new InputMaterializer();
        var original = materializer.Materialize(Gdnish(), Entry(), _root.Path, 1, 5, TestContext.Current.CancellationToken);
        var variant = materializer.Materialize(Gdnish(), Parse("state=absent").Apply(Entry()), _root.Path, 1, 5, TestContext.Current.CancellationToken);
        Assert.True(original.IsOk && variant.IsOk);

        Assert.IsType<AbsentArgument>(variant.Value["state"]);
        Assert.IsType<TensorArgument>(original.Value["state"]);
        // Reference and input caches key the variant apart from its dataset workload...
        Assert.Equal($"{Uuid}+state=absent", variant.Value.WorkloadUuid);
        Assert.Equal(Uuid, original.Value.WorkloadUuid);
        // ...while its other inputs are the same draws.
        Assert.Equal(original.Value.Seed, variant.Value.Seed);
        Assert.Equal(((TensorArgument)original.Value["q"]).Tensor.Bytes.ToArray(), ((TensorArgument)variant.Value["q"]).Tensor.Bytes.ToArray());
    }

    [Fact]
    public void An_absent_input_the_definition_does_not_mark_optional_is_a_data_error_naming_the_workload()
    {
        var entry = new WorkloadEntry("gdnish", Entry().Workload with { Inputs = [new("q", new AbsentInput())] }, "/data/gdnish.jsonl", 7);
        var result = new InputMaterializer().Materialize(Gdnish(), entry, _root.Path, 0, 1, TestContext.Current.CancellationToken);
        Assert.False(result.IsOk);
        Assert.Equal("/data/gdnish.jsonl", result.Error.File);
        Assert.Equal(7, result.Error.Line);
        Assert.Equal("workload.inputs.q", result.Error.Field);
        Assert.Contains("not an optional input", result.Error.Message);
    }

    [Fact]
    public void Without_the_state_the_number_of_sequences_comes_from_the_constraint_on_cu_seqlens()
    {
        var variant = new InputMaterializer().Materialize(Gdnish(), Parse("state=absent").Apply(Entry()), _root.Path, 0, 1, TestContext.Current.CancellationToken);
        Assert.True(variant.IsOk);
        var axes = AxisValues.Infer(Gdnish(), variant.Value);
        Assert.Equal(3, axes["num_seqs"]);
        Assert.Equal(4, axes["len_cu_seqlens"]);
        Assert.Equal([3, 2], Gdnish().ResolveShape(Gdnish().Outputs[1].Spec, axes));
    }

    [Fact]
    public void Offset_constraints_fill_either_side_and_leave_other_forms_alone()
    {
        var axes = new Dictionary<string, long> { ["a"] = 10, ["d"] = 4 };
        AxisValues.ApplyOffsetConstraints(["a == b + 1", "c == a - 2", "e == d", "f >= a", "g == h[-1].item()"], axes);
        Assert.Equal(9, axes["b"]);
        Assert.Equal(8, axes["c"]);
        Assert.Equal(4, axes["e"]);
        Assert.False(axes.ContainsKey("f") || axes.ContainsKey("g") || axes.ContainsKey("h"));
    }

    [Fact]
    public void The_contest_gdn_definitions_accept_an_absent_state_and_a_zero_scale()
    {
        foreach (var name in new[] { TestDataset.GdnPrefill, TestDataset.GdnDecode })
        {
            var definition = TestDataset.LoadDefinition(name);
            var overrides = WorkloadOverrides.Parse(definition, ["state=absent", "scale=0"], out var error);
            Assert.Null(error);
            Assert.Equal("state=absent,scale=0", overrides!.Variant);
        }
    }
}
