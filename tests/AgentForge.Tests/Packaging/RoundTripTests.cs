using AgentForge.Tests.Inputs;
using AgentForge.Tools.Packaging;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Packaging;

public sealed class RoundTripTests
{
    private static string PackFolder(string folder, string definition, BindingKind binding)
    {
        var input = SolutionFolder.Read(folder, definition);
        Assert.True(input.IsOk, input.Error?.ToString());
        var result = Packing.Packer.Pack(Packing.Definition(definition), input.Value, new PackOptions(binding));
        Assert.False(result.Refused, string.Join("\n", result.Findings));
        Packing.AssertBaselineFindings(definition, result.Findings, extracted: true);
        return TraceJson.WriteSolution(result.Solution!);
    }

    [Theory]
    [MemberData(nameof(Packing.DefinitionsAndBindings), MemberType = typeof(Packing))]
    public void Pack_extract_pack_is_byte_identical(string definition, string binding)
    {
        using var temp = new TempDirectory();
        var kind = Packing.Binding(binding);
        var first = TraceJson.WriteSolution(Packing.PackedBaseline(definition, kind));

        var folder = SolutionFolder.Extract(TraceJson.ReadSolution(first, "first.json").Value!, temp.Path, "first.json");
        Assert.True(folder.IsOk, folder.Error?.ToString());

        Assert.Equal(first, PackFolder(folder.Value, definition, kind));
    }

    [Fact]
    public void An_extracted_solution_repacks_with_the_other_binding()
    {
        using var temp = new TempDirectory();
        var tvm = Packing.PackedBaseline(Packing.Moe, BindingKind.TvmFfi);
        var folder = SolutionFolder.Extract(tvm, temp.Path, "tvm.json").Value!;

        Assert.Equal(TraceJson.WriteSolution(Packing.PackedBaseline(Packing.Moe, BindingKind.Torch)), PackFolder(folder, Packing.Moe, BindingKind.Torch));
    }

