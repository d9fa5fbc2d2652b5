using System.Text.Json;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Inputs;

/// <summary>
/// A minimal reader of the contest dataset's definitions and workloads, for these tests only (the
/// product's loader lives elsewhere). Tests that need the dataset skip when it is not beside the
/// repository and FIB_DATASET_PATH is unset.
/// </summary>
internal static class TestDataset
{
    public static string? Root { get; } = FindRoot();

    public const string Indexer = "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64";
    public const string SparseAttention = "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64";
    public const string GdnDecode = "gdn_decode_qk4_v8_d128_k_last";
    public const string GdnPrefill = "gdn_prefill_qk4_v8_d128_k_last";
    public const string Moe = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";

    public static string RequireRoot()
    {
        if (Root is null)
        {
            Assert.Skip("the FlashInfer-Trace dataset is not available (set FIB_DATASET_PATH)");
        }
        return Root;
    }

    public static Definition LoadDefinition(string name)
    {
        var root = RequireRoot();
        var path = Directory.EnumerateFiles(Path.Combine(root, "definitions"), name + ".json", SearchOption.AllDirectories).Single();
        return ParseDefinition(File.ReadAllText(path));
    }

    public static IReadOnlyList<WorkloadEntry> LoadWorkloads(string name)
    {
        var root = RequireRoot();
        var path = Directory.EnumerateFiles(Path.Combine(root, "workloads"), name + ".jsonl", SearchOption.AllDirectories).Single();
        var entries = new List<WorkloadEntry>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            using var document = JsonDocument.Parse(line);
            entries.Add(new WorkloadEntry(
                document.RootElement.GetProperty("definition").GetString()!,
                ParseWorkload(document.RootElement.GetProperty("workload")),
                path,
                lineNumber));
        }
        return entries;
    }

    public static Definition ParseDefinition(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var axes = new List<KeyValuePair<string, AxisSpec>>();
        foreach (var axis in root.GetProperty("axes").EnumerateObject())
        {
            AxisSpec spec = axis.Value.GetProperty("type").GetString() == "const"
                ? new ConstAxis(axis.Value.GetProperty("value").GetInt64())
                : new VarAxis();
            axes.Add(new(axis.Name, spec));
        }
        return new Definition(
            root.GetProperty("name").GetString()!,
            root.GetProperty("op_type").GetString()!,
            axes,
            ParseTensors(root.GetProperty("inputs")),
            ParseTensors(root.GetProperty("outputs")),
            root.TryGetProperty("reference", out var reference) ? reference.GetString()! : "",
            [],
            null,
            []);
    }

    public static Workload ParseWorkload(JsonElement workload)
    {
        var axes = workload.GetProperty("axes").EnumerateObject().ToDictionary(a => a.Name, a => a.Value.GetInt64());
        var inputs = new List<KeyValuePair<string, WorkloadInput>>();
        foreach (var input in workload.GetProperty("inputs").EnumerateObject())
        {
            WorkloadInput value = input.Value.GetProperty("type").GetString() switch
            {
                "random" => new RandomInput(),
                "safetensors" => new SafetensorsInput(input.Value.GetProperty("path").GetString()!, input.Value.GetProperty("tensor_key").GetString()!),
                "scalar" => new ScalarInput(ParseScalar(input.Value.GetProperty("value"))),
                var other => throw new InvalidDataException($"unknown input type {other}"),
            };
            inputs.Add(new(input.Name, value));
        }
        return new Workload(workload.GetProperty("uuid").GetString()!, axes, inputs);
    }

    private static ScalarValue ParseScalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => ScalarValue.Of(value.GetBoolean()),
        JsonValueKind.Number when value.TryGetInt64(out var integer) && !value.GetRawText().Contains('.') => ScalarValue.Of(integer),
        _ => ScalarValue.Of(value.GetDouble()),
    };

    private static List<NamedTensorSpec> ParseTensors(JsonElement tensors)
    {
        var result = new List<NamedTensorSpec>();
        foreach (var tensor in tensors.EnumerateObject())
        {
            var shape = tensor.Value.GetProperty("shape");
            Assert.True(DTypes.TryParse(tensor.Value.GetProperty("dtype").GetString(), out var dtype));
            result.Add(new NamedTensorSpec(tensor.Name, new TensorSpec(
                shape.ValueKind == JsonValueKind.Null ? null : shape.EnumerateArray().Select(s => s.GetString()!).ToList(),
                dtype,
                null,
                tensor.Value.TryGetProperty("optional", out var optional) && optional.GetBoolean())));
        }
        return result;
    }

    private static string? FindRoot()
    {
        var configured = Environment.GetEnvironmentVariable("FIB_DATASET_PATH");
        if (!string.IsNullOrEmpty(configured) && Directory.Exists(Path.Combine(configured, "definitions")))
        {
            return configured;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "flashinfer-trace");
            if (Directory.Exists(Path.Combine(candidate, "definitions")))
            {
                return candidate;
            }
        }
        return null;
    }
}
