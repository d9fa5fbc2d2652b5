using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace AgentForge.Tools.Agents;

/// <summary>
/// The tools as Microsoft.Extensions.AI functions: each is a method of a tool class whose
/// [Description] attributes and parameter types are the only source of its JSON schema. The
/// orchestrator exposes the same list as a Semantic Kernel plugin, as OpenAI function schemas,
/// through `agentforge tools call` and over MCP.
/// </summary>
public static class ToolCatalog
{
    public static IReadOnlyList<AIFunction> Create(ToolServices services)
    {
        var dataset = new DatasetTools(services);
        var evaluation = new EvaluationTools(services);
        var diagnostics = new DiagnosticTools(services);
        var archive = new ArchiveTools(services);
        return
        [
            Function(dataset, nameof(DatasetTools.GetDefinition), ToolNames.GetDefinition),
            Function(dataset, nameof(DatasetTools.ListWorkloads), ToolNames.ListWorkloads),
            Function(evaluation, nameof(EvaluationTools.CompileAsync), ToolNames.Compile),
            Function(evaluation, nameof(EvaluationTools.CheckCorrectnessAsync), ToolNames.CheckCorrectness),
            Function(evaluation, nameof(EvaluationTools.BenchmarkAsync), ToolNames.Benchmark),
            Function(diagnostics, nameof(DiagnosticTools.RunSanitizerAsync), ToolNames.RunSanitizer),
            Function(diagnostics, nameof(DiagnosticTools.RunNcuAsync), ToolNames.RunNcu),
            Function(diagnostics, nameof(DiagnosticTools.ListNcuOptionsAsync), ToolNames.ListNcuOptions),
            Function(archive, nameof(ArchiveTools.GetBestAsync), ToolNames.GetBest),
            Function(archive, nameof(ArchiveTools.SubmitCandidateAsync), ToolNames.SubmitCandidate),
        ];
    }

    /// <summary>
    /// The tools' declarations (name, description, schema) without anything to run them: for
    /// exporting schemas where no dataset or GPU is at hand.
    /// </summary>
    public static IReadOnlyList<AIFunctionDeclaration> Declarations() =>
        Create(new ToolServices(new NoBackend(), new CandidateStore(Path.Combine(Path.GetTempPath(), "agentforge-schema")), new NoChampions(), new NoSink()))
            .Select(f => f.AsDeclarationOnly())
            .ToList();

    private static AIFunction Function(object target, string method, string name)
    {
        var info = target.GetType().GetMethod(method, BindingFlags.Public | BindingFlags.Instance)
            ?? throw new MissingMethodException(target.GetType().Name, method);
        return AIFunctionFactory.Create(info, target, new AIFunctionFactoryOptions
        {
            Name = name,
            SerializerOptions = ToolJson.Options,
            JsonSchemaCreateOptions = SchemaOptions,
        });
    }

    // Elements of string arrays and maps are never null in a tool call; saying so keeps the schema
    // as plain as FlashInfer-Bench's ("items": {"type": "string"}).
    private static readonly AIJsonSchemaCreateOptions SchemaOptions = new()
    {
        TransformSchemaNode = (context, node) =>
        {
            var path = context.Path;
            var isElement = path.Length > 0 && path[^1] is "items" or "additionalProperties";
            if (isElement && node is JsonObject schema && schema["type"] is JsonArray types && types.Count == 2 && types.Any(t => t?.GetValue<string>() == "null"))
            {
                schema["type"] = types.First(t => t?.GetValue<string>() != "null")!.GetValue<string>();
            }
            return node;
        },
    };

    /// <summary>The OpenAI chat-completions "tools" array: {"type":"function","function":{name, description, parameters}} per tool.</summary>
    public static JsonArray OpenAiSchemas(IEnumerable<AIFunctionDeclaration> functions)
    {
        var tools = new JsonArray();
        foreach (var function in functions)
        {
            var parameters = JsonNode.Parse(function.JsonSchema.GetRawText())!.AsObject();
            // The function's name and description are already beside the parameters.
            parameters.Remove("title");
            parameters.Remove("description");
            tools.Add(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = function.Name,
                    ["description"] = function.Description,
                    ["parameters"] = parameters,
                },
            });
        }
        return tools;
    }

    /// <summary>Calls a tool with a JSON object of arguments; the result as JSON text (the same a model gets).</summary>
    public static async Task<string> InvokeAsync(AIFunction function, JsonElement arguments, CancellationToken cancellationToken)
    {
        var values = new AIFunctionArguments();
        if (arguments.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in arguments.EnumerateObject())
            {
                values[property.Name] = property.Value.Clone();
            }
        }
        var result = await function.InvokeAsync(values, cancellationToken);
        return result switch
        {
            null => "null",
            JsonElement element => JsonSerializer.Serialize(element, ToolJson.Options),
            _ => JsonSerializer.Serialize(result, result.GetType(), ToolJson.Options),
        };
    }

    private sealed class NoBackend : IEvaluationBackend
    {
        public Trace.TraceDataset Dataset => throw new InvalidOperationException("declarations only");

        public Build.BaselineCatalog? Baselines => null;

        public Task<GpuStatus> EnsureGpuAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("declarations only");

        public Task<Build.BuildResult> BuildAsync(Build.CandidateSource candidate, Trace.Definition definition, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("declarations only");

        public IAsyncEnumerable<Bench.WorkloadOutcome> EvaluateAsync(Build.BuildResult build, Trace.Definition definition, IReadOnlyList<Trace.WorkloadEntry> workloads,
            Bench.EvaluatorOptions options, CancellationToken cancellationToken) => throw new InvalidOperationException("declarations only");

        public Bench.IInputProvider InputsFor(string datasetRoot) => throw new InvalidOperationException("declarations only");
    }

    private sealed class NoChampions : IChampionStore
    {
        public Task<Champion?> GetBestAsync(string definition, CancellationToken cancellationToken) => Task.FromResult<Champion?>(null);
    }

    private sealed class NoSink : ICandidateSink
    {
        public Task<SubmissionReceipt> SubmitAsync(CandidateSubmission submission, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("declarations only");
    }
}
