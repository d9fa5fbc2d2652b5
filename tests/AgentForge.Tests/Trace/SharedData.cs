namespace AgentForge.Tests.Trace;

/// <summary>
/// The shared FlashInfer-Trace dataset and schemas. CI clones the repository with ../shared beside
/// it and sets FIB_DATASET_PATH; a missing dataset fails the tests rather than skipping them.
/// </summary>
internal static class SharedData
{
    public static string DatasetRoot { get; } = FindDatasetRoot();

    public static string SchemasRoot { get; } = FindSchemasRoot();

    public static IEnumerable<string> DefinitionFiles =>
        Directory.EnumerateFiles(Path.Combine(DatasetRoot, "definitions"), "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    public static IEnumerable<string> WorkloadFiles =>
        Directory.EnumerateFiles(Path.Combine(DatasetRoot, "workloads"), "*.jsonl", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    private static string SharedFolder() => Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared"));

    private static string FindDatasetRoot()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("FIB_DATASET_PATH");
        var root = !string.IsNullOrEmpty(fromEnvironment) && Directory.Exists(fromEnvironment)
            ? fromEnvironment
            : Path.Combine(SharedFolder(), "flashinfer-trace");
        return Directory.Exists(Path.Combine(root, "definitions"))
            ? root
            : throw new DirectoryNotFoundException($"shared dataset not found at {root}: clone ../shared beside the repository or set FIB_DATASET_PATH");
    }

    private static string FindSchemasRoot()
    {
        string[] candidates =
        [
            Path.Combine(SharedFolder(), "flashinfer-bench-schemas"),
            Path.Combine(Path.GetDirectoryName(Path.GetFullPath(DatasetRoot))!, "flashinfer-bench-schemas"),
        ];
        return candidates.FirstOrDefault(Directory.Exists)
            ?? throw new DirectoryNotFoundException($"shared schemas not found at {string.Join(" or ", candidates)}");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgentForge.sln")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException("AgentForge.sln not found above the test binaries");
    }
}
