using System.Text;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// binding.cu for FlashInfer-Bench's TVM-FFI builder: an exported typed function
/// (TVM_FFI_DLL_EXPORT_TYPED_FUNC, found by tvm_ffi.load_module as `run`) whose tensors are
/// tvm::ffi::TensorView and whose stream is the one TVM-FFI holds for the tensors' device
/// (TVMFFIEnvGetStream: the caller's current stream when called from torch). Written against the
/// API of apache-tvm-ffi 0.1.2, the oldest version FlashInfer-Bench accepts.
/// </summary>
internal static class TvmFfiBinding
{
    public static string Generate(Definition definition, string kernelEntry)
    {
        var parameters = BindingGenerator.Parameters(definition);
        var device = BindingGenerator.DeviceTensor(parameters);
        var text = new StringBuilder();
        text.AppendLine(BindingGenerator.MarkerLine(definition, BindingKind.TvmFfi, kernelEntry));
        text.AppendLine("//");
        text.AppendLine("// FlashInfer-Bench's TVM-FFI builder compiles this file with the kernel sources and calls the");
        text.AppendLine("// exported `run` with the definition's inputs, then its outputs (destination passing). Tensors");
        text.AppendLine("// become afg::Tensor (an absent optional input has data == nullptr), scalars are passed in the");
        text.AppendLine("// contract's C++ types, and the kernel runs on the stream TVM-FFI holds for the tensors' device.");
        text.AppendLine("#include <tvm/ffi/container/tensor.h>");
        text.AppendLine("#include <tvm/ffi/error.h>");
        text.AppendLine("#include <tvm/ffi/extra/c_env_api.h>");
        text.AppendLine("#include <tvm/ffi/function.h>");
        text.AppendLine("#include <tvm/ffi/optional.h>");
        text.AppendLine();
        BindingGenerator.AppendCommonPrologue(text, definition, kernelEntry);
        text.AppendLine("using tvm::ffi::Optional;");
        text.AppendLine("using tvm::ffi::TensorView;");
        text.AppendLine();
        text.AppendLine($"// The definition's tensor dtypes ({string.Join(", ", BindingGenerator.TensorDTypes(definition).Select(d => d.Name()))}), as DLPack spells them.");
        text.AppendLine("bool ToDType(DLDataType dtype, afg::DType* out) {");
        text.AppendLine("  if (dtype.lanes != 1) return false;");
        foreach (var dtype in BindingGenerator.TensorDTypes(definition))
        {
            var (code, bits) = DlPack(dtype);
            text.AppendLine($"  if (dtype.code == {code} && dtype.bits == {bits}) {{");
            text.AppendLine($"    *out = afg::DType::{BindingGenerator.DTypeMember(dtype)};");
            text.AppendLine("    return true;");
            text.AppendLine("  }");
        }
        text.AppendLine("  return false;");
        text.AppendLine("}");
        text.AppendLine();
        text.AppendLine("afg::Tensor ToTensor(const TensorView& view, const char* name) {");
        text.AppendLine("  if (view.device().device_type != kDLCUDA) {");
        text.AppendLine("    TVM_FFI_THROW(ValueError) << name << \" must be a CUDA tensor\";");
        text.AppendLine("  }");
        text.AppendLine("  if (!view.IsContiguous()) {");
        text.AppendLine("    TVM_FFI_THROW(ValueError) << name << \" must be contiguous (row-major)\";");
        text.AppendLine("  }");
        text.AppendLine("  if (view.ndim() > afg::kMaxRank) {");
        text.AppendLine("    TVM_FFI_THROW(ValueError) << name << \" has rank \" << view.ndim() << \", more than \" << afg::kMaxRank;");
        text.AppendLine("  }");
        text.AppendLine("  afg::Tensor tensor{};");
        text.AppendLine("  if (!ToDType(view.dtype(), &tensor.dtype)) {");
        text.AppendLine("    TVM_FFI_THROW(TypeError) << name << \" has DLPack dtype (code \" << static_cast<int>(view.dtype().code) << \", bits \"");
        text.AppendLine("                             << static_cast<int>(view.dtype().bits) << \"), which the definition does not use\";");
        text.AppendLine("  }");
        text.AppendLine("  tensor.data = static_cast<char*>(view.data_ptr()) + view.byte_offset();");
        text.AppendLine("  tensor.rank = view.ndim();");
        text.AppendLine("  for (int32_t i = 0; i < tensor.rank; ++i) tensor.shape[i] = view.shape()[i];");
        text.AppendLine("  return tensor;");
        text.AppendLine("}");
        text.AppendLine();
        if (parameters.Any(p => p.IsOptional))
        {
            text.AppendLine("afg::Tensor ToTensor(const Optional<TensorView>& view, const char* name) {");
            text.AppendLine("  return view.has_value() ? ToTensor(view.value(), name) : afg::Tensor{};");
            text.AppendLine("}");
            text.AppendLine();
        }
        var signature = parameters.Select(p => p.IsScalar
            ? $"{BindingGenerator.ScalarTypes(p.Spec.DType).Received} {p.Identifier}"
            : p.IsOptional ? $"Optional<TensorView> {p.Identifier}" : $"TensorView {p.Identifier}").ToList();
        BindingGenerator.AppendList(text, "void Run(", signature, ") {");
        text.AppendLine($"  const DLDevice afg_device = {device.Identifier}.device();");
        text.AppendLine("  DeviceScope afg_scope(afg_device.device_id);");
        text.AppendLine("  cudaStream_t afg_stream = static_cast<cudaStream_t>(TVMFFIEnvGetStream(afg_device.device_type, afg_device.device_id));");
        BindingGenerator.AppendKernelCall(text, kernelEntry, parameters, "afg_stream");
        text.AppendLine("  // The entry's own error, else a failed launch: an error of this call, not of a later one.");
        text.AppendLine("  const cudaError_t afg_error = afg::take_call_error();");
        text.AppendLine("  if (afg_error != cudaSuccess) {");
        text.AppendLine($"    TVM_FFI_THROW(RuntimeError) << \"{definition.Name}: \" << cudaGetErrorString(afg_error);");
        text.AppendLine("  }");
        text.AppendLine("}");
        text.AppendLine();
        text.AppendLine("}  // namespace agentforge_binding");
        text.AppendLine();
        text.AppendLine($"TVM_FFI_DLL_EXPORT_TYPED_FUNC({PackLayout.EntrySymbol}, agentforge_binding::Run);");
        return text.ToString();
    }

    /// <summary>DLPack type code and bits of a dtype (DLPack 1.x codes for the fp8/fp4 types).</summary>
    internal static (string Code, int Bits) DlPack(DType dtype) => dtype switch
    {
        DType.Float32 => ("kDLFloat", 32),
        DType.Float16 => ("kDLFloat", 16),
        DType.BFloat16 => ("kDLBfloat", 16),
        DType.Float8E4M3FN => ("kDLFloat8_e4m3fn", 8),
        DType.Float8E5M2 => ("kDLFloat8_e5m2", 8),
        DType.Float4E2M1 => ("kDLFloat4_e2m1fn", 4),
        DType.Int64 => ("kDLInt", 64),
        DType.Int32 => ("kDLInt", 32),
        DType.Int16 => ("kDLInt", 16),
        DType.Int8 => ("kDLInt", 8),
        DType.Bool => ("kDLBool", 8),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}
