using AgentForge.Orchestrator.Evolution;
using AgentForge.Tools.Trace;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace AgentForge.Tests.Evolution;

/// <summary>The agent path with a scripted model: real Semantic Kernel function calling, real prompts, the fake evaluator.</summary>
public sealed class AgentGeneratorTests
{
    private static readonly string PromptsDirectory = PromptLibrary.Locate(null) ?? throw new InvalidOperationException("prompts/ not found");

    /// <summary>Stand-ins for the tools another part of AgentForge provides, calling the same seams.</summary>
    private static IReadOnlyList<AIFunction> Tools(ICandidateSink sink, IChampionStore champions) =>
    [
        AIFunctionFactory.Create(
            (string definition, string path, string code) =>
            {
                var receipt = sink.Submit(new CandidateSubmission(definition, [new SourceFile(path, code)]));
                return $"{(receipt.Accepted ? "accepted" : "refused")}: {receipt.Message}";
            },
            "submit_candidate",
            "Queue a finished kernel for evaluation."),
        AIFunctionFactory.Create(
            (string definition) => champions.Best(definition) is { } best ? $"{best.CandidateId}: {best.GeomeanLatencyMs:0.000} ms" : "no champion",
            "get_best",
            "The current champion of a definition."),
    ];

    private static (AgentGenerator Generator, UsageCountingChatClient Usage, CandidateInbox Inbox) Agent(ScriptedChatClient client, EvolutionProblem problem, Func<IChampionStore> champions, FakeTimeProvider clock)
    {
        var inbox = new CandidateInbox(problem);
        var store = new LateChampions(champions);
        var kernel = AgentKernel.Create(Tools(inbox, store));
        var pipeline = Resilience.ModelPipeline(new ModelResilienceOptions(MaxRetries: 2, BaseDelay: TimeSpan.FromMilliseconds(1)), TimeProvider.System);
        var (chat, usage) = AgentKernel.ChatStack(client, pipeline);
        return (new AgentGenerator(chat, kernel, new PromptLibrary(PromptsDirectory), inbox, new AgentOptions("scripted-model")), usage, inbox);
    }

    /// <summary>The archive exists only once the loop runs; tools look it up late.</summary>
    private sealed class LateChampions(Func<IChampionStore> inner) : IChampionStore
    {
        public ChampionView? Best(string definition, string band = WorkloadBands.All) => inner().Best(definition, band);

        public IReadOnlyList<ChampionView> Champions() => inner().Champions();
    }

    [Fact]
    public async Task The_agent_submits_through_a_tool_and_the_candidate_is_evaluated_and_promoted()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var problem = FakeProblem.Problem();
        var faster = FakeProblem.Kernel("honest", 0.4, tunable: false);
        var client = new ScriptedChatClient(
            ScriptedChatClient.Call("agentforge_get_best", new Dictionary<string, object?> { ["definition"] = FakeProblem.DefinitionName }),
            ScriptedChatClient.Call("agentforge_submit_candidate", new Dictionary<string, object?> { ["definition"] = FakeProblem.DefinitionName, ["path"] = "gdn_decode_fake/kernel.cu", ["code"] = faster }),
            ScriptedChatClient.Text("Submitted one kernel."),
            // Generation 2: no tool call, the kernel in a fenced block.
            ScriptedChatClient.Text("Here is a version with a wrong answer:\n```cuda\n" + FakeProblem.Kernel("wrong", 0.1, tunable: false) + "```\n"));
        Archive? archive = null;
        var (generator, usage, _) = Agent(client, problem, () => archive!, fixture.Clock);
        var loopTask = fixture.RunAsync(store, new ArchiveSpy(generator, a => archive = a), LoopFixture.Options(new Budget(Candidates: 2)), problem, usage);
        var summary = await loopTask;

        Assert.StartsWith("candidate budget spent", summary.StopReason);
        var records = RunReplay.From(store.ReadEvents()).Archive.Records();
        var submitted = Assert.Single(records, r => r.Generation == 1);
        Assert.Equal(CandidateVerdict.Promoted, submitted.Verdict);
        Assert.Equal("agent:scripted-model", submitted.Generator);
        var fenced = Assert.Single(records, r => r.Generation == 2);
        Assert.Equal(CandidateVerdict.Failed, fenced.Verdict);

        // The model saw the tools under their wire names, got the get_best answer back, and was billed.
        Assert.Equal(["agentforge_submit_candidate", "agentforge_get_best"], client.Calls[0].Tools);
        Assert.Contains(client.Calls[1].Messages, m => m.Contents.OfType<FunctionResultContent>().Any(r => r.Result?.ToString()?.Contains("000-00-") == true));
        Assert.Equal(4, usage.Calls);
        Assert.Equal(4400, store.ReadEvents().OfType<ModelUsage>().Sum(u => u.InputTokens + u.OutputTokens));

