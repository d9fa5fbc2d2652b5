using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Processes;
using AgentForge.Tools.Sanitizer;

namespace AgentForge.Tests.Agents;

/// <summary>compute-sanitizer logs as CUDA 12/13 write them for a candidate run in the worker (paths and addresses made up).</summary>
public sealed class SanitizerOutputTests
{
    private const string MemcheckOutOfBounds = """
        ========= COMPUTE-SANITIZER
        ========= Invalid __global__ write of size 4 bytes
        =========     at gdn_decode_kernel(const __nv_bfloat16 *, float *, int)+0x1c70 in /root/.cache/agentforge/builds/3f2a/kernel.cu:87
        =========     by thread (127,0,0) in block (7,0,0)
        =========     Address 0x7f3c2e200000 is out of bounds
        =========     and is 1 bytes after the nearest allocation at 0x7f3c2e000000 of size 2097152 bytes
        =========     Saved host backtrace up to driver entry point at kernel launch time
        =========     Host Frame: [0x2f0e3f] in libcuda.so.1
        =========     Host Frame: [0x15a23] in libcudart.so.12
        =========     Host Frame:cudaLaunchKernel [0x75b52] in libcudart.so.12
        =========     Host Frame:run(afg::Tensor, afg::Tensor, float, afg::Tensor, CUstream_st*) in /root/.cache/agentforge/builds/3f2a/kernel.cu:140 [0x2d41] in candidate.so
        =========     Host Frame:agentforge_entry [0x3a10] in candidate.so
        =========     Host Frame: [0x7f3c1a2b] in dotnet
        =========
        ========= Invalid __global__ write of size 4 bytes
        =========     at gdn_decode_kernel(const __nv_bfloat16 *, float *, int)+0x1c70 in /root/.cache/agentforge/builds/3f2a/kernel.cu:87
        =========     by thread (126,0,0) in block (7,0,0)
        =========     Address 0x7f3c2e1ffffc is out of bounds
        =========     Saved host backtrace up to driver entry point at kernel launch time
        =========     Host Frame: [0x2f0e3f] in libcuda.so.1
        =========
        ========= Program hit cudaErrorLaunchFailure (error 719) due to "unspecified launch failure" on CUDA API call to cuCtxSynchronize.
        =========     Saved host backtrace up to driver entry point at error
        =========     Host Frame: [0x2f0e3f] in libcuda.so.1
        =========
        ========= Target application returned an error
        ========= ERROR SUMMARY: 3 errors
        """;

    // CUDA 11 style: "at 0x... in file:line:function", host frames with the module first.
    private const string MemcheckOldFormat = """
        ========= COMPUTE-SANITIZER
        ========= Invalid __shared__ read of size 16 bytes
        =========     at 0x00000250 in /tmp/build/kernel.cu:9:tile_kernel(float*, int)
        =========     by thread (264,0,0) in block (0,0,0)
        =========     Address 0x00004010 is out of bounds
        =========     Saved host backtrace up to driver entry point at kernel launch time
        =========     Host Frame:/lib64/libcuda.so.1 (cuLaunchKernel + 0x2b8) [0x222dc8]
        =========     Host Frame:/tmp/build/candidate.so (run + 0x7d) [0x829b]
        =========
        ========= ERROR SUMMARY: 1 error
        """;

    private const string RacecheckHazards = """
        ========= COMPUTE-SANITIZER
        ========= Error: Race reported between Write access at reduce_kernel(const float *, float *)+0x90 in /tmp/build/kernel.cu:31
        =========     and Read access at reduce_kernel(const float *, float *)+0x100 in /tmp/build/kernel.cu:35 [7168 hazards]
        =========
        ========= Warning: Race reported between Read access at reduce_kernel(const float *, float *)+0x120 in /tmp/build/kernel.cu:40
        =========     and Write access at reduce_kernel(const float *, float *)+0x150 in /tmp/build/kernel.cu:41 [32 hazards]
        =========
        ========= RACECHECK SUMMARY: 2 hazards displayed (1 error, 1 warning)
        """;

