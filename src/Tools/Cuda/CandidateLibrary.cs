using System.Runtime.InteropServices;

namespace AgentForge.Tools.Cuda;

/// <summary>afg::Tensor as laid out in agentforge.h (80 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct NativeTensor
{
    public const int MaxRank = 8;
    public ulong Data;
    public int DType;
    public int Rank;
    public fixed long Shape[MaxRank];
}

/// <summary>afg::Scalar as laid out in agentforge.h (8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct NativeScalar
{
    [FieldOffset(0)] public float F32;
    [FieldOffset(0)] public int I32;
    [FieldOffset(0)] public long I64;
    [FieldOffset(0)] public byte Bool;
}

/// <summary>
/// A candidate's shared library, loaded into the worker. The generated shim exports the entry
/// (tensors, scalars, stream) -> cudaError_t and the calling-convention signature.
/// </summary>
public sealed unsafe class CandidateLibrary
{
    private readonly delegate* unmanaged<NativeTensor*, NativeScalar*, nint, int> entry;
    private readonly delegate* unmanaged<int, nint> errorString;

    private CandidateLibrary(nint handle, delegate* unmanaged<NativeTensor*, NativeScalar*, nint, int> entry, delegate* unmanaged<int, nint> errorString, string signature)
    {
        Handle = handle;
        this.entry = entry;
        this.errorString = errorString;
        Signature = signature;
    }

    /// <summary>The CUDA runtime's text for an error code the entry returned.</summary>
    public string DescribeRuntimeError(int error) =>
        $"cudaError {error}: {Marshal.PtrToStringUTF8(errorString(error)) ?? "unknown"}";

    public nint Handle { get; }

    public string Signature { get; }

    /// <summary>Loads the library; returns null and a reason when it is not a valid candidate.</summary>
    public static CandidateLibrary? TryLoad(string path, out string? error)
    {
        if (!NativeLibrary.TryLoad(path, out var handle))
        {
            error = $"could not load '{path}' (missing file, wrong architecture or unresolved symbols)";
            return null;
        }
        if (!NativeLibrary.TryGetExport(handle, "agentforge_entry", out var entryAddress)
            || !NativeLibrary.TryGetExport(handle, "agentforge_signature", out var signatureAddress)
            || !NativeLibrary.TryGetExport(handle, "agentforge_error_string", out var errorAddress))
        {
            error = $"'{path}' does not export agentforge_entry/agentforge_signature (not built by AgentForge)";
            return null;
        }
        var signature = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)signatureAddress)()) ?? "";
        error = null;
        return new CandidateLibrary(handle, (delegate* unmanaged<NativeTensor*, NativeScalar*, nint, int>)entryAddress, (delegate* unmanaged<int, nint>)errorAddress, signature);
    }

    /// <summary>Calls the candidate; returns the CUDA runtime error code its launches left (0 = none).</summary>
    public int Call(ReadOnlySpan<NativeTensor> tensors, ReadOnlySpan<NativeScalar> scalars, CudaStream stream)
    {
        fixed (NativeTensor* t = tensors)
        fixed (NativeScalar* s = scalars)
        {
            return entry(t, s, stream.Raw);
        }
    }
}
