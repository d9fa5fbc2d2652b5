using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Inputs;

/// <summary>Identifies one materialized input set; <paramref name="DefinitionHash"/> changes when the definition does.</summary>
public sealed record InputCacheKey(string DefinitionHash, string WorkloadUuid, int Trial, ulong Seed)
{
    /// <summary>A file name that is safe on every file system whatever the key's characters.</summary>
    public string FileName
    {
        get
        {
            var text = $"{DefinitionHash}\n{WorkloadUuid}\n{Trial}\n{Seed}";
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32] + ".safetensors";
        }
    }
}

/// <summary>A cached input set whose tensors are views of the memory-mapped cache file.</summary>
public sealed class CachedInputSet(string path, InputSet inputs, IDisposable file, Action? release = null) : IDisposable
{
    private int disposed;

    public string Path { get; } = path;

    /// <summary>Valid until this object is disposed (the tensors are views of the mapping).</summary>
    public InputSet Inputs { get; } = inputs;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            file.Dispose();
            release?.Invoke();
        }
    }
}

/// <summary>
/// Materialized input sets on disk, one safetensors file per (definition hash, uuid, trial, seed),
/// so that other processes (the Python oracle, a GPU worker) map the very same bytes instead of
/// regenerating them. Tensors are stored under their input names; the definition order, scalars
/// and absent inputs are in the header's <c>__metadata__</c> under <see cref="InputsMetadataKey"/>
/// as JSON: <c>[{"name": "scale", "kind": "scalar", "dtype": "float32", "value": 0.088}, ...]</c>.
/// Writes are atomic (temporary file, then rename). The folder is bounded: after each write the
/// least recently used files are deleted until the total fits; a hit refreshes an entry's time.
/// </summary>
public sealed class InputCache
{
    public const string InputsMetadataKey = "agentforge.inputs";

    private const string Extension = ".safetensors";
    private static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromHours(6);
    private readonly TimeProvider _time;

