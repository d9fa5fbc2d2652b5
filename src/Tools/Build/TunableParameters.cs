using System.Text.RegularExpressions;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Build;

/// <summary>A kernel parameter the tuner may set: its name, allowed values and default, and, when it
/// only matters under a setting of another parameter, that condition.</summary>
/// <remarks>A diagnostic parameter (<c>// @diagnostic NAME: 0, 1</c>) is a measurement aid: the bench
/// accepts it like any other, the tuner never sets it (its values need not keep results correct).</remarks>
public sealed record TunableParameter(string Name, IReadOnlyList<string> Values, string Default, string SourcePath, int Line,
                                      TunableCondition? When = null, bool Diagnostic = false)
{
    /// <summary>Whether the parameter changes the code under this setting (a name missing from the
    /// setting reads as its declared default; a condition on a parameter not in the list holds).
    /// Conditions chain: under <c>B when A=1</c> and <c>C when B=0</c>, C has no effect while A is 0,
    /// whatever B reads (a cycle of conditions counts as holding once every link was checked).</summary>
    public bool IsActive(IReadOnlyList<TunableParameter> declared, IReadOnlyDictionary<string, string> setting) =>
        IsActive(declared, setting, declared.Count);

    private bool IsActive(IReadOnlyList<TunableParameter> declared, IReadOnlyDictionary<string, string> setting, int linksLeft)
    {
        if (When is null || linksLeft <= 0)
        {
            return true;
        }
        var condition = declared.FirstOrDefault(p => p.Name == When.Name);
        var current = setting.GetValueOrDefault(When.Name) ?? condition?.Default;
        var holds = current is null || When.Values.Contains(current);
        return holds && (condition is null || condition.IsActive(declared, setting, linksLeft - 1));
    }
}

/// <summary>The parameter has an effect only while <see cref="Name"/> holds one of <see cref="Values"/>.</summary>
public sealed record TunableCondition(string Name, IReadOnlyList<string> Values);

/// <summary>
/// Reads tunable parameters declared in kernel sources, one per line:
/// <code>// @tunable BLOCK_V: 16, 32, 64 (default 32)</code>
/// followed by an <c>#ifndef BLOCK_V / #define BLOCK_V 32 / #endif</c> guard, so the source
/// compiles on its own with the default and the tuner sets another value with -DBLOCK_V=64.
/// A parameter read by only one implementation says so, so the tuner does not spend candidates
/// on settings that compile to the same kernel:
/// <code>// @tunable WARPS: 4, 8 (default 8) when IMPL=1</code> (or <c>when IMPL=1|2</c>).
/// <c>// @diagnostic NAME: 0, 1 (default 0)</c> declares a measurement aid in the same form (say,
/// loads switched off to time the arithmetic alone): settable in the bench, never tuned.
/// </summary>
public static partial class TunableParameters
{
    [GeneratedRegex(@"^\s*//\s*@(?<kind>tunable|diagnostic)\s+(?<name>[A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?<values>[^()]+?)\s*(\(\s*default\s+(?<default>[^)\s]+)\s*\))?(\s+when\s+(?<when>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?<whenvalues>[^\s|]+(\s*\|\s*[^\s|]+)*))?\s*$")]
    private static partial Regex Declaration();

    public static DataResult<IReadOnlyList<TunableParameter>> Parse(IEnumerable<SourceFile> sources)
    {
        var found = new List<TunableParameter>();
        var errors = new List<DataError>();
        foreach (var source in sources)
        {
            var lines = source.Content.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var tag = lines[i].Contains("@tunable", StringComparison.Ordinal) ? "@tunable"
                    : lines[i].Contains("@diagnostic", StringComparison.Ordinal) ? "@diagnostic" : null;
                if (tag is null)
                {
                    continue;
                }
                var match = Declaration().Match(lines[i].TrimEnd('\r'));
                if (!match.Success)
                {
                    errors.Add(new DataError(source.Path, i + 1, tag, $"expected '// {tag} NAME: v1, v2, ... (default v)'"));
                    continue;
                }
                var name = match.Groups["name"].Value;
                var values = match.Groups["values"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                var fallback = match.Groups["default"].Success ? match.Groups["default"].Value : values.FirstOrDefault() ?? "";
                if (values.FirstOrDefault(v => v.Any(char.IsWhiteSpace)) is { } spaced)
                {
                    errors.Add(new DataError(source.Path, i + 1, name, $"value '{spaced}' contains a space (a condition is written 'when NAME=V1|V2')"));
                    continue;
                }
                if (values.Length == 0 || !values.Contains(fallback))
                {
                    errors.Add(new DataError(source.Path, i + 1, name, $"default '{fallback}' is not one of the allowed values {string.Join(", ", values)}"));
                    continue;
                }
                if (found.Any(p => p.Name == name))
                {
                    errors.Add(new DataError(source.Path, i + 1, name, "declared twice"));
                    continue;
                }
                var condition = match.Groups["when"].Success
                    ? new TunableCondition(match.Groups["when"].Value, match.Groups["whenvalues"].Value.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    : null;
                found.Add(new TunableParameter(name, values, fallback, source.Path, i + 1, condition, match.Groups["kind"].Value == "diagnostic"));
            }
        }
        foreach (var parameter in found.Where(p => p.When is not null))
        {
            var on = found.FirstOrDefault(p => p.Name == parameter.When!.Name);
            if (on is null || on.Name == parameter.Name)
            {
                errors.Add(new DataError(parameter.SourcePath, parameter.Line, parameter.Name, $"'when {parameter.When!.Name}=...' names no other declared tunable parameter"));
            }
            else if (parameter.When!.Values.FirstOrDefault(v => !on.Values.Contains(v)) is { } bad)
            {
                errors.Add(new DataError(parameter.SourcePath, parameter.Line, parameter.Name, $"'when {on.Name}={bad}': {bad} is not one of {on.Name}'s values {string.Join(", ", on.Values)}"));
            }
        }
        return errors.Count > 0 ? DataResult<IReadOnlyList<TunableParameter>>.Fail(errors) : DataResult<IReadOnlyList<TunableParameter>>.Ok(found);
    }

    /// <summary>
    /// The setting with every parameter that has no effect under it (its condition does not hold)
    /// left out, so settings that compile to the same kernel compare and hash alike.
    /// </summary>
    public static Dictionary<string, string> Effective(IReadOnlyList<TunableParameter> declared, IReadOnlyDictionary<string, string> setting) =>
        setting.Where(s => declared.FirstOrDefault(p => p.Name == s.Key) is not { } parameter || parameter.IsActive(declared, setting))
               .ToDictionary(s => s.Key, s => s.Value);

    /// <summary>Checks a setting against the declarations: every name declared, every value allowed.</summary>
    public static string? Validate(IReadOnlyList<TunableParameter> declared, IReadOnlyDictionary<string, string> setting)
    {
        foreach (var (name, value) in setting)
        {
            var parameter = declared.FirstOrDefault(p => p.Name == name);
            if (parameter is null)
            {
                return $"'{name}' is not a declared tunable parameter (declared: {string.Join(", ", declared.Select(p => p.Name))})";
            }
            if (!parameter.Values.Contains(value))
            {
                return $"{name}={value} is not allowed (allowed: {string.Join(", ", parameter.Values)})";
            }
        }
        return null;
    }
}
