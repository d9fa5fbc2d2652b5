namespace AgentForge.Tools.Bench.Floors;

/// <summary>
/// Dense tensor-core peaks. bf16: measured on this workplace's machines (KINDS.md: 8192^3 bf16
/// products through PyTorch on random data): H100 798 and H200 788 TFLOP/s. fp8: the datasheet's
/// 1979 TFLOP/s dense for both, the figure KERNELS.md's targets are written against. The method
/// string says which one a floor used.
/// </summary>
public static class PeakFlops
{
    public static double For(string device, string precision = "bf16")
    {
        var hopper = device.Contains("H100", StringComparison.OrdinalIgnoreCase) || device.Contains("H200", StringComparison.OrdinalIgnoreCase);
        if (!hopper)
        {
            return 0;
        }
        return precision switch
        {
            "fp8" => 1979e12,
            _ => device.Contains("H200", StringComparison.OrdinalIgnoreCase) ? 788e12 : 798e12,
        };
    }

    public static string Method(string device, string precision = "bf16") => For(device, precision) switch
    {
        0 => "no peak known for this card: compute floor omitted",
        _ when precision == "fp8" => "fp8 dense peak 1979 TFLOP/s (datasheet)",
        var peak => $"bf16 dense peak {peak / 1e12:0} TFLOP/s (torch 8192^3 matmul measured on this card model, 2026-11)",
    };
}
