using System;
using System.IO;

namespace NetGen;

/// <summary>
/// A checkpoint file is malformed or does not match the network it is loaded into.
/// The message always starts with the file path and names the exact problem, e.g.
/// <c>lenet5.safetensors: tensor 'C1.weight' has shape [6, 1, 3, 3] but the network expects [6, 1, 5, 5]</c>.
/// </summary>
/// <remarks>
/// Derives from <see cref="IOException"/>: <see cref="InvalidDataException"/> is sealed in .NET and cannot be a base.
/// A single <c>catch (IOException)</c> around a load therefore covers missing files, I/O errors and bad checkpoints.
/// </remarks>
public sealed class CheckpointException : IOException
{
    /// <summary>Creates the exception; the message becomes <c>"{filePath}: {problem}"</c>.</summary>
    public CheckpointException(string filePath, string? tensorName, string problem, Exception? innerException = null)
        : base(filePath + ": " + problem, innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>The checkpoint file, as the caller named it.</summary>
    public string FilePath { get; }

    /// <summary>The tensor the problem concerns, or null when it concerns the file as a whole.</summary>
    public string? TensorName { get; }

    /// <summary>The problem alone, without the file path prefix.</summary>
    public string Problem { get; }
}
