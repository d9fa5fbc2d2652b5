using System.Text;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// binding.cu for FlashInfer-Bench's torch builder (torch.utils.cpp_extension.load, which names
/// the module TORCH_EXTENSION_NAME): a PYBIND11_MODULE function `run` taking torch tensors
/// (std::optional for optional inputs) and launching on the current CUDA stream of the tensors'
/// device.
/// </summary>
internal static class TorchBinding
{
    /// <param name="marker">The pack mode the first line records: torch, or python (the same binding,
    /// built by the generated main.py).</param>
    public static string Generate(Definition definition, string kernelEntry, BindingKind marker = BindingKind.Torch)
    {
        var parameters = BindingGenerator.Parameters(definition);
        var device = BindingGenerator.DeviceTensor(parameters);
        var text = new StringBuilder();
        text.AppendLine(BindingGenerator.MarkerLine(definition, marker, kernelEntry));
        text.AppendLine("//");
        text.AppendLine("// FlashInfer-Bench's torch builder compiles this file with the kernel sources");
        text.AppendLine("// (torch.utils.cpp_extension.load) and calls the module's `run` with the definition's inputs,");
        text.AppendLine("// then its outputs (destination passing). Tensors become afg::Tensor (an absent optional input");
        text.AppendLine("// has data == nullptr), scalars are passed in the contract's C++ types, and the kernel runs on");
        text.AppendLine("// the current CUDA stream of the tensors' device.");
        text.AppendLine("#include <optional>");
        text.AppendLine();
        text.AppendLine("#include <c10/cuda/CUDAStream.h>");
        text.AppendLine("#include <torch/extension.h>");
        text.AppendLine();
        BindingGenerator.AppendCommonPrologue(text, definition, kernelEntry);
        text.AppendLine($"// The definition's tensor dtypes ({string.Join(", ", BindingGenerator.TensorDTypes(definition).Select(d => d.Name()))}).");
        text.AppendLine("bool ToDType(c10::ScalarType type, afg::DType* out) {");
        text.AppendLine("  switch (type) {");
        foreach (var dtype in BindingGenerator.TensorDTypes(definition))
        {
            text.AppendLine($"    case c10::ScalarType::{ScalarType(dtype)}:");
            text.AppendLine($"      *out = afg::DType::{BindingGenerator.DTypeMember(dtype)};");
            text.AppendLine("      return true;");
        }
        text.AppendLine("    default:");
        text.AppendLine("      return false;");
        text.AppendLine("  }");
        text.AppendLine("}");
        text.AppendLine();
        text.AppendLine("afg::Tensor ToTensor(const torch::Tensor& t, const char* name) {");
        text.AppendLine("  TORCH_CHECK(t.is_cuda(), name, \" must be a CUDA tensor\");");
        text.AppendLine("  TORCH_CHECK(t.is_contiguous(), name, \" must be contiguous (row-major)\");");
        text.AppendLine("  TORCH_CHECK(t.dim() <= afg::kMaxRank, name, \" has rank \", t.dim(), \", more than \", afg::kMaxRank);");
        text.AppendLine("  afg::Tensor tensor{};");
        text.AppendLine("  TORCH_CHECK(ToDType(t.scalar_type(), &tensor.dtype), name, \" has dtype \", t.scalar_type(), \", which the definition does not use\");");
        text.AppendLine("  tensor.data = t.data_ptr();");
        text.AppendLine("  tensor.rank = static_cast<int32_t>(t.dim());");
        text.AppendLine("  for (int32_t i = 0; i < tensor.rank; ++i) tensor.shape[i] = t.size(i);");
        text.AppendLine("  return tensor;");
        text.AppendLine("}");
        text.AppendLine();
        if (parameters.Any(p => p.IsOptional))
        {
            text.AppendLine("afg::Tensor ToTensor(const std::optional<torch::Tensor>& t, const char* name) {");
            text.AppendLine("  return t.has_value() ? ToTensor(*t, name) : afg::Tensor{};");
            text.AppendLine("}");
            text.AppendLine();
        }
        var signature = parameters.Select(p => p.IsScalar
            ? $"{BindingGenerator.ScalarTypes(p.Spec.DType).Received} {p.Identifier}"
            : p.IsOptional ? $"const std::optional<torch::Tensor>& {p.Identifier}" : $"const torch::Tensor& {p.Identifier}").ToList();
        BindingGenerator.AppendList(text, "void Run(", signature, ") {");
        text.AppendLine($"  const int afg_device = {device.Identifier}.get_device();");
        text.AppendLine("  DeviceScope afg_scope(afg_device);");
        text.AppendLine("  const cudaStream_t afg_stream = c10::cuda::getCurrentCUDAStream(afg_device).stream();");
        BindingGenerator.AppendKernelCall(text, kernelEntry, parameters, "afg_stream");
        text.AppendLine("  // The entry's own error, else a failed launch: an error of this call, not of a later one.");
        text.AppendLine("  const cudaError_t afg_error = afg::take_call_error();");
        text.AppendLine($"  TORCH_CHECK(afg_error == cudaSuccess, \"{definition.Name}: \", cudaGetErrorString(afg_error));");
        text.AppendLine("}");
        text.AppendLine();
        text.AppendLine("}  // namespace agentforge_binding");
        text.AppendLine();
        text.AppendLine("PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {");
        var arguments = new List<string> { "&agentforge_binding::Run", $"\"{definition.Name}: inputs, then outputs (destination passing)\"" };
        arguments.AddRange(parameters.Select(p => $"pybind11::arg(\"{p.Name}\")"));
        BindingGenerator.AppendList(text, $"  m.def(\"{PackLayout.EntrySymbol}\", ", arguments, ");");
        text.AppendLine("}");
        return text.ToString();
    }

    /// <summary>The c10::ScalarType member of a dtype.</summary>
    internal static string ScalarType(DType dtype) => dtype switch
    {
        DType.Float32 => "Float",
        DType.Float16 => "Half",
        DType.BFloat16 => "BFloat16",
        DType.Float8E4M3FN => "Float8_e4m3fn",
        DType.Float8E5M2 => "Float8_e5m2",
        DType.Float4E2M1 => "Float4_e2m1fn_x2",
        DType.Int64 => "Long",
        DType.Int32 => "Int",
        DType.Int16 => "Short",
        DType.Int8 => "Char",
        DType.Bool => "Bool",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}
