using System.Diagnostics;
using System.Text;

namespace AgentForge.Tests.Scripts;

/// <summary>Runs python3 for the tests of the repository's Python scripts (device tools and yardstick
/// helpers whose GPU-free parts are checked here).</summary>
internal static class PythonScript
{
    /// <summary>
    /// Longest any script may run: past it the script is killed and the test fails with what it
    /// printed, rather than holding the test process (and CI) open.
    /// </summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(8);

    /// <summary>
    /// python3 -B -u with the arguments: its exit code and its stdout then its stderr. Each line is
    /// also written to the running test's output as it arrives. That is more than a log: xUnit's
    /// runner counts a test process that exits more than a minute after its last message as
    /// crashed, even when the final results are still in the pipe (CI lost a passing test that way,
    /// "Test process crashed with exit code 0", when this long script ran alone at the end).
    /// </summary>
    public static (int ExitCode, string Output) Run(params string[] args)
    {
        // -B: importing a script must not leave __pycache__ in the repository. -u: lines arrive as printed.
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["-B", "-u", .. args])
        {
            start.ArgumentList.Add(arg);
        }
        var testOutput = TestContext.Current.TestOutputHelper;
        var output = new StringBuilder();
        var error = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Collect(output, e.Data, testOutput);
        process.ErrorDataReceived += (_, e) => Collect(error, e.Data, testOutput);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var finished = process.WaitForExit(Limit);
        if (!finished)
        {
            process.Kill(entireProcessTree: true);
        }
        // Without a limit, WaitForExit also waits for both streams to reach their end.
        process.WaitForExit();
        var printed = $"{output}{error}";
        return finished
            ? (process.ExitCode, printed)
            : (-1, $"python3 {string.Join(' ', args)} was killed after {Limit.TotalMinutes:0} minutes\n{printed}");
    }

    private static void Collect(StringBuilder into, string? line, ITestOutputHelper? testOutput)
    {
        if (line is null)
        {
            return;
        }
        lock (into)
        {
            into.Append(line).Append('\n');
        }
        testOutput?.WriteLine(line);
    }

    /// <summary>Whether python3 starts at all (tests that need it are skipped, not failed, without it).</summary>
    public static bool Available()
    {
        try
        {
            return Run("-c", "pass").ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
