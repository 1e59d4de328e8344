using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NetGen;
using Xunit;

namespace NetGen.Runtime.Tests;

/// <summary>
/// Hostile-input cases beyond <see cref="SafetensorsErrorTests"/>: duplicate names, offsets out of range or beyond
/// <c>long</c>, shape/dtype/byte-range disagreements, overflowing shapes, non-F32 dtypes, invalid UTF-8 anywhere in
/// the header, the optional NaN/Inf rejection, and allocations that must not follow untrusted lengths.
/// Every failure must be a <see cref="CheckpointException"/> naming the file (and the tensor, when one is involved)
/// and must leave the destination span unchanged.
/// </summary>
public sealed class SafetensorsHardeningTests : IDisposable
{
    private readonly CheckpointTempDir _dir = new();
    private readonly ParameterInfo[] _schema;
    private readonly int _total;

    public SafetensorsHardeningTests()
    {
        _schema = StFile.LeNetSchema(out _total);
    }

    public void Dispose() => _dir.Dispose();

    // LeNet tensors and their F32 byte ranges, in schema order: C1.weight [0,600), C1.bias [600,624),
    // F6.weight [624,784), F6.bias [784,824).
    private const string C1Weight = "\"C1.weight\":{\"dtype\":\"F32\",\"shape\":[6,1,5,5],\"data_offsets\":[0,600]}";
    private const string F6Weight = "\"F6.weight\":{\"dtype\":\"F32\",\"shape\":[10,4],\"data_offsets\":[624,784]}";
    private const string F6Bias = "\"F6.bias\":{\"dtype\":\"F32\",\"shape\":[10],\"data_offsets\":[784,824]}";

    /// <summary>A LeNet header whose C1.bias entry is <paramref name="c1BiasEntry"/> (the value, without the key).</summary>
    private static string LeNetHeaderWithC1Bias(string c1BiasEntry) =>
        "{" + C1Weight + ",\"C1.bias\":" + c1BiasEntry + "," + F6Weight + "," + F6Bias + "}";

    private string Write(string name, byte[] bytes)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string WriteHeader(string name, string header, int dataBytes = 824) =>
        Write(name, StFile.Build(header, new byte[dataBytes], pad: true));

    /// <summary>Load fails with a CheckpointException naming file and tensor; the destination is untouched.</summary>
    private CheckpointException AssertLoadFails(string path, string? tensor, params string[] fragments) =>
        AssertLoadFails(path, tensor, rejectNonFinite: false, fragments);

    private CheckpointException AssertLoadFails(string path, string? tensor, bool rejectNonFinite, params string[] fragments)
    {
        float[] dest = StFile.Sentinel(_total);
        float[] before = (float[])dest.Clone();
        var ex = Assert.Throws<CheckpointException>(() => Safetensors.Load(path, _schema, dest, rejectNonFinite));
        AssertNames(ex, path, tensor, fragments);
        Assert.Equal(before, dest);
        return ex;
    }

    private static void AssertNames(CheckpointException ex, string path, string? tensor, string[] fragments)
    {
        Assert.Equal(path, ex.FilePath);
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.Equal(tensor, ex.TensorName);
        if (tensor is not null) Assert.Contains($"'{tensor}'", ex.Message);
        foreach (string f in fragments) Assert.Contains(f, ex.Message);
    }

    /// <summary>A structural problem: ReadHeader and ReadMetadata report exactly what Load reports.</summary>
    private void AssertAllReadersFail(string path, string? tensor, params string[] fragments)
    {
        var load = AssertLoadFails(path, tensor, fragments);
        var header = Assert.Throws<CheckpointException>(() => Safetensors.ReadHeader(path));
        var meta = Assert.Throws<CheckpointException>(() => Safetensors.ReadMetadata(path));
        foreach (var ex in new[] { header, meta })
        {
            AssertNames(ex, path, tensor, fragments);
            Assert.Equal(load.Message, ex.Message);
        }
    }

    // ------------------------------------------------------------------ Duplicate names

