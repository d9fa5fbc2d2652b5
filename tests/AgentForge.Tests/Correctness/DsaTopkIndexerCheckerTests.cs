using System.Runtime.InteropServices;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Comparison;

/// <summary>
/// A miniature indexer problem (page size 4, 2 heads of dim 4, top-4) whose scores are set by hand:
/// every key is [1, -1, 0, 0] times its token's scale, head 0 queries [1, 0, 0, 0] with weight 1 and
/// head 1 queries [0, 1, 0, 0] (relu kills it), so score(t) = scale(t).
/// Row 0: seq_len 6 over pages [2, 0], i.e. tokens 8, 9, 10, 11, 0, 1 scoring 5, 3, 3, 3, 4, 0.5.
/// Row 1: seq_len 2 over pages [1, 3], i.e. tokens 4, 5 (page 3 is past its length).
/// </summary>
public sealed class DsaTopkIndexerCheckerTests
{
    private const int PageSize = 4;
    private const int HeadDim = 4;
    private const int NumPages = 4;

    private static readonly Definition Indexer = new(
        "dsa_topk_indexer_fp8_test_ps4",
        "dsa_paged",
        [new("page_size", new ConstAxis(PageSize)), new("topk", new ConstAxis(4))],
        [
            new("q_index_fp8", new TensorSpec(["batch_size", "h", "d"], DType.Float8E4M3FN)),
            new("k_index_cache_fp8", new TensorSpec(["num_pages", "page_size", "one", "d4"], DType.Int8)),
            new("weights", new TensorSpec(["batch_size", "h"], DType.Float32)),
            new("seq_lens", new TensorSpec(["batch_size"], DType.Int32)),
            new("block_table", new TensorSpec(["batch_size", "max_num_pages"], DType.Int32)),
        ],
        [new("topk_indices", new TensorSpec(["batch_size", "topk"], DType.Int32))],
        "def run(): pass",
        [],
        null,
        []);

    private static readonly int[] Reference = [8, 0, 9, 10, 4, 5, -1, -1];

    private static InputSet Inputs(int[]? seqLens = null)
    {
        float[] scales = [
            /* page 0 */ 4, 0.5f, 9, 9,
            /* page 1 */ 2, 1, 9, 9,
            /* page 2 */ 5, 3, 3, 3,
            /* page 3 */ 7, 7, 7, 7];
        var cache = new byte[NumPages * PageSize * (HeadDim + 4)];
        for (var page = 0; page < NumPages; page++)
        {
            var pageStart = page * PageSize * (HeadDim + 4);
            for (var offset = 0; offset < PageSize; offset++)
            {
                var key = pageStart + offset * HeadDim;
                cache[key] = TestTensors.Fp8(1);
                cache[key + 1] = TestTensors.Fp8(-1);
                BitConverter.TryWriteBytes(cache.AsSpan(pageStart + PageSize * HeadDim + offset * 4), scales[page * PageSize + offset]);
            }
        }
        float[] q = [1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0];
        return new InputSet(Indexer.Name, "uuid-dsa", 0, 1,
        [
            new("q_index_fp8", new TensorArgument(TestTensors.Floats(DType.Float8E4M3FN, [2, 2, HeadDim], q))),
            new("k_index_cache_fp8", new TensorArgument(new HostTensor(DType.Int8, [NumPages, PageSize, 1, HeadDim + 4], cache))),
            new("weights", new TensorArgument(TestTensors.Floats(DType.Float32, [2, 2], 1, 0.5f, 1, 0.5f))),
            new("seq_lens", new TensorArgument(TestTensors.Int32([2], seqLens ?? [6, 2]))),
            new("block_table", new TensorArgument(TestTensors.Int32([2, 2], 2, 0, 1, 3))),
        ]);
    }

    private static TrialComparison Check(int[] candidate, int[]? reference = null, InputSet? inputs = null) =>
        new OutputComparator(Indexer, EvaluationSettings.Default).Compare(
            inputs ?? Inputs(),
            [TestTensors.Int32([2, 4], candidate)],
            [TestTensors.Int32([2, 4], reference ?? Reference)]);

    [Fact]
    public void The_registry_routes_the_indexer_output_to_this_checker()
    {
        Assert.IsType<DsaTopkIndexerChecker>(OutputCheckerRegistry.Default.For(Indexer, "topk_indices"));
    }

