using System;

namespace NetGen.Data;

/// <summary>
/// An in-memory labelled data set: <see cref="Count"/> samples of <see cref="SampleSize"/> features each,
/// stored contiguously (sample-major) in <see cref="Features"/>, with one integer label per sample in
/// <see cref="Labels"/>. Image data sets also record their shape (<see cref="Rows"/> x <see cref="Columns"/>
/// x <see cref="Channels"/>; within a sample the layout is row-major with channels innermost).
/// </summary>
public sealed class Dataset
{
    public Dataset(float[] features, int[] labels, int rows, int columns, int channels = 1)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        long sampleSize = (long)rows * columns * channels;
        if (sampleSize > int.MaxValue)
            throw new ArgumentException($"sample size {rows} x {columns} x {channels} is too large.");
        if (labels.LongLength * sampleSize != features.LongLength)
            throw new ArgumentException(
                $"features has {features.Length} values, expected {labels.Length} labels x {sampleSize} features per sample = {labels.LongLength * sampleSize}.",
                nameof(features));
        Features = features;
        Labels = labels;
        Rows = rows;
        Columns = columns;
        Channels = channels;
    }

    /// <summary>Pairs images with their labels; the counts must match.</summary>
    public Dataset(ImageSet images, int[] labels)
        : this((images ?? throw new ArgumentNullException(nameof(images))).Pixels, labels, images.Rows, images.Columns)
    {
    }

    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>Features per sample (<see cref="Rows"/> * <see cref="Columns"/> * <see cref="Channels"/>).</summary>
    public int SampleSize => Rows * Columns * Channels;

    /// <summary>Image height (1 for non-image data laid out as a single row).</summary>
    public int Rows { get; }

    /// <summary>Image width.</summary>
    public int Columns { get; }

    /// <summary>Channels per pixel (1 for MNIST).</summary>
    public int Channels { get; }

    /// <summary>All features, <see cref="Count"/> * <see cref="SampleSize"/> values.</summary>
    public float[] Features { get; }

    /// <summary>One label per sample.</summary>
    public int[] Labels { get; }

    /// <summary>The features of sample <paramref name="index"/> (a view, no copy).</summary>
    public Span<float> GetFeatures(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"must be in [0, {Count}).");
        return Features.AsSpan(index * SampleSize, SampleSize);
    }
}
