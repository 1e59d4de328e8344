using System;

namespace NetGen.Examples.Sequence.Audio;

/// <summary>
/// Signal-to-distortion ratio in decibels, the plain definition used here (no projection, no allowed filter):
/// SDR(s, s_hat) = 10 log10(|s|^2 / |s - s_hat|^2). The improvement of an estimate of a source from a mixture is
/// SDR(s, s_hat) - SDR(s, mixture).
/// </summary>
public static class Sdr
{
    /// <summary>SDR of <paramref name="estimate"/> against <paramref name="reference"/>, dB; +infinity for an exact estimate.</summary>
    public static double Compute(ReadOnlySpan<float> reference, ReadOnlySpan<float> estimate)
    {
        if (reference.Length != estimate.Length) throw new ArgumentException($"{reference.Length} reference samples but {estimate.Length} estimated ones.");
        double signal = 0, error = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double s = reference[i], d = s - estimate[i];
            signal += s * s;
            error += d * d;
        }
        if (signal == 0) throw new ArgumentException("The reference is silent; its SDR is undefined.", nameof(reference));
        return error == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / error);
    }

    /// <summary>SDR(s, estimate) - SDR(s, mixture): how many dB the estimate gains over using the mixture itself.</summary>
    public static double Improvement(ReadOnlySpan<float> reference, ReadOnlySpan<float> estimate, ReadOnlySpan<float> mixture) =>
        Compute(reference, estimate) - Compute(reference, mixture);
}
