using AgentForge.Tools.Oracle;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// Reference outputs from the Python oracle (cached on disk by definition hash, workload, trial
/// and seed). The reference is timed with its own small budget, on one trial: the naive
/// references loop in Python and would otherwise dominate a bench; the method string says so.
/// </summary>
public sealed class OracleReferenceProvider(IReferenceOracle oracle, string scratchDirectory, OracleTiming? timing) : IReferenceProvider
{
    public async Task<ReferenceOutputs> GetAsync(Definition definition, WorkloadEntry workload, PreparedInputs inputs, bool timed, CancellationToken cancellationToken)
    {
        var output = Path.Combine(scratchDirectory, $"reference-{Guid.NewGuid():N}.safetensors");
        var request = OracleRequest.For(definition, inputs.Inputs, inputs.Path, output, timed ? timing : null);
        var result = await oracle.RunAsync(request, cancellationToken);
        var method = timing is null || !timed ? "not timed" : $"torch, CUDA events, L2 flushed, median of {timing.Iterations} after {timing.Warmup} warm-up, trial 0";
        return result switch
        {
            OracleSuccess s => new ReferenceOutputs(s.OutputsPath, s.LatencyMs ?? double.NaN, null, method),
            OracleFailure f => new ReferenceOutputs(null, double.NaN, f.ToString(), method),
            _ => new ReferenceOutputs(null, double.NaN, "unknown oracle result", method),
        };
    }
}
