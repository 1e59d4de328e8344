using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using NetGen.Data;

namespace NetGen.Runtime.Tests;

/// <summary>A temporary directory for IDX files written by a test; deleted on dispose.</summary>
internal sealed class DataTempDirectory : IDisposable
{
    public DataTempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "netgen-data-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="name"/>, gzipped when asked, and returns the path.</summary>
    public string Write(string name, byte[] bytes, bool gzip = false)
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, gzip ? DataTestFiles.Gzip(bytes) : bytes);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Builds IDX files byte by byte, and finds the repository's bundled MNIST directory.</summary>
internal static class DataTestFiles
{
    /// <summary>An IDX image file: magic 0x00000803, count, rows, columns, then <paramref name="pixels"/>.</summary>
    public static byte[] ImagesIdx(int count, int rows, int columns, byte[] pixels) =>
        BuildIdx(0x00000803, new[] { count, rows, columns }, pixels);

    /// <summary>An IDX label file: magic 0x00000801, count, then <paramref name="labels"/>.</summary>
    public static byte[] LabelsIdx(int count, byte[] labels) => BuildIdx(0x00000801, new[] { count }, labels);

    public static byte[] BuildIdx(uint magic, int[] dims, byte[] payload)
    {
        var bytes = new byte[4 + 4 * dims.Length + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 4 * i), (uint)dims[i]);
        payload.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(bytes);
        return output.ToArray();
    }

    /// <summary>
    /// The bundled data/mnist directory: the runtime's own search (output copy, then parents of the base and
    /// current directories), else walking up from this source file's directory.
    /// </summary>
    public static string MnistDirectory([CallerFilePath] string sourceFile = "")
    {
        try
        {
            return Mnist.FindBundledDirectory(AppContext.BaseDirectory, Directory.GetCurrentDirectory());
        }
        catch (DirectoryNotFoundException)
        {
            for (var dir = new DirectoryInfo(System.IO.Path.GetDirectoryName(sourceFile) ?? "."); dir != null; dir = dir.Parent)
            {
                string candidate = System.IO.Path.Combine(dir.FullName, "data", "mnist");
                if (System.IO.File.Exists(System.IO.Path.Combine(candidate, Mnist.TrainImagesFileName))) return candidate;
            }
            throw;
        }
    }
}
