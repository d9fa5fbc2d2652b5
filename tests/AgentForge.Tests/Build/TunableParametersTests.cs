using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Build;

public sealed class TunableParametersTests
{
    [Fact]
    public void Declarations_give_names_values_defaults_and_locations()
    {
        var source = new SourceFile("k/kernel.cu", "#include <x>\n// @tunable BLOCK_V: 16, 32, 64 (default 32)\n#ifndef BLOCK_V\n#define BLOCK_V 32\n#endif\n//   @tunable  WARPS : 4,8\n");
        var parsed = TunableParameters.Parse([source]);
        Assert.True(parsed.IsOk, string.Join("\n", parsed.Errors));
        var block = parsed.Value.Single(p => p.Name == "BLOCK_V");
        Assert.Equal(["16", "32", "64"], block.Values);
        Assert.Equal("32", block.Default);
        Assert.Equal(2, block.Line);
        Assert.Equal("4", parsed.Value.Single(p => p.Name == "WARPS").Default);
    }

    [Theory]
    [InlineData("// @tunable X: 1, 2 (default 3)", "not one of the allowed values")]
    [InlineData("// @tunable : 1, 2", "expected")]
    [InlineData("// @tunable X: 1\n// @tunable X: 2", "declared twice")]
    public void Bad_declarations_are_located_errors(string text, string message)
    {
        var parsed = TunableParameters.Parse([new SourceFile("a.cu", text)]);
        Assert.False(parsed.IsOk);
        Assert.Contains(message, parsed.Error!.Message);
        Assert.Equal("a.cu", parsed.Error.File);
    }

    [Fact]
    public void Settings_must_use_declared_names_and_allowed_values()
    {
        var declared = TunableParameters.Parse([new SourceFile("a.cu", "// @tunable T: 1, 2")]).Value!;
        Assert.Null(TunableParameters.Validate(declared, new Dictionary<string, string> { ["T"] = "2" }));
        Assert.Contains("not allowed", TunableParameters.Validate(declared, new Dictionary<string, string> { ["T"] = "3" }));
        Assert.Contains("not a declared", TunableParameters.Validate(declared, new Dictionary<string, string> { ["U"] = "1" }));
    }
}
