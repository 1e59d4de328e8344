using System;

namespace NetGen.Data;

/// <summary>
/// Images read from an IDX image file: <see cref="Count"/> images of <see cref="Rows"/> x <see cref="Columns"/>
/// pixels, stored contiguously (image-major, then row-major) in <see cref="Pixels"/> as floats in [0, 1]
/// (the file's byte value / 255f).
/// </summary>
public sealed class ImageSet
{
    public ImageSet(float[] pixels, int count, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if ((long)count * rows * columns != pixels.Length)
            throw new ArgumentException(
                $"pixels has {pixels.Length} values, expected {count} x {rows} x {columns} = {(long)count * rows * columns}.",
                nameof(pixels));
        Pixels = pixels;
        Count = count;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Height of each image in pixels.</summary>
    public int Rows { get; }

    /// <summary>Width of each image in pixels.</summary>
    public int Columns { get; }

    /// <summary>Pixels per image (<see cref="Rows"/> * <see cref="Columns"/>).</summary>
    public int SampleSize => Rows * Columns;

    /// <summary>All pixels, <see cref="Count"/> * <see cref="SampleSize"/> values in [0, 1].</summary>
    public float[] Pixels { get; }

    /// <summary>The pixels of image <paramref name="index"/> (a view, no copy).</summary>
    public Span<float> GetImage(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"must be in [0, {Count}).");
        return Pixels.AsSpan(index * SampleSize, SampleSize);
    }
}
