using System.Globalization;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Sanitizer;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>The promotion gate's knobs (EVALUATION.md, "Promotion gate").</summary>
public sealed record GateOptions(
    double FloorTolerance = 0.9,
    double MinimumImprovement = 0.01,
    double RotationSlowdownLimit = 1.5,
    int RotationSets = 2,
    int WorkloadsPerBand = 2,
    bool RequireSanitizers = true);

/// <summary>One check of the gate: its name, whether it passed, and the numbers behind it.</summary>
public sealed record GateCheck(string Name, bool Passed, string Detail);

/// <summary>A champion the challenger must beat in a band, with a way to get its library (builds are cached).</summary>
public sealed record Incumbent(string Band, Candidate Candidate, Func<CancellationToken, Task<BuildResult>> Build);

/// <summary>The gate's answer: the bands won (empty when rejected), every check, and the same-round measurements.</summary>
public sealed record GateVerdict(
    IReadOnlyList<string> PromotedBands,
    IReadOnlyList<GateCheck> Checks,
    string Reason,
    IReadOnlyList<WorkloadResult> ChallengerRemeasured,
    IReadOnlyDictionary<string, IReadOnlyList<WorkloadResult>> ChampionsRemeasured,
    IReadOnlyList<SanitizerReport> SanitizerReports)
{
    public bool Promoted => PromotedBands.Count > 0;
}

/// <summary>Challenger against champion in one band, measured in the same round.</summary>
public sealed record BandComparison(string Band, double Ratio, double Spread, double Required, bool ChallengerWins, int Workloads);

/// <summary>
/// Decides whether a correct candidate becomes champion. Known ways to fake speed each have a
/// check: a failing workload, a latency under the physical floor, outputs cached across calls
/// (two input sets in rotation: a cache shows up as wrong outputs or as a latency that jumps when
/// inputs rotate), outputs written only on the first call (outputs poisoned again before a
/// re-check after the timed calls), races and out-of-bounds accesses (the four sanitizers on the
/// smallest and largest workload), and noise (the champion is re-measured in the same round and
/// must be beaten by more than the measured run-to-run spread). Cheap checks run first; the
/// sanitizers only for a challenger that would otherwise win.
/// </summary>
public sealed class PromotionGate(ICandidateEvaluator evaluator, ISanitizer? sanitizer, GateOptions options)
{
    public static readonly IReadOnlyList<SanitizerTool> Tools = [SanitizerTool.Memcheck, SanitizerTool.Racecheck, SanitizerTool.Synccheck, SanitizerTool.Initcheck];

    public GateOptions Options => options;

