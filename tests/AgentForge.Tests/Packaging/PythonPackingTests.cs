using AgentForge.Tests.Inputs;
using AgentForge.Tests.Scripts;
using AgentForge.Tests.Trace;
using AgentForge.Tools.Packaging;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Packaging;

/// <summary>
/// `pack --binding python`: a Python solution whose generated main.py builds the CUDA sources
/// with torch.utils.cpp_extension for the candidate's arch-specific target (FlashInfer-Bench's
/// FAQ workaround for the builders' fixed flags).
/// </summary>
public sealed class PythonPackingTests
{
    public static TheoryData<string> Definitions() => [.. Packing.DefinitionNames];

    [Theory]
    [MemberData(nameof(Definitions))]
    public void Every_baseline_packs_as_a_valid_python_solution_with_the_torch_binding_and_a_launcher(string definition)
    {
        var result = Packing.PackBaseline(definition, BindingKind.Python);
        Assert.False(result.Refused, string.Join("\n", result.Findings));
        var solution = result.Solution!;
        var json = TraceJson.WriteSolution(solution);

        Assert.Empty(SchemaCheck.Errors("solution", json));
        Assert.Empty(SolutionRules.Check(solution, "(packed)"));
        Assert.Equal(("python", "main.py::run", true, (string?)null), (solution.Spec.Language, solution.Spec.EntryPoint, solution.Spec.DestinationPassingStyle, solution.Spec.Binding));
        Assert.Equal(Packing.BaselineHardware(definition), solution.Spec.TargetHardware);
        var binding = solution.Sources.Single(s => s.Path == "binding.cu");
        Assert.Equal(BindingGenerator.Generate(Packing.Definition(definition), BindingKind.Python, "run"), binding.Content);
        Assert.Equal(BindingKind.Python, BindingGenerator.ParseMarker(binding.Content)!.Binding);
        var launcher = solution.Sources.Single(s => s.Path == "main.py").Content;
        Assert.True(PythonLauncher.IsGenerated(new SourceFile("main.py", launcher)));
        // Every translation unit is compiled by the launcher, headers are only included.
        var units = solution.Sources.Where(s => PackLayout.IsTranslationUnit(s.Path)).Select(s => $"\"{s.Path}\"").ToList();
        Assert.Contains($"_SOURCES = [{string.Join(", ", units.Order(StringComparer.Ordinal))}]", launcher);
        Assert.Equal(PackedSolution.KernelSources(Packing.PackedBaseline(definition, BindingKind.Torch)), PackedSolution.KernelSources(solution));
    }

    [Fact]
    public void The_moe_launcher_builds_sm_90a_on_hopper_and_packing_notes_it_instead_of_warning()
    {
        var result = Packing.PackBaseline(Packing.Moe, BindingKind.Python);
        var launcher = result.Solution!.Sources.Single(s => s.Path == "main.py").Content;

        Assert.Contains("_ARCH_SPECIFIC = \"9.0a\"", launcher);
        var arch = Assert.Single(result.Findings, f => f.Check == PackCheck.ArchSpecific);
        Assert.Equal(FindingSeverity.Note, arch.Severity);
        Assert.Contains("builds the sources for sm_90a where the device is that architecture", arch.Message);
        var portable = Packing.PackBaseline(Packing.GdnDecode, BindingKind.Python).Solution!.Sources.Single(s => s.Path == "main.py").Content;
        Assert.Contains("_ARCH_SPECIFIC = None", portable);
    }

    [Fact]
    public void Packing_an_arch_specific_baseline_for_the_plain_builders_points_at_the_python_binding()
    {
        var result = Packing.PackBaseline(Packing.Moe, BindingKind.Torch);

        var declared = Assert.Single(result.Findings, f => f.Check == PackCheck.ArchSpecific && f.File is null);
        Assert.Contains("`--binding python` packs a Python solution that builds it for sm_90a itself", declared.Message);
    }

    [Fact]
    public void Unguarded_arch_specific_instructions_are_a_warning_under_python_and_an_error_under_torch()
    {
        var kernel = Packing.Kernel(body: "asm volatile(\"wgmma.fence.sync.aligned;\" ::: \"memory\");");
        var input = Packing.Input(Packing.Moe, new SourceFile("kernel.cu", kernel)) with { Target = "sm_90a" };

        var python = Packing.Packer.Pack(Packing.Definition(Packing.Moe), input, new PackOptions(BindingKind.Python));
        var torch = Packing.Packer.Pack(Packing.Definition(Packing.Moe), input, new PackOptions(BindingKind.Torch));

        Assert.False(python.Refused);
        Assert.Equal(FindingSeverity.Warning, Assert.Single(python.Findings, f => f.Check == PackCheck.ArchSpecific).Severity);
        Assert.True(torch.Refused);
    }

    [Fact]
    public void Pack_extract_pack_is_byte_identical_and_the_extracted_folder_repacks_with_another_binding()
    {
        using var temp = new TempDirectory();
        var first = TraceJson.WriteSolution(Packing.PackedBaseline(Packing.Moe, BindingKind.Python));

        var folder = SolutionFolder.Extract(TraceJson.ReadSolution(first, "first.json").Value!, temp.Path, "first.json");
        Assert.True(folder.IsOk, folder.Error?.ToString());
        var input = SolutionFolder.Read(folder.Value, Packing.Moe);
        Assert.True(input.IsOk, input.Error?.ToString());
        var again = Packing.Packer.Pack(Packing.Definition(Packing.Moe), input.Value, new PackOptions(BindingKind.Python));
        var torch = Packing.Packer.Pack(Packing.Definition(Packing.Moe), input.Value, new PackOptions(BindingKind.Torch));

        Assert.Equal(first, TraceJson.WriteSolution(again.Solution!));
        Assert.DoesNotContain(torch.Solution!.Sources, s => s.Path == "main.py");
    }

    [Fact]
    public void Bench_reads_a_python_solution_as_the_kernel_it_packed_for_its_target()
    {
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "solution.json");
        File.WriteAllText(path, TraceJson.WriteSolution(Packing.PackedBaseline(Packing.Moe, BindingKind.Python)));

        var (candidate, error) = AgentForge.Orchestrator.Commands.BenchRun.FromSolution(path, Packing.Definition(Packing.Moe));

        Assert.Null(error);
        Assert.Equal(AgentForge.Tools.Build.TargetKind.ArchSpecific, candidate!.Target);
        Assert.DoesNotContain(candidate.Sources, s => s.Path is "main.py" or "binding.cu" or "agentforge.h");
        Assert.Contains(candidate.Sources, s => s.Path == "kernel.cu");
        Assert.Equal("run", candidate.EntrySymbol);
    }

    [Theory]
    [InlineData("sm_90a", "9.0a")]
    [InlineData("sm_100a", "10.0a")]
    [InlineData("sm_100f", "10.0f")]
    [InlineData("sm_90", null)]
    [InlineData("hopper", null)]
    [InlineData(null, null)]
    public void Targets_become_torch_arch_list_entries(string? target, string? expected) =>
        Assert.Equal(expected, PythonLauncher.ArchListEntry(target));

    [Fact]
    public void The_launcher_is_valid_python()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");
        var launcher = Packing.PackedBaseline(Packing.Moe, BindingKind.Python).Sources.Single(s => s.Path == "main.py").Content;
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "main.py");
        File.WriteAllText(path, launcher);

        var (exitCode, output) = PythonScript.Run("-c", "import ast, sys; ast.parse(open(sys.argv[1]).read()); print('parsed')", path);

        Assert.True(exitCode == 0, output);
        Assert.Contains("parsed", output);
    }
}