    private const string RacecheckClean = """
        ========= COMPUTE-SANITIZER
        ========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)
        """;

    private const string Initcheck = """
        ========= COMPUTE-SANITIZER
        ========= Uninitialized __global__ memory read of size 4 bytes
        =========     at moe_combine(float *, const float *, int)+0x3a0 in /tmp/build/kernel.cu:212
        =========     by thread (0,0,0) in block (3,0,0)
        =========     Address 0x7f3c30000000
        =========     Saved host backtrace up to driver entry point at kernel launch time
        =========     Host Frame: [0x2f0e3f]
        =========                in /lib/x86_64-linux-gnu/libcuda.so.1
        =========     Host Frame:run [0x2d41]
        =========                in /tmp/build/candidate.so
        =========
        ========= ERROR SUMMARY: 1 error
        """;

    private const string Synccheck = """
        ========= COMPUTE-SANITIZER
        ========= Barrier error detected. Divergent thread(s) in block
        =========     at topk_kernel(const float *, int *)+0x4f0 in /tmp/build/kernel.cu:77
        =========     by thread (37,0,0) in block (0,0,0)
        =========
        ========= ERROR SUMMARY: 1 error
        """;

    private const string Clean = """
        ========= COMPUTE-SANITIZER
        ========= ERROR SUMMARY: 0 errors
        """;

    [Fact]
    public void Memcheck_findings_are_folded_per_instruction_with_the_candidate_host_frame()
    {
        var output = SanitizerOutputParser.Parse(MemcheckOutOfBounds, SanitizerTool.Memcheck);

        Assert.Equal(3, output.ErrorCount);
        Assert.True(output.TargetFailed);
        Assert.Equal(2, output.Findings.Count);
        var write = output.Findings[0];
        Assert.Equal("Invalid __global__ write of size 4 bytes", write.Kind);
        Assert.Equal(2, write.Occurrences);
        Assert.EndsWith("kernel.cu:87", write.Location);
        Assert.Equal("by thread (127,0,0) in block (7,0,0)", write.Thread);
        Assert.Contains("is 1 bytes after the nearest allocation", write.Address);
        Assert.StartsWith("run(afg::Tensor", write.HostFrame);
        Assert.StartsWith("Program hit cudaErrorLaunchFailure", output.Findings[1].Kind);

        var text = output.Describe(SanitizerTool.Memcheck);
        Assert.StartsWith("memcheck: 3 error(s)\n- 2x Invalid __global__ write of size 4 bytes at gdn_decode_kernel", text);
        Assert.Contains("host: run(afg::Tensor", text);
    }

    [Fact]
    public void Cuda_11_lines_are_understood_too()
    {
        var output = SanitizerOutputParser.Parse(MemcheckOldFormat, SanitizerTool.Memcheck);

        Assert.Equal(1, output.ErrorCount);
        var finding = Assert.Single(output.Findings);
        Assert.Equal("0x00000250 in /tmp/build/kernel.cu:9:tile_kernel(float*, int)", finding.Location);
        Assert.Equal("/tmp/build/candidate.so (run + 0x7d) [0x829b]", finding.HostFrame);
    }

    [Fact]
    public void Racecheck_counts_errors_and_warnings_from_its_own_summary()
    {
        var output = SanitizerOutputParser.Parse(RacecheckHazards, SanitizerTool.Racecheck);

        Assert.Equal(1, output.ErrorCount);
        Assert.Equal(1, output.WarningCount);
        var race = output.Findings.Single(f => !f.IsWarning);
        Assert.Equal("Race (shared memory hazard)", race.Kind);
        Assert.Equal(7168, race.Occurrences);
        Assert.Contains("kernel.cu:31", race.Location);
        Assert.Contains("and Read access at", race.Location);
        Assert.Equal(0, SanitizerOutputParser.Parse(RacecheckClean, SanitizerTool.Racecheck).ErrorCount);
        Assert.StartsWith("racecheck: 1 error(s), 1 warning(s)\n- 7168x Race", output.Describe(SanitizerTool.Racecheck));
    }

