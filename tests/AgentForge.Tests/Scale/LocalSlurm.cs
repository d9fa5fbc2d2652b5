using AgentForge.Tests.Agents;
using AgentForge.Tools.Processes;

namespace AgentForge.Tests.Scale;

/// <summary>
/// The single-node Slurm of scripts/slurm/start-local.sh, started (idempotently) on first use, or
/// the reason it cannot be: not installed, not running and not root, or it failed to start. The
/// tests skip with that reason, unless AGENTFORGE_REQUIRE_SLURM=1 (CI sets it after installing
/// Slurm): then a missing cluster fails them instead of passing silently.
/// </summary>
internal static class LocalSlurm
{
    public const string RequireVariable = "AGENTFORGE_REQUIRE_SLURM";

    private static readonly Lazy<(string? Conf, string? Problem)> Cluster = new(Start);

    /// <summary>SLURM_CONF of the running local cluster; skips (or fails under CI) otherwise.</summary>
    public static string RequireConf()
    {
        var (conf, problem) = Cluster.Value;
        if (conf is not null)
        {
            return conf;
        }
        if (Environment.GetEnvironmentVariable(RequireVariable) == "1")
        {
            Assert.Fail($"{RequireVariable}=1 but there is no local Slurm: {problem}");
        }
        Assert.Skip(problem!);
        return "";
    }

    /// <summary>Runs a Slurm client (squeue, scancel) against the local cluster.</summary>
    public static async Task<string> ClientAsync(string tool, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(tool, arguments, TimeSpan.FromSeconds(30), environment: new Dictionary<string, string?> { ["SLURM_CONF"] = RequireConf() },
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(result.Succeeded, $"{tool} {string.Join(' ', arguments)}: exit {result.ExitCode}: {result.StartError}{result.Output}");
        return result.Output;
    }

    /// <summary>Our jobs in the queue: (job id, name, state), for names starting with <paramref name="prefix"/>.</summary>
    public static async Task<IReadOnlyList<(string Id, string Name, string State)>> JobsAsync(string prefix)
    {
        var output = await ClientAsync("squeue", "--noheader", "--format=%i %j %T");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 3 && fields[1].StartsWith(prefix, StringComparison.Ordinal))
            .Select(fields => (fields[0], fields[1], fields[2]))
            .ToList();
    }

    private static (string? Conf, string? Problem) Start()
    {
        var missing = new[] { "srun", "squeue", "scancel", "sinfo", "slurmctld", "slurmd", "munged" }.Where(tool => !OnPath(tool)).ToList();
        if (missing.Count > 0)
        {
            return (null, $"Slurm is not installed here (missing {string.Join(", ", missing)}); as root, scripts/slurm/start-local.sh --install sets up a single-node cluster");
        }
        var script = Path.Combine(AgentPaths.RepositoryRoot(), "scripts", "slurm", "start-local.sh");
        var result = ProcessRunner.RunAsync("bash", [script], TimeSpan.FromMinutes(3)).GetAwaiter().GetResult();
        var conf = result.Output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("SLURM_CONF=", StringComparison.Ordinal))?["SLURM_CONF=".Length..];
        return result.Succeeded && conf is not null
            ? (conf, null)
            : (null, $"the local Slurm did not start ({script}, exit {result.ExitCode}): {result.StartError}{result.Output.Trim()}");
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"])
            .Any(directory => File.Exists(Path.Combine(directory, tool)));
}
