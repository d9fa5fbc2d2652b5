using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>Resolves blob paths of a workload (relative to the dataset root) and keeps them inside it.</summary>
public static class BlobPaths
{
    public static DataResult<string> Resolve(string datasetRoot, SafetensorsInput input, WorkloadEntry entry, string inputName)
    {
        var root = Path.GetFullPath(datasetRoot);
        if (Path.IsPathRooted(input.Path))
        {
            return new DataError(entry.SourceFile, entry.SourceLine, $"workload.inputs.{inputName}.path",
                $"'{input.Path}' is absolute; blob paths are relative to the dataset root");
        }
        var full = Path.GetFullPath(Path.Combine(root, input.Path));
        var relative = Path.GetRelativePath(root, full);
        if (relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            return new DataError(entry.SourceFile, entry.SourceLine, $"workload.inputs.{inputName}.path",
                $"'{input.Path}' points outside the dataset root {root}");
        }
        return DataResult<string>.Ok(full);
    }
}
