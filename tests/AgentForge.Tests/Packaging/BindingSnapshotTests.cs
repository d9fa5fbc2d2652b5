using AgentForge.Tools.Packaging;

namespace AgentForge.Tests.Packaging;

public sealed class BindingSnapshotTests
{
    private static string SnapshotPath(string definition, string binding) =>
        Path.Combine(Packing.RepositoryRoot(), "tests", "AgentForge.Tests", "Packaging", "Snapshots", $"{definition}.{binding}.binding.cu");

    /// <summary>
    /// The bindings are what FlashInfer-Bench compiles and calls: any change must be deliberate.
    /// Set AGENTFORGE_UPDATE_SNAPSHOTS=1 to rewrite the snapshots after such a change.
    /// </summary>
    [Theory]
    [MemberData(nameof(Packing.DefinitionsAndBindings), MemberType = typeof(Packing))]
    public void Bindings_match_their_snapshots(string definition, string binding)
    {
        var generated = BindingGenerator.Generate(Packing.Definition(definition), Packing.Binding(binding), "run");
        var path = SnapshotPath(definition, binding);
        if (Environment.GetEnvironmentVariable("AGENTFORGE_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, generated);
        }
        Assert.True(File.Exists(path), $"no snapshot at {path}; run once with AGENTFORGE_UPDATE_SNAPSHOTS=1 and review it");
        Assert.Equal(File.ReadAllText(path), generated);
    }

    [Fact]
    public void The_tvm_ffi_binding_exports_run_with_tensor_views_and_the_env_stream()
    {
        var text = BindingGenerator.Generate(Packing.Definition(Packing.Moe), BindingKind.TvmFfi, "run");

        Assert.Contains("TVM_FFI_DLL_EXPORT_TYPED_FUNC(run, agentforge_binding::Run);", text);
        Assert.Contains("void Run(TensorView routing_logits,", text);
        Assert.Contains("int64_t local_expert_offset,", text);
        Assert.Contains("double routed_scaling_factor,", text);
        Assert.Contains("TVMFFIEnvGetStream(afg_device.device_type, afg_device.device_id)", text);
        Assert.Contains("static_cast<int32_t>(local_expert_offset),", text);
        Assert.Contains("static_cast<float>(routed_scaling_factor),", text);
        Assert.Contains("if (dtype.code == kDLFloat8_e4m3fn && dtype.bits == 8) {", text);
    }

    [Fact]
    public void The_torch_binding_is_a_pybind11_module_on_the_current_stream()
    {
        var text = BindingGenerator.Generate(Packing.Definition(Packing.Moe), BindingKind.Torch, "run");

        Assert.Contains("PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {", text);
        Assert.Contains("m.def(\"run\", &agentforge_binding::Run,", text);
        Assert.Contains("c10::cuda::getCurrentCUDAStream(afg_device).stream()", text);
        Assert.Contains("case c10::ScalarType::Float8_e4m3fn:", text);
        Assert.Contains("pybind11::arg(\"routed_scaling_factor\")", text);
    }

    [Fact]
    public void Optional_inputs_may_be_absent_in_both_bindings()
    {
        var definition = Packing.Definition(Packing.GdnDecode);

        Assert.Contains("Optional<TensorView> state,", BindingGenerator.Generate(definition, BindingKind.TvmFfi, "run"));
        Assert.Contains("const std::optional<torch::Tensor>& state,", BindingGenerator.Generate(definition, BindingKind.Torch, "run"));
        Assert.Contains("? ToTensor(*t, name) : afg::Tensor{};", BindingGenerator.Generate(definition, BindingKind.Torch, "run"));
    }

    [Theory]
    [InlineData("tvm-ffi")]
    [InlineData("torch")]
    public void The_marker_names_the_definition_binding_and_kernel_entry(string binding)
    {
        var text = BindingGenerator.Generate(Packing.Definition(Packing.GdnDecode), Packing.Binding(binding), "gdn_entry");

        Assert.Equal(new BindingMarker(Packing.GdnDecode, Packing.Binding(binding), "gdn_entry"), BindingGenerator.ParseMarker(text));
        Assert.Contains("::gdn_entry(ToTensor(q, \"q\"),", text);
        Assert.Null(BindingGenerator.ParseMarker("// my own binding\n" + text));
    }

    [Fact]
    public void Parameter_names_that_are_cpp_keywords_or_binding_locals_are_renamed()
    {
        var definition = Packing.Definition(Packing.GdnDecode);
        var renamed = definition with
        {
            Inputs = [.. definition.Inputs.Select(i => i.Name switch
            {
                "a" => i with { Name = "new" },
                "b" => i with { Name = "afg_stream" },
                "dt_bias" => i with { Name = "stream" },
                _ => i,
            })],
        };

        var text = BindingGenerator.Generate(renamed, BindingKind.Torch, "run");

        Assert.Contains("void run(afg::Tensor q, afg::Tensor k, afg::Tensor v, afg::Tensor state, afg::Tensor A_log, afg::Tensor new_, afg::Tensor stream_, afg::Tensor afg_stream_, float scale, ", text);

        Assert.Contains("const torch::Tensor& new_,", text);
        Assert.Contains("ToTensor(new_, \"new\")", text);
        Assert.Contains("const torch::Tensor& afg_stream_,", text);
        Assert.Contains("pybind11::arg(\"new\")", text);
    }
}
