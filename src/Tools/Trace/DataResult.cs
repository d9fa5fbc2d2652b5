using System.Diagnostics.CodeAnalysis;

namespace AgentForge.Tools.Trace;

/// <summary>
/// A value read from user data, or the located problems that prevented reading it.
/// Loaders return this instead of throwing: bad data is an expected outcome.
/// </summary>
public sealed record DataResult<T>
    where T : class
{
    private DataResult(T? value, IReadOnlyList<DataError> errors)
    {
        Value = value;
        Errors = errors;
    }

    public T? Value { get; }

    public IReadOnlyList<DataError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    public bool IsOk => Value is not null;

    public static DataResult<T> Ok(T value) => new(value, []);

    public static DataResult<T> Fail(DataError error) => new(null, [error]);

    public static DataResult<T> Fail(IReadOnlyList<DataError> errors) =>
        errors.Count > 0 ? new(null, errors) : throw new ArgumentException("a failure needs at least one error", nameof(errors));
}
