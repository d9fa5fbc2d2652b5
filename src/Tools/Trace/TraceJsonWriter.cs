using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentForge.Tools.Trace;

/// <summary>
/// Writes the trace records the way FlashInfer-Bench's pydantic models dump them: every field in
/// declaration order (the schemas' "properties" order), nulls and defaults included,
/// non-finite floats as "Infinity"/"-Infinity"/"NaN".
/// </summary>
internal static class TraceJsonWriter
{
    // pydantic writes UTF-8 as is; the default encoder would escape '+', '<', non-ASCII and more.
    private static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        IndentSize = 2,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(bool indented, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, indented ? Indented : Compact))
        {
            write(writer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void Definition(Utf8JsonWriter w, Definition d)
    {
        w.WriteStartObject();
        w.WriteString("name", d.Name);
        w.WriteString("op_type", d.OpType);
        w.WriteStartObject("axes");
        foreach (var (name, axis) in d.Axes)
        {
            w.WriteStartObject(name);
            switch (axis)
            {
                case ConstAxis c:
                    w.WriteString("type", "const");
                    w.WriteNumber("value", c.Value);
                    break;
                default:
                    w.WriteString("type", "var");
                    break;
            }
            NullableString(w, "description", axis.Description);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        TensorSpecs(w, "inputs", d.Inputs);
        TensorSpecs(w, "outputs", d.Outputs);
        w.WriteString("reference", d.Reference);
        Strings(w, "tags", d.Tags);
        NullableString(w, "description", d.Description);
        Strings(w, "constraints", d.Constraints);
        w.WriteEndObject();
    }

    private static void TensorSpecs(Utf8JsonWriter w, string key, IReadOnlyList<NamedTensorSpec> specs)
    {
        w.WriteStartObject(key);
        foreach (var (name, spec) in specs)
        {
            w.WriteStartObject(name);
            if (spec.Shape is null)
            {
                w.WriteNull("shape");
            }
            else
            {
                Strings(w, "shape", spec.Shape);
            }
            w.WriteString("dtype", spec.DType.Name());
            NullableString(w, "description", spec.Description);
            if (spec.Optional)
            {
                // Not a schema field: kept so the dataset's marker survives a round trip.
                w.WriteBoolean("optional", true);
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    public static void Workload(Utf8JsonWriter w, Workload workload)
    {
        w.WriteStartObject();
        w.WriteStartObject("axes");
        foreach (var (name, value) in workload.Axes)
        {
            w.WriteNumber(name, value);
        }
        w.WriteEndObject();
        w.WriteStartObject("inputs");
        foreach (var (name, input) in workload.Inputs)
        {
            w.WriteStartObject(name);
            switch (input)
            {
                case SafetensorsInput s:
                    w.WriteString("type", "safetensors");
                    w.WriteString("path", s.Path);
                    w.WriteString("tensor_key", s.TensorKey);
                    break;
                case ScalarInput s:
                    w.WriteString("type", "scalar");
                    w.WritePropertyName("value");
                    Scalar(w, s.Value);
                    break;
                default:
                    w.WriteString("type", "random");
                    break;
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteString("uuid", workload.Uuid);
        w.WriteEndObject();
    }

    private static void Scalar(Utf8JsonWriter w, ScalarValue value)
    {
        switch (value.Kind)
        {
            case ScalarKind.Boolean:
                w.WriteBooleanValue(value.Boolean);
                break;
            case ScalarKind.Integer:
                w.WriteNumberValue(value.Integer);
                break;
            default:
                Float(w, value.Float);
                break;
        }
    }

    public static void Trace(Utf8JsonWriter w, Trace trace)
    {
        w.WriteStartObject();
        w.WriteString("definition", trace.Definition);
        w.WritePropertyName("workload");
        Workload(w, trace.Workload);
        NullableString(w, "solution", trace.Solution);
        w.WritePropertyName("evaluation");
        if (trace.Evaluation is not { } e)
        {
            w.WriteNullValue();
        }
        else
        {
            w.WriteStartObject();
            w.WriteString("status", e.Status.ToString());
            w.WriteStartObject("environment");
            w.WriteString("hardware", e.Environment.Hardware);
            w.WriteStartObject("libs");
            foreach (var (name, version) in e.Environment.Libs)
            {
                w.WriteString(name, version);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteString("timestamp", e.Timestamp);
            w.WriteString("log", e.Log);
            w.WritePropertyName("correctness");
            if (e.Correctness is { } c)
            {
                w.WriteStartObject();
                FloatProperty(w, "max_relative_error", c.MaxRelativeError);
                FloatProperty(w, "max_absolute_error", c.MaxAbsoluteError);
                w.WritePropertyName("extra");
                Node(w, c.Extra);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }
            w.WritePropertyName("performance");
            if (e.Performance is { } p)
            {
                w.WriteStartObject();
                FloatProperty(w, "latency_ms", p.LatencyMs);
                FloatProperty(w, "reference_latency_ms", p.ReferenceLatencyMs);
                FloatProperty(w, "speedup_factor", p.SpeedupFactor);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    public static void Solution(Utf8JsonWriter w, Solution s)
    {
        w.WriteStartObject();
        w.WriteString("name", s.Name);
        w.WriteString("definition", s.Definition);
        w.WriteString("author", s.Author);
        w.WriteStartObject("spec");
        w.WriteString("language", s.Spec.Language);
        Strings(w, "target_hardware", s.Spec.TargetHardware);
        w.WriteString("entry_point", s.Spec.EntryPoint);
        Strings(w, "dependencies", s.Spec.Dependencies);
        w.WriteBoolean("destination_passing_style", s.Spec.DestinationPassingStyle);
        NullableString(w, "binding", s.Spec.Binding);
        w.WriteEndObject();
        w.WriteStartArray("sources");
        foreach (var source in s.Sources)
        {
            w.WriteStartObject();
            w.WriteString("path", source.Path);
            w.WriteString("content", source.Content);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        NullableString(w, "description", s.Description);
        w.WriteEndObject();
    }

    private static void NullableString(Utf8JsonWriter w, string key, string? value)
    {
        if (value is null)
        {
            w.WriteNull(key);
        }
        else
        {
            w.WriteString(key, value);
        }
    }

    private static void Strings(Utf8JsonWriter w, string key, IEnumerable<string> values)
    {
        w.WriteStartArray(key);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }
        w.WriteEndArray();
    }

    private static void FloatProperty(Utf8JsonWriter w, string key, double value)
    {
        w.WritePropertyName(key);
        Float(w, value);
    }

    private static void Float(Utf8JsonWriter w, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteRawValue(PythonFloat.Format(value), skipInputValidation: true);
        }
        else
        {
            w.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    /// <summary>Free-form JSON (correctness extras), with non-finite floats as strings too.</summary>
    private static void Node(Utf8JsonWriter w, JsonNode? node)
    {
        switch (node)
        {
            case null:
                w.WriteNullValue();
                break;
            case JsonObject o:
                w.WriteStartObject();
                foreach (var (key, value) in o)
                {
                    w.WritePropertyName(key);
                    Node(w, value);
                }
                w.WriteEndObject();
                break;
            case JsonArray a:
                w.WriteStartArray();
                foreach (var item in a)
                {
                    Node(w, item);
                }
                w.WriteEndArray();
                break;
            case JsonValue v when v.TryGetValue<long>(out var integer):
                w.WriteNumberValue(integer);
                break;
            case JsonValue v when v.TryGetValue<double>(out var d):
                Float(w, d);
                break;
            case JsonValue v when v.TryGetValue<float>(out var f):
                Float(w, f);
                break;
            default:
                node.WriteTo(w);
                break;
        }
    }
}
