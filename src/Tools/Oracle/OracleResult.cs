namespace AgentForge.Tools.Oracle;

/// <summary>The outcome of one reference call: <see cref="OracleSuccess"/> or <see cref="OracleFailure"/>.</summary>
public abstract record OracleResult;

/// <param name="OutputsPath">The safetensors file holding the outputs by name.</param>
/// <param name="LatencyMs">Median latency when timing was requested (CUDA events on a GPU).</param>
/// <param name="FromCache">True when the reference cache answered without running Python.</param>
public sealed record OracleSuccess(string OutputsPath, double? LatencyMs, bool FromCache = false) : OracleResult;

/// <param name="Traceback">The Python traceback when the reference (or the oracle) raised.</param>
public sealed record OracleFailure(OracleFailureKind Kind, string Message, string? Traceback = null) : OracleResult
{
    public override string ToString() => Traceback is null ? $"{Kind}: {Message}" : $"{Kind}: {Message}\n{Traceback}";
}

public enum OracleFailureKind
{
    /// <summary>The Python executable could not be started.</summary>
    PythonMissing,

    /// <summary>Python runs but lacks torch or safetensors.</summary>
    ModuleMissing,

    /// <summary>A CUDA device was requested and torch sees none.</summary>
    NoDevice,

    /// <summary>The reference code raised (or returned something unusable); the traceback says where.</summary>
    ReferenceError,

    /// <summary>The inputs file is missing, unreadable, or lacks an input.</summary>
    InputError,

    /// <summary>No answer within the timeout; the process was killed.</summary>
    Timeout,

    /// <summary>The Python process died; stderr's tail is in the message.</summary>
    Crashed,

    /// <summary>The oracle itself failed (a malformed request, an unexpected exception, a full disk): a bug or a broken machine.</summary>
    OracleError,
}
