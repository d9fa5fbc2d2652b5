namespace AgentForge.Tools.Oracle;

/// <summary>How an <see cref="OracleProcess"/> starts Python and how long it waits.</summary>
public sealed record OracleOptions
{
    public const string PythonVariable = "AGENTFORGE_PYTHON";

    /// <summary>The interpreter: a name looked up on PATH or a path. Default: $AGENTFORGE_PYTHON, else python3.</summary>
    public string PythonExecutable { get; init; } = DefaultPython();

    /// <summary>Start-up includes importing torch, which takes seconds on a cold disk.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Some references loop over tokens in Python (GDN prefill): minutes are normal.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Variables added to the Python process's environment (CUDA_VISIBLE_DEVICES, PYTHONPATH, ...).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>How many of the last stderr lines are kept for error messages.</summary>
    public int StderrTailLines { get; init; } = 200;

    public static string DefaultPython() =>
        System.Environment.GetEnvironmentVariable(PythonVariable) is { Length: > 0 } python ? python : "python3";
}
