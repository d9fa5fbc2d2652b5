using System.Text.RegularExpressions;
using AgentForge.Tools.Build;

namespace AgentForge.Tests.Build;

public sealed partial class BaselineManifestTests
{
    [GeneratedRegex("""^\s*#\s*include\s+"([^"]+)"\s*$""", RegexOptions.Multiline)]
    private static partial Regex QuotedInclude();

    /// <summary>
    /// A header beside a kernel that the manifest does not list is left out of the build and the
    /// packed solution (session 35: recurrent.cuh broke the GDN prefill's packing with a null
    /// reference). Every quoted include of a listed source is listed, or lives in include/.
    /// </summary>
    [Fact]
    public void Every_header_a_baseline_source_includes_beside_it_is_in_the_manifest()
    {
        var root = BaselineCatalog.Locate(null, null);
        Assert.NotNull(root);
        var catalog = BaselineCatalog.Load(root);
        Assert.True(catalog.IsOk, string.Join("\n", catalog.Errors));
        var missing = new List<string>();
        foreach (var entry in catalog.Value!.Entries)
        {
            var listed = entry.Sources.Concat(entry.OptionalSources ?? []).ToHashSet(StringComparer.Ordinal);
            foreach (var source in entry.Sources)
            {
                var folder = Path.GetDirectoryName(source) ?? "";
                var text = File.ReadAllText(Path.Combine(root, source));
                foreach (Match include in QuotedInclude().Matches(text))
                {
                    var header = include.Groups[1].Value;
                    var beside = Path.Combine(folder, header).Replace('\\', '/');
                    var shared = File.Exists(Path.Combine(catalog.Value.IncludeDirectory, header));
                    if (!shared && !listed.Contains(beside))
                    {
                        missing.Add($"{entry.Definition}: {source} includes \"{header}\", which manifest.json does not list");
                    }
                }
            }
        }

        Assert.True(missing.Count == 0, string.Join("\n", missing));
    }
}
