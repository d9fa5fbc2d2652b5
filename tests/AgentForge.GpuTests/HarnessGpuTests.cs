using AgentForge.Orchestrator.Harness;
using AgentForge.Tools.Bench;
using AgentForge.Tools.Build;
using AgentForge.Tools.Cuda;
using AgentForge.Tools.Oracle;
using AgentForge.Tools.Trace;

namespace AgentForge.GpuTests;

/// <summary>
/// The whole GPU path on a tiny dataset of our own (one "copy" definition): nvcc build, worker,
/// oracle, comparator, timing, and the verdicts for broken candidates. Each broken candidate is
/// followed by a correct one, which must still pass: a crash or hang ends only its worker.
/// </summary>
public sealed class HarnessGpuTests : IAsyncLifetime
{
    private const long Elements = 256L << 20; // 1 GiB in, 1 GiB out, as the worker's bandwidth measurement.

    private readonly string root = Directory.CreateTempSubdirectory("agentforge-gpu-harness-").FullName;
    private Harness? host;

    private const string CorrectCopy = """
        #include "agentforge.h"
        __global__ void copy_kernel(const float4* __restrict__ x, float4* __restrict__ y, int64_t n4) {
          for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4; i += (int64_t)gridDim.x * blockDim.x) y[i] = x[i];
        }
        void run(afg::Tensor x, afg::Tensor y, cudaStream_t stream) {
          int64_t n4 = x.numel() / 4;
          copy_kernel<<<132 * 8, 512, 0, stream>>>(x.ptr<const float4>(), y.ptr<float4>(), n4);
        }
        """;

    private const string WrongCopy = """
        #include "agentforge.h"
        __global__ void k(const float* x, float* y, int64_t n) {
          for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) y[i] = x[i] + 1.0f;
        }
        void run(afg::Tensor x, afg::Tensor y, cudaStream_t stream) { k<<<1024, 256, 0, stream>>>(x.ptr<const float>(), y.ptr<float>(), x.numel()); }
        """;

    private const string OutOfBoundsCopy = """
        #include "agentforge.h"
        __global__ void k(const float* x, float* y, int64_t n) {
          int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
          if (i < n) y[i + (int64_t(1) << 40)] = x[i];
        }
        void run(afg::Tensor x, afg::Tensor y, cudaStream_t stream) { k<<<(x.numel() + 255) / 256, 256, 0, stream>>>(x.ptr<const float>(), y.ptr<float>(), x.numel()); }
        """;

    private const string NeverReturns = """
        #include "agentforge.h"
        __global__ void k(volatile int* flag) { while (flag[0] != 12345) { } }
        void run(afg::Tensor x, afg::Tensor y, cudaStream_t stream) { k<<<1, 1, 0, stream>>>(static_cast<volatile int*>(y.data)); }
        """;

    // A launch the runtime refuses (1024 threads per block at most): cudaErrorInvalidConfiguration,
    // which is not sticky.
    private const string RefusedLaunch = """
        #include "agentforge.h"
        __global__ void k(const float* x, float* y, int64_t n) { if (threadIdx.x < n) y[threadIdx.x] = x[threadIdx.x]; }
        void run(afg::Tensor x, afg::Tensor y, cudaStream_t stream) { k<<<1, 4096, 0, stream>>>(x.ptr<const float>(), y.ptr<float>(), x.numel()); }
        """;

    // The entry refuses the call itself (as a kernel does for an input it cannot serve): no launch
    // fails, so only afg::report_error carries the error to the shim.
    private const string SelfReportedError = """
        #include "agentforge.h"
        void run(afg::Tensor x, afg::Tensor y, cudaStream_t stream) { afg::report_error(cudaErrorNotSupported); }
        """;

