using AgentForge.Tools.Inputs;
using AgentForge.Tools.Oracle;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// Inputs generated (or read from blobs, or synthesized) once per (definition, workload, trial,
/// seed) and kept in the on-disk input cache, where the oracle and every worker map the same file.
/// </summary>
public sealed class MaterializingInputProvider(string datasetRoot, InputMaterializer materializer, InputCache cache) : IInputProvider
{
    public Task<InputPreparation> PrepareAsync(Definition definition, WorkloadEntry workload, int trial, ulong seed, CancellationToken cancellationToken)
    {
        // The same key the reference cache uses: a definition's interface and code, not its prose.
        var key = new InputCacheKey(DefinitionHash.Of(definition), workload.Workload.CacheId, trial, seed);
        // Generation is CPU-bound and parallel inside; run it off the caller's thread.
        return Task.Run(() =>
        {
            var cached = cache.GetOrAdd(key, () => materializer.Materialize(definition, workload, datasetRoot, trial, seed, cancellationToken));
            return cached.IsOk
                ? new InputPreparation(new PreparedInputs(cached.Value.Inputs, cached.Value.Path, cached.Value), null)
                : new InputPreparation(null, cached.Error);
        }, cancellationToken);
    }
}
