using System.Globalization;
using System.Text.RegularExpressions;

namespace AgentForge.Tools.Trace;

/// <summary>
/// Maps parsed JSON onto the trace records, following FlashInfer-Bench's pydantic models: defaults
/// where pydantic has them, unknown keys ignored (as pydantic does), every problem recorded with
/// its file, line and field path. Reading goes on after an error so one pass reports them all.
/// </summary>
internal sealed partial class TraceJsonReader(string file)
{
    private static readonly string[] Languages = ["python", "triton", "cpp", "cuda", "tilelang"];
    private static readonly string[] Bindings = ["tvm-ffi", "torch"];

    public List<DataError> Errors { get; } = [];

    private void Error(JsonTree at, string path, string message) =>
        Errors.Add(new DataError(file, at.Line, JsonTree.FieldLabel(path), message));

    private static string Join(string path, string key) => JsonTree.Join(path, key);

    // ---- definitions ----

    public Definition? ReadDefinition(JsonTree node, string path)
    {
        if (!IsObject(node, path))
        {
            return null;
        }
        var before = Errors.Count;
        var name = RequiredString(node, path, "name");
        var opType = RequiredString(node, path, "op_type");
        var axes = ReadAxes(node, path);
        var inputs = ReadTensorSpecs(node, path, "inputs", axes);
        var outputs = ReadTensorSpecs(node, path, "outputs", axes);
        foreach (var output in outputs)
        {
            if (inputs.Exists(i => i.Name == output.Name))
            {
                Error(node["outputs"]![output.Name]!, Join(path, $"outputs.{output.Name}"), $"'{output.Name}' is both an input and an output");
            }
        }
        var reference = RequiredString(node, path, "reference");
        if (reference is not null && !RunFunction().IsMatch(reference))
        {
            Error(node["reference"]!, Join(path, "reference"), "defines no top-level function 'run'");
        }
        var tags = StringList(node, path, "tags");
        var description = OptionalString(node, path, "description");
        var constraints = StringList(node, path, "constraints");
        return Errors.Count > before
            ? null
            : new Definition(name!, opType!, axes, inputs, outputs, reference!, tags, description, constraints);
    }

    [GeneratedRegex(@"^(async\s+)?def\s+run\s*\(", RegexOptions.Multiline)]
    private static partial Regex RunFunction();

    private List<KeyValuePair<string, AxisSpec>> ReadAxes(JsonTree definition, string path)
    {
        var axes = new List<KeyValuePair<string, AxisSpec>>();
        path = Join(path, "axes");
        var node = definition["axes"];
        if (node is null)
        {
            Error(definition, path, "required field is missing");
            return axes;
        }
        foreach (var (name, axis, axisPath) in Entries(node, path))
        {
            if (!IsObject(axis, axisPath))
            {
                continue;
            }
            var type = OptionalString(axis, axisPath, "type") ?? (axis["value"] is null ? "var" : "const");
            var description = OptionalString(axis, axisPath, "description");
            switch (type)
            {
                case "var":
                    axes.Add(new(name, new VarAxis(description)));
                    break;
                case "const":
                    var value = axis["value"] is { } v ? Integer(v, Join(axisPath, "value"), 0) : MissingInteger(axis, Join(axisPath, "value"));
                    if (value is { } size)
                    {
                        axes.Add(new(name, new ConstAxis(size, description)));
                    }
                    break;
                default:
                    Error(axis["type"]!, Join(axisPath, "type"), $"unknown axis type '{type}' (expected const or var)");
                    break;
            }
        }
        return axes;
    }

    private List<NamedTensorSpec> ReadTensorSpecs(JsonTree definition, string path, string key, List<KeyValuePair<string, AxisSpec>> axes)
    {
        var specs = new List<NamedTensorSpec>();
        path = Join(path, key);
        var node = definition[key];
        if (node is null)
        {
            Error(definition, path, "required field is missing");
            return specs;
        }
        foreach (var (name, spec, specPath) in Entries(node, path))
        {
            if (!IsObject(spec, specPath))
            {
                continue;
            }
            var before = Errors.Count;
            var shape = ReadShape(spec, specPath, axes);
            var dtypeName = RequiredString(spec, specPath, "dtype");
            var dtype = DType.Float32;
            if (dtypeName is not null && !DTypes.TryParse(dtypeName, out dtype))
            {
                Error(spec["dtype"]!, Join(specPath, "dtype"), $"unknown dtype '{dtypeName}' (expected one of {string.Join(", ", DTypes.AllNames)})");
            }
            var description = OptionalString(spec, specPath, "description");
            // "optional" is not in FlashInfer-Bench's schema, but the dataset marks GDN's state with it.
            var optional = OptionalBool(spec, specPath, "optional") ?? false;
            if (Errors.Count == before)
            {
                specs.Add(new NamedTensorSpec(name, new TensorSpec(shape, dtype, description, optional)));
            }
        }
        return specs;
    }

