using System;

namespace NetGen.Cpu;

/// <summary>
/// Inverted dropout (PyTorch nn.Dropout in training mode): each element is kept with probability 1 - p
/// and scaled by 1 / (1 - p), so inference is the identity. The mask holds the scale factor (0 or
/// 1 / (1 - p)); the backward pass is <see cref="Elementwise.MultiplyBackward"/>(dInput, dOutput, mask, accumulate).
/// </summary>
public static class Dropout
{
    /// <summary>
    /// mask[i] = (rng.NextFloat() &gt;= p) ? 1 / (1 - p) : 0; output = input * mask. Draws exactly one
    /// <see cref="Rng.NextFloat"/> per element, in index order (also when p == 0, where the mask is all 1),
    /// so a seed reproduces the mask. output may be the very same span as input; mask must overlap neither.
    /// </summary>
    public static void Forward(Span<float> output /*[count]*/, Span<float> mask /*[count]*/, ReadOnlySpan<float> input /*[count]*/,
        float p, ref Rng rng)
    {
        Guard.SameLength(input.Length, output.Length, nameof(input));
        Guard.SameLength(mask.Length, output.Length, nameof(mask));
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout probability must be in [0, 1) but is {p}.");
        float scale = 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextFloat() >= p ? scale : 0f;
        Elementwise.Multiply(output, input, mask);
    }
}
