using System.Diagnostics.CodeAnalysis;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>A value, or the <see cref="DataError"/> that explains why user data did not yield one.</summary>
public sealed record DataResult<T>
{
    private DataResult(T? value, DataError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public DataError? Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsOk => Error is null;

    public static DataResult<T> Ok(T value) => new(value, null);

    public static DataResult<T> Fail(DataError error) => new(default, error);

    public static implicit operator DataResult<T>(DataError error) => Fail(error);
}
