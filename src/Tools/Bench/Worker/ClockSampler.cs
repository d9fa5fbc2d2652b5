using AgentForge.Tools.Cuda;

namespace AgentForge.Tools.Bench.Worker;

/// <summary>
/// What NVML said of the SM clock while a trial's timed calls ran: the median and lowest reading, how
/// many readings there were, and the share of readings each clock limit held (e.g. "power cap 97%"),
/// null when none did. NVML reports the clock domain's setting and the slower limits (power cap,
/// thermal); it does not see the fast slowdown of a kernel under heavy tensor load (H100, 2026-11-28:
/// 1980 MHz read through a MoE bench whose GEMMs ncu measured at 1.59 GHz). So a lower reading
/// explains a slower round; an unchanged one does not prove the kernels ran at that clock.
/// </summary>
public sealed record ClockSummary(double MedianMhz, double MinMhz, int Samples, string? Limits)
{
    /// <summary>The summary of <paramref name="samples"/>, or null when there are none.</summary>
    public static ClockSummary? Of(IReadOnlyList<ClockSample> samples)
    {
        if (samples.Count == 0)
        {
            return null;
        }
        var mhz = samples.Select(s => (double)s.SmMhz).ToList();
        var limits = ClockLimitReasons.All
            .Select(limit => (limit.Name, Share: samples.Count(s => (s.Reasons & limit.Bit) != 0) / (double)samples.Count))
            .Where(limit => limit.Share > 0)
            .Select(limit => $"{limit.Name} {Math.Round(100 * limit.Share):0}%")
            .ToList();
        return new ClockSummary(Statistics.Median(mhz), mhz.Min(), samples.Count, limits.Count > 0 ? string.Join(", ", limits) : null);
    }

    /// <summary>A workload's trials as one: the median of their medians, the lowest reading, every
    /// reading counted, the first trial's limits that has any; null when no trial has a summary.</summary>
    public static ClockSummary? Merge(IReadOnlyList<ClockSummary> trials) =>
        trials.Count == 0
            ? null
            : new ClockSummary(Statistics.Median(trials.Select(t => t.MedianMhz).ToList()), trials.Min(t => t.MinMhz),
                trials.Sum(t => t.Samples), trials.Select(t => t.Limits).FirstOrDefault(l => l is not null));

    /// <summary>The summary a worker's response carries, or null when it has no clock.</summary>
    public static ClockSummary? FromResponse(WorkerResponse response) =>
        response is { SmClockMhz: { } median, SmClockMinMhz: { } min, ClockSamples: { } samples }
            ? new ClockSummary(median, min, samples, response.ClockLimits)
            : null;
}

/// <summary>
/// Reads the SM clock through NVML about once a millisecond on a thread of its own, from
/// <see cref="Start"/> until <see cref="Stop"/>: around a trial's timed calls, which the host issues
/// ahead of the GPU and then waits for, so the readings fall while they run.
/// </summary>
internal sealed class ClockSampler
{
    private readonly Nvml nvml;
    private readonly List<ClockSample> samples = [];
    private readonly Thread thread;
    private volatile bool stopping;
    private ClockSummary? summary;

    private ClockSampler(Nvml nvml)
    {
        this.nvml = nvml;
        thread = new Thread(Read) { IsBackground = true, Name = "clock sampler" };
        thread.Start();
    }

    /// <summary>A running sampler, or null without NVML.</summary>
    public static ClockSampler? Start(Nvml? nvml) => nvml is null ? null : new ClockSampler(nvml);

    /// <summary>Stops reading and summarizes what was read (null: no reading); again, the same summary.</summary>
    public ClockSummary? Stop()
    {
        if (!stopping)
        {
            stopping = true;
            thread.Join();
            summary = ClockSummary.Of(samples);
        }
        return summary;
    }

    private void Read()
    {
        // At least one reading, also for a trial shorter than the interval.
        do
        {
            if (nvml.TryRead(out var sample))
            {
                samples.Add(sample);
            }
            Thread.Sleep(1);
        }
        while (!stopping);
    }
}
