using System.Runtime.InteropServices;

namespace AgentForge.Tools.Cuda;

/// <summary>A device allocation from cuMemAlloc_v2, freed with cuMemFree_v2.</summary>
public sealed class DeviceBuffer : SafeHandle
{
    private DeviceBuffer(ulong pointer, long bytes)
        : base(0, ownsHandle: true)
    {
        SetHandle((nint)pointer);
        Bytes = bytes;
    }

    public long Bytes { get; }

    public ulong Pointer => (ulong)handle;

    public override bool IsInvalid => handle == 0;

    public static DeviceBuffer Allocate(long bytes)
    {
        // Zero-byte tensors still get a distinct, valid pointer: candidates may test data != nullptr.
        CudaException.ThrowIfFailed(Interop.cuMemAlloc_v2(out var pointer, (nuint)Math.Max(bytes, 256)));
        return new DeviceBuffer(pointer, bytes);
    }

    public unsafe void Upload(ReadOnlySpan<byte> source)
    {
        if (source.Length > Bytes)
        {
            throw new ArgumentException($"upload of {source.Length} bytes into a {Bytes}-byte buffer");
        }
        fixed (byte* p = source)
        {
            CudaException.ThrowIfFailed(Interop.cuMemcpyHtoD_v2(Pointer, p, (nuint)source.Length));
        }
    }

    public unsafe void Download(Span<byte> destination)
    {
        fixed (byte* p = destination)
        {
            CudaException.ThrowIfFailed(Interop.cuMemcpyDtoH_v2(p, Pointer, (nuint)Math.Min(destination.Length, Bytes)));
        }
    }

    protected override bool ReleaseHandle() => Interop.cuMemFree_v2((ulong)handle) == CuResult.Success;
}

/// <summary>A non-blocking stream (it does not synchronize with the legacy default stream).</summary>
public sealed class CudaStream : SafeHandle
{
    private const uint NonBlocking = 1;

    private CudaStream(nint stream)
        : base(0, ownsHandle: true) => SetHandle(stream);

    public override bool IsInvalid => handle == 0;

    public nint Raw => handle;

    public static CudaStream Create()
    {
        CudaException.ThrowIfFailed(Interop.cuStreamCreate(out var stream, NonBlocking));
        return new CudaStream(stream);
    }

    public void Synchronize() => CudaException.ThrowIfFailed(Interop.cuStreamSynchronize(handle));

    public void Fill(DeviceBuffer buffer, uint pattern32)
    {
        CudaException.ThrowIfFailed(Interop.cuMemsetD32Async(buffer.Pointer, pattern32, (nuint)(buffer.Bytes / 4), handle));
        var tail = buffer.Bytes % 4;
        if (tail != 0)
        {
            CudaException.ThrowIfFailed(Interop.cuMemsetD8Async(buffer.Pointer + (ulong)(buffer.Bytes - tail), (byte)pattern32, (nuint)tail, handle));
        }
    }

    public void FillBytes(DeviceBuffer buffer, byte value) =>
        CudaException.ThrowIfFailed(Interop.cuMemsetD8Async(buffer.Pointer, value, (nuint)buffer.Bytes, handle));

    public void FillHalfWords(DeviceBuffer buffer, ushort value) =>
        CudaException.ThrowIfFailed(Interop.cuMemsetD16Async(buffer.Pointer, value, (nuint)(buffer.Bytes / 2), handle));

    public void Copy(DeviceBuffer destination, DeviceBuffer source, long bytes) =>
        CudaException.ThrowIfFailed(Interop.cuMemcpyDtoDAsync_v2(destination.Pointer, source.Pointer, (nuint)bytes, handle));

    protected override bool ReleaseHandle() => Interop.cuStreamDestroy_v2(handle) == CuResult.Success;
}

/// <summary>A timing event.</summary>
public sealed class CudaEvent : SafeHandle
{
    private CudaEvent(nint @event)
        : base(0, ownsHandle: true) => SetHandle(@event);

    public override bool IsInvalid => handle == 0;

    public static CudaEvent Create()
    {
        CudaException.ThrowIfFailed(Interop.cuEventCreate(out var @event, 0));
        return new CudaEvent(@event);
    }

    public void Record(CudaStream stream) => CudaException.ThrowIfFailed(Interop.cuEventRecord(handle, stream.Raw));

    public void Synchronize() => CudaException.ThrowIfFailed(Interop.cuEventSynchronize(handle));

    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        CudaException.ThrowIfFailed(Interop.cuEventElapsedTime(out var ms, start.handle, end.handle));
        return ms;
    }

    protected override bool ReleaseHandle() => Interop.cuEventDestroy_v2(handle) == CuResult.Success;
}
