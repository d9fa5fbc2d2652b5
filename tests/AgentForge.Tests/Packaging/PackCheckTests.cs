using AgentForge.Tools.Build;
using AgentForge.Tools.Packaging;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Packaging;

public sealed class PackCheckTests
{
    private static string MoeEntry(string name = "run") => ShimGenerator.EntryDeclaration(Packing.Definition(Packing.Moe), name);

    private static PackFinding Single(PackResult result, PackCheck check)
    {
        var matching = result.Findings.Where(f => f.Check == check).ToList();
        Assert.True(matching.Count == 1, $"expected one {check}, found:\n{string.Join("\n", result.Findings)}");
        return matching[0];
    }

    private static PackFinding Refused(PackResult result, PackCheck check)
    {
        Assert.True(result.Refused, "packing should refuse");
        var finding = Single(result, check);
        Assert.Equal(FindingSeverity.Error, finding.Severity);
        return finding;
    }

    [Fact]
    public void A_contract_kernel_packs_without_findings()
    {
        var result = Packing.Pack(Packing.Moe, Packing.Kernel());

        Assert.False(result.Refused);
        Assert.Empty(result.Findings);
    }

    // ---- architecture-specific code ----

    [Theory]
    [InlineData("asm volatile(\"wgmma.fence.sync.aligned;\" ::: \"memory\");", "wgmma", "sm_90a")]
    [InlineData("asm volatile(\"setmaxnreg.inc.sync.aligned.u32 240;\");", "setmaxnreg", "sm_90a")]
    [InlineData("asm volatile(\"tcgen05.commit.cta_group::1.mbarrier::arrive::one.b64 [%0];\" :: \"l\"(0));", "tcgen05", "sm_100a")]
    public void Architecture_specific_instructions_are_refused(string body, string instruction, string target)
    {
        var finding = Refused(Packing.Pack(Packing.Moe, Packing.Kernel(body: body)), PackCheck.ArchSpecific);

        Assert.Equal("kernel.cu", finding.File);
        Assert.Equal(14, finding.Line);
        Assert.StartsWith($"`{instruction}`", finding.Message);
        Assert.Contains($"compiles only for {target}", finding.Message);
        Assert.Contains("plain sm_XY", finding.Message);
    }

    [Fact]
    public void An_include_behind_has_include_may_be_absent_while_a_plain_one_must_be_among_the_sources()
    {
        var optional = Packing.Pack(Packing.Moe, Packing.Kernel(before: "#if __has_include(\"generated.h\")\n#include \"generated.h\"\n#endif"));
        var plain = Packing.Pack(Packing.Moe, Packing.Kernel(before: "#include \"generated.h\""));

        Assert.False(optional.Refused, string.Join("\n", optional.Findings));
        Assert.DoesNotContain(optional.Findings, f => f.Check == PackCheck.HeaderOutsideSources);
        Assert.Contains("generated.h", Refused(plain, PackCheck.HeaderOutsideSources).Message);
    }

    [Fact]
    public void Ptx_carried_as_data_for_the_driver_packs_with_a_warning_while_the_same_text_unmarked_is_refused()
    {
        const string Ptx = "static const char kPtx[] = R\"PTX(.target sm_90a\nwgmma.fence.sync.aligned;\nsetmaxnreg.inc.sync.aligned.u32 240;\n)PTX\";\n";
        var kernel = Packing.Kernel(before: "#include \"side.h\"");
        PackResult PackWith(string header) => Packing.Packer.Pack(Packing.Definition(Packing.Moe),
            Packing.Input(Packing.Moe, new SourceFile("kernel.cu", kernel), new SourceFile("side.h", header)), new PackOptions(BindingKind.TvmFfi));

        var marked = PackWith(PackChecker.SideloadedPtxMarker + " (generated)\n" + Ptx);
        var unmarked = PackWith(Ptx);

        Assert.False(marked.Refused, string.Join("\n", marked.Findings));
        var finding = Single(marked, PackCheck.ArchSpecific);
        Assert.Equal(FindingSeverity.Warning, finding.Severity);
        Assert.Equal("side.h", finding.File);
        Assert.Contains("loaded through the driver", finding.Message);
        Assert.True(unmarked.Refused);
        Assert.Contains(unmarked.Findings, f => f.Check == PackCheck.ArchSpecific && f.Severity == FindingSeverity.Error && f.File == "side.h");
    }

