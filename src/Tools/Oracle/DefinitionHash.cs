using System.Security.Cryptography;
using System.Text.Json;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Oracle;

/// <summary>
/// A SHA-256 over what a reference output depends on: name, axes, inputs and outputs (names,
/// shapes, dtypes, optional flags, order) and the reference code. Descriptions and tags are left
/// out: editing prose must not invalidate cached reference outputs.
/// </summary>
public static class DefinitionHash
{
    public static string Of(Definition definition)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name", definition.Name);
            json.WriteString("op_type", definition.OpType);
            json.WriteStartArray("axes");
            foreach (var (name, axis) in definition.Axes)
            {
                json.WriteStartArray();
                json.WriteStringValue(name);
                if (axis is ConstAxis constant)
                {
                    json.WriteNumberValue(constant.Value);
                }
                else
                {
                    json.WriteStringValue("var");
                }
                json.WriteEndArray();
            }
            json.WriteEndArray();
            WriteTensors(json, "inputs", definition.Inputs);
            WriteTensors(json, "outputs", definition.Outputs);
            json.WriteString("reference", definition.Reference);
            json.WriteEndObject();
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    private static void WriteTensors(Utf8JsonWriter json, string property, IReadOnlyList<NamedTensorSpec> tensors)
    {
        json.WriteStartArray(property);
        foreach (var tensor in tensors)
        {
            json.WriteStartArray();
            json.WriteStringValue(tensor.Name);
            json.WriteStringValue(tensor.Spec.DType.Name());
            json.WriteBooleanValue(tensor.Spec.Optional);
            if (tensor.Spec.Shape is null)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStartArray();
                foreach (var axis in tensor.Spec.Shape)
                {
                    json.WriteStringValue(axis);
                }
                json.WriteEndArray();
            }
            json.WriteEndArray();
        }
        json.WriteEndArray();
    }
}