    private List<string>? ReadShape(JsonTree spec, string specPath, List<KeyValuePair<string, AxisSpec>> axes)
    {
        var path = Join(specPath, "shape");
        var node = spec["shape"];
        if (node is null)
        {
            Error(spec, path, "required field is missing (null means a scalar)");
            return null;
        }
        if (node.Kind == JsonKind.Null)
        {
            return null;
        }
        if (node.Kind != JsonKind.Array)
        {
            Error(node, path, $"must be a list of axis names or null, found {node.Describe()}");
            return null;
        }
        var shape = new List<string>();
        for (var i = 0; i < node.Items.Count; i++)
        {
            var item = node.Items[i];
            var itemPath = $"{path}[{i}]";
            if (item.Kind != JsonKind.String || item.Text!.Length == 0)
            {
                Error(item, itemPath, $"must be an axis name, found {item.Describe()}");
            }
            else if (!axes.Exists(a => a.Key == item.Text))
            {
                Error(item, itemPath, $"axis '{item.Text}' is not declared in axes");
            }
            else
            {
                shape.Add(item.Text);
            }
        }
        return shape;
    }

    // ---- workloads and traces ----

    public Workload? ReadWorkload(JsonTree node, string path)
    {
        if (!IsObject(node, path))
        {
            return null;
        }
        var before = Errors.Count;
        var axes = new Dictionary<string, long>();
        if (RequiredObject(node, path, "axes") is { } axesNode)
        {
            foreach (var (name, value, axisPath) in Entries(axesNode, Join(path, "axes")))
            {
                if (Integer(value, axisPath, 0) is { } size)
                {
                    axes[name] = size;
                }
            }
        }
        var inputs = new List<KeyValuePair<string, WorkloadInput>>();
        if (RequiredObject(node, path, "inputs") is { } inputsNode)
        {
            foreach (var (name, value, inputPath) in Entries(inputsNode, Join(path, "inputs")))
            {
                if (ReadWorkloadInput(value, inputPath) is { } input)
                {
                    inputs.Add(new(name, input));
                }
            }
        }
        var uuid = RequiredString(node, path, "uuid");
        return Errors.Count > before ? null : new Workload(uuid!, axes, inputs);
    }

    private WorkloadInput? ReadWorkloadInput(JsonTree node, string path)
    {
        if (!IsObject(node, path))
        {
            return null;
        }
        // pydantic picks the union member by its fields when "type" is left out.
        var type = OptionalString(node, path, "type")
            ?? (node["value"] is not null ? "scalar" : node["path"] is not null ? "safetensors" : "random");
        switch (type)
        {
            case "random":
                return new RandomInput();
            case "safetensors":
                var blobPath = RequiredString(node, path, "path");
                var key = RequiredString(node, path, "tensor_key");
                return blobPath is null || key is null ? null : new SafetensorsInput(blobPath, key);
            case "scalar":
                var value = node["value"];
                if (value is null)
                {
                    Error(node, Join(path, "value"), "required field is missing");
                    return null;
                }
                return ReadScalar(value, Join(path, "value")) is { } scalar ? new ScalarInput(scalar) : null;
            default:
                Error(node["type"]!, Join(path, "type"), $"unknown input type '{type}' (expected random, safetensors or scalar)");
                return null;
        }
    }

    private ScalarValue? ReadScalar(JsonTree node, string path)
    {
        switch (node.Kind)
        {
            case JsonKind.True:
                return ScalarValue.Of(true);
            case JsonKind.False:
                return ScalarValue.Of(false);
            case JsonKind.Number when !node.IsFloatLiteral && long.TryParse(node.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer):
                return ScalarValue.Of(integer);
            case JsonKind.Number:
            case JsonKind.String when NonFinite(node.Text!) is not null:
                return Float(node, path) is { } number ? ScalarValue.Of(number) : null;
            default:
                Error(node, path, $"a scalar value must be a number or a bool, found {node.Describe()}");
                return null;
        }
    }

