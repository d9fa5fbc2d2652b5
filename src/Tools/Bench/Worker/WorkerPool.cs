namespace AgentForge.Tools.Bench.Worker;

/// <summary>What the pool demands of a slot before it hands it out.</summary>
/// <param name="RequireDevice">GPU work: a worker whose hello reports no GPU is retired.</param>
/// <param name="RequireSameDevice">
/// Every slot must report the device name and architecture of the pool's first worker: the
/// promotion gate compares a challenger with a champion measured in the same round, possibly on
/// another slot, which is only fair on the same kind of GPU.
/// </param>
public sealed record WorkerPoolOptions(bool RequireDevice = true, bool RequireSameDevice = true);

/// <summary>One slot as the pool sees it: its hello when started, and why it was retired, if it was.</summary>
public sealed record PoolSlotStatus(int Index, string Name, WorkerHello? Hello, string? RetiredBecause, int Restarts)
{
    public bool Retired => RetiredBecause is not null;
}

/// <summary>The pool after starting every slot: how many can work, on what, and what happened to the rest.</summary>
public sealed record WorkerPoolStatus(int Live, int Size, WorkerHello? Hello, IReadOnlyList<PoolSlotStatus> Slots, string? Problem)
{
    public bool Ok => Live > 0;

    /// <summary>"NVIDIA H100 80GB HBM3 (sm_90) x 2 slots", for logs.</summary>
    public string Describe() => Hello is { } hello
        ? $"{hello.Device} ({hello.Architecture}) x {Live} slot{(Live == 1 ? "" : "s")}{(Live < Size ? $" ({Size - Live} of {Size} retired)" : "")}"
        : "no worker";
}

/// <summary>
/// A slot handed out by <see cref="WorkerPool.LeaseAsync"/>, used by one caller until disposed;
/// or, when no slot is left, the reason (<see cref="Granted"/> false).
/// </summary>
public sealed class WorkerLease : IAsyncDisposable
{
    private readonly WorkerPool? pool;
    private readonly IWorkerChannel? worker;
    private int returned;

    internal WorkerLease(WorkerPool pool, int slot, IWorkerChannel worker)
    {
        this.pool = pool;
        this.worker = worker;
        Slot = slot;
    }

    private WorkerLease(string error)
    {
        Error = error;
        Slot = -1;
    }

    internal static WorkerLease Refused(string error) => new(error);

    public bool Granted => worker is not null;

    /// <summary>The slot's index in the pool (-1 when refused).</summary>
    public int Slot { get; }

    /// <summary>Why no slot was granted.</summary>
    public string? Error { get; }

    /// <summary>The leased slot; its faults are reported to the pool (a slot that can no longer start is retired).</summary>
    public IWorkerChannel Worker => worker ?? throw new InvalidOperationException(Error);

    public async ValueTask DisposeAsync()
    {
        if (pool is not null && Interlocked.Exchange(ref returned, 1) == 0)
        {
            await pool.ReturnAsync(Slot);
        }
    }
}

/// <summary>
/// N worker slots (one per GPU, or N launches of a template through srun/ssh) shared by callers
/// that each need one worker for a while: a workload evaluation leases an idle slot, runs on it,
/// and returns it. Waiting callers are served first come, first served, so a candidate's
/// workloads start in their order. A slot whose worker cannot be (re)started, or that has no GPU,
/// or a different kind of GPU than the rest, is retired with its reason and the pool goes on with
/// the others; when none is left, leases are refused with every slot's reason. A slot whose worker
/// died is not retired: the slot starts a new worker on its next use (and reloads its libraries).
/// </summary>
public sealed class WorkerPool : IAsyncDisposable
{
    private readonly Slot[] slots;
    private readonly WorkerPoolOptions options;
    private readonly object sync = new();
    private readonly LinkedList<Waiter> waiters = new();
    private WorkerHello? reference;

