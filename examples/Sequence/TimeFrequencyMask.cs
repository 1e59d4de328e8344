using System;

namespace NetGen.Examples.Sequence;

/// <summary>
/// The time-frequency masking layer of Huang et al. as a loss-side layer in example code (the network ends in its
/// sigmoid; this layer has no weights). Per frame the network emits ỹ1 (bins 0..K-1) and ỹ2 (bins K..2K-1), both in
/// (0, 1); with the mixture magnitude z:
/// <code>
///   s   = ỹ1 + ỹ2 + eps
///   ŷ1  = ỹ1 / s * z          (voice)
///   ŷ2  = ỹ2 / s * z          (accompaniment)
///   L   = mean over samples, frames and bins of (ŷ1 - y1)^2 + (ŷ2 - y2)^2
/// </code>
/// and its gradient with respect to ỹ1, ỹ2 (the network's output), which <see cref="Loss"/> writes for Backward:
/// <code>
///   e1 = 2 (ŷ1 - y1) / M,  e2 = 2 (ŷ2 - y2) / M      (M = batch * frames * bins)
///   dL/dỹ1 = z (e1 (ỹ2 + eps) - e2 ỹ2) / s^2
///   dL/dỹ2 = z (e2 (ỹ1 + eps) - e1 ỹ1) / s^2
/// </code>
/// The two masks sum to 1 - eps/s, so ŷ1 + ŷ2 reproduces the mixture magnitude (the constraint the paper builds in).
/// </summary>
public static class TimeFrequencyMask
{
    public const float Epsilon = 1e-6f;

    /// <summary>
    /// Source magnitudes from the network output <paramref name="raw"/> ([count frames x 2K]) and the mixture magnitude
    /// <paramref name="mixture"/> ([count frames x K]); <paramref name="voice"/>/<paramref name="accompaniment"/> [count frames x K].
    /// </summary>
    public static void Apply(ReadOnlySpan<float> raw, ReadOnlySpan<float> mixture, Span<float> voice, Span<float> accompaniment, int frames, int bins)
    {
        for (int t = 0; t < frames; t++)
        {
            var a = raw.Slice(t * 2 * bins, bins);
            var b = raw.Slice(t * 2 * bins + bins, bins);
            for (int k = 0; k < bins; k++)
            {
                float z = mixture[t * bins + k], s = a[k] + b[k] + Epsilon;
                voice[t * bins + k] = a[k] / s * z;
                accompaniment[t * bins + k] = b[k] / s * z;
            }
        }
    }

    /// <summary>The voice mask ỹ1 / (ỹ1 + ỹ2 + eps) of every frame and bin ([frames x K]).</summary>
    public static void VoiceMask(ReadOnlySpan<float> raw, Span<float> mask, int frames, int bins)
    {
        for (int t = 0; t < frames; t++)
            for (int k = 0; k < bins; k++)
            {
                float a = raw[t * 2 * bins + k], b = raw[t * 2 * bins + bins + k];
                mask[t * bins + k] = a / (a + b + Epsilon);
            }
    }

    /// <summary>
    /// The mean loss over <paramref name="frames"/> rows (all samples of a batch: batch * frames) and its gradient with
    /// respect to <paramref name="raw"/>, written (not accumulated) into <paramref name="rawGradient"/> ([frames x 2K]).
    /// </summary>
    public static float Loss(ReadOnlySpan<float> raw, ReadOnlySpan<float> mixture, ReadOnlySpan<float> voice, ReadOnlySpan<float> accompaniment,
        int frames, int bins, Span<float> rawGradient)
    {
        double total = 0;
        float scale = 2f / ((float)frames * bins);
        for (int t = 0; t < frames; t++)
        {
            int o = t * 2 * bins, m = t * bins;
            for (int k = 0; k < bins; k++)
            {
                float a = raw[o + k], b = raw[o + bins + k], z = mixture[m + k];
                float s = a + b + Epsilon, inverse = 1f / s;
                float d1 = a * inverse * z - voice[m + k], d2 = b * inverse * z - accompaniment[m + k];
                total += (double)d1 * d1 + (double)d2 * d2;
                float e1 = scale * d1, e2 = scale * d2, zs2 = z * inverse * inverse;
                rawGradient[o + k] = zs2 * (e1 * (b + Epsilon) - e2 * b);
                rawGradient[o + bins + k] = zs2 * (e2 * (a + Epsilon) - e1 * a);
            }
        }
        return (float)(total / ((double)frames * bins));
    }
}
