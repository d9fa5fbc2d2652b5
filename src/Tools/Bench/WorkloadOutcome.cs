using AgentForge.Tools.Bench.Floors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// What happened to one candidate on one workload. <see cref="Status"/> is null when no verdict
/// was possible (bad data or a failing reference); <see cref="Problem"/> then says why.
/// <see cref="Timeline"/> holds the GPU activities of one timed call (the first trial's median),
/// also for an incorrect run, whose trials are timed all the same; <see cref="HostIssue"/> how long
/// the host took to issue that call and the longest of its trial; <see cref="Clock"/> the SM clock while
/// the trials were timed, where NVML answered.
/// </summary>
public sealed record WorkloadOutcome(
    WorkloadEntry Workload,
    EvaluationStatus? Status,
    string Log,
    Correctness? Correctness,
    double? LatencyMs,
    double? ReferenceLatencyMs,
    IReadOnlyList<double> TrialLatenciesMs,
    Floor? Floor,
    string TimingMethod,
    string? Problem = null,
    double? EventLatencyMs = null,
    double? KernelSumMs = null,
    IReadOnlyList<Worker.TimelineEntry>? Timeline = null,
    HostIssue? HostIssue = null,
    Worker.ClockSummary? Clock = null)
{
    public double? Speedup => LatencyMs is > 0 && ReferenceLatencyMs is > 0 ? ReferenceLatencyMs / LatencyMs : null;

    public double? FloorRatio => LatencyMs is > 0 && Floor is { Milliseconds: > 0 } f ? LatencyMs / f.Milliseconds : null;

    public string StatusText => Status?.ToString() ?? "NO_VERDICT";

    /// <summary>What the gaps between the candidate's own launches cost: GPU span minus the sum of its kernels' times.</summary>
    public double? LaunchGapsMs => LatencyMs is { } span && KernelSumMs is { } busy ? Math.Max(0, span - busy) : null;
}

/// <summary>
/// The host time to issue timed calls (the candidate's entry point, its launches included), in
/// microseconds: the call whose timeline is reported (<see cref="MedianCallUs"/>), the longest of
/// the trial (<see cref="MaxUs"/>) and that call's place among the timed calls (<see cref="MaxCall"/>,
/// from 0). A call whose timeline shows gaps between launches and a long issue time was waiting for
/// the host, not for its own kernels.
/// </summary>
public sealed record HostIssue(double MedianCallUs, double MaxUs, int MaxCall)
{
    /// <summary>From one timed trial's spans and issue times (same order), or null when they do not pair up.</summary>
    public static HostIssue? Of(IReadOnlyList<double>? spans, IReadOnlyList<double>? issueUs)
    {
        if (spans is not { Count: > 0 } || issueUs is not { } issue || issue.Count != spans.Count)
        {
            return null;
        }
        var longest = Enumerable.Range(0, issue.Count).MaxBy(i => issue[i]);
        return new HostIssue(issue[Statistics.MedianIndex(spans)], issue[longest], longest);
    }
}
