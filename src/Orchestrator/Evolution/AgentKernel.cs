using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using OpenAI;
using Polly;

// Semantic Kernel marks its IChatClient bridges experimental (SKEXP0001); they are how SK's
// automatic function calling runs over a Microsoft.Extensions.AI chat client, which keeps the
// model seam on IChatClient (a fake in tests, OpenAI-compatible for real).
#pragma warning disable SKEXP0001

namespace AgentForge.Orchestrator.Evolution;

/// <summary>
/// Assembles the agent's Semantic Kernel: the injected tools as kernel functions of one plugin,
/// and the chat stack. From the outside in: SK's function-invoking client (automatic function
/// calling), token counting (every round trip), the Polly model pipeline, and the raw client.
/// </summary>
public static class AgentKernel
{
    public const string PluginName = "agentforge";

    public static Kernel Create(IReadOnlyList<AIFunction> tools)
    {
        var kernel = new Kernel();
        if (tools.Count > 0)
        {
            kernel.Plugins.AddFromFunctions(PluginName, tools.Select(t => t.AsKernelFunction()));
        }
        return kernel;
    }

    /// <summary>Tool names as the model sees them: plugin, underscore, function.</summary>
    public static IReadOnlyList<string> WireNames(Kernel kernel) =>
        kernel.Plugins.SelectMany(plugin => plugin.Select(function => $"{plugin.Name}_{function.Name}")).ToList();

    public static (IChatCompletionService Chat, UsageCountingChatClient Usage) ChatStack(IChatClient inner, ResiliencePipeline pipeline)
    {
        var usage = new UsageCountingChatClient(new ResilientChatClient(inner, pipeline));
        var invoking = new ChatClientBuilder(usage).UseKernelFunctionInvocation().Build();
        return (invoking.AsChatCompletionService(), usage);
    }

    /// <summary>
    /// An OpenAI-compatible chat endpoint. The SDK's own retries are off: the Polly pipeline is the
    /// one retry policy, so backoff and the circuit breaker see every failure.
    /// </summary>
    public static IChatClient OpenAiCompatible(string model, Uri? endpoint, string apiKey)
    {
        var options = new OpenAIClientOptions
        {
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromMinutes(10),
        };
        if (endpoint is not null)
        {
            options.Endpoint = endpoint;
        }
        return new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(apiKey), options).AsIChatClient();
    }
}
