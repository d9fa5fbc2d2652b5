using System.Diagnostics;
using AgentForge.Tools.Oracle;

namespace AgentForge.Tests.Oracle;

public sealed class OracleEnvironmentErrorTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("agentforge-oracle-env-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task A_missing_python_is_a_clear_error()
    {
        await using var oracle = new OracleProcess(new OracleOptions { PythonExecutable = "/nonexistent/bin/python3" });
        var probe = await oracle.ProbeAsync(TestContext.Current.CancellationToken);
        Assert.False(probe.IsReady);
        Assert.Equal(OracleFailureKind.PythonMissing, probe.Failure!.Kind);
        Assert.Contains("/nonexistent/bin/python3 not found on PATH", probe.Failure.Message);
        Assert.Contains(OracleOptions.PythonVariable, probe.Failure.Message);

        var request = new OracleRequest("d", "def run(): pass", [], ["out"], Path.Combine(_work, "in"), Path.Combine(_work, "out"));
        var failure = Assert.IsType<OracleFailure>(await oracle.RunAsync(request, TestContext.Current.CancellationToken));
        Assert.Equal(OracleFailureKind.PythonMissing, failure.Kind);
    }

    [Fact]
    public async Task An_executable_that_is_not_python_is_reported_as_a_crash_at_start_up()
    {
        Assert.SkipUnless(File.Exists("/bin/false"), "no /bin/false here");
        await using var oracle = new OracleProcess(new OracleOptions { PythonExecutable = "/bin/false" });
        var probe = await oracle.ProbeAsync(TestContext.Current.CancellationToken);
        Assert.Equal(OracleFailureKind.Crashed, probe.Failure!.Kind);
        Assert.Contains("exited with code 1 during start-up", probe.Failure.Message);
    }

    [Fact]
    public async Task Python_without_torch_is_a_clear_error()
    {
        FakeTorch.RequirePython();
        // Real where torch is absent (CI); where torch is installed there is nothing real to observe.
        Assert.SkipWhen(TorchImports(), "torch is installed for python3 here");
        await using var oracle = new OracleProcess(new OracleOptions { PythonExecutable = "python3" });

        var probe = await oracle.ProbeAsync(TestContext.Current.CancellationToken);

        Assert.Equal(OracleFailureKind.ModuleMissing, probe.Failure!.Kind);
        Assert.Matches("^python3 at .+ has no torch: ModuleNotFoundError: No module named 'torch'$", probe.Failure.Message);
    }

    [Fact]
    public void The_python_default_comes_from_the_environment_variable()
    {
        var saved = Environment.GetEnvironmentVariable(OracleOptions.PythonVariable);
        try
        {
            Environment.SetEnvironmentVariable(OracleOptions.PythonVariable, "/opt/py/bin/python3.12");
            Assert.Equal("/opt/py/bin/python3.12", OracleOptions.DefaultPython());
            Environment.SetEnvironmentVariable(OracleOptions.PythonVariable, null);
            Assert.Equal("python3", OracleOptions.DefaultPython());
        }
        finally
        {
            Environment.SetEnvironmentVariable(OracleOptions.PythonVariable, saved);
        }
    }

    private static bool TorchImports()
    {
        using var process = Process.Start(new ProcessStartInfo("python3", ["-c", "import torch"]) { RedirectStandardError = true })!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}
