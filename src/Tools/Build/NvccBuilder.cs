using System.Security.Cryptography;
using System.Text;
using AgentForge.Tools.Processes;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Build;

/// <summary>Where and how nvcc runs; the toolkit version is part of every cache key.</summary>
public sealed record NvccOptions(
    string CacheDirectory,
    string IncludeDirectory,
    string NvccPath = "nvcc",
    TimeSpan? Timeout = null,
    int MaxParallelBuilds = 0,
    IReadOnlyList<string>? ExtraFlags = null);

/// <summary>
/// Compiles a candidate plus its generated shim into a shared library with nvcc. Builds are
/// content-addressed (sources, shim, flags, toolkit version), so an unchanged candidate is never
/// rebuilt, and several builds run at once on the CPU cores while the GPU is busy.
/// </summary>
public sealed class NvccBuilder
{
    private readonly NvccOptions options;
    private readonly SemaphoreSlim parallel;
    private readonly Lazy<Task<string>> toolkitVersion;

    public NvccBuilder(NvccOptions options)
    {
        this.options = options;
        var width = options.MaxParallelBuilds > 0 ? options.MaxParallelBuilds : Math.Max(1, Environment.ProcessorCount);
        parallel = new SemaphoreSlim(width, width);
        toolkitVersion = new Lazy<Task<string>>(ReadToolkitVersionAsync);
    }

    /// <summary>sm_90 / sm_90a gencode for a compute capability like (9, 0).</summary>
    public static string Architecture(int major, int minor, TargetKind target) =>
        $"sm_{major}{minor}{(target == TargetKind.ArchSpecific ? "a" : "")}";

    public static IReadOnlyList<string> Flags(string architecture, IReadOnlyDictionary<string, string>? defines, IReadOnlyList<string>? extra)
    {
        var compute = architecture.Replace("sm_", "compute_", StringComparison.Ordinal);
        var flags = new List<string>
        {
            "-O3", "-std=c++17", "-shared", "-Xcompiler", "-fPIC", "-lineinfo",
            $"-gencode=arch={compute},code={architecture}",
        };
        foreach (var (name, value) in (defines ?? new Dictionary<string, string>()).OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            flags.Add($"-D{name}={value}");
        }
        flags.AddRange(extra ?? []);
        flags.Add("-lcuda");
        return flags;
    }

    public async Task<BuildResult> BuildAsync(CandidateSource candidate, Definition definition, string architecture, CancellationToken cancellationToken)
    {
        var shim = ShimGenerator.Generate(definition, candidate.EntrySymbol);
        var flags = Flags(architecture, candidate.Defines, options.ExtraFlags);
        var version = await toolkitVersion.Value;
        var key = CacheKey(candidate, shim, flags, version, HeaderText());
        var directory = Path.Combine(options.CacheDirectory, key);
        var library = Path.Combine(directory, "candidate.so");
        var logPath = Path.Combine(directory, "build.log");
        if (File.Exists(library))
        {
            return new BuildResult(true, library, File.Exists(logPath) ? await File.ReadAllTextAsync(logPath, cancellationToken) : "", key, true, architecture);
        }

        await parallel.WaitAsync(cancellationToken);
        try
        {
            var staging = directory + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
            Directory.CreateDirectory(staging);
            var sourcePaths = new List<string>();
            foreach (var source in candidate.Sources)
            {
                var path = SafeJoin(staging, source.Path);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, source.Content, cancellationToken);
                if (path.EndsWith(".cu", StringComparison.Ordinal) || path.EndsWith(".cpp", StringComparison.Ordinal))
                {
                    sourcePaths.Add(path);
                }
            }
            var shimPath = Path.Combine(staging, ShimGenerator.FileName);
            await File.WriteAllTextAsync(shimPath, shim, cancellationToken);
            sourcePaths.Add(shimPath);

            var arguments = new List<string>(flags) { "-I", options.IncludeDirectory, "-I", staging, "-o", Path.Combine(staging, "candidate.so") };
            arguments.AddRange(sourcePaths);
            var result = await ProcessRunner.RunAsync(options.NvccPath, arguments, options.Timeout ?? TimeSpan.FromMinutes(5), staging, cancellationToken: cancellationToken);
            var log = $"$ {options.NvccPath} {string.Join(' ', arguments)}\n{result.StartError}{result.Output}";
            if (result.TimedOut)
            {
                log += "\nnvcc timed out";
            }
            await File.WriteAllTextAsync(Path.Combine(staging, "build.log"), log, cancellationToken);
            if (!result.Succeeded)
            {
                return BuildResult.Failed(log, key, architecture);
            }
            // Publish atomically: a concurrent build of the same key may have won the race.
            try
            {
                Directory.Move(staging, directory);
            }
            catch (IOException) when (File.Exists(library))
            {
                Directory.Delete(staging, recursive: true);
            }
            return new BuildResult(true, library, log, key, false, architecture);
        }
        finally
        {
            parallel.Release();
        }
    }

    private string HeaderText() => IncludeFolderText(options.IncludeDirectory);

    /// <summary>
    /// What the include folder gives a build, for its cache key: agentforge.h's text, then each
    /// other header (a shared one a kernel may include) as its path and text, sorted by path. With
    /// agentforge.h alone it is that header's text, as keys were before shared headers existed.
    /// </summary>
    internal static string IncludeFolderText(string directory)
    {
        var header = Path.Combine(directory, IncludeFolder.ContractHeader);
        var text = new StringBuilder(File.Exists(header) ? File.ReadAllText(header) : "");
        foreach (var (path, content) in IncludeFolder.SharedFiles(directory))
        {
            text.Append('\0').Append(path).Append('\0').Append(content);
        }
        return text.ToString();
    }

    internal static string CacheKey(CandidateSource candidate, string shim, IReadOnlyList<string> flags, string toolkitVersion, string header)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }
        foreach (var source in candidate.Sources.OrderBy(s => s.Path, StringComparer.Ordinal))
        {
            Add(source.Path);
            Add(source.Content);
        }
        Add(shim);
        Add(string.Join(' ', flags));
        Add(toolkitVersion);
        Add(header);
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..24];
    }

    /// <summary>Joins a candidate-relative path under the build folder, refusing absolute paths and "..".</summary>
    internal static string SafeJoin(string root, string relative)
    {
        if (Path.IsPathRooted(relative) || relative.Split('/', '\\').Contains(".."))
        {
            throw new ArgumentException($"source path '{relative}' must be relative and must not contain '..'");
        }
        return Path.Combine(root, relative);
    }

    private async Task<string> ReadToolkitVersionAsync()
    {
        var result = await ProcessRunner.RunAsync(options.NvccPath, ["--version"], TimeSpan.FromSeconds(30));
        return result.Succeeded ? result.Output.Trim() : "nvcc-unavailable";
    }
}
