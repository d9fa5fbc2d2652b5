using System.Diagnostics;
using AgentForge.Tools.Cuda;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench.Worker;

/// <summary>
/// The process that owns one GPU: loads candidate libraries, uploads inputs, poisons outputs,
/// calls candidates on its stream and times them. It answers one JSON line per request. A broken
/// context (illegal address, trap) is answered with Fatal=true and the process exits, because the
/// context cannot be used again; the orchestrator starts a new worker.
/// </summary>
public sealed class GpuWorker : IDisposable
{
    private const string EventMethod = "cuda_events";
    private const string SpanMethod = "cupti_gpu_span";
    private readonly CudaDevice device;
    private readonly CudaStream stream;
    private readonly ITensorFiles files;
    private readonly List<CandidateLibrary> libraries = [];
    private readonly DeviceBuffer l2Flush;
    private double? copyBandwidth;
    private readonly Cupti? cupti = Cupti.TryCreate();
    private readonly Nvml? nvml;
    private TextWriter? answers;

    public GpuWorker(CudaDevice device, ITensorFiles files)
    {
        this.device = device;
        this.files = files;
        stream = CudaStream.Create();
        // Writing twice the L2 size evicts whatever the previous call left in it.
        l2Flush = DeviceBuffer.Allocate(Math.Max(2 * device.Info.L2CacheBytes, 1 << 20));
        // The SM clock while timing (ClockSampler); without NVML the timings carry no clock.
        // AGENTFORGE_CLOCKS=0 turns the readings off (should they ever be seen to delay the host's
        // launches: compare host_issue_us and the launch gaps with and without).
        nvml = Environment.GetEnvironmentVariable("AGENTFORGE_CLOCKS") == "0" ? null : Nvml.TryOpen(device.Info.PciBusId, out _);
    }

    /// <summary>Serves requests until shutdown, end of input or a fatal error. Returns the exit code.</summary>
    public int Serve(TextReader input, TextWriter output)
    {
        answers = output;
        return WorkerLoop.Serve(input, output, Handle);
    }

    /// <summary>
    /// A guard for one wait on the candidate's work (<see cref="CallWatchdog"/>): past
    /// <paramref name="limit"/> the worker answers request <paramref name="id"/> with TIMEOUT and exits.
    /// </summary>
    private IDisposable Watch(TimeSpan? limit, long id, string what) =>
        CallWatchdog.Guard(limit, () =>
        {
            var seconds = limit!.Value.TotalSeconds;
            var answer = new WorkerResponse(id, false, nameof(EvaluationStatus.TIMEOUT),
                $"{what} did not finish within {seconds:0.#} s (the candidate hangs or is far too slow); the worker exits", Fatal: true);
            if (answers is { } output)
            {
                lock (output)
                {
                    output.WriteLine(WorkerJson.Serialize(answer));
                    output.Flush();
                }
            }
            Environment.Exit(4);
        });

    /// <summary>The request's limit for one candidate call, times <paramref name="calls"/>; null when it has none.</summary>
    private static TimeSpan? CallLimit(WorkerRequest request, int calls = 1) =>
        request.CallLimitSeconds is > 0 and var seconds ? TimeSpan.FromSeconds(seconds * Math.Max(1, calls)) : null;

    public WorkerResponse Handle(WorkerRequest request)
    {
        try
        {
            return request.Op switch
            {
                "hello" => new WorkerResponse(request.Id, true, Hello: Hello()),
                "health" => Health(request),
                "load" => Load(request),
                "run" => Run(request),
                "shutdown" => new WorkerResponse(request.Id, true),
                _ => new WorkerResponse(request.Id, false, Error: $"unknown op '{request.Op}'"),
            };
        }
        catch (CudaException e)
        {
            return new WorkerResponse(request.Id, false, nameof(EvaluationStatus.RUNTIME_ERROR), e.Message, Fatal: e.IsSticky);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or KeyNotFoundException)
        {
            return new WorkerResponse(request.Id, false, Error: e.Message);
        }
    }

