using AgentForge.Orchestrator.Commands;
using AgentForge.Tools.Build;

namespace AgentForge.Tests.Build;

/// <summary>`bench --target`: the build target that replaces a candidate's own (an sm_90a baseline's portable build, say).</summary>
public sealed class BenchTargetTests
{
    [Theory]
    [InlineData("portable", TargetKind.Portable)]
    [InlineData("PORTABLE", TargetKind.Portable)]
    [InlineData("arch_specific", TargetKind.ArchSpecific)]
    [InlineData("arch-specific", TargetKind.ArchSpecific)]
    public void Targets_are_named_as_the_agent_tools_name_them(string text, TargetKind expected)
    {
        Assert.Equal(expected, BenchCommand.ParseTarget(text, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void No_target_keeps_the_candidates_own(string? text)
    {
        Assert.Null(BenchCommand.ParseTarget(text, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("sm_90a")]
    [InlineData("portabel")]
    public void Another_word_is_a_usage_error_that_names_the_choices(string text)
    {
        Assert.Null(BenchCommand.ParseTarget(text, out var error));
        Assert.Equal($"--target '{text}': expected portable or arch_specific", error);
    }
}
