using AgentForge.Orchestrator.Evolution;

namespace AgentForge.Tests.Evolution;

public sealed class PortableCommandLineTests
{
    [Fact]
    public void Arguments_under_the_current_directory_become_relative()
    {
        var recorded = PortableCommandLine.From(
            ["/srv/checkout/.device/app/agentforge.dll", "evolve", "--runs", "/srv/checkout/runs", "--cache", "/tmp/af-cache"],
            "/srv/checkout/");
        Assert.Equal([".device/app/agentforge.dll", "evolve", "--runs", "runs", "--cache", "/tmp/af-cache"], recorded);
    }

    [Fact]
    public void A_directory_that_only_shares_a_prefix_is_left_alone()
    {
        Assert.Equal(["/srv/checkout2/x"], PortableCommandLine.From(["/srv/checkout2/x"], "/srv/checkout"));
    }
}
