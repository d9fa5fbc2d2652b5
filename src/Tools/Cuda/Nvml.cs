using System.Runtime.InteropServices;

namespace AgentForge.Tools.Cuda;

/// <summary>One reading of a GPU's SM clock and of what holds its clocks down (NVML's reason bits).</summary>
public readonly record struct ClockSample(uint SmMhz, ulong Reasons);

/// <summary>
/// NVML's clock-limit reason bits (nvmlClocksEventReasons / the older ThrottleReasons, same values)
/// by the names the bench prints. Idle and the application-clock setting are left out: they are
/// states, not limits of a busy GPU.
/// </summary>
public static class ClockLimitReasons
{
    public const ulong SoftwarePowerCap = 0x4;
    public const ulong HardwareSlowdown = 0x8;
    public const ulong SoftwareThermal = 0x20;
    public const ulong HardwareThermal = 0x40;
    public const ulong HardwarePowerBrake = 0x80;

    private static readonly (ulong Bit, string Name)[] Known =
    [
        (SoftwarePowerCap, "power cap"),
        (HardwareSlowdown, "hardware slowdown"),
        (SoftwareThermal, "thermal"),
        (HardwareThermal, "hardware thermal"),
        (HardwarePowerBrake, "power brake"),
    ];

    /// <summary>Every limit the bench names.</summary>
    public static IReadOnlyList<(ulong Bit, string Name)> All => Known;
}

/// <summary>
/// NVML (libnvidia-ml.so.1), opened for one GPU to read its SM clock and clock-limit reasons while a
/// candidate is timed. It reports the clock domain's setting and the slower limits (power cap,
/// thermal), not the fast slowdown of a heavy kernel (session 33: 1980 MHz read while ncu measured the
/// MoE's GEMM1 at 1.59 GHz); see <see cref="Bench.Worker.ClockSummary"/>.
/// The library is loaded at run time: without it (no GPU, a container without the driver's NVML)
/// <see cref="TryOpen"/> returns null and says why, and timings carry no clock.
/// </summary>
public sealed unsafe class Nvml
{
    private const int Success = 0;
    private const int ClockSm = 1;  // NVML_CLOCK_SM
    private static nint library;
    private static string? initError;
    private readonly nint device;
    private readonly delegate* unmanaged[Cdecl]<nint, int, uint*, int> clockInfo;
    private readonly delegate* unmanaged[Cdecl]<nint, ulong*, int> reasons;

    private Nvml(nint device, delegate* unmanaged[Cdecl]<nint, int, uint*, int> clockInfo, delegate* unmanaged[Cdecl]<nint, ulong*, int> reasons)
    {
        this.device = device;
        this.clockInfo = clockInfo;
        this.reasons = reasons;
    }

    /// <summary>NVML's handle of the GPU at <paramref name="pciBusId"/> (the CUDA device's), or null and why not.</summary>
    public static Nvml? TryOpen(string? pciBusId, out string? error)
    {
        if (string.IsNullOrEmpty(pciBusId))
        {
            error = "the GPU's PCI bus id is unknown";
            return null;
        }
        if (!Initialized(out error))
        {
            return null;
        }
        if (!NativeLibrary.TryGetExport(library, "nvmlDeviceGetHandleByPciBusId_v2", out var byBus)
            || !NativeLibrary.TryGetExport(library, "nvmlDeviceGetClockInfo", out var clock)
            || !(NativeLibrary.TryGetExport(library, "nvmlDeviceGetCurrentClocksEventReasons", out var limits)
                 || NativeLibrary.TryGetExport(library, "nvmlDeviceGetCurrentClocksThrottleReasons", out limits)))
        {
            error = "libnvidia-ml lacks the device, clock or clock-reason entry points";
            return null;
        }
        var bus = System.Text.Encoding.ASCII.GetBytes(pciBusId + "\0");
        nint handle;
        int result;
        fixed (byte* text = bus)
        {
            result = ((delegate* unmanaged[Cdecl]<byte*, nint*, int>)byBus)(text, &handle);
        }
        if (result != Success)
        {
            error = $"nvmlDeviceGetHandleByPciBusId_v2({pciBusId}) failed ({result})";
            return null;
        }
        error = null;
        return new Nvml(handle, (delegate* unmanaged[Cdecl]<nint, int, uint*, int>)clock, (delegate* unmanaged[Cdecl]<nint, ulong*, int>)limits);
    }

    /// <summary>The SM clock and the clock-limit reasons now; false when NVML does not answer.</summary>
    public bool TryRead(out ClockSample sample)
    {
        uint mhz;
        ulong bits;
        if (clockInfo(device, ClockSm, &mhz) != Success || reasons(device, &bits) != Success)
        {
            sample = default;
            return false;
        }
        sample = new ClockSample(mhz, bits);
        return true;
    }

    private static bool Initialized(out string? error)
    {
        if (library == 0 && initError is null)
        {
            if (!NativeLibrary.TryLoad("libnvidia-ml.so.1", out library))
            {
                initError = "libnvidia-ml.so.1 not found";
            }
            else if (!NativeLibrary.TryGetExport(library, "nvmlInit_v2", out var init))
            {
                initError = "libnvidia-ml.so.1 has no nvmlInit_v2";
                library = 0;
            }
            else if (((delegate* unmanaged[Cdecl]<int>)init)() is var result and not Success)
            {
                initError = $"nvmlInit_v2 failed ({result})";
                library = 0;
            }
        }
        error = initError;
        return library != 0;
    }
}
