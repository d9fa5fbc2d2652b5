namespace AgentForge.Orchestrator.Harness;

/// <summary>Where the harness finds its data and tools, and where it keeps its caches.</summary>
public sealed record HarnessOptions(
    string DatasetRoot,
    string CacheRoot,
    string? KernelsRoot = null,
    int Gpu = 0,
    string? WorkerTemplate = null,
    int OracleProcesses = 2,
    long InputCacheBytes = 24L << 30,
    string NvccPath = "nvcc",
    IReadOnlyList<int>? Gpus = null,
    TimeSpan? WorkerStartTimeout = null)
{
    /// <summary>
    /// The GPU ordinal of each worker slot: <see cref="Gpus"/> when given (--gpus), else the one
    /// <see cref="Gpu"/>. One-shot tools (sanitizer, profiler) use <see cref="Gpu"/>.
    /// </summary>
    public IReadOnlyList<int> SlotGpus => Gpus is { Count: > 0 } gpus ? gpus : [Gpu];

    public const string CacheVariable = "AGENTFORGE_CACHE";

    /// <summary>AGENTFORGE_CACHE, else ~/.cache/agentforge.</summary>
    public static string DefaultCacheRoot() =>
        Environment.GetEnvironmentVariable(CacheVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "agentforge");
}
