using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Build;

public sealed class NvccBuilderTests
{
    private static CandidateSource Candidate(string content, IReadOnlyDictionary<string, string>? defines = null) =>
        new("c", "d", [new SourceFile("kernel.cu", content)], Defines: defines);

    [Fact]
    public void Hopper_targets_use_the_a_suffix_only_when_asked()
    {
        Assert.Equal("sm_90a", NvccBuilder.Architecture(9, 0, TargetKind.ArchSpecific));
        Assert.Equal("sm_90", NvccBuilder.Architecture(9, 0, TargetKind.Portable));
        Assert.Contains("-gencode=arch=compute_90a,code=sm_90a", NvccBuilder.Flags("sm_90a", null, null));
    }

    [Fact]
    public void Defines_are_passed_in_a_stable_order()
    {
        var flags = NvccBuilder.Flags("sm_90", new Dictionary<string, string> { ["TILE"] = "64", ["STAGES"] = "3" }, null);
        Assert.True(flags.ToList().IndexOf("-DSTAGES=3") < flags.ToList().IndexOf("-DTILE=64"));
    }

    [Fact]
    public void The_cache_key_changes_with_sources_flags_toolkit_and_header()
    {
        var flags = NvccBuilder.Flags("sm_90", null, null);
        var key = NvccBuilder.CacheKey(Candidate("a"), "shim", flags, "nvcc 13.0", "header");
        Assert.Equal(key, NvccBuilder.CacheKey(Candidate("a"), "shim", flags, "nvcc 13.0", "header"));
        Assert.NotEqual(key, NvccBuilder.CacheKey(Candidate("b"), "shim", flags, "nvcc 13.0", "header"));
        Assert.NotEqual(key, NvccBuilder.CacheKey(Candidate("a"), "shim2", flags, "nvcc 13.0", "header"));
        Assert.NotEqual(key, NvccBuilder.CacheKey(Candidate("a"), "shim", NvccBuilder.Flags("sm_90a", null, null), "nvcc 13.0", "header"));
        Assert.NotEqual(key, NvccBuilder.CacheKey(Candidate("a"), "shim", flags, "nvcc 13.1", "header"));
        Assert.NotEqual(key, NvccBuilder.CacheKey(Candidate("a"), "shim", flags, "nvcc 13.0", "header v2"));
    }

    [Fact]
    public void The_include_folder_text_holds_every_shared_header_and_is_the_contract_header_alone_without_them()
    {
        var folder = Directory.CreateTempSubdirectory("afg-include-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "agentforge.h"), "contract");
            Assert.Equal("contract", NvccBuilder.IncludeFolderText(folder));  // the keys of builds before shared headers stay valid

            File.WriteAllText(Path.Combine(folder, "afg_mma.cuh"), "mma v1");
            var withShared = NvccBuilder.IncludeFolderText(folder);
            Assert.Equal("contract\0afg_mma.cuh\0mma v1", withShared);

            File.WriteAllText(Path.Combine(folder, "afg_mma.cuh"), "mma v2");
            Assert.NotEqual(withShared, NvccBuilder.IncludeFolderText(folder));  // an edited shared header rebuilds
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("../escape.cu")]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../b.cu")]
    public void Source_paths_may_not_leave_the_build_folder(string path) =>
        Assert.Throws<ArgumentException>(() => NvccBuilder.SafeJoin("/tmp/build", path));

    [Fact]
    public async Task A_missing_compiler_is_a_compile_error_with_a_clear_log()
    {
        var cache = Directory.CreateTempSubdirectory("afg-build-").FullName;
        var builder = new NvccBuilder(new NvccOptions(cache, cache, NvccPath: "/nonexistent/nvcc"));
        var definition = new Definition("d", "op", [], [], [], "def run(): pass", [], null, []);
        var result = await builder.BuildAsync(Candidate("__global__ void k() {}"), definition, "sm_90", TestContext.Current.CancellationToken);
        Assert.False(result.Succeeded);
        Assert.Contains("could not start '/nonexistent/nvcc'", result.Log);
    }
}