    [Fact]
    public void Extract_writes_the_sources_a_manifest_and_solution_md()
    {
        using var temp = new TempDirectory();
        var solution = Packing.PackedBaseline(Packing.GdnDecode, BindingKind.Torch);

        var folder = SolutionFolder.Extract(solution, temp.Path, "s.json").Value!;

        Assert.Equal(temp.Combine(solution.Name), folder);
        Assert.Equal([.. Packing.BaselineKernelFiles(Packing.GdnDecode).Concat(["SOLUTION.md", "agentforge.h", "binding.cu", "manifest.json"]).Order(StringComparer.Ordinal)],
            Directory.EnumerateFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(solution.Sources.Single(s => s.Path == "kernel.cu").Content, File.ReadAllText(Path.Combine(folder, "kernel.cu")));
        var manifest = SolutionManifest.Read(Path.Combine(folder, "manifest.json")).Value!;
        Assert.Equal(new SolutionManifest(solution.Name, solution.Definition, solution.Author, solution.Description, "run", "portable", "torch", [], new Dictionary<string, string>()),
            manifest with { Flags = [], Defines = new Dictionary<string, string>() }, new ManifestComparer());
        var metadata = File.ReadAllText(Path.Combine(folder, "SOLUTION.md"));
        Assert.StartsWith($"# {solution.Name}\n\n**Definition:** {solution.Definition}\n**Author:** agentforge\n", metadata);
        Assert.Contains("\"entry_point\": \"binding.cu::run\"", metadata);
        Assert.Contains("- `binding.cu`", metadata);
    }

    [Fact]
    public void Extract_refuses_a_folder_that_already_has_files()
    {
        using var temp = new TempDirectory();
        var solution = Packing.PackedBaseline(Packing.GdnDecode, BindingKind.TvmFfi);
        Directory.CreateDirectory(temp.Combine(solution.Name));
        File.WriteAllText(temp.Combine(solution.Name, "old.cu"), "stale");

        var extracted = SolutionFolder.Extract(solution, temp.Path, "s.json");

        Assert.False(extracted.IsOk);
        Assert.Contains("not empty", extracted.Error!.Message);
    }

    [Fact]
    public void A_run_s_best_solution_is_repacked_with_the_requested_binding()
    {
        using var temp = new TempDirectory();
        var best = temp.Combine("runs", "20261126-gdn", "best", Packing.GdnDecode);
        Directory.CreateDirectory(best);
        File.WriteAllText(Path.Combine(best, "solution.json"), TraceJson.WriteSolution(Packing.PackedBaseline(Packing.GdnDecode, BindingKind.TvmFfi)));

        var byId = PackSources.FromRun(temp.Combine("runs"), "20261126-gdn", Packing.GdnDecode);
        var byFolder = PackSources.FromRun("elsewhere", temp.Combine("runs", "20261126-gdn"), Packing.GdnDecode);

        Assert.True(byId.IsOk, byId.Error?.ToString());
        Assert.True(byFolder.IsOk, byFolder.Error?.ToString());
        var repacked = Packing.Packer.Pack(Packing.Definition(Packing.GdnDecode), byId.Value, new PackOptions(BindingKind.Torch));
        Assert.Equal(TraceJson.WriteSolution(Packing.PackedBaseline(Packing.GdnDecode, BindingKind.Torch)), TraceJson.WriteSolution(repacked.Solution!));
        Assert.Contains("no run folder", PackSources.FromRun(temp.Combine("runs"), "nope", Packing.GdnDecode).Error!.Message);
        Assert.Contains("no solution.json here", PackSources.FromRun(temp.Combine("runs"), "20261126-gdn", "gdn_prefill_qk4_v8_d128_k_last").Error!.Message);
    }

    [Fact]
    public void A_plain_folder_packs_its_sources_sorted_with_defaults()
    {
        using var temp = new TempDirectory();
        var folder = temp.Combine("my_moe");
        Directory.CreateDirectory(Path.Combine(folder, "detail"));
        Directory.CreateDirectory(Path.Combine(folder, ".git"));
        File.WriteAllText(Path.Combine(folder, "main.cu"), Packing.Kernel(before: "#include \"detail/math.cuh\""));
        File.WriteAllText(Path.Combine(folder, "detail", "math.cuh"), "#pragma once\n#include \"../agentforge.h\"\n");
        File.WriteAllText(Path.Combine(folder, ".git", "x.h"), "hidden");
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not a source");

        var input = SolutionFolder.Read(folder, Packing.Moe);
        var result = Packing.Packer.Pack(Packing.Definition(Packing.Moe), input.Value!, new PackOptions(BindingKind.TvmFfi));

        Assert.Empty(result.Findings);
        Assert.Equal(["detail/math.cuh", "main.cu", "agentforge.h", "binding.cu"], result.Solution!.Sources.Select(s => s.Path));
        Assert.Equal("my_moe", result.Solution.Name);
        Assert.Equal(SolutionPacker.DefaultAuthor, result.Solution.Author);
        Assert.Null(result.Solution.Description);
    }

    [Theory]
    [InlineData("{\"definition\": \"gdn_decode_qk4_v8_d128_k_last\"}", "the folder holds a solution for 'gdn_decode_qk4_v8_d128_k_last', not 'moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048'")]
    [InlineData("{\"entry\": \"my entry\"}", "'my entry' is not a C++ function name")]
    [InlineData("{\"flags\": \"-O3\"}", "must be a list of strings")]
    [InlineData("{\"target\": \"hopper\"}", "'hopper' is neither \"portable\" nor an sm_XY target")]
    public void A_bad_folder_manifest_is_a_located_error(string manifest, string message)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("kernel.cu"), Packing.Kernel());
        File.WriteAllText(temp.Combine("manifest.json"), manifest);

        var input = SolutionFolder.Read(temp.Path, Packing.Moe);

        Assert.False(input.IsOk);
        Assert.Contains(message, input.Errors.Select(e => e.Message));
        Assert.All(input.Errors, e => Assert.Equal(temp.Combine("manifest.json"), e.File));
    }

    [Fact]
    public void A_folder_manifest_supplies_entry_target_flags_and_defines()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("kernel.cu"), Packing.Kernel(declaration: Tools.Build.ShimGenerator.EntryDeclaration(Packing.Definition(Packing.Moe), "moe_entry")));
        File.WriteAllText(temp.Combine("manifest.json"), """
            {"name": "moe_v3", "author": "me", "entry": "moe_entry", "target": "sm_90a", "flags": ["--use_fast_math"], "defines": {"TILE": 64}}
            """);

        var input = SolutionFolder.Read(temp.Path, Packing.Moe).Value!;

        Assert.Equal("moe_v3", input.Candidate.Name);
        Assert.Equal("moe_entry", input.Candidate.EntrySymbol);
        Assert.Equal(Tools.Build.TargetKind.ArchSpecific, input.Candidate.Target);
        Assert.Equal("sm_90a", input.Target);
        Assert.Equal(["--use_fast_math"], input.Flags);
        Assert.Equal("64", input.Candidate.Defines!["TILE"]);
        Assert.Equal("me", input.Author);
    }

    private sealed class ManifestComparer : IEqualityComparer<SolutionManifest>
    {
        public bool Equals(SolutionManifest? x, SolutionManifest? y) =>
            x is not null && y is not null && x with { Flags = null, Defines = null } == y with { Flags = null, Defines = null };

        public int GetHashCode(SolutionManifest obj) => 0;
    }
}
