using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// The DSA top-k indexer's check (FlashInfer-Bench's <c>DsaTopkIndexerEvaluator</c>): top-k index
/// sets are not unique when scores tie, so indices are never compared directly.
/// <list type="number">
/// <item>Validity, per row b: every index is -1 (padding) or a token of the sequence: its page
/// <c>idx / page_size</c> is one of <c>block_table[b, :ceil(seq_len/page_size)]</c> and the page's slot
/// times page_size plus <c>idx % page_size</c> is below <c>seq_len</c>; no index repeats; and the row holds
/// exactly <c>min(topk, seq_len)</c> of them (the reference's count). Anything else is
/// INCORRECT_NUMERICAL at once, errors inf. The count and the "-1 only" rules are stricter than
/// FlashInfer-Bench, whose score comparison would catch a missing index only at ratio 1.</item>
/// <item>Scores: each index set is scored with the reference's formula,
/// <c>score(t) = sum_h relu(q[b,h] . k[t]) * weights[b,h]</c>, k dequantized from the packed fp8 cache
/// (per page: page_size x head_dim fp8 e4m3fn bytes, then page_size float32 scales), -inf for
/// padding; each row sorted descending; the two sorted rows compared with the tolerance rule.
/// Any valid top-k set passes, ties in any order.</item>
/// </list>
/// A token scores the same bits in both sets (one function computes both), so a correct kernel
/// matches exactly; float32 summation order differs from torch's only by rounding.
/// </summary>
public sealed class DsaTopkIndexerChecker : IOutputChecker
{
    public const string DefinitionPrefix = "dsa_topk_indexer";

    private const int MaxRowsInLog = 5;

    public static DsaTopkIndexerChecker Instance { get; } = new();

    /// <summary>FlashInfer-Bench picks this evaluator by name prefix and judges the first output with it.</summary>
    public static bool Handles(Definition definition, string outputName) =>
        definition.Name.StartsWith(DefinitionPrefix, StringComparison.Ordinal)
        && definition.Outputs.Count > 0
        && definition.Outputs[0].Name == outputName;

    public OutputCheck Check(OutputCheckContext context)
    {
        var problem = IndexerProblem.Load(context);
        var candidate = ReadIndices(context.Candidate);
        var reference = ReadIndices(context.Reference);

        var invalidRows = problem.Validate(candidate);
        if (invalidRows.Count > 0)
        {
            var shown = invalidRows.Take(MaxRowsInLog).Select(r => $"row {r.Row}: {r.Message}");
            var log = $"output '{context.OutputName}': invalid indices in {invalidRows.Count} of {problem.Batch} row(s) " +
                      $"[{string.Join(", ", invalidRows.Take(20).Select(r => r.Row))}{(invalidRows.Count > 20 ? ", ..." : "")}]; " +
                      string.Join("; ", shown);
            return new OutputCheck(context.OutputName, EvaluationStatus.INCORRECT_NUMERICAL, StopsEvaluation: true,
                double.PositiveInfinity, double.PositiveInfinity, null, log);
        }
        var referenceProblems = problem.Validate(reference);
        if (referenceProblems.Count > 0)
        {
            // The reference derives its indices from these inputs: disagreement means broken inputs.
            throw new InvalidOperationException(
                $"the reference's {context.OutputName} fails its own validity rule ({referenceProblems[0].Message} in row " +
                $"{referenceProblems[0].Row}): the inputs seq_lens/block_table of {context.Inputs.WorkloadUuid} trial {context.Inputs.Trial} are inconsistent");
        }

        var (candidateScores, referenceScores) = problem.SortedScores(candidate, reference);
        var settings = context.Settings;
        var stats = ToleranceComparer.Compare(candidateScores, referenceScores, settings.Atol, settings.Rtol, nanMatchesNaN: true);
        var summary = ElementFormat.Summary($"output '{context.OutputName}' (sorted scores)", stats, settings, context.Candidate.Shape);
        return OutputCheck.FromTolerance(context.OutputName, stats, settings.RequiredMatchedRatio, summary);
    }

