using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace AgentForge.Tools.Processes;

/// <summary>Outcome of a child process: exit code and interleaved output, or why it did not run.</summary>
public sealed record ProcessResult(int ExitCode, string Output, bool TimedOut, string? StartError)
{
    public bool Succeeded => StartError is null && !TimedOut && ExitCode == 0;
}

/// <summary>Runs a tool (nvcc, compute-sanitizer, ncu) to completion with a time limit.</summary>
public static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        // A null value removes the variable; credentials never reach a tool or a candidate.
        ChildEnvironment.Apply(info.Environment, environment);

        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return new ProcessResult(-1, "", false, $"could not start '{fileName}': {e.Message} (is it installed and on PATH?)");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
        }
        process.WaitForExit();
        string text;
        lock (output)
        {
            text = output.ToString();
        }
        return new ProcessResult(timedOut ? -1 : process.ExitCode, text, timedOut, null);
    }
}
