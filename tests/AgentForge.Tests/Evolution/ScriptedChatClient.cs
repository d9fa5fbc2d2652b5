using Microsoft.Extensions.AI;

namespace AgentForge.Tests.Evolution;

/// <summary>
/// A chat client that answers from a script: each call pops the next response (text, tool calls,
/// or an exception to throw). It records what it was sent, including the tools offered.
/// </summary>
internal sealed class ScriptedChatClient(params Func<IReadOnlyList<ChatMessage>, ChatResponse>[] script) : IChatClient
{
    private int next;

    public List<(IReadOnlyList<ChatMessage> Messages, IReadOnlyList<string> Tools)> Calls { get; } = [];

    public static Func<IReadOnlyList<ChatMessage>, ChatResponse> Text(string text, int inputTokens = 1000, int outputTokens = 100) =>
        _ => Respond(new ChatMessage(ChatRole.Assistant, text), inputTokens, outputTokens);

    public static Func<IReadOnlyList<ChatMessage>, ChatResponse> Call(string tool, IDictionary<string, object?> arguments, int inputTokens = 1000, int outputTokens = 100) =>
        _ => Respond(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent($"call-{Guid.NewGuid():N}", tool, arguments)]), inputTokens, outputTokens);

    public static Func<IReadOnlyList<ChatMessage>, ChatResponse> Throw(Exception exception) => _ => throw exception;

    private static ChatResponse Respond(ChatMessage message, int input, int output) =>
        new(message) { Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output } };

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        Calls.Add((list, options?.Tools?.Select(t => t.Name).ToList() ?? []));
        if (next >= script.Length)
        {
            throw new InvalidOperationException("the script has no more responses");
        }
        return Task.FromResult(script[next++](list));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
