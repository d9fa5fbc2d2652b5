using System.Text.Json;
using AgentForge.Tools.Agents;
using AgentForge.Tools.Bench.Worker;

namespace AgentForge.Tests.Agents;

/// <summary>
/// run_sanitizer and run_ncu end to end without a GPU: stand-ins for compute-sanitizer and ncu
/// (shell scripts that run the command after "--log-file LOG" and write a canned log) wrap a
/// stand-in one-shot worker (a Python script that answers the requests file), on real inputs of a
/// shared-dataset workload from the input cache.
/// </summary>
public sealed class WrappedToolTests : IDisposable
{
    private const string Workload = "901e5104";

    private const string Solution = "{\"name\": \"s\", \"definition\": \"gdn_decode_qk4_v8_d128_k_last\", \"author\": \"t\", \"spec\": {\"language\": \"cuda\", "
        + "\"target_hardware\": [\"cuda\"], \"entry_point\": \"kernel.cu::run\"}, \"sources\": [{\"path\": \"kernel.cu\", \"content\": \"void run() {}\"}]}";

    // Answers load and run when the run request is untimed and its inputs file exists.
    private const string FakeWorker = """
        import json, os, sys
        for line in open(sys.argv[1]):
            req = json.loads(line)
            ok = req['op'] == 'load' or (os.path.exists(req['inputs_path']) and 'timing' not in req and req['handle'] == 0)
            print(json.dumps({'id': req['id'], 'ok': ok, 'handle': 0}), flush=True)
        """;

    private readonly string scratch = Directory.CreateTempSubdirectory("afg-wrapped-").FullName;

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

    private string Script(string name, string log)
    {
        var path = Path.Combine(scratch, name);
        File.WriteAllText(path, "#!/bin/sh\n"
            + "while [ $# -gt 0 ]; do if [ \"$1\" = --log-file ]; then log=$2; shift 2; break; fi; echo \"$1\" >> \"$0.args\"; shift; done\n"
            + "\"$@\"\nstatus=$?\ncat > \"$log\" <<'LOG'\n" + log + "\nLOG\nexit $status\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return path;
    }

    private ToolServices Services() => new(
        FakeBackend.Shared(),
        new CandidateStore(Path.Combine(scratch, "candidates")),
        new FakeChampions(),
        new FakeSink(),
        new ToolSettings(WorkerLauncher: (gpu, requests) => new WorkerCommand("python3", ["-c", FakeWorker, requests])));

    private async Task<JsonElement> CallAsync(string tool, string arguments)
    {
        var function = ToolCatalog.Create(Services()).Single(f => f.Name == tool);
        using var arguments_ = JsonDocument.Parse(arguments);
        var text = await ToolCatalog.InvokeAsync(function, arguments_.RootElement, TestContext.Current.CancellationToken);
        using var result = JsonDocument.Parse(text);
        return result.RootElement.Clone();
    }

    [Fact]
    public async Task Run_sanitizer_runs_each_tool_around_the_worker_and_reads_its_log()
    {
        var sanitizer = Script("compute-sanitizer", """
            ========= COMPUTE-SANITIZER
            ========= Error: Race reported between Write access at k()+0x90 in kernel.cu:3
            =========     and Read access at k()+0x100 in kernel.cu:5 [64 hazards]
            =========
            ========= RACECHECK SUMMARY: 1 hazard displayed (1 error, 0 warnings)
            ========= ERROR SUMMARY: 0 errors
            """);

        var result = await CallAsync("run_sanitizer",
            $"{{\"solution\": {Solution}, \"workload\": \"{Workload}\", \"sanitizer_path\": \"{sanitizer}\", \"sanitizer_types\": [\"memcheck\", \"racecheck\"], \"max_lines\": 100}}");

        Assert.False(result.TryGetProperty("error", out var error), error.ToString());
        Assert.False(result.GetProperty("clean").GetBoolean());
        var reports = result.GetProperty("reports").EnumerateArray().ToList();
        Assert.Equal("memcheck", reports[0].GetProperty("tool").GetString());
        Assert.True(reports[0].GetProperty("clean").GetBoolean(), reports[0].ToString());
        Assert.Equal("racecheck", reports[1].GetProperty("tool").GetString());
        Assert.Equal(1, reports[1].GetProperty("error_count").GetInt32());
        Assert.Contains("64x Race (shared memory hazard) at Write access at k()+0x90 in kernel.cu:3", reports[1].GetProperty("summary").GetString());
        Assert.Contains("===== racecheck =====", result.GetProperty("output").GetString());
        Assert.Equal(["--tool", "memcheck", "--tool", "racecheck"], File.ReadAllLines(sanitizer + ".args"));
    }

    [Fact]
    public async Task Run_ncu_summarizes_the_details_page_of_the_wrapped_call()
    {
        var ncu = Script("ncu", """
            ==PROF== Connected to process 4242
            "ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"
            "0","4242","dotnet","127.0.0.1","gdn_decode_kernel","1","13","(128, 1, 1)","(8, 1, 1)","0","9.0","GPU Speed Of Light Throughput","Duration","usecond","4.10"
            "0","4242","dotnet","127.0.0.1","gdn_decode_kernel","1","13","(128, 1, 1)","(8, 1, 1)","0","9.0","Launch Statistics","Registers Per Thread","register/thread","64"
            """);

        var result = await CallAsync("run_ncu", $"{{\"solution\": {Solution}, \"workload\": \"{Workload}\", \"ncu_path\": \"{ncu}\", \"set\": \"basic\", \"kernel_name\": \"gdn\"}}");

        Assert.False(result.TryGetProperty("error", out var error), error.ToString());
        var kernel = Assert.Single(result.GetProperty("kernels").EnumerateArray().ToList());
        Assert.Equal("gdn_decode_kernel", kernel.GetProperty("name").GetString());
        Assert.Equal(4.1, kernel.GetProperty("duration_us").GetDouble());
        Assert.Equal("#0 gdn_decode_kernel grid (8, 1, 1) block (128, 1, 1): 4.1 us, 64 registers/thread", result.GetProperty("summary").GetString());
        Assert.Equal(["--set", "basic", "--kernel-name", "regex:gdn", "--csv", "--page", "details"], File.ReadAllLines(ncu + ".args"));
    }

    [Fact]
    public async Task A_worker_that_cannot_call_the_candidate_makes_no_verdict()
    {
        var sanitizer = Script("compute-sanitizer", "========= COMPUTE-SANITIZER\n========= ERROR SUMMARY: 0 errors");
        var services = Services() with
        {
            Settings = new ToolSettings(WorkerLauncher: (gpu, requests) => new WorkerCommand("python3", ["-c", "import sys; print('{\"id\":1,\"ok\":false,\"error\":\"no CUDA driver\",\"fatal\":true}')"])),
        };
        var function = ToolCatalog.Create(services).Single(f => f.Name == "run_sanitizer");
        using var arguments = JsonDocument.Parse($"{{\"solution\": {Solution}, \"workload\": \"{Workload}\", \"sanitizer_path\": \"{sanitizer}\", \"sanitizer_types\": [\"initcheck\"]}}");

        using var result = JsonDocument.Parse(await ToolCatalog.InvokeAsync(function, arguments.RootElement, TestContext.Current.CancellationToken));

        var report = Assert.Single(result.RootElement.GetProperty("reports").EnumerateArray().ToList());
        Assert.False(report.GetProperty("clean").GetBoolean());
        Assert.Equal("loading the candidate failed: no CUDA driver", report.GetProperty("problem").GetString());
    }
}
