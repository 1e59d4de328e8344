using System;
using System.IO;
using NetGen.Data;
using Xunit;

namespace NetGen.Runtime.Tests;

public sealed class IdxTests : IDisposable
{
    private readonly DataTempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // 3 images of 2 x 3 pixels covering the byte range's edges.
    private static readonly byte[] Pixels =
    {
        0, 1, 2, 127, 128, 255,
        255, 254, 253, 0, 0, 0,
        10, 20, 30, 40, 50, 60,
    };

    // Labels are plain bytes: values above 9 are not an error.
    private static readonly byte[] LabelBytes = { 0, 9, 200 };

    [Theory]
    [InlineData(false, "images.gz")] // raw despite the .gz name: detection is by content
    [InlineData(true, "images.idx")] // gzipped despite no .gz name
    public void ReadImages_RoundTripsRawAndGzip(bool gzip, string name)
    {
        string path = _dir.Write(name, DataTestFiles.ImagesIdx(3, 2, 3, Pixels), gzip);

        ImageSet images = Idx.ReadImages(path);

        Assert.Equal(3, images.Count);
        Assert.Equal(2, images.Rows);
        Assert.Equal(3, images.Columns);
        Assert.Equal(6, images.SampleSize);
        Assert.Equal(Pixels.Length, images.Pixels.Length);
        for (int i = 0; i < Pixels.Length; i++) Assert.Equal(Pixels[i] / 255f, images.Pixels[i]);
        Assert.Equal(0f, images.Pixels[0]);
        Assert.Equal(1f, images.Pixels[5]);
        Assert.Equal(new[] { 10 / 255f, 20 / 255f, 30 / 255f, 40 / 255f, 50 / 255f, 60 / 255f }, images.GetImage(2).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadLabels_RoundTripsRawAndGzip(bool gzip)
    {
        string path = _dir.Write("labels", DataTestFiles.LabelsIdx(3, LabelBytes), gzip);

        Assert.Equal(new[] { 0, 9, 200 }, Idx.ReadLabels(path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadDataset_PairsImagesAndLabels(bool gzip)
    {
        string images = _dir.Write("img", DataTestFiles.ImagesIdx(3, 2, 3, Pixels), gzip);
        string labels = _dir.Write("lbl", DataTestFiles.LabelsIdx(3, LabelBytes), gzip);

        Dataset data = Idx.ReadDataset(images, labels);

        Assert.Equal(3, data.Count);
        Assert.Equal(6, data.SampleSize);
        Assert.Equal(2, data.Rows);
        Assert.Equal(3, data.Columns);
        Assert.Equal(1, data.Channels);
        Assert.Equal(new[] { 0, 9, 200 }, data.Labels);
        Assert.Equal(255 / 255f, data.GetFeatures(1)[0]);
        Assert.Equal(18, data.Features.Length);
    }

    [Fact]
    public void ReadDataset_EmptyFilesAreValid()
    {
        string images = _dir.Write("img", DataTestFiles.ImagesIdx(0, 28, 28, Array.Empty<byte>()));
        string labels = _dir.Write("lbl", DataTestFiles.LabelsIdx(0, Array.Empty<byte>()), gzip: true);

        Dataset data = Idx.ReadDataset(images, labels);

        Assert.Equal(0, data.Count);
        Assert.Equal(784, data.SampleSize);
        Assert.Empty(data.Features);
    }

    private static void AssertProblem(Exception e, string path, params string[] problems)
    {
        Assert.Contains(path, e.Message);
        foreach (string problem in problems) Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void MissingFile_ThrowsFileNotFoundNamingThePath()
    {
        string path = _dir.File("nope-idx3-ubyte.gz");
        var e = Assert.Throws<FileNotFoundException>(() => Idx.ReadImages(path));
        AssertProblem(e, path, "file not found");
        Assert.Equal(path, e.FileName);
        Assert.Throws<FileNotFoundException>(() => Idx.ReadLabels(path));
    }

    [Fact]
    public void EmptyFile_Throws()
    {
        string path = _dir.Write("empty", Array.Empty<byte>());
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path, "file is empty");
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path)), path, "file is empty");
    }

    [Fact]
    public void FileShorterThanMagic_Throws()
    {
        string path = _dir.Write("short", new byte[] { 0, 0 });
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path, "too short for an IDX header: 2 bytes");
    }

    [Fact]
    public void BadMagic_Throws()
    {
        string path = _dir.Write("bad", DataTestFiles.BuildIdx(0x12345678, new[] { 1, 1, 1 }, new byte[] { 7 }));
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path, "bad magic number 0x12345678", "not an IDX file");
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path)), path, "bad magic number 0x12345678");
    }

    [Fact]
    public void UnsupportedElementType_Throws()
    {
        // 0x0D = float32 elements, a valid IDX type this reader does not support.
        string path = _dir.Write("floats", DataTestFiles.BuildIdx(0x00000D03, new[] { 1, 1, 1 }, new byte[4]));
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path, "0x00000D03", "unsupported IDX element type 0x0D");
    }

    [Fact]
    public void LabelFileReadAsImages_AndViceVersa_Throw()
    {
        string labels = _dir.Write("labels", DataTestFiles.LabelsIdx(3, LabelBytes));
        string images = _dir.Write("images", DataTestFiles.ImagesIdx(3, 2, 3, Pixels), gzip: true);
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(labels)), labels,
            "bad magic number 0x00000801", "expected 0x00000803", "looks like a label file");
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(images)), images,
            "bad magic number 0x00000803", "expected 0x00000801", "looks like an image file");
    }

    [Fact]
    public void TruncatedHeader_Throws()
    {
        byte[] full = DataTestFiles.ImagesIdx(3, 2, 3, Pixels);
        string path = _dir.Write("header", full[..10]);
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path, "truncated IDX header: expected 16 bytes, found 10");

        string labels = _dir.Write("lheader", DataTestFiles.LabelsIdx(3, LabelBytes)[..6]);
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(labels)), labels, "truncated IDX header: expected 8 bytes, found 6");
    }

    [Theory]
    [InlineData(false, "")]
    [InlineData(true, " (after gzip decompression)")]
    public void TruncatedPixelData_Throws(bool gzip, string note)
    {
        // Header promises 3 images of 2x3 = 18 bytes; only 5 follow.
        string path = _dir.Write("trunc", DataTestFiles.ImagesIdx(3, 2, 3, Pixels[..5]), gzip);
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path,
            "expected 18 bytes of pixel data after the header (3 images of 2x3), found 5" + note);
    }

    [Fact]
    public void TruncatedLabelData_Throws()
    {
        string path = _dir.Write("trunc-labels", DataTestFiles.LabelsIdx(3, LabelBytes[..2]));
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path)), path,
            "expected 3 bytes of label data after the header, found 2");
    }

    [Fact]
    public void TrailingBytes_Throw()
    {
        byte[] padded = new byte[Pixels.Length + 3];
        Pixels.CopyTo(padded, 0);
        string path = _dir.Write("long", DataTestFiles.ImagesIdx(3, 2, 3, padded));
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path,
            "found 3 unexpected bytes after the 18 bytes of pixel data");

        string labels = _dir.Write("long-labels", DataTestFiles.LabelsIdx(2, LabelBytes), gzip: true);
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(labels)), labels,
            "found 1 unexpected bytes after the 2 bytes of label data (after gzip decompression)");
    }

    [Fact]
    public void EmptyImageSize_Throws()
    {
        string path = _dir.Write("zero", DataTestFiles.ImagesIdx(3, 0, 3, Array.Empty<byte>()));
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path, "image size 0x3 in the header is empty");
    }

    [Fact]
    public void HugeDimensions_Throw()
    {
        string path = _dir.Write("huge", DataTestFiles.BuildIdx(0x00000803, new[] { -1, 28, 28 }, Array.Empty<byte>()));
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path, "dimension 0 in the header is 4294967295, too large");

        string big = _dir.Write("big", DataTestFiles.ImagesIdx(int.MaxValue, 28, 28, Array.Empty<byte>()));
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(big)), big, "more than one array can hold");
    }

    [Fact]
    public void CountMismatch_NamesBothFiles()
    {
        string images = _dir.Write("img", DataTestFiles.ImagesIdx(3, 2, 3, Pixels));
        string labels = _dir.Write("lbl", DataTestFiles.LabelsIdx(2, LabelBytes[..2]));
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadDataset(images, labels));
        AssertProblem(e, images, labels, "holds 3 images", "holds 2 labels", "count mismatch");
    }

    [Fact]
    public void CorruptGzipHeader_Throws()
    {
        string path = _dir.Write("garbage.gz", new byte[] { 0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 });
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path, "corrupt gzip data");
    }

    [Fact]
    public void CorruptGzipBody_Throws()
    {
        byte[] gz = DataTestFiles.Gzip(DataTestFiles.ImagesIdx(100, 28, 28, new byte[100 * 784]));
        for (int i = 12; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        string path = _dir.Write("scrambled.gz", gz);
        var e = Assert.ThrowsAny<InvalidDataException>(() => Idx.ReadImages(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void GzipChecksumMismatch_Throws()
    {
        byte[] pixels = new byte[100 * 784];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 7);
        byte[] gz = DataTestFiles.Gzip(DataTestFiles.ImagesIdx(100, 28, 28, pixels));
        gz[^6] ^= 1; // CRC-32 in the gzip trailer
        string path = _dir.Write("crc.gz", gz);
        AssertProblem(Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path)), path, "corrupt gzip data");
    }

    [Fact]
    public void TruncatedGzip_Throws()
    {
        byte[] gz = DataTestFiles.Gzip(DataTestFiles.ImagesIdx(100, 28, 28, new byte[100 * 784]));
        string path = _dir.Write("half.gz", gz[..(gz.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));
        Assert.Contains(path, e.Message);
        // .NET's GZipStream ends a truncated stream quietly (then the payload is short); a stricter one may report it.
        Assert.True(
            e.Message.Contains("expected 78400 bytes of pixel data after the header (100 images of 28x28), found")
                && e.Message.Contains("(after gzip decompression)")
            || e.Message.Contains("corrupt gzip data"),
            e.Message);
    }
}
