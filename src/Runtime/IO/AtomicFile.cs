using System;
using System.IO;
using System.Security.Cryptography;

namespace NetGen.IO;

/// <summary>
/// Writes a file atomically: the content goes to a temporary file in the same folder, is flushed to disk,
/// and only then renamed over <c>path</c>. A crash or exception half way leaves the old file untouched
/// (and the temporary file is deleted when possible).
/// <code>
/// using var file = AtomicFile.Create(path);
/// file.Stream.Write(bytes);
/// file.Commit();           // without Commit, Dispose discards the new content
/// </code>
/// </summary>
public sealed class AtomicFile : IDisposable
{
    private readonly string _path;
    private readonly string _tempPath;
    private FileStream? _stream;

    private AtomicFile(string path)
    {
        _path = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        _tempPath = _path + ".tmp-" + RandomNumberGenerator.GetHexString(16, lowercase: true);
        _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
    }

    public static AtomicFile Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new AtomicFile(path);
    }

    /// <summary>Where to write the new content.</summary>
    public Stream Stream => _stream ?? throw new ObjectDisposedException(nameof(AtomicFile));

    /// <summary>Flushes the content to disk and replaces the target file with it.</summary>
    public void Commit()
    {
        var stream = _stream ?? throw new ObjectDisposedException(nameof(AtomicFile));
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        _stream = null;
        try
        {
            File.Move(_tempPath, _path, overwrite: true);
        }
        catch
        {
            TryDelete(_tempPath);
            throw;
        }
    }

    /// <summary>Discards the temporary file unless <see cref="Commit"/> ran.</summary>
    public void Dispose()
    {
        if (_stream is null) return;
        _stream.Dispose();
        _stream = null;
        TryDelete(_tempPath);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
