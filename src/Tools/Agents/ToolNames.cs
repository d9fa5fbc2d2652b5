namespace AgentForge.Tools.Agents;

/// <summary>
/// The wire names of the tools: what a model calls, what `agentforge tools call` takes and what
/// the MCP server lists. They are pinned by a snapshot test; the sanitizer and ncu tools are
/// FlashInfer-Bench's flashinfer_bench_run_sanitizer / _run_ncu / _list_ncu_options without the prefix.
/// </summary>
public static class ToolNames
{
    public const string GetDefinition = "get_definition";
    public const string ListWorkloads = "list_workloads";
    public const string Compile = "compile";
    public const string CheckCorrectness = "check_correctness";
    public const string Benchmark = "benchmark";
    public const string RunSanitizer = "run_sanitizer";
    public const string RunNcu = "run_ncu";
    public const string ListNcuOptions = "list_ncu_options";
    public const string GetBest = "get_best";
    public const string SubmitCandidate = "submit_candidate";

    public static IReadOnlyList<string> All { get; } =
        [GetDefinition, ListWorkloads, Compile, CheckCorrectness, Benchmark, RunSanitizer, RunNcu, ListNcuOptions, GetBest, SubmitCandidate];
}
