using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace AgentForge.Tools.Bench.Worker;

/// <summary>How a call to a worker ended when it did not answer normally.</summary>
public enum WorkerFault
{
    None,
    Crashed,
    TimedOut,
    CouldNotStart,

    /// <summary>The worker runs but has no GPU (its hello says why): it cannot run candidates.</summary>
    NoDevice,
}

/// <summary>A worker's answer, or the fault that kept it from answering (a value, not an exception).</summary>
public sealed record WorkerCallResult(WorkerResponse? Response, WorkerFault Fault, string Detail)
{
    public bool Answered => Response is not null;
}

/// <summary>The command line that starts one worker: "{agentforge} worker --gpu 0", or through srun/ssh.</summary>
public sealed record WorkerCommand(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>
    /// Expands a template such as "srun --gres=gpu:1 {agentforge} worker" where {agentforge} is
    /// the running executable (or "dotnet agentforge.dll" when run through the dotnet host),
    /// {gpu} the slot's GPU ordinal and {slot} the slot's index in its pool (for job names, hosts).
    /// </summary>
    public static WorkerCommand FromTemplate(string template, int gpu, int slot = 0)
    {
        var self = SelfCommand();
        var words = new List<string>();
        foreach (var word in template.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (word == "{agentforge}")
            {
                words.AddRange(self);
            }
            else
            {
                words.Add(word
                    .Replace("{gpu}", gpu.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                    .Replace("{slot}", slot.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
            }
        }
        return new WorkerCommand(words[0], words.Skip(1).ToArray());
    }

    public static string DefaultTemplate => "{agentforge} worker --gpu {gpu}";

    /// <summary>
    /// A worker started inside a tool that must be its parent (compute-sanitizer, ncu): the tool's
    /// words go where {agentforge} stands, after any launcher, so that under
    /// "srun --gres=gpu:1 {agentforge} worker" the tool runs on the node with the worker rather
    /// than wrapping srun (where it would see no CUDA work at all and report nothing wrong).
    /// </summary>
    public static WorkerCommand Wrapped(string template, int gpu, IReadOnlyList<string> tool, IReadOnlyList<string> workerArguments)
    {
        var marker = template.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        var at = marker.IndexOf("{agentforge}");
        var expanded = FromTemplate(template, gpu);
        var words = expanded.Arguments.Prepend(expanded.FileName).ToList();
        // Without {agentforge} the template names the program itself: the tool goes first.
        words.InsertRange(at < 0 ? 0 : at, tool);
        words.AddRange(workerArguments);
        return new WorkerCommand(words[0], words.Skip(1).ToArray());
    }

    private static string[] SelfCommand()
    {
        var process = Environment.ProcessPath ?? "agentforge";
        var entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        var isDotnetHost = Path.GetFileNameWithoutExtension(process) == "dotnet";
        return isDotnetHost && !string.IsNullOrEmpty(entry)
            ? [process, Path.ChangeExtension(entry, ".dll")]
            : [process];
    }

    public override string ToString() => string.Join(' ', Arguments.Prepend(FileName));
}

/// <summary>
/// One worker process seen from the orchestrator. Requests are answered in order; a call that
/// outlives its limit kills the process (TIMEOUT), a process that dies mid-call is a crash
/// (RUNTIME_ERROR with its last words from stderr). The next call starts a fresh process, sends
/// hello and reloads the libraries the old one had loaded, so callers keep their handles.
/// </summary>
public sealed class WorkerSlot : IWorkerChannel, IAsyncDisposable
{
    private readonly WorkerCommand command;
    private readonly TimeSpan startTimeout;
    private readonly IReadOnlyDictionary<string, string?> environment;
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly List<(string Library, string? Signature)> loaded = [];
    private readonly StringBuilder stderrTail = new();
    private Process? process;
    private long nextId;

    public WorkerSlot(WorkerCommand command, TimeSpan? startTimeout = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        this.command = command;
        this.startTimeout = startTimeout ?? TimeSpan.FromMinutes(2);
        this.environment = environment ?? new Dictionary<string, string?>();
    }

    public WorkerHello? Hello { get; private set; }

    /// <summary>The command line this slot starts its worker with.</summary>
    public WorkerCommand Command => command;

    /// <summary>The process the slot started (the launcher, e.g. srun, when there is one); null when none runs.</summary>
    public int? LauncherProcessId
    {
        get
        {
            try
            {
                return process is { HasExited: false } p ? p.Id : null;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    private int starts;

    /// <summary>How many times a worker was started again after the first one ended.</summary>
    public int Restarts => Math.Max(0, starts - 1);

    /// <summary>Starts the worker if needed and returns its hello, or the fault that prevented it.</summary>
    public async Task<WorkerCallResult> EnsureStartedAsync(CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await EnsureStartedLockedAsync(cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Loads a candidate library; the handle stays valid across worker restarts.</summary>
    public async Task<(int? Handle, WorkerCallResult Result)> LoadAsync(string library, string? signature, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            var started = await EnsureStartedLockedAsync(cancellationToken);
            if (!started.Answered)
            {
                return (null, started);
            }
            if (NoDevice() is { } noDevice)
            {
                return (null, noDevice);
            }
            var index = loaded.FindIndex(l => l.Library == library && l.Signature == signature);
            if (index >= 0)
            {
                return (index, started);
            }
            var result = await CallLockedAsync(new WorkerRequest(0, "load", Library: library, Signature: signature), timeout, cancellationToken);
            if (result.Response is { Ok: true, Handle: { } handle })
            {
                loaded.Add((library, signature));
                return (handle, result);
            }
            return (null, result);
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task<WorkerCallResult> CallAsync(WorkerRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            var started = await EnsureStartedLockedAsync(cancellationToken);
            if (!started.Answered)
            {
                return started;
            }
            if (request.Op is "load" or "run" && NoDevice() is { } noDevice)
            {
                return noDevice;
            }
            return await CallLockedAsync(request, timeout, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A worker without a GPU answers the protocol but cannot run candidates: a fault, not a verdict.</summary>
    private WorkerCallResult? NoDevice() =>
        Hello is { HasDevice: false } hello
            ? new WorkerCallResult(null, WorkerFault.NoDevice, $"worker '{command}'{(hello.Host is { } host ? $" on {host}" : "")} has no GPU: {hello.DeviceError}")
            : null;

    private async Task<WorkerCallResult> EnsureStartedLockedAsync(CancellationToken cancellationToken)
    {
        if (process is { HasExited: false } && Hello is not null)
        {
            return new WorkerCallResult(new WorkerResponse(0, true, Hello: Hello), WorkerFault.None, "");
        }
        await StopAsync();
        var info = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Arguments)
        {
            info.ArgumentList.Add(argument);
        }
        // The worker loads model-written candidates: it gets no credentials (null removes a variable).
        Processes.ChildEnvironment.Apply(info.Environment, environment);
        lock (stderrTail)
        {
            stderrTail.Clear();
        }
        var started = new Process { StartInfo = info };
        started.ErrorDataReceived += (_, e) => AppendStderr(e.Data);
        try
        {
            started.Start();
        }
        catch (Win32Exception e)
        {
            started.Dispose();
            return new WorkerCallResult(null, WorkerFault.CouldNotStart, $"could not start worker '{command}': {e.Message}");
        }
        started.BeginErrorReadLine();
        process = started;
        starts++;

        var hello = await CallLockedAsync(new WorkerRequest(0, "hello"), startTimeout, cancellationToken);
        if (hello.Response is not { Ok: true, Hello: { } h })
        {
            var why = hello.Response?.Error ?? hello.Detail;
            await StopAsync();
            return new WorkerCallResult(null, WorkerFault.CouldNotStart, $"worker '{command}' did not start: {why}");
        }
        Hello = h;
        // A restarted worker has lost its libraries: reload them so handles stay valid.
        foreach (var (library, signature) in h.HasDevice ? loaded : [])
        {
            var reload = await CallLockedAsync(new WorkerRequest(0, "load", Library: library, Signature: signature), startTimeout, cancellationToken);
            if (reload.Response is not { Ok: true })
            {
                return new WorkerCallResult(null, WorkerFault.CouldNotStart, $"reloading {library} failed: {reload.Response?.Error ?? reload.Detail}");
            }
        }
        return hello;
    }

    private async Task<WorkerCallResult> CallLockedAsync(WorkerRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var current = process!;
        var id = Interlocked.Increment(ref nextId);
        var line = WorkerJson.Serialize(request with { Id = id });
        try
        {
            await current.StandardInput.WriteLineAsync(line.AsMemory(), cancellationToken);
            await current.StandardInput.FlushAsync(cancellationToken);
        }
        catch (IOException)
        {
            return await CrashedAsync(current);
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        while (true)
        {
            string? answer;
            try
            {
                answer = await current.StandardOutput.ReadLineAsync(limit.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await StopAsync();
                return new WorkerCallResult(null, WorkerFault.TimedOut, $"no answer to '{request.Op}' within {timeout.TotalSeconds:0.#} s: the worker was killed");
            }
            catch (OperationCanceledException)
            {
                // The caller gave up mid-request: the worker may still be running it, and its late
                // answer or a hung kernel would land on the next caller. Start afresh next time.
                await StopAsync();
                throw;
            }
            if (answer is null)
            {
                return await CrashedAsync(current);
            }
            WorkerResponse? response;
            try
            {
                response = WorkerJson.ParseResponse(answer);
            }
            catch (System.Text.Json.JsonException)
            {
                AppendStderr("[stdout] " + answer);
                continue;
            }
            if (response is null || response.Id != id)
            {
                continue;
            }
            if (response.Fatal)
            {
                // The worker exits after a fatal answer; reap it so the next call restarts it.
                await WaitForExitAsync(current, TimeSpan.FromSeconds(10));
                await StopAsync();
            }
            return new WorkerCallResult(response, WorkerFault.None, "");
        }
    }

    private async Task<WorkerCallResult> CrashedAsync(Process current)
    {
        await WaitForExitAsync(current, TimeSpan.FromSeconds(5));
        var code = current.HasExited ? current.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
        await Task.Delay(50);
        string tail;
        lock (stderrTail)
        {
            tail = stderrTail.ToString().Trim();
        }
        await StopAsync();
        return new WorkerCallResult(null, WorkerFault.Crashed, $"the worker died (exit code {code}){(tail.Length > 0 ? ": " + tail : "")}");
    }

    private static async Task WaitForExitAsync(Process current, TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await current.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void AppendStderr(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (stderrTail)
        {
            stderrTail.AppendLine(line);
            if (stderrTail.Length > 8000)
            {
                stderrTail.Remove(0, stderrTail.Length - 8000);
            }
        }
    }

    private async Task StopAsync()
    {
        var current = process;
        process = null;
        Hello = null;
        if (current is null)
        {
            return;
        }
        try
        {
            if (!current.HasExited)
            {
                current.Kill(entireProcessTree: true);
                await WaitForExitAsync(current, TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
        }
        current.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await gate.WaitAsync();
        try
        {
            if (process is { HasExited: false } current)
            {
                try
                {
                    await current.StandardInput.WriteLineAsync(WorkerJson.Serialize(new WorkerRequest(0, "shutdown")));
                    await current.StandardInput.FlushAsync();
                    await WaitForExitAsync(current, TimeSpan.FromSeconds(5));
                }
                catch (IOException)
                {
                }
            }
            await StopAsync();
        }
        finally
        {
            gate.Release();
        }
    }
}