    public Trace? ReadTrace(JsonTree node, string path)
    {
        if (!IsObject(node, path))
        {
            return null;
        }
        var before = Errors.Count;
        var definition = RequiredString(node, path, "definition");
        var workloadNode = node["workload"];
        Workload? workload = null;
        if (workloadNode is null)
        {
            Error(node, Join(path, "workload"), "required field is missing");
        }
        else
        {
            workload = ReadWorkload(workloadNode, Join(path, "workload"));
        }
        var solution = OptionalString(node, path, "solution");
        var evaluationNode = node["evaluation"];
        var evaluation = evaluationNode is null || evaluationNode.Kind == JsonKind.Null
            ? null
            : ReadEvaluation(evaluationNode, Join(path, "evaluation"));
        return Errors.Count > before ? null : new Trace(definition!, workload!, solution, evaluation);
    }

    private Evaluation? ReadEvaluation(JsonTree node, string path)
    {
        if (!IsObject(node, path))
        {
            return null;
        }
        var before = Errors.Count;
        var statusName = RequiredString(node, path, "status");
        var status = EvaluationStatus.PASSED;
        if (statusName is not null && !(Enum.GetNames<EvaluationStatus>().Contains(statusName) && Enum.TryParse(statusName, out status)))
        {
            Error(node["status"]!, Join(path, "status"), $"unknown status '{statusName}' (expected one of {string.Join(", ", Enum.GetNames<EvaluationStatus>())})");
        }
        TraceEnvironment? environment = null;
        if (RequiredObject(node, path, "environment") is { } environmentNode)
        {
            var environmentPath = Join(path, "environment");
            var hardware = RequiredString(environmentNode, environmentPath, "hardware");
            var libs = new Dictionary<string, string>();
            if (environmentNode["libs"] is { } libsNode)
            {
                foreach (var (name, version, libPath) in Entries(libsNode, Join(environmentPath, "libs")))
                {
                    if (version.Kind == JsonKind.String)
                    {
                        libs[name] = version.Text!;
                    }
                    else
                    {
                        Error(version, libPath, $"must be a version string, found {version.Describe()}");
                    }
                }
            }
            environment = hardware is null ? null : new TraceEnvironment(hardware, libs);
        }
        var timestamp = RequiredString(node, path, "timestamp");
        var log = "";
        if (node["log"] is { } logNode)
        {
            if (logNode.Kind == JsonKind.String)
            {
                log = logNode.Text!;
            }
            else
            {
                Error(logNode, Join(path, "log"), $"must be a string, found {logNode.Describe()}");
            }
        }
        var correctness = node["correctness"] is { Kind: not JsonKind.Null } c ? ReadCorrectness(c, Join(path, "correctness")) : null;
        var performance = node["performance"] is { Kind: not JsonKind.Null } p ? ReadPerformance(p, Join(path, "performance")) : null;
        if (Errors.Count > before)
        {
            return null;
        }
        // FlashInfer-Bench's model validator: which metrics a status carries.
        var needsCorrectness = status is EvaluationStatus.PASSED or EvaluationStatus.INCORRECT_NUMERICAL;
        var needsPerformance = status is EvaluationStatus.PASSED;
        if (needsCorrectness != (correctness is not null))
        {
            Error(node, Join(path, "correctness"), needsCorrectness ? $"required when status is {status}" : $"must be null when status is {status}");
        }
        if (needsPerformance != (performance is not null))
        {
            Error(node, Join(path, "performance"), needsPerformance ? $"required when status is {status}" : $"must be null when status is {status}");
        }
        return Errors.Count > before ? null : new Evaluation(status, environment!, timestamp!, log, correctness, performance);
    }

    private Correctness? ReadCorrectness(JsonTree node, string path)
    {
        if (!IsObject(node, path))
        {
            return null;
        }
        var before = Errors.Count;
        var relative = Metric(node, path, "max_relative_error", allowNaN: true);
        var absolute = Metric(node, path, "max_absolute_error", allowNaN: true);
        System.Text.Json.Nodes.JsonObject? extra = null;
        if (node["extra"] is { Kind: not JsonKind.Null } extraNode)
        {
            if (extraNode.Kind == JsonKind.Object)
            {
                extra = (System.Text.Json.Nodes.JsonObject)extraNode.ToJsonNode()!;
            }
            else
            {
                Error(extraNode, Join(path, "extra"), $"must be an object or null, found {extraNode.Describe()}");
            }
        }
        return Errors.Count > before ? null : new Correctness(relative, absolute, extra);
    }

