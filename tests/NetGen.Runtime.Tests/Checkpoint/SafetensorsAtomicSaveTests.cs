using System;
using System.Collections.Generic;
using System.IO;
using NetGen;
using Xunit;

namespace NetGen.Runtime.Tests;

public sealed class SafetensorsAtomicSaveTests : IDisposable
{
    private readonly CheckpointTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private (string Path, byte[] Bytes, ParameterInfo[] Schema, int Total) ExistingCheckpoint()
    {
        var schema = StFile.LeNetSchema(out int total);
        string path = _dir.File("lenet5.safetensors");
        Safetensors.Save(path, schema, StFile.Values(total, 11), new Dictionary<string, string> { ["epoch"] = "1" });
        return (path, File.ReadAllBytes(path), schema, total);
    }

    [Fact]
    public void ParametersTooShort_ThrowsBeforeWriting_ExistingFileUntouched()
    {
        var (path, bytes, schema, total) = ExistingCheckpoint();
        var ex = Assert.Throws<ArgumentException>(() => Safetensors.Save(path, schema, new float[total - 1]));
        Assert.Equal("parameters", ex.ParamName);
        Assert.Contains("F6.bias", ex.Message);
        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Empty(_dir.TempFiles());
    }

    [Fact]
    public void DirectoryCannotBeCreated_ExistingFileUntouched_NoTempFiles()
    {
        var (path, bytes, schema, total) = ExistingCheckpoint();
        // The "directory" is an existing regular file, so it cannot be created.
        string target = Path.Combine(path, "sub", "x.safetensors");
        Assert.ThrowsAny<IOException>(() => Safetensors.Save(target, schema, StFile.Values(total, 12)));
        Assert.True(File.Exists(path));
        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Empty(_dir.TempFiles());
    }

    [Fact]
    public void FailureAfterTempFileWritten_TempFileRemoved_DestinationUntouched()
    {
        // The destination is a non-empty directory: the temp file is written in full, then the final
        // rename fails. The temp file must be cleaned up and the directory left as it was.
        var schema = StFile.LeNetSchema(out int total);
        string target = _dir.File("ckpt.safetensors");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "keep");

        var ex = Record.Exception(() => Safetensors.Save(target, schema, StFile.Values(total, 13)));
        Assert.NotNull(ex);
        Assert.True(ex is IOException || ex is UnauthorizedAccessException, ex.ToString());
        Assert.True(Directory.Exists(target));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(target, "keep.txt")));
        Assert.Empty(_dir.TempFiles());
    }

    [Fact]
    public void InvalidStrings_ThrowBeforeWriting_ExistingFileUntouched()
    {
        var (path, bytes, schema, total) = ExistingCheckpoint();
        var values = StFile.Values(total, 14);

        var meta = new Dictionary<string, string> { ["bad"] = "lone \uD800 surrogate" };
        var ex = Assert.Throws<ArgumentException>(() => Safetensors.Save(path, schema, values, meta));
        Assert.Equal("metadata", ex.ParamName);
        Assert.Contains("unpaired surrogate", ex.Message);

        var nullValue = new Dictionary<string, string> { ["k"] = null! };
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, schema, values, nullValue));

        var badName = new[] { new ParameterInfo("w\uDC00", new[] { 1 }, 0) };
        Assert.Equal("schema", Assert.Throws<ArgumentException>(() => Safetensors.Save(path, badName, values)).ParamName);

        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Empty(_dir.TempFiles());
    }

    [Fact]
    public void InvalidSchema_ThrowsBeforeWriting()
    {
        var (path, bytes, _, _) = ExistingCheckpoint();
        float[] values = new float[10];
        var duplicate = new[] { new ParameterInfo("w", new[] { 2 }, 0), new ParameterInfo("w", new[] { 2 }, 2) };
        Assert.Contains("duplicate", Assert.Throws<ArgumentException>(() => Safetensors.Save(path, duplicate, values)).Message);
        var reserved = new[] { new ParameterInfo("__metadata__", new[] { 2 }, 0) };
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, reserved, values));
        var negativeOffset = new[] { new ParameterInfo("w", new[] { 2 }, -1) };
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, negativeOffset, values));
        var nullEntry = new ParameterInfo[] { null! };
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, nullEntry, values));
        Assert.ThrowsAny<ArgumentException>(() => Safetensors.Save("", duplicate, values));

        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Empty(_dir.TempFiles());
    }

    [Fact]
    public void SuccessfulOverwrite_ReplacesFile_NoTempFiles()
    {
        var (path, bytes, schema, total) = ExistingCheckpoint();
        float[] values = StFile.Values(total, 15);
        Safetensors.Save(path, schema, values);
        Assert.NotEqual(bytes, File.ReadAllBytes(path));
        var dest = new float[total];
        Safetensors.Load(path, schema, dest);
        Assert.Equal(values, dest);
        Assert.Empty(Safetensors.ReadMetadata(path));
        Assert.Empty(_dir.TempFiles());
    }
}
