using System.Text.RegularExpressions;
using AgentForge.Tests.Packaging;
using AgentForge.Tools.Build;

namespace AgentForge.Tests.Build;

/// <summary>
/// Every hand-written baseline's tunable declarations parse (the bench refuses a --define of a
/// baseline whose declarations do not, at run time on the GPU machine), and each declared default
/// is the value the source's own #define gives it, so the tuner's "default" is what runs.
/// </summary>
public sealed class BaselineTunablesTests
{
    public static TheoryData<string> Definitions()
    {
        var data = new TheoryData<string>();
        foreach (var entry in Packing.Catalog.Entries) data.Add(entry.Definition);
        return data;
    }

    [Theory]
    [MemberData(nameof(Definitions))]
    public void Declarations_parse_and_defaults_match_the_sources_defines(string definition)
    {
        var entry = Packing.Catalog.For(definition)!;
        var sources = Packing.Catalog.Candidate(entry).Sources;
        var parsed = TunableParameters.Parse(sources);
        Assert.True(parsed.IsOk, string.Join("\n", parsed.Errors));
        Assert.NotEmpty(parsed.Value!);
        foreach (var parameter in parsed.Value!)
        {
            var define = new Regex($@"^\s*#define\s+{parameter.Name}\s+(\S+)\s*$", RegexOptions.Multiline);
            var values = sources.SelectMany(s => define.Matches(s.Content).Select(m => m.Groups[1].Value)).Distinct().ToList();
            Assert.True(values.Count == 1, $"{parameter.Name}: expected one #define default in the sources, found [{string.Join(", ", values)}]");
            Assert.Equal(parameter.Default, values[0]);
        }
    }
}
