using System.Globalization;

namespace AgentForge.Tools.Bench.Worker;

/// <summary>
/// Which GPUs get a worker slot, from `--gpus all|N|0,1,...`: every visible GPU, the first N, or
/// the listed ordinals. Ordinals are CUDA's, i.e. relative to CUDA_VISIBLE_DEVICES when it is set.
/// </summary>
public sealed record GpuSelection
{
    private GpuSelection(bool all, IReadOnlyList<int> ordinals)
    {
        All = all;
        Ordinals = ordinals;
    }

    /// <summary>One slot per visible GPU, counted when resolved.</summary>
    public bool All { get; }

    /// <summary>The ordinals when not <see cref="All"/>.</summary>
    public IReadOnlyList<int> Ordinals { get; }

    public static GpuSelection Single(int ordinal) => new(false, [ordinal]);

    /// <summary>"all"; "N" (the first N GPUs, N >= 1); or a comma-separated list of distinct ordinals, "0,1,3".</summary>
    public static GpuSelection? TryParse(string text, out string? error)
    {
        error = null;
        var trimmed = text.Trim();
        if (trimmed.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return new GpuSelection(true, []);
        }
        if (!trimmed.Contains(',', StringComparison.Ordinal))
        {
            if (int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= 1)
            {
                return new GpuSelection(false, Enumerable.Range(0, count).ToList());
            }
            error = $"--gpus '{text}': expected all, a count N >= 1, or a list of ordinals such as 0,1 (one GPU by ordinal: --gpu K)";
            return null;
        }
        var ordinals = new List<int>();
        foreach (var part in trimmed.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var ordinal))
            {
                error = $"--gpus '{text}': '{part}' is not a GPU ordinal";
                return null;
            }
            if (ordinals.Contains(ordinal))
            {
                error = $"--gpus '{text}': GPU {ordinal} is listed twice (one worker per GPU)";
                return null;
            }
            ordinals.Add(ordinal);
        }
        return new GpuSelection(false, ordinals);
    }

    /// <summary>The ordinals, counting the visible GPUs for "all" (without touching CUDA); an error when none is found.</summary>
    public IReadOnlyList<int>? Resolve(Func<GpuCount> count, out string? error)
    {
        error = null;
        if (!All)
        {
            return Ordinals;
        }
        var found = count();
        if (found.Count < 1)
        {
            error = $"--gpus all: no GPU found ({found.Method})";
            return null;
        }
        return Enumerable.Range(0, found.Count).ToList();
    }

    public override string ToString() => All ? "all" : string.Join(',', Ordinals);
}

/// <summary>How many GPUs are visible and how that was found out.</summary>
public sealed record GpuCount(int Count, string Method);

/// <summary>
/// Counts the GPUs a worker could open, without creating a CUDA context in the orchestrator
/// (ARCHITECTURE.md: the orchestrator never does; cuInit alone would also pin driver state in this
/// process). In order: CUDA_VISIBLE_DEVICES when set (CUDA numbers the listed devices 0..n-1, and
/// the workers inherit it); else `nvidia-smi -L` (only the GPUs this container can use); else the
/// driver's /proc/driver/nvidia/gpus entries (every GPU of the host).
/// </summary>
public static class GpuInventory
{
    public static GpuCount Count() => Count(
        Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES"),
        NvidiaSmiList,
        "/proc/driver/nvidia/gpus");

    public static GpuCount Count(string? cudaVisibleDevices, Func<string?> nvidiaSmiList, string procGpus)
    {
        if (cudaVisibleDevices is not null)
        {
            var listed = cudaVisibleDevices.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return new GpuCount(listed.Length, $"CUDA_VISIBLE_DEVICES={cudaVisibleDevices}");
        }
        if (nvidiaSmiList() is { } list)
        {
            // MIG instances are listed indented under their GPU ("  MIG 1g.10gb Device 0: ..."): count GPUs only.
            var gpus = list.Split('\n').Count(line => line.StartsWith("GPU ", StringComparison.Ordinal));
            return new GpuCount(gpus, "nvidia-smi -L");
        }
        if (Directory.Exists(procGpus))
        {
            return new GpuCount(Directory.GetDirectories(procGpus).Length, procGpus);
        }
        return new GpuCount(0, $"CUDA_VISIBLE_DEVICES unset, no nvidia-smi, no {procGpus}");
    }

    private static string? NvidiaSmiList()
    {
        var result = Processes.ProcessRunner.RunAsync("nvidia-smi", ["-L"], TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        return result.Succeeded ? result.Output : null;
    }
}
