using System.CommandLine;
using AgentForge.Orchestrator.Commands;
using AgentForge.Tests.Inputs;
using AgentForge.Tests.Trace;

namespace AgentForge.Tests.Packaging;

public sealed class PackCommandTests
{
    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = AgentForgeCli.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    private static (int ExitCode, string Output, string Error) Pack(params string[] args) =>
        Run(["pack", "--dataset", SharedData.DatasetRoot, "--kernels", Packing.Catalog.Root, .. args]);

    [Fact]
    public void Pack_extract_pack_through_the_commands_gives_the_same_file()
    {
        using var temp = new TempDirectory();
        var first = temp.Combine("first.json");
        var second = temp.Combine("second.json");

        var packed = Pack("--definition", Packing.GdnDecode, "--baseline", "--binding", "torch", "--author", "team", "--out", first);
        var extracted = Run("extract", first, temp.Combine("out"));
        var folder = temp.Combine("out", "gdn_decode_qk4_v8_d128_k_last_baseline_cuda");
        var repacked = Pack("--definition", Packing.GdnDecode, "--solution", folder, "--binding", "torch", "--out", second);

        Assert.Equal((PackCommand.ExitPacked, ""), (packed.ExitCode, packed.Error));
        var files = string.Join(", ", [.. Packing.BaselineKernelFiles(Packing.GdnDecode), "agentforge.h", "binding.cu"]);
        Assert.Contains($"packed gdn_decode_qk4_v8_d128_k_last_baseline_cuda for {Packing.GdnDecode} (torch binding, entry binding.cu::run) -> {first}: {files}\n", packed.Output);
        Assert.Equal((ExtractCommand.ExitExtracted, ""), (extracted.ExitCode, extracted.Error));
        Assert.Contains($"-> {folder}; pack it again with: agentforge pack --definition {Packing.GdnDecode} --solution {folder} --binding torch", extracted.Output);
        Assert.Equal((PackCommand.ExitPacked, ""), (repacked.ExitCode, repacked.Error));
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        Assert.Contains("\"author\": \"team\"", File.ReadAllText(second));
    }

    [Fact]
    public void Pack_refuses_with_the_reasons_and_force_packs_with_warnings()
    {
        using var temp = new TempDirectory();
        var folder = temp.Combine("fast");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "kernel.cu"), Packing.Kernel(body: "asm volatile(\"wgmma.fence.sync.aligned;\");"));
        var output = temp.Combine("solution.json");

        var refused = Pack("--definition", Packing.Moe, "--solution", folder, "--out", output);
        var forced = Pack("--definition", Packing.Moe, "--solution", folder, "--out", output, "--force");

        Assert.Equal(PackCommand.ExitRefused, refused.ExitCode);
        Assert.StartsWith("error [arch-specific] kernel.cu:14: `wgmma`: warpgroup MMA, which compiles only for sm_90a.", refused.Output);
        Assert.Contains("refused: 1 error(s). Fix them, or pass --force", refused.Output);
        Assert.Equal(PackCommand.ExitPacked, forced.ExitCode);
        Assert.StartsWith("warning (forced) [arch-specific] kernel.cu:14:", forced.Output);
        Assert.True(File.Exists(output));
    }

    [Theory]
    [InlineData(new[] { "--definition", Packing.GdnDecode }, "give exactly one of --baseline, --run RUN or --solution DIR")]
    [InlineData(new[] { "--definition", Packing.GdnDecode, "--baseline", "--solution", "x" }, "give exactly one of --baseline, --run RUN or --solution DIR")]
    [InlineData(new[] { "--definition", "nope", "--baseline" }, "unknown definition 'nope'; known: dsa_sparse_attention")]
    [InlineData(new[] { "--definition", Packing.GdnDecode, "--solution", "/no/such/folder" }, "/no/such/folder: --solution: folder does not exist")]
    [InlineData(new[] { "--definition", Packing.GdnDecode, "--run", "nope", "--runs", "/no/runs" }, "no run folder 'nope' (looked in /no/runs)")]
    public void Pack_explains_usage_errors(string[] args, string message)
    {
        var (exitCode, _, error) = Pack(args);

        Assert.Equal(PackCommand.ExitUsage, exitCode);
        Assert.Contains(message, error);
    }

    [Fact]
    public void Pack_accepts_only_the_two_bindings()
    {
        var (exitCode, _, error) = Pack("--definition", Packing.GdnDecode, "--baseline", "--binding", "pybind");

        Assert.NotEqual(PackCommand.ExitPacked, exitCode);
        Assert.Contains("pybind", error);
    }

    [Fact]
    public void Extract_reports_an_unreadable_solution()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("bad.json"), "{\"name\": \"x\"}");

        var (exitCode, _, error) = Run("extract", temp.Combine("bad.json"), temp.Path);

        Assert.Equal(ExtractCommand.ExitFailed, exitCode);
        Assert.Contains("definition: required field is missing", error);
    }
}
