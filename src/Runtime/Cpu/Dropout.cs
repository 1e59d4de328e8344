using System;

namespace NetGen.Cpu;

/// <summary>
/// Inverted dropout (PyTorch nn.Dropout in training mode): each element is kept with probability 1 - p
/// and scaled by 1 / (1 - p), so inference is the identity. The mask holds the scale factor (0 or
/// 1 / (1 - p)); the backward pass is <see cref="Elementwise.MultiplyBackward"/>(dInput, dOutput, mask, accumulate).
/// <para>
/// The mask is counter-based: element i of a call is kept when <see cref="Uniform"/>(key, i) &gt;= p, with one 64-bit
/// key per call drawn from the network's <see cref="Rng"/>. Every element is independent of the others, so the CUDA
/// path computes the very same mask in parallel (its kernel is the same arithmetic), and a seed still reproduces
/// every mask.
/// </para>
/// </summary>
public static class Dropout
{
    /// <summary>
    /// Draws this call's key from <paramref name="rng"/> (two <see cref="Rng.NextUInt"/>), then
    /// <see cref="Forward(Span{float}, Span{float}, ReadOnlySpan{float}, float, ulong)"/>. output may be the very
    /// same span as input; mask must overlap neither.
    /// </summary>
    public static void Forward(Span<float> output /*[count]*/, Span<float> mask /*[count]*/, ReadOnlySpan<float> input /*[count]*/,
        float p, ref Rng rng)
    {
        Check(output.Length, mask.Length, input.Length, p);
        Forward(output, mask, input, p, NextKey(ref rng));
    }

    /// <summary>mask[i] = <see cref="Uniform"/>(key, i) &gt;= p ? 1 / (1 - p) : 0; output = input * mask.</summary>
    public static void Forward(Span<float> output /*[count]*/, Span<float> mask /*[count]*/, ReadOnlySpan<float> input /*[count]*/,
        float p, ulong key)
    {
        Check(output.Length, mask.Length, input.Length, p);
        float scale = 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = Uniform(key, i) >= p ? scale : 0f;
        Elementwise.Multiply(output, input, mask);
    }

    /// <summary>One call's key: the next 64 bits of <paramref name="rng"/>.</summary>
    public static ulong NextKey(ref Rng rng) => ((ulong)rng.NextUInt() << 32) | rng.NextUInt();

    /// <summary>
    /// Uniform in [0, 1) with 24 bits, from (key, index) alone: SplitMix64's finalizer of key + (index + 1) * golden
    /// gamma, top 24 bits. The CUDA kernel netgen_dropout_forward computes exactly this.
    /// </summary>
    public static float Uniform(ulong key, int index)
    {
        ulong z = key + (ulong)(uint)(index + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (uint)(z >> 40) * (1.0f / 16777216.0f);
    }

    private static void Check(int output, int mask, int input, float p)
    {
        Guard.SameLength(input, output, "input");
        Guard.SameLength(mask, output, "mask");
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout probability must be in [0, 1) but is {p}.");
    }
}
