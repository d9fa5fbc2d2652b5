using System.Diagnostics;

namespace AgentForge.Tests.Scripts;

/// <summary>Runs python3 for the tests of the repository's Python scripts (device tools and yardstick
/// helpers whose GPU-free parts are checked here).</summary>
internal static class PythonScript
{
    /// <summary>python3 -B with the arguments: its exit code and its stdout and stderr together.</summary>
    public static (int ExitCode, string Output) Run(params string[] args)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        // -B: importing a script must not leave __pycache__ in the repository.
        start.ArgumentList.Add("-B");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error.Result);
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