    public async Task<GateVerdict> DecideAsync(
        Definition definition,
        IReadOnlyList<WorkloadEntry> workloads,
        Candidate challenger,
        BuildResult build,
        IReadOnlyList<WorkloadResult> full,
        IReadOnlyList<Incumbent> incumbents,
        EvaluatorOptions evaluation,
        CancellationToken cancellationToken)
    {
        var checks = new List<GateCheck>();
        var championsRemeasured = new Dictionary<string, IReadOnlyList<WorkloadResult>>();
        GateVerdict Reject(string name, string detail, IReadOnlyList<WorkloadResult>? remeasured = null, IReadOnlyList<SanitizerReport>? reports = null)
        {
            checks.Add(new GateCheck(name, false, detail));
            return new GateVerdict([], checks, $"{name}: {detail}", remeasured ?? [], championsRemeasured, reports ?? []);
        }

        // 1. Every workload of the definition passed.
        var missing = workloads.Select(w => w.Workload.Uuid).Except(full.Select(r => r.Uuid)).ToList();
        if (missing.Count > 0)
        {
            return Reject("all_workloads_passed", $"{missing.Count} workloads were not evaluated (first: {missing[0]})");
        }
        var failed = full.Where(r => !r.Passed).ToList();
        if (failed.Count > 0)
        {
            return Reject("all_workloads_passed", $"{failed.Count}/{full.Count} workloads failed (first: {failed[0].Uuid} {failed[0].Status})");
        }
        checks.Add(new GateCheck("all_workloads_passed", true, $"{full.Count}/{full.Count} PASSED"));

        // 2. Nothing under the floor: a kernel faster than physics is measuring something else.
        if (BelowFloor(full) is { } under)
        {
            return Reject("floor", under);
        }
        checks.Add(new GateCheck("floor", true, $"every latency >= {options.FloorTolerance:0.##} x floor; geomean {Format(ResultMath.GeomeanFloorRatio(full))} x floor"));

        // 3. Rotation and re-check after timing, on a representative subset.
        var gateSet = WorkloadBands.Representative(definition.Name, workloads, options.WorkloadsPerBand);
        var strict = evaluation with { Time = true, RotationSets = Math.Max(2, options.RotationSets), RecheckAfterTiming = true };
        var rotated = await MeasureAsync(build, definition, gateSet, strict, cancellationToken);
        var wrong = rotated.Where(r => !r.Passed).ToList();
        if (wrong.Count > 0)
        {
            return Reject("rotation_recheck", $"{wrong.Count}/{rotated.Count} workloads failed with {strict.RotationSets} input sets in rotation and a re-check of poisoned outputs after timing (first: {wrong[0].Uuid} {wrong[0].Status}: {wrong[0].Log})", rotated);
        }
        if (BelowFloor(rotated) is { } underRotated)
        {
            return Reject("floor", $"with rotated inputs: {underRotated}", rotated);
        }
        var slowdown = Statistics.GeometricMean(rotated.Select(r => r.LatencyMs!.Value / (full.First(f => f.Uuid == r.Uuid).LatencyMs ?? double.NaN)));
        if (double.IsFinite(slowdown) && slowdown > options.RotationSlowdownLimit)
        {
            return Reject("rotation_consistency", $"{slowdown:0.##}x slower when inputs rotate (limit {options.RotationSlowdownLimit:0.##}x): outputs cached across calls", rotated);
        }
        checks.Add(new GateCheck("rotation_recheck", true, $"{rotated.Count} workloads PASSED with {strict.RotationSets} input sets and a re-check after timing; latency ratio rotated/single {Format(slowdown)}"));

        // 4. The champions, re-measured now, under the same conditions.
        var comparisons = new List<BandComparison>();
        var bands = new List<string> { WorkloadBands.All };
        bands.AddRange(gateSet.Select(w => WorkloadBands.Of(definition.Name, w.Workload)).Distinct().Where(b => b != WorkloadBands.All));
        foreach (var group in incumbents.GroupBy(i => i.Candidate.Id))
        {
            var championBuild = await group.First().Build(cancellationToken);
            championsRemeasured[group.Key] = await MeasureAsync(championBuild, definition, gateSet, strict, cancellationToken);
        }
        var won = new List<string>();
        foreach (var band in bands)
        {
            var mine = band == WorkloadBands.All ? rotated : rotated.Where(r => r.Band == band).ToList();
            var incumbent = incumbents.FirstOrDefault(i => i.Band == band);
            if (incumbent is null)
            {
                won.Add(band);
                comparisons.Add(new BandComparison(band, double.NaN, 0, 0, true, mine.Count));
                continue;
            }
            var theirs = championsRemeasured[incumbent.Candidate.Id];
            var comparison = Compare(band, mine, band == WorkloadBands.All ? theirs : theirs.Where(r => r.Band == band).ToList(), options.MinimumImprovement);
            comparisons.Add(comparison);
            if (comparison.ChallengerWins)
            {
                won.Add(band);
            }
        }
        var table = string.Join("; ", comparisons.Select(c => double.IsNaN(c.Ratio)
            ? $"{c.Band}: no champion"
            : string.Create(CultureInfo.InvariantCulture, $"{c.Band}: {c.Ratio:0.###}x (needs < {1 - c.Required:0.###}, spread {c.Spread:0.###}, {c.Workloads} workloads)")));
        if (won.Count == 0)
        {
            return Reject("beats_champion", $"not faster than the champions re-measured in the same round by more than the spread: {table}", rotated);
        }
        checks.Add(new GateCheck("beats_champion", true, $"wins {string.Join(", ", won)}: {table}"));

        // 5. The sanitizers, last: the slowest check, run only for a would-be champion.
        var reports = new List<SanitizerReport>();
        var targets = WorkloadBands.SmallAndLarge(definition.Name, workloads);
        if (sanitizer is null)
        {
            if (options.RequireSanitizers)
            {
                return Reject("sanitizers", "no sanitizer is available (compute-sanitizer); pass --no-sanitizer to promote without it", rotated);
            }
            checks.Add(new GateCheck("sanitizers", true, "skipped (--no-sanitizer): races and out-of-bounds accesses were not looked for"));
        }
        else
        {
            foreach (var workload in targets)
            {
                foreach (var tool in Tools)
                {
                    var report = await sanitizer.RunAsync(build, definition, workload, tool, cancellationToken);
                    reports.Add(report);
                    if (!report.Clean)
                    {
                        return Reject("sanitizers", $"{tool} on {workload.Workload.Uuid}: {report.ErrorCount} errors: {report.Summary}", rotated, reports);
                    }
                }
            }
            checks.Add(new GateCheck("sanitizers", true, $"memcheck, racecheck, synccheck, initcheck clean on {string.Join(" and ", targets.Select(t => t.Workload.Uuid))}"));
        }
        return new GateVerdict(won, checks, $"promoted in {string.Join(", ", won)}", rotated, championsRemeasured, reports);
    }