    [Fact]
    public void A_feature_macro_guard_packs_with_a_warning_that_the_official_build_takes_the_other_branch()
    {
        var kernel = Packing.Kernel(before: "#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n#define FAST 1\n#else\n#define FAST 0\n#endif");

        var result = Packing.Pack(Packing.Moe, kernel);

        Assert.False(result.Refused);
        var finding = Single(result, PackCheck.ArchSpecific);
        Assert.Equal(FindingSeverity.Warning, finding.Severity);
        Assert.Equal(6, finding.Line);
        Assert.Contains("takes the other branch", finding.Message);
        Assert.Contains("--target portable", finding.Message);
    }

    // An sm_90a-only instruction that a plain sm_90 build never compiles: the branch of a
    // feature-macro guard, directly or through a macro defined nonzero only inside one.
    [Theory]
    [InlineData("#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n__device__ void f() { asm volatile(\"wgmma.fence.sync.aligned;\"); }\n#endif")]
    [InlineData("#ifdef __CUDA_ARCH_FEAT_SM90_ALL\n__device__ void f() { asm volatile(\"wgmma.fence.sync.aligned;\"); }\n#endif")]
    [InlineData("#ifndef __CUDA_ARCH_FEAT_SM90_ALL\n__device__ void f() {}\n#else\n__device__ void f() { asm volatile(\"wgmma.fence.sync.aligned;\"); }\n#endif")]
    [InlineData("#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n#define HAS_WGMMA 1\n#else\n#define HAS_WGMMA 0\n#endif\n#if HAS_WGMMA\n__device__ void f() { asm volatile(\"wgmma.fence.sync.aligned;\"); }\n#endif")]
    public void A_guarded_architecture_specific_instruction_packs_with_warnings(string before)
    {
        var result = Packing.Pack(Packing.Moe, Packing.Kernel(before: before));

        Assert.False(result.Refused, string.Join("\n", result.Findings));
        var instruction = result.Findings.Single(f => f.Check == PackCheck.ArchSpecific && f.Message.StartsWith("`wgmma`", StringComparison.Ordinal));
        Assert.Equal(FindingSeverity.Warning, instruction.Severity);
        Assert.Contains("only inside feature-macro guards", instruction.Message);
    }

    [Theory]
    [InlineData("#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n__device__ void f() {}\n#else\n__device__ void f() { asm volatile(\"wgmma.fence.sync.aligned;\"); }\n#endif")]
    [InlineData("#if !defined(__CUDA_ARCH_FEAT_SM90_ALL)\n__device__ void f() { asm volatile(\"wgmma.fence.sync.aligned;\"); }\n#endif")]
    [InlineData("#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n#define HAS_WGMMA 1\n#endif\n#define HAS_WGMMA 1\n#if HAS_WGMMA\n__device__ void f() { asm volatile(\"wgmma.fence.sync.aligned;\"); }\n#endif")]
    [InlineData("#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n#endif\n__device__ void f() { asm volatile(\"wgmma.fence.sync.aligned;\"); }")]
    public void An_instruction_a_plain_build_compiles_is_refused_even_beside_a_guard(string before)
    {
        var result = Packing.Pack(Packing.Moe, Packing.Kernel(before: before));

        Assert.True(result.Refused);
        var instruction = result.Findings.Single(f => f.Check == PackCheck.ArchSpecific && f.Message.StartsWith("`wgmma`", StringComparison.Ordinal));
        Assert.Equal(FindingSeverity.Error, instruction.Severity);
        Assert.Contains("ptxas rejects it", instruction.Message);
    }

