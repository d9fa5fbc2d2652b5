using System.Diagnostics;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>One (workload, trial) whose reference outputs could not be produced.</summary>
public sealed record ReferenceFailure(string DefinitionName, string WorkloadUuid, int Trial, string Error);

public sealed record PrecomputeReport(int Produced, IReadOnlyList<ReferenceFailure> Failures, TimeSpan Elapsed);

/// <summary>
/// Produces inputs and untimed reference outputs ahead of evaluation, several at once (one per
/// oracle process), so that the evaluation itself only reads caches. Timed references are left
/// to the evaluator, which runs them one at a time so that nothing else shares the GPU.
/// </summary>
public sealed class ReferencePrecomputer(IInputProvider inputs, IReferenceProvider references, int parallelism)
{
    public async Task<PrecomputeReport> RunAsync(
        IReadOnlyList<(Definition Definition, WorkloadEntry Workload, int Trial)> items,
        ulong seed,
        Action? onItemDone,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var failures = new System.Collections.Concurrent.ConcurrentBag<ReferenceFailure>();
        var produced = 0;
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken }, async (item, ct) =>
        {
            var (definition, workload, trial) = item;
            try
            {
                await ProduceAsync(definition, workload, trial, ct);
            }
            catch (IOException e)
            {
                // A full disk or a vanished cache file costs this item, not the whole batch.
                failures.Add(new ReferenceFailure(definition.Name, workload.Workload.Uuid, trial, e.Message));
            }
            onItemDone?.Invoke();
        });
        return new PrecomputeReport(produced, failures.ToList(), clock.Elapsed);

        async Task ProduceAsync(Definition definition, WorkloadEntry workload, int trial, CancellationToken ct)
        {
            var prepared = await inputs.PrepareAsync(definition, workload, trial, seed, ct);
            if (prepared.Inputs is null)
            {
                failures.Add(new ReferenceFailure(definition.Name, workload.Workload.Uuid, trial, $"inputs: {prepared.Error}"));
            }
            else
            {
                using var set = prepared.Inputs;
                var reference = await references.GetAsync(definition, workload, set, timed: false, ct);
                if (reference.OutputsPath is null)
                {
                    failures.Add(new ReferenceFailure(definition.Name, workload.Workload.Uuid, trial, reference.Error ?? "unknown"));
                }
                else
                {
                    Interlocked.Increment(ref produced);
                }
            }
        }
    }
}
