using System.Diagnostics;
using AgentForge.Tests.Packaging;

namespace AgentForge.Tests.Scripts;

/// <summary>scripts/dev/kernel_syntax.py: the baselines' C++ checked by the host compiler against
/// stand-in CUDA headers (no nvcc here), in every declared parameter value.</summary>
public sealed class KernelSyntaxTests
{
    private static string Script => Path.Combine(Packing.RepositoryRoot(), "scripts", "dev", "kernel_syntax.py");

    private static void SkipWithoutPythonOrHostCompiler()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");
        Assert.SkipUnless(HostCompilerAvailable(), "g++ is not on PATH");
    }

    private static bool HostCompilerAvailable()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("g++", "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    [Fact]
    public void Every_baseline_compiles_for_the_host_checker_in_every_declared_setting()
    {
        SkipWithoutPythonOrHostCompiler();

        var (exitCode, output) = PythonScript.Run(Script, "--all-values");

        Assert.True(exitCode == 0, output);
        Assert.Contains("all passes ok", output);
        // Five baselines, three passes each at their defaults at least.
        Assert.True(output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal) && l.Contains("[defaults]")) >= 15, output);
    }

    [Theory]
    [InlineData("gdn_chain_timeline_probe.cu", "GDN_PREFILL_DIAG_CHAIN_TIMES=1")]
    [InlineData("attention_cta_timeline_probe.cu", "DSA_ATTN_DIAG_CTA_TIMES=1")]
    [InlineData("indexer_cta_timeline_probe.cu", "INDEXER_DIAG_CTA_TIMES=1")]
    [InlineData("moe_cta_timeline_probe.cu", "MOE_DIAG_CTA_TIMES=1")]
    [InlineData("moe_wgmma_tile_timeline_probe.cu", "MOE_WGMMA_DIAG_TILE_TIMES=1")]
    [InlineData("wgmma_pipeline_probe.cu", null)]
    [InlineData("dram_pattern_probe.cu", null)]
    [InlineData("dsa_gather_probe.cu", null)]
    [InlineData("wgmma_rs_e4m3_probe.cu", null)]
    public void A_device_probe_compiles_for_the_host_checker_with_the_baseline_it_builds_in(string probe, string? define)
    {
        SkipWithoutPythonOrHostCompiler();
        var file = Path.Combine(Packing.RepositoryRoot(), "scripts", "device", "probes", probe);
        string[] arguments = define is null ? [Script, "--file", file] : [Script, "--file", file, "-D", define];

        var (exitCode, output) = PythonScript.Run(arguments);

        // The timeline probes include a baseline's kernel.cu: its launches must be staged away too.
        Assert.True(exitCode == 0, output);
        Assert.Contains("all passes ok", output);
    }

    [Fact]
    public void A_kernel_with_an_error_fails_with_its_location()
    {
        SkipWithoutPythonOrHostCompiler();
        var folder = Path.Combine(Path.GetTempPath(), $"afg-syntax-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "broken.cu");
        File.WriteAllText(file, "#include <cuda_runtime.h>\n__global__ void k(float* x) { x[threadIdx.x] = undeclared_name; }\n" +
                                "void run() { k<<<dim3(1), 32>>>(nullptr); }\n");
        try
        {
            var (exitCode, output) = PythonScript.Run(Script, "--file", file);

            Assert.Equal(1, exitCode);
            Assert.Contains("FAIL  broken.cu [defaults] host", output);
            Assert.Contains("broken.cu:2:", output);
            Assert.Contains("undeclared_name", output);
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Fact]
    public void A_declared_default_is_compiled_once_as_the_defaults_and_every_other_value_on_its_own()
    {
        SkipWithoutPythonOrHostCompiler();
        using var baselines = new DemoBaselines(includesAlgorithmItself: true);

        var (exitCode, output) = PythonScript.Run(Script, "--baselines", baselines.Root, "--all-values");

        Assert.True(exitCode == 0, output);
        Assert.Contains("all passes ok", output);
        foreach (var pass in new[] { "host", "sm_90", "sm_90a" })
        {
            Assert.Contains($"ok    demo [defaults] {pass}", output);
            foreach (var value in new[] { 1, 2, 4, 5 })
            {
                Assert.Contains($"ok    demo [DEMO_WIDTH={value}] {pass}", output);
            }
        }
        Assert.DoesNotContain("DEMO_WIDTH=3", output);
    }

    [Fact]
    public void A_header_missing_an_include_fails_at_the_defaults_though_the_values_share_a_precompiled_header()
    {
        SkipWithoutPythonOrHostCompiler();
        using var baselines = new DemoBaselines(includesAlgorithmItself: false);

        var (exitCode, output) = PythonScript.Run(Script, "--baselines", baselines.Root, "--all-values");

        // The precompiled header (five settings, so it is built) holds <algorithm>, which kernel.cu
        // includes only after helper.cuh: the defaults compile without it, as nvcc would.
        Assert.Equal(1, exitCode);
        Assert.Contains("FAIL  demo [defaults] host", output);
        Assert.Contains("helper.cuh:3:", output);
        Assert.Contains("is not a member of", output);
    }

    /// <summary>A folder of one baseline, "demo": kernel.cu with a tunable of five values (default 3)
    /// and helper.cuh calling std::min, which kernel.cu includes after it.</summary>
    private sealed class DemoBaselines : IDisposable
    {
        public DemoBaselines(bool includesAlgorithmItself)
        {
            Root = Path.Combine(Path.GetTempPath(), $"afg-syntax-{Guid.NewGuid():N}");
            var demo = Path.Combine(Root, "demo");
            Directory.CreateDirectory(demo);
            File.WriteAllText(Path.Combine(demo, "helper.cuh"),
                "#pragma once\n" + (includesAlgorithmItself ? "#include <algorithm>\n" : "// <algorithm> comes after this header\n") +
                "inline int smaller(int a, int b) { return std::min(a, b); }\n");
            File.WriteAllText(Path.Combine(demo, "kernel.cu"),
                "#include <cstdint>\n#include \"helper.cuh\"\n#include <algorithm>\n" +
                "// @tunable DEMO_WIDTH: 1, 2, 3, 4, 5 (default 3)\n" +
                "#ifndef DEMO_WIDTH\n#define DEMO_WIDTH 3\n#endif\n" +
                "int width() { return smaller(DEMO_WIDTH, 4); }\n");
        }

        public string Root { get; }

        public void Dispose() => Directory.Delete(Root, true);
    }
}
