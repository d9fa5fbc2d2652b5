namespace AgentForge.Tools.Oracle;

/// <summary>
/// Dense matrix-product throughput measured on the GPU through torch (FLOP/s), or why not.
/// <paramref name="Problem"/> may be set beside a value (fp8 unavailable while bf16 was measured).
/// </summary>
public sealed record MeasuredPeaks(double? Bf16FlopsPerSecond, double? Fp8FlopsPerSecond, string? Device, string? Problem)
{
    public bool Measured => Bf16FlopsPerSecond is > 0;
}