    private Performance? ReadPerformance(JsonTree node, string path)
    {
        if (!IsObject(node, path))
        {
            return null;
        }
        var before = Errors.Count;
        var latency = Metric(node, path, "latency_ms", allowNaN: false);
        var reference = Metric(node, path, "reference_latency_ms", allowNaN: false);
        var speedup = Metric(node, path, "speedup_factor", allowNaN: false);
        return Errors.Count > before ? null : new Performance(latency, reference, speedup);
    }

    /// <summary>A non-negative metric, 0 when absent (pydantic's default).</summary>
    private double Metric(JsonTree node, string path, string key, bool allowNaN)
    {
        if (node[key] is not { } value)
        {
            return 0;
        }
        var fieldPath = Join(path, key);
        var number = Float(value, fieldPath);
        if (number is { } x && (x < 0 || (double.IsNaN(x) && !allowNaN)))
        {
            Error(value, fieldPath, allowNaN ? $"must be non-negative or NaN, found {value.Text}" : $"must be non-negative, found {value.Text}");
        }
        return number ?? 0;
    }

    // ---- solutions ----

    public Solution? ReadSolution(JsonTree node, string path)
    {
        if (!IsObject(node, path))
        {
            return null;
        }
        var before = Errors.Count;
        var name = RequiredString(node, path, "name");
        var definition = RequiredString(node, path, "definition");
        var author = RequiredString(node, path, "author");
        BuildSpec? spec = null;
        if (RequiredObject(node, path, "spec") is { } specNode)
        {
            spec = ReadBuildSpec(specNode, Join(path, "spec"));
        }
        var sources = new List<SourceFile>();
        var sourcesPath = Join(path, "sources");
        if (node["sources"] is not { } sourcesNode)
        {
            Error(node, sourcesPath, "required field is missing");
        }
        else if (sourcesNode.Kind != JsonKind.Array || sourcesNode.Items.Count == 0)
        {
            Error(sourcesNode, sourcesPath, $"must be a non-empty list of source files, found {sourcesNode.Describe()}");
        }
        else
        {
            for (var i = 0; i < sourcesNode.Items.Count; i++)
            {
                var sourcePath = $"{sourcesPath}[{i}]";
                var source = sourcesNode.Items[i];
                if (IsObject(source, sourcePath)
                    && RequiredString(source, sourcePath, "path") is { } filePath
                    && RequiredString(source, sourcePath, "content") is { } content)
                {
                    sources.Add(new SourceFile(filePath, content));
                }
            }
        }
        var description = OptionalString(node, path, "description");
        return Errors.Count > before ? null : new Solution(name!, definition!, author!, spec!, sources, description);
    }

    private BuildSpec? ReadBuildSpec(JsonTree node, string path)
    {
        var before = Errors.Count;
        var language = RequiredString(node, path, "language");
        if (language is not null && !Languages.Contains(language))
        {
            Error(node["language"]!, Join(path, "language"), $"unknown language '{language}' (expected one of {string.Join(", ", Languages)})");
        }
        var hardware = new List<string>();
        var hardwarePath = Join(path, "target_hardware");
        if (node["target_hardware"] is not { } hardwareNode)
        {
            Error(node, hardwarePath, "required field is missing");
        }
        else if (hardwareNode.Kind != JsonKind.Array || hardwareNode.Items.Count == 0)
        {
            Error(hardwareNode, hardwarePath, $"must be a non-empty list of strings, found {hardwareNode.Describe()}");
        }
        else
        {
            hardware = Strings(hardwareNode, hardwarePath, allowEmpty: true);
        }
        var entryPoint = RequiredString(node, path, "entry_point");
        var dependencies = StringList(node, path, "dependencies");
        var destinationPassing = OptionalBool(node, path, "destination_passing_style") ?? true;
        var binding = OptionalString(node, path, "binding");
        if (binding is not null && !Bindings.Contains(binding))
        {
            Error(node["binding"]!, Join(path, "binding"), $"unknown binding '{binding}' (expected tvm-ffi, torch or null)");
        }
        return Errors.Count > before ? null : new BuildSpec(language!, hardware, entryPoint!, dependencies, destinationPassing, binding);
    }

    // ---- field helpers: each records an error and returns null when the field is unusable ----

    private bool IsObject(JsonTree node, string path)
    {
        if (node.Kind == JsonKind.Object)
        {
            return true;
        }
        Error(node, path, $"must be an object, found {node.Describe()}");
        return false;
    }

