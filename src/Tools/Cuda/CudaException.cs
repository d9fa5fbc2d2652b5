using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AgentForge.Tools.Cuda;

/// <summary>A failed driver call: broken infrastructure or a candidate that broke the context.</summary>
public sealed class CudaException(string call, CuResult result)
    : Exception($"{call} failed: {Describe(result)}")
{
    public string Call { get; } = call;
    public CuResult Result { get; } = result;

    /// <summary>True when the context can no longer be used and the process must be restarted.</summary>
    public bool IsSticky => Result is CuResult.IllegalAddress or CuResult.LaunchFailed or CuResult.Assert
        or CuResult.LaunchTimeout or CuResult.Unknown || (int)Result is >= 700 and <= 720;

    internal static void ThrowIfFailed(CuResult result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != CuResult.Success)
        {
            throw new CudaException(CallName(call), result);
        }
    }

    public static string Describe(CuResult result)
    {
        var name = ((int)result).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var text = "";
        try
        {
            if (Interop.cuGetErrorName(result, out var namePtr) == CuResult.Success && namePtr != 0)
            {
                name = Marshal.PtrToStringAnsi(namePtr) ?? name;
            }
            if (Interop.cuGetErrorString(result, out var textPtr) == CuResult.Success && textPtr != 0)
            {
                text = Marshal.PtrToStringAnsi(textPtr) ?? "";
            }
        }
        catch (DllNotFoundException)
        {
        }
        return text.Length > 0 ? $"{name} ({(int)result}): {text}" : $"{name} ({(int)result})";
    }

    // "Interop.cuMemAlloc_v2(out var p, bytes)" -> "cuMemAlloc_v2"
    private static string CallName(string expression)
    {
        var open = expression.IndexOf('(');
        var head = open < 0 ? expression : expression[..open];
        var dot = head.LastIndexOf('.');
        return dot < 0 ? head : head[(dot + 1)..];
    }
}
