using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentForge.Tools.Bench.Worker;

/// <summary>One argument of a candidate call as the worker must build it.</summary>
public sealed record WireArgument(
    string Name,
    string Kind,
    string Dtype,
    long[]? Shape = null,
    double? Value = null,
    long? IntegerValue = null)
{
    public const string Tensor = "tensor";
    public const string Scalar = "scalar";
    public const string Absent = "absent";
}

public sealed record WireOutput(string Name, string Dtype, long[] Shape);

public sealed record WireTiming(int Warmup, int Iterations, bool FlushL2 = true);

/// <summary>
/// A request line. Ops: hello, load, run, health, shutdown, crash_test. <see cref="CallLimitSeconds"/>
/// (run): how long one candidate call may keep the worker waiting before it answers TIMEOUT and exits.
/// </summary>
public sealed record WorkerRequest(
    long Id,
    string Op,
    string? Library = null,
    string? Signature = null,
    int? Handle = null,
    string? InputsPath = null,
    IReadOnlyList<string>? RotationInputsPaths = null,
    IReadOnlyList<WireArgument>? Arguments = null,
    IReadOnlyList<WireOutput>? Outputs = null,
    string? OutputPath = null,
    WireTiming? Timing = null,
    bool RecheckAfterTiming = false,
    double? CallLimitSeconds = null);

/// <summary>
/// What a worker says about itself. A worker without a usable GPU still answers (hello, health,
/// shutdown work; load and run fail) and says why in <see cref="DeviceError"/>: a launcher that
/// landed on a node without a GPU is then a clear message rather than a process that died.
/// </summary>
public sealed record WorkerHello(
    string Device,
    string Architecture,
    int Multiprocessors,
    long L2Bytes,
    long MemoryBytes,
    int DriverVersion,
    double CopyBandwidthGbps,
    int ProcessId,
    string? TimingMethod = null,
    string? DeviceError = null,
    string? Host = null)
{
    /// <summary>The device name a worker without a GPU reports.</summary>
    public const string NoDevice = "none";

    /// <summary>Whether this worker can run candidates.</summary>
    [JsonIgnore]
    public bool HasDevice => DeviceError is null;

    /// <summary>The hello of a worker that has no GPU, with the reason.</summary>
    public static WorkerHello Deviceless(string reason, int processId, string? host) =>
        new(NoDevice, "", 0, 0, 0, 0, 0, processId, null, reason, host);
}

/// <summary>
/// A response line; <see cref="Fatal"/> means the worker is about to exit (broken context). A timed run
/// has, where NVML answered, the SM clock while its timed calls ran (<see cref="SmClockMhz"/>: median,
/// <see cref="SmClockMinMhz"/>: lowest, of <see cref="ClockSamples"/> readings) and the limits that held
/// it (<see cref="ClockLimits"/>, e.g. "power cap 97%"; null when none did).
/// </summary>
public sealed record WorkerResponse(
    long Id,
    bool Ok,
    string? Status = null,
    string? Error = null,
    bool Fatal = false,
    WorkerHello? Hello = null,
    int? Handle = null,
    string? OutputsPath = null,
    string? RecheckOutputsPath = null,
    IReadOnlyList<double>? LatenciesMs = null,
    string? TimingMethod = null,
    IReadOnlyList<double>? EventLatenciesMs = null,
    IReadOnlyList<double>? KernelSumsMs = null,
    IReadOnlyList<TimelineEntry>? Timeline = null,
    IReadOnlyList<double>? HostIssueUs = null,
    double? SmClockMhz = null,
    double? SmClockMinMhz = null,
    int? ClockSamples = null,
    string? ClockLimits = null);

/// <summary>
/// One GPU activity of a timed call (kind "kernel", "memset" or "memcpy"), its start relative to
/// the call's first start: what the call's span is made of. A kernel has its short name (the last
/// identifier of its mangled name) and launch shape.
/// </summary>
public sealed record TimelineEntry(string Kind, double StartUs, double DurationUs, string? Name = null, int[]? Grid = null, int[]? Block = null);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(WorkerRequest))]
[JsonSerializable(typeof(WorkerResponse))]
public sealed partial class WorkerJson : JsonSerializerContext
{
    public static string Serialize(WorkerRequest request) => JsonSerializer.Serialize(request, Default.WorkerRequest);

    public static string Serialize(WorkerResponse response) => JsonSerializer.Serialize(response, Default.WorkerResponse);

    public static WorkerRequest? ParseRequest(string line) => JsonSerializer.Deserialize(line, Default.WorkerRequest);

    public static WorkerResponse? ParseResponse(string line) => JsonSerializer.Deserialize(line, Default.WorkerResponse);
}