        // Prompt and reply are in the candidate's folder; the second prompt carried the first verdict.
        var folder = store.CandidateFolder(submitted.Id);
        var prompt = File.ReadAllText(Path.Combine(folder, "prompt.md"));
        Assert.Contains("# Task: make `gdn_decode_fake` faster (track gated_delta_net)", prompt);
        Assert.Contains("`agentforge_submit_candidate`", prompt);
        Assert.Contains("call `agentforge_get_best`", File.ReadAllText(Path.Combine(folder, "reply.md")));
        var secondPrompt = File.ReadAllText(Path.Combine(store.CandidateFolder(fenced.Id), "prompt.md"));
        Assert.Contains($"### `{submitted.Id}`: Promoted", secondPrompt);
        Assert.Contains("gate beats_champion: passed", secondPrompt);
    }

    [Fact]
    public async Task Transient_model_errors_are_retried_and_a_dead_model_ends_the_run()
    {
        using var fixture = new LoopFixture();
        using var store = fixture.NewStore();
        var problem = FakeProblem.Problem();
        var transient = new HttpRequestException("502 Bad Gateway", null, System.Net.HttpStatusCode.BadGateway);
        var client = new ScriptedChatClient(
            ScriptedChatClient.Throw(transient),
            ScriptedChatClient.Text("```cuda\n" + FakeProblem.Kernel("honest", 0.5, tunable: false) + "```"),
            // From here on the endpoint refuses us: 401 is not transient, so no retries.
            ScriptedChatClient.Throw(new HttpRequestException("401 Unauthorized", null, System.Net.HttpStatusCode.Unauthorized)),
            ScriptedChatClient.Throw(new HttpRequestException("401 Unauthorized", null, System.Net.HttpStatusCode.Unauthorized)),
            ScriptedChatClient.Throw(new HttpRequestException("401 Unauthorized", null, System.Net.HttpStatusCode.Unauthorized)));
        Archive? archive = null;
        var (generator, usage, _) = Agent(client, problem, () => archive!, fixture.Clock);
        var summary = await fixture.RunAsync(store, new ArchiveSpy(generator, a => archive = a), LoopFixture.Options(new Budget(Candidates: 10)), problem, usage);

        Assert.StartsWith("generator failed 3 times in a row", summary.StopReason);
        Assert.Equal(5, client.Calls.Count); // one retry for the 502, none for the 401s
        Assert.Single(RunReplay.From(store.ReadEvents()).Archive.Records(), r => r.Generation > 0);
        Assert.Equal(3, store.ReadEvents().OfType<GeneratorNote>().Count(n => n.Message.Contains("401")));
    }

    [Fact]
    public void The_last_fenced_cuda_block_is_the_answer()
    {
        Assert.Equal("int b;\n", AgentGenerator.FencedCuda("draft:\n```cuda\nint a;\n```\nfinal:\n```cuda\nint b;\n```"));
        Assert.Null(AgentGenerator.FencedCuda("no code here"));
    }

    [Fact]
    public void The_inbox_refuses_what_the_loop_cannot_use()
    {
        var inbox = new CandidateInbox(FakeProblem.Problem());
        var good = new CandidateSubmission(FakeProblem.DefinitionName, [new SourceFile("k/kernel.cu", "x")]);
        Assert.False(inbox.Submit(good).Accepted); // no session open
        inbox.Open(FakeProblem.DefinitionName, 1);
        Assert.Contains("must not contain '..'", inbox.Submit(good with { Sources = [new SourceFile("../kernel.cu", "x")] }).Message);
        Assert.Contains("not 'other'", inbox.Submit(good with { Definition = "other" }).Message);
        Assert.Contains(".cu source", inbox.Submit(good with { Sources = [new SourceFile("k/kernel.h", "x")] }).Message);
        Assert.True(inbox.Submit(good).Accepted);
        Assert.Contains("at most 1", inbox.Submit(good).Message);
        Assert.Single(inbox.Close());
    }

    /// <summary>Hands the loop's archive to the tools once the first generation is asked for.</summary>
    private sealed class ArchiveSpy(ICandidateGenerator inner, Action<Archive> found) : ICandidateGenerator
    {
        public string Name => inner.Name;

        public Task<GenerationProposal> ProposeAsync(GenerationContext context, CancellationToken cancellationToken)
        {
            found((Archive)context.Champions);
            return inner.ProposeAsync(context, cancellationToken);
        }

        public void Observe(CandidateRecord record) => inner.Observe(record);
    }
}
