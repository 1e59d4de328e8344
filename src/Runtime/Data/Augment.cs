using System;

namespace NetGen.Data;

/// <summary>Allocation-free data augmentation for image batches.</summary>
public static class Augment
{
    /// <summary>
    /// Shifts each image of a batch ([count x channels x rows x columns]) by a random offset in
    /// [-maxShift, maxShift] on both axes, filling uncovered pixels with <paramref name="fill"/>.
    /// <paramref name="temp"/> must hold one image (channels x rows x columns floats).
    /// </summary>
    public static void RandomShift(Span<float> images, int count, int channels, int rows, int columns, int maxShift, float fill, Span<float> temp, ref Rng rng)
    {
        int size = channels * rows * columns;
        if (images.Length < count * size) throw new ArgumentException($"Augment.RandomShift: {images.Length} floats for {count} images of {size}.", nameof(images));
        if (temp.Length < size) throw new ArgumentException($"Augment.RandomShift: the temp buffer needs {size} floats.", nameof(temp));
        if (maxShift < 0) throw new ArgumentOutOfRangeException(nameof(maxShift));
        for (int n = 0; n < count; n++)
        {
            int dy = rng.NextInt(2 * maxShift + 1) - maxShift;
            int dx = rng.NextInt(2 * maxShift + 1) - maxShift;
            if (dx == 0 && dy == 0) continue;
            var image = images.Slice(n * size, size);
            image.CopyTo(temp);
            for (int c = 0; c < channels; c++)
            {
                for (int y = 0; y < rows; y++)
                {
                    int sy = y - dy;
                    var row = image.Slice((c * rows + y) * columns, columns);
                    if (sy < 0 || sy >= rows)
                    {
                        row.Fill(fill);
                        continue;
                    }
                    var source = temp.Slice((c * rows + sy) * columns, columns);
                    for (int x = 0; x < columns; x++)
                    {
                        int sx = x - dx;
                        row[x] = sx >= 0 && sx < columns ? source[sx] : fill;
                    }
                }
            }
        }
    }
}