    public async ValueTask InitializeAsync()
    {
        Gpu.RequireDevice();
        var dataset = Path.Combine(root, "dataset");
        Directory.CreateDirectory(Path.Combine(dataset, "definitions", "test"));
        Directory.CreateDirectory(Path.Combine(dataset, "workloads", "test"));
        var definition = new Definition("copy_f32", "test",
            [new("n", new VarAxis())],
            [new("x", new TensorSpec(["n"], DType.Float32))],
            [new("y", new TensorSpec(["n"], DType.Float32))],
            "import torch\n\ndef run(x):\n    return x.clone()\n", [], "copy", []);
        await File.WriteAllTextAsync(Path.Combine(dataset, "definitions", "test", "copy_f32.json"), TraceJson.WriteDefinition(definition));
        var workload = new Workload("copy-0001", new Dictionary<string, long> { ["n"] = Elements }, [new("x", new RandomInput())]);
        await File.WriteAllTextAsync(Path.Combine(dataset, "workloads", "test", "copy_f32.jsonl"), TraceJson.WriteTrace(new Trace("copy_f32", workload)) + "\n");

        var agentforge = Path.Combine(AppContext.BaseDirectory, "agentforge.dll");
        var created = Harness.Create(
            new HarnessOptions(dataset, Path.Combine(root, "cache"), WorkerTemplate: $"dotnet {agentforge} worker --gpu {{gpu}}", OracleProcesses: 1),
            new OracleTiming(1, 3));
        Assert.True(created.IsOk, string.Join("\n", created.Errors));
        host = created.Value;
    }

