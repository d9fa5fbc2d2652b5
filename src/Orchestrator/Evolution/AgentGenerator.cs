using System.Text;
using System.Text.RegularExpressions;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>The agent's settings: model name, candidates per session, how much history the feedback shows.</summary>
public sealed record AgentOptions(string Model, int MaxCandidatesPerSession = 3, int FeedbackItems = 6, int MaxReplyCharacters = 200_000);

/// <summary>
/// The LLM generator: a Semantic Kernel agent. Each generation it works on one definition of the
/// track (in turn): the system, task and feedback prompts are rendered from prompts/, the model
/// runs with automatic function calling over the injected tools (compile, check, benchmark,
/// sanitize, profile, get_best, submit_candidate, ...), and what it submits, or else the fenced
/// ```cuda block of its final answer, becomes the generation's candidates.
/// </summary>
public sealed partial class AgentGenerator(
    IChatCompletionService chat,
    Kernel kernel,
    PromptLibrary prompts,
    CandidateInbox inbox,
    AgentOptions options) : ICandidateGenerator
{
    public string Name => $"agent:{options.Model}";

    /// <summary>The tool names as the model sees them.</summary>
    public IReadOnlyList<string> ToolNames => AgentKernel.WireNames(kernel);

    public void Observe(CandidateRecord record)
    {
        // The loop's history is the agent's memory: feedback is rendered from it each generation.
    }

    public async Task<GenerationProposal> ProposeAsync(GenerationContext context, CancellationToken cancellationToken)
    {
        var definitions = context.Problem.Definitions;
        var task = definitions[(context.Generation - 1) % definitions.Count];
        var model = PromptModels.For(context, task, ToolNames, options.MaxCandidatesPerSession, options.FeedbackItems, context.Champions);
        var system = prompts.Render("system", model);
        var user = prompts.Render($"task.{context.Problem.Track}", model);
        if (model.Feedback.Count > 0)
        {
            user += "\n" + prompts.Render("feedback", model);
        }

        var history = new ChatHistory();
        history.AddSystemMessage(system);
        history.AddUserMessage(user);
        var settings = new PromptExecutionSettings { ModelId = options.Model, FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() };
        inbox.Open(task.Name, options.MaxCandidatesPerSession);
        ChatMessageContent reply;
        try
        {
            reply = await chat.GetChatMessageContentAsync(history, settings, kernel, cancellationToken);
        }
        finally
        {
            // Whatever was submitted before a failure is kept; the session is over either way.
            pending = inbox.Close();
        }
        history.Add(reply);
        var transcript = Transcript(history, options.MaxReplyCharacters);
        var prompt = $"# system\n\n{system}\n# user\n\n{user}";
        var parent = context.Champions.Best(task.Name)?.CandidateId;

        var proposals = pending.Select(s => new ProposedCandidate(task.Name, inbox.ToSource(s), parent, prompt, transcript, s.Note ?? "submitted with submit_candidate")).ToList();
        if (proposals.Count == 0 && FencedCuda(reply.Content ?? "") is { } code)
        {
            var path = $"{task.Name}/kernel.cu";
            var source = new CandidateSource($"{task.Name}_agent", task.Name, [new SourceFile(path, code)], "run", TargetKind.Portable);
            proposals.Add(new ProposedCandidate(task.Name, source, parent, prompt, transcript, "the fenced cuda block of the final answer"));
        }
        return new GenerationProposal(proposals, Exhausted: false, proposals.Count == 0 ? $"{task.Name}: the model submitted nothing and its answer had no ```cuda block" : null);
    }

    private IReadOnlyList<CandidateSubmission> pending = [];

    [GeneratedRegex(@"```(?:cuda|cu|c\+\+|cpp)\s*\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex Fenced();

    /// <summary>The last fenced CUDA block of a reply (the model's final version), or null.</summary>
    public static string? FencedCuda(string text)
    {
        var matches = Fenced().Matches(text);
        return matches.Count == 0 ? null : matches[^1].Groups["code"].Value.TrimEnd() + "\n";
    }

    /// <summary>The conversation after the system and user prompts: tool calls, tool results and the model's text.</summary>
    public static string Transcript(ChatHistory history, int limit)
    {
        var text = new StringBuilder();
        foreach (var message in history.Skip(2))
        {
            text.AppendLine($"## {message.Role}");
            foreach (var item in message.Items)
            {
                switch (item)
                {
                    case FunctionCallContent call:
                        text.AppendLine($"call `{call.FunctionName}`({string.Join(", ", (call.Arguments ?? []).Select(a => $"{a.Key}: {Short(a.Value?.ToString())}"))})");
                        break;
                    case FunctionResultContent result:
                        text.AppendLine($"result of `{result.FunctionName}`: {Short(result.Result?.ToString(), 2000)}");
                        break;
                    case Microsoft.SemanticKernel.TextContent content when !string.IsNullOrEmpty(content.Text):
                        text.AppendLine(content.Text);
                        break;
                }
            }
            text.AppendLine();
        }
        return WorkloadResult.Truncate(text.ToString(), limit);
    }

    private static string Short(string? text, int length = 300) => text is null ? "null" : WorkloadResult.Truncate(text.ReplaceLineEndings(" "), length);
}
