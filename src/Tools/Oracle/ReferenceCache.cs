using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgentForge.Tools.Oracle;

/// <summary>A reference result on disk: the outputs file and the latency measured with it, if any.</summary>
public sealed record CachedReference(string OutputsPath, double? LatencyMs, OracleTiming? Timing, string Device, string CreatedUtc);

/// <summary>
/// Reference outputs on disk, keyed by (definition hash, workload uuid, trial, seed): the same key
/// means the same inputs and the same code, so the same outputs. Layout:
/// <c>ROOT/DEFINITION/HASH16/UUID/trialT-seedS.safetensors</c> beside a <c>.json</c> with the full key
/// and the latency. The JSON is written last, so its presence marks a complete entry; both files are
/// moved into place, so a reader never sees half of one.
/// </summary>
public sealed class ReferenceCache(string root, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public string Root { get; } = Path.GetFullPath(root);

    public CachedReference? TryGet(string definitionName, ReferenceKey key)
    {
        var stem = Stem(definitionName, key);
        var metadataPath = stem + ".json";
        var outputsPath = stem + ".safetensors";
        if (!File.Exists(metadataPath) || !File.Exists(outputsPath))
        {
            return null;
        }
        CacheEntryMetadata? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(File.ReadAllText(metadataPath), OracleJsonContext.Default.CacheEntryMetadata);
        }
        catch (JsonException)
        {
            return null; // a damaged entry is a miss; the next commit replaces it
        }
        // The directory holds a hash prefix only: the full key must match too.
        if (metadata is null || metadata.DefinitionHash != key.DefinitionHash || metadata.WorkloadUuid != key.WorkloadUuid
            || metadata.Trial != key.Trial || metadata.Seed != key.Seed)
        {
            return null;
        }
        return new CachedReference(outputsPath, metadata.LatencyMs,
            metadata.Timing is { } timing ? new OracleTiming(timing.Warmup, timing.Iterations) : null, metadata.Device, metadata.CreatedUtc);
    }

    /// <summary>A fresh path beside the entry for the oracle to write into before <see cref="Commit"/>.</summary>
    public string StagingPath(string definitionName, ReferenceKey key)
    {
        var stem = Stem(definitionName, key);
        Directory.CreateDirectory(Path.GetDirectoryName(stem)!);
        return $"{stem}.{Guid.NewGuid():N}.staging.safetensors";
    }

    public CachedReference Commit(string definitionName, ReferenceKey key, string stagedOutputsPath, double? latencyMs, OracleTiming? timing, string device)
    {
        var stem = Stem(definitionName, key);
        Directory.CreateDirectory(Path.GetDirectoryName(stem)!);
        var outputsPath = stem + ".safetensors";
        File.Move(stagedOutputsPath, outputsPath, overwrite: true);
        var created = _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var metadata = new CacheEntryMetadata(definitionName, key.DefinitionHash, key.WorkloadUuid, key.Trial, key.Seed, latencyMs,
            timing is null ? null : new WireTiming(timing.Warmup, timing.Iterations), device, created);
        var staging = $"{stem}.{Guid.NewGuid():N}.json.tmp";
        File.WriteAllText(staging, JsonSerializer.Serialize(metadata, OracleJsonContext.Default.CacheEntryMetadata));
        File.Move(staging, stem + ".json", overwrite: true);
        return new CachedReference(outputsPath, latencyMs, timing, device, created);
    }

    private string Stem(string definitionName, ReferenceKey key)
    {
        var hash = key.DefinitionHash.Length > 16 ? key.DefinitionHash[..16] : key.DefinitionHash;
        return Path.Combine(Root, Safe(definitionName), Safe(hash), Safe(key.WorkloadUuid),
            string.Create(CultureInfo.InvariantCulture, $"trial{key.Trial}-seed{key.Seed}"));
    }

    /// <summary>Names come from datasets: keep them from escaping the cache directory.</summary>
    private static string Safe(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            text.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_');
        }
        var safe = text.ToString().Trim('.');
        return safe.Length == 0 ? "_" : safe;
    }
}

internal sealed record CacheEntryMetadata(
    string Definition,
    string DefinitionHash,
    string WorkloadUuid,
    int Trial,
    ulong Seed,
    double? LatencyMs,
    WireTiming? Timing,
    string Device,
    string CreatedUtc);
