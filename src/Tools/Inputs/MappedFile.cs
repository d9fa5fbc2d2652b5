using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace AgentForge.Tools.Inputs;

/// <summary>
/// A read-only memory-mapped file. Regions hand out <see cref="Memory{T}"/> views of the mapping
/// without copying; they keep this object reachable, so the mapping lives as long as any view is
/// referenced, and only an explicit <see cref="Dispose"/> unmaps it (after which views throw
/// <see cref="ObjectDisposedException"/> instead of reading freed memory).
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private int _disposed;

    public MappedFile(string path, long length)
    {
        Length = length;
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _base = pointer + _view.PointerOffset;
        }
        catch
        {
            _view?.Dispose();
            _file.Dispose();
            throw;
        }
    }

    public long Length { get; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>A view of bytes [offset, offset + length); at most 2 GiB, the limit of a Memory.</summary>
    public Memory<byte> View(long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, Length);
        return new ViewManager(this, _base + offset, length).Memory;
    }

    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, Length);
        return new ReadOnlySpan<byte>(_base + offset, length);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        GC.SuppressFinalize(this);
    }

    // A file nobody disposed is unmapped once no view references it any more: the acquired
    // pointer would otherwise hold the view's handle open forever.
    ~MappedFile()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    private sealed class ViewManager(MappedFile owner, byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan()
        {
            ObjectDisposedException.ThrowIf(owner.IsDisposed, owner);
            return new Span<byte>(pointer, length);
        }

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ObjectDisposedException.ThrowIf(owner.IsDisposed, owner);
            // The mapping never moves; the owner reference keeps it alive while the handle lives.
            return new MemoryHandle(pointer + elementIndex, pinnable: this);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
