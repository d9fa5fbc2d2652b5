using AgentForge.Orchestrator.Evolution;
using AgentForge.Tests.Inputs;
using AgentForge.Tests.Trace;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Evolution;

/// <summary>
/// The prompts a model reads are product text: rendered for each track with a fixed model and
/// compared with reviewed snapshots. Set AGENTFORGE_UPDATE_SNAPSHOTS=1 to rewrite them after a
/// deliberate change, then review the diff.
/// </summary>
public sealed class PromptTests
{
    private static readonly PromptLibrary Library = new(PromptLibrary.Locate(null) ?? throw new DirectoryNotFoundException("prompts/"));

    public static TheoryData<string> TrackNames => [.. Tracks.Names];

    private static PromptModel Model(string track, bool withChampion = true, bool withTools = true)
    {
        var dataset = TraceDataset.Load(SharedData.DatasetRoot);
        var definition = dataset.FindDefinition(Tracks.Resolve(track)![0])!;
        var bands = WorkloadBands.Names(definition.Name).Select((b, i) => new PromptBand(b, 10 + i, "0.1000", i == 0 ? "0.0500" : "-", i == 0 ? "3.20" : "-")).ToList();
        var champion = withChampion
            ? new PromptChampion("003-01-0123456789ab", "tuner", "0.0500", "3.20", $"{definition.Name}/kernel.cu", "// the champion's code\n#include \"agentforge.h\"")
            : null;
        var failed = new CandidateRecord("004-00-abcdefabcdef", definition.Name, 4, "agent:test", "003-01-0123456789ab", "abcdefabcdef", new Dictionary<string, string>(),
            CandidateVerdict.Failed, "1/10 workloads failed (first: w1 INCORRECT_NUMERICAL)", null, null,
            [new WorkloadResult("w1", bands[0].Name, "INCORRECT_NUMERICAL", null, null, [], 0.01, "trial 0: max abs error 3.5 at [0, 7]")], [], null, [], DateTimeOffset.UnixEpoch);
        var compileError = new CandidateRecord("004-01-fedcbafedcba", definition.Name, 4, "agent:test", null, "fedcbafedcba", new Dictionary<string, string>(),
            CandidateVerdict.CompileError, "COMPILE_ERROR: kernel.cu(12): error: identifier \"foo\" is undefined", null, null, [],
            [], "kernel.cu(12): error: identifier \"foo\" is undefined\n1 error detected", [], DateTimeOffset.UnixEpoch);
        var rejected = new CandidateRecord("004-02-aaaaaaaaaaaa", definition.Name, 4, "agent:test", null, "aaaaaaaaaaaa", new Dictionary<string, string>(),
            CandidateVerdict.Rejected, "beats_champion: not faster", 0.06, 3.9,
            [new WorkloadResult("w1", bands[0].Name, "PASSED", 0.06, 1.0, [0.06, 0.061, 0.059], 0.015)],
            [], null, [new GateCheck("all_workloads_passed", true, "10/10 PASSED"), new GateCheck("beats_champion", false, "all: 1.2x")], DateTimeOffset.UnixEpoch,
            "dram__throughput 41% of peak; sm__throughput 12%");
        var tools = withTools ? new[] { "agentforge_compile", "agentforge_get_best", "agentforge_submit_candidate" } : [];
        return new PromptModel(track, 5, PromptModels.Describe(definition), bands, champion, tools,
            withTools ? "agentforge_submit_candidate" : PromptModels.SubmitToolName, 3, "00:10:00 elapsed, 12 candidates, 0 tokens (budget: time 00:15:00)",
            [PromptModels.Feedback(failed), PromptModels.Feedback(compileError), PromptModels.Feedback(rejected)]);
    }

    private static string Render(PromptModel model) =>
        $"<!-- system -->\n{Library.Render("system", model)}\n<!-- task -->\n{Library.Render($"task.{model.Track}", model)}\n<!-- feedback -->\n{Library.Render("feedback", model)}";

    [Theory]
    [MemberData(nameof(TrackNames))]
    public void Prompts_match_their_snapshots(string track)
    {
        var text = Render(Model(track));
        var path = Path.Combine(RepositoryRoot(), "tests", "AgentForge.Tests", "Evolution", "Snapshots", $"prompt.{track}.md");
        if (Environment.GetEnvironmentVariable("AGENTFORGE_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, text);
        }
        Assert.True(File.Exists(path), $"no snapshot at {path}; run once with AGENTFORGE_UPDATE_SNAPSHOTS=1 and review it");
        Assert.Equal(File.ReadAllText(path), text);
    }

    [Fact]
    public void Without_tools_the_model_is_asked_for_a_fenced_block_and_without_a_champion_it_is_told_so()
    {
        var model = Model("gated_delta_net", withChampion: false, withTools: false);
        Assert.Contains("answer with the complete kernel source in one fenced ```cuda block", Library.Render("system", model));
        Assert.Contains("There is no champion yet", Library.Render("task.gated_delta_net", model));
    }

    [Fact]
    public void Unknown_variables_and_members_are_errors_not_empty_text()
    {
        using var folder = new TempDirectory();
        File.WriteAllText(folder.Combine("unknown.scriban"), "Hello {{ nobody }}");
        File.WriteAllText(folder.Combine("member.scriban"), "{{ definition.nickname }}");
        File.WriteAllText(folder.Combine("include.scriban"), "{{ include '_missing' }}");
        File.WriteAllText(folder.Combine("broken.scriban"), "{{ if }}");
        var library = new PromptLibrary(folder.Path);
        var model = Model("gated_delta_net");
        Assert.Contains("nobody", Assert.Throws<PromptTemplateException>(() => library.Render("unknown", model)).Message);
        Assert.Contains("nickname", Assert.Throws<PromptTemplateException>(() => library.Render("member", model)).Message);
        Assert.Throws<PromptTemplateException>(() => library.Render("include", model));
        Assert.Throws<PromptTemplateException>(() => library.Render("broken", model));
        Assert.Throws<PromptTemplateException>(() => library.Render("absent", model));
        Assert.NotEmpty(library.Check());
        Assert.Empty(Library.Check());
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentForge.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new DirectoryNotFoundException("repository root not found above " + AppContext.BaseDirectory);
    }
}