    public static TheoryData<string, string?, string> DuplicateKeys => new()
    {
        // Adjacent duplicates of a schema tensor, identical entries (a "take the last" parser would load fine).
        {
            "{" + C1Weight + ",\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[600,624]}," +
            "\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[600,624]}," + F6Weight + "," + F6Bias + "}",
            "C1.bias", "header lists tensor 'C1.bias' more than once"
        },
        // Non-adjacent, with metadata in between, and the second entry is the one that would be valid.
        {
            "{\"C1.bias\":{\"dtype\":\"F16\",\"shape\":[12],\"data_offsets\":[600,624]}," + C1Weight +
            ",\"__metadata__\":{\"format\":\"pt\"},\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[600,624]}," +
            F6Weight + "," + F6Bias + "}",
            "C1.bias", "header lists tensor 'C1.bias' more than once"
        },
        // The same name spelled with a JSON escape: equal after decoding, so still a duplicate.
        {
            "{" + C1Weight + ",\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[600,624]}," +
            "\"C1\\u002ebias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[600,624]}," + F6Weight + "," + F6Bias + "}",
            "C1.bias", "header lists tensor 'C1.bias' more than once"
        },
        // A duplicate of a tensor the network does not have.
        {
            "{" + C1Weight + ",\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[600,600]}," +
            "\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[600,624]}," +
            "\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[600,600]}," + F6Weight + "," + F6Bias + "}",
            "x", "header lists tensor 'x' more than once"
        },
        // Duplicate fields inside one tensor description.
        {
            LeNetHeaderWithC1Bias("{\"dtype\":\"F32\",\"shape\":[6],\"shape\":[6],\"data_offsets\":[600,624]}"),
            "C1.bias", "tensor 'C1.bias' has 'shape' more than once"
        },
        {
            LeNetHeaderWithC1Bias("{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[600,624],\"data_offsets\":[600,624]}"),
            "C1.bias", "tensor 'C1.bias' has 'data_offsets' more than once"
        },
        {
            LeNetHeaderWithC1Bias("{\"dtype\":\"F32\",\"shape\":[6],\"d\\u0074ype\":\"F32\",\"data_offsets\":[600,624]}"),
            "C1.bias", "tensor 'C1.bias' has 'dtype' more than once"
        },
        // Duplicate metadata, also through an escaped spelling.
        {
            "{\"__metadata__\":{\"a\":\"1\"}," + C1Weight + ",\"__metadata\\u005f_\":{\"a\":\"1\"}}",
            null, "header has '__metadata__' more than once"
        },
        {
            "{\"__metadata__\":{\"epoch\":\"1\",\"\\u0065poch\":\"2\"}}",
            null, "'__metadata__' has key 'epoch' more than once"
        },
    };

    [Theory]
    [MemberData(nameof(DuplicateKeys))]
    public void DuplicateKeys_AreRejected_NotLastOneWins(string header, string? tensor, string problem)
    {
        string path = WriteHeader("dup.safetensors", header);
        AssertAllReadersFail(path, tensor, problem);
    }

    // ------------------------------------------------------------------ Offsets