    [Fact]
    public void A_candidate_built_for_sm_90a_with_guarded_code_packs_with_warnings()
    {
        var kernel = Packing.Kernel(before: "#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n__device__ void f() { asm volatile(\"wgmma.fence.sync.aligned;\"); }\n#endif");
        var input = Packing.Input(Packing.Moe, new SourceFile("kernel.cu", kernel)) with { Target = "sm_90a" };

        var result = Packing.Packer.Pack(Packing.Definition(Packing.Moe), input, new PackOptions(BindingKind.TvmFfi));

        Assert.False(result.Refused);
        Assert.All(result.Findings.Where(f => f.Check == PackCheck.ArchSpecific), f => Assert.Equal(FindingSeverity.Warning, f.Severity));
        Assert.Contains(result.Findings, f => f.File is null && f.Message.Contains("No architecture-specific code outside feature-macro guards", StringComparison.Ordinal));
    }

    [Fact]
    public void A_target_name_in_the_code_is_refused()
    {
        var finding = Refused(Packing.Pack(Packing.Moe, Packing.Kernel(before: "static const char* kBuiltFor = \"sm_100a\";")), PackCheck.ArchSpecific);

        Assert.StartsWith("`sm_100a`: the source names an architecture-specific target.", finding.Message);
    }

    [Fact]
    public void Architecture_names_in_comments_are_not_code()
    {
        var result = Packing.Pack(Packing.Moe, Packing.Kernel(before: "// wgmma and setmaxnreg would need sm_90a\n/* tcgen05 on sm_100a */"));

        Assert.Empty(result.Findings);
    }

    [Fact]
    public void A_candidate_built_for_sm_90a_without_such_code_packs_with_a_warning_and_says_so()
    {
        var input = Packing.Input(Packing.Moe, new SourceFile("kernel.cu", Packing.Kernel())) with { Target = "sm_90a" };

        var result = Packing.Packer.Pack(Packing.Definition(Packing.Moe), input, new PackOptions(BindingKind.TvmFfi));

        Assert.False(result.Refused);
        Assert.Equal(FindingSeverity.Warning, Single(result, PackCheck.ArchSpecific).Severity);
        Assert.Equal(["cuda", "sm_90a"], result.Solution!.Spec.TargetHardware);
        Assert.Equal(TargetKind.ArchSpecific, PackedSolution.ToCandidate(result.Solution).Target);
    }

    // ---- custom flags ----

    [Fact]
    public void Requested_compiler_flags_are_refused()
    {
        var input = Packing.Input(Packing.Moe, new SourceFile("kernel.cu", Packing.Kernel())) with { Flags = ["--use_fast_math", "-maxrregcount=64"] };

        var finding = Refused(Packing.Packer.Pack(Packing.Definition(Packing.Moe), input, new PackOptions(BindingKind.TvmFfi)), PackCheck.CustomFlags);

        Assert.Contains("--use_fast_math -maxrregcount=64", finding.Message);
        Assert.Contains("take no custom compiler flags", finding.Message);
    }

    [Theory]
    [InlineData("// nvcc-flags: --use_fast_math", "compiler flags `--use_fast_math`")]
    [InlineData("// NVCC_FLAGS: -Xptxas -O3", "compiler flags `-Xptxas -O3`")]
    [InlineData("inline void each(int n) { auto f = [=] __device__ (int i) { return i * n; }; (void)f; }", "--extended-lambda")]
    [InlineData("extern __device__ int shared_counter;", "-rdc=true")]
    public void Sources_that_need_compiler_flags_are_refused(string before, string message)
    {
        var finding = Refused(Packing.Pack(Packing.Moe, Packing.Kernel(before: before)), PackCheck.CustomFlags);

        Assert.Equal(6, finding.Line);
        Assert.Contains(message, finding.Message);
    }

