namespace AgentForge.Tests.Trace;

/// <summary>A one-definition dataset in a temp folder; tests break one thing in it at a time.</summary>
internal sealed class TinyDataset : IDisposable
{
    // One member per line, so a field's line is easy to find and to assert.
    public const string Definition = """
        {
          "name": "tiny",
          "op_type": "demo",
          "axes": {
            "n": {"type": "var"},
            "d": {"type": "const", "value": 4}
          },
          "inputs": {
            "x": {"shape": ["n", "d"], "dtype": "float32"},
            "idx": {"shape": ["n"], "dtype": "int32"},
            "scale": {"shape": null, "dtype": "float32"}
          },
          "outputs": {
            "y": {"shape": ["n", "d"], "dtype": "float32"}
          },
          "reference": "def run(x, idx, scale):\n    return x * scale\n"
        }
        """;

    public const string BlobPath = "./blob/workloads/demo/tiny/w.safetensors";

    public const string Inputs = $$"""
        "x":{"type":"random"},"idx":{"type":"safetensors","path":"{{BlobPath}}","tensor_key":"idx"},"scale":{"type":"scalar","value":0.5}
        """;

    private TinyDataset(string root) => Root = root;

    public string Root { get; }

    public string DefinitionFile => Path.Combine(Root, "definitions", "demo", "tiny.json");

    public string WorkloadFile => Path.Combine(Root, "workloads", "demo", "tiny.jsonl");

    /// <summary>A workloads/*.jsonl line as the dataset writes them.</summary>
    public static string Line(string uuid, string axes = "\"n\":2", string inputs = Inputs, string definition = "tiny") =>
        "{\"definition\":\"" + definition + "\",\"solution\":null,\"workload\":{\"uuid\":\"" + uuid
        + "\",\"axes\":{" + axes + "},\"inputs\":{" + inputs + "}},\"evaluation\":null}";

    /// <summary>A dataset with <paramref name="definition"/> and one good workload line followed by <paramref name="workloadLines"/>.</summary>
    public static TinyDataset Create(string definition = Definition, params string[] workloadLines)
    {
        var dataset = new TinyDataset(Path.Combine(Path.GetTempPath(), $"agentforge-trace-{Guid.NewGuid():N}"));
        Directory.CreateDirectory(Path.GetDirectoryName(dataset.DefinitionFile)!);
        Directory.CreateDirectory(Path.GetDirectoryName(dataset.WorkloadFile)!);
        File.WriteAllText(dataset.DefinitionFile, definition);
        File.WriteAllLines(dataset.WorkloadFile, [Line("good"), .. workloadLines]);
        return dataset;
    }

    /// <summary>Creates the blob file (its content is for an inspector to judge).</summary>
    public string CreateBlob()
    {
        var path = Path.GetFullPath(Path.Combine(Root, BlobPath));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [0]);
        return path;
    }

    /// <summary>1-based line of the first line of <paramref name="text"/> containing <paramref name="fragment"/>.</summary>
    public static int LineOf(string text, string fragment) =>
        text.Split('\n').Select((line, index) => (line, index)).First(l => l.line.Contains(fragment, StringComparison.Ordinal)).index + 1;

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