    public InputCache(string directory, long maxBytes, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        Directory = Path.GetFullPath(directory);
        MaxBytes = maxBytes;
        _time = timeProvider ?? TimeProvider.System;
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public long MaxBytes { get; }

    public string PathFor(InputCacheKey key) => Path.Combine(Directory, key.FileName);

    /// <summary>
    /// The cached set, or null on a miss. An unreadable or mismatched entry (a torn disk, another
    /// key hashing to the same name) is deleted and reported as a miss.
    /// </summary>
    public CachedInputSet? TryGet(InputCacheKey key)
    {
        var path = PathFor(key);
        if (!File.Exists(path))
        {
            return null;
        }
        var opened = SafetensorsFile.Open(path);
        if (!opened.IsOk)
        {
            TryDelete(path);
            return null;
        }
        var file = opened.Value;
        var inputs = Decode(file, key);
        if (inputs is null)
        {
            file.Dispose();
            TryDelete(path);
            return null;
        }
        Touch(path);
        Pin(path);
        return new CachedInputSet(path, inputs, file, () => Unpin(path));
    }

    // Entries handed out (and entries being written) are pinned: other processes may be about to
    // open them by path, so eviction, which runs from concurrent callers, leaves them alone.
    private readonly Dictionary<string, int> pins = new(StringComparer.Ordinal);
    private readonly object evictionLock = new();

    private void Pin(string path)
    {
        lock (pins)
        {
            pins[path] = pins.GetValueOrDefault(path) + 1;
        }
    }

    private void Unpin(string path)
    {
        lock (pins)
        {
            if (pins.TryGetValue(path, out var count) && count > 1)
            {
                pins[path] = count - 1;
            }
            else
            {
                pins.Remove(path);
            }
        }
    }

    private bool IsPinned(string path)
    {
        lock (pins)
        {
            return pins.ContainsKey(path);
        }
    }

    /// <summary>Writes <paramref name="inputs"/> for <paramref name="key"/> (replacing any entry), then evicts; returns the path.</summary>
    public string Put(InputCacheKey key, InputSet inputs)
    {
        var path = PathFor(key);
        var tensors = inputs.Arguments
            .Where(a => a.Value is TensorArgument)
            .Select(a => new KeyValuePair<string, HostTensor>(a.Key, ((TensorArgument)a.Value).Tensor))
            .ToList();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["agentforge.definition"] = inputs.DefinitionName,
            ["agentforge.definition_hash"] = key.DefinitionHash,
            ["agentforge.workload_uuid"] = key.WorkloadUuid,
            ["agentforge.trial"] = key.Trial.ToString(CultureInfo.InvariantCulture),
            ["agentforge.seed"] = key.Seed.ToString(CultureInfo.InvariantCulture),
            [InputsMetadataKey] = EncodeArguments(inputs.Arguments),
        };
        Pin(path);
        try
        {
            SafetensorsWriter.WriteFile(path, tensors, metadata, overwrite: true);
            Touch(path);
            Evict(keep: path);
        }
        finally
        {
            Unpin(path);
        }
        return path;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, object> keyLocks = new(StringComparer.Ordinal);
    private int hits;
    private int misses;

    /// <summary>Lookups answered from disk.</summary>
    public int Hits => hits;

    /// <summary>Input sets this cache object had to create (each created once however many callers wanted it at once).</summary>
    public int Misses => misses;

    /// <summary>
    /// The cached set, else <paramref name="create"/>'s, written to the cache and read back mapped.
    /// Callers asking for the same key at once (workloads of several candidates on several worker
    /// slots) wait for one creation instead of each generating the same tensors.
    /// </summary>
    public DataResult<CachedInputSet> GetOrAdd(InputCacheKey key, Func<DataResult<InputSet>> create)
    {
        var hit = TryGet(key);
        if (hit is not null)
        {
            Interlocked.Increment(ref hits);
            return DataResult<CachedInputSet>.Ok(hit);
        }
        lock (keyLocks.GetOrAdd(PathFor(key), _ => new object()))
        {
            return CreateLocked(key, create);
        }
    }

    private DataResult<CachedInputSet> CreateLocked(InputCacheKey key, Func<DataResult<InputSet>> create)
    {
        if (TryGet(key) is { } filledMeanwhile)
        {
            Interlocked.Increment(ref hits);
            return DataResult<CachedInputSet>.Ok(filledMeanwhile);
        }
        Interlocked.Increment(ref misses);
        var created = create();
        if (!created.IsOk)
        {
            return created.Error;
        }
        var path = PathFor(key);
        Pin(path);
        try
        {
            Put(key, created.Value);
            return TryGet(key) is { } written
                ? DataResult<CachedInputSet>.Ok(written)
                : throw new IOException($"input cache entry {path} vanished right after it was written");
        }
        finally
        {
            Unpin(path);
        }
    }

    public long TotalBytes() => Entries().Sum(f => f.Length);

    private IEnumerable<FileInfo> Entries() =>
        new DirectoryInfo(Directory).EnumerateFiles("*" + Extension).Where(f => !f.Name.StartsWith('.'));

    private void Touch(string path)
    {
        try
        {
            File.SetLastWriteTimeUtc(path, _time.GetUtcNow().UtcDateTime);
        }
        catch (IOException)
        {
            // Evicted by another process in between: the next access is a miss, nothing to fix.
        }
    }

    private void Evict(string keep)
    {
        lock (evictionLock)
        {
            EvictLocked(keep);
        }
    }

    private void EvictLocked(string keep)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        foreach (var temporary in new DirectoryInfo(Directory).EnumerateFiles(".*.tmp"))
        {
            // Left behind by a writer that died; live writers finish in seconds.
            if (now - temporary.LastWriteTimeUtc > StaleTemporaryAge)
            {
                TryDelete(temporary.FullName);
            }
        }
        // Another process may delete files while we look: snapshot what still exists.
        var entries = new List<(string Path, long Length, DateTime Written, string Name)>();
        foreach (var file in Entries())
        {
            try
            {
                entries.Add((file.FullName, file.Length, file.LastWriteTimeUtc, file.Name));
            }
            catch (FileNotFoundException)
            {
            }
        }
        entries.Sort((a, b) => a.Written != b.Written ? a.Written.CompareTo(b.Written) : string.CompareOrdinal(a.Name, b.Name));
        var total = entries.Sum(f => f.Length);
        foreach (var entry in entries)
        {
            if (total <= MaxBytes)
            {
                break;
            }
            // The entry just written stays even when it alone exceeds the bound: its caller needs it;
            // so do entries that callers hold.
            if (string.Equals(entry.Path, keep, StringComparison.Ordinal) || IsPinned(entry.Path))
            {
                continue;
            }
            if (TryDelete(entry.Path))
            {
                total -= entry.Length;
            }
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    internal static string EncodeArguments(IReadOnlyList<KeyValuePair<string, ArgumentValue>> arguments)
    {
        var array = new JsonArray();
        foreach (var (name, value) in arguments)
        {
            var item = new JsonObject { ["name"] = name };
            switch (value)
            {
                case TensorArgument tensor:
                    item["kind"] = "tensor";
                    item["dtype"] = tensor.Tensor.DType.Name();
                    break;
                case ScalarArgument scalar:
                    item["kind"] = "scalar";
                    item["dtype"] = scalar.DType.Name();
                    // The JSON literal's kind (1 vs 1.0) survives the round trip, as in the workload.
                    item["literal"] = scalar.Value.Kind.ToString().ToLowerInvariant();
                    item["value"] = scalar.Value.Kind switch
                    {
                        ScalarKind.Boolean => JsonValue.Create(scalar.Value.Boolean),
                        ScalarKind.Integer => JsonValue.Create(scalar.Value.Integer),
                        // JSON has no inf/NaN; FlashInfer-Bench's traces spell them as strings.
                        _ when double.IsFinite(scalar.Value.Float) => JsonValue.Create(scalar.Value.Float),
                        _ => JsonValue.Create(double.IsNaN(scalar.Value.Float) ? "NaN" : scalar.Value.Float > 0 ? "Infinity" : "-Infinity"),
                    };
                    break;
                case AbsentArgument:
                    item["kind"] = "absent";
                    break;
                default:
                    throw new ArgumentException($"unknown argument kind {value.GetType().Name}", nameof(arguments));
            }
            array.Add(item);
        }
        return array.ToJsonString();
    }

    private static InputSet? Decode(SafetensorsFile file, InputCacheKey key)
    {
        var metadata = file.Metadata;
        if (!metadata.TryGetValue("agentforge.definition_hash", out var hash) || hash != key.DefinitionHash
            || !metadata.TryGetValue("agentforge.workload_uuid", out var uuid) || uuid != key.WorkloadUuid
            || !metadata.TryGetValue("agentforge.trial", out var trial) || trial != key.Trial.ToString(CultureInfo.InvariantCulture)
            || !metadata.TryGetValue("agentforge.seed", out var seed) || seed != key.Seed.ToString(CultureInfo.InvariantCulture)
            || !metadata.TryGetValue("agentforge.definition", out var definition)
            || !metadata.TryGetValue(InputsMetadataKey, out var encoded))
        {
            return null;
        }
        try
        {
            var arguments = new List<KeyValuePair<string, ArgumentValue>>();
            foreach (var node in JsonNode.Parse(encoded)!.AsArray())
            {
                var name = node!["name"]!.GetValue<string>();
                ArgumentValue value;
                switch (node["kind"]!.GetValue<string>())
                {
                    case "tensor":
                        if (file.Read(name) is not { } tensor)
                        {
                            return null;
                        }
                        value = new TensorArgument(tensor);
                        break;
                    case "scalar":
                        if (!DTypes.TryParse(node["dtype"]!.GetValue<string>(), out var dtype))
                        {
                            return null;
                        }
                        value = new ScalarArgument(dtype, DecodeScalar(node["literal"]!.GetValue<string>(), node["value"]!));
                        break;
                    case "absent":
                        value = new AbsentArgument();
                        break;
                    default:
                        return null;
                }
                arguments.Add(new(name, value));
            }
            return new InputSet(definition, key.WorkloadUuid, key.Trial, key.Seed, arguments);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            return null;
        }
    }

    private static ScalarValue DecodeScalar(string literal, JsonNode node)
    {
        var element = node.GetValue<JsonElement>();
        return literal switch
        {
            "boolean" => ScalarValue.Of(element.GetBoolean()),
            "integer" => ScalarValue.Of(element.GetInt64()),
            "float" when element.ValueKind == JsonValueKind.String =>
                ScalarValue.Of(double.Parse(element.GetString()!, CultureInfo.InvariantCulture)),
            "float" => ScalarValue.Of(element.GetDouble()),
            _ => throw new FormatException($"unknown scalar literal kind '{literal}'"),
        };
    }
}
