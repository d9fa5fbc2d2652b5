using System.Runtime.InteropServices;

namespace AgentForge.Tools.Cuda;

/// <summary>
/// The CUDA driver API (libcuda.so.1) as the worker needs it. Native names are kept, including
/// their _v2 suffixes, so that an error message names the exact entry point that failed.
/// Only this folder calls native code.
/// </summary>
internal static partial class Interop
{
    private const string Library = "libcuda.so.1";

    [LibraryImport(Library)] internal static partial CuResult cuInit(uint flags);
    [LibraryImport(Library)] internal static partial CuResult cuDriverGetVersion(out int version);
    [LibraryImport(Library)] internal static partial CuResult cuDeviceGetCount(out int count);
    [LibraryImport(Library)] internal static partial CuResult cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Library)] internal static unsafe partial CuResult cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(Library)] internal static partial CuResult cuDeviceGetAttribute(out int value, CuDeviceAttribute attribute, int device);
    [LibraryImport(Library)] internal static partial CuResult cuDeviceTotalMem_v2(out nuint bytes, int device);
    [LibraryImport(Library)] internal static unsafe partial CuResult cuDeviceGetPCIBusId(byte* pciBusId, int length, int device);
    [LibraryImport(Library)] internal static partial CuResult cuDevicePrimaryCtxRetain(out nint context, int device);
    [LibraryImport(Library)] internal static partial CuResult cuDevicePrimaryCtxRelease_v2(int device);
    [LibraryImport(Library)] internal static partial CuResult cuCtxSetCurrent(nint context);
    [LibraryImport(Library)] internal static partial CuResult cuCtxSynchronize();
    [LibraryImport(Library)] internal static partial CuResult cuMemGetInfo_v2(out nuint free, out nuint total);
    [LibraryImport(Library)] internal static partial CuResult cuMemAlloc_v2(out ulong devicePointer, nuint bytes);
    [LibraryImport(Library)] internal static partial CuResult cuMemFree_v2(ulong devicePointer);
    [LibraryImport(Library)] internal static unsafe partial CuResult cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);
    [LibraryImport(Library)] internal static unsafe partial CuResult cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);
    [LibraryImport(Library)] internal static partial CuResult cuMemcpyDtoDAsync_v2(ulong destination, ulong source, nuint bytes, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuMemsetD8Async(ulong destination, byte value, nuint count, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuMemsetD16Async(ulong destination, ushort value, nuint count, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuMemsetD32Async(ulong destination, uint value, nuint count, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuStreamCreate(out nint stream, uint flags);
    [LibraryImport(Library)] internal static partial CuResult cuStreamDestroy_v2(nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuStreamSynchronize(nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuStreamQuery(nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuEventCreate(out nint @event, uint flags);
    [LibraryImport(Library)] internal static partial CuResult cuEventDestroy_v2(nint @event);
    [LibraryImport(Library)] internal static partial CuResult cuEventRecord(nint @event, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuEventSynchronize(nint @event);
    [LibraryImport(Library)] internal static partial CuResult cuEventElapsedTime(out float milliseconds, nint start, nint end);
    [LibraryImport(Library)] internal static partial CuResult cuGetErrorName(CuResult error, out nint name);
    [LibraryImport(Library)] internal static partial CuResult cuGetErrorString(CuResult error, out nint text);
}

/// <summary>CUresult values the worker distinguishes; any other value is printed by number and name.</summary>
public enum CuResult
{
    Success = 0,
    InvalidValue = 1,
    OutOfMemory = 2,
    NotInitialized = 3,
    Deinitialized = 4,
    NoDevice = 100,
    InvalidDevice = 101,
    InvalidContext = 201,
    NotReady = 600,
    IllegalAddress = 700,
    LaunchOutOfResources = 701,
    LaunchTimeout = 702,
    Assert = 710,
    LaunchFailed = 719,
    Unknown = 999,
}

public enum CuDeviceAttribute
{
    MaxThreadsPerBlock = 1,
    ClockRate = 13,
    MultiprocessorCount = 16,
    MemoryClockRate = 36,
    GlobalMemoryBusWidth = 37,
    L2CacheSize = 38,
    ComputeCapabilityMajor = 75,
    ComputeCapabilityMinor = 76,
    MaxSharedMemoryPerBlockOptin = 97,
}