    [Fact]
    public void The_reference_itself_passes_exactly()
    {
        var trial = Check(Reference);
        Assert.Equal(EvaluationStatus.PASSED, trial.Status);
        Assert.Equal(0, trial.Outputs[0].MaxAbsoluteError);
        Assert.Equal(2, trial.Outputs[0].Stats!.SharedNonFinite); // the -inf scores of row 1's padding
    }

    [Fact]
    public void Tied_tokens_may_be_chosen_and_ordered_differently()
    {
        // Tokens 9, 10 and 11 all score 3: any two of them, in any order, with padding anywhere.
        var trial = Check([0, 11, 8, 9, -1, 5, -1, 4]);
        Assert.Equal(EvaluationStatus.PASSED, trial.Status);
        Assert.Equal(0, trial.Outputs[0].MaxAbsoluteError);
    }

    [Fact]
    public void A_lower_scoring_token_fails_the_sorted_score_comparison_without_stopping()
    {
        var trial = Check([8, 0, 9, 1, 4, 5, -1, -1]); // token 1 scores 0.5 where 3 was possible
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, trial.Status);
        Assert.False(trial.StopsEvaluation);
        Assert.Equal(2.5, trial.Outputs[0].MaxAbsoluteError);
        Assert.Contains("sorted scores", trial.Outputs[0].Log);
    }

    [Theory]
    [InlineData(new[] { 8, 0, 9, 2, 4, 5, -1, -1 }, "past seq_len 6")]            // page 0 is slot 1: token 2 is position 6
    [InlineData(new[] { 8, 0, 9, 12, 4, 5, -1, -1 }, "not one of the row's 2")]   // page 3 is not row 0's
    [InlineData(new[] { 8, 0, 9, 4, 4, 5, -1, -1 }, "not one of the row's 2")]    // page 1 is row 1's
    [InlineData(new[] { 8, 0, 9, 10, 4, 12, -1, -1 }, "not one of the row's 1")]  // row 1 uses only its first page
    [InlineData(new[] { 8, 8, 0, 9, 4, 5, -1, -1 }, "duplicate index 8")]
    [InlineData(new[] { 8, 0, 9, -1, 4, 5, -1, -1 }, "3 valid indices")]
    [InlineData(new[] { 8, 0, 9, 10, 4, -1, -1, -1 }, "1 valid indices")]
    [InlineData(new[] { 8, 0, 9, -2, 4, 5, -1, -1 }, "padding -1")]
    [InlineData(new[] { 8, 0, 9, int.MaxValue, 4, 5, -1, -1 }, "not one of")]    // the poison of an unwritten index
    public void Invalid_indices_fail_at_once_with_a_clear_log(int[] candidate, string message)
    {
        var trial = Check(candidate);
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, trial.Status);
        Assert.True(trial.StopsEvaluation);
        Assert.Equal(double.PositiveInfinity, trial.Outputs[0].MaxAbsoluteError);
        Assert.Contains(message, trial.Outputs[0].Log);
        Assert.Contains("row", trial.Outputs[0].Log);
    }

    [Fact]
    public void An_empty_sequence_must_be_all_padding()
    {
        var inputs = Inputs(seqLens: [6, 0]);
        Assert.Equal(EvaluationStatus.PASSED, Check([8, 0, 9, 10, -1, -1, -1, -1], [8, 0, 9, 10, -1, -1, -1, -1], inputs).Status);
        var trial = Check([8, 0, 9, 10, 4, -1, -1, -1], [8, 0, 9, 10, -1, -1, -1, -1], inputs);
        Assert.True(trial.StopsEvaluation);
        Assert.Contains("row 1", trial.Outputs[0].Log);
    }

    [Fact]
    public void A_reference_that_breaks_the_rule_is_an_infrastructure_error()
    {
        Assert.Throws<InvalidOperationException>(() => Check(Reference, [8, 0, 9, 2, 4, 5, -1, -1]));
    }

    [Fact]
    public void Wrong_dtype_is_reported_before_validation()
    {
        var candidate = new HostTensor(DType.Int64, [2, 4], MemoryMarshal.AsBytes(Reference.Select(i => (long)i).ToArray().AsSpan()).ToArray());
        var trial = new OutputComparator(Indexer, EvaluationSettings.Default).Compare(Inputs(), [candidate], [TestTensors.Int32([2, 4], Reference)]);
        Assert.Equal(EvaluationStatus.INCORRECT_DTYPE, trial.Status);
    }
}
