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

    [Fact]
    public void A_generated_optional_source_whose_recorded_sources_changed_is_left_out_and_said_so()
    {
        var root = Directory.CreateTempSubdirectory("afg-catalog-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "d"));
            var kernel = Path.Combine(root, "d", "kernel.cu");
            File.WriteAllText(kernel, "// kernel v1");
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(kernel)));
            File.WriteAllText(Path.Combine(root, "d", "side.h"), $"// agentforge: side-loaded PTX\n// source-sha256 kernel.cu {hash}\nstatic const char k[] = \"x\";\n");
            File.WriteAllText(Path.Combine(root, "manifest.json"), """
                {"baselines": [{"definition": "d", "name": "d_baseline", "sources": ["d/kernel.cu"],
                  "optional_sources": ["d/side.h"], "entry_point": "d/kernel.cu::run", "target": "portable"}]}
                """);
            var catalog = BaselineCatalog.Load(root).Value!;
            var entry = catalog.For("d")!;

            var current = catalog.Candidate(entry);
            var currentProblems = catalog.OptionalSourceProblems(entry);
            File.WriteAllText(kernel, "// kernel v2");
            var stale = catalog.Candidate(entry);

            Assert.Equal(["d/kernel.cu", "d/side.h"], current.Sources.Select(s => s.Path));
            Assert.Empty(currentProblems);
            Assert.Equal(["d/kernel.cu"], stale.Sources.Select(s => s.Path));
            Assert.Equal("d/side.h left out: kernel.cu changed since it was generated (regenerate it)", Assert.Single(catalog.OptionalSourceProblems(entry)));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
