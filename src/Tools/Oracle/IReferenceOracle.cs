namespace AgentForge.Tools.Oracle;

/// <summary>Runs definitions' reference code. Expected failures come back as <see cref="OracleFailure"/>.</summary>
public interface IReferenceOracle
{
    /// <summary>Starts the oracle if needed and reports its environment, or why it cannot run.</summary>
    Task<OracleProbeResult> ProbeAsync(CancellationToken cancellationToken);

    Task<OracleResult> RunAsync(OracleRequest request, CancellationToken cancellationToken);
}
