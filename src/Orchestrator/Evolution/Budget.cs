using System.Globalization;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>What a run may spend; any limit reached ends it. Null means no limit of that kind.</summary>
public sealed record Budget(
    TimeSpan? Time = null,
    int? Candidates = null,
    long? Tokens = null,
    double? CostUsd = null,
    double PricePer1kTokensUsd = 0)
{
    public bool IsUnlimited => Time is null && Candidates is null && Tokens is null && CostUsd is null;

    public override string ToString()
    {
        var parts = new List<string>();
        if (Time is { } t)
        {
            parts.Add($"time {t:c}");
        }
        if (Candidates is { } c)
        {
            parts.Add($"{c} candidates");
        }
        if (Tokens is { } k)
        {
            parts.Add($"{k} tokens");
        }
        if (CostUsd is { } usd)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"${usd:0.##} at ${PricePer1kTokensUsd:0.####}/1k tokens"));
        }
        return parts.Count == 0 ? "unlimited" : string.Join(", ", parts);
    }

    /// <summary>"15m", "90s", "2h", "1h30m", or a TimeSpan ("00:15:00").</summary>
    public static TimeSpan? ParseDuration(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var plain) && text.Contains(':', StringComparison.Ordinal))
        {
            return plain;
        }
        var total = TimeSpan.Zero;
        var number = "";
        foreach (var ch in text.Trim())
        {
            if (char.IsDigit(ch) || ch == '.')
            {
                number += ch;
                continue;
            }
            if (number.Length == 0 || !double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return null;
            }
            total += ch switch
            {
                'h' => TimeSpan.FromHours(value),
                'm' => TimeSpan.FromMinutes(value),
                's' => TimeSpan.FromSeconds(value),
                _ => TimeSpan.MinValue,
            };
            if (total < TimeSpan.Zero)
            {
                return null;
            }
            number = "";
        }
        if (number.Length > 0)
        {
            // A bare number is minutes: "--time 15".
            return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var minutes) ? total + TimeSpan.FromMinutes(minutes) : null;
        }
        return total;
    }
}

/// <summary>What a run has spent so far, across sessions (a resumed run carries the earlier sessions' spending).</summary>
public sealed record Spending(TimeSpan Elapsed, int Candidates, long InputTokens, long OutputTokens)
{
    public long Tokens => InputTokens + OutputTokens;

    public double CostUsd(Budget budget) => Tokens / 1000.0 * budget.PricePer1kTokensUsd;

    /// <summary>Why the budget is spent, or null while something is left.</summary>
    public string? Exhausted(Budget budget)
    {
        if (budget.Time is { } time && Elapsed >= time)
        {
            return $"time budget spent ({Elapsed:hh\\:mm\\:ss} of {time:hh\\:mm\\:ss})";
        }
        if (budget.Candidates is { } candidates && Candidates >= candidates)
        {
            return $"candidate budget spent ({Candidates} of {candidates})";
        }
        if (budget.Tokens is { } tokens && Tokens >= tokens)
        {
            return $"token budget spent ({Tokens} of {tokens})";
        }
        if (budget.CostUsd is { } cost && CostUsd(budget) >= cost)
        {
            return string.Create(CultureInfo.InvariantCulture, $"cost budget spent (${CostUsd(budget):0.####} of ${cost:0.##})");
        }
        return null;
    }

    public string Describe(Budget budget)
    {
        var parts = new List<string> { $"{Elapsed:hh\\:mm\\:ss} elapsed", $"{Candidates} candidates", $"{Tokens} tokens" };
        if (budget.PricePer1kTokensUsd > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"${CostUsd(budget):0.####}"));
        }
        return string.Join(", ", parts) + $" (budget: {budget})";
    }
}

/// <summary>How `evolve` runs: track, seed, budget, generation size, screening, gate, timing.</summary>
public sealed record EvolutionOptions(
    string Track,
    Budget Budget,
    ulong Seed = 0,
    int CandidatesPerGeneration = 4,
    int ScreeningPerBand = 1,
    GateOptions? Gate = null,
    int? Trials = null,
    double PerCallTimeoutSeconds = 10,
    double ScreenSlack = 0,
    string? Model = null,
    string? Endpoint = null,
    string? Replay = null)
{
    public GateOptions GateOptions => Gate ?? new GateOptions();
}
