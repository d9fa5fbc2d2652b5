using System.CommandLine;
using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Cuda;
using AgentForge.Tools.Tensors;

namespace AgentForge.Orchestrator.Commands;

/// <summary>
/// `agentforge worker` (hidden): owns one GPU and answers JSON lines on stdin/stdout. Started by
/// the orchestrator, directly or through a launcher (srun, ssh); also the program that
/// compute-sanitizer and ncu launch. Without a usable GPU it still serves the protocol (hello
/// names the reason; load and run are refused); in one-shot mode it answers once and exits.
/// </summary>
public static class WorkerVerb
{
    public const int ExitNoDevice = 4;
    public const int ExitNoRequests = 5;

    public static Command Create(Func<ITensorFiles> files)
    {
        var gpu = new Option<int>("--gpu") { Description = "GPU ordinal to own", DefaultValueFactory = _ => 0 };
        var requests = new Option<FileInfo?>(OneShotRun.RequestsOption)
        {
            Description = "One-shot mode: read the JSON-line requests from this file instead of stdin, answer on stdout, exit at its end (what compute-sanitizer and ncu launch).",
        };
        var command = new Command("worker", "Serve candidate calls on one GPU over JSON lines (used by the orchestrator).") { Hidden = true };
        command.Options.Add(gpu);
        command.Options.Add(requests);
        command.SetAction(parse => Run(parse.GetValue(gpu), parse.GetValue(requests), files()));
        return command;
    }

    private static int Run(int gpu, FileInfo? requests, ITensorFiles files)
    {
        if (requests is { Exists: false })
        {
            Console.Error.WriteLine($"requests file not found: {requests.FullName}");
            return ExitNoRequests;
        }
        var protocol = new StreamWriter(StandardStreams.DetachProtocolOutput()) { AutoFlush = true };
        if (requests is null)
        {
            // Serving a slot (possibly through srun or ssh): a hung kernel must not outlive the slot.
            ParentWatch.Start(TimeSpan.FromSeconds(1));
        }
        using var file = requests?.OpenText();
        var input = (TextReader?)file ?? Console.In;
        var opened = CudaDevice.TryOpen(gpu);
        if (opened.Device is null && requests is null)
        {
            // Serving the orchestrator: keep the protocol up so a launcher (srun, ssh) can be
            // checked and the hello says why this slot cannot run candidates.
            Console.Error.WriteLine(opened.Error);
            return new DevicelessWorker(opened.Error ?? "no GPU").Serve(input, protocol);
        }
        if (opened.Device is null)
        {
            // One-shot (sanitizer, ncu): answer the first request with the reason and exit.
            var first = input.ReadLine();
            var id = first is null ? 0 : WorkerJson.ParseRequest(first)?.Id ?? 0;
            protocol.WriteLine(WorkerJson.Serialize(new WorkerResponse(id, false, Error: opened.Error, Fatal: true)));
            Console.Error.WriteLine(opened.Error);
            return ExitNoDevice;
        }
        using var device = opened.Device;
        using var worker = new GpuWorker(device, files);
        return worker.Serve(input, protocol);
    }
}
