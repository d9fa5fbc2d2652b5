using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentForge.Tools.Build;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>Source-generated JSON for the run folder: snake_case, enums as strings, compact lines for events.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(RunEvent))]
[JsonSerializable(typeof(RunInfo))]
[JsonSerializable(typeof(ArchiveSnapshot))]
[JsonSerializable(typeof(CandidateRecord))]
[JsonSerializable(typeof(GateVerdictFile))]
[JsonSerializable(typeof(CandidateSource))]
[JsonSerializable(typeof(IReadOnlyList<WorkloadResult>))]
internal sealed partial class EvolutionJsonContext : JsonSerializerContext
{
    private static EvolutionJsonContext? indented;
    private static EvolutionJsonContext? compact;

    /// <summary>One line per document (events.jsonl); quotes and angle brackets in kernel code stay readable.</summary>
    public static EvolutionJsonContext Compact => compact ??= new EvolutionJsonContext(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>Same contract, pretty-printed, for files people read (run.json, archive.json).</summary>
    public static EvolutionJsonContext Indented => indented ??= new EvolutionJsonContext(new JsonSerializerOptions(Default.Options) { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}

/// <summary>What candidates/&lt;id&gt;/gate.json holds: the gate's checks and its same-round measurements.</summary>
public sealed record GateVerdictFile(
    string Id,
    IReadOnlyList<string> PromotedBands,
    string Reason,
    IReadOnlyList<GateCheck> Checks,
    IReadOnlyList<WorkloadResult> ChallengerRemeasured,
    IReadOnlyDictionary<string, IReadOnlyList<WorkloadResult>> ChampionsRemeasured,
    IReadOnlyList<SanitizerSummary> Sanitizers);

public sealed record SanitizerSummary(string Tool, string Workload, bool Clean, int ErrorCount, string Summary);
