using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NetGen;
using Xunit;

namespace NetGen.Runtime.Tests;

public sealed class SafetensorsErrorTests : IDisposable
{
    private readonly CheckpointTempDir _dir = new();
    private readonly ParameterInfo[] _schema;
    private readonly int _total;

    public SafetensorsErrorTests()
    {
        _schema = StFile.LeNetSchema(out _total);
    }

    public void Dispose() => _dir.Dispose();

    private static readonly (string, string, int[])[] LeNetTensors =
    {
        ("C1.weight", "F32", new[] { 6, 1, 5, 5 }),
        ("C1.bias", "F32", new[] { 6 }),
        ("F6.weight", "F32", new[] { 10, 4 }),
        ("F6.bias", "F32", new[] { 10 }),
    };

    private string Write(string name, byte[] bytes)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A well-formed file for the given tensors (contiguous, F32 unless stated), with zero data.</summary>
    private string WriteTensors(string name, IEnumerable<(string, string, int[])> tensors, bool pad = true)
    {
        var list = tensors.ToArray();
        string header = StFile.Header(list);
        long size = list.Sum(t => t.Item3.Aggregate(1L, (a, d) => a * d) * (t.Item2 == "F16" ? 2 : 4));
        return Write(name, StFile.Build(header, new byte[size], pad));
    }

    /// <summary>
    /// Asserts Load throws a CheckpointException naming the file and tensor with the given problem text,
    /// and that the destination span is left exactly as it was.
    /// </summary>
    private CheckpointException AssertLoadFails(string path, string? tensor, params string[] problemFragments)
    {
        float[] dest = StFile.Sentinel(_total);
        float[] before = (float[])dest.Clone();
        var ex = Assert.Throws<CheckpointException>(() => Safetensors.Load(path, _schema, dest));
        Assert.IsAssignableFrom<IOException>(ex);
        Assert.Equal(path, ex.FilePath);
        Assert.Equal(tensor, ex.TensorName);
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.Contains(Path.GetFileName(path), ex.Message);
        foreach (string f in problemFragments) Assert.Contains(f, ex.Message);
        Assert.Equal(before, dest);
        return ex;
    }

    [Fact]
    public void ShapeMismatch()
    {
        string path = WriteTensors("lenet5.safetensors", LeNetTensors.Select(t =>
            t.Item1 == "C1.weight" ? (t.Item1, t.Item2, new[] { 6, 1, 3, 3 }) : t));
        var ex = AssertLoadFails(path, "C1.weight");
        Assert.Equal($"{path}: tensor 'C1.weight' has shape [6, 1, 3, 3] but the network expects [6, 1, 5, 5]", ex.Message);
        Assert.Equal("tensor 'C1.weight' has shape [6, 1, 3, 3] but the network expects [6, 1, 5, 5]", ex.Problem);
    }

    [Fact]
    public void ShapeMismatch_SameElementCount()
    {
        string path = WriteTensors("lenet5.safetensors", LeNetTensors.Select(t =>
            t.Item1 == "F6.weight" ? (t.Item1, t.Item2, new[] { 4, 10 }) : t));
        AssertLoadFails(path, "F6.weight", "tensor 'F6.weight' has shape [4, 10] but the network expects [10, 4]");
    }

    [Fact]
    public void MissingTensor()
    {
        string path = WriteTensors("lenet5.safetensors", LeNetTensors.Where(t => t.Item1 != "F6.bias"));
        var ex = AssertLoadFails(path, "F6.bias");
        Assert.Equal($"{path}: missing tensor 'F6.bias'", ex.Message);
    }

    [Fact]
    public void UnexpectedTensor()
    {
        string path = WriteTensors("lenet5.safetensors",
            LeNetTensors.Append(("foo.weight", "F32", new[] { 2, 2 })));
        var ex = AssertLoadFails(path, "foo.weight");
        Assert.Equal($"{path}: unexpected tensor 'foo.weight' (not in the network)", ex.Message);
    }