    private WorkerResponse Health(WorkerRequest request)
    {
        device.Synchronize();
        return new WorkerResponse(request.Id, true);
    }

    private WorkerHello Hello()
    {
        copyBandwidth ??= MeasureCopyBandwidth();
        var info = device.Info;
        return new WorkerHello(info.Name, info.Architecture, info.MultiprocessorCount, info.L2CacheBytes,
            info.TotalMemoryBytes, info.DriverVersion, copyBandwidth.Value, Environment.ProcessId,
            cupti is not null ? SpanMethod : $"{EventMethod} ({Cupti.LoadError})", Host: Environment.MachineName);
    }

    /// <summary>Device-to-device copy of 1 GiB, counting bytes read plus written; median of 10.</summary>
    private double MeasureCopyBandwidth()
    {
        const long bytes = 1L << 30;
        using var source = DeviceBuffer.Allocate(bytes);
        using var destination = DeviceBuffer.Allocate(bytes);
        using var start = CudaEvent.Create();
        using var end = CudaEvent.Create();
        stream.FillBytes(source, 0x3C);
        var times = new List<double>();
        for (var i = 0; i < 13; i++)
        {
            start.Record(stream);
            stream.Copy(destination, source, bytes);
            end.Record(stream);
            end.Synchronize();
            if (i >= 3)
            {
                times.Add(CudaEvent.ElapsedMilliseconds(start, end));
            }
        }
        return 2.0 * bytes / (Statistics.Median(times) * 1e-3) / 1e9;
    }

    private WorkerResponse Load(WorkerRequest request)
    {
        var library = CandidateLibrary.TryLoad(request.Library ?? "", out var error);
        if (library is null)
        {
            return new WorkerResponse(request.Id, false, nameof(EvaluationStatus.RUNTIME_ERROR), error);
        }
        if (request.Signature is { } expected && library.Signature != expected)
        {
            return new WorkerResponse(request.Id, false, nameof(EvaluationStatus.RUNTIME_ERROR),
                $"calling convention mismatch: library has {library.Signature}, definition needs {expected}");
        }
        libraries.Add(library);
        return new WorkerResponse(request.Id, true, Handle: libraries.Count - 1);
    }

