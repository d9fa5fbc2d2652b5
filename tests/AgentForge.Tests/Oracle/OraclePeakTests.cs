using AgentForge.Tools.Oracle;

namespace AgentForge.Tests.Oracle;

public sealed class OraclePeakTests
{
    [Fact]
    public async Task Without_a_gpu_the_peak_measurement_is_a_value_that_says_why()
    {
        FakeTorch.RequirePython();
        await using var oracle = new OracleProcess(FakeTorch.Options());
        var peaks = await oracle.MeasurePeaksAsync(TestContext.Current.CancellationToken);
        Assert.False(peaks.Measured);
        Assert.Null(peaks.Bf16FlopsPerSecond);
        Assert.Contains("no CUDA device", peaks.Problem);
    }

    [Fact]
    public async Task A_missing_python_is_reported_instead_of_a_peak()
    {
        await using var oracle = new OracleProcess(new OracleOptions { PythonExecutable = "/nonexistent/python3" });
        var peaks = await oracle.MeasurePeaksAsync(TestContext.Current.CancellationToken);
        Assert.False(peaks.Measured);
        Assert.Contains("/nonexistent/python3", peaks.Problem);
    }
}
