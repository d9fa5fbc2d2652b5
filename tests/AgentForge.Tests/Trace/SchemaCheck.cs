using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace AgentForge.Tests.Trace;

/// <summary>Checks JSON text against the shared FlashInfer-Bench schemas: validity and key order.</summary>
internal static class SchemaCheck
{
    // Every shared schema, built once, all together, on first use. The schema library registers each
    // schema it builds in a process-wide registry that refuses a second registration of a file and is
    // not safe for concurrent writes: tests running in parallel that each built their schema on first
    // use (a GetOrAdd factory, which may run twice) failed with "Overwriting registered schemas is not
    // permitted" or a corrupted dictionary (CI on 2026-11-28, session 39's clone). The Lazy blocks
    // every caller until the one build is done; no registration happens after it.
    private static readonly Lazy<IReadOnlyDictionary<string, JsonSchema>> Schemas = new(BuildAll);
    private static readonly ConcurrentDictionary<string, JsonObject> Documents = new();

    private const string SchemaSuffix = ".schema.json";

    private static IReadOnlyDictionary<string, JsonSchema> BuildAll() =>
        Directory.GetFiles(SharedData.SchemasRoot, "*" + SchemaSuffix)
            .Order(StringComparer.Ordinal)
            .ToDictionary(path => Path.GetFileName(path)[..^SchemaSuffix.Length], path => JsonSchema.FromFile(path), StringComparer.Ordinal);

    private static string PathOf(string name) => Path.Combine(SharedData.SchemasRoot, name + SchemaSuffix);

    /// <summary>The schema's validation errors for <paramref name="json"/>; empty when valid.</summary>
    public static IReadOnlyList<string> Errors(string schemaName, string json)
    {
        if (!Schemas.Value.TryGetValue(schemaName, out var schema))
        {
            throw new ArgumentException($"no {schemaName}{SchemaSuffix} in {SharedData.SchemasRoot}", nameof(schemaName));
        }
        using var document = JsonDocument.Parse(json);
        var results = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }
        return [.. (results.Details ?? [results])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))];
    }

    /// <summary>
    /// Where an object in <paramref name="json"/> lists keys other than its schema's "properties" in
    /// their order (FlashInfer-Bench dumps every field, in declaration order). Keys in
    /// <paramref name="extraKeys"/> may follow the schema's keys.
    /// </summary>
    public static IReadOnlyList<string> KeyOrderProblems(string schemaName, string json, params string[] extraKeys)
    {
        var root = Documents.GetOrAdd(schemaName, name => JsonNode.Parse(File.ReadAllText(PathOf(name)))!.AsObject());
        var problems = new List<string>();
        Walk(root, root, JsonNode.Parse(json), "$", problems, extraKeys);
        return problems;
    }

    private static void Walk(JsonObject root, JsonObject? schema, JsonNode? value, string at, List<string> problems, string[] extraKeys)
    {
        if (value is not JsonObject obj || Resolve(root, schema, obj) is not { } resolved)
        {
            return;
        }
        if (resolved["properties"] is JsonObject properties)
        {
            var expected = properties.Select(p => p.Key).ToList();
            var actual = obj.Select(p => p.Key).Where(k => !extraKeys.Contains(k)).ToList();
            if (!expected.SequenceEqual(actual))
            {
                problems.Add($"{at}: keys [{string.Join(", ", actual)}], schema order [{string.Join(", ", expected)}]");
            }
            foreach (var (key, child) in obj)
            {
                Walk(root, properties[key] as JsonObject, child, $"{at}.{key}", problems, extraKeys);
            }
        }
        else if (resolved["additionalProperties"] is JsonObject valueSchema)
        {
            foreach (var (key, child) in obj)
            {
                Walk(root, valueSchema, child, $"{at}.{key}", problems, extraKeys);
            }
        }
    }

    /// <summary>Follows $ref, and picks the anyOf branch an object belongs to (by its "type" const).</summary>
    private static JsonObject? Resolve(JsonObject root, JsonObject? schema, JsonObject value)
    {
        if (schema?["$ref"]?.GetValue<string>() is { } reference)
        {
            return Resolve(root, root["$defs"]![reference.Split('/')[^1]]!.AsObject(), value);
        }
        if (schema?["anyOf"] is JsonArray branches)
        {
            var objects = branches.Select(b => Resolve(root, b!.AsObject(), value)).OfType<JsonObject>().Where(b => b["properties"] is not null).ToList();
            var type = value["type"] is JsonValue t && t.TryGetValue<string>(out var name) ? name : null;
            return objects.FirstOrDefault(b => b["properties"]!["type"]?["const"]?.GetValue<string>() == type) ?? objects.FirstOrDefault();
        }
        return schema;
    }
}