    [Fact]
    public void Initcheck_joins_host_frames_split_over_two_lines()
    {
        var finding = Assert.Single(SanitizerOutputParser.Parse(Initcheck, SanitizerTool.Initcheck).Findings);

        Assert.Equal("Uninitialized __global__ memory read of size 4 bytes", finding.Kind);
        Assert.Equal("run [0x2d41] in /tmp/build/candidate.so", finding.HostFrame);
    }

    [Fact]
    public void Synccheck_reports_barrier_errors()
    {
        var output = SanitizerOutputParser.Parse(Synccheck, SanitizerTool.Synccheck);

        Assert.Equal(1, output.ErrorCount);
        Assert.Equal("Barrier error detected. Divergent thread(s) in block", Assert.Single(output.Findings).Kind);
    }

    private static Dictionary<long, WorkerResponse> Answered(bool runOk = true) => new()
    {
        [1] = new WorkerResponse(1, true, Handle: 0),
        [2] = runOk ? new WorkerResponse(2, true, OutputsPath: "/tmp/o") : new WorkerResponse(2, false, "RUNTIME_ERROR", "illegal address"),
    };

    private static WrappedRunResult Run(string log, IReadOnlyDictionary<long, WorkerResponse> answers, string? problem = null, int exitCode = 0) =>
        new(new ProcessResult(exitCode, "", false, null), log, answers, problem);

    [Fact]
    public void A_clean_summary_after_a_completed_call_is_clean()
    {
        var report = ComputeSanitizer.Judge(SanitizerTool.Memcheck, "w", Run(Clean, Answered()));

        Assert.True(report.Clean);
        Assert.True(report.Ran);
        Assert.Equal("memcheck: 0 error(s)", report.Summary);
    }

    [Fact]
    public void Errors_make_a_verdict_even_when_the_call_failed()
    {
        var report = ComputeSanitizer.Judge(SanitizerTool.Memcheck, "w", Run(MemcheckOutOfBounds, Answered(runOk: false), exitCode: 1));

        Assert.False(report.Clean);
        Assert.True(report.Ran);
        Assert.Equal(3, report.ErrorCount);
    }

    [Fact]
    public void Nothing_found_in_a_call_that_never_completed_is_no_verdict()
    {
        var noDevice = new Dictionary<long, WorkerResponse> { [1] = new WorkerResponse(1, false, Error: "no CUDA driver", Fatal: true) };

        var report = ComputeSanitizer.Judge(SanitizerTool.Initcheck, "w", Run(Clean + "\n========= Target application returned an error", noDevice, exitCode: 4));

        Assert.False(report.Clean);
        Assert.False(report.Ran);
        Assert.Contains("loading the candidate failed: no CUDA driver", report.Problem);
    }

    [Theory]
    [InlineData("========= COMPUTE-SANITIZER\n========= Error: Target application terminated before first instrumented API call\n", "Target application terminated before first instrumented API call")]
    [InlineData("", "without its summary line")]
    public void A_log_without_a_summary_is_no_verdict(string log, string expected)
    {
        var report = ComputeSanitizer.Judge(SanitizerTool.Synccheck, "w", Run(log, Answered(), exitCode: 9));

        Assert.False(report.Ran);
        Assert.Contains(expected, report.Problem);
    }

    [Fact]
    public void A_timeout_or_a_missing_tool_is_no_verdict()
    {
        var report = ComputeSanitizer.Judge(SanitizerTool.Racecheck, "w", Run("", new Dictionary<long, WorkerResponse>(), "compute-sanitizer timed out after 300 s"));

        Assert.False(report.Ran);
        Assert.Equal("racecheck: no verdict: compute-sanitizer timed out after 300 s", report.Summary);
    }
}
