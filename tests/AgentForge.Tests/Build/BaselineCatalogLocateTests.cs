using AgentForge.Tools.Build;

namespace AgentForge.Tests.Build;

public sealed class BaselineCatalogLocateTests
{
    [Fact]
    public void An_explicit_folder_wins_over_the_environment_which_wins_over_the_packed_copy()
    {
        Assert.Equal("/explicit", BaselineCatalog.Locate("/explicit", "/from-env"));
        Assert.Equal("/from-env", BaselineCatalog.Locate(null, "/from-env"));
        Assert.Equal("/from-env", BaselineCatalog.Locate("", "/from-env"));
    }

    [Fact]
    public void Without_either_it_falls_back_to_a_folder_with_a_manifest()
    {
        var found = BaselineCatalog.Locate(null, null);
        Assert.NotNull(found);
        Assert.True(File.Exists(Path.Combine(found, "manifest.json")), found);
        Assert.Equal(found, BaselineCatalog.Locate(null, ""));
    }

    [Fact]
    public void An_optional_source_joins_the_candidate_only_when_the_file_exists()
    {
        var root = Directory.CreateTempSubdirectory("afg-catalog-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "d"));
            File.WriteAllText(Path.Combine(root, "d", "kernel.cu"), "// kernel");
            File.WriteAllText(Path.Combine(root, "manifest.json"), """
                {"baselines": [{"definition": "d", "name": "d_baseline", "sources": ["d/kernel.cu"],
                  "optional_sources": ["d/side.h"], "entry_point": "d/kernel.cu::run", "target": "portable"}]}
                """);
            var catalog = BaselineCatalog.Load(root);
            Assert.True(catalog.IsOk);
            var entry = catalog.Value!.For("d")!;

            var without = catalog.Value.Candidate(entry);
            File.WriteAllText(Path.Combine(root, "d", "side.h"), "// generated");
            var with = catalog.Value.Candidate(entry);

            Assert.Equal(["d/kernel.cu"], without.Sources.Select(s => s.Path));
            Assert.Equal(["d/kernel.cu", "d/side.h"], with.Sources.Select(s => s.Path));
            Assert.Equal("// generated", with.Sources[1].Content);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