    private WorkerResponse Run(WorkerRequest request)
    {
        if (request.Handle is not { } handle || handle < 0 || handle >= libraries.Count)
        {
            return new WorkerResponse(request.Id, false, Error: "run needs the handle of a loaded library");
        }
        var library = libraries[handle];
        var arguments = request.Arguments ?? [];
        var outputs = request.Outputs ?? [];
        var inputPaths = new List<string> { request.InputsPath ?? throw new ArgumentException("run needs inputs_path") };
        inputPaths.AddRange(request.RotationInputsPaths ?? []);

        var inputSets = new List<UploadedInputs>();
        var outputBuffers = new List<DeviceBuffer>();
        try
        {
            foreach (var path in inputPaths)
            {
                inputSets.Add(UploadedInputs.Upload(files, path, arguments));
            }
            foreach (var output in outputs)
            {
                var dtype = ParseDType(output.Dtype);
                outputBuffers.Add(DeviceBuffer.Allocate(dtype.ByteCount(output.Shape.Aggregate(1L, (a, b) => a * b))));
            }
            var outputTensors = outputs.Select((o, i) => Native(outputBuffers[i].Pointer, ParseDType(o.Dtype), o.Shape)).ToArray();

            // Correctness call: poisoned outputs, whole-context synchronization so that work left on
            // other streams is finished (or fails) before the outputs are read.
            Poison(outputs, outputBuffers);
            var failure = CallAndCheck(library, inputSets[0], outputTensors, request, "the correctness call");
            if (failure is not null)
            {
                return failure;
            }
            var outputsPath = request.OutputPath ?? throw new ArgumentException("run needs output_path");
            WriteOutputs(outputsPath, outputs, outputBuffers);

            List<double>? latencies = null;
            List<double>? eventLatencies = null;
            List<double>? busyTimes = null;
            IReadOnlyList<TimelineEntry>? timeline = null;
            List<double>? hostIssue = null;
            ClockSummary? clock = null;
            string? recheckPath = null;
            if (request.Timing is { } timing)
            {
                (latencies, eventLatencies, busyTimes, timeline, hostIssue, clock) = Time(library, inputSets, outputTensors, timing, request, out failure);
                if (failure is not null)
                {
                    return failure;
                }
                if (request.RecheckAfterTiming)
                {
                    // The last timed call used input set (iterations-1) % n; re-run set 0 with poisoned
                    // outputs so the comparison is against the same reference as the first check.
                    Poison(outputs, outputBuffers);
                    failure = CallAndCheck(library, inputSets[0], outputTensors, request, "the re-check call after timing");
                    if (failure is not null)
                    {
                        return failure;
                    }
                    recheckPath = Path.ChangeExtension(outputsPath, ".recheck.safetensors");
                    WriteOutputs(recheckPath, outputs, outputBuffers);
                }
            }
            return new WorkerResponse(request.Id, true, OutputsPath: outputsPath, RecheckOutputsPath: recheckPath,
                LatenciesMs: latencies, TimingMethod: latencies is null ? null : ReferenceEquals(latencies, eventLatencies) ? EventMethod : SpanMethod,
                EventLatenciesMs: eventLatencies, KernelSumsMs: busyTimes, Timeline: timeline, HostIssueUs: hostIssue,
                SmClockMhz: clock?.MedianMhz, SmClockMinMhz: clock?.MinMhz, ClockSamples: clock?.Samples, ClockLimits: clock?.Limits);
        }
        finally
        {
            foreach (var set in inputSets)
            {
                set.Dispose();
            }
            foreach (var buffer in outputBuffers)
            {
                buffer.Dispose();
            }
        }
    }

    /// <summary>
    /// One call with whole-context synchronization, so that work left on other streams is finished
    /// (or fails) before the outputs are read; a call past the request's limit ends the worker.
    /// </summary>
    private WorkerResponse? CallAndCheck(CandidateLibrary library, UploadedInputs inputs, NativeTensor[] outputTensors, WorkerRequest request, string what)
    {
        var tensors = inputs.Tensors.Concat(outputTensors).ToArray();
        int launchError;
        using (Watch(CallLimit(request), request.Id, what))
        {
            launchError = library.Call(tensors, inputs.Scalars, stream);
            device.Synchronize();
        }
        return launchError == 0
            ? null
            : new WorkerResponse(request.Id, false, nameof(EvaluationStatus.RUNTIME_ERROR),
                $"the candidate's launch failed or its entry reported an error (afg::report_error): {library.DescribeRuntimeError(launchError)}");
    }

