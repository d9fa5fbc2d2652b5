namespace AgentForge.Tools.Bench.Worker;

/// <summary>
/// What `agentforge worker` serves when it finds no usable GPU (no driver, no device, a bad
/// ordinal): the protocol still works, so a launcher (srun, ssh) can be checked end to end, and
/// the orchestrator learns why this slot cannot run candidates from the hello instead of from a
/// process that exited. hello reports the reason, health answers, load and run are refused.
/// </summary>
public sealed class DevicelessWorker(string reason)
{
    public string Reason { get; } = reason;

    public WorkerResponse Handle(WorkerRequest request) => request.Op switch
    {
        "hello" => new WorkerResponse(request.Id, true, Hello: WorkerHello.Deviceless(Reason, Environment.ProcessId, Environment.MachineName)),
        "health" or "shutdown" => new WorkerResponse(request.Id, true),
        "load" or "run" => new WorkerResponse(request.Id, false, Error: $"this worker has no GPU and cannot run candidates: {Reason}"),
        _ => new WorkerResponse(request.Id, false, Error: $"unknown op '{request.Op}'"),
    };

    public int Serve(TextReader input, TextWriter output) => WorkerLoop.Serve(input, output, Handle);
}
