using AgentForge.Tools.Trace;

namespace AgentForge.Tests;

public sealed class DTypeTests
{
    [Theory]
    [InlineData("bfloat16", DType.BFloat16, 16)]
    [InlineData("float8_e4m3fn", DType.Float8E4M3FN, 8)]
    [InlineData("float4_e2m1", DType.Float4E2M1, 4)]
    [InlineData("int64", DType.Int64, 64)]
    public void Names_parse_to_types_with_their_widths(string name, DType expected, int bits)
    {
        Assert.True(DTypes.TryParse(name, out var type));
        Assert.Equal(expected, type);
        Assert.Equal(bits, type.Bits());
        Assert.Equal(name, type.Name());
    }

    [Fact]
    public void Unknown_names_do_not_parse() => Assert.False(DTypes.TryParse("float64", out _));
}
