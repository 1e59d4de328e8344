using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using NetGen;
using Xunit;

namespace NetGen.Runtime.Tests;

public sealed class SafetensorsFormatTests : IDisposable
{
    private readonly CheckpointTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Header_HasLittleEndianLength_PaddedJson_ContiguousAlignedOffsets()
    {
        var schema = StFile.LeNetSchema(out int total);
        float[] values = StFile.Values(total, seed: 7);
        string path = _dir.File("lenet5.safetensors");
        Safetensors.Save(path, schema, values, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x" });

        byte[] file = File.ReadAllBytes(path);
        // 8-byte little-endian header length, decoded by hand.
        ulong n = 0;
        for (int i = 7; i >= 0; i--) n = (n << 8) | file[i];
        Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(file), n);
        Assert.Equal(0UL, n % 8);                    // data buffer starts 8-byte aligned
        Assert.True(8 + (long)n <= file.Length);

        byte[] header = file.AsSpan(8, (int)n).ToArray();
        Assert.Equal((byte)'{', header[0]);
        // Only trailing spaces as padding.
        string text = Encoding.UTF8.GetString(header);
        string trimmed = text.TrimEnd(' ');
        Assert.EndsWith("}", trimmed);
        Assert.True(text.Length - trimmed.Length < 8);

        using JsonDocument doc = JsonDocument.Parse(header);
        var props = doc.RootElement.EnumerateObject().ToArray();
        Assert.Equal("__metadata__", props[0].Name);  // metadata first, as the reference writer does
        Assert.Equal("pt", props[0].Value.GetProperty("format").GetString());

        long expectedBegin = 0;
        for (int i = 0; i < schema.Length; i++)
        {
            var p = props[i + 1];
            Assert.Equal(schema[i].Name, p.Name);       // schema order
            Assert.Equal("F32", p.Value.GetProperty("dtype").GetString());
            Assert.Equal(schema[i].Shape, p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.Equal(2, offsets.Length);
            Assert.Equal(expectedBegin, offsets[0]);    // contiguous, no gaps
            Assert.Equal(expectedBegin + schema[i].Length * 4L, offsets[1]);
            Assert.Equal(0, (8 + (long)n + offsets[0]) % 4); // every F32 tensor 4-byte aligned in the file
            expectedBegin = offsets[1];
        }
        Assert.Equal(schema.Length + 1, props.Length);
        Assert.Equal(8 + (long)n + expectedBegin, file.Length); // nothing after the data

        // Raw data is the little-endian floats in schema order.
        int pos = 8 + (int)n;
        foreach (var p in schema)
        {
            for (int i = 0; i < p.Length; i++, pos += 4)
                Assert.Equal(values[p.Offset + i], BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(pos)));
        }
    }

    [Fact]
    public void ReadHeader_ReportsEntries()
    {
        var schema = StFile.LeNetSchema(out int total);
        string path = _dir.File("lenet5.safetensors");
        Safetensors.Save(path, schema, StFile.Values(total, 8));

        var entries = Safetensors.ReadHeader(path);
        Assert.Equal(4, entries.Count);
        Assert.Equal("C1.weight", entries[0].Name);
        Assert.Equal("F32", entries[0].DType);
        Assert.Equal(new[] { 6, 1, 5, 5 }, entries[0].Shape);
        Assert.Equal(0L, entries[0].Begin);
        Assert.Equal(600L, entries[0].End);
        Assert.Equal(600L, entries[0].ByteLength);
        Assert.Equal("C1.bias", entries[1].Name);
        Assert.Equal(600L, entries[1].Begin);
        Assert.Equal(624L, entries[1].End);
        Assert.Equal(206L * 4, entries[3].End);
    }

    [Fact]
    public void HeaderLength_IsMultipleOfEight_ForManyNameLengths()
    {
        for (int len = 1; len <= 17; len++)
        {
            var schema = new[] { new ParameterInfo(new string('n', len), new[] { 1 }, 0) };
            string path = _dir.File($"pad{len}.safetensors");
            Safetensors.Save(path, schema, new float[] { len });
            byte[] file = File.ReadAllBytes(path);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
            Assert.Equal(0UL, n % 8);
            using JsonDocument doc = JsonDocument.Parse(file.AsMemory(8, (int)n));
            var dest = new float[1];
            Safetensors.Load(path, schema, dest);
            Assert.Equal(len, dest[0]);
        }
    }

