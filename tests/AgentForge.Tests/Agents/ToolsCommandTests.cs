using System.CommandLine;
using System.Text.Json;
using AgentForge.Orchestrator.Commands;
using AgentForge.Tests.Trace;

namespace AgentForge.Tests.Agents;

/// <summary>`agentforge tools` end to end, in process, against the shared dataset (no GPU needed).</summary>
public sealed class ToolsCommandTests : IDisposable
{
    private readonly string scratch = Directory.CreateTempSubdirectory("afg-tools-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        string[] common = ["--dataset", SharedData.DatasetRoot, "--cache", Path.Combine(scratch, "cache"), "--runs", Path.Combine(scratch, "runs"), "--worker-command", AgentPaths.WorkerTemplate];
        var all = args.Length > 1 && args[1] == "call" ? [.. args, .. common] : args;
        var exitCode = await AgentForgeCli.Build().Parse(all).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Get_definition_returns_the_definition_and_the_entry_signature()
    {
        var (exitCode, output, error) = await RunAsync("tools", "call", "get_definition", "--args", "{\"name\": \"gdn_decode_qk4_v8_d128_k_last\"}");

        Assert.True(exitCode == ToolsCommand.ExitOk, error + output);
        var result = Json(output);
        Assert.Equal("gdn_decode_qk4_v8_d128_k_last", result.GetProperty("definition").GetProperty("name").GetString());
        Assert.Contains("def run(", result.GetProperty("definition").GetProperty("reference").GetString());
        Assert.StartsWith("void run(afg::Tensor q, afg::Tensor k, afg::Tensor v, afg::Tensor state,", result.GetProperty("entry_declaration").GetString());
        Assert.EndsWith("float scale, afg::Tensor output, afg::Tensor new_state, cudaStream_t stream);", result.GetProperty("entry_declaration").GetString());
        Assert.Contains("destination-passing", result.GetProperty("candidate_contract").GetString());
        Assert.Equal(54, result.GetProperty("workload_count").GetInt32());
    }

    [Fact]
    public async Task List_workloads_gives_uuids_and_axes()
    {
        var (exitCode, output, _) = await RunAsync("tools", "call", "list_workloads", "--args", "{\"definition\": \"moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048\"}");

        Assert.Equal(ToolsCommand.ExitOk, exitCode);
        var result = Json(output);
        Assert.Equal(19, result.GetProperty("count").GetInt32());
        var first = result.GetProperty("workloads")[0];
        Assert.Equal(36, first.GetProperty("uuid").GetString()!.Length);
        Assert.True(first.GetProperty("axes").TryGetProperty("seq_len", out _));
    }

    [Fact]
    public async Task An_unknown_definition_is_an_error_value_and_exit_code_1()
    {
        var (exitCode, output, _) = await RunAsync("tools", "call", "list_workloads", "--args", "{\"definition\": \"nope\"}");

        Assert.Equal(ToolsCommand.ExitToolError, exitCode);
        Assert.Contains("unknown definition 'nope'; known: dsa_sparse_attention", Json(output).GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("get_definition", "not json", "--args is not JSON")]
    [InlineData("get_definition", "[1]", "--args must be a JSON object")]
    [InlineData("no_such_tool", "{}", "unknown tool 'no_such_tool'")]
    public async Task Bad_calls_exit_2_with_a_message(string tool, string arguments, string message)
    {
        var (exitCode, _, error) = await RunAsync("tools", "call", tool, "--args", arguments);

        Assert.Equal(ToolsCommand.ExitUsage, exitCode);
        Assert.Contains(message, error);
    }

    [Fact]
    public async Task Gpu_tools_without_a_gpu_say_so()
    {
        Assert.SkipWhen(AgentPaths.HasGpuDriver, "this machine has a GPU: the worker would start");
        var sources = "{\"kernel.cu\": \"#include \\\"agentforge.h\\\"\\nvoid run() {}\\n\"}";

        var (exitCode, output, _) = await RunAsync("tools", "call", "check_correctness", "--args",
            $"{{\"definition\": \"gdn_decode_qk4_v8_d128_k_last\", \"sources\": {sources}, \"workloads\": [\"901e\"]}}");

        Assert.Equal(ToolsCommand.ExitToolError, exitCode);
        var result = Json(output);
        Assert.Matches("^c[0-9a-f]{12}$", result.GetProperty("candidate_id").GetString());
        Assert.StartsWith("no GPU worker:", result.GetProperty("error").GetString());
        Assert.Contains("no CUDA driver", result.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("run_sanitizer", "sanitizer_path", "compute-sanitizer not found at '/nonexistent/compute-sanitizer'")]
    [InlineData("run_ncu", "ncu_path", "ncu not found at '/nonexistent/ncu'")]
    public async Task Sanitizer_and_ncu_without_their_binaries_say_so(string tool, string pathParameter, string message)
    {
        // A FlashInfer-Bench Solution object, as FlashInfer-Bench's own tools take it.
        const string solution = "{\"name\": \"s\", \"definition\": \"gdn_decode_qk4_v8_d128_k_last\", \"author\": \"t\", \"spec\": {\"language\": \"cuda\", \"target_hardware\": [\"cuda\"], \"entry_point\": \"kernel.cu::run\"}, \"sources\": [{\"path\": \"kernel.cu\", \"content\": \"void run() {}\"}]}";
        var name = pathParameter == "ncu_path" ? "ncu" : "compute-sanitizer";

        var (exitCode, output, _) = await RunAsync("tools", "call", tool, "--args",
            $"{{\"solution\": {solution}, \"workload\": \"901e5104\", \"{pathParameter}\": \"/nonexistent/{name}\"}}");

        Assert.Equal(ToolsCommand.ExitToolError, exitCode);
        var result = Json(output);
        Assert.Contains(message, result.GetProperty("error").GetString());
        Assert.Equal("901e5104-dccb-4c3f-ae13-ef4d31a4d456", result.GetProperty("workload").GetString());
    }

    [Fact]
    public async Task List_ncu_options_falls_back_to_the_builtin_list()
    {
        var (exitCode, output, _) = await RunAsync("tools", "call", "list_ncu_options", "--args", "{\"ncu_path\": \"/nonexistent/ncu\"}");

        Assert.Equal(ToolsCommand.ExitOk, exitCode);
        var result = Json(output);
        Assert.Equal("builtin", result.GetProperty("source").GetString());
        Assert.Contains(result.GetProperty("sets").EnumerateArray(), s => s.GetProperty("name").GetString() == "detailed");
        Assert.Contains(result.GetProperty("sections").EnumerateArray(), s => s.GetProperty("name").GetString() == "WarpStateStats");
    }

    [Fact]
    public async Task Submit_candidate_writes_the_inbox_and_get_best_falls_back_to_the_baseline()
    {
        var (exitCode, output, _) = await RunAsync("tools", "call", "submit_candidate", "--args",
            "{\"definition\": \"gdn_decode_qk4_v8_d128_k_last\", \"sources\": {\"kernel.cu\": \"void run() {}\"}, \"note\": \"first try\"}");

        Assert.Equal(ToolsCommand.ExitOk, exitCode);
        var receipt = Json(output);
        Assert.True(receipt.GetProperty("accepted").GetBoolean());
        var folder = Path.Combine(scratch, "runs", "inbox", "gdn_decode_qk4_v8_d128_k_last", receipt.GetProperty("submission_id").GetString()!);
        Assert.True(File.Exists(Path.Combine(folder, "solution.json")));
        Assert.Equal("first try", File.ReadAllText(Path.Combine(folder, "note.txt")));

        (exitCode, output, _) = await RunAsync("tools", "call", "get_best", "--args", "{\"definition\": \"gdn_decode_qk4_v8_d128_k_last\"}");
        Assert.Equal(ToolsCommand.ExitOk, exitCode);
        var best = Json(output);
        Assert.Equal("baseline", best.GetProperty("source").GetString());
        Assert.Contains("__global__", best.GetProperty("sources").EnumerateObject().Single().Value.GetString());
    }

    [Fact]
    public async Task Schema_writes_every_tool_to_a_file()
    {
        var file = Path.Combine(scratch, "tools.json");
        var (exitCode, output, _) = await RunAsync("tools", "schema", "--out", file);

        Assert.Equal(ToolsCommand.ExitOk, exitCode);
        Assert.Contains("10 tool schemas", output);
        Assert.Equal(File.ReadAllText(AgentPaths.SnapshotPath("tools.openai.json")), File.ReadAllText(file));
    }
}
