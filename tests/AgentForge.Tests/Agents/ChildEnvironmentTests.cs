using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Processes;

namespace AgentForge.Tests.Agents;

/// <summary>Model credentials never reach nvcc, the worker (and so the candidates), compute-sanitizer or ncu.</summary>
public sealed class ChildEnvironmentTests
{
    [Theory]
    [InlineData("OPENAI_API_KEY", true)]
    [InlineData("OPENAI_BASE_URL", true)]
    [InlineData("ANTHROPIC_AUTH_TOKEN", true)]
    [InlineData("AGENTFORGE_LLM_API_KEY", true)]
    [InlineData("HF_TOKEN", true)]
    [InlineData("AWS_SECRET_ACCESS_KEY", true)]
    [InlineData("github_token", true)]
    [InlineData("PATH", false)]
    [InlineData("CUDA_VISIBLE_DEVICES", false)]
    [InlineData("FIB_DATASET_PATH", false)]
    [InlineData("AGENTFORGE_CACHE", false)]
    public void Credential_names_are_recognized(string name, bool secret) => Assert.Equal(secret, ChildEnvironment.IsSecret(name));

    [Fact]
    public async Task A_tool_process_sees_neither_inherited_nor_passed_credentials()
    {
        Environment.SetEnvironmentVariable("AGENTFORGE_TEST_API_KEY", "sk-inherited");
        try
        {
            var result = await ProcessRunner.RunAsync("/usr/bin/env", [], TimeSpan.FromSeconds(20),
                environment: new Dictionary<string, string?> { ["OPENAI_API_KEY"] = "sk-passed", ["AGENTFORGE_TEST_VISIBLE"] = "yes" },
                cancellationToken: TestContext.Current.CancellationToken);

            Assert.True(result.Succeeded, result.Output);
            Assert.DoesNotContain("sk-", result.Output);
            Assert.Contains("AGENTFORGE_TEST_VISIBLE=yes", result.Output);
            Assert.Contains("PATH=", result.Output);
        }
        finally
        {
            Environment.SetEnvironmentVariable("AGENTFORGE_TEST_API_KEY", null);
        }
    }

    [Fact]
    public async Task The_worker_process_does_not_inherit_credentials()
    {
        Environment.SetEnvironmentVariable("AGENTFORGE_WORKER_TEST_API_KEY", "sk-inherited");
        try
        {
            // A worker that greets with the names of its environment variables as its device name.
            const string script = "import json,os,sys\nreq=json.loads(sys.stdin.readline())\n"
                + "print(json.dumps({'id':req['id'],'ok':True,'hello':{'device':','.join(sorted(os.environ)),'architecture':'sm_90','multiprocessors':1,"
                + "'l2_bytes':1,'memory_bytes':1,'driver_version':1,'copy_bandwidth_gbps':1,'process_id':os.getpid()}}),flush=True)\n";
            await using var slot = new WorkerSlot(new WorkerCommand("python3", ["-u", "-c", script]),
                environment: new Dictionary<string, string?> { ["OPENAI_API_KEY"] = "sk-passed" });

            var started = await slot.EnsureStartedAsync(TestContext.Current.CancellationToken);

            Assert.True(started.Answered, started.Detail);
            var names = slot.Hello!.Device.Split(',');
            Assert.DoesNotContain("AGENTFORGE_WORKER_TEST_API_KEY", names);
            Assert.DoesNotContain("OPENAI_API_KEY", names);
            Assert.Contains("PATH", names);
        }
        finally
        {
            Environment.SetEnvironmentVariable("AGENTFORGE_WORKER_TEST_API_KEY", null);
        }
    }
}