    public async ValueTask DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
        Directory.Delete(root, recursive: true);
    }

    private async Task<WorkloadOutcome> EvaluateAsync(string source, string name, bool time = false)
    {
        var ct = TestContext.Current.CancellationToken;
        var definition = host!.Dataset.FindDefinition("copy_f32")!;
        var candidate = new CandidateSource(name, definition.Name, [new SourceFile("kernel.cu", source)]);
        var build = await host.BuildAsync(candidate, definition, ct);
        Assert.True(build.Succeeded, build.Log);
        var options = new EvaluatorOptions(Trials: 1, Time: time, PerCallLimit: TimeSpan.FromSeconds(5), RequestOverhead: TimeSpan.FromSeconds(10));
        return await host.Evaluator.EvaluateWorkloadAsync(build.LibraryPath!, definition, host.Dataset.Workloads(definition.Name).Single(), options, ct);
    }

    [Fact]
    public async Task A_copy_kernel_passes_and_measures_within_10_percent_of_bytes_over_copy_bandwidth()
    {
        var outcome = await EvaluateAsync(CorrectCopy, "copy", time: true);
        Assert.Equal(EvaluationStatus.PASSED, outcome.Status);
        var bandwidth = host!.Workers.Hello!.CopyBandwidthGbps * 1e9;
        var predictedMs = 2.0 * Elements * 4 / bandwidth * 1e3;
        var ratio = outcome.LatencyMs!.Value / predictedMs;
        TestContext.Current.SendDiagnosticMessage($"copy: {outcome.LatencyMs:0.0000} ms, bytes/bandwidth {predictedMs:0.0000} ms, ratio {ratio:0.000}, floor ratio {outcome.FloorRatio:0.000}");
        Assert.InRange(ratio, 0.9, 1.1);
    }

    [Fact]
    public async Task A_wrong_result_is_incorrect_numerical()
    {
        var outcome = await EvaluateAsync(WrongCopy, "wrong");
        Assert.Equal(EvaluationStatus.INCORRECT_NUMERICAL, outcome.Status);
    }

    [Fact]
    public async Task An_out_of_bounds_write_is_a_runtime_error_and_the_next_candidate_still_runs()
    {
        var broken = await EvaluateAsync(OutOfBoundsCopy, "oob");
        Assert.Equal(EvaluationStatus.RUNTIME_ERROR, broken.Status);
        Assert.Contains("ILLEGAL_ADDRESS", broken.Log, StringComparison.OrdinalIgnoreCase);
        await AssertTheNextCandidatePassesAsync("copy-after-oob");
    }

    [Fact]
    public async Task A_refused_launch_is_a_runtime_error_and_is_not_reported_again_by_the_next_candidate()
    {
        await AssertRuntimeErrorThenTheNextCandidatePassesAsync(RefusedLaunch, "refused-launch", "launch failed");
    }

    [Fact]
    public async Task An_error_the_entry_reports_itself_is_a_runtime_error_and_is_not_reported_again()
    {
        await AssertRuntimeErrorThenTheNextCandidatePassesAsync(SelfReportedError, "self-reported-error", "operation not supported");
    }

    [Fact]
    public async Task A_kernel_that_never_returns_times_out_and_the_next_candidate_still_runs()
    {
        var hung = await EvaluateAsync(NeverReturns, "hang");
        Assert.Equal(EvaluationStatus.TIMEOUT, hung.Status);
        await AssertTheNextCandidatePassesAsync("copy-after-hang");
    }

    /// <summary>The candidate is a RUNTIME_ERROR whose log names `expected`, and the next one still passes.</summary>
    private async Task AssertRuntimeErrorThenTheNextCandidatePassesAsync(string source, string name, string expected)
    {
        var failed = await EvaluateAsync(source, name);
        Assert.Equal(EvaluationStatus.RUNTIME_ERROR, failed.Status);
        Assert.Contains(expected, failed.Log, StringComparison.Ordinal);
        await AssertTheNextCandidatePassesAsync($"copy-after-{name}");
    }

    /// <summary>A correct candidate evaluated after a broken one passes: the failure stayed with it.</summary>
    private async Task AssertTheNextCandidatePassesAsync(string name)
    {
        var next = await EvaluateAsync(CorrectCopy, name);
        Assert.Equal(EvaluationStatus.PASSED, next.Status);
    }

    [Fact]
    public async Task A_hung_kernel_ends_after_one_call_limit_not_the_timing_budget()
    {
        // With timing on, the run request's own limit is the overhead plus the limit for every
        // warm-up and timed call (minutes); the worker's watchdog answers after one call limit (5 s).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var hung = await EvaluateAsync(NeverReturns, "hang-timed", time: true);
        watch.Stop();

        Assert.Equal(EvaluationStatus.TIMEOUT, hung.Status);
        Assert.Contains("the correctness call did not finish within 5 s", hung.Log);
        Assert.InRange(watch.Elapsed.TotalSeconds, 0, 60);
        TestContext.Current.SendDiagnosticMessage($"hung kernel: TIMEOUT after {watch.Elapsed.TotalSeconds:0.0} s (build included)");
    }

    [Fact]
    public async Task A_timed_copy_reports_the_sm_clock_it_ran_at()
    {
        var outcome = await EvaluateAsync(CorrectCopy, "copy-clock", time: true);

        Assert.Equal(EvaluationStatus.PASSED, outcome.Status);
        Assert.NotNull(outcome.Clock);
        Assert.InRange(outcome.Clock.MinMhz, 100, outcome.Clock.MedianMhz);
        Assert.InRange(outcome.Clock.MedianMhz, 100, 3500);
        TestContext.Current.SendDiagnosticMessage(
            $"copy: SM clock {outcome.Clock.MedianMhz:0} MHz (lowest {outcome.Clock.MinMhz:0}, {outcome.Clock.Samples} readings), limits: {outcome.Clock.Limits ?? "none"}");
    }

    [Fact]
    public void Nvml_opens_the_drivers_card_by_its_bus_and_reads_its_sm_clock()
    {
        var opened = CudaDevice.TryOpen(0);
        Assert.NotNull(opened.Device);
        using var device = opened.Device;
        var nvml = Nvml.TryOpen(device.Info.PciBusId, out var error);
        Assert.True(nvml is not null, error);
        Assert.True(nvml.TryRead(out var sample));
        Assert.InRange(sample.SmMhz, 1u, 3500u);
    }

    [Fact]
    public void The_driver_reports_the_card()
    {
        var opened = CudaDevice.TryOpen(0);
        Assert.NotNull(opened.Device);
        using var device = opened.Device;
        Assert.True(device.Info.MultiprocessorCount > 0);
        Assert.True(device.Info.L2CacheBytes > 0);
        TestContext.Current.SendDiagnosticMessage($"{device.Info.Name} {device.Info.Architecture} {device.Info.MultiprocessorCount} SMs");
    }
}
