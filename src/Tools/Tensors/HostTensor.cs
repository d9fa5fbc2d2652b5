using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Tensors;

/// <summary>
/// A dense, contiguous, row-major tensor in host memory. <see cref="Bytes"/> may be a managed
/// array or a view of a memory-mapped file; it is never copied implicitly.
/// </summary>
public sealed record HostTensor(DType DType, long[] Shape, ReadOnlyMemory<byte> Bytes)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public static HostTensor Allocate(DType dtype, long[] shape)
    {
        var elements = shape.Aggregate(1L, (a, b) => a * b);
        return new HostTensor(dtype, shape, new byte[dtype.ByteCount(elements)]);
    }

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>One argument of a call: a tensor, a scalar, or an absent optional input.</summary>
public abstract record ArgumentValue;

public sealed record TensorArgument(HostTensor Tensor) : ArgumentValue;

public sealed record ScalarArgument(DType DType, ScalarValue Value) : ArgumentValue;

public sealed record AbsentArgument : ArgumentValue;

/// <summary>The inputs of one (workload, trial, seed) in definition order, ready to hand to a kernel.</summary>
public sealed record InputSet(
    string DefinitionName,
    string WorkloadUuid,
    int Trial,
    ulong Seed,
    IReadOnlyList<KeyValuePair<string, ArgumentValue>> Arguments)
{
    public ArgumentValue this[string name] => Arguments.First(a => a.Key == name).Value;
}
