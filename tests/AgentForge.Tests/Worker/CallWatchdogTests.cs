using AgentForge.Tools.Bench.Worker;

namespace AgentForge.Tests.Worker;

/// <summary>The worker's guard around a wait on the GPU: it fires once past its limit, never after the wait ended.</summary>
public sealed class CallWatchdogTests
{
    [Fact]
    public void A_wait_past_its_limit_fires_the_guard_once()
    {
        using var fired = new CountdownEvent(1);
        var count = 0;

        var guard = CallWatchdog.Guard(TimeSpan.FromMilliseconds(50), () =>
        {
            Interlocked.Increment(ref count);
            fired.Signal();
        });

        Assert.True(fired.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Thread.Sleep(150);
        Assert.Equal(1, Volatile.Read(ref count));
        _ = guard;  // not disposed: disposing a fired guard parks the thread for the worker's exit
    }

    [Fact]
    public void A_wait_that_ends_in_time_never_fires()
    {
        var count = 0;

        using (CallWatchdog.Guard(TimeSpan.FromMilliseconds(300), () => Interlocked.Increment(ref count)))
        {
            Thread.Sleep(10);
        }
        Thread.Sleep(500);

        Assert.Equal(0, Volatile.Read(ref count));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    public void Without_a_positive_limit_nothing_is_guarded(double? seconds)
    {
        var count = 0;
        var limit = seconds is { } s ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;

        using (CallWatchdog.Guard(limit, () => Interlocked.Increment(ref count)))
        {
            Thread.Sleep(20);
        }

        Assert.Equal(0, Volatile.Read(ref count));
    }
}
