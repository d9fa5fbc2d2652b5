using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Oracle;

/// <summary>
/// One long-lived Python process running oracle_server.py: started on first use (a "hello" checks
/// torch and safetensors), one request at a time, JSON lines over stdin/stdout. A request that
/// times out, or is cancelled mid-flight, kills the process; a crash is reported with the tail of
/// stderr; either way the next request starts a fresh process.
/// </summary>
public sealed class OracleProcess(OracleOptions? options = null) : IReferenceOracle, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Process? _process;
    private StderrTail _stderr = new(0);
    private OracleEnvironment? _environment;
    private long _nextId;
    private bool _disposed;

    public OracleOptions Options { get; } = options ?? new OracleOptions();

    /// <summary>How many Python processes this oracle has started (restarts included).</summary>
    public int Starts { get; private set; }

    /// <summary>How many run requests reached Python.</summary>
    public int RunsSent { get; private set; }

    public async Task<OracleProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var failure = await EnsureStartedAsync(cancellationToken);
            return new OracleProbeResult(failure is null ? _environment : null, failure);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<OracleResult> RunAsync(OracleRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (await EnsureStartedAsync(cancellationToken) is { } startFailure)
            {
                return startFailure;
            }
            RunsSent++;
            var (response, failure) = await ExchangeAsync(ToWire(request), Options.RequestTimeout, $"the reference of {request.DefinitionName}", cancellationToken);
            if (failure is not null)
            {
                return failure;
            }
            if (response!.Restart == true)
            {
                // The reference broke the CUDA context; the script exits after answering.
                await StopAsync(graceful: false);
            }
            return response.Ok
                ? new OracleSuccess(response.OutputsPath ?? request.OutputPath, response.LatencyMs)
                : ToFailure(response);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Measures the GPU's dense bf16 and fp8 matrix throughput through torch (the peaks compute
    /// floors divide by). A value; a failure carries why (no torch, no GPU).
    /// </summary>
    public async Task<MeasuredPeaks> MeasurePeaksAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (await EnsureStartedAsync(cancellationToken) is { } startFailure)
            {
                return new MeasuredPeaks(null, null, null, startFailure.ToString());
            }
            var (response, failure) = await ExchangeAsync(new WireRequest(++_nextId, "peak"), TimeSpan.FromMinutes(5), "the peak measurement", cancellationToken);
            if (failure is not null)
            {
                return new MeasuredPeaks(null, null, null, failure.ToString());
            }
            return response!.Ok
                ? new MeasuredPeaks(response.Bf16Tflops * 1e12, response.Fp8Tflops * 1e12, response.DeviceName, response.Fp8Error)
                : new MeasuredPeaks(null, null, null, ToFailure(response).ToString());
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await _gate.WaitAsync();
        try
        {
            await StopAsync(graceful: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<OracleFailure?> EnsureStartedAsync(CancellationToken cancellationToken)
    {
        if (_process is { HasExited: false } && _environment is not null)
        {
            return null;
        }
        await StopAsync(graceful: false);

        var python = Options.PythonExecutable;
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add(OracleScript.Path);
        start.Environment["PYTHONUNBUFFERED"] = "1";
        start.Environment["PYTHONIOENCODING"] = "utf-8";
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        foreach (var (name, value) in Options.Environment)
        {
            start.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception($"Process.Start returned no process for {python}");
        }
        catch (Win32Exception e)
        {
            return new OracleFailure(OracleFailureKind.PythonMissing,
                $"{python} not found on PATH or not executable ({e.Message}); install Python 3 with torch and safetensors, " +
                $"or set {OracleOptions.PythonVariable} to the interpreter to use");
        }
        Starts++;
        var stderr = new StderrTail(Options.StderrTailLines);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stderr.Add(e.Data);
            }
        };
        process.BeginErrorReadLine();
        _process = process;
        _stderr = stderr;

        var (response, failure) = await ExchangeAsync(new WireRequest(++_nextId, "hello"), Options.StartTimeout, "start-up", cancellationToken);
        if (failure is not null || !response!.Ok)
        {
            await StopAsync(graceful: false);
            return failure ?? ToFailure(response!);
        }
        _environment = new OracleEnvironment(
            response.Python ?? "unknown",
            response.Executable ?? python,
            response.Pid ?? process.Id,
            response.Torch ?? "unknown",
            response.Cuda,
            response.CudaAvailable ?? false,
            response.DeviceName,
            response.Safetensors);
        return null;
    }

    private async Task<(WireResponse? Response, OracleFailure? Failure)> ExchangeAsync(
        WireRequest request, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var process = _process ?? throw new InvalidOperationException("no oracle process is running");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var line = JsonSerializer.Serialize(request, OracleJsonContext.Default.WireRequest);
            await process.StandardInput.WriteLineAsync(line.AsMemory(), deadline.Token);
            await process.StandardInput.FlushAsync(deadline.Token);
            while (true)
            {
                var text = await process.StandardOutput.ReadLineAsync(deadline.Token);
                if (text is null)
                {
                    return (null, await CrashedAsync(process, what));
                }
                WireResponse? response;
                try
                {
                    response = JsonSerializer.Deserialize(text, OracleJsonContext.Default.WireResponse);
                }
                catch (JsonException)
                {
                    // The script keeps stdout for protocol lines; anything else is noise worth keeping for a crash report.
                    _stderr.Add($"[stdout] {text}");
                    continue;
                }
                if (response?.Id == request.Id)
                {
                    return (response, null);
                }
            }
        }
        catch (IOException)
        {
            // Broken pipe: the process died before or while reading the request.
            return (null, await CrashedAsync(process, what));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var (pid, tail) = (process.Id, _stderr.Text());
            await StopAsync(graceful: false);
            return (null, new OracleFailure(OracleFailureKind.Timeout,
                $"{what} gave no answer within {timeout}; the oracle process (pid {pid}) was killed{StderrSuffix(tail)}"));
        }
        catch (OperationCanceledException)
        {
            // Mid-request the process's state is unknown: a fresh one serves the next request.
            await StopAsync(graceful: false);
            throw;
        }
    }

    private async Task<OracleFailure> CrashedAsync(Process process, string what)
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await process.WaitForExitAsync(grace.Token); // also drains stderr
        }
        catch (OperationCanceledException)
        {
        }
        var code = process.HasExited ? process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
        var (pid, tail) = (process.Id, _stderr.Text());
        await StopAsync(graceful: false);
        return new OracleFailure(OracleFailureKind.Crashed,
            $"the oracle process ({Options.PythonExecutable}, pid {pid}) exited with code {code} during {what}{StderrSuffix(tail)}");
    }

    private async Task StopAsync(bool graceful)
    {
        var process = _process;
        _process = null;
        _environment = null;
        if (process is null)
        {
            return;
        }
        try
        {
            if (!process.HasExited && graceful)
            {
                try
                {
                    await process.StandardInput.WriteLineAsync(
                        JsonSerializer.Serialize(new WireRequest(++_nextId, "shutdown"), OracleJsonContext.Default.WireRequest));
                    process.StandardInput.Close();
                    using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                    await process.WaitForExitAsync(grace.Token);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException)
                {
                }
            }
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await process.WaitForExitAsync(grace.Token);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or Win32Exception)
        {
            // Already gone, or refusing to die within the grace period: nothing more to do from here.
        }
        finally
        {
            process.Dispose();
        }
    }

    private static string StderrSuffix(string tail) => tail.Length == 0 ? "; stderr was empty" : $"; stderr ends with:\n{tail}";

    private static OracleFailure ToFailure(WireResponse response)
    {
        var kind = response.Kind switch
        {
            "reference_error" => OracleFailureKind.ReferenceError,
            "input_error" => OracleFailureKind.InputError,
            "missing_module" => OracleFailureKind.ModuleMissing,
            "no_device" => OracleFailureKind.NoDevice,
            _ => OracleFailureKind.OracleError,
        };
        return new OracleFailure(kind, response.Error ?? $"the oracle answered {response.Kind ?? "a failure"} without a message", response.Traceback);
    }

    private WireRequest ToWire(OracleRequest request) => new(++_nextId, "run")
    {
        DefinitionName = request.DefinitionName,
        Reference = request.Reference,
        InputsPath = Path.GetFullPath(request.InputsPath),
        ArgOrder = request.ArgOrder,
        Scalars = request.Scalars.ToDictionary(s => s.Key, s => new WireScalar(s.Value.DType.Name(), ScalarNode(s.Value))),
        Absent = request.Absent,
        Outputs = request.Outputs,
        OutputDtypes = request.OutputDTypes.ToDictionary(o => o.Key, o => o.Value.Name()),
        OutputPath = Path.GetFullPath(request.OutputPath),
        Timing = request.Timing is { } timing ? new WireTiming(timing.Warmup, timing.Iterations) : null,
        Device = request.Device,
    };

    /// <summary>The JSON value of a scalar after its dtype; JSON has no inf or NaN, Python's float() reads them as strings.</summary>
    private static JsonNode ScalarNode(OracleScalar scalar)
    {
        if (scalar.DType == DType.Bool)
        {
            return JsonValue.Create(scalar.Value.AsInteger != 0);
        }
        if (!scalar.DType.IsFloatingPoint())
        {
            return JsonValue.Create(scalar.Value.AsInteger);
        }
        var value = scalar.Value.AsDouble;
        return value switch
        {
            double.PositiveInfinity => JsonValue.Create("Infinity"),
            double.NegativeInfinity => JsonValue.Create("-Infinity"),
            _ when double.IsNaN(value) => JsonValue.Create("NaN"),
            _ => JsonValue.Create(value),
        };
    }

    /// <summary>The last lines of a process's stderr, written by the reader thread, read on failure.</summary>
    private sealed class StderrTail(int capacity)
    {
        private readonly Queue<string> _lines = new();

        public void Add(string line)
        {
            lock (_lines)
            {
                _lines.Enqueue(line);
                while (_lines.Count > capacity)
                {
                    _lines.Dequeue();
                }
            }
        }

        public string Text()
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }
}
