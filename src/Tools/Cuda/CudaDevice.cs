using System.Runtime.InteropServices;

namespace AgentForge.Tools.Cuda;

/// <summary>What the worker reports about its GPU.</summary>
public sealed record DeviceInfo(
    int Ordinal,
    string Name,
    int ComputeMajor,
    int ComputeMinor,
    int MultiprocessorCount,
    long L2CacheBytes,
    long TotalMemoryBytes,
    int SharedMemoryPerBlockOptin,
    int DriverVersion,
    string? PciBusId = null)
{
    public string Architecture => $"sm_{ComputeMajor}{ComputeMinor}";

    /// <summary>FlashInfer-Bench's hardware label, e.g. "NVIDIA_H100_80GB_HBM3".</summary>
    public string HardwareLabel => Name.Replace(' ', '_');
}

/// <summary>Result of opening a device: the device, or why there is none (a value, not a crash).</summary>
public sealed record DeviceOpenResult(CudaDevice? Device, string? Error);

/// <summary>
/// One GPU with its primary context retained and current on the calling thread. The primary
/// context is the one the CUDA runtime inside a candidate library also uses, so handles created
/// here are valid in candidate code.
/// </summary>
public sealed class CudaDevice : IDisposable
{
    private readonly int device;
    private bool disposed;

    private CudaDevice(int device, DeviceInfo info)
    {
        this.device = device;
        Info = info;
    }

    public DeviceInfo Info { get; }

    public static DeviceOpenResult TryOpen(int ordinal)
    {
        try
        {
            var init = Interop.cuInit(0);
            if (init != CuResult.Success)
            {
                return new(null, $"no usable GPU: cuInit failed: {CudaException.Describe(init)}");
            }
            CudaException.ThrowIfFailed(Interop.cuDeviceGetCount(out var count));
            if (count == 0)
            {
                return new(null, "no GPU: the CUDA driver reports 0 devices");
            }
            if (ordinal < 0 || ordinal >= count)
            {
                return new(null, $"GPU {ordinal} does not exist: the driver reports {count} device(s)");
            }
            CudaException.ThrowIfFailed(Interop.cuDeviceGet(out var device, ordinal));
            CudaException.ThrowIfFailed(Interop.cuDevicePrimaryCtxRetain(out var context, device));
            CudaException.ThrowIfFailed(Interop.cuCtxSetCurrent(context));
            return new(new CudaDevice(device, ReadInfo(ordinal, device)), null);
        }
        catch (DllNotFoundException e)
        {
            return new(null, $"no CUDA driver: libcuda.so.1 could not be loaded ({e.Message.Split('\n')[0].Trim()})");
        }
        catch (EntryPointNotFoundException e)
        {
            return new(null, $"the CUDA driver is too old for AgentForge: {e.Message}");
        }
        catch (CudaException e)
        {
            return new(null, e.Message);
        }
    }

    private static unsafe DeviceInfo ReadInfo(int ordinal, int device)
    {
        var name = stackalloc byte[256];
        CudaException.ThrowIfFailed(Interop.cuDeviceGetName(name, 256, device));
        CudaException.ThrowIfFailed(Interop.cuDeviceTotalMem_v2(out var total, device));
        CudaException.ThrowIfFailed(Interop.cuDriverGetVersion(out var driver));
        // For NVML (the clock readings while timing): the same GPU by its bus, whatever the ordinals.
        var bus = stackalloc byte[32];
        var pciBusId = Interop.cuDeviceGetPCIBusId(bus, 32, device) == CuResult.Success ? Marshal.PtrToStringUTF8((nint)bus) : null;
        return new DeviceInfo(
            ordinal,
            Marshal.PtrToStringUTF8((nint)name) ?? "unknown",
            Attribute(CuDeviceAttribute.ComputeCapabilityMajor, device),
            Attribute(CuDeviceAttribute.ComputeCapabilityMinor, device),
            Attribute(CuDeviceAttribute.MultiprocessorCount, device),
            Attribute(CuDeviceAttribute.L2CacheSize, device),
            (long)total,
            Attribute(CuDeviceAttribute.MaxSharedMemoryPerBlockOptin, device),
            driver,
            pciBusId);
    }

    private static int Attribute(CuDeviceAttribute attribute, int device)
    {
        CudaException.ThrowIfFailed(Interop.cuDeviceGetAttribute(out var value, attribute, device));
        return value;
    }

    public void Synchronize() => CudaException.ThrowIfFailed(Interop.cuCtxSynchronize());

    public (long Free, long Total) MemoryInfo()
    {
        CudaException.ThrowIfFailed(Interop.cuMemGetInfo_v2(out var free, out var total));
        return ((long)free, (long)total);
    }

    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            Interop.cuDevicePrimaryCtxRelease_v2(device);
        }
    }
}
