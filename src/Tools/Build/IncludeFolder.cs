namespace AgentForge.Tools.Build;

/// <summary>
/// The harness's include folder (src/Kernels.Baseline/include, on nvcc's include path for every
/// candidate): the contract header agentforge.h, and shared headers a kernel may include beside it.
/// The build cache key covers all of it; packing bundles the shared headers a solution includes.
/// </summary>
public static class IncludeFolder
{
    /// <summary>The contract header's file name, at the folder's root.</summary>
    public const string ContractHeader = "agentforge.h";

    /// <summary>Every file of the folder but the contract header, by its '/'-separated path within it, sorted by path.</summary>
    public static SortedDictionary<string, string> SharedFiles(string directory)
    {
        var shared = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(directory))
        {
            return shared;
        }
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            var path = Path.GetRelativePath(directory, file).Replace('\\', '/');
            if (path != ContractHeader)
            {
                shared[path] = File.ReadAllText(file);
            }
        }
        return shared;
    }
}
