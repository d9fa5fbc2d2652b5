using System.Buffers.Binary;
using System.Text;
using AgentForge.Tools.Inputs;
using AgentForge.Tools.Tensors;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Inputs;

public sealed class SafetensorsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static KeyValuePair<string, HostTensor> Tensor(string name, DType dtype, long[] shape, ulong seed = 1) =>
        new(name, RandomTensors.Generate(dtype, shape, seed));

    /// <summary>A file as the reference writer lays it out: size, JSON padded with spaces, data.</summary>
    private static byte[] RawFile(string json, byte[] data, bool pad = true)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var length = pad ? (header.Length + 7) / 8 * 8 : header.Length;
        var file = new byte[8 + length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)length);
        header.CopyTo(file, 8);
        file.AsSpan(8 + header.Length, length - header.Length).Fill((byte)' ');
        data.CopyTo(file, 8 + length);
        return file;
    }

    private string WriteRaw(byte[] bytes, string name = "raw.safetensors")
    {
        var path = _temp.Combine(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Every_dtype_round_trips_with_metadata()
    {
        var tensors = new List<KeyValuePair<string, HostTensor>>
        {
            Tensor("f32", DType.Float32, [3, 5]),
            Tensor("f16", DType.Float16, [7]),
            Tensor("bf16", DType.BFloat16, [2, 3, 4]),
            Tensor("e4m3", DType.Float8E4M3FN, [9]),
            Tensor("e5m2", DType.Float8E5M2, [1, 1]),
            Tensor("i64", DType.Int64, [4]),
            Tensor("i32", DType.Int32, [3]),
            Tensor("i16", DType.Int16, [5]),
            Tensor("i8", DType.Int8, [11]),
            Tensor("flag", DType.Bool, [6]),
            Tensor("scalar", DType.Float32, []),
            Tensor("empty", DType.Int32, [0, 4]),
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\"" };
        var path = _temp.Combine("all.safetensors");
        Assert.True(SafetensorsWriter.WriteFile(path, tensors, metadata));

        var opened = SafetensorsFile.Open(path);
        Assert.True(opened.IsOk, opened.Error?.ToString());
        using var file = opened.Value;
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(tensors.Count, file.Entries.Count);
        foreach (var (name, expected) in tensors)
        {
            var actual = file.Read(name)!;
            Assert.Equal(expected.DType, actual.DType);
            Assert.Equal(expected.Shape, actual.Shape);
            Assert.Equal(expected.Bytes.ToArray(), actual.Bytes.ToArray());
        }
        Assert.Null(file.Read("missing"));
    }

    [Fact]
    public void The_header_is_compact_JSON_padded_with_spaces_to_8_bytes_as_the_reference_writes_it()
    {
        var tensors = new List<KeyValuePair<string, HostTensor>>
        {
            new("b", new HostTensor(DType.Int8, [3], new byte[] { 1, 2, 3 })),
            new("a", new HostTensor(DType.Float32, [2], new byte[8])),
        };
        var header = SafetensorsWriter.EncodeHeader(tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var json = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[8,11]}}";
        var expected = RawFile(json, []);
        Assert.Equal(expected, header);
        Assert.Equal(0, (header.Length - 8) % 8);
    }

    [Fact]
    public void Tensors_are_laid_out_largest_element_first_so_each_starts_aligned()
    {
        var tensors = new List<KeyValuePair<string, HostTensor>>
        {
            Tensor("odd_bytes", DType.Int8, [3]),
            Tensor("halves", DType.BFloat16, [3]),
            Tensor("longs", DType.Int64, [2]),
            Tensor("floats", DType.Float32, [3]),
        };
        var path = _temp.Combine("aligned.safetensors");
        SafetensorsWriter.WriteFile(path, tensors);
        using var file = SafetensorsFile.Open(path).Value!;
        Assert.Equal(["longs", "floats", "halves", "odd_bytes"], file.Entries.OrderBy(e => e.Begin).Select(e => e.Name));
        Assert.Equal(0, file.Header.DataStart % 8);
        Assert.All(file.Entries, e => Assert.Equal(0, e.Begin % Math.Max(1, e.DType.Bits() / 8)));
    }

    [Fact]
    public void A_file_written_by_hand_in_the_reference_layout_is_read()
    {
        var data = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(data, 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -2f);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(8), 42);
        var path = WriteRaw(RawFile(
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"n\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[8,12]}}",
            data));
        using var file = SafetensorsFile.Open(path).Value!;
        var x = file.Read("x")!;
        Assert.Equal([1.5f, -2f], ElementCodec.ToFloat32(x));
        Assert.Equal(42, ElementCodec.GetInteger(DType.Int32, file.Read("n")!.Bytes.Span, 0));
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Views_are_zero_copy_and_refuse_access_after_dispose()
    {
        var path = _temp.Combine("views.safetensors");
        SafetensorsWriter.WriteFile(path, [Tensor("x", DType.Float32, [16])]);
        var file = SafetensorsFile.Open(path).Value!;
        var view = file.Read("x")!;
        var copy = file.ReadCopy("x")!;
        Assert.Equal(copy.Bytes.ToArray(), view.Bytes.ToArray());
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => view.Bytes.Span.Length);
        Assert.Equal(64, copy.Bytes.Span.Length);
    }

    [Fact]
    public void Writing_never_overwrites_unless_asked()
    {
        var path = _temp.Combine("keep.safetensors");
        File.WriteAllText(path, "precious");
        Assert.False(SafetensorsWriter.WriteFile(path, [Tensor("x", DType.Int8, [4])]));
        Assert.Equal("precious", File.ReadAllText(path));
        Assert.True(SafetensorsWriter.WriteFile(path, [Tensor("x", DType.Int8, [4])], overwrite: true));
        Assert.True(SafetensorsFile.Open(path).IsOk);
        Assert.Single(Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public void A_missing_file_is_a_data_error()
    {
        var result = SafetensorsFile.Open(_temp.Combine("nope.safetensors"));
        Assert.False(result.IsOk);
        Assert.Contains("not found", result.Error.Message);
    }

    private byte[] ValidFile()
    {
        using var stream = new MemoryStream();
        SafetensorsWriter.Write(stream, [Tensor("a", DType.Float32, [4]), Tensor("b", DType.Int8, [5])]);
        return stream.ToArray();
    }

    [Fact]
    public void Every_truncation_of_a_valid_file_is_rejected_with_a_clear_error()
    {
        var valid = ValidFile();
        for (var length = 0; length < valid.Length; length++)
        {
            var path = WriteRaw(valid[..length], $"cut{length}.safetensors");
            var result = SafetensorsFile.Open(path);
            Assert.False(result.IsOk, $"a file cut at {length} of {valid.Length} bytes was accepted");
            Assert.Equal(path, result.Error.File);
            Assert.False(string.IsNullOrWhiteSpace(result.Error.Message));
        }
        Assert.True(SafetensorsFile.Open(WriteRaw(valid, "whole.safetensors")).IsOk);
    }

    [Fact]
    public void Random_corruption_never_crashes_the_reader()
    {
        var valid = ValidFile();
        var random = new Random(2024);
        for (var trial = 0; trial < 300; trial++)
        {
            var bytes = (byte[])valid.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            var result = SafetensorsFile.Open(WriteRaw(bytes, $"fuzz{trial}.safetensors"));
            if (result.IsOk)
            {
                // Corrupted data bytes are undetectable by design; the structure must still be sound.
                using var file = result.Value;
                foreach (var entry in file.Entries)
                {
                    Assert.Equal(entry.ByteLength, file.Read(entry.Name)!.Bytes.Length);
                }
            }
        }
    }

    public static TheoryData<string, string, string, int> CorruptHeaders => new()
    {
        // name, JSON header, expected words in the error, data bytes
        { "not JSON", "{\"a\":", "not valid JSON", 0 },
        { "not an object start", "[1,2]", "does not start with '{'", 0 },
        { "unknown dtype", "{\"a\":{\"dtype\":\"F64X\",\"shape\":[1],\"data_offsets\":[0,8]}}", "unknown or unsupported dtype", 8 },
        { "shape disagrees with offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "needs 12", 8 },
        { "negative dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", "non-negative", 0 },
        { "reversed offsets", "{\"a\":{\"dtype\":\"I8\",\"shape\":[0],\"data_offsets\":[4,0]}}", "begin <= end", 4 },
        { "missing offsets", "{\"a\":{\"dtype\":\"I8\",\"shape\":[2]}}", "data_offsets", 2 },
        { "overlap", "{\"a\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[2,6]}}", "overlaps tensor 'a'", 6 },
        { "hole", "{\"a\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[4,6]}}", "hole of 2 bytes", 6 },
        { "past the end", "{\"a\":{\"dtype\":\"I8\",\"shape\":[16],\"data_offsets\":[0,16]}}", "truncated", 8 },
        { "trailing bytes", "{\"a\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]}}", "belong to no tensor", 5 },
        { "odd fp4 count", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", "whole bytes", 2 },
        { "metadata not strings", "{\"__metadata__\":{\"n\":1}}", "must be strings", 0 },
        { "duplicate name", "{\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[1,2]}}", "twice", 2 },
    };

    [Theory]
    [MemberData(nameof(CorruptHeaders))]
    public void Corrupt_headers_are_rejected_naming_the_problem(string name, string json, string expected, int dataBytes)
    {
        var path = WriteRaw(RawFile(json, new byte[dataBytes]), name.Replace(' ', '_') + ".safetensors");
        var result = SafetensorsFile.Open(path);
        Assert.False(result.IsOk, name);
        // The text shown to a person: file, field and message.
        Assert.Contains(expected, result.Error.ToString());
        Assert.Equal(path, result.Error.File);
    }

    [Fact]
    public void An_absurd_header_size_is_rejected_before_allocating_it()
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 2);
        var result = SafetensorsFile.Open(WriteRaw(bytes));
        Assert.False(result.IsOk);
        Assert.Contains("exceeds", result.Error.Message);
    }

    [Fact]
    public void Invalid_UTF8_in_the_header_is_rejected()
    {
        var file = RawFile("{\"a\":1}", []);
        file[10] = 0xFF;
        var result = SafetensorsFile.Open(WriteRaw(file));
        Assert.False(result.IsOk);
    }
}
