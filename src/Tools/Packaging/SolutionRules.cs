using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// The rules FlashInfer-Bench's Solution model enforces on top of the JSON schema (its pydantic
/// validators): entry_point is "file::symbol" with exactly one "::", the entry file is among the
/// sources, and source paths are unique, relative and free of "..".
/// </summary>
public static class SolutionRules
{
    public static IReadOnlyList<DataError> Check(Solution solution, string file)
    {
        var errors = new List<DataError>();
        var entryPoint = solution.Spec.EntryPoint;
        var separators = CountOccurrences(entryPoint, "::");
        if (separators != 1)
        {
            errors.Add(new DataError(file, null, "spec.entry_point", $"'{entryPoint}' must be '<file_path>::<function_name>' with exactly one '::' (found {separators})"));
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < solution.Sources.Count; i++)
        {
            var path = solution.Sources[i].Path;
            var field = $"sources[{i}].path";
            if (path.Length == 0)
            {
                errors.Add(new DataError(file, null, field, "must not be empty"));
                continue;
            }
            if (path.StartsWith('/') || path.StartsWith('\\') || (path.Length > 1 && path[1] == ':'))
            {
                errors.Add(new DataError(file, null, field, $"'{path}' is absolute; source paths are relative to the build folder"));
            }
            if (path.Split('/', '\\').Contains(".."))
            {
                errors.Add(new DataError(file, null, field, $"'{path}' contains '..' (parent traversal)"));
            }
            if (!seen.Add(path))
            {
                errors.Add(new DataError(file, null, field, $"duplicate source path '{path}'"));
            }
        }
        if (separators == 1)
        {
            var entryFile = entryPoint[..entryPoint.IndexOf("::", StringComparison.Ordinal)];
            if (!seen.Contains(entryFile))
            {
                errors.Add(new DataError(file, null, "spec.entry_point", $"entry file '{entryFile}' is not among the sources"));
            }
        }
        return errors;
    }

    private static int CountOccurrences(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
