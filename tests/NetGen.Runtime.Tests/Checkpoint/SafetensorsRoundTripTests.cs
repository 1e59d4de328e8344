using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using NetGen;
using Xunit;

namespace NetGen.Runtime.Tests;

public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly CheckpointTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void AssertBitExact(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"element {i}: expected bits 0x{BitConverter.SingleToInt32Bits(expected[i]):X8}, got 0x{BitConverter.SingleToInt32Bits(actual[i]):X8}");
    }

    [Fact]
    public void RoundTrip_IsBitExact_IncludingSpecialValues()
    {
        var schema = StFile.LeNetSchema(out int total);
        float[] values = StFile.Values(total, seed: 1);
        values[0] = float.NaN;
        values[1] = BitConverter.Int32BitsToSingle(0x7FC12345);           // NaN with payload
        values[2] = BitConverter.Int32BitsToSingle(unchecked((int)0xFFA00001)); // signalling-style negative NaN
        values[3] = -0.0f;
        values[4] = float.PositiveInfinity;
        values[5] = float.NegativeInfinity;
        values[6] = float.Epsilon;                                         // smallest subnormal
        values[7] = float.MaxValue;
        values[8] = float.MinValue;

        string path = _dir.File("lenet5.safetensors");
        Safetensors.Save(path, schema, values);

        var loaded = new float[total];
        Safetensors.Load(path, schema, loaded);
        AssertBitExact(values, loaded);
        Assert.Empty(_dir.TempFiles());
    }

    [Fact]
    public void RoundTrip_NonContiguousSchema_TouchesOnlySchemaRanges()
    {
        // Parameters live at scattered offsets with gaps, in an order different from the array order.
        var schema = new[]
        {
            new ParameterInfo("b.weight", new[] { 3, 2 }, 20),
            new ParameterInfo("a.weight", new[] { 4 }, 2),
            new ParameterInfo("c.bias", new[] { 1 }, 30),
        };
        float[] values = StFile.Values(32, seed: 2);
        string path = _dir.File("scattered.safetensors");
        Safetensors.Save(path, schema, values);

        float[] dest = StFile.Sentinel(32);
        Safetensors.Load(path, schema, dest);
        for (int i = 0; i < 32; i++)
        {
            bool inSchema = (i >= 20 && i < 26) || (i >= 2 && i < 6) || i == 30;
            Assert.Equal(inSchema ? values[i] : -1000f - i, dest[i]);
        }

        // The file holds exactly the schema's tensors, in schema order.
        var header = Safetensors.ReadHeader(path);
        Assert.Equal(new[] { "b.weight", "a.weight", "c.bias" }, header.Select(e => e.Name));
    }

    [Fact]
    public void RoundTrip_ScalarAndEmptyTensors()
    {
        var schema = new[]
        {
            new ParameterInfo("scale", Array.Empty<int>(), 0),  // scalar: 1 element
            new ParameterInfo("empty", new[] { 0, 3 }, 1),      // 0 elements
            new ParameterInfo("w", new[] { 2 }, 1),
        };
        float[] values = { 2.5f, 7f, 8f };
        string path = _dir.File("scalar.safetensors");
        Safetensors.Save(path, schema, values);

        var entries = Safetensors.ReadHeader(path);
        Assert.Equal(Array.Empty<int>(), entries.Single(e => e.Name == "scale").Shape);
        var empty = entries.Single(e => e.Name == "empty");
        Assert.Equal(new[] { 0, 3 }, empty.Shape);
        Assert.Equal(empty.Begin, empty.End);

        var dest = new float[3];
        Safetensors.Load(path, schema, dest);
        Assert.Equal(values, dest);
    }

    [Fact]
    public void RoundTrip_LargeTensor()
    {
        const int n = 1 << 20;
        var schema = new[] { new ParameterInfo("big", new[] { 1024, 1024 }, 0) };
        float[] values = StFile.Values(n, seed: 3);
        string path = _dir.File("big.safetensors");
        Safetensors.Save(path, schema, values);
        var entry = Safetensors.ReadHeader(path).Single();
        Assert.Equal(0L, entry.Begin);
        Assert.Equal(4L * n, entry.End);
        var dest = new float[n];
        Safetensors.Load(path, schema, dest);
        AssertBitExact(values, dest);
    }

    [Fact]
    public void Metadata_RoundTrips_WithEscapingAndUnicode()
    {
        var schema = new[] { new ParameterInfo("w", new[] { 2 }, 0) };
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["epoch"] = "12",
            ["quote\"and\\backslash"] = "line1\nline2\r\ttab \"q\" \\ /",
            ["control"] = "\u0000\u0001\u001f\b\f\u007f",
            ["unicode"] = "héllo wörld — 日本語 🚀 \u2028\u2029",
            ["empty"] = "",
        };
        string path = _dir.File("meta.safetensors");
        Safetensors.Save(path, schema, new float[] { 1, 2 }, metadata);

        var read = Safetensors.ReadMetadata(path);
        Assert.Equal(metadata.Count, read.Count);
        foreach (var kv in metadata) Assert.Equal(kv.Value, read[kv.Key]);

        // An independent parser (JsonDocument) sees the same strings.
        using JsonDocument doc = JsonDocument.Parse(ReadHeaderBytes(path));
        var meta = doc.RootElement.GetProperty("__metadata__");
        foreach (var kv in metadata) Assert.Equal(kv.Value, meta.GetProperty(kv.Key).GetString());
    }

    [Fact]
    public void TensorNames_WithSpecialCharacters_RoundTrip()
    {
        var schema = new[]
        {
            new ParameterInfo("layer\"1\".weight", new[] { 2 }, 0),
            new ParameterInfo("back\\slash\tand\nnewline", new[] { 1 }, 2),
            new ParameterInfo("ünïcödé.🚀", new[] { 1 }, 3),
        };
        float[] values = { 1, 2, 3, 4 };
        string path = _dir.File("names.safetensors");
        Safetensors.Save(path, schema, values);

        Assert.Equal(schema.Select(p => p.Name), Safetensors.ReadHeader(path).Select(e => e.Name));
        var dest = new float[4];
        Safetensors.Load(path, schema, dest);
        Assert.Equal(values, dest);

        using JsonDocument doc = JsonDocument.Parse(ReadHeaderBytes(path));
        Assert.Equal(schema.Select(p => p.Name), doc.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void NoMetadata_GivesEmptyMetadata_AndNoMetadataKey()
    {
        var schema = new[] { new ParameterInfo("w", new[] { 1 }, 0) };
        string path = _dir.File("nometa.safetensors");
        Safetensors.Save(path, schema, new float[] { 1 });
        Assert.Empty(Safetensors.ReadMetadata(path));
        using JsonDocument doc = JsonDocument.Parse(ReadHeaderBytes(path));
        Assert.False(doc.RootElement.TryGetProperty("__metadata__", out _));

        Safetensors.Save(path, schema, new float[] { 1 }, new Dictionary<string, string>());
        Assert.Empty(Safetensors.ReadMetadata(path));
    }

    [Fact]
    public void EmptySchema_RoundTrips()
    {
        string path = _dir.File("empty.safetensors");
        Safetensors.Save(path, ReadOnlySpan<ParameterInfo>.Empty, ReadOnlySpan<float>.Empty,
            new Dictionary<string, string> { ["k"] = "v" });
        Assert.Empty(Safetensors.ReadHeader(path));
        Assert.Equal("v", Safetensors.ReadMetadata(path)["k"]);
        Safetensors.Load(path, ReadOnlySpan<ParameterInfo>.Empty, Span<float>.Empty);
    }

    [Fact]
    public void Save_CreatesMissingDirectories_AndOverwritesExistingFile()
    {
        var schema = StFile.LeNetSchema(out int total);
        string path = Path.Combine(_dir.Path, "runs", "exp1", "lenet5.safetensors");
        float[] first = StFile.Values(total, 4);
        Safetensors.Save(path, schema, first);
        Assert.True(File.Exists(path));

        float[] second = StFile.Values(total, 5);
        Safetensors.Save(path, schema, second, new Dictionary<string, string> { ["epoch"] = "2" });
        var dest = new float[total];
        Safetensors.Load(path, schema, dest);
        Assert.Equal(second, dest);
        Assert.Equal("2", Safetensors.ReadMetadata(path)["epoch"]);
        Assert.Empty(_dir.TempFiles());
    }

    [Fact]
    public void Save_RelativePath_Works()
    {
        var schema = new[] { new ParameterInfo("w", new[] { 1 }, 0) };
        string old = Environment.CurrentDirectory;
        // Relative paths resolve against the current directory; use an absolute-equivalent relative path.
        string relative = Path.GetRelativePath(old, _dir.File("rel.safetensors"));
        Safetensors.Save(relative, schema, new float[] { 42 });
        var dest = new float[1];
        Safetensors.Load(relative, schema, dest);
        Assert.Equal(42f, dest[0]);
    }

    internal static byte[] ReadHeaderBytes(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        ulong n = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(file);
        return file.AsSpan(8, (int)n).ToArray();
    }
}