    /// <summary>
    /// Times the candidate: returns the GPU spans (CUPTI: first start to last end of the
    /// candidate's own kernels, memsets and copies, as FlashInfer-Bench measures) and the CUDA
    /// event spans (which also hold the launch latency of the first kernel), and the timeline of
    /// the call with the median span. Without CUPTI both lists are the event spans and there is
    /// no timeline. Also how long the host took to issue each call (the candidate's entry point,
    /// its launches included): a call whose launches the GPU reached before the host issued them
    /// shows gaps in its timeline and a long issue time beside them. And, where NVML answers, the SM
    /// clock while the timed calls ran (<see cref="ClockSampler"/>).
    /// </summary>
    private (List<double> Latencies, List<double> EventLatencies, List<double>? BusyTimes, IReadOnlyList<TimelineEntry>? Timeline, List<double> HostIssueUs, ClockSummary? Clock) Time(CandidateLibrary library, List<UploadedInputs> inputSets, NativeTensor[] outputTensors, WireTiming timing, WorkerRequest request, out WorkerResponse? failure)
    {
        failure = null;
        var id = request.Id;
        var calls = inputSets.Select(set => set.Tensors.Concat(outputTensors).ToArray()).ToArray();
        var recording = cupti is not null && timing.FlushL2;
        if (recording)
        {
            // Enabled before the warm-up, whose records are dropped: the first call after enabling
            // pays CUPTI's setup on the host (160-260 us of issue time for the first timed call in
            // session 13, long enough for the GPU to drain its queue and run that call at the
            // host's pace).
            cupti!.Start();
        }
        // A candidate may block inside its call (a synchronizing copy), so the guards cover the
        // calls as well as the waits after them.
        using (Watch(CallLimit(request, timing.Warmup), id, $"{timing.Warmup} warm-up calls"))
        {
            for (var i = 0; i < timing.Warmup; i++)
            {
                var set = i % inputSets.Count;
                var error = library.Call(calls[set], inputSets[set].Scalars, stream);
                if (error != 0)
                {
                    if (recording)
                    {
                        device.Synchronize();
                        cupti!.Stop();
                    }
                    failure = new WorkerResponse(id, false, nameof(EvaluationStatus.RUNTIME_ERROR), $"warm-up call {i} failed: {library.DescribeRuntimeError(error)}");
                    return ([], [], null, null, [], null);
                }
            }
            stream.Synchronize();
        }
        if (recording)
        {
            cupti!.Discard();
        }

        var starts = new CudaEvent[timing.Iterations];
        var ends = new CudaEvent[timing.Iterations];
        var issueTicks = new List<long>(timing.Iterations);
        ClockSampler? sampler = null;
        try
        {
            for (var i = 0; i < timing.Iterations; i++)
            {
                starts[i] = CudaEvent.Create();
                ends[i] = CudaEvent.Create();
            }
            using (Watch(CallLimit(request, timing.Iterations), id, $"{timing.Iterations} timed calls"))
            {
                sampler = ClockSampler.Start(nvml);
                for (var i = 0; i < timing.Iterations; i++)
                {
                    if (timing.FlushL2)
                    {
                        stream.Fill(l2Flush, (uint)i);
                    }
                    var set = i % inputSets.Count;
                    starts[i].Record(stream);
                    // Raw ticks, converted after the loop: a conversion's first use inside the
                    // loop was timed with timed call 0 (always the trial's longest, 180-280 us).
                    var issued = Stopwatch.GetTimestamp();
                    var error = library.Call(calls[set], inputSets[set].Scalars, stream);
                    issueTicks.Add(Stopwatch.GetTimestamp() - issued);
                    ends[i].Record(stream);
                    if (error != 0)
                    {
                        if (recording)
                        {
                            device.Synchronize();
                            cupti!.Stop();
                        }
                        failure = new WorkerResponse(id, false, nameof(EvaluationStatus.RUNTIME_ERROR), $"timed call {i} failed: {library.DescribeRuntimeError(error)}");
                        return ([], [], null, null, [], null);
                    }
                }
                device.Synchronize();
            }
            var clock = sampler?.Stop();
            var hostIssue = issueTicks.Select(t => t * 1e6 / Stopwatch.Frequency).ToList();
            var events = Enumerable.Range(0, timing.Iterations).Select(i => (double)CudaEvent.ElapsedMilliseconds(starts[i], ends[i])).ToList();
            if (!recording)
            {
                return (events, events, null, null, hostIssue, clock);
            }
            var recorded = GpuSpans(cupti!.Stop(), l2Flush.Bytes, timing.Iterations);
            if (recorded is null)
            {
                return (events, events, null, null, hostIssue, clock);
            }
            return (recorded.Select(c => c.SpanMs).ToList(), events, recorded.Select(c => c.BusyMs).ToList(), MedianCall(recorded).Timeline, hostIssue, clock);
        }
        finally
        {
            sampler?.Stop();
            foreach (var e in starts.Concat(ends))
            {
                e?.Dispose();
            }
        }
    }

