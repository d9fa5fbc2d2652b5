namespace AgentForge.Tools.Bench.Worker;

/// <summary>
/// Bounds one wait of the worker on the GPU: a candidate that hangs (a deadlocked kernel, a
/// register split that setmaxnreg never grants) blocks the worker's synchronize forever, and the
/// orchestrator's own limit for a run request is the whole timing budget (minutes). A guard
/// whose limit passes before it is disposed calls <c>expired</c> once, on a timer thread; the
/// worker answers TIMEOUT from there and exits, because the blocked context cannot be used again.
/// </summary>
public static class CallWatchdog
{
    /// <summary>A guard for one wait; no limit (null or not positive) guards nothing.</summary>
    public static IDisposable Guard(TimeSpan? limit, Action expired) =>
        limit is { } l && l > TimeSpan.Zero ? new ArmedGuard(l, expired) : NoGuard.Instance;

    private sealed class NoGuard : IDisposable
    {
        public static readonly NoGuard Instance = new();

        public void Dispose()
        {
        }
    }

    private sealed class ArmedGuard : IDisposable
    {
        private const int Armed = 0, Finished = 1, Fired = 2;
        private readonly Timer timer;
        private readonly Action expired;
        private int state = Armed;

        public ArmedGuard(TimeSpan limit, Action expired)
        {
            this.expired = expired;
            timer = new Timer(_ => Expire(), null, limit, Timeout.InfiniteTimeSpan);
        }

        private void Expire()
        {
            if (Interlocked.CompareExchange(ref state, Fired, Armed) == Armed)
            {
                expired();
            }
        }

        public void Dispose()
        {
            // The wait ended in time: the timer may no longer fire. If it already fired, the worker
            // is answering TIMEOUT and exiting; this thread must not answer as well, so it waits.
            if (Interlocked.CompareExchange(ref state, Finished, Armed) == Fired)
            {
                Thread.Sleep(Timeout.Infinite);
            }
            timer.Dispose();
        }
    }
}
