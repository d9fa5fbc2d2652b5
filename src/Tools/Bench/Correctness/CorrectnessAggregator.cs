using System.Globalization;
using System.Text.Json.Nodes;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// Folds the trials of one (candidate, workload) into a verdict, as FlashInfer-Bench's
/// <c>check_correctness</c> does: a tolerance failure keeps going and the worst error over all
/// trials and outputs is reported; a stopping failure (shape, dtype, non-finite candidate values,
/// invalid indices) ends the evaluation with that trial's status and errors.
/// <see cref="Correctness.Extra"/> adds what FlashInfer-Bench computes but does not keep: the worst
/// matched ratio, the settings used, and the worst figures per output.
/// </summary>
public sealed class CorrectnessAggregator(EvaluationSettings settings)
{
    private readonly List<TrialComparison> _trials = [];

    public EvaluationSettings Settings { get; } = settings;

    public IReadOnlyList<TrialComparison> Trials => _trials;

    /// <summary>True once a trial failed in a way that makes further trials pointless.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Records a trial; returns whether further trials should run.</summary>
    public bool Add(TrialComparison trial)
    {
        if (Stopped)
        {
            throw new InvalidOperationException("the evaluation already stopped at an earlier trial");
        }
        _trials.Add(trial);
        Stopped = trial.StopsEvaluation;
        return !Stopped;
    }

    public CorrectnessVerdict Verdict()
    {
        if (_trials.Count == 0)
        {
            throw new InvalidOperationException("no trial was compared");
        }
        var log = string.Join('\n', _trials.SelectMany(t => t.Outputs.Select(o => $"trial {t.Trial}: {o.Log}")));
        if (Stopped)
        {
            var trial = _trials[^1];
            var stop = trial.Outputs.First(o => o.StopsEvaluation);
            var correctness = stop.MaxAbsoluteError is { } abs && stop.MaxRelativeError is { } rel
                ? new Correctness(rel, abs, Extra(stopAt: (trial.Trial, stop.Output)))
                : null;
            return new CorrectnessVerdict(stop.Status, correctness, log);
        }

        var checks = _trials.SelectMany(t => t.Outputs).ToList();
        var maxAbs = checks.Max(c => c.MaxAbsoluteError ?? 0);
        var maxRel = checks.Max(c => c.MaxRelativeError ?? 0);
        var status = checks.All(c => c.Passed) ? EvaluationStatus.PASSED : EvaluationStatus.INCORRECT_NUMERICAL;
        return new CorrectnessVerdict(status, new Correctness(maxRel, maxAbs, Extra(stopAt: null)), log);
    }

    private JsonObject Extra((int Trial, string Output)? stopAt)
    {
        var perOutput = new JsonObject();
        foreach (var group in _trials.SelectMany(t => t.Outputs).Where(o => o.Stats is not null).GroupBy(o => o.Output))
        {
            perOutput[group.Key] = new JsonObject
            {
                ["max_absolute_error"] = Number(group.Max(o => o.Stats!.MaxAbsoluteError)),
                ["max_relative_error"] = Number(group.Max(o => o.Stats!.MaxRelativeError)),
                ["matched_ratio"] = Number(group.Min(o => o.Stats!.MatchedRatio)),
                ["matched_ratio_at_default_tolerance"] = MinOrNull(group.Select(o => o.MatchedRatioAtDefaultTolerance)),
            };
        }
        var ratios = _trials.SelectMany(t => t.Outputs).Where(o => o.Stats is not null).Select(o => o.Stats!.MatchedRatio).ToList();
        var extra = new JsonObject
        {
            ["matched_ratio"] = ratios.Count > 0 ? Number(ratios.Min()) : null,
            ["matched_ratio_at_default_tolerance"] = MinOrNull(_trials.SelectMany(t => t.Outputs).Select(o => o.MatchedRatioAtDefaultTolerance)),
            ["required_matched_ratio"] = Number(Settings.RequiredMatchedRatio),
            ["atol"] = Number(Settings.Atol),
            ["rtol"] = Number(Settings.Rtol),
            ["trials"] = _trials.Count,
            ["outputs"] = perOutput,
        };
        if (stopAt is { } stop)
        {
            extra["stopped_at"] = new JsonObject { ["trial"] = stop.Trial, ["output"] = stop.Output };
        }
        return extra;
    }

    private static JsonNode? MinOrNull(IEnumerable<double?> values)
    {
        var present = values.OfType<double>().ToList();
        return present.Count > 0 ? Number(present.Min()) : null;
    }

    /// <summary>JSON has no inf or NaN: they are written as FlashInfer-Bench's trace strings.</summary>
    private static JsonNode Number(double value) => value switch
    {
        double.PositiveInfinity => JsonValue.Create("Infinity"),
        double.NegativeInfinity => JsonValue.Create("-Infinity"),
        _ when double.IsNaN(value) => JsonValue.Create("NaN"),
        _ => JsonValue.Create(value),
    };
}