    [Fact]
    public void Dynamic_shared_memory_and_attributes_are_not_flags()
    {
        var kernel = Packing.Kernel(before: "extern __shared__ float smem[];\n[[nodiscard]] __device__ int twice(int x) { return 2 * x; }");

        Assert.Empty(Packing.Pack(Packing.Moe, kernel).Findings);
    }

    // ---- headers ----

    [Theory]
    [InlineData("#include <cutlass/gemm/device/gemm.h>", "#include <cutlass/gemm/device/gemm.h> is not among the sources")]
    [InlineData("#include \"helpers.cuh\"", "#include \"helpers.cuh\" is not among the sources")]
    [InlineData("#include <torch/extension.h>", "#include <torch/extension.h> is not among the sources")]
    public void Headers_outside_the_sources_are_refused(string include, string message)
    {
        var finding = Refused(Packing.Pack(Packing.Moe, Packing.Kernel(before: include)), PackCheck.HeaderOutsideSources);

        Assert.Equal(6, finding.Line);
        Assert.StartsWith(message, finding.Message);
    }

    [Fact]
    public void Headers_among_the_sources_the_toolkit_and_the_standard_library_resolve()
    {
        const string Includes = "#include \"detail/tile.cuh\"\n#include <detail/tile.cuh>\n#include <vector>\n#include <math.h>\n#include <cuda/std/atomic>\n"
            + "#include <cooperative_groups.h>\n#include <cooperative_groups/reduce.h>\n#include <cub/cub.cuh>\n#include <cuda_fp8.h>\n#include <mma.h>";
        var sources = new[]
        {
            new SourceFile("kernel.cu", Packing.Kernel(before: Includes)),
            new SourceFile("detail/tile.cuh", "#pragma once\n#include \"common.h\"\n#include \"../agentforge.h\"\n"),
            new SourceFile("detail/common.h", "#pragma once\n"),
        };

        var result = Packing.Packer.Pack(Packing.Definition(Packing.Moe), Packing.Input(Packing.Moe, sources), new PackOptions(BindingKind.TvmFfi));

        Assert.Empty(result.Findings);
    }

    [Fact]
    public void Libraries_the_builders_do_not_link_are_warned_about()
    {
        var kernel = Packing.Kernel(before: "#include <cufft.h>\n#include <cublas_v2.h>");

        var torch = Packing.Pack(Packing.Moe, kernel, BindingKind.Torch);
        var tvm = Packing.Pack(Packing.Moe, kernel, BindingKind.TvmFfi);

        Assert.False(torch.Refused);
        Assert.Equal(2, torch.Findings.Count(f => f.Check == PackCheck.Libraries && f.Severity == FindingSeverity.Warning));
        Assert.Contains("<cufft.h>", Single(tvm, PackCheck.Libraries).Message);
    }

    // ---- the kernel entry ----

    [Fact]
    public void A_missing_entry_is_refused()
    {
        var kernel = Packing.Kernel(declaration: MoeEntry("launch"));

        var finding = Refused(Packing.Pack(Packing.Moe, kernel), PackCheck.EntryNotExported);

        Assert.Null(finding.File);
        Assert.StartsWith("no function `run` is defined in the sources: the binding calls `void run(afg::Tensor routing_logits,", finding.Message);
    }

    [Fact]
    public void A_declared_but_undefined_entry_is_refused()
    {
        var kernel = Packing.Kernel(declaration: MoeEntry("launch"), before: MoeEntry() + ";");

        var finding = Refused(Packing.Pack(Packing.Moe, kernel), PackCheck.EntryNotExported);

        Assert.Equal(6, finding.Line);
        Assert.Contains("is declared but defined in none of the sources", finding.Message);
    }

