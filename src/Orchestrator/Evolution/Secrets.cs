namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// API keys live in this process's memory only. <see cref="TakeApiKey"/> reads the key and then
/// deletes it, and every other *_API_KEY variable, from the process environment, which children
/// inherit: the GPU worker, nvcc, compute-sanitizer, ncu and the oracle (and so the candidates
/// they load) never see a key.
/// </summary>
public static class Secrets
{
    public static readonly IReadOnlyList<string> KeyVariables = ["AGENTFORGE_API_KEY", "OPENAI_API_KEY"];

    public static string? TakeApiKey()
    {
        string? key = null;
        foreach (var name in KeyVariables)
        {
            key ??= Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
        }
        ScrubEnvironment();
        return key;
    }

    /// <summary>Removes every variable that looks like a credential from the environment children inherit.</summary>
    public static void ScrubEnvironment()
    {
        foreach (var name in Environment.GetEnvironmentVariables().Keys.OfType<string>().Where(IsSecretName).ToList())
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    public static bool IsSecretName(string name) =>
        KeyVariables.Contains(name, StringComparer.OrdinalIgnoreCase)
        || name.EndsWith("_API_KEY", StringComparison.OrdinalIgnoreCase);
}
