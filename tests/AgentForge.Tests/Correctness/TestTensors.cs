using System.Runtime.InteropServices;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Comparison;

/// <summary>Builds small host tensors for comparator tests; values must be exact in the target dtype.</summary>
internal static class TestTensors
{
    public static HostTensor Floats(DType dtype, long[] shape, params float[] values)
    {
        var bytes = dtype switch
        {
            DType.Float32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            DType.BFloat16 => MemoryMarshal.AsBytes(values.Select(v => (ushort)(BitConverter.SingleToInt32Bits(v) >> 16)).ToArray().AsSpan()).ToArray(),
            DType.Float16 => MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray(),
            DType.Float8E4M3FN => values.Select(Fp8).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
        return new HostTensor(dtype, shape, bytes);
    }

    public static HostTensor F32(params float[] values) => Floats(DType.Float32, [values.Length], values);

    public static HostTensor Int32(long[] shape, params int[] values) =>
        new(DType.Int32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>The fp8 e4m3fn byte that decodes to exactly <paramref name="value"/>.</summary>
    public static byte Fp8(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7F;
        }
        for (var b = 0; b < 256; b++)
        {
            if (ElementCodec.Float8E4M3FNToFloat((byte)b) == value && (b & 0x80) == (float.IsNegative(value) ? 0x80 : 0))
            {
                return (byte)b;
            }
        }
        throw new ArgumentException($"{value} is not an fp8 e4m3fn value");
    }

    public static Definition Definition(string name, string[] outputs, params (string Name, DType DType)[] inputs) => new(
        name,
        "test",
        [],
        inputs.Select(i => new NamedTensorSpec(i.Name, new TensorSpec(["n"], i.DType))).ToList(),
        outputs.Select(o => new NamedTensorSpec(o, new TensorSpec(["n"], DType.Float32))).ToList(),
        "def run(): pass",
        [],
        null,
        []);

    public static InputSet NoInputs(string definition, int trial = 0) => new(definition, "uuid-1", trial, 7, []);
}