    /// <summary>
    /// One timed call as CUPTI saw it: the GPU span, the sum of its activities' own durations, and
    /// the activities from its first start (<paramref name="Start"/>, ns). Only the reported call's
    /// <see cref="Timeline"/> is ever built.
    /// </summary>
    internal readonly record struct CallTiming(double SpanMs, double BusyMs, ulong Start, IReadOnlyList<GpuActivity> Activities)
    {
        public IReadOnlyList<TimelineEntry> Timeline
        {
            get
            {
                var start = Start;
                return Activities.Select(a => Entry(a, start)).ToList();
            }
        }
    }

    /// <summary>The call whose span is the median (<see cref="Statistics.MedianIndex"/>).</summary>
    internal static CallTiming MedianCall(IReadOnlyList<CallTiming> calls) =>
        calls[Statistics.MedianIndex(calls.Select(c => c.SpanMs).ToList())];

    private static TimelineEntry Entry(GpuActivity activity, ulong callStart)
    {
        var startUs = (activity.Start - callStart) / 1e3;
        var durationUs = activity.End > activity.Start ? (activity.End - activity.Start) / 1e3 : 0;
        return activity.Kind switch
        {
            GpuActivity.ConcurrentKernel => new TimelineEntry("kernel", startUs, durationUs, activity.Name is { } name ? KernelNames.Short(name) : null,
                activity.Shape is { } s ? [s.GridX, s.GridY, s.GridZ] : null, activity.Shape is { } b ? [b.BlockX, b.BlockY, b.BlockZ] : null),
            GpuActivity.Memset => new TimelineEntry("memset", startUs, durationUs),
            _ => new TimelineEntry("memcpy", startUs, durationUs),
        };
    }

    /// <summary>
    /// Splits the recorded activities at the L2-flush memsets (one before each timed call, known
    /// by their size) and returns each call's span (first start to last end, as FlashInfer-Bench
    /// measures) and busy time (sum of its kernels', memsets' and copies' durations: span - busy is
    /// what the gaps between the candidate's own launches cost); null if the records do not show
    /// one flush per call (then the event timings stand).
    /// </summary>
    internal static List<CallTiming>? GpuSpans(IReadOnlyList<GpuActivity> activities, long flushBytes, int calls)
    {
        var timings = new List<CallTiming>();
        ulong? first = null;
        ulong last = 0;
        ulong busy = 0;
        var flushes = 0;
        var members = new List<GpuActivity>();
        void Close() => timings.Add(first is { } f ? new CallTiming((last - f) / 1e6, busy / 1e6, f, members) : new CallTiming(0, 0, 0, []));
        foreach (var activity in activities)
        {
            if (activity.Kind == GpuActivity.Memset && (long)activity.Bytes == flushBytes)
            {
                if (flushes > 0)
                {
                    Close();
                }
                flushes++;
                first = null;
                last = 0;
                busy = 0;
                members = [];
                continue;
            }
            members.Add(activity);
            first = first is { } f ? Math.Min(f, activity.Start) : activity.Start;
            last = Math.Max(last, activity.End);
            busy += activity.End > activity.Start ? activity.End - activity.Start : 0;
        }
        if (flushes > 0)
        {
            Close();
        }
        return flushes == calls && timings.Count == calls ? timings : null;
    }

    /// <summary>Fills outputs with values no correct kernel leaves: NaN for floats, the maximum for integers.</summary>
    private void Poison(IReadOnlyList<WireOutput> outputs, List<DeviceBuffer> buffers)
    {
        for (var i = 0; i < outputs.Count; i++)
        {
            switch (ParseDType(outputs[i].Dtype))
            {
                case DType.Float32:
                    stream.Fill(buffers[i], 0x7FC00000);
                    break;
                case DType.BFloat16:
                    stream.FillHalfWords(buffers[i], 0x7FC0);
                    break;
                case DType.Float16:
                    stream.FillHalfWords(buffers[i], 0x7E00);
                    break;
                case DType.Int64:
                case DType.Int32:
                    stream.Fill(buffers[i], 0x7FFFFFFF);
                    break;
                case DType.Int16:
                    stream.FillHalfWords(buffers[i], 0x7FFF);
                    break;
                default:
                    stream.FillBytes(buffers[i], 0x7F);
                    break;
            }
        }
        stream.Synchronize();
    }