    [Fact]
    public void UnsupportedDtype()
    {
        string path = WriteTensors("lenet5.safetensors", LeNetTensors.Select(t =>
            t.Item1 == "C1.bias" ? (t.Item1, "F16", t.Item3) : t));
        var ex = AssertLoadFails(path, "C1.bias");
        Assert.Equal($"{path}: tensor 'C1.bias' has dtype F16; only F32 is supported", ex.Message);
        // Still readable for inspection.
        Assert.Equal("F16", Safetensors.ReadHeader(path).Single(e => e.Name == "C1.bias").DType);
    }

    [Fact]
    public void TruncatedHeader()
    {
        byte[] bytes = new byte[8 + 12];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1024);
        Encoding.ASCII.GetBytes("{\"a\":{}}    ").CopyTo(bytes, 8);
        string path = Write("lenet5.safetensors", bytes);
        var ex = AssertLoadFails(path, null);
        Assert.Equal($"{path}: file is truncated: header says 1024 bytes but only 12 remain", ex.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void FileShorterThanLengthPrefix(int length)
    {
        string path = Write("short.safetensors", new byte[length]);
        AssertLoadFails(path, null, "file is truncated", $"only {length} bytes", "8-byte header length");
    }

    [Fact]
    public void HugeGarbageHeaderLength()
    {
        byte[] bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        string path = Write("garbage.safetensors", bytes);
        AssertLoadFails(path, null, $"file is truncated: header says {ulong.MaxValue} bytes but only 56 remain");
    }

    [Fact]
    public void HeaderLengthOverLimit()
    {
        // A sparse file big enough that the length is not "truncated", but over the 100 MB limit.
        string path = _dir.File("hugeheader.safetensors");
        using (var fs = new FileStream(path, FileMode.CreateNew))
        {
            byte[] prefix = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, 150_000_000);
            fs.Write(prefix);
            fs.SetLength(8 + 150_000_000 + 16);
        }
        AssertLoadFails(path, null, "header length 150000000 bytes exceeds the 100000000-byte limit");
    }

    [Fact]
    public void EmptyHeader()
    {
        string path = Write("empty.safetensors", new byte[8]);
        AssertLoadFails(path, null, "header is empty");
    }

    [Theory]
    [InlineData("{\"C1.weight\": {\"dtype\": \"F32\",}")]
    [InlineData("{\"C1.weight\" {}}")]
    [InlineData("not json at all")]
    [InlineData("{} trailing")]
    [InlineData("{} {\"b\":2}")]
    [InlineData("{/*comment*/}")]
    [InlineData("{")]
    public void InvalidJson(string header)
    {
        string path = Write("badjson.safetensors", StFile.Build(header, Array.Empty<byte>(), pad: true));
        AssertLoadFails(path, null, "header is not valid JSON");
    }

    [Fact]
    public void InvalidUtf8InHeader()
    {
        byte[] header = Encoding.ASCII.GetBytes("{\"__metadata__\":{\"k\":\"v?\"}}");
        header[Array.IndexOf(header, (byte)'?')] = 0xFF;
        string path = Write("utf8.safetensors", StFile.BuildRaw(header, Array.Empty<byte>()));
        AssertLoadFails(path, null, "header is not valid");
    }

    [Theory]
    [InlineData("[1,2]", "header is not a JSON object")]
    [InlineData("\"str\"", "header is not a JSON object")]
    [InlineData("{\"__metadata__\":[1]}", "'__metadata__' must be a JSON object")]
    [InlineData("{\"__metadata__\":{\"epoch\":12}}", "'__metadata__' value for key 'epoch' must be a string")]
    [InlineData("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", "'__metadata__' has key 'a' more than once")]
    [InlineData("{\"__metadata__\":{},\"__metadata__\":{}}", "header has '__metadata__' more than once")]
    public void MalformedHeader_FileLevel(string header, string problem)
    {
        string path = Write("malformed.safetensors", StFile.Build(header, Array.Empty<byte>(), pad: true));
        AssertLoadFails(path, null, problem);
    }