    /// <summary>
    /// A file exactly as Python's safetensors writes it from PyTorch (save_file(..., metadata={"format": "pt"})):
    /// compact JSON, metadata first, tensors sorted by name (so neither header nor data follow the network's
    /// schema order), and here an unpadded header (older versions did not pad).
    /// </summary>
    [Fact]
    public void Load_FileWrittenLikePyTorchSafetensors_TensorsInOtherOrder_UnpaddedHeader()
    {
        const string header =
            "{\"__metadata__\":{\"format\":\"pt\"}," +
            "\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
            "\"C1.weight\":{\"dtype\":\"F32\",\"shape\":[2,1,2,2],\"data_offsets\":[8,40]}," +
            "\"F6.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[40,52]}," +
            "\"F6.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[52,76]}}";
        Assert.NotEqual(0, Encoding.UTF8.GetByteCount(header) % 8); // really unpadded and unaligned

        float[] c1b = { 0.5f, -0.5f };
        float[] c1w = { 1, 2, 3, 4, 5, 6, 7, 8 };
        float[] f6b = { -1, -2, -3 };
        float[] f6w = { 0.25f, 0.5f, 0.75f, 1.25f, 1.5f, 1.75f };
        byte[] data = StFile.F32Bytes(c1b.Concat(c1w).Concat(f6b).Concat(f6w).ToArray());
        string path = _dir.File("torch.safetensors");
        File.WriteAllBytes(path, StFile.Build(header, data, pad: false));

        // The network's order differs from the file's.
        var schema = new[]
        {
            new ParameterInfo("C1.weight", new[] { 2, 1, 2, 2 }, 0),
            new ParameterInfo("C1.bias", new[] { 2 }, 8),
            new ParameterInfo("F6.weight", new[] { 3, 2 }, 10),
            new ParameterInfo("F6.bias", new[] { 3 }, 16),
        };
        var dest = new float[19];
        Safetensors.Load(path, schema, dest);
        Assert.Equal(c1w.Concat(c1b).Concat(f6w).Concat(f6b).ToArray(), dest);
        Assert.Equal("pt", Safetensors.ReadMetadata(path)["format"]);
        Assert.Equal(new[] { "C1.bias", "C1.weight", "F6.bias", "F6.weight" }, Safetensors.ReadHeader(path).Select(e => e.Name));
    }

    [Fact]
    public void Load_HeaderOrderDiffersFromDataOrder_PrettyPrinted_Padded_UnknownFieldsIgnored()
    {
        // JSON key order, data order and schema order are all different; the JSON is pretty-printed,
        // has an unknown per-tensor field, metadata last, and is padded with spaces.
        string header = """
            {
              "b": { "shape": [3], "data_offsets": [0, 12], "dtype": "F32", "extra": {"x": [1, 2]} },
              "a": { "dtype": "F32", "shape": [2, 2], "data_offsets": [28, 44] },
              "c": { "dtype": "F32", "shape": [], "data_offsets": [24, 28] },
              "d": { "dtype": "F32", "shape": [1, 3, 1], "data_offsets": [12, 24] },
              "__metadata__": { "format": "pt" }
            }
            """;
        float[] b = { 1, 2, 3 }, d = { 4, 5, 6 }, c = { 7 }, a = { 8, 9, 10, 11 };
        byte[] data = StFile.F32Bytes(b.Concat(d).Concat(c).Concat(a).ToArray());
        string path = _dir.File("pretty.safetensors");
        File.WriteAllBytes(path, StFile.Build(header, data, pad: true));

        var schema = new[]
        {
            new ParameterInfo("a", new[] { 2, 2 }, 0),
            new ParameterInfo("b", new[] { 3 }, 4),
            new ParameterInfo("c", Array.Empty<int>(), 7),
            new ParameterInfo("d", new[] { 1, 3, 1 }, 8),
        };
        var dest = new float[11];
        Safetensors.Load(path, schema, dest);
        Assert.Equal(a.Concat(b).Concat(c).Concat(d).ToArray(), dest);
        // ReadHeader orders by data position.
        Assert.Equal(new[] { "b", "d", "c", "a" }, Safetensors.ReadHeader(path).Select(e => e.Name));
    }

    [Fact]
    public void ReadHeader_AcceptsOtherDtypes()
    {
        string header = "{" + string.Join(",",
            StFile.Entry("h", "F16", new[] { 3 }, 0, 6),
            StFile.Entry("bf", "BF16", new[] { 1 }, 6, 8),
            StFile.Entry("i", "I64", new[] { 1 }, 8, 16)) + "}";
        string path = _dir.File("mixed.safetensors");
        File.WriteAllBytes(path, StFile.Build(header, new byte[16], pad: true));
        var entries = Safetensors.ReadHeader(path);
        Assert.Equal(new[] { "F16", "BF16", "I64" }, entries.Select(e => e.DType));
        Assert.Empty(Safetensors.ReadMetadata(path));
    }
}
