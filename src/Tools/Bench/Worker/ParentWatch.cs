using System.Diagnostics;
using System.Globalization;

namespace AgentForge.Tools.Bench.Worker;

/// <summary>
/// Ends the worker when the process that started it goes away (its parent changes: the
/// orchestrator, srun's step daemon or the ssh session died). A worker reads its requests from
/// stdin and leaves at end of input, but not while a candidate's kernel hangs; then nothing
/// else would free the GPU for the slot's replacement. Linux only (/proc); elsewhere it does nothing.
/// </summary>
public static class ParentWatch
{
    public static void Start(TimeSpan interval)
    {
        var parent = ParentId();
        if (parent is null or <= 1)
        {
            return;
        }
        var watch = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(interval);
                if (ParentId() != parent)
                {
                    Console.Error.WriteLine($"worker {Environment.ProcessId}: its parent {parent} is gone; exiting");
                    // Not Environment.Exit: the main thread may be stuck in a driver call that never returns.
                    Process.GetCurrentProcess().Kill();
                }
            }
        })
        {
            IsBackground = true,
            Name = "parent-watch",
        };
        watch.Start();
    }

    /// <summary>The parent process id from /proc/self/stat ("pid (comm) state ppid ..."), or null.</summary>
    internal static int? ParentId(string statPath = "/proc/self/stat")
    {
        try
        {
            return ParseParent(File.ReadAllText(statPath));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The command name may hold spaces and parentheses: the fields start after its last ')'.</summary>
    internal static int? ParseParent(string stat)
    {
        var end = stat.LastIndexOf(')');
        if (end < 0)
        {
            return null;
        }
        var fields = stat[(end + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent) ? parent : null;
    }
}