    [Theory]
    [InlineData("static ", "", "", "it is static")]
    [InlineData("inline ", "", "", "it is inline")]
    [InlineData("namespace mine {\n", "", "\n}  // namespace mine", "inside namespace mine")]
    [InlineData("namespace {\n", "", "\n}", "anonymous namespace")]
    [InlineData("extern \"C\" ", "", "", "C linkage")]
    [InlineData("extern \"C\" {\n", "", "\n}", "C linkage")]
    [InlineData("template <int N>\n", "", "", "is a template")]
    [InlineData("", "__global__ ", "", "__global__ kernel")]
    public void An_entry_the_binding_cannot_call_is_refused(string prefix, string qualifier, string suffix, string reason)
    {
        // The template ends with the entry's closing brace: the suffix closes what the prefix opened.
        var kernel = Packing.Kernel(declaration: prefix + qualifier + MoeEntry()) + suffix;

        var finding = Refused(Packing.Pack(Packing.Moe, kernel), PackCheck.EntryNotExported);

        Assert.Contains(reason, finding.Message);
    }

    [Fact]
    public void Calls_and_members_named_like_the_entry_are_not_definitions()
    {
        var kernel = Packing.Kernel(declaration: MoeEntry("launch"), before: "struct Runner { void run(int n) { } };\nvoid go(Runner r) { r.run(1); }");

        var finding = Refused(Packing.Pack(Packing.Moe, kernel), PackCheck.EntryNotExported);

        Assert.StartsWith("no function `run`", finding.Message);
    }

    [Fact]
    public void An_entry_without_the_stream_has_the_wrong_arity()
    {
        var declaration = MoeEntry().Replace(", cudaStream_t stream", "", StringComparison.Ordinal);
        var kernel = Packing.Kernel(declaration: declaration).Replace("0, stream>>>", ">>>", StringComparison.Ordinal);

        var finding = Refused(Packing.Pack(Packing.Moe, kernel), PackCheck.ArityMismatch);

        Assert.Equal(12, finding.Line);
        Assert.StartsWith($"`run` takes 11 parameters; definition {Packing.Moe} needs 12: 10 inputs (routing_logits, routing_bias, hidden_states,", finding.Message);
        Assert.Contains("1 output (output), then the stream", finding.Message);
    }

    [Theory]
    [InlineData("float routed_scaling_factor", "double routed_scaling_factor", "parameter 10 `double routed_scaling_factor` is a double; the binding passes scalar input routed_scaling_factor (float32) as float")]
    [InlineData("afg::Tensor output", "const afg::Tensor& output", "parameter 11 `const afg::Tensor& output` is a const afg::Tensor &; the binding passes output output as afg::Tensor")]
    [InlineData("int32_t local_expert_offset", "int64_t local_expert_offset", "parameter 9 `int64_t local_expert_offset` is a int64_t; the binding passes scalar input local_expert_offset (int32) as int32_t")]
    public void Parameter_types_that_would_not_link_are_refused(string contract, string written, string message)
    {
        var kernel = Packing.Kernel(declaration: MoeEntry().Replace(contract, written, StringComparison.Ordinal));

        var finding = Refused(Packing.Pack(Packing.Moe, kernel), PackCheck.ParameterType);

        Assert.StartsWith(message, finding.Message);
    }

    [Theory]
    [InlineData("int32_t local_expert_offset", "int local_expert_offset")]
    [InlineData("afg::Tensor hidden_states,", "const afg::Tensor hidden_states,")]
    [InlineData("afg::Tensor gemm2_weights,", "afg::Tensor /* fp8 */ gemm2_weights,")]
    [InlineData("cudaStream_t stream", "cudaStream_t")]
    public void Spellings_of_the_same_type_are_accepted(string contract, string written)
    {
        var kernel = Packing.Kernel(declaration: MoeEntry().Replace(contract, written, StringComparison.Ordinal)).Replace("0, stream>>>", "0, 0>>>", StringComparison.Ordinal);

        Assert.Empty(Packing.Pack(Packing.Moe, kernel).Findings);
    }

