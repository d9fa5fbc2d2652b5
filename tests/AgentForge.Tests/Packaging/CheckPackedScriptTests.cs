using System.Text.Json;
using AgentForge.Tests.Scripts;
using AgentForge.Tests.Trace;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Packaging;

/// <summary>
/// scripts/device/check_packed.py runs on the GPU machine; its GPU-free parts run here: its
/// helpers, and the facts it shares with the C# side (the shim's signature, afg::DType's order).
/// </summary>
public sealed class CheckPackedScriptTests
{
    private static string Script => Path.Combine(Packing.RepositoryRoot(), "scripts", "device", "check_packed.py");

    [Fact]
    public void The_self_test_passes_without_torch()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        var (exitCode, output) = PythonScript.Run(Script, "--self-test");

        Assert.True(exitCode == 0, output);
        Assert.Contains("self-test passed", output);
    }

    [Fact]
    public void The_script_computes_the_harness_shim_signature_and_dtype_order_like_the_harness()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");
        const string Program = """
            import json, sys
            sys.path.insert(0, sys.argv[1])
            import check_packed as c
            names = sys.argv[3:]
            print(json.dumps({"dtypes": c.AFG_DTYPES, "signatures": {n: c.shim_signature(c.find_definition(sys.argv[2], n)) for n in names}}))
            """;

        var (exitCode, output) = PythonScript.Run(["-c", Program, Path.GetDirectoryName(Script)!, SharedData.DatasetRoot, .. Packing.DefinitionNames]);

        Assert.True(exitCode == 0, output);
        using var result = JsonDocument.Parse(output);
        Assert.Equal(Enum.GetValues<DType>().Select(d => d.Name()), result.RootElement.GetProperty("dtypes").EnumerateArray().Select(e => e.GetString()));
        foreach (var name in Packing.DefinitionNames)
        {
            Assert.Equal(ShimGenerator.Signature(Packing.Definition(name)), result.RootElement.GetProperty("signatures").GetProperty(name).GetString());
        }
    }
}