    [Theory]
    [InlineData("{\"C1.bias\":[1]}", "tensor 'C1.bias' must be described by a JSON object")]
    [InlineData("{\"C1.bias\":{\"shape\":[6],\"data_offsets\":[0,24]}}", "tensor 'C1.bias' has no 'dtype'")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"data_offsets\":[0,24]}}", "tensor 'C1.bias' has no 'shape'")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6]}}", "tensor 'C1.bias' has no 'data_offsets'")]
    [InlineData("{\"C1.bias\":{\"dtype\":32,\"shape\":[6],\"data_offsets\":[0,24]}}", "tensor 'C1.bias' has a 'dtype' that is not a string")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":6,\"data_offsets\":[0,24]}}", "tensor 'C1.bias' has a 'shape' that is not an array")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[-6],\"data_offsets\":[0,24]}}", "tensor 'C1.bias' has an invalid shape")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6.5],\"data_offsets\":[0,24]}}", "tensor 'C1.bias' has an invalid shape")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[\"6\"],\"data_offsets\":[0,24]}}", "tensor 'C1.bias' has an invalid shape")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0]}}", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24,48]}}", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[-1,23]}}", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":{\"a\":0}}}", "tensor 'C1.bias' has invalid 'data_offsets'")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[24,0]}}", "tensor 'C1.bias' has data_offsets [24, 0] whose end is before its begin")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}", "tensor 'C1.bias' has 'dtype' more than once")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[24,48]}}", "header lists tensor 'C1.bias' more than once")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,20]}}", "tensor 'C1.bias' has data_offsets [0, 20] (20 bytes) but shape [6] of F32 needs 24 bytes")]
    [InlineData("{\"C1.bias\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,20]}}", "tensor 'C1.bias' has shape [2147483647, 2147483647, 2147483647], too large")]
    public void MalformedTensorEntry(string header, string problem)
    {
        string path = Write("entry.safetensors", StFile.Build(header, new byte[48], pad: true));
        AssertLoadFails(path, "C1.bias", problem);
    }

    [Fact]
    public void DataTruncated()
    {
        string header = StFile.Header(LeNetTensors);
        byte[] full = StFile.Build(header, new byte[206 * 4], pad: true);
        string path = Write("lenet5.safetensors", full.AsSpan(0, full.Length - 10).ToArray());
        AssertLoadFails(path, "F6.bias",
            $"file is truncated: tensor 'F6.bias' ends at byte {206 * 4} of the data but only {206 * 4 - 10} bytes remain after the header");
    }

    [Fact]
    public void TrailingBytesAfterData()
    {
        string header = StFile.Header(LeNetTensors);
        string path = Write("lenet5.safetensors", StFile.Build(header, new byte[206 * 4 + 3], pad: true));
        AssertLoadFails(path, null, "file has 3 unexpected bytes after the tensor data");
    }

    [Fact]
    public void GapBetweenTensors()
    {
        string header = "{" + string.Join(",",
            StFile.Entry("C1.weight", "F32", new[] { 6, 1, 5, 5 }, 0, 600),
            StFile.Entry("C1.bias", "F32", new[] { 6 }, 608, 632),
            StFile.Entry("F6.weight", "F32", new[] { 10, 4 }, 632, 792),
            StFile.Entry("F6.bias", "F32", new[] { 10 }, 792, 832)) + "}";
        string path = Write("gap.safetensors", StFile.Build(header, new byte[832], pad: true));
        AssertLoadFails(path, "C1.bias",
            "tensor data has a gap of 8 bytes between tensor 'C1.weight' (ends at 600) and tensor 'C1.bias' (begins at 608)");
    }

    [Fact]
    public void GapAtStart()
    {
        string header = "{" + StFile.Entry("C1.bias", "F32", new[] { 6 }, 4, 28) + "}";
        string path = Write("gap0.safetensors", StFile.Build(header, new byte[28], pad: true));
        AssertLoadFails(path, "C1.bias", "the first tensor 'C1.bias' begins at byte 4 instead of 0");
    }

    [Fact]
    public void OverlappingTensors()
    {
        string header = "{" + string.Join(",",
            StFile.Entry("C1.weight", "F32", new[] { 6, 1, 5, 5 }, 0, 600),
            StFile.Entry("C1.bias", "F32", new[] { 6 }, 592, 616),
            StFile.Entry("F6.weight", "F32", new[] { 10, 4 }, 616, 776),
            StFile.Entry("F6.bias", "F32", new[] { 10 }, 776, 816)) + "}";
        string path = Write("overlap.safetensors", StFile.Build(header, new byte[816], pad: true));
        AssertLoadFails(path, "C1.bias",
            "tensor 'C1.bias' (data_offsets [592, 616]) overlaps tensor 'C1.weight' (data_offsets [0, 600])");
    }

    [Fact]
    public void StructuralErrors_AlsoReportedByReadHeaderAndReadMetadata()
    {
        byte[] bytes = new byte[8 + 12];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1024);
        string path = Write("lenet5.safetensors", bytes);
        var ex1 = Assert.Throws<CheckpointException>(() => Safetensors.ReadHeader(path));
        var ex2 = Assert.Throws<CheckpointException>(() => Safetensors.ReadMetadata(path));
        foreach (var ex in new[] { ex1, ex2 })
        {
            Assert.Equal(path, ex.FilePath);
            Assert.Null(ex.TensorName);
            Assert.Equal($"{path}: file is truncated: header says 1024 bytes but only 12 remain", ex.Message);
        }
    }

    [Fact]
    public void MissingFile_ThrowsFileNotFound_NamingIt()
    {
        string path = _dir.File("nope.safetensors");
        string inMissingDir = Path.Combine(_dir.Path, "no-such-dir", "nope.safetensors");
        foreach (string p in new[] { path, inMissingDir })
        {
            float[] dest = StFile.Sentinel(_total);
            var ex = Assert.Throws<FileNotFoundException>(() => Safetensors.Load(p, _schema, dest));
            Assert.Equal(p, ex.FileName);
            Assert.Contains(p, ex.Message);
            Assert.Equal(StFile.Sentinel(_total), dest);
            Assert.Equal(p, Assert.Throws<FileNotFoundException>(() => Safetensors.ReadHeader(p)).FileName);
            Assert.Equal(p, Assert.Throws<FileNotFoundException>(() => Safetensors.ReadMetadata(p)).FileName);
        }
    }

    [Fact]
    public void FailedLoad_AfterEarlierTensorsMatched_LeavesDestinationUnchanged()
    {
        // Valid values for the first three tensors; only the last one is wrong.
        string good = _dir.File("good.safetensors");
        Safetensors.Save(good, _schema, StFile.Values(_total, 9));
        byte[] bytes = File.ReadAllBytes(good);
        string text = Encoding.UTF8.GetString(bytes);
        int at = text.IndexOf("\"F6.bias\":{\"dtype\":\"F32\",\"shape\":[10]", StringComparison.Ordinal);
        Assert.True(at > 0);
        bytes[text.IndexOf("[10]", at, StringComparison.Ordinal) + 1] = (byte)'5'; // shape [50]
        string path = Write("lastbad.safetensors", bytes);
        AssertLoadFails(path, "F6.bias", "tensor 'F6.bias' has data_offsets", "but shape [50] of F32 needs 200 bytes");
    }

    [Fact]
    public void Load_RejectsSchemaThatDoesNotFitTheSpan()
    {
        string path = _dir.File("lenet5.safetensors");
        Safetensors.Save(path, _schema, StFile.Values(_total, 10));
        float[] small = StFile.Sentinel(_total - 1);
        var ex = Assert.Throws<ArgumentException>(() => Safetensors.Load(path, _schema, small));
        Assert.Equal("parameters", ex.ParamName);
        Assert.Equal(StFile.Sentinel(_total - 1), small);
    }
}
