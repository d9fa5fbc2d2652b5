namespace AgentForge.Tools.Bench.Floors;

/// <summary>
/// Dense bf16 tensor-core peaks as measured on this workplace's machines (KINDS.md: 8192^3 bf16
/// products through PyTorch on random data): H100 798 and H200 788 TFLOP/s. Used until the
/// oracle's own measurement replaces them; the method string says which one a floor used.
/// </summary>
public static class PeakFlops
{
    public static double For(string device) => device.Contains("H200", StringComparison.OrdinalIgnoreCase) ? 788e12
        : device.Contains("H100", StringComparison.OrdinalIgnoreCase) ? 798e12
        : 0;

    public static string Method(string device) => For(device) > 0
        ? "bf16 dense peak measured on this card model (torch 8192^3 matmul, 2026-11)"
        : "no peak known for this card: compute floor omitted";
}
