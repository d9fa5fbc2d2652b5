namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// The command line a run records, as a reader can rerun it elsewhere: arguments under the current
/// directory become relative, so no machine's checkout path lands in a committed report.
/// </summary>
public static class PortableCommandLine
{
    public static IReadOnlyList<string> From(IEnumerable<string> arguments, string currentDirectory)
    {
        var prefix = Path.TrimEndingDirectorySeparator(currentDirectory) + Path.DirectorySeparatorChar;
        return arguments.Select(a => a.Replace(prefix, "", StringComparison.Ordinal)).ToList();
    }
}
