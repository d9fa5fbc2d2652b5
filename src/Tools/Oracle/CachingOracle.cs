using System.Collections.Concurrent;

namespace AgentForge.Tools.Oracle;

/// <summary>
/// Answers from a <see cref="ReferenceCache"/> when it can, without starting Python; otherwise runs
/// the inner oracle with the outputs written into the cache, and returns the cached file's path
/// (the request's own OutputPath is not used). A request that wants a latency is a hit only if the
/// entry has one. Concurrent requests for one key run the reference once. Failures are not cached.
/// </summary>
public sealed class CachingOracle(IReferenceOracle inner, ReferenceCache cache) : IReferenceOracle, IAsyncDisposable
{
    private readonly ConcurrentDictionary<ReferenceKey, SemaphoreSlim> _keyGates = new();
    private int _hits;
    private int _misses;

    public ReferenceCache Cache { get; } = cache;

    public int Hits => _hits;

    public int Misses => _misses;

    public Task<OracleProbeResult> ProbeAsync(CancellationToken cancellationToken) => inner.ProbeAsync(cancellationToken);

    public async Task<OracleResult> RunAsync(OracleRequest request, CancellationToken cancellationToken)
    {
        if (request.CacheKey is not { } key)
        {
            return await inner.RunAsync(request, cancellationToken);
        }
        if (Lookup(request, key) is { } hit)
        {
            return hit;
        }
        var gate = _keyGates.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (Lookup(request, key) is { } filledMeanwhile)
            {
                return filledMeanwhile;
            }
            Interlocked.Increment(ref _misses);
            var staging = Cache.StagingPath(request.DefinitionName, key);
            var result = await inner.RunAsync(request with { OutputPath = staging }, cancellationToken);
            if (result is OracleSuccess success)
            {
                var entry = Cache.Commit(request.DefinitionName, key, success.OutputsPath, success.LatencyMs, request.Timing, request.Device);
                return new OracleSuccess(entry.OutputsPath, entry.LatencyMs);
            }
            File.Delete(staging); // no-op when the oracle wrote nothing
            return result;
        }
        finally
        {
            gate.Release();
        }
    }

    public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    private OracleSuccess? Lookup(OracleRequest request, ReferenceKey key)
    {
        var entry = Cache.TryGet(request.DefinitionName, key);
        if (entry is null || (request.Timing is not null && entry.LatencyMs is null))
        {
            return null;
        }
        Interlocked.Increment(ref _hits);
        return new OracleSuccess(entry.OutputsPath, entry.LatencyMs, FromCache: true);
    }
}
