using System.ClientModel;
using System.Net;
using Microsoft.Extensions.AI;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>Limits for model calls: per-attempt timeout, retries with exponential backoff, and a circuit breaker.</summary>
public sealed record ModelResilienceOptions(
    TimeSpan? AttemptTimeout = null,
    int MaxRetries = 4,
    TimeSpan? BaseDelay = null,
    double FailureRatio = 0.5,
    int MinimumThroughput = 4,
    TimeSpan? SamplingDuration = null,
    TimeSpan? BreakDuration = null)
{
    public TimeSpan Attempt => AttemptTimeout ?? TimeSpan.FromMinutes(3);

    public TimeSpan Delay => BaseDelay ?? TimeSpan.FromSeconds(2);

    public TimeSpan Sampling => SamplingDuration ?? TimeSpan.FromMinutes(2);

    public TimeSpan Break => BreakDuration ?? TimeSpan.FromMinutes(1);
}

/// <summary>
/// Polly pipelines for everything that leaves the process: model calls (timeout per attempt,
/// retries with exponential backoff and jitter on transient faults, a circuit breaker so a dead
/// endpoint stops costing time) and tool processes (a hard timeout, one retry on I/O faults).
/// </summary>
public static class Resilience
{
    public static ResiliencePipeline ModelPipeline(ModelResilienceOptions options, TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        return builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.Delay,
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.Sampling,
                BreakDuration = options.Break,
            })
            .AddTimeout(options.Attempt)
            .Build();
    }

    /// <summary>A tool process (nvcc, the worker, compute-sanitizer) gets <paramref name="limit"/> in all and one more try after an I/O fault.</summary>
    public static ResiliencePipeline ToolPipeline(TimeSpan limit, TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        return builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<IOException>(),
                MaxRetryAttempts = 1,
                Delay = TimeSpan.FromSeconds(1),
            })
            .AddTimeout(limit)
            .Build();
    }

    /// <summary>Faults worth another try: the network, timeouts, rate limits and server errors. A 4xx other than 408/429 is our mistake and is not retried.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        TimeoutRejectedException => true,
        HttpRequestException http => http.StatusCode is null or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int?)http.StatusCode >= 500,
        ClientResultException client => client.Status is 0 or 408 or 429 or >= 500,
        IOException => true,
        TaskCanceledException canceled => canceled.InnerException is TimeoutException,
        _ => false,
    };
}

/// <summary>Runs every model call through the model pipeline; streaming passes through (the agent does not stream).</summary>
public sealed class ResilientChatClient(IChatClient inner, ResiliencePipeline pipeline) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        return await pipeline.ExecuteAsync(async token => await base.GetResponseAsync(list, options, token), cancellationToken);
    }
}

/// <summary>Counts the tokens of every model round trip (tool-calling turns included) for the token and cost budgets.</summary>
public sealed class UsageCountingChatClient(IChatClient inner) : DelegatingChatClient(inner), IUsageMeter
{
    private long input;
    private long output;
    private int calls;

    public long InputTokens => Interlocked.Read(ref input);

    public long OutputTokens => Interlocked.Read(ref output);

    public int Calls => Volatile.Read(ref calls);

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await base.GetResponseAsync(messages, options, cancellationToken);
        Interlocked.Add(ref input, response.Usage?.InputTokenCount ?? 0);
        Interlocked.Add(ref output, response.Usage?.OutputTokenCount ?? 0);
        Interlocked.Increment(ref calls);
        return response;
    }
}
