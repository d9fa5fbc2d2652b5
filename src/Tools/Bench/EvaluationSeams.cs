using AgentForge.Tools.Bench.Worker;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>The inputs of one (workload, trial, seed), in memory and in a file other processes can map.</summary>
public sealed record PreparedInputs(InputSet Inputs, string Path, IDisposable? Owner = null) : IDisposable
{
    public void Dispose() => Owner?.Dispose();
}

/// <summary>Prepared inputs, or the located data problem that prevented them (no verdict is possible).</summary>
public sealed record InputPreparation(PreparedInputs? Inputs, DataError? Error);

public interface IInputProvider
{
    Task<InputPreparation> PrepareAsync(Definition definition, WorkloadEntry workload, int trial, ulong seed, CancellationToken cancellationToken);
}

/// <summary>The reference's outputs (a tensor file) and its latency, or why the reference failed.</summary>
public sealed record ReferenceOutputs(string? OutputsPath, double LatencyMs, string? Error, string LatencyMethod = "torch_cuda_events");

public interface IReferenceProvider
{
    /// <param name="timed">Whether to measure the reference's latency too (the evaluator times trial 0 only).</param>
    Task<ReferenceOutputs> GetAsync(Definition definition, WorkloadEntry workload, PreparedInputs inputs, bool timed, CancellationToken cancellationToken);
}

/// <summary>The worker as the evaluator sees it (a <see cref="WorkerSlot"/>, or a fake in tests).</summary>
public interface IWorkerChannel
{
    WorkerHello? Hello { get; }

    Task<WorkerCallResult> EnsureStartedAsync(CancellationToken cancellationToken);

    Task<(int? Handle, WorkerCallResult Result)> LoadAsync(string library, string? signature, TimeSpan timeout, CancellationToken cancellationToken);

    Task<WorkerCallResult> CallAsync(WorkerRequest request, TimeSpan timeout, CancellationToken cancellationToken);
}
