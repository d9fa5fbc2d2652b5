using System.Diagnostics;
using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Processes;
using Microsoft.Extensions.AI;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace AgentForge.Tests.Evolution;

public sealed class ResilienceAndSecretsTests
{
    private static ModelResilienceOptions Fast(int retries = 2, int throughput = 10) => new(AttemptTimeout: TimeSpan.FromMilliseconds(200), MaxRetries: retries, BaseDelay: TimeSpan.FromMilliseconds(1),
        MinimumThroughput: throughput, SamplingDuration: TimeSpan.FromSeconds(30), BreakDuration: TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Transient_failures_are_retried_with_backoff_until_an_answer()
    {
        var client = new ScriptedChatClient(
            ScriptedChatClient.Throw(new HttpRequestException("connection reset")),
            ScriptedChatClient.Throw(new HttpRequestException("429", null, System.Net.HttpStatusCode.TooManyRequests)),
            ScriptedChatClient.Text("ok"));
        var resilient = new ResilientChatClient(client, Resilience.ModelPipeline(Fast(), TimeProvider.System));
        var response = await resilient.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("ok", response.Text);
        Assert.Equal(3, client.Calls.Count);
    }

    [Fact]
    public async Task A_hanging_call_times_out_and_a_failing_endpoint_opens_the_circuit()
    {
        var hang = new HangingChatClient();
        var pipeline = Resilience.ModelPipeline(Fast(retries: 1, throughput: 2), TimeProvider.System);
        var resilient = new ResilientChatClient(hang, pipeline);
        await Assert.ThrowsAsync<TimeoutRejectedException>(() => resilient.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(2, hang.Calls); // the timeout is transient: one retry

        // Two timed-out attempts in the window: the breaker is open, the next call fails at once.
        await Assert.ThrowsAsync<BrokenCircuitException>(() => resilient.GetResponseAsync([new ChatMessage(ChatRole.User, "again")], cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(2, hang.Calls);
    }

    [Theory]
    [InlineData(typeof(HttpRequestException), true)]
    [InlineData(typeof(IOException), true)]
    [InlineData(typeof(InvalidOperationException), false)]
    public void Transient_faults_are_told_apart(Type type, bool transient) =>
        Assert.Equal(transient, Resilience.IsTransient((Exception)Activator.CreateInstance(type, "x")!));

    [Fact]
    public void Client_errors_other_than_timeouts_and_rate_limits_are_not_retried()
    {
        Assert.False(Resilience.IsTransient(new HttpRequestException("401", null, System.Net.HttpStatusCode.Unauthorized)));
        Assert.True(Resilience.IsTransient(new HttpRequestException("503", null, System.Net.HttpStatusCode.ServiceUnavailable)));
        Assert.True(Resilience.IsTransient(new System.ClientModel.ClientResultException("rate limited", null)));
    }

    [Fact]
    public async Task Child_processes_never_see_api_keys()
    {
        Environment.SetEnvironmentVariable("OPENAI_API_KEY", "sk-test-openai");
        Environment.SetEnvironmentVariable("SOMEVENDOR_API_KEY", "sk-test-vendor");
        var key = Secrets.TakeApiKey();
        Assert.Equal("sk-test-openai", key);
        Assert.Null(Environment.GetEnvironmentVariable("OPENAI_API_KEY"));
        Assert.False(new ProcessStartInfo("env").Environment.ContainsKey("SOMEVENDOR_API_KEY"));

        // What a worker, nvcc or a candidate would inherit.
        var child = await ProcessRunner.RunAsync("env", [], TimeSpan.FromSeconds(10), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(child.Succeeded, child.Output);
        Assert.DoesNotContain("sk-test", child.Output);
    }

    /// <summary>Never answers; counts attempts.</summary>
    private sealed class HangingChatClient : IChatClient
    {
        public int Calls { get; private set; }

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls++;
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