    public WorkerPool(IEnumerable<(string Name, IWorkerChannel Channel)> slots, WorkerPoolOptions? options = null)
    {
        this.slots = slots.Select((s, i) => new Slot(i, s.Name, s.Channel)).ToArray();
        if (this.slots.Length == 0)
        {
            throw new ArgumentException("a worker pool needs at least one slot", nameof(slots));
        }
        this.options = options ?? new WorkerPoolOptions();
    }

    /// <summary>
    /// One <see cref="WorkerSlot"/> per GPU ordinal, each started from <paramref name="template"/>
    /// ({agentforge}, {gpu} = the ordinal, {slot} = the index).
    /// </summary>
    public static WorkerPool Launch(string? template, IReadOnlyList<int> gpus, WorkerPoolOptions? options = null, TimeSpan? startTimeout = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var text = template ?? WorkerCommand.DefaultTemplate;
        var perGpu = text.Contains("{gpu}", StringComparison.Ordinal);
        return new WorkerPool(gpus.Select((gpu, i) => (
            Name: perGpu ? $"slot {i} (gpu {gpu})" : $"slot {i}",
            Channel: (IWorkerChannel)new WorkerSlot(WorkerCommand.FromTemplate(text, gpu, i), startTimeout, environment))), options);
    }

    /// <summary>Slots configured, retired ones included.</summary>
    public int Size => slots.Length;

    /// <summary>Slots not retired.</summary>
    public int Live
    {
        get
        {
            lock (sync)
            {
                return slots.Count(s => !s.Retired);
            }
        }
    }

    /// <summary>
    /// The hello of the pool's first worker (lowest index among those started first): the card
    /// builds target, floors are computed from, and every other slot must match.
    /// </summary>
    public WorkerHello? Hello
    {
        get
        {
            lock (sync)
            {
                return reference;
            }
        }
    }

    /// <summary>The channels in slot order (for status and tests; evaluation goes through leases).</summary>
    public IReadOnlyList<IWorkerChannel> Channels => slots.Select(s => s.Channel).ToList();

    public IReadOnlyList<PoolSlotStatus> Status()
    {
        lock (sync)
        {
            return slots.Select(s => new PoolSlotStatus(s.Index, s.Name, s.Channel.Hello, s.RetiredBecause, (s.Channel as WorkerSlot)?.Restarts ?? 0)).ToList();
        }
    }

    /// <summary>Why leases are refused: every slot's reason for retirement. Null while a slot is live.</summary>
    public string? Problem
    {
        get
        {
            lock (sync)
            {
                return slots.Any(s => !s.Retired) ? null : NoneLeftLocked();
            }
        }
    }

    /// <summary>
    /// Starts every live slot's worker at once (a launcher may take a while to place each) and
    /// checks their hellos in slot order; returns who can work. Starting is otherwise lazy: the
    /// first lease of a slot starts it.
    /// </summary>
    public async Task<WorkerPoolStatus> StartAsync(CancellationToken cancellationToken)
    {
        var live = slots.Where(s => !s.Retired).ToList();
        await Task.WhenAll(live.Select(s => s.Channel.EnsureStartedAsync(cancellationToken)));
        foreach (var slot in live)
        {
            if (await ReadyAsync(slot, cancellationToken) is { } problem)
            {
                await RetireAsync(slot, problem, dispose: true);
            }
        }
        return new WorkerPoolStatus(Live, Size, Hello, Status(), Problem);
    }