    /// <summary>
    /// Challenger against champion over the same workloads: the geometric mean of the latency
    /// ratios must be below 1 - max(spread, minimum improvement), where the spread is the mean over
    /// workloads of the larger relative trial-to-trial spread of the two.
    /// </summary>
    public static BandComparison Compare(string band, IReadOnlyList<WorkloadResult> challenger, IReadOnlyList<WorkloadResult> champion, double minimumImprovement)
    {
        var pairs = challenger
            .Select(c => (Mine: c, Theirs: champion.FirstOrDefault(t => t.Uuid == c.Uuid)))
            .Where(p => p.Theirs is not null && p.Mine.LatencyMs is > 0)
            .ToList();
        if (pairs.Count == 0)
        {
            return new BandComparison(band, double.NaN, 0, minimumImprovement, false, 0);
        }
        // A champion that no longer passes has no latency to defend: any passing challenger beats it.
        if (pairs.Any(p => !p.Theirs!.Passed || p.Theirs.LatencyMs is not > 0))
        {
            return new BandComparison(band, 0, 0, minimumImprovement, true, pairs.Count);
        }
        var ratio = Statistics.GeometricMean(pairs.Select(p => p.Mine.LatencyMs!.Value / p.Theirs!.LatencyMs!.Value));
        var spread = pairs.Average(p => Math.Max(Statistics.RelativeSpread(p.Mine.TrialLatenciesMs.ToList()), Statistics.RelativeSpread(p.Theirs!.TrialLatenciesMs.ToList())));
        var required = Math.Max(spread, minimumImprovement);
        return new BandComparison(band, ratio, spread, required, ratio < 1 - required, pairs.Count);
    }

    private string? BelowFloor(IReadOnlyList<WorkloadResult> results)
    {
        var under = results.Where(r => r.LatencyMs is { } l && r.FloorMs is > 0 && l < r.FloorMs.Value * options.FloorTolerance).ToList();
        return under.Count == 0
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"suspect: {under.Count} latencies under {options.FloorTolerance:0.##} x the physical floor (first: {under[0].Uuid} {under[0].LatencyMs:0.#####} ms, floor {under[0].FloorMs:0.#####} ms)");
    }

    private async Task<IReadOnlyList<WorkloadResult>> MeasureAsync(BuildResult build, Definition definition, IReadOnlyList<WorkloadEntry> workloads, EvaluatorOptions strict, CancellationToken cancellationToken)
    {
        var outcomes = await evaluator.EvaluateAsync(build, definition, workloads, strict, cancellationToken);
        return outcomes.Select(o => WorkloadResult.From(o, WorkloadBands.Of(definition.Name, o.Workload.Workload))).ToList();
    }

    private static string Format(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.###", CultureInfo.InvariantCulture) : "-";
}
