using AgentForge.Tests.Trace;
using AgentForge.Tools.Build;
using AgentForge.Tools.Packaging;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Packaging;

public sealed class PackedSolutionTests
{
    [Theory]
    [MemberData(nameof(Packing.DefinitionsAndBindings), MemberType = typeof(Packing))]
    public void Packed_baselines_validate_against_the_solution_schema(string definition, string binding)
    {
        var result = Packing.PackBaseline(definition, Packing.Binding(binding));
        var json = TraceJson.WriteSolution(result.Solution!);

        Packing.AssertBaselineFindings(definition, result.Findings);
        Assert.Empty(SchemaCheck.Errors("solution", json));
        Assert.Empty(SchemaCheck.KeyOrderProblems("solution", json));
        Assert.Empty(SolutionRules.Check(result.Solution!, "(packed)"));
    }

    [Theory]
    [MemberData(nameof(Packing.DefinitionsAndBindings), MemberType = typeof(Packing))]
    public void A_packed_baseline_is_its_kernel_the_contract_header_and_the_binding(string definition, string binding)
    {
        var solution = Packing.PackedBaseline(definition, Packing.Binding(binding));
        var entry = Packing.Catalog.For(definition)!;

        // The kernel's own files (its definition folder dropped) and the shared headers it includes,
        // sorted by path, then the contract header and the binding.
        var expected = entry.Sources.ToDictionary(s => Path.GetFileName(s)!, s => File.ReadAllText(Path.Combine(Packing.Catalog.Root, s)), StringComparer.Ordinal);
        foreach (var (path, text) in Packing.BaselineSharedHeaders(definition))
        {
            expected.Add(path, text);
        }
        var kernelFiles = expected.Keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal([.. kernelFiles, "agentforge.h", "binding.cu"], solution.Sources.Select(s => s.Path));
        for (var i = 0; i < kernelFiles.Count; i++)
        {
            Assert.Equal(expected[kernelFiles[i]], solution.Sources[i].Content);
        }
        Assert.Equal(Packing.ContractHeader, solution.Sources[kernelFiles.Count].Content);
        Assert.Equal(BindingGenerator.Generate(Packing.Definition(definition), Packing.Binding(binding), "run"), solution.Sources[kernelFiles.Count + 1].Content);
        Assert.Equal(("cuda", "binding.cu::run", true, binding), (solution.Spec.Language, solution.Spec.EntryPoint, solution.Spec.DestinationPassingStyle, solution.Spec.Binding));
        Assert.Empty(solution.Spec.Dependencies);
        Assert.Equal(Packing.BaselineHardware(definition), solution.Spec.TargetHardware);
        Assert.Equal(entry.Name, solution.Name);
        Assert.Equal(definition, solution.Definition);
        Assert.Equal(SolutionPacker.DefaultAuthor, solution.Author);
        Assert.Equal(entry.Description, solution.Description);
    }

    [Fact]
    public void The_written_file_reads_back_equal()
    {
        var solution = Packing.PackedBaseline(Packing.Moe, BindingKind.Torch);

        var read = TraceJson.ReadSolution(TraceJson.WriteSolution(solution), "solution.json");

        Assert.True(read.IsOk);
        Assert.Equal(solution, read.Value);
    }

    [Fact]
    public void Unpacking_gives_the_harness_the_kernel_sources_and_entry_only()
    {
        var solution = Packing.PackedBaseline(Packing.GdnDecode, BindingKind.TvmFfi);

        var candidate = PackedSolution.ToCandidate(solution);

        Assert.Equal(Packing.BaselineKernelFiles(Packing.GdnDecode), candidate.Sources.Select(s => s.Path));
        Assert.Equal("run", candidate.EntrySymbol);
        Assert.Equal(TargetKind.Portable, candidate.Target);
        Assert.Equal(solution.Name, candidate.Name);
    }

    [Fact]
    public void Author_and_name_options_override_the_source()
    {
        var result = Packing.PackBaseline(Packing.GdnDecode, BindingKind.TvmFfi, new PackOptions(BindingKind.TvmFfi, Author: "team-x", Name: "gdn_v2"));

        Assert.Equal("team-x", result.Solution!.Author);
        Assert.Equal("gdn_v2", result.Solution.Name);
    }

    [Fact]
    public void Tuned_values_are_written_into_each_translation_unit()
    {
        var kernel = Packing.Kernel(before: "// @tunable BLOCK: 64, 128 (default 64)\n#ifndef BLOCK\n#define BLOCK 64\n#endif");
        var candidate = new CandidateSource("tuned", Packing.Moe, [new SourceFile("kernel.cu", kernel), new SourceFile("common.cuh", "#pragma once\n")],
            Defines: new Dictionary<string, string> { ["BLOCK"] = "128", ["A"] = "1" });

        var result = Packing.Packer.Pack(Packing.Definition(Packing.Moe), new PackInput(candidate), new PackOptions(BindingKind.TvmFfi));

        var packed = result.Solution!.Sources.ToDictionary(s => s.Path, s => s.Content);
        Assert.StartsWith("// AgentForge: the tuned setting, fixed here because FlashInfer-Bench's builders take no -D flags.\n#define A 1\n#define BLOCK 128\n\n#include \"agentforge.h\"", packed["kernel.cu"]);
        Assert.Equal("#pragma once\n", packed["common.cuh"]);
        Assert.Contains(result.Findings, f => f.Check == PackCheck.BakedDefines && f.Severity == FindingSeverity.Note);
    }

    [Fact]
    public void Solution_rules_catch_what_the_schema_cannot()
    {
        var solution = Packing.PackedBaseline(Packing.GdnDecode, BindingKind.TvmFfi);
        var broken = solution with
        {
            Spec = solution.Spec with { EntryPoint = "binding.cu::ns::run" },
            Sources = [.. solution.Sources, new SourceFile("kernel.cu", "x"), new SourceFile("../up.cu", "x"), new SourceFile("/abs.cu", "x")],
        };

        var errors = SolutionRules.Check(broken, "s.json").Select(e => e.Message).ToList();

        Assert.Contains(errors, e => e.Contains("exactly one '::' (found 2)"));
        Assert.Contains(errors, e => e.Contains("duplicate source path 'kernel.cu'"));
        Assert.Contains(errors, e => e.Contains("contains '..'"));
        Assert.Contains(errors, e => e.Contains("is absolute"));
        Assert.Contains("entry file 'missing.cu' is not among the sources",
            SolutionRules.Check(solution with { Spec = solution.Spec with { EntryPoint = "missing.cu::run" } }, "s.json")[0].Message);
    }
}
