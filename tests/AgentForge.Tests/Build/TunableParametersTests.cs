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

    [Fact]
    public void A_diagnostic_declaration_is_a_settable_parameter_marked_as_a_measurement_aid()
    {
        var parsed = TunableParameters.Parse([new SourceFile("a.cu", "// @tunable T: 1, 2\n// @diagnostic NO_LOADS: 0, 1 (default 0)\n")]);
        Assert.True(parsed.IsOk, string.Join("\n", parsed.Errors));
        Assert.False(parsed.Value.Single(p => p.Name == "T").Diagnostic);
        var aid = parsed.Value.Single(p => p.Name == "NO_LOADS");
        Assert.True(aid.Diagnostic);
        Assert.Equal(2, aid.Line);
        Assert.Null(TunableParameters.Validate(parsed.Value, new Dictionary<string, string> { ["NO_LOADS"] = "1" }));
        Assert.Contains("not allowed", TunableParameters.Validate(parsed.Value, new Dictionary<string, string> { ["NO_LOADS"] = "2" }));
        var bad = TunableParameters.Parse([new SourceFile("a.cu", "// @diagnostic X 0 1")]);
        Assert.Contains("expected '// @diagnostic NAME", bad.Error!.Message);
    }

    [Fact]
    public void A_when_clause_makes_the_parameter_conditional_on_another()
    {
        const string text = "// @tunable IMPL: 0, 1 (default 1)\n// @tunable WARPS: 4, 8 (default 8) when IMPL=1\n" +
                            "// @tunable OTHER: 0, 1, 2\n// @tunable THREADS: 128, 256 when OTHER = 0 | 2";
        var parsed = TunableParameters.Parse([new SourceFile("a.cu", text)]);
        Assert.True(parsed.IsOk, string.Join("\n", parsed.Errors));
        var warps = parsed.Value.Single(p => p.Name == "WARPS");
        Assert.Equal(["4", "8"], warps.Values);
        Assert.Equal("8", warps.Default);
        Assert.Equal("IMPL", warps.When!.Name);
        Assert.Equal(["1"], warps.When.Values);
        var threads = parsed.Value.Single(p => p.Name == "THREADS");
        Assert.Equal("OTHER", threads.When!.Name);
        Assert.Equal(["0", "2"], threads.When.Values);
        Assert.Null(parsed.Value.Single(p => p.Name == "IMPL").When);

        Assert.True(warps.IsActive(parsed.Value, new Dictionary<string, string>()));  // IMPL at its default 1
        Assert.False(warps.IsActive(parsed.Value, new Dictionary<string, string> { ["IMPL"] = "0" }));
        Assert.True(threads.IsActive(parsed.Value, new Dictionary<string, string>()));  // OTHER at its default 0
        Assert.False(threads.IsActive(parsed.Value, new Dictionary<string, string> { ["OTHER"] = "1" }));
        Assert.True(threads.IsActive(parsed.Value, new Dictionary<string, string> { ["OTHER"] = "2" }));
    }

    [Fact]
    public void A_condition_on_a_parameter_without_effect_does_not_hold()
    {
        var declared = TunableParameters.Parse([new SourceFile("a.cu",
            "// @tunable IMPL: 0, 1 (default 1)\n// @tunable PLAN: 0, 1 (default 1) when IMPL=1\n// @tunable BV: 32, 64 (default 32) when PLAN=0")]).Value!;
        var bv = declared.Single(p => p.Name == "BV");

        Assert.False(bv.IsActive(declared, new Dictionary<string, string>()));                                    // PLAN at its default 1
        Assert.True(bv.IsActive(declared, new Dictionary<string, string> { ["PLAN"] = "0" }));
        Assert.False(bv.IsActive(declared, new Dictionary<string, string> { ["PLAN"] = "0", ["IMPL"] = "0" }));  // PLAN itself has no effect
    }

    [Fact]
    public void A_cycle_of_conditions_ends()
    {
        var declared = TunableParameters.Parse([new SourceFile("a.cu", "// @tunable A: 0, 1 (default 1) when B=1\n// @tunable B: 0, 1 (default 1) when A=1")]).Value!;

        Assert.True(declared[0].IsActive(declared, new Dictionary<string, string>()));
        Assert.False(declared[0].IsActive(declared, new Dictionary<string, string> { ["B"] = "0" }));
    }

    [Theory]
    [InlineData("// @tunable A: 1, 2 when B=1", "names no other declared")]
    [InlineData("// @tunable A: 1, 2 when A=1", "names no other declared")]
    [InlineData("// @tunable B: 0, 1\n// @tunable A: 1, 2 when B=3", "3 is not one of B's values")]
    [InlineData("// @tunable B: 0, 1\n// @tunable A: 1, 2 when B", "contains a space")]
    public void Bad_conditions_are_located_errors(string text, string message)
    {
        var parsed = TunableParameters.Parse([new SourceFile("a.cu", text)]);
        Assert.False(parsed.IsOk);
        Assert.Contains(message, string.Join("\n", parsed.Errors.Select(e => e.Message)));
    }

    [Fact]
    public void The_effective_setting_leaves_out_parameters_without_effect()
    {
        var declared = TunableParameters.Parse([new SourceFile("a.cu", "// @tunable IMPL: 0, 1 (default 1)\n// @tunable WARPS: 4, 8 (default 8) when IMPL=1\n// @tunable T: 1, 2")]).Value!;
        var off = TunableParameters.Effective(declared, new Dictionary<string, string> { ["IMPL"] = "0", ["WARPS"] = "4", ["T"] = "2" });
        Assert.Equal(new Dictionary<string, string> { ["IMPL"] = "0", ["T"] = "2" }, off);
        var on = TunableParameters.Effective(declared, new Dictionary<string, string> { ["WARPS"] = "4" });
        Assert.Equal(new Dictionary<string, string> { ["WARPS"] = "4" }, on);
    }

    [Fact]
    public void Every_baseline_declares_its_tunables_without_errors_and_some_behind_conditions()
    {
        var catalog = AgentForge.Tests.Packaging.Packing.Catalog;
        Assert.NotEmpty(catalog.Entries);
        var conditional = 0;
        foreach (var entry in catalog.Entries)
        {
            var parsed = TunableParameters.Parse(catalog.Candidate(entry).Sources);
            Assert.True(parsed.IsOk, $"{entry.Definition}: {string.Join("\n", parsed.Errors)}");
            Assert.NotEmpty(parsed.Value);
            conditional += parsed.Value.Count(p => p.When is not null);
        }
        Assert.True(conditional > 0, "no baseline declares a conditional tunable");
    }
}
