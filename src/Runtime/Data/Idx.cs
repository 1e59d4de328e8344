using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace NetGen.Data;

/// <summary>
/// Reader for the IDX format used by MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian uint32 magic
/// number (0x00000803 for unsigned-byte images with 3 dimensions, 0x00000801 for unsigned-byte labels with
/// 1 dimension), one big-endian uint32 per dimension, then the unsigned bytes. Files may be gzipped or not;
/// compression is detected from the gzip magic bytes (1f 8b), not from the file name, so both the bundled
/// files and the official 60,000/10,000 MNIST files (.gz or decompressed) can be read.
/// </summary>
/// <remarks>
/// Every problem with a file throws <see cref="FileNotFoundException"/> (missing file) or
/// <see cref="InvalidDataException"/> whose message starts with the file's path and names the problem.
/// Labels are returned as they are stored (any byte value 0..255 is accepted).
/// </remarks>
public static class Idx
{
    /// <summary>Magic number of an unsigned-byte IDX file with 3 dimensions (count, rows, columns).</summary>
    public const uint ImagesMagic = 0x00000803;

    /// <summary>Magic number of an unsigned-byte IDX file with 1 dimension (count).</summary>
    public const uint LabelsMagic = 0x00000801;

    /// <summary>Reads an IDX image file; pixels become floats in [0, 1] (byte / 255f).</summary>
    public static ImageSet ReadImages(string path) => ReadImages(path, int.MaxValue);

    /// <summary>
    /// Reads at most the first <paramref name="maxCount"/> images of an IDX image file (the rest is not read or
    /// checked, so a prediction on one digit of a large file starts fast).
    /// </summary>
    public static ImageSet ReadImages(string path, int maxCount)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        using var file = new IdxFile(path);
        Span<int> dims = stackalloc int[3];
        file.ReadHeader(ImagesMagic, "an image file", dims);
        bool partial = maxCount < dims[0];
        int count = Math.Min(dims[0], maxCount), rows = dims[1], columns = dims[2];
        if (rows == 0 || columns == 0)
            throw file.Error($"image size {rows}x{columns} in the header is empty");
        long total = (long)count * rows * columns;
        if (total > Array.MaxLength)
            throw file.Error($"header says {count} images of {rows}x{columns} = {total} pixels, more than one array can hold");

