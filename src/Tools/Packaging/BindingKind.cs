namespace AgentForge.Tools.Packaging;

/// <summary>How FlashInfer-Bench loads a packed CUDA solution (the solution's spec.binding).</summary>
public enum BindingKind
{
    /// <summary>TVM-FFI (FlashInfer-Bench's default for CUDA): an exported typed function taking TensorViews.</summary>
    TvmFfi,

    /// <summary>A torch extension built with torch.utils.cpp_extension; the entry is a PYBIND11_MODULE function.</summary>
    Torch,

    /// <summary>
    /// A Python solution (language "python", entry main.py::run) whose generated main.py builds the
    /// CUDA sources and the torch binding with torch.utils.cpp_extension itself, for the
    /// candidate's architecture-specific target where the device has it: FlashInfer-Bench's
    /// workaround for flags its CUDA builders do not take (its FAQ). spec.binding stays null.
    /// </summary>
    Python,
}

public static class BindingKinds
{
    /// <summary>The spelling of spec.binding in solution.json (and of --binding; a Python solution's spec.binding is null).</summary>
    public static string WireName(this BindingKind kind) => kind switch
    {
        BindingKind.TvmFfi => "tvm-ffi",
        BindingKind.Torch => "torch",
        BindingKind.Python => "python",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static bool TryParse(string? name, out BindingKind kind)
    {
        switch (name)
        {
            case "tvm-ffi":
                kind = BindingKind.TvmFfi;
                return true;
            case "torch":
                kind = BindingKind.Torch;
                return true;
            case "python":
                kind = BindingKind.Python;
                return true;
            default:
                kind = default;
                return false;
        }
    }
}