    private static int[] ReadIndices(HostTensor tensor)
    {
        if (tensor.Shape.Length != 2)
        {
            throw new ArgumentException($"top-k indices must be [batch, topk], got {tensor.ShapeText}");
        }
        var count = checked((int)tensor.ElementCount);
        if (tensor.DType == DType.Int32)
        {
            return MemoryMarshal.Cast<byte, int>(tensor.Bytes.Span[..(count * 4)]).ToArray();
        }
        var bytes = tensor.Bytes.Span;
        var values = new int[count];
        for (var i = 0; i < count; i++)
        {
            // Out-of-int32 values become int.MaxValue: invalid either way.
            values[i] = (int)Math.Clamp(ElementCodec.GetInteger(tensor.DType, bytes, i), int.MinValue, int.MaxValue);
        }
        return values;
    }

    private readonly record struct RowProblem(int Row, string Message);

    /// <summary>The inputs of one trial, decoded once for validation and scoring.</summary>
    private sealed class IndexerProblem
    {
        public required int Batch { get; init; }
        public required int TopK { get; init; }
        public required int PageSize { get; init; }
        public required int Heads { get; init; }
        public required int HeadDim { get; init; }
        public required int NumPages { get; init; }
        public required int MaxPagesPerRow { get; init; }
        public required float[] Q { get; init; }
        public required float[] Weights { get; init; }
        public required int[] SeqLens { get; init; }
        public required int[] BlockTable { get; init; }
        public required ReadOnlyMemory<byte> KCache { get; init; }

        public static IndexerProblem Load(OutputCheckContext context)
        {
            var q = Tensor(context, "q_index_fp8");
            var k = Tensor(context, "k_index_cache_fp8");
            var weights = Tensor(context, "weights");
            var seqLens = Tensor(context, "seq_lens");
            var blockTable = Tensor(context, "block_table");
            if (q.Shape.Length != 3 || k.Shape.Length != 4 || blockTable.Shape.Length != 2)
            {
                throw new InvalidOperationException(
                    $"DSA indexer inputs have unexpected ranks: q {q.ShapeText}, k cache {k.ShapeText}, block_table {blockTable.ShapeText}");
            }
            var pageSize = (int)(context.Definition.FindAxis("page_size") is ConstAxis p ? p.Value : k.Shape[1]);
            var headDim = (int)q.Shape[2];
            if (k.Shape[1] != pageSize || k.Shape[3] != headDim + 4)
            {
                throw new InvalidOperationException(
                    $"k_index_cache_fp8 {k.ShapeText} is not the packed layout [num_pages, {pageSize}, 1, {headDim + 4}]");
            }
            return new IndexerProblem
            {
                Batch = (int)context.Candidate.Shape[0],
                TopK = (int)context.Candidate.Shape[1],
                PageSize = pageSize,
                Heads = (int)q.Shape[1],
                HeadDim = headDim,
                NumPages = (int)k.Shape[0],
                MaxPagesPerRow = (int)blockTable.Shape[1],
                Q = ElementCodec.ToFloat32(q),
                Weights = ElementCodec.ToFloat32(weights),
                SeqLens = Integers(seqLens),
                BlockTable = Integers(blockTable),
                KCache = k.Bytes,
            };
        }

        private static HostTensor Tensor(OutputCheckContext context, string name)
        {
            var argument = context.Inputs.Arguments.FirstOrDefault(a => a.Key == name).Value;
            return argument is TensorArgument tensor
                ? tensor.Tensor
                : throw new InvalidOperationException($"the DSA indexer check needs input '{name}' as a tensor; the input set has {argument?.GetType().Name ?? "nothing"}");
        }

        private static int[] Integers(HostTensor tensor)
        {
            var values = new int[checked((int)tensor.ElementCount)];
            var bytes = tensor.Bytes.Span;
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (int)ElementCodec.GetInteger(tensor.DType, bytes, i);
            }
            return values;
        }

        private int PagesOf(int row) =>
            Math.Min((Math.Max(SeqLens[row], 0) + PageSize - 1) / PageSize, MaxPagesPerRow);

        public List<RowProblem> Validate(int[] indices)
        {
            var problems = new List<RowProblem>();
            for (var row = 0; row < Batch; row++)
            {
                if (ValidateRow(indices, row) is { } message)
                {
                    problems.Add(new RowProblem(row, message));
                }
            }
            return problems;
        }

