using AgentForge.Tools.Build;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// The built-in generator, no model needed: a local search over the tunable parameters that
/// kernel sources declare (<c>// @tunable NAME: v1, v2 (default v)</c>). Each generation it
/// proposes, per definition, neighbours of the champions' settings (one parameter moved one step)
/// and, when the neighbourhood is spent, random restarts; settings already evaluated are never
/// proposed again. The loop keeps what measures faster, so the search climbs from the champion.
/// Deterministic for a seed and a history, hence the same after a resume.
/// </summary>
public sealed class TunerGenerator(int perDefinition, ulong seed) : ICandidateGenerator
{
    private const int RestartAttempts = 64;

    private readonly HashSet<string> seen = [];

    public string Name => "tuner";

    public void Observe(CandidateRecord record) => seen.Add(record.Hash);

    public Task<GenerationProposal> ProposeAsync(GenerationContext context, CancellationToken cancellationToken)
    {
        var random = new Random(unchecked((int)(seed * 0x9E3779B97F4A7C15UL ^ (ulong)context.Generation)));
        var proposals = new List<ProposedCandidate>();
        var notes = new List<string>();
        foreach (var task in context.Problem.Definitions)
        {
            var parents = Parents(context, task);
            var (parameters, error) = Declared(parents[0].Source);
            if (parameters is null)
            {
                notes.Add($"{task.Name}: {error}");
                continue;
            }
            var picked = new List<ProposedCandidate>();
            var neighbours = parents
                .SelectMany(parent => Neighbours(parameters, Setting(parameters, parent.Source)).Select(setting => (parent, setting)))
                .OrderBy(_ => random.Next())
                .ToList();
            foreach (var (parent, setting) in neighbours)
            {
                if (picked.Count >= perDefinition)
                {
                    break;
                }
                TryAdd(picked, task.Name, parent, parameters, setting, "neighbour");
            }
            for (var attempt = 0; picked.Count < perDefinition && attempt < RestartAttempts; attempt++)
            {
                var restart = parameters.ToDictionary(p => p.Name, p => p.Values[random.Next(p.Values.Count)]);
                TryAdd(picked, task.Name, parents[0], parameters, restart, "random restart");
            }
            if (picked.Count == 0)
            {
                notes.Add($"{task.Name}: every setting near the champions has been evaluated");
            }
            proposals.AddRange(picked);
        }
        var note = notes.Count > 0 ? string.Join("; ", notes) : null;
        return Task.FromResult(new GenerationProposal(proposals, proposals.Count == 0, note));
    }

    private void TryAdd(List<ProposedCandidate> picked, string definition, ChampionView parent, IReadOnlyList<TunableParameter> parameters, IReadOnlyDictionary<string, string> setting, string how)
    {
        // Defaults are left out, so the untouched baseline and "every parameter at its default" are the same code;
        // so are parameters without effect under this setting (a 'when' condition that does not hold).
        var defines = TunableParameters.Effective(parameters, setting)
            .Where(s => parameters.First(p => p.Name == s.Key).Default != s.Value)
            .ToDictionary(s => s.Key, s => s.Value);
        var source = parent.Source with { Defines = defines.Count > 0 ? defines : null };
        var hash = CandidateHash.Of(source);
        if (!seen.Add(hash))
        {
            return;
        }
        var described = defines.Count == 0 ? "all defaults" : string.Join(", ", defines.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}={d.Value}"));
        picked.Add(new ProposedCandidate(definition, source, parent.CandidateId, Note: $"tuner {how} of {parent.CandidateId}: {described}"));
    }

    /// <summary>The definition-wide champion first, then band champions (a band may prefer other settings); the baseline when there is none.</summary>
    private static IReadOnlyList<ChampionView> Parents(GenerationContext context, DefinitionTask task)
    {
        var parents = new List<ChampionView>();
        if (context.Champions.Best(task.Name) is { } overall)
        {
            parents.Add(overall);
        }
        foreach (var band in WorkloadBands.Names(task.Name))
        {
            if (context.Champions.Best(task.Name, band) is { } champion && parents.All(p => p.CandidateId != champion.CandidateId))
            {
                parents.Add(champion);
            }
        }
        if (parents.Count == 0)
        {
            parents.Add(new ChampionView(task.Name, WorkloadBands.All, "baseline", task.Baseline, double.NaN, null, "baseline", null, 0, []));
        }
        return parents;
    }

    private static (IReadOnlyList<TunableParameter>? Parameters, string? Error) Declared(CandidateSource source)
    {
        var parsed = TunableParameters.Parse(source.Sources);
        if (!parsed.IsOk)
        {
            return (null, $"bad @tunable declarations: {string.Join("; ", parsed.Errors)}");
        }
        // Diagnostic parameters are measurement aids (their values may break results): never tuned.
        var useful = parsed.Value.Where(p => p.Values.Count > 1 && !p.Diagnostic).ToList();
        return useful.Count == 0 ? (null, "no @tunable parameters declared in its sources: nothing to tune") : (useful, null);
    }

    private static Dictionary<string, string> Setting(IReadOnlyList<TunableParameter> parameters, CandidateSource source) =>
        parameters.ToDictionary(p => p.Name, p => source.Defines?.GetValueOrDefault(p.Name) is { } value && p.Values.Contains(value) ? value : p.Default);

    /// <summary>Every setting with exactly one parameter moved one step along its declared values; a
    /// parameter without effect under the setting (its 'when' condition does not hold) is not moved.</summary>
    public static IEnumerable<Dictionary<string, string>> Neighbours(IReadOnlyList<TunableParameter> parameters, IReadOnlyDictionary<string, string> setting)
    {
        foreach (var parameter in parameters)
        {
            if (!parameter.IsActive(parameters, setting))
            {
                continue;
            }
            var index = parameter.Values.ToList().IndexOf(setting[parameter.Name]);
            foreach (var step in new[] { -1, 1 })
            {
                var next = index + step;
                if (next < 0 || next >= parameter.Values.Count)
                {
                    continue;
                }
                var moved = new Dictionary<string, string>(setting) { [parameter.Name] = parameter.Values[next] };
                yield return moved;
            }
        }
    }
}
