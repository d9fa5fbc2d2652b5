using System.Runtime.InteropServices;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// <c>sparse_indices</c> [rows, topk] of paged sparse attention, shaped like an indexer's output:
/// each row stands for a sequence of S tokens stored in ceil(S / page_size) distinct random pages,
/// and holds min(topk, S) distinct token ids <c>page * page_size + offset</c> of that sequence in
/// random (score) order, padded with -1 at the tail. Full rows come from sequences longer than
/// topk; padded rows from shorter ones; empty rows (no valid index) only when asked for.
/// </summary>
public static class SparseIndicesSynthesis
{
    public const long Padding = -1;

    internal enum RowKind
    {
        Full,
        Padded,
        Empty,
    }

    public static bool Applies(Definition definition, TensorSpec spec) =>
        spec.Shape is { Count: 2 } && spec.DType is DType.Int32 or DType.Int64
        && definition.FindAxis("num_pages") is not null && definition.FindAxis("page_size") is not null;

    public static DataResult<HostTensor> Synthesize(SynthesisContext context)
    {
        if (context.Axis("num_pages") is not { } numPages || context.Axis("page_size") is not { } pageSize)
        {
            return context.Fail("the workload gives no value for axis 'num_pages' or 'page_size'");
        }
        var rows = context.Shape[0];
        var topk = context.Shape[1];
        var capacity = numPages * pageSize;
        if (pageSize < 1 || numPages < 1)
        {
            return context.Fail($"num_pages = {numPages} and page_size = {pageSize} leave no token to index");
        }
        if (context.Spec.DType == DType.Int32 && capacity - 1 > int.MaxValue)
        {
            return context.Fail($"token ids up to {capacity - 1} do not fit int32");
        }
        var kinds = RowKinds(rows, context.Options, new RandomStream(CounterRng.Derive(context.Key, "row_kinds")));
        var tensor = context.Allocate();
        var bytes = MemoryMarshal.AsMemory(tensor.Bytes);
        Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = context.Options.MaxDegreeOfParallelism }, row =>
        {
            var random = new RandomStream(CounterRng.Derive(context.Key, row));
            var tokens = RowTokens(kinds[row], topk, pageSize, numPages, random);
            var span = bytes.Span;
            for (var i = 0L; i < topk; i++)
            {
                ElementEncoder.SetInteger(context.Spec.DType, span, row * topk + i, i < tokens.Length ? tokens[i] : Padding);
            }
        });
        return DataResult<HostTensor>.Ok(tensor);
    }

    internal static RowKind[] RowKinds(long rows, SynthesisOptions options, RandomStream random)
    {
        var kinds = new RowKind[rows];
        var empty = options.EmptyIndexRowFraction;
        var padded = options.PaddedIndexRowFraction;
        for (var r = 0; r < rows; r++)
        {
            var u = random.NextDouble();
            kinds[r] = u < empty ? RowKind.Empty : u < empty + padded ? RowKind.Padded : RowKind.Full;
        }
        // Small workloads would often miss a case by chance; the kernel must meet every case.
        if (rows >= 2)
        {
            if (empty + padded > 0 && kinds.All(k => k == RowKind.Full))
            {
                kinds[^1] = RowKind.Padded;
            }
            if (empty + padded < 1 && kinds.All(k => k != RowKind.Full))
            {
                kinds[0] = RowKind.Full;
            }
        }
        if (empty > 0 && rows >= 1 && !kinds.Contains(RowKind.Empty))
        {
            kinds[^1] = RowKind.Empty;
        }
        return kinds;
    }

    /// <summary>The valid token ids of one row, in random order.</summary>
    internal static long[] RowTokens(RowKind kind, long topk, long pageSize, long numPages, RandomStream random)
    {
        var capacity = numPages * pageSize;
        long valid = kind switch
        {
            RowKind.Empty => 0,
            RowKind.Padded when topk > 1 => random.NextInclusive(1, topk - 1),
            RowKind.Padded => 0,
            _ => topk,
        };
        valid = Math.Min(valid, capacity);
        if (valid == 0)
        {
            return [];
        }
        // A full row selects topk tokens out of a longer sequence (up to 8 x topk, as long
        // contexts do); a padded row is a short sequence whose every token is selected.
        var sequenceLength = kind == RowKind.Full
            ? random.NextInclusive(valid, Math.Min(capacity, Math.Max(valid, 8 * topk)))
            : valid;
        var pages = random.Distinct((int)((sequenceLength + pageSize - 1) / pageSize), numPages);
        var positions = valid == sequenceLength
            ? Enumerable.Range(0, (int)valid).Select(p => (long)p).ToArray()
            : random.Distinct((int)valid, sequenceLength);
        random.Shuffle(positions.AsSpan());
        var tokens = new long[valid];
        for (var i = 0; i < valid; i++)
        {
            tokens[i] = pages[positions[i] / pageSize] * pageSize + positions[i] % pageSize;
        }
        return tokens;
    }
}
