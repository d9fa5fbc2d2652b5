using System.Runtime.InteropServices;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// <c>seq_lens</c> [batch] and <c>block_table</c> [batch, max_num_pages] of a paged KV cache
/// (the DSA indexer): every sequence has 1 &lt;= seq_len &lt;= max_num_pages * page_size, the
/// longest one needs all max_num_pages pages (so the workload's axis is really exercised), and
/// block table entries are distinct page ids below num_pages: distinct over the whole table when
/// the cache has room (sequences do not share pages), else distinct within each row. Entries past
/// a sequence's last page are valid pages too, so a kernel reading them does not fault.
/// Both inputs derive from one shared key, so either can be synthesized alone and still agree.
/// </summary>
public static class PagedLayoutSynthesis
{
    public const string SeqLensInput = "seq_lens";
    public const string BlockTableInput = "block_table";

    /// <summary>The whole layout of one workload.</summary>
    public sealed record Layout(long PageSize, long NumPages, long[] SeqLens, long[][] BlockTable);

    public static bool AppliesToSeqLens(Definition definition, TensorSpec spec) =>
        spec.Shape is { Count: 1 } && IsInteger(spec.DType) && Declares(definition) && definition.FindInput(BlockTableInput) is not null;

    public static bool AppliesToBlockTable(Definition definition, TensorSpec spec) =>
        spec.Shape is { Count: 2 } && IsInteger(spec.DType) && Declares(definition) && definition.FindInput(SeqLensInput) is not null;

    public static DataResult<HostTensor> SynthesizeSeqLens(SynthesisContext context)
    {
        var layout = Create(context);
        if (!layout.IsOk)
        {
            return layout.Error;
        }
        var tensor = context.Allocate();
        var bytes = MemoryMarshal.AsMemory(tensor.Bytes).Span;
        for (var b = 0; b < layout.Value.SeqLens.Length; b++)
        {
            ElementEncoder.SetInteger(context.Spec.DType, bytes, b, layout.Value.SeqLens[b]);
        }
        return DataResult<HostTensor>.Ok(tensor);
    }

    public static DataResult<HostTensor> SynthesizeBlockTable(SynthesisContext context)
    {
        var layout = Create(context);
        if (!layout.IsOk)
        {
            return layout.Error;
        }
        var tensor = context.Allocate();
        var bytes = MemoryMarshal.AsMemory(tensor.Bytes).Span;
        var columns = context.Shape[1];
        for (var b = 0; b < layout.Value.BlockTable.Length; b++)
        {
            for (var j = 0; j < columns; j++)
            {
                ElementEncoder.SetInteger(context.Spec.DType, bytes, b * columns + j, layout.Value.BlockTable[b][j]);
            }
        }
        return DataResult<HostTensor>.Ok(tensor);
    }

    public static DataResult<Layout> Create(SynthesisContext context)
    {
        var lens = context.ShapeOf(SeqLensInput);
        var table = context.ShapeOf(BlockTableInput);
        if (lens is not { Length: 1 } || table is not { Length: 2 })
        {
            return context.Fail("seq_lens and block_table must resolve to shapes [batch] and [batch, max_num_pages]");
        }
        if (context.Axis("page_size") is not { } pageSize || context.Axis("num_pages") is not { } numPages)
        {
            return context.Fail("the workload gives no value for axis 'page_size' or 'num_pages'");
        }
        var (batch, maxPages) = (table[0], table[1]);
        if (lens[0] != batch)
        {
            return context.Fail($"seq_lens has {lens[0]} rows but block_table has {batch}");
        }
        if (batch > 0 && (maxPages < 1 || pageSize < 1))
        {
            return context.Fail($"max_num_pages = {maxPages} and page_size = {pageSize} leave no room for a sequence");
        }
        if (maxPages > numPages)
        {
            return context.Fail($"max_num_pages = {maxPages} exceeds num_pages = {numPages}: a row cannot hold distinct pages");
        }
        var random = new RandomStream(context.SharedKey("paged_layout"));
        var seqLens = new long[batch];
        if (batch > 0)
        {
            var longest = random.NextInt64(batch);
            for (var b = 0; b < batch; b++)
            {
                seqLens[b] = b == longest
                    ? random.NextInclusive((maxPages - 1) * pageSize + 1, maxPages * pageSize)
                    : random.NextInclusive(1, maxPages * pageSize);
            }
        }
        var blockTable = new long[batch][];
        if (batch * maxPages <= numPages)
        {
            var pages = random.Distinct((int)(batch * maxPages), numPages);
            for (var b = 0; b < batch; b++)
            {
                blockTable[b] = pages.AsSpan((int)(b * maxPages), (int)maxPages).ToArray();
            }
        }
        else
        {
            for (var b = 0; b < batch; b++)
            {
                blockTable[b] = random.Distinct((int)maxPages, numPages);
            }
        }
        return DataResult<Layout>.Ok(new Layout(pageSize, numPages, seqLens, blockTable));
    }

    private static bool Declares(Definition definition) =>
        definition.FindAxis("page_size") is not null && definition.FindAxis("num_pages") is not null;

    private static bool IsInteger(DType dtype) => dtype is DType.Int32 or DType.Int64;
}
