namespace AgentForge.Tools.Oracle;

/// <summary>What the oracle's Python reports at start: worth recording next to every reference latency.</summary>
public sealed record OracleEnvironment(
    string Python,
    string Executable,
    int ProcessId,
    string Torch,
    string? Cuda,
    bool CudaAvailable,
    string? DeviceName,
    string? Safetensors);

/// <summary>The oracle's environment, or why it cannot run.</summary>
public sealed record OracleProbeResult(OracleEnvironment? Environment, OracleFailure? Failure)
{
    public bool IsReady => Environment is not null;
}
