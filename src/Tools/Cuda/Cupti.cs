using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AgentForge.Tools.Cuda;

/// <summary>
/// One GPU activity CUPTI recorded: a kernel, a memset or a memcpy, with device timestamps (ns);
/// a kernel also has its (mangled) name and launch shape, for the timeline of a call.
/// </summary>
public readonly record struct GpuActivity(int Kind, ulong Start, ulong End, ulong Bytes, string? Name = null, KernelShape? Shape = null)
{
    public const int Memcpy = 1;
    public const int Memset = 2;
    public const int ConcurrentKernel = 10;
}

/// <summary>A kernel launch's grid and block.</summary>
public readonly record struct KernelShape(int GridX, int GridY, int GridZ, int BlockX, int BlockY, int BlockZ);

/// <summary>
/// CUPTI's activity API, used to time a candidate the way FlashInfer-Bench does: the GPU span
/// from its first kernel's start to its last kernel's end, free of the host launch latency that
/// event timing includes. Only the fields every record version shares are read: kind at 0,
/// bytes at 8 (memset, memcpy), start at 16 and end at 24 (kernel, memset and memcpy records),
/// and of a kernel record (CUpti_ActivityKernel4 and every later version) the grid at 52, the
/// block at 64 and the name pointer at 104 (scripts/device/probes/cupti_offsets.c prints the
/// installed header's offsets).
/// When libcupti is not found, <see cref="TryCreate"/> returns null and the worker times with
/// events instead; every latency records which method produced it.
/// </summary>
public sealed unsafe partial class Cupti : IDisposable
{
    private const int Success = 0;
    private const int BufferSize = 8 << 20;
    private static readonly List<GpuActivity> Completed = [];
    private static nint library;

    private Cupti()
    {
    }

    public static string? LoadError { get; private set; }

    /// <summary>Loads libcupti and registers the buffer callbacks, or returns null (see <see cref="LoadError"/>).</summary>
    public static Cupti? TryCreate()
    {
        if (library == 0)
        {
            foreach (var candidate in Candidates())
            {
                if (NativeLibrary.TryLoad(candidate, out library))
                {
                    break;
                }
            }
            if (library == 0)
            {
                LoadError = "libcupti not found (set AGENTFORGE_CUPTI to its path)";
                return null;
            }
            NativeLibrary.SetDllImportResolver(typeof(Cupti).Assembly, (name, _, _) => name == "cupti" ? library : 0);
        }
        try
        {
            var result = cuptiActivityRegisterCallbacks(&BufferRequested, &BufferCompleted);
            if (result != Success)
            {
                LoadError = $"cuptiActivityRegisterCallbacks failed ({result})";
                return null;
            }
        }
        catch (EntryPointNotFoundException e)
        {
            LoadError = e.Message;
            return null;
        }
        return new Cupti();
    }

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("AGENTFORGE_CUPTI") is { Length: > 0 } explicitPath)
        {
            yield return explicitPath;
        }
        yield return "libcupti.so";
        foreach (var root in new[] { "/usr/local/cuda/extras/CUPTI/lib64", "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib" })
        {
            if (Directory.Exists(root))
            {
                foreach (var file in Directory.EnumerateFiles(root, "libcupti.so*").Order())
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>Records kernels, memsets and memcpys launched from now on.</summary>
    public void Start()
    {
        lock (Completed)
        {
            Completed.Clear();
        }
        Check(cuptiActivityEnable(GpuActivity.ConcurrentKernel), "cuptiActivityEnable(CONCURRENT_KERNEL)");
        Check(cuptiActivityEnable(GpuActivity.Memset), "cuptiActivityEnable(MEMSET)");
        Check(cuptiActivityEnable(GpuActivity.Memcpy), "cuptiActivityEnable(MEMCPY)");
    }

    /// <summary>Drops what was recorded so far (the device must be synchronized first); recording goes on.</summary>
    public void Discard()
    {
        Check(cuptiActivityFlushAll(1), "cuptiActivityFlushAll");
        lock (Completed)
        {
            Completed.Clear();
        }
    }

    /// <summary>Stops recording and returns what was recorded, in start order (the device must be synchronized first).</summary>
    public List<GpuActivity> Stop()
    {
        cuptiActivityDisable(GpuActivity.ConcurrentKernel);
        cuptiActivityDisable(GpuActivity.Memset);
        cuptiActivityDisable(GpuActivity.Memcpy);
        Check(cuptiActivityFlushAll(1), "cuptiActivityFlushAll");
        lock (Completed)
        {
            var result = Completed.OrderBy(a => a.Start).ToList();
            Completed.Clear();
            return result;
        }
    }

    public void Dispose()
    {
    }

    private static void Check(int result, string call)
    {
        if (result != Success)
        {
            throw new InvalidOperationException($"{call} failed with CUptiResult {result}");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void BufferRequested(byte** buffer, nuint* size, nuint* maxRecords)
    {
        *buffer = (byte*)NativeMemory.AlignedAlloc(BufferSize, 8);
        *size = BufferSize;
        *maxRecords = 0;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void BufferCompleted(nint context, uint streamId, byte* buffer, nuint size, nuint validSize)
    {
        var records = new List<GpuActivity>();
        byte* record = null;
        while (cuptiActivityGetNextRecord(buffer, validSize, &record) == Success)
        {
            var kind = *(int*)record;
            if (kind is GpuActivity.ConcurrentKernel or GpuActivity.Memset or GpuActivity.Memcpy)
            {
                var start = *(ulong*)(record + 16);
                var end = *(ulong*)(record + 24);
                if (kind == GpuActivity.ConcurrentKernel)
                {
                    var grid = (int*)(record + 52);
                    var shape = new KernelShape(grid[0], grid[1], grid[2], grid[3], grid[4], grid[5]);
                    var name = *(nint*)(record + 104);
                    records.Add(new GpuActivity(kind, start, end, 0, name == 0 ? null : Marshal.PtrToStringUTF8(name), shape));
                }
                else
                {
                    records.Add(new GpuActivity(kind, start, end, *(ulong*)(record + 8)));
                }
            }
        }
        lock (Completed)
        {
            Completed.AddRange(records);
        }
        NativeMemory.AlignedFree(buffer);
    }

    [LibraryImport("cupti")]
    private static partial int cuptiActivityRegisterCallbacks(
        delegate* unmanaged[Cdecl]<byte**, nuint*, nuint*, void> requested,
        delegate* unmanaged[Cdecl]<nint, uint, byte*, nuint, nuint, void> completed);

    [LibraryImport("cupti")]
    private static partial int cuptiActivityEnable(int kind);

    [LibraryImport("cupti")]
    private static partial int cuptiActivityDisable(int kind);

    [LibraryImport("cupti")]
    private static partial int cuptiActivityFlushAll(uint flag);

    [LibraryImport("cupti")]
    private static partial int cuptiActivityGetNextRecord(byte* buffer, nuint validBufferSizeBytes, byte** record);
}
