namespace AgentForge.Tools.Processes;

/// <summary>Finds a tool the way a shell would, so a missing one is a clear message before any work starts.</summary>
public static class ExecutableLocator
{
    /// <summary>The full path of <paramref name="name"/> (a path, or a name looked up on PATH), or null.</summary>
    public static string? Find(string name, string? pathVariable = null)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(name) ? Path.GetFullPath(name) : null;
        }
        var path = pathVariable ?? Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