    private JsonTree? RequiredObject(JsonTree parent, string path, string key)
    {
        var node = parent[key];
        if (node is null)
        {
            Error(parent, Join(path, key), "required field is missing");
            return null;
        }
        return IsObject(node, Join(path, key)) ? node : null;
    }

    /// <summary>The members of an object value, each with its field path; non-empty names only.</summary>
    private IEnumerable<(string Name, JsonTree Value, string Path)> Entries(JsonTree node, string path)
    {
        if (!IsObject(node, path))
        {
            yield break;
        }
        foreach (var (name, value) in node.Properties)
        {
            if (name.Length == 0)
            {
                Error(value, path, "names must not be empty");
                continue;
            }
            yield return (name, value, Join(path, name));
        }
    }

    private string? RequiredString(JsonTree parent, string path, string key)
    {
        var fieldPath = Join(path, key);
        switch (parent[key])
        {
            case null:
                Error(parent, fieldPath, "required field is missing");
                return null;
            case { Kind: JsonKind.String, Text.Length: > 0 } node:
                return node.Text;
            case { Kind: JsonKind.String } node:
                Error(node, fieldPath, "must not be empty");
                return null;
            case var node:
                Error(node, fieldPath, $"must be a string, found {node.Describe()}");
                return null;
        }
    }

    /// <summary>A string that may be absent or null (pydantic's Optional[str] = None).</summary>
    private string? OptionalString(JsonTree parent, string path, string key)
    {
        var node = parent[key];
        if (node is null || node.Kind == JsonKind.Null)
        {
            return null;
        }
        if (node.Kind != JsonKind.String)
        {
            Error(node, Join(path, key), $"must be a string or null, found {node.Describe()}");
            return null;
        }
        return node.Text;
    }

    private bool? OptionalBool(JsonTree parent, string path, string key)
    {
        var node = parent[key];
        switch (node?.Kind)
        {
            case null:
                return null;
            case JsonKind.True:
                return true;
            case JsonKind.False:
                return false;
            default:
                Error(node, Join(path, key), $"must be true or false, found {node.Describe()}");
                return null;
        }
    }

    /// <summary>A list of non-empty strings, empty when absent (pydantic's default_factory=list).</summary>
    private List<string> StringList(JsonTree parent, string path, string key)
    {
        var node = parent[key];
        if (node is null)
        {
            return [];
        }
        if (node.Kind != JsonKind.Array)
        {
            Error(node, Join(path, key), $"must be a list of strings, found {node.Describe()}");
            return [];
        }
        return Strings(node, Join(path, key), allowEmpty: false);
    }

    private List<string> Strings(JsonTree array, string path, bool allowEmpty)
    {
        var strings = new List<string>();
        for (var i = 0; i < array.Items.Count; i++)
        {
            var item = array.Items[i];
            if (item.Kind == JsonKind.String && (allowEmpty || item.Text!.Length > 0))
            {
                strings.Add(item.Text!);
            }
            else
            {
                Error(item, $"{path}[{i}]", $"must be a non-empty string, found {item.Describe()}");
            }
        }
        return strings;
    }

    private long? MissingInteger(JsonTree parent, string path)
    {
        Error(parent, path, "required field is missing");
        return null;
    }

    private long? Integer(JsonTree node, string path, long minimum)
    {
        if (node.Kind != JsonKind.Number || node.IsFloatLiteral)
        {
            Error(node, path, $"must be an integer, found {node.Describe()}");
            return null;
        }
        if (!long.TryParse(node.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Error(node, path, $"integer {node.Text} is out of range");
            return null;
        }
        if (value < minimum)
        {
            Error(node, path, $"must be >= {minimum}, found {value}");
            return null;
        }
        return value;
    }

    /// <summary>
    /// A float: a JSON number, or one of the strings pydantic writes for non-finite values
    /// (ser_json_inf_nan="strings").
    /// </summary>
    private double? Float(JsonTree node, string path)
    {
        if (node.Kind == JsonKind.Number)
        {
            return double.Parse(node.Text!, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        if (node.Kind == JsonKind.String && NonFinite(node.Text!) is { } special)
        {
            return special;
        }
        Error(node, path, $"must be a number, found {node.Describe()}");
        return null;
    }

    private static double? NonFinite(string text) => text switch
    {
        "Infinity" or "inf" or "+inf" => double.PositiveInfinity,
        "-Infinity" or "-inf" => double.NegativeInfinity,
        "NaN" or "nan" => double.NaN,
        _ => null,
    };
}