    /// <summary>
    /// An idle, started and checked slot, waiting first come, first served while all are busy; a
    /// refused lease (<see cref="WorkerLease.Granted"/> false) when no slot is left.
    /// </summary>
    public async Task<WorkerLease> LeaseAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var slot = await AcquireAsync(null, cancellationToken);
            if (slot is null)
            {
                return WorkerLease.Refused(Problem ?? "no worker slot is left");
            }
            string? problem;
            try
            {
                problem = await ReadyAsync(slot, cancellationToken);
            }
            catch
            {
                await ReturnAsync(slot.Index);
                throw;
            }
            if (problem is null)
            {
                return new WorkerLease(this, slot.Index, new ObservedChannel(this, slot));
            }
            await RetireAsync(slot, problem, dispose: true);
        }
    }

    /// <summary>
    /// This very slot, once it is free: for work on its GPU outside the protocol (compute-sanitizer
    /// and ncu start a worker of their own on that GPU), so that no timing runs beside it there.
    /// </summary>
    public async Task<WorkerLease> LeaseAsync(int slotIndex, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slotIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slotIndex, slots.Length);
        var slot = await AcquireAsync(slotIndex, cancellationToken);
        if (slot is null)
        {
            return WorkerLease.Refused(slots[slotIndex].RetiredBecause ?? $"{slots[slotIndex].Name} is retired");
        }
        return new WorkerLease(this, slot.Index, new ObservedChannel(this, slot));
    }

    /// <summary>
    /// A free slot (any, or the wanted one), else a place in the queue. An idle slot never has a
    /// waiter that would take it (returning a slot hands it to the first such waiter), so taking
    /// one at once jumps no queue.
    /// </summary>
    private async Task<Slot?> AcquireAsync(int? wanted, CancellationToken cancellationToken)
    {
        Waiter waiter;
        LinkedListNode<Waiter> node;
        lock (sync)
        {
            if (wanted is { } index ? slots[index].Retired : slots.All(s => s.Retired))
            {
                return null;
            }
            var idle = slots.FirstOrDefault(s => !s.Retired && !s.Busy && (wanted is null || s.Index == wanted));
            if (idle is not null)
            {
                idle.Busy = true;
                return idle;
            }
            waiter = new Waiter(new TaskCompletionSource<Slot?>(TaskCreationOptions.RunContinuationsAsynchronously), wanted);
            node = waiters.AddLast(waiter);
        }
        using var registration = cancellationToken.Register(() =>
        {
            lock (sync)
            {
                if (node.List is not null)
                {
                    waiters.Remove(node);
                }
            }
            waiter.Result.TrySetCanceled(cancellationToken);
        });
        return await waiter.Result.Task;
    }

    /// <summary>A returned slot goes to the longest waiting caller, else back to idle; a retired one is shut down.</summary>
    internal async Task ReturnAsync(int index)
    {
        var slot = slots[index];
        lock (sync)
        {
            if (!slot.Retired)
            {
                for (var next = waiters.First; next is not null;)
                {
                    var following = next.Next;
                    if (next.Value.Accepts(slot))
                    {
                        waiters.Remove(next);
                        if (next.Value.Result.TrySetResult(slot))
                        {
                            return;
                        }
                    }
                    next = following;
                }
                slot.Busy = false;
                return;
            }
            slot.Busy = false;
        }
        await DisposeChannelAsync(slot);
    }

    /// <summary>Started, answering, with a GPU when GPU work needs one, and of the pool's kind; else why not.</summary>
    private async Task<string?> ReadyAsync(Slot slot, CancellationToken cancellationToken)
    {
        var started = await slot.Channel.EnsureStartedAsync(cancellationToken);
        if (!started.Answered || slot.Channel.Hello is not { } hello)
        {
            return $"{slot.Name}: {Join(started.Detail, started.Response?.Error)}";
        }
        if (options.RequireDevice && !hello.HasDevice)
        {
            return $"{slot.Name}: no GPU{(hello.Host is { } host ? $" on {host}" : "")}: {hello.DeviceError}";
        }
        WorkerHello first;
        lock (sync)
        {
            reference ??= hello;
            first = reference;
        }
        if (options.RequireSameDevice && (first.Device != hello.Device || first.Architecture != hello.Architecture))
        {
            return $"{slot.Name}: runs on {hello.Device} ({hello.Architecture}) but the pool on {first.Device} ({first.Architecture}): one run compares latencies from one kind of GPU only";
        }
        return null;
    }

    /// <summary>Faults that mean the slot cannot serve any more (not a candidate's crash or timeout).</summary>
    private async Task ObserveAsync(Slot slot, WorkerCallResult result)
    {
        if (result.Fault is WorkerFault.CouldNotStart or WorkerFault.NoDevice)
        {
            // Still leased: the holder finishes its call; returning the lease shuts the slot down.
            await RetireAsync(slot, $"{slot.Name}: {result.Detail}", dispose: false);
        }
    }

    private async Task RetireAsync(Slot slot, string reason, bool dispose)
    {
        List<Waiter> refused = [];
        lock (sync)
        {
            slot.RetiredBecause ??= reason;
            if (dispose)
            {
                slot.Busy = false;
            }
            var noneLeft = slots.All(s => s.Retired);
            refused.AddRange(waiters.Where(w => noneLeft || w.Wanted == slot.Index));
            foreach (var waiter in refused)
            {
                waiters.Remove(waiter);
            }
        }
        foreach (var waiter in refused)
        {
            waiter.Result.TrySetResult(null);
        }
        if (dispose)
        {
            await DisposeChannelAsync(slot);
        }
    }

    private static async Task DisposeChannelAsync(Slot slot)
    {
        if (slot.Channel is IAsyncDisposable disposable && Interlocked.Exchange(ref slot.Disposed, 1) == 0)
        {
            await disposable.DisposeAsync();
        }
    }

    private string NoneLeftLocked() =>
        "no worker slot is left: " + string.Join("; ", slots.Select(s => s.RetiredBecause ?? $"{s.Name}: retired"));

    private static string Join(params string?[] parts) => string.Join(": ", parts.Where(p => !string.IsNullOrWhiteSpace(p)));

    /// <summary>Shuts every worker down (in parallel: each may take a few seconds to exit).</summary>
    public async ValueTask DisposeAsync()
    {
        lock (sync)
        {
            foreach (var waiter in waiters)
            {
                waiter.Result.TrySetResult(null);
            }
            waiters.Clear();
        }
        await Task.WhenAll(slots.Select(DisposeChannelAsync));
    }

    /// <summary>A caller waiting for any slot (<see cref="Wanted"/> null) or for one.</summary>
    private sealed record Waiter(TaskCompletionSource<Slot?> Result, int? Wanted)
    {
        public bool Accepts(Slot slot) => Wanted is null || Wanted == slot.Index;
    }

    private sealed class Slot(int index, string name, IWorkerChannel channel)
    {
        public int Disposed;

        public int Index { get; } = index;

        public string Name { get; } = name;

        public IWorkerChannel Channel { get; } = channel;

        public bool Busy { get; set; }

        public string? RetiredBecause { get; set; }

        public bool Retired => RetiredBecause is not null;
    }

    /// <summary>The leased slot's channel, reporting faults that end the slot to the pool.</summary>
    private sealed class ObservedChannel(WorkerPool pool, Slot slot) : IWorkerChannel
    {
        public WorkerHello? Hello => slot.Channel.Hello;

        public async Task<WorkerCallResult> EnsureStartedAsync(CancellationToken cancellationToken)
        {
            var result = await slot.Channel.EnsureStartedAsync(cancellationToken);
            await pool.ObserveAsync(slot, result);
            return result;
        }

        public async Task<(int? Handle, WorkerCallResult Result)> LoadAsync(string library, string? signature, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var loaded = await slot.Channel.LoadAsync(library, signature, timeout, cancellationToken);
            await pool.ObserveAsync(slot, loaded.Result);
            return loaded;
        }

        public async Task<WorkerCallResult> CallAsync(WorkerRequest request, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var result = await slot.Channel.CallAsync(request, timeout, cancellationToken);
            await pool.ObserveAsync(slot, result);
            return result;
        }
    }
}
