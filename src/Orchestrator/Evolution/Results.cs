using System.Text.Json.Serialization;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// One workload's verdict as the run history keeps it (a <see cref="WorkloadOutcome"/> without the
/// tensors and the workload body): status, latency, per-trial latencies, reference and floor.
/// </summary>
public sealed record WorkloadResult(
    string Uuid,
    string Band,
    string Status,
    double? LatencyMs,
    double? ReferenceLatencyMs,
    IReadOnlyList<double> TrialLatenciesMs,
    double? FloorMs,
    string? Log = null)
{
    [JsonIgnore]
    public bool Passed => Status == nameof(EvaluationStatus.PASSED);

    [JsonIgnore]
    public double? Speedup => LatencyMs is > 0 && ReferenceLatencyMs is > 0 ? ReferenceLatencyMs / LatencyMs : null;

    [JsonIgnore]
    public double? FloorRatio => LatencyMs is > 0 && FloorMs is > 0 ? LatencyMs / FloorMs : null;

    public static WorkloadResult From(WorkloadOutcome outcome, string band) => new(
        outcome.Workload.Workload.Uuid,
        band,
        outcome.StatusText,
        outcome.LatencyMs,
        outcome.ReferenceLatencyMs,
        outcome.TrialLatenciesMs.ToList(),
        outcome.Floor?.Milliseconds,
        outcome.Status == EvaluationStatus.PASSED ? null : Truncate(outcome.Problem ?? outcome.Log, 4000));

    public static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "\n...";
}

/// <summary>Summaries over a set of workload results.</summary>
public static class ResultMath
{
    public static double GeomeanLatency(IEnumerable<WorkloadResult> results) =>
        Statistics.GeometricMean(results.Select(r => r.LatencyMs ?? double.NaN));

    public static double? GeomeanFloorRatio(IEnumerable<WorkloadResult> results)
    {
        var value = Statistics.GeometricMean(results.Select(r => r.FloorRatio ?? double.NaN));
        return double.IsFinite(value) ? value : null;
    }

    public static double? MeanSpeedup(IEnumerable<WorkloadResult> results)
    {
        var speedups = results.Select(r => r.Speedup).OfType<double>().ToList();
        return speedups.Count > 0 ? speedups.Average() : null;
    }
}

/// <summary>How a candidate ended.</summary>
public enum CandidateVerdict
{
    /// <summary>nvcc failed.</summary>
    CompileError,

    /// <summary>Some workload did not pass (wrong answer, crash, timeout).</summary>
    Failed,

    /// <summary>Correct, but not faster than the champion where it was screened.</summary>
    Slower,

    /// <summary>Correct and faster on paper, but the promotion gate said no (see the reason).</summary>
    Rejected,

    /// <summary>Became champion in at least one band.</summary>
    Promoted,

    /// <summary>No verdict was possible (bad data, no worker).</summary>
    NoVerdict,
}

/// <summary>A finished candidate: what the archive keeps, what generators learn from, what feedback shows.</summary>
public sealed record CandidateRecord(
    string Id,
    string Definition,
    int Generation,
    string Generator,
    string? ParentId,
    string Hash,
    IReadOnlyDictionary<string, string> Defines,
    CandidateVerdict Verdict,
    string Reason,
    double? GeomeanLatencyMs,
    double? GeomeanFloorRatio,
    IReadOnlyList<WorkloadResult> Workloads,
    IReadOnlyList<string> PromotedBands,
    string? BuildLog,
    IReadOnlyList<GateCheck> Checks,
    DateTimeOffset FinishedAt,
    string? ProfilerSummary = null);