    [Theory]
    // End beyond the data (the data buffer holds 824 bytes); the size matches the shape, so only the range is wrong.
    [InlineData("[624000000,624000024]", "C1.bias", "file is truncated: tensor 'C1.bias' ends at byte 624000024 of the data but only 824 bytes remain after the header")]
    [InlineData("[9223372036854775783,9223372036854775807]", "C1.bias", "file is truncated: tensor 'C1.bias' ends at byte 9223372036854775807")]
    // Begin after end.
    [InlineData("[624,600]", "C1.bias", "tensor 'C1.bias' has data_offsets [624, 600] whose end is before its begin")]
    [InlineData("[9223372036854775807,0]", "C1.bias", "whose end is before its begin")]
    // Negative.
    [InlineData("[600,-624]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[-9223372036854775808,24]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    // Beyond long, fractional, exponent, string, null, nested, empty.
    [InlineData("[600,9223372036854775808]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[600,18446744073709551640]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[600,99999999999999999999999999999999999999]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[600,1e400]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[600,624.0]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[600,6.24e2]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[600,\"624\"]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[600,null]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[600,[624]]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("[]", "C1.bias", "tensor 'C1.bias' has invalid 'data_offsets'")]
    // Within the data but overlapping a neighbour: the later-starting tensor is named, with both ranges.
    [InlineData("[596,620]", "C1.bias", "tensor 'C1.bias' (data_offsets [596, 620]) overlaps tensor 'C1.weight' (data_offsets [0, 600])")]
    [InlineData("[0,24]", "C1.weight", "tensor 'C1.weight' (data_offsets [0, 600]) overlaps tensor 'C1.bias' (data_offsets [0, 24])")]
    public void OffsetsOutOfRange(string offsets, string tensor, string problem)
    {
        string header = LeNetHeaderWithC1Bias("{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":" + offsets + "}");
        string path = WriteHeader("offsets.safetensors", header);
        AssertAllReadersFail(path, tensor, problem);
    }

    [Fact]
    public void GapLeftByAMovedTensor_NamesTheTensorAfterIt()
    {
        // C1.bias moved to the end leaves [600, 624) unused.
        string header = "{" + C1Weight +
            ",\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[824,848]}," + F6Weight + "," + F6Bias + "}";
        string path = WriteHeader("gap.safetensors", header, 848);
        AssertAllReadersFail(path, "F6.weight",
            "tensor data has a gap of 24 bytes between tensor 'C1.weight' (ends at 600) and tensor 'F6.weight' (begins at 624)");
    }

    // ------------------------------------------------------------------ Shape x dtype vs byte range

    [Theory]
    [InlineData("F32", "[6]", "[600,628]", "tensor 'C1.bias' has data_offsets [600, 628] (28 bytes) but shape [6] of F32 needs 24 bytes")]
    [InlineData("F32", "[6]", "[600,600]", "(0 bytes) but shape [6] of F32 needs 24 bytes")]
    [InlineData("F32", "[]", "[600,624]", "(24 bytes) but shape [] of F32 needs 4 bytes")]
    [InlineData("F32", "[6,0]", "[600,624]", "(24 bytes) but shape [6, 0] of F32 needs 0 bytes")]
    [InlineData("F64", "[6]", "[600,624]", "(24 bytes) but shape [6] of F64 needs 48 bytes")]
    [InlineData("F16", "[6]", "[600,624]", "(24 bytes) but shape [6] of F16 needs 12 bytes")]
    [InlineData("BF16", "[6]", "[600,624]", "(24 bytes) but shape [6] of BF16 needs 12 bytes")]
    [InlineData("U8", "[6]", "[600,624]", "(24 bytes) but shape [6] of U8 needs 6 bytes")]
    public void ShapeTimesDtype_DoesNotMatchByteRange(string dtype, string shape, string offsets, string problem)
    {
        string header = LeNetHeaderWithC1Bias($"{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}}");
        string path = WriteHeader("size.safetensors", header);
        AssertAllReadersFail(path, "C1.bias", problem);
    }

    [Theory]
    // Each dimension fits in int, the element count fits in long, but count x 4 bytes overflows long.
    [InlineData("[2147483647,2147483647,2]", "too large to address")]
    // The element count itself overflows long.
    [InlineData("[2147483647,2147483647,2147483647]", "too large to address")]
    [InlineData("[65536,65536,65536,65536]", "too large to address")]
    // Out of the dimension range, negative, not integers.
    [InlineData("[2147483648]", "has an invalid shape")]
    [InlineData("[-1]", "has an invalid shape")]
    [InlineData("[-2147483648,-1]", "has an invalid shape")]
    [InlineData("[9223372036854775808]", "has an invalid shape")]
    [InlineData("[1e3]", "has an invalid shape")]
    [InlineData("[6.0]", "has an invalid shape")]
    [InlineData("[true]", "has an invalid shape")]
    [InlineData("[[6]]", "has an invalid shape")]
    [InlineData("[null]", "has an invalid shape")]
    [InlineData("{}", "has a 'shape' that is not an array")]
    public void ShapeNegativeHugeOrOverflowing(string shape, string problem)
    {
        string header = LeNetHeaderWithC1Bias("{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[600,624]}");
        string path = WriteHeader("shape.safetensors", header);
        AssertAllReadersFail(path, "C1.bias", $"tensor 'C1.bias' ", problem);
    }

    [Fact]
    public void HugeConsistentShape_IsTruncated_NotAllocated()
    {
        // 65536 x 65536 F32 = 16 GiB, consistent offsets, but the file holds 824 bytes of data.
        string header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,17179869184]}}";
        string path = WriteHeader("huge.safetensors", header);
        var ex = Assert.Throws<CheckpointException>(() => Safetensors.ReadHeader(path));
        AssertNames(ex, path, "big", new[] { "file is truncated: tensor 'big' ends at byte 17179869184 of the data" });
    }

    // ------------------------------------------------------------------ dtype

    [Theory]
    [InlineData("F64", 48)]
    [InlineData("F16", 12)]
    [InlineData("BF16", 12)]
    [InlineData("I32", 24)]  // same element size as F32: structurally valid, must still be refused
    [InlineData("U32", 24)]
    [InlineData("I64", 48)]
    [InlineData("U8", 6)]
    [InlineData("BOOL", 6)]
    [InlineData("F8_E4M3", 6)]
    [InlineData("f32", 24)]  // dtype names are case-sensitive
    [InlineData("F32 ", 24)]
    [InlineData(" F32", 24)]
    [InlineData("", 24)]
    [InlineData("FLOAT", 24)]
    [InlineData("F4", 24)]   // unknown or sub-byte: size cannot be checked, but Load refuses it
    public void NonF32DtypeInSchemaTensor_IsRejected(string dtype, int bytes)
    {
        // C1.bias is the last tensor in the data so its size may differ from 24 bytes.
        string header = "{" + C1Weight + "," + F6Weight.Replace("[624,784]", "[600,760]") + "," +
            F6Bias.Replace("[784,824]", "[760,800]") +
            $",\"C1.bias\":{{\"dtype\":\"{dtype}\",\"shape\":[6],\"data_offsets\":[800,{800 + bytes}]}}}}";
        string path = WriteHeader("dtype.safetensors", header, 800 + bytes);
        Assert.Equal(dtype, Safetensors.ReadHeader(path).Single(e => e.Name == "C1.bias").DType);
        AssertLoadFails(path, "C1.bias", $"tensor 'C1.bias' has dtype {dtype}; only F32 is supported");
    }

    [Fact]
    public void NonStringDtype_IsRejected()
    {
        foreach (string dtype in new[] { "null", "32", "[\"F32\"]", "{\"F32\":1}", "true" })
        {
            string path = WriteHeader("dtype2.safetensors",
                LeNetHeaderWithC1Bias("{\"dtype\":" + dtype + ",\"shape\":[6],\"data_offsets\":[600,624]}"));
            AssertAllReadersFail(path, "C1.bias", "tensor 'C1.bias' has a 'dtype' that is not a string");
        }
    }

    // ------------------------------------------------------------------ UTF-8

    public static TheoryData<byte[], int> InvalidUtf8Headers()
    {
        var data = new TheoryData<byte[], int>();
        void Add(string before, byte[] bad, string after)
        {
            byte[] a = Encoding.UTF8.GetBytes(before), c = Encoding.UTF8.GetBytes(after);
            data.Add(a.Concat(bad).Concat(c).ToArray(), a.Length);
        }
        string tail = "," + C1Weight + "}";
        Add("{\"__metadata__\":{\"k\":\"", new byte[] { 0xFF }, "\"}" + tail);                // lone 0xFF in a value
        Add("{\"__metadata__\":{\"", new byte[] { 0xC3 }, "\":\"v\"}" + tail);                 // truncated 2-byte sequence in a key
        Add("{\"__metadata__\":{\"k\":\"", new byte[] { 0xC0, 0xAF }, "\"}" + tail);          // overlong '/'
        Add("{\"__metadata__\":{\"k\":\"", new byte[] { 0xED, 0xA0, 0x80 }, "\"}" + tail);    // UTF-8-encoded surrogate
        Add("{\"__metadata__\":{\"k\":\"", new byte[] { 0xF4, 0x90, 0x80, 0x80 }, "\"}" + tail); // beyond U+10FFFF
        Add("{\"C1", new byte[] { 0x80 }, "bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}");       // tensor name
        // Inside fields the parser skips: an unknown field's name and its string value.
        Add("{\"C1.bias\":{\"dtype\":\"F32\",\"x", new byte[] { 0xFE }, "\":1,\"shape\":[6],\"data_offsets\":[0,24]}}");
        Add("{\"C1.bias\":{\"dtype\":\"F32\",\"note\":\"", new byte[] { 0xE2, 0x82 }, "\",\"shape\":[6],\"data_offsets\":[0,24]}}");
        Add("{\"C1.bias\":{\"dtype\":\"F32\",\"x\":[\"", new byte[] { 0xF0, 0x9F, 0x9A }, "\"],\"shape\":[6],\"data_offsets\":[0,24]}}");
        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidUtf8Headers))]
    public void InvalidUtf8_AnywhereInHeader_IsRejectedWithItsPosition(byte[] header, int badIndex)
    {
        string path = Write("utf8.safetensors", StFile.BuildRaw(header, new byte[624], pad: true));
        AssertAllReadersFail(path, null, $"header is not valid UTF-8 (invalid byte sequence at header byte {badIndex})");
    }

    [Theory]
    [InlineData("{\"__metadata__\":{\"k\":\"\\uD800\"}}")]           // unpaired high surrogate escape in a value
    [InlineData("{\"__metadata__\":{\"\\uDC00x\":\"v\"}}")]          // unpaired low surrogate escape in a key
    [InlineData("{\"C1\\uD83D.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}")]
    public void UnpairedSurrogateEscape_IsRejected(string header)
    {
        string path = WriteHeader("surrogate.safetensors", header, 24);
        AssertAllReadersFail(path, null, "header is not valid JSON text: a string cannot be decoded");
    }

    [Fact]
    public void ValidNonAsciiUtf8_IsAccepted()
    {
        var schema = new[] { new ParameterInfo("ünï.🚀", new[] { 2 }, 0) };
        string path = _dir.File("unicode.safetensors");
        Safetensors.Save(path, schema, new float[] { 1, 2 }, new Dictionary<string, string> { ["日本"] = "€𝄞" });
        var dest = new float[2];
        Safetensors.Load(path, schema, dest, rejectNonFinite: true);
        Assert.Equal(new float[] { 1, 2 }, dest);
        Assert.Equal("€𝄞", Safetensors.ReadMetadata(path)["日本"]);
    }

    // ------------------------------------------------------------------ NaN / Inf

    [Theory]
    [InlineData(0, 0x7FC0_0000u, "C1.weight", "NaN", "element 0 (index [0, 0, 0, 0])")]
    [InlineData(17, 0x7F80_0000u, "C1.weight", "+Infinity", "element 17 (index [0, 0, 3, 2])")]
    [InlineData(149, 0xFF80_0000u, "C1.weight", "-Infinity", "element 149 (index [5, 0, 4, 4])")]
    [InlineData(150 + 5, 0xFFC1_2345u, "C1.bias", "NaN", "element 5 (index [5])")]           // negative NaN with payload
    [InlineData(156 + 8, 0x7F80_0001u, "F6.weight", "NaN", "element 8 (index [2, 0])")]      // signalling NaN
    [InlineData(156 + 39, 0x7FFF_FFFFu, "F6.weight", "NaN", "element 39 (index [9, 3])")]
    [InlineData(205, 0x7F80_0000u, "F6.bias", "+Infinity", "element 9 (index [9])")]
    public void RejectNonFinite_NamesTensorAndFirstIndex(int flatIndex, uint bits, string tensor, string kind, string where)
    {
        float[] values = StFile.Values(_total, 21);
        values[flatIndex] = BitConverter.UInt32BitsToSingle(bits);
        // A later non-finite value too: the first one (in schema order) is reported.
        if (flatIndex < _total - 1) values[_total - 1] = float.NaN;
        string path = _dir.File("nonfinite.safetensors");
        Safetensors.Save(path, _schema, values);

        var ex = AssertLoadFails(path, tensor, rejectNonFinite: true, $"tensor '{tensor}' has a non-finite value ({kind}) at {where}");
        Assert.Equal($"tensor '{tensor}' has a non-finite value ({kind}) at {where}", ex.Problem);

        // Without the check (both overloads), the values load bit-exactly.
        foreach (bool viaOverload in new[] { false, true })
        {
            var dest = new float[_total];
            if (viaOverload) Safetensors.Load(path, _schema, dest, rejectNonFinite: false);
            else Safetensors.Load(path, _schema, dest);
            Assert.Equal(values.Select(BitConverter.SingleToUInt32Bits), dest.Select(BitConverter.SingleToUInt32Bits));
        }
    }

    [Fact]
    public void RejectNonFinite_AcceptsExtremeFiniteValues()
    {
        float[] values = StFile.Values(_total, 22);
        float[] extremes = { float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, -0.0f, 0.0f,
            BitConverter.UInt32BitsToSingle(0x7F7F_FFFFu), BitConverter.UInt32BitsToSingle(0x807F_FFFFu) };
        extremes.CopyTo(values, 40);
        string path = _dir.File("finite.safetensors");
        Safetensors.Save(path, _schema, values);
        float[] dest = StFile.Sentinel(_total);
        Safetensors.Load(path, _schema, dest, rejectNonFinite: true);
        Assert.Equal(values.Select(BitConverter.SingleToUInt32Bits), dest.Select(BitConverter.SingleToUInt32Bits));
    }

    [Fact]
    public void IndexOfNonFinite_FindsEveryPositionAcrossVectorWidths()
    {
        for (int n = 0; n <= 70; n++)
        {
            var v = new float[n];
            for (int i = 0; i < n; i++) v[i] = i - 30.5f;
            Assert.Equal(-1, Safetensors.IndexOfNonFinite(v));
            for (int bad = 0; bad < n; bad++)
            {
                foreach (float f in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
                {
                    float[] w = (float[])v.Clone();
                    w[bad] = f;
                    if (bad + 3 < n) w[bad + 3] = float.NaN;
                    Assert.Equal(bad, Safetensors.IndexOfNonFinite(w));
                }
            }
        }
    }

    [Fact]
    public void RejectNonFinite_ScalarTensor_IndexIsEmpty()
    {
        var schema = new[] { new ParameterInfo("s", Array.Empty<int>(), 0) };
        string path = _dir.File("scalar.safetensors");
        Safetensors.Save(path, schema, new[] { float.NegativeInfinity });
        float[] dest = { 7f };
        var ex = Assert.Throws<CheckpointException>(() => Safetensors.Load(path, schema, dest, rejectNonFinite: true));
        AssertNames(ex, path, "s", new[] { "tensor 's' has a non-finite value (-Infinity) at element 0 (index [])" });
        Assert.Equal(7f, dest[0]);
    }

    // ------------------------------------------------------------------ Allocations

    /// <summary>
    /// Files that claim huge sizes (header length, tensor offsets, shapes) must be rejected without allocating
    /// anything in proportion to the claim.
    /// </summary>
    [Fact]
    public void UntrustedLengths_DoNotDriveAllocations()
    {
        var files = new List<string>();
        byte[] small = new byte[4096];
        BinaryPrimitives.WriteUInt64LittleEndian(small, 99_999_999);          // just under the header limit
        files.Add(Write("a.safetensors", small));
        byte[] max = new byte[4096];
        BinaryPrimitives.WriteUInt64LittleEndian(max, long.MaxValue);
        files.Add(Write("b.safetensors", max));
        files.Add(WriteHeader("c.safetensors",
            "{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[536870911],\"data_offsets\":[0,2147483644]}}"));
        files.Add(WriteHeader("d.safetensors",
            "{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[9223372036854775783,9223372036854775807]}}"));
        files.Add(WriteHeader("e.safetensors",
            "{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,24]}}"));

        float[] dest = new float[_total];
        void LoadAll()
        {
            foreach (string f in files)
            {
                Assert.Throws<CheckpointException>(() => Safetensors.Load(f, _schema, dest));
                Assert.Throws<CheckpointException>(() => Safetensors.ReadHeader(f));
            }
        }
        LoadAll(); // warm up (JIT, pools)
        long before = GC.GetAllocatedBytesForCurrentThread();
        LoadAll();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1 << 20, $"rejecting {files.Count} lying files allocated {allocated} bytes");
    }
}
