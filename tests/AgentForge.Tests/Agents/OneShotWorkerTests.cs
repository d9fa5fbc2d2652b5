using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Processes;

namespace AgentForge.Tests.Agents;

/// <summary>`agentforge worker --requests FILE`, the program compute-sanitizer and ncu launch.</summary>
public sealed class OneShotWorkerTests
{
    [Fact]
    public void The_requests_load_then_run_once_without_timing()
    {
        var run = new WorkerRequest(7, "run", Handle: 3, InputsPath: "/cache/in.safetensors", OutputPath: "/tmp/out.safetensors",
            RotationInputsPaths: ["/cache/other.safetensors"], Timing: new WireTiming(10, 50), RecheckAfterTiming: true);

        var lines = OneShotRun.Requests("/builds/k/candidate.so", "sig", run);

        Assert.Equal(2, lines.Count);
        Assert.Equal("{\"id\":1,\"op\":\"load\",\"library\":\"/builds/k/candidate.so\",\"signature\":\"sig\",\"recheck_after_timing\":false}", lines[0]);
        var parsed = WorkerJson.ParseRequest(lines[1])!;
        Assert.Equal((2L, "run", 0), (parsed.Id, parsed.Op, parsed.Handle));
        Assert.Null(parsed.Timing);
        Assert.False(parsed.RecheckAfterTiming);
        Assert.Empty(parsed.RotationInputsPaths!);
        Assert.Equal("/cache/in.safetensors", parsed.InputsPath);
    }

    [Fact]
    public void Under_a_wrapping_tool_the_call_may_take_the_tools_timeout()
    {
        var run = new WorkerRequest(7, "run", InputsPath: "/cache/in.safetensors", CallLimitSeconds: 10);

        var wrapped = WorkerJson.ParseRequest(OneShotRun.Requests("/builds/k/candidate.so", "sig", run, TimeSpan.FromSeconds(140))[1])!;
        var plain = WorkerJson.ParseRequest(OneShotRun.Requests("/builds/k/candidate.so", "sig", run)[1])!;

        Assert.Equal(140, wrapped.CallLimitSeconds);
        Assert.Equal(10, plain.CallLimitSeconds);
    }

    [Fact]
    public void Answers_are_found_among_other_output_lines()
    {
        var answers = OneShotRun.Answers("==PROF== Connected to process 1\n{\"id\":1,\"ok\":true,\"handle\":0}\nkernel printf\n{\"id\":2,\"ok\":false,\"status\":\"RUNTIME_ERROR\",\"error\":\"illegal address\"}\n");

        Assert.Equal(2, answers.Count);
        Assert.Equal("the candidate call failed (RUNTIME_ERROR): illegal address", OneShotRun.Failure(answers));
        Assert.Equal("the worker did not answer (it did not start, or died before loading the candidate)", OneShotRun.Failure(new Dictionary<long, WorkerResponse>()));
    }

    [Fact]
    public void The_command_is_the_worker_template_plus_the_requests_file()
    {
        var command = OneShotRun.Command(2, "/tmp/r.jsonl", "srun --gres=gpu:1 dotnet agentforge.dll worker --gpu {gpu}");

        Assert.Equal("srun", command.FileName);
        Assert.Equal(["--gres=gpu:1", "dotnet", "agentforge.dll", "worker", "--gpu", "2", "--requests", "/tmp/r.jsonl"], command.Arguments);
    }

    [Fact]
    public async Task Without_a_gpu_the_worker_answers_the_first_request_with_the_reason_and_exits()
    {
        Assert.SkipWhen(AgentPaths.HasGpuDriver, "this machine has a GPU");
        var requests = Path.Combine(Directory.CreateTempSubdirectory("afg-oneshot-").FullName, "requests.jsonl");
        await File.WriteAllLinesAsync(requests, OneShotRun.Requests("/nonexistent/candidate.so", "sig", new WorkerRequest(0, "run", InputsPath: "/nonexistent")), TestContext.Current.CancellationToken);

        var result = await ProcessRunner.RunAsync("dotnet", [AgentPaths.AgentForgeDll, "worker", "--gpu", "0", OneShotRun.RequestsOption, requests], TimeSpan.FromSeconds(60),
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(Orchestrator.Commands.WorkerVerb.ExitNoDevice, result.ExitCode);
        Assert.StartsWith("loading the candidate failed: no CUDA driver", OneShotRun.Failure(OneShotRun.Answers(result.Output)));
    }

    [Fact]
    public async Task A_missing_requests_file_is_refused()
    {
        var result = await ProcessRunner.RunAsync("dotnet", [AgentPaths.AgentForgeDll, "worker", OneShotRun.RequestsOption, "/nonexistent/requests.jsonl"], TimeSpan.FromSeconds(60),
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(Orchestrator.Commands.WorkerVerb.ExitNoRequests, result.ExitCode);
        Assert.Contains("requests file not found: /nonexistent/requests.jsonl", result.Output);
    }
}
