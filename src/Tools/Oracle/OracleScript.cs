using System.Security.Cryptography;

namespace AgentForge.Tools.Oracle;

/// <summary>
/// The embedded oracle_server.py, written once per content hash to a per-user directory that only
/// its owner can write: Python puts the script's directory first on sys.path, so a shared directory
/// would let anyone shadow torch.
/// </summary>
internal static class OracleScript
{
    private const string ResourceName = "AgentForge.Tools.Oracle.oracle_server.py";
    private static readonly Lazy<string> Extracted = new(Extract, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Path => Extracted.Value;

    public static string Text()
    {
        using var stream = typeof(OracleScript).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from {typeof(OracleScript).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static string Extract()
    {
        var text = Text();
        var hash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..16];
        var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"agentforge-{Environment.UserName}", "oracle");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var path = System.IO.Path.Combine(directory, $"oracle_server_{hash}.py");
        if (!File.Exists(path))
        {
            var staging = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllText(staging, text);
            File.Move(staging, path, overwrite: true);
        }
        return path;
    }
}
