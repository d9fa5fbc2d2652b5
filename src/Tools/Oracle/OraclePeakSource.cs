using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentForge.Tools.Bench.Floors;

namespace AgentForge.Tools.Oracle;

/// <summary>
/// Peaks measured through torch (an 8192^3 bf16 matmul and an fp8 _scaled_mm) once per GPU model
/// and kept in the cache folder (peaks/&lt;device&gt;.json), so every later floor on that model divides
/// by the same measured number. The measurement runs in its own short-lived oracle process.
/// </summary>
public sealed class OraclePeakSource(string cacheDirectory, OracleOptions? options = null) : IPeakSource
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Dictionary<string, MeasuredPeak?> known = new(StringComparer.Ordinal);

    public async Task<MeasuredPeak?> GetAsync(string device, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (known.TryGetValue(device, out var cached))
            {
                return cached;
            }
            var path = Path.Combine(cacheDirectory, "peaks", string.Concat(device.Select(c => char.IsLetterOrDigit(c) ? c : '_')) + ".json");
            var peak = Read(path) ?? await MeasureAsync(device, path, cancellationToken);
            known[device] = peak;
            return peak;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<MeasuredPeak?> MeasureAsync(string device, string path, CancellationToken cancellationToken)
    {
        await using var oracle = new OracleProcess(options);
        var peaks = await oracle.MeasurePeaksAsync(cancellationToken);
        if (!peaks.Measured || peaks.Device != device)
        {
            // No torch, no GPU, or torch sees another card than the worker: the table stands.
            return null;
        }
        var method = $"measured through torch on {device} {DateTime.UtcNow:yyyy-MM-dd} (8192^3 random matmul; fp8: _scaled_mm)";
        var peak = new MeasuredPeak(peaks.Bf16FlopsPerSecond!.Value, peaks.Fp8FlopsPerSecond, method);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var json = new JsonObject
        {
            ["device"] = device,
            ["bf16_flops"] = peak.Bf16FlopsPerSecond,
            ["fp8_flops"] = peak.Fp8FlopsPerSecond,
            ["method"] = method,
            ["fp8_problem"] = peaks.Problem,
        };
        await File.WriteAllTextAsync(path, json.ToJsonString(), cancellationToken);
        return peak;
    }

    private static MeasuredPeak? Read(string path)
    {
        try
        {
            if (!File.Exists(path) || JsonNode.Parse(File.ReadAllText(path)) is not JsonObject json)
            {
                return null;
            }
            var bf16 = json["bf16_flops"]?.GetValue<double>();
            return bf16 is > 0
                ? new MeasuredPeak(bf16.Value, json["fp8_flops"]?.GetValue<double>(), json["method"]?.GetValue<string>() ?? "measured")
                : null;
        }
        catch (Exception e) when (e is JsonException or IOException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
