using System.Text.RegularExpressions;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Build;

/// <summary>A kernel parameter the tuner may set: its name, allowed values and default.</summary>
public sealed record TunableParameter(string Name, IReadOnlyList<string> Values, string Default, string SourcePath, int Line);

/// <summary>
/// Reads tunable parameters declared in kernel sources, one per line:
/// <code>// @tunable BLOCK_V: 16, 32, 64 (default 32)</code>
/// followed by an <c>#ifndef BLOCK_V / #define BLOCK_V 32 / #endif</c> guard, so the source
/// compiles on its own with the default and the tuner sets another value with -DBLOCK_V=64.
/// </summary>
public static partial class TunableParameters
{
    [GeneratedRegex(@"^\s*//\s*@tunable\s+(?<name>[A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?<values>[^()]+?)\s*(\(\s*default\s+(?<default>[^)\s]+)\s*\))?\s*$")]
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
                if (!lines[i].Contains("@tunable", StringComparison.Ordinal))
                {
                    continue;
                }
                var match = Declaration().Match(lines[i].TrimEnd('\r'));
                if (!match.Success)
                {
                    errors.Add(new DataError(source.Path, i + 1, "@tunable", "expected '// @tunable NAME: v1, v2, ... (default v)'"));
                    continue;
                }
                var name = match.Groups["name"].Value;
                var values = match.Groups["values"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                var fallback = match.Groups["default"].Success ? match.Groups["default"].Value : values.FirstOrDefault() ?? "";
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
                found.Add(new TunableParameter(name, values, fallback, source.Path, i + 1));
            }
        }
        return errors.Count > 0 ? DataResult<IReadOnlyList<TunableParameter>>.Fail(errors) : DataResult<IReadOnlyList<TunableParameter>>.Ok(found);
    }

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
