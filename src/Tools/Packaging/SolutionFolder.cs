using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// A solution as a folder of files, FlashInfer-Bench's agents' convention
/// (pack_solution_from_files / extract_solution_to_files): every source file under the folder at
/// its relative path, plus manifest.json (see <see cref="SolutionManifest"/>) for what the files
/// cannot say. Extracting a packed solution and packing the folder again gives the same bytes.
/// </summary>
public static class SolutionFolder
{
    /// <summary>
    /// The candidate in <paramref name="directory"/>: source files (<see cref="PackLayout.SourceExtensions"/>,
    /// hidden files and folders skipped) sorted by path, and the manifest's metadata. The kernel
    /// entry defaults to "run", the name to the folder's.
    /// </summary>
    public static DataResult<PackInput> Read(string directory, string definitionName)
    {
        if (!Directory.Exists(directory))
        {
            return new DataError(directory, null, "--solution", "folder does not exist");
        }
        var manifestPath = Path.Combine(directory, PackLayout.ManifestFile);
        var manifest = new SolutionManifest();
        if (File.Exists(manifestPath))
        {
            var read = SolutionManifest.Read(manifestPath);
            if (!read.IsOk)
            {
                return DataResult<PackInput>.Fail(read.Errors);
            }
            manifest = read.Value;
        }
        if (manifest.Definition is { } named && named != definitionName)
        {
            return new DataError(manifestPath, null, "definition", $"the folder holds a solution for '{named}', not '{definitionName}'");
        }
        List<SourceFile> sources;
        try
        {
            sources = [.. SourcePaths(directory).Select(relative => new SourceFile(relative, File.ReadAllText(Path.Combine(directory, relative))))];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new DataError(directory, null, "(files)", e.Message);
        }
        if (sources.Count == 0)
        {
            return new DataError(directory, null, "--solution", $"no source files ({string.Join(", ", PackLayout.SourceExtensions)}) in the folder");
        }
        var target = manifest.Target is { } t && t != SolutionManifest.Portable ? t : null;
        var candidate = new CandidateSource(
            manifest.Name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))),
            definitionName,
            sources,
            manifest.Entry ?? PackLayout.EntrySymbol,
            target is not null && PackedSolution.IsArchSpecificTarget(target) ? TargetKind.ArchSpecific : TargetKind.Portable,
            manifest.Defines is { Count: > 0 } defines ? defines : null);
        return DataResult<PackInput>.Ok(new PackInput(
            candidate,
            manifest.Author,
            manifest.Description,
            target is not null && PackedSolution.IsArchSpecificTarget(target) ? target : null,
            manifest.Flags));
    }

    /// <summary>Relative paths ('/' separated, ordinal order) of the source files under a folder.</summary>
    public static IReadOnlyList<string> SourcePaths(string directory)
    {
        var root = Path.GetFullPath(directory);
        var paths = new List<string>();
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            foreach (var entry in Directory.EnumerateFileSystemEntries(current))
            {
                var name = Path.GetFileName(entry);
                if (name.StartsWith('.'))
                {
                    continue;
                }
                if (Directory.Exists(entry))
                {
                    pending.Push(entry);
                }
                else if (PackLayout.IsSource(name))
                {
                    paths.Add(Path.GetRelativePath(root, entry).Replace(Path.DirectorySeparatorChar, '/'));
                }
            }
        }
        paths.Sort(StringComparer.Ordinal);
        return paths;
    }

    /// <summary>
    /// Writes the solution into a new folder <paramref name="parent"/>/&lt;name&gt; (FlashInfer-Bench's
    /// layout): its sources, manifest.json and SOLUTION.md. Refuses a non-empty folder, whose
    /// stale files would be packed along.
    /// </summary>
    public static DataResult<string> Extract(Solution solution, string parent, string file)
    {
        var problems = SolutionRules.Check(solution, file);
        if (problems.Count > 0)
        {
            return DataResult<string>.Fail(problems);
        }
        var folder = Path.Combine(parent, FolderName(solution.Name));
        try
        {
            if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
            {
                return new DataError(folder, null, "DIR", "already exists and is not empty; extract into another folder or remove it");
            }
            Directory.CreateDirectory(folder);
            foreach (var source in solution.Sources)
            {
                var path = Path.Combine(folder, source.Path.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, source.Content);
            }
            File.WriteAllText(Path.Combine(folder, PackLayout.ManifestFile), ManifestOf(solution).Write());
            File.WriteAllText(Path.Combine(folder, PackLayout.MetadataFile), Metadata(solution));
            return DataResult<string>.Ok(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new DataError(folder, null, "(files)", e.Message);
        }
    }

    public static SolutionManifest ManifestOf(Solution solution) => new(
        solution.Name,
        solution.Definition,
        solution.Author,
        solution.Description,
        PackedSolution.KernelEntry(solution),
        PackedSolution.ArchSpecificTarget(solution) ?? SolutionManifest.Portable,
        solution.Spec.Binding);

    /// <summary>The solution name as a folder name: anything but letters, digits, '.', '-' and '_' becomes '_'.</summary>
    public static string FolderName(string name)
    {
        var safe = new string([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_')]);
        return safe is "" or "." or ".." ? "solution" : safe;
    }

    /// <summary>SOLUTION.md as FlashInfer-Bench's extract_solution_to_files writes it: metadata, build spec, file list.</summary>
    public static string Metadata(Solution solution)
    {
        var text = new StringBuilder();
        text.AppendLine($"# {solution.Name}");
        text.AppendLine();
        text.AppendLine($"**Definition:** {solution.Definition}");
        text.AppendLine($"**Author:** {solution.Author}");
        text.AppendLine();
        text.AppendLine("## Description");
        text.AppendLine();
        text.AppendLine(string.IsNullOrEmpty(solution.Description) ? "_No description provided._" : solution.Description);
        text.AppendLine();
        text.AppendLine("## Build Specification");
        text.AppendLine();
        text.AppendLine("```json");
        text.AppendLine(SpecJson(solution.Spec));
        text.AppendLine("```");
        text.AppendLine();
        text.AppendLine("## Source Files");
        text.AppendLine();
        foreach (var source in solution.Sources)
        {
            text.AppendLine($"- `{source.Path}`");
        }
        return text.ToString();
    }

    private static string SpecJson(BuildSpec spec)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 2, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("language", spec.Language);
            w.WriteStartArray("target_hardware");
            foreach (var target in spec.TargetHardware)
            {
                w.WriteStringValue(target);
            }
            w.WriteEndArray();
            w.WriteString("entry_point", spec.EntryPoint);
            w.WriteStartArray("dependencies");
            foreach (var dependency in spec.Dependencies)
            {
                w.WriteStringValue(dependency);
            }
            w.WriteEndArray();
            w.WriteBoolean("destination_passing_style", spec.DestinationPassingStyle);
            if (spec.Binding is null)
            {
                w.WriteNull("binding");
            }
            else
            {
                w.WriteString("binding", spec.Binding);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
