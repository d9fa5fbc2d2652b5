using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AgentForge.Tools.Cuda;

/// <summary>
/// Keeps the worker's protocol channel clean: candidate code may printf to stdout, so the worker
/// moves the real stdout to a private descriptor for protocol lines and points fd 1 at stderr.
/// </summary>
public static partial class StandardStreams
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int dup(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int dup2(int fd, int fd2);

    /// <summary>Returns a stream on the original stdout; afterwards fd 1 writes to stderr.</summary>
    public static Stream DetachProtocolOutput()
    {
        if (!OperatingSystem.IsLinux())
        {
            return Console.OpenStandardOutput();
        }
        var protocol = dup(1);
        if (protocol < 0 || dup2(2, 1) < 0)
        {
            throw new IOException($"could not separate the protocol stream from stdout (errno {Marshal.GetLastPInvokeError()})");
        }
        return new FileStream(new SafeFileHandle(protocol, ownsHandle: true), FileAccess.Write, bufferSize: 0);
    }
}
