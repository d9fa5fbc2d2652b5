using AgentForge.Tools.Build;
using AgentForge.Tools.Processes;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench.Worker;

/// <summary>Where and how a wrapped one-shot worker runs: its GPU, how to start it, the input seed.</summary>
public sealed record WrappedRunSettings(
    int Gpu = 0,
    string? WorkerTemplate = null,
    ulong Seed = 0,
    Func<int, string, WorkerCommand>? Launcher = null)
{
    public WorkerCommand WorkerFor(string requestsPath) =>
        Launcher is { } launch ? launch(Gpu, requestsPath) : OneShotRun.Command(Gpu, requestsPath, WorkerTemplate);

    /// <summary>The tool (its path and arguments) with the one-shot worker under it, placed inside the template's launcher.</summary>
    public WorkerCommand ToolCommand(IReadOnlyList<string> tool, string requestsPath)
    {
        if (Launcher is { } launch)
        {
            var worker = launch(Gpu, requestsPath);
            return new WorkerCommand(tool[0], [.. tool.Skip(1), worker.FileName, .. worker.Arguments]);
        }
        return WorkerCommand.Wrapped(WorkerTemplate ?? WorkerCommand.DefaultTemplate, Gpu, tool, [OneShotRun.RequestsOption, requestsPath]);
    }
}

/// <summary>
/// What a wrapped run produced: the wrapper's own log (its --log-file, else the process output),
/// the worker's answers, and a problem when no result is possible (no tool, no inputs, timeout).
/// </summary>
public sealed record WrappedRunResult(ProcessResult? Process, string ToolLog, IReadOnlyDictionary<long, WorkerResponse> Answers, string? Problem)
{
    /// <summary>Why the candidate call itself did not complete, or null.</summary>
    public string? CallFailure => OneShotRun.Failure(Answers);
}

/// <summary>
/// Runs one candidate call on one workload's inputs (trial 0 of the seed, from the input cache)
/// inside a tool that wraps the worker process: `TOOL [args] --log-file LOG agentforge worker
/// --requests FILE`. Used by compute-sanitizer and ncu.
/// </summary>
public sealed class WrappedCandidateRunner(IInputProvider inputs, WrappedRunSettings settings)
{
    public WrappedRunSettings Settings => settings;

    public async Task<WrappedRunResult> RunAsync(
        string toolPath,
        string toolName,
        Func<string, IReadOnlyList<string>> toolArguments,
        BuildResult build,
        Definition definition,
        WorkloadEntry workload,
        TimeSpan timeout,
        string? temporaryDirectory,
        CancellationToken cancellationToken)
    {
        if (!build.Succeeded || build.LibraryPath is null)
        {
            return Fail("the candidate did not build: " + Tail(build.Log, 2000));
        }
        var tool = ExecutableLocator.Find(toolPath);
        if (tool is null)
        {
            return Fail($"{toolName} not found at '{toolPath}': install the CUDA toolkit (and put it on PATH) or pass its path");
        }
        var preparation = await inputs.PrepareAsync(definition, workload, 0, settings.Seed, cancellationToken);
        if (preparation.Inputs is null)
        {
            return Fail($"inputs of workload {workload.Workload.Uuid}: {preparation.Error}");
        }
        using var prepared = preparation.Inputs;
        var root = temporaryDirectory ?? Path.GetTempPath();
        var folder = Path.Combine(root, $"agentforge-{toolName}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var requestsPath = Path.Combine(folder, "requests.jsonl");
            var logPath = Path.Combine(folder, toolName + ".log");
            var settingsForRun = EvaluationSettingsCatalog.Contest.Resolve(definition.Name, null);
            var run = Evaluator.BuildRunRequest(definition, prepared, 0, Path.Combine(folder, "outputs.safetensors"), [], settingsForRun, new EvaluatorOptions(Time: false));
            // The call may take as long as the tool's own timeout (the evaluator's 10 s per call is for
            // unwrapped calls: racecheck could not finish one MoE call at 901 tokens within it).
            await File.WriteAllLinesAsync(requestsPath, OneShotRun.Requests(build.LibraryPath, ShimGenerator.Signature(definition), run, timeout),
                cancellationToken);

            var command = settings.ToolCommand([tool, .. toolArguments(logPath)], requestsPath);
            var environment = temporaryDirectory is null ? null : new Dictionary<string, string?> { ["TMPDIR"] = temporaryDirectory };
            var result = await ProcessRunner.RunAsync(command.FileName, command.Arguments, timeout, folder, environment, cancellationToken);
            var log = File.Exists(logPath) ? await File.ReadAllTextAsync(logPath, cancellationToken) : "";
            if (log.Trim().Length == 0)
            {
                log = result.Output;
            }
            var answers = OneShotRun.Answers(result.Output);
            string? problem = result.StartError ?? (result.TimedOut ? $"{toolName} timed out after {timeout.TotalSeconds:0} s (raise timeout, or pick a smaller workload)" : null);
            return new WrappedRunResult(result, log, answers, problem);
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static WrappedRunResult Fail(string problem) => new(null, "", new Dictionary<long, WorkerResponse>(), problem);

    internal static string Tail(string text, int characters) => text.Length <= characters ? text : "..." + text[^characters..];
}
