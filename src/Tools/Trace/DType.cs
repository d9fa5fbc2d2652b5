namespace AgentForge.Tools.Trace;

/// <summary>Element types of FlashInfer-Bench tensors, in the order of its DType enum.</summary>
public enum DType
{
    Float32,
    Float16,
    BFloat16,
    Float8E4M3FN,
    Float8E5M2,
    Float4E2M1,
    Int64,
    Int32,
    Int16,
    Int8,
    Bool,
}

/// <summary>Names (as FlashInfer-Bench and torch spell them) and sizes of <see cref="DType"/>.</summary>
public static class DTypes
{
    private static readonly (DType Type, string Name, int Bits)[] Table =
    [
        (DType.Float32, "float32", 32),
        (DType.Float16, "float16", 16),
        (DType.BFloat16, "bfloat16", 16),
        (DType.Float8E4M3FN, "float8_e4m3fn", 8),
        (DType.Float8E5M2, "float8_e5m2", 8),
        (DType.Float4E2M1, "float4_e2m1", 4),
        (DType.Int64, "int64", 64),
        (DType.Int32, "int32", 32),
        (DType.Int16, "int16", 16),
        (DType.Int8, "int8", 8),
        (DType.Bool, "bool", 8),
    ];

    public static IEnumerable<string> AllNames => Table.Select(t => t.Name);

    public static string Name(this DType type) => Table[(int)type].Name;

    /// <summary>Bits per element; float4_e2m1 packs two elements per byte.</summary>
    public static int Bits(this DType type) => Table[(int)type].Bits;

    public static long ByteCount(this DType type, long elements) => (elements * type.Bits() + 7) / 8;

    public static bool IsFloatingPoint(this DType type) => type <= DType.Float4E2M1;

    public static bool TryParse(string? name, out DType type)
    {
        foreach (var row in Table)
        {
            if (row.Name == name)
            {
                type = row.Type;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>The safetensors header spelling (BF16, F8_E4M3, ...).</summary>
    public static string SafetensorsName(this DType type) => type switch
    {
        DType.Float32 => "F32",
        DType.Float16 => "F16",
        DType.BFloat16 => "BF16",
        DType.Float8E4M3FN => "F8_E4M3",
        DType.Float8E5M2 => "F8_E5M2",
        DType.Float4E2M1 => "F4",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.Int16 => "I16",
        DType.Int8 => "I8",
        DType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryParseSafetensorsName(string? name, out DType type)
    {
        foreach (var row in Table)
        {
            if (row.Type.SafetensorsName() == name)
            {
                type = row.Type;
                return true;
            }
        }
        type = default;
        return false;
    }
}
