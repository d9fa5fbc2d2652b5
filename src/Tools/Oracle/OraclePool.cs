using System.Threading.Channels;

namespace AgentForge.Tools.Oracle;

/// <summary>
/// N oracles serving requests in parallel: each request takes an idle oracle and gives it back when
/// answered. Oracles start lazily, so an unused slot costs nothing. The pool owns its oracles.
/// </summary>
public sealed class OraclePool : IReferenceOracle, IAsyncDisposable
{
    private readonly IReadOnlyList<IReferenceOracle> _oracles;
    private readonly Channel<IReferenceOracle> _idle;

    public OraclePool(int size, Func<int, IReferenceOracle> create)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        _oracles = Enumerable.Range(0, size).Select(create).ToList();
        _idle = Channel.CreateUnbounded<IReferenceOracle>();
        foreach (var oracle in _oracles)
        {
            _idle.Writer.TryWrite(oracle);
        }
    }

    /// <summary>A pool of <paramref name="size"/> Python processes with the same options.</summary>
    public static OraclePool Create(OracleOptions options, int size) => new(size, _ => new OracleProcess(options));

    public int Size => _oracles.Count;

    public IReadOnlyList<IReferenceOracle> Oracles => _oracles;

    public Task<OracleProbeResult> ProbeAsync(CancellationToken cancellationToken) =>
        WithIdleAsync(oracle => oracle.ProbeAsync(cancellationToken), cancellationToken);

    public Task<OracleResult> RunAsync(OracleRequest request, CancellationToken cancellationToken) =>
        WithIdleAsync(oracle => oracle.RunAsync(request, cancellationToken), cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _idle.Writer.TryComplete();
        foreach (var oracle in _oracles)
        {
            if (oracle is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }

    private async Task<T> WithIdleAsync<T>(Func<IReferenceOracle, Task<T>> work, CancellationToken cancellationToken)
    {
        var oracle = await _idle.Reader.ReadAsync(cancellationToken);
        try
        {
            return await work(oracle);
        }
        finally
        {
            _idle.Writer.TryWrite(oracle);
        }
    }
}
