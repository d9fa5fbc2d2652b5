using AgentForge.Tools.Packaging;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Packaging;

/// <summary>Headers of the shared include folder travel with the sources that include them.</summary>
public sealed class SharedHeaderTests
{
    private static readonly SolutionPacker Packer = new(Packing.ContractHeader, new Dictionary<string, string>
    {
        ["afg_mma.cuh"] = "#pragma once\n#include \"afg_ptx.cuh\"\n__device__ inline int mma_helper() { return ptx_helper(); }\n",
        ["afg_ptx.cuh"] = "#pragma once\n__device__ inline int ptx_helper() { return 1; }\n",
        ["unused.cuh"] = "#pragma once\n",
    });

    private static PackResult Pack(params SourceFile[] sources) =>
        Packer.Pack(Packing.Definition(Packing.Moe), Packing.Input(Packing.Moe, sources), new PackOptions(BindingKind.Torch));

    [Fact]
    public void An_included_shared_header_and_the_ones_it_includes_are_packed_at_the_root()
    {
        var result = Pack(new SourceFile("kernel.cu", Packing.Kernel(before: "#include \"afg_mma.cuh\"")));

        Assert.False(result.Refused, string.Join("\n", result.Findings));
        Assert.Equal(["afg_mma.cuh", "afg_ptx.cuh", "kernel.cu", "agentforge.h", "binding.cu"], result.Solution!.Sources.Select(s => s.Path));
        Assert.Equal(Packer.SharedHeaders["afg_ptx.cuh"], result.Solution.Sources[1].Content);
        Assert.Equal(["kernel.cu", "afg_mma.cuh"], result.Findings.Where(f => f.Check == PackCheck.SharedHeader).Select(f => f.File));
        Assert.All(result.Findings, f => Assert.Equal(FindingSeverity.Note, f.Severity));
    }

    [Fact]
    public void A_source_of_the_candidate_wins_over_the_shared_header_of_the_same_path()
    {
        var own = new SourceFile("afg_mma.cuh", "#pragma once\n__device__ inline int mma_helper() { return 2; }\n");

        var result = Pack(new SourceFile("kernel.cu", Packing.Kernel(before: "#include \"afg_mma.cuh\"")), own);

        Assert.False(result.Refused, string.Join("\n", result.Findings));
        Assert.Equal(own.Content, result.Solution!.Sources.Single(s => s.Path == "afg_mma.cuh").Content);
        Assert.DoesNotContain(result.Solution.Sources, s => s.Path == "afg_ptx.cuh");
        Assert.DoesNotContain(result.Findings, f => f.Check == PackCheck.SharedHeader);
    }

    [Fact]
    public void A_header_in_neither_the_sources_nor_the_shared_folder_is_still_refused()
    {
        var result = Pack(new SourceFile("kernel.cu", Packing.Kernel(before: "#include \"afg_missing.cuh\"")));

        Assert.True(result.Refused);
        Assert.Contains(result.Findings, f => f.Check == PackCheck.HeaderOutsideSources && f.Message.Contains("afg_missing.cuh"));
    }

    [Fact]
    public void A_packed_shared_header_repacks_to_the_same_bytes_after_extraction()
    {
        using var temp = new Inputs.TempDirectory();
        var first = Pack(new SourceFile("kernel.cu", Packing.Kernel(before: "#include \"afg_mma.cuh\""))).Solution!;
        var folder = SolutionFolder.Extract(first, temp.Path, "first.json").Value!;
        var input = SolutionFolder.Read(folder, Packing.Moe);
        Assert.True(input.IsOk, input.Error?.ToString());

        var again = Packer.Pack(Packing.Definition(Packing.Moe), input.Value, new PackOptions(BindingKind.Torch));

        Assert.Equal(TraceJson.WriteSolution(first), TraceJson.WriteSolution(again.Solution!));
    }

    [Fact]
    public void The_catalog_packer_shares_the_include_folder_without_the_contract_header()
    {
        Assert.DoesNotContain(PackLayout.HeaderPath, Packing.Packer.SharedHeaders.Keys);
        Assert.All(Packing.Packer.SharedHeaders.Keys, path => Assert.False(PackLayout.IsTranslationUnit(path), path));
    }
}