    [Fact]
    public void Tensor_without_namespace_is_accepted_under_using_namespace_afg()
    {
        var kernel = Packing.Kernel(before: "using namespace afg;", declaration: MoeEntry().Replace("afg::Tensor", "Tensor", StringComparison.Ordinal));

        Assert.Empty(Packing.Pack(Packing.Moe, kernel).Findings);
    }

    [Fact]
    public void One_overload_with_the_contract_signature_is_enough()
    {
        var kernel = Packing.Kernel(before: "void run(int only_a_helper) { }");

        Assert.Empty(Packing.Pack(Packing.Moe, kernel).Findings);
    }

    // ---- files ----

    [Fact]
    public void Cuda_in_a_host_compiled_file_is_refused()
    {
        var result = Packing.Packer.Pack(Packing.Definition(Packing.Moe), Packing.Input(Packing.Moe, new SourceFile("kernel.cpp", Packing.Kernel())), new PackOptions(BindingKind.TvmFfi));

        var finding = Refused(result, PackCheck.HostCompiledCuda);

        Assert.Equal("kernel.cpp", finding.File);
        Assert.Contains("Rename it to .cu", finding.Message);
    }

    [Fact]
    public void A_candidate_file_named_binding_cu_blocks_packing_even_when_forced()
    {
        var sources = new[] { new SourceFile("kernel.cu", Packing.Kernel()), new SourceFile("binding.cu", "// mine\n") };

        var result = Packing.Packer.Pack(Packing.Definition(Packing.Moe), Packing.Input(Packing.Moe, sources), new PackOptions(BindingKind.TvmFfi, Force: true));

        Assert.True(result.Refused);
        Assert.True(Single(result, PackCheck.ReservedPath).Blocking);
    }

    [Fact]
    public void A_different_agentforge_h_is_replaced_by_the_contract_with_a_warning()
    {
        var sources = new[] { new SourceFile("kernel.cu", Packing.Kernel()), new SourceFile("agentforge.h", "// an old contract\n") };

        var result = Packing.Packer.Pack(Packing.Definition(Packing.Moe), Packing.Input(Packing.Moe, sources), new PackOptions(BindingKind.TvmFfi));

        Assert.Equal(FindingSeverity.Warning, Single(result, PackCheck.ContractHeader).Severity);
        Assert.Equal(Packing.ContractHeader, result.Solution!.Sources.Single(s => s.Path == "agentforge.h").Content);
    }

    [Theory]
    [InlineData("../outside.cu")]
    [InlineData("/abs/kernel.cu")]
    [InlineData("a/./b.cu")]
    public void Source_paths_the_builders_cannot_write_block_packing(string path)
    {
        var result = Packing.Packer.Pack(Packing.Definition(Packing.Moe), Packing.Input(Packing.Moe, new SourceFile("kernel.cu", Packing.Kernel()), new SourceFile(path, "x")),
            new PackOptions(BindingKind.TvmFfi, Force: true));

        Assert.True(result.Refused);
        Assert.True(Single(result, PackCheck.SourcePaths).Blocking);
    }

    // ---- --force ----

    [Fact]
    public void Force_packs_anyway_and_reports_each_error_as_a_forced_warning()
    {
        var kernel = Packing.Kernel(before: "#include <cute/tensor.hpp>", body: "asm volatile(\"wgmma.fence.sync.aligned;\");");

        var result = Packing.Pack(Packing.Moe, kernel, force: true);

        Assert.False(result.Refused);
        Assert.Equal(2, result.Findings.Count);
        Assert.All(result.Findings, f => Assert.True(f.Forced && f.Severity == FindingSeverity.Warning));
        Assert.StartsWith("warning (forced) [arch-specific] kernel.cu:", result.Findings.Single(f => f.Check == PackCheck.ArchSpecific).ToString());
        Assert.StartsWith("warning (forced) [header-outside-sources] kernel.cu:6: ", result.Findings.Single(f => f.Check == PackCheck.HeaderOutsideSources).ToString());
    }
}