        var pixels = new float[total];
        var scale = ByteToUnit;
        byte[] buffer = new byte[(int)Math.Min(total, 1 << 16)];
        long done = 0;
        while (done < total)
        {
            int want = (int)Math.Min(buffer.Length, total - done);
            int got = file.Read(buffer.AsSpan(0, want));
            for (int i = 0; i < got; i++) pixels[done + i] = scale[buffer[i]];
            done += got;
            if (got < want)
                throw file.Error(
                    $"expected {total} bytes of pixel data after the header ({count} images of {rows}x{columns}), found {done}{file.DecompressedNote}");
        }
        if (!partial) file.EnsureEnd(total, "pixel data");
        return new ImageSet(pixels, count, rows, columns);
    }

    /// <summary>True when the file starts like an IDX file: an IDX magic number, or gzip (how IDX files ship).</summary>
    public static bool IsIdx(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Span<byte> head = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        int got = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) return true;
        return got == 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08 && head[3] is >= 1 and <= 4;
    }

    /// <summary>Reads an IDX label file; each byte becomes one int label (0..255, not range-checked).</summary>
    public static int[] ReadLabels(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = new IdxFile(path);
        Span<int> dims = stackalloc int[1];
        file.ReadHeader(LabelsMagic, "a label file", dims);
        int count = dims[0];

        var labels = new int[count];
        byte[] buffer = new byte[Math.Min(Math.Max(count, 1), 1 << 16)];
        int done = 0;
        while (done < count)
        {
            int want = Math.Min(buffer.Length, count - done);
            int got = file.Read(buffer.AsSpan(0, want));
            for (int i = 0; i < got; i++) labels[done + i] = buffer[i];
            done += got;
            if (got < want)
                throw file.Error($"expected {count} bytes of label data after the header, found {done}{file.DecompressedNote}");
        }
        file.EnsureEnd(count, "label data");
        return labels;
    }

    /// <summary>Reads an image file and its label file and pairs them; their counts must match.</summary>
    public static Dataset ReadDataset(string imagesPath, string labelsPath)
    {
        ArgumentNullException.ThrowIfNull(imagesPath);
        ArgumentNullException.ThrowIfNull(labelsPath);
        int[] labels = ReadLabels(labelsPath);
        ImageSet images = ReadImages(imagesPath);
        if (images.Count != labels.Length)
            throw new InvalidDataException(
                $"{imagesPath}: holds {images.Count} images but the label file {labelsPath} holds {labels.Length} labels (count mismatch)");
        return new Dataset(images, labels);
    }

    private static readonly float[] ByteToUnit = CreateByteToUnit();

    private static float[] CreateByteToUnit()
    {
        var table = new float[256];
        for (int i = 0; i < table.Length; i++) table[i] = i / 255f;
        return table;
    }

    /// <summary>An open IDX file (raw or gzip), with error messages that name the path.</summary>
    private sealed class IdxFile : IDisposable
    {
        private readonly string _path;
        private readonly Stream _stream;
        private readonly bool _gzip;

        public IdxFile(string path)
        {
            _path = path;
            if (!File.Exists(path))
                throw new FileNotFoundException($"{path}: file not found", path);
            FileStream fs;
            try
            {
                fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidDataException($"{path}: cannot open the file: {e.Message}", e);
            }
            int b0 = fs.ReadByte(), b1 = fs.ReadByte();
            fs.Position = 0;
            _gzip = b0 == 0x1f && b1 == 0x8b;
            _stream = _gzip ? new GZipStream(fs, CompressionMode.Decompress) : fs;
        }

        public string DecompressedNote => _gzip ? " (after gzip decompression)" : "";

        public InvalidDataException Error(string problem, Exception? inner = null) =>
            new($"{_path}: {problem}", inner);

        /// <summary>Reads until <paramref name="buffer"/> is full or the data ends; returns the bytes read.</summary>
        public int Read(Span<byte> buffer)
        {
            int total = 0;
            try
            {
                while (total < buffer.Length)
                {
                    int n = _stream.Read(buffer[total..]);
                    if (n == 0) break;
                    total += n;
                }
            }
            catch (InvalidDataException e) when (_gzip)
            {
                throw Error($"corrupt gzip data: {e.Message}", e);
            }
            return total;
        }

        public void ReadHeader(uint expectedMagic, string what, Span<int> dims)
        {
            Span<byte> header = stackalloc byte[4 + 4 * dims.Length];
            int got = Read(header[..4]);
            if (got == 0)
                throw Error($"file is empty{DecompressedNote}, expected an IDX header");
            if (got < 4)
                throw Error($"file is too short for an IDX header: {got} bytes{DecompressedNote}");

            uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
            if (magic != expectedMagic)
            {
                uint type = (magic >> 8) & 0xFF, rank = magic & 0xFF;
                string problem = (magic >> 16) != 0
                    ? $"bad magic number 0x{magic:X8}: not an IDX file (expected 0x{expectedMagic:X8} for {what})"
                    : type != 0x08
                        ? $"bad magic number 0x{magic:X8}: unsupported IDX element type 0x{type:X2} (only unsigned byte, 0x08, is supported; expected 0x{expectedMagic:X8} for {what})"
                        : $"bad magic number 0x{magic:X8}: an IDX file with {rank} dimension(s), expected 0x{expectedMagic:X8} for {what}"
                          + (magic == LabelsMagic ? " (this looks like a label file)" : magic == ImagesMagic ? " (this looks like an image file)" : "");
                throw Error(problem);
            }

            got = Read(header[4..]);
            if (got < header.Length - 4)
                throw Error($"truncated IDX header: expected {header.Length} bytes, found {4 + got}{DecompressedNote}");
            for (int i = 0; i < dims.Length; i++)
            {
                uint d = BinaryPrimitives.ReadUInt32BigEndian(header[(4 + 4 * i)..]);
                if (d > int.MaxValue)
                    throw Error($"dimension {i} in the header is {d}, too large");
                dims[i] = (int)d;
            }
        }

        /// <summary>Throws when data follows the <paramref name="expected"/> payload bytes.</summary>
        public void EnsureEnd(long expected, string what)
        {
            Span<byte> probe = stackalloc byte[4096];
            long extra = 0;
            int n;
            while ((n = Read(probe)) > 0)
            {
                extra += n;
                if (n < probe.Length) break;
            }
            if (extra > 0)
                throw Error($"found {extra} unexpected bytes after the {expected} bytes of {what}{DecompressedNote} (the header's count does not match the file size)");
        }

        public void Dispose() => _stream.Dispose();
    }
}
