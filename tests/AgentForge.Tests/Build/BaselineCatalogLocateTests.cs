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
}
