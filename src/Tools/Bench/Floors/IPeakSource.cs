namespace AgentForge.Tools.Bench.Floors;

/// <summary>Measured dense matrix throughput of a GPU model (FLOP/s per precision), or null where unknown.</summary>
public interface IPeakSource
{
    Task<MeasuredPeak?> GetAsync(string device, CancellationToken cancellationToken);
}

/// <summary>A measurement: bf16 and (where the GPU and torch have it) fp8, with how it was taken.</summary>
public sealed record MeasuredPeak(double Bf16FlopsPerSecond, double? Fp8FlopsPerSecond, string Method);
