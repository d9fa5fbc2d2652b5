namespace AgentForge.Tests.Agents;

/// <summary>Where the tests find the repository, the built agentforge and scratch folders.</summary>
internal static class AgentPaths
{
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgentForge.sln")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException("AgentForge.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>agentforge.dll, built beside the tests (the orchestrator is a project reference).</summary>
    public static string AgentForgeDll => Path.Combine(AppContext.BaseDirectory, "agentforge.dll");

    /// <summary>A worker template that starts the real worker of this build (not the test host).</summary>
    public static string WorkerTemplate => $"dotnet {AgentForgeDll} worker --gpu {{gpu}}";

    public static bool HasGpuDriver => File.Exists("/dev/nvidiactl");

    public static string SnapshotPath(string name) => Path.Combine(RepositoryRoot(), "tests", "AgentForge.Tests", "Agents", "Snapshots", name);

    public static string FibToolSchemas => Path.Combine(Trace.SharedData.SchemasRoot, "agent_tool_schemas.json");
}
