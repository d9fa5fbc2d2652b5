namespace AgentForge.Tools.Processes;

/// <summary>
/// What the processes AgentForge starts (nvcc, the GPU worker and the candidates it loads,
/// compute-sanitizer, ncu) may inherit. Model credentials stay in the orchestrator: a candidate is
/// code written by a model and runs inside the worker, so it must not be able to read them.
/// </summary>
public static class ChildEnvironment
{
    private static readonly string[] SecretPrefixes = ["OPENAI_", "ANTHROPIC_", "AZURE_OPENAI_", "GEMINI_", "MISTRAL_", "DEEPSEEK_", "GROQ_", "OPENROUTER_", "TOGETHER_", "COHERE_"];

    private static readonly string[] SecretSuffixes = ["_API_KEY", "_APIKEY", "_TOKEN", "_SECRET", "_SECRET_KEY", "_ACCESS_KEY", "_PASSWORD", "_CREDENTIALS"];

    private static readonly string[] SecretNames = ["API_KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD"];

    /// <summary>Whether a variable of this name may carry a credential.</summary>
    public static bool IsSecret(string name)
    {
        var upper = name.ToUpperInvariant();
        return SecretNames.Contains(upper)
            || SecretPrefixes.Any(p => upper.StartsWith(p, StringComparison.Ordinal))
            || SecretSuffixes.Any(s => upper.EndsWith(s, StringComparison.Ordinal));
    }

    /// <summary>
    /// The variables to remove from a child's environment (value null means "remove"), taken from
    /// <paramref name="current"/> (the process environment when null).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> SecretRemovals(System.Collections.IDictionary? current = null)
    {
        var removals = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in current ?? Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string name && IsSecret(name))
            {
                removals[name] = null;
            }
        }
        return removals;
    }

    /// <summary>
    /// Applies <paramref name="overrides"/> to a start-info environment (null removes the variable),
    /// then removes every secret, whatever the caller passed.
    /// </summary>
    public static void Apply(IDictionary<string, string?> target, IReadOnlyDictionary<string, string?>? overrides)
    {
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else
            {
                target[key] = value;
            }
        }
        foreach (var name in target.Keys.Where(IsSecret).ToList())
        {
            target.Remove(name);
        }
    }
}