        private string? ValidateRow(int[] indices, int row)
        {
            var seqLen = Math.Max(SeqLens[row], 0);
            var slotOfPage = new Dictionary<int, int>();
            var pages = PagesOf(row);
            for (var slot = 0; slot < pages; slot++)
            {
                slotOfPage.TryAdd(BlockTable[row * MaxPagesPerRow + slot], slot);
            }
            var seen = new HashSet<int>();
            for (var column = 0; column < TopK; column++)
            {
                var index = indices[row * TopK + column];
                if (index == -1)
                {
                    continue;
                }
                if (index < 0)
                {
                    return Invariant($"index {index} at column {column}: the only negative value allowed is the padding -1");
                }
                var page = index / PageSize;
                if (!slotOfPage.TryGetValue(page, out var slot))
                {
                    return Invariant($"index {index} at column {column} is on page {page}, not one of the row's {pages} page(s) in block_table");
                }
                var position = (long)slot * PageSize + index % PageSize;
                if (position >= seqLen)
                {
                    return Invariant($"index {index} at column {column} is token {position} of the sequence, past seq_len {seqLen}");
                }
                if (!seen.Add(index))
                {
                    return Invariant($"duplicate index {index} (again at column {column})");
                }
            }
            var expected = Math.Min(TopK, seqLen);
            return seen.Count != expected
                ? Invariant($"{seen.Count} valid indices where min(topk, seq_len) = min({TopK}, {seqLen}) = {expected} are required")
                : null;
        }

        public (float[] Candidate, float[] Reference) SortedScores(int[] candidate, int[] reference)
        {
            var candidateScores = new float[Batch * TopK];
            var referenceScores = new float[Batch * TopK];
            Parallel.For(0, Batch, row =>
            {
                var memo = new Dictionary<int, float>();
                var k = new float[HeadDim];
                ScoreRow(reference, row, memo, k, referenceScores);
                ScoreRow(candidate, row, memo, k, candidateScores);
            });
            return (candidateScores, referenceScores);
        }

        private void ScoreRow(int[] indices, int row, Dictionary<int, float> memo, float[] k, float[] scores)
        {
            var span = scores.AsSpan(row * TopK, TopK);
            for (var column = 0; column < TopK; column++)
            {
                var index = indices[row * TopK + column];
                if (index < 0)
                {
                    span[column] = float.NegativeInfinity;
                    continue;
                }
                if (!memo.TryGetValue(index, out var score))
                {
                    score = Score(row, index, k);
                    memo[index] = score;
                }
                span[column] = score;
            }
            // Ascending sort puts NaN first and -inf next; reversed, the row is descending with padding last.
            span.Sort();
            span.Reverse();
        }

        private float Score(int row, int token, float[] k)
        {
            var page = token / PageSize;
            var offset = token % PageSize;
            if (page >= NumPages)
            {
                throw new InvalidOperationException(
                    $"block_table of row {row} names page {page}, beyond the {NumPages} page(s) of k_index_cache_fp8");
            }
            var pageBytes = PageSize * (HeadDim + 4);
            var cache = KCache.Span.Slice(page * pageBytes, pageBytes);
            var fp8 = cache.Slice(offset * HeadDim, HeadDim);
            var scale = BinaryPrimitives.ReadSingleLittleEndian(cache[(PageSize * HeadDim + offset * 4)..]);
            for (var d = 0; d < HeadDim; d++)
            {
                // fp8 * scale rounded per element, as the reference dequantizes before its matmul.
                k[d] = Float32View.DecodeFloat8E4M3FN(fp8[d]) * scale;
            }
            var total = 0f;
            for (var h = 0; h < Heads; h++)
            {
                var dot = Dot(Q.AsSpan((row * Heads + h) * HeadDim, HeadDim), k);
                var relu = dot > 0 || float.IsNaN(dot) ? dot : 0f;
                total += relu * Weights[row * Heads + h];
            }
            return total;
        }

        private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            var i = 0;
            var sum = 0f;
            if (Vector.IsHardwareAccelerated)
            {
                var acc = Vector<float>.Zero;
                for (; i <= a.Length - Vector<float>.Count; i += Vector<float>.Count)
                {
                    acc += new Vector<float>(a[i..]) * new Vector<float>(b[i..]);
                }
                sum = Vector.Sum(acc);
            }
            for (; i < a.Length; i++)
            {
                sum += a[i] * b[i];
            }
            return sum;
        }

        private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
    }
}
