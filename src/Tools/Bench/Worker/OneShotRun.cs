namespace AgentForge.Tools.Bench.Worker;

/// <summary>
/// One candidate call in a worker of its own, for tools that must wrap the process that runs the
/// kernel (compute-sanitizer, ncu): `agentforge worker --gpu N --requests FILE` reads its requests
/// from the file instead of stdin (load, then run without timing), answers on stdout and exits.
/// </summary>
public static class OneShotRun
{
    public const string RequestsOption = "--requests";

    /// <summary>The worker command line for a requests file: the template's worker plus --requests FILE.</summary>
    public static WorkerCommand Command(int gpu, string requestsPath, string? template = null)
    {
        var worker = WorkerCommand.FromTemplate(template ?? WorkerCommand.DefaultTemplate, gpu);
        return worker with { Arguments = [.. worker.Arguments, RequestsOption, requestsPath] };
    }

    /// <summary>
    /// The request lines: load the library (checking the calling convention), then one untimed run.
    /// <paramref name="callLimit"/> replaces the run's own limit on the call: under a wrapping tool the
    /// call runs many times slower than alone (racecheck: 10-100x), and the tool's own timeout already
    /// bounds the whole process, so the worker's watchdog should not end it sooner.
    /// </summary>
    public static IReadOnlyList<string> Requests(string library, string signature, WorkerRequest run, TimeSpan? callLimit = null) =>
    [
        WorkerJson.Serialize(new WorkerRequest(1, "load", Library: library, Signature: signature)),
        WorkerJson.Serialize(run with
        {
            Id = 2, Handle = 0, Timing = null, RecheckAfterTiming = false, RotationInputsPaths = [],
            CallLimitSeconds = callLimit is { } limit ? limit.TotalSeconds : run.CallLimitSeconds,
        }),
    ];

    /// <summary>The worker's answers found in a process's output (other lines are ignored), by request id.</summary>
    public static IReadOnlyDictionary<long, WorkerResponse> Answers(string output)
    {
        var answers = new Dictionary<long, WorkerResponse>();
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith("{\"id\":", StringComparison.Ordinal))
            {
                continue;
            }
            try
            {
                if (WorkerJson.ParseResponse(line) is { } response)
                {
                    answers[response.Id] = response;
                }
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }
        return answers;
    }

    /// <summary>Why the candidate call did not complete in the worker, or null when it did.</summary>
    public static string? Failure(IReadOnlyDictionary<long, WorkerResponse> answers)
    {
        if (!answers.TryGetValue(1, out var load))
        {
            return "the worker did not answer (it did not start, or died before loading the candidate)";
        }
        if (!load.Ok)
        {
            return $"loading the candidate failed: {load.Error}";
        }
        if (!answers.TryGetValue(2, out var run))
        {
            return "the worker died during the candidate call";
        }
        return run.Ok ? null : $"the candidate call failed{(run.Status is null ? "" : $" ({run.Status})")}: {run.Error}";
    }
}