    private void WriteOutputs(string path, IReadOnlyList<WireOutput> outputs, List<DeviceBuffer> buffers)
    {
        var tensors = new List<KeyValuePair<string, HostTensor>>();
        for (var i = 0; i < outputs.Count; i++)
        {
            var host = new byte[buffers[i].Bytes];
            buffers[i].Download(host);
            tensors.Add(new(outputs[i].Name, new HostTensor(ParseDType(outputs[i].Dtype), outputs[i].Shape, host)));
        }
        files.Write(path, tensors);
    }

    internal static DType ParseDType(string name) =>
        DTypes.TryParse(name, out var dtype) ? dtype : throw new ArgumentException($"unknown dtype '{name}'");

    internal static unsafe NativeTensor Native(ulong pointer, DType dtype, long[] shape)
    {
        if (shape.Length > NativeTensor.MaxRank)
        {
            throw new ArgumentException($"rank {shape.Length} exceeds the contract's maximum of {NativeTensor.MaxRank}");
        }
        var tensor = new NativeTensor { Data = pointer, DType = (int)dtype, Rank = shape.Length };
        for (var i = 0; i < shape.Length; i++)
        {
            tensor.Shape[i] = shape[i];
        }
        return tensor;
    }

    public void Dispose()
    {
        l2Flush.Dispose();
        stream.Dispose();
    }

    /// <summary>One input set on the device, with the native argument arrays that point into it.</summary>
    private sealed class UploadedInputs : IDisposable
    {
        private readonly List<DeviceBuffer> buffers = [];

        public NativeTensor[] Tensors { get; private set; } = [];

        public NativeScalar[] Scalars { get; private set; } = [];

        public static UploadedInputs Upload(ITensorFiles files, string path, IReadOnlyList<WireArgument> arguments)
        {
            var uploaded = new UploadedInputs();
            var tensors = new List<NativeTensor>();
            var scalars = new List<NativeScalar>();
            using var reader = files.OpenRead(path);
            try
            {
                foreach (var argument in arguments)
                {
                    var dtype = ParseDType(argument.Dtype);
                    switch (argument.Kind)
                    {
                        case WireArgument.Tensor:
                            var host = reader.Find(argument.Name) ?? throw new KeyNotFoundException($"input '{argument.Name}' is not in {path}");
                            var buffer = DeviceBuffer.Allocate(host.Bytes.Length);
                            uploaded.buffers.Add(buffer);
                            buffer.Upload(host.Bytes.Span);
                            tensors.Add(Native(buffer.Pointer, dtype, host.Shape));
                            break;
                        case WireArgument.Absent:
                            tensors.Add(Native(0, dtype, argument.Shape ?? []));
                            break;
                        case WireArgument.Scalar:
                            scalars.Add(ToNative(dtype, argument));
                            break;
                        default:
                            throw new ArgumentException($"unknown argument kind '{argument.Kind}'");
                    }
                }
            }
            catch
            {
                uploaded.Dispose();
                throw;
            }
            uploaded.Tensors = tensors.ToArray();
            uploaded.Scalars = scalars.ToArray();
            return uploaded;
        }

        private static NativeScalar ToNative(DType dtype, WireArgument argument)
        {
            var integer = argument.IntegerValue ?? (long)(argument.Value ?? 0);
            var real = argument.Value ?? integer;
            return dtype switch
            {
                DType.Int64 => new NativeScalar { I64 = integer },
                DType.Int32 or DType.Int16 or DType.Int8 => new NativeScalar { I32 = checked((int)integer) },
                DType.Bool => new NativeScalar { Bool = (byte)(integer != 0 ? 1 : 0) },
                _ => new NativeScalar { F32 = (float)real },
            };
        }

        public void Dispose()
        {
            foreach (var buffer in buffers)
            {
                buffer.Dispose();
            }
        }
    }
}
