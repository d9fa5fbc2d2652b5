using System.Diagnostics.CodeAnalysis;

namespace AgentForge.Tools.Trace;

/// <summary>
/// A value read from user data, or the located problems that prevented reading it.
/// Loaders return this instead of throwing: bad data is an expected outcome.
/// </summary>
public sealed record DataResult<T>
{
    private DataResult(T? value, IReadOnlyList<DataError> errors)
    {
        Value = value;
        Errors = errors;
    }

    public T? Value { get; }

    public IReadOnlyList<DataError> Errors { get; }

    /// <summary>The first problem, for callers that report one at a time.</summary>
    public DataError? Error => Errors.Count > 0 ? Errors[0] : null;

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsOk => Errors.Count == 0;

    public static DataResult<T> Ok(T value) => new(value, []);

    public static DataResult<T> Fail(DataError error) => new(default, [error]);

    public static DataResult<T> Fail(IReadOnlyList<DataError> errors) =>
        errors.Count > 0 ? new(default, errors) : throw new ArgumentException("a failure needs at least one error", nameof(errors));

    public static implicit operator DataResult<T>(DataError error) => Fail(error);
}
