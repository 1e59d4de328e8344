using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NetGen;

namespace NetGen.Runtime.Tests;

/// <summary>A fresh temporary directory, deleted on dispose.</summary>
internal sealed class CheckpointTempDir : IDisposable
{
    public CheckpointTempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "netgen-ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Leftover temporary files of an atomic save, anywhere below this directory.</summary>
    public string[] TempFiles() =>
        Directory.GetFiles(Path, "*", SearchOption.AllDirectories)
            .Where(f => System.IO.Path.GetFileName(f).Contains(".tmp-", StringComparison.Ordinal))
            .ToArray();

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

internal static class StFile
{
    /// <summary>A LeNet-5-like schema laid out contiguously: C1.weight, C1.bias, F6.weight, F6.bias.</summary>
    public static ParameterInfo[] LeNetSchema(out int total)
    {
        var schema = new[]
        {
            new ParameterInfo("C1.weight", new[] { 6, 1, 5, 5 }, 0),
            new ParameterInfo("C1.bias", new[] { 6 }, 150),
            new ParameterInfo("F6.weight", new[] { 10, 4 }, 156),
            new ParameterInfo("F6.bias", new[] { 10 }, 196),
        };
        total = 206;
        return schema;
    }

    public static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    /// <summary>Distinctive values to detect any write into a destination that must stay unchanged.</summary>
    public static float[] Sentinel(int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = -1000f - i;
        return v;
    }

    public static byte[] F32Bytes(params float[] values)
    {
        var b = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), values[i]);
        return b;
    }

    /// <summary>
    /// Builds a safetensors file by hand: 8-byte LE header length, the header bytes (optionally space-padded to a
    /// multiple of 8, as recent safetensors versions do), then the data.
    /// </summary>
    public static byte[] Build(string headerJson, byte[] data, bool pad = false, ulong? headerLengthOverride = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        return BuildRaw(header, data, pad, headerLengthOverride);
    }

    public static byte[] BuildRaw(byte[] header, byte[] data, bool pad = false, ulong? headerLengthOverride = null)
    {
        int n = header.Length;
        int padded = pad ? (n + 7) / 8 * 8 : n;
        var file = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, headerLengthOverride ?? (ulong)padded);
        header.CopyTo(file, 8);
        file.AsSpan(8 + n, padded - n).Fill((byte)' ');
        data.CopyTo(file, 8 + padded);
        return file;
    }

    public static string Entry(string name, string dtype, int[] shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{end}]}}";

    /// <summary>A header JSON for the given tensors, laid out contiguously in the given order.</summary>
    public static string Header(IEnumerable<(string Name, string DType, int[] Shape)> tensors, string? metadataJson = null, int bytesPerElement = 4)
    {
        var parts = new List<string>();
        if (metadataJson is not null) parts.Add("\"__metadata__\":" + metadataJson);
        long offset = 0;
        foreach (var (name, dtype, shape) in tensors)
        {
            long numel = shape.Aggregate(1L, (a, d) => a * d);
            int size = dtype == "F16" || dtype == "BF16" ? 2 : dtype == "F64" ? 8 : bytesPerElement;
            parts.Add(Entry(name, dtype, shape, offset, offset + numel * size));
            offset += numel * size;
        }
        return "{" + string.Join(",", parts) + "}";
    }
}
