using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.AI;

namespace AgentForge.Tools.Agents;

/// <summary>
/// JSON of tool arguments and results: snake_case names, enums as snake_case strings, nulls left
/// out, and CUDA source text unescaped ("&lt;" stays "&lt;") so a model reads it as written.
/// </summary>
public static class ToolJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            TypeInfoResolver = JsonTypeInfoResolver.Combine(ToolJsonContext.Default, AIJsonUtilities.DefaultOptions.TypeInfoResolver),
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        options.MakeReadOnly();
        return options;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DefinitionResult))]
[JsonSerializable(typeof(WorkloadsResult))]
[JsonSerializable(typeof(CompileResult))]
[JsonSerializable(typeof(CorrectnessResult))]
[JsonSerializable(typeof(BenchmarkResult))]
[JsonSerializable(typeof(SanitizerResult))]
[JsonSerializable(typeof(NcuResult))]
[JsonSerializable(typeof(NcuOptionsResult))]
[JsonSerializable(typeof(BestResult))]
[JsonSerializable(typeof(SubmitResult))]
[JsonSerializable(typeof(StoredCandidate))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(Sanitizer.SanitizerTool[]))]
[JsonSerializable(typeof(Build.TargetKind))]
[JsonSerializable(typeof(int?))]
internal sealed partial class ToolJsonContext : JsonSerializerContext;
