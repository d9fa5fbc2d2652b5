using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AgentForge.Tools.Oracle;

/// <summary>The JSON lines exchanged with oracle_server.py (see its docstring for the protocol).</summary>
internal sealed record WireRequest(long Id, string Op)
{
    public string? DefinitionName { get; init; }
    public string? Reference { get; init; }
    public string? InputsPath { get; init; }
    public IReadOnlyList<string>? ArgOrder { get; init; }
    public Dictionary<string, WireScalar>? Scalars { get; init; }
    public IReadOnlyList<string>? Absent { get; init; }
    public IReadOnlyList<string>? Outputs { get; init; }
    public Dictionary<string, string>? OutputDtypes { get; init; }
    public string? OutputPath { get; init; }
    public WireTiming? Timing { get; init; }
    public string? Device { get; init; }
}

internal sealed record WireScalar(string Dtype, JsonNode? Value);

internal sealed record WireTiming(int Warmup, int Iterations);

internal sealed record WireResponse
{
    public long? Id { get; init; }
    public bool Ok { get; init; }
    public string? Kind { get; init; }
    public string? Error { get; init; }
    public string? Traceback { get; init; }
    public bool? Restart { get; init; }
    public string? OutputsPath { get; init; }
    public double? LatencyMs { get; init; }
    public int? Protocol { get; init; }
    public string? Python { get; init; }
    public string? Executable { get; init; }
    public int? Pid { get; init; }
    public string? Torch { get; init; }
    public string? Cuda { get; init; }
    public bool? CudaAvailable { get; init; }
    public string? DeviceName { get; init; }
    public string? Safetensors { get; init; }
    public double? Bf16Tflops { get; init; }
    public double? Fp8Tflops { get; init; }
    public string? Fp8Error { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WireRequest))]
[JsonSerializable(typeof(WireResponse))]
[JsonSerializable(typeof(CacheEntryMetadata))]
internal sealed partial class OracleJsonContext : JsonSerializerContext;
