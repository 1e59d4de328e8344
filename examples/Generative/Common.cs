using System;
using System.Collections.Generic;
using NetGen;

namespace NetGen.Examples.Generative;

/// <summary>Small helpers shared by the three models.</summary>
public static class Common
{
    /// <summary>Fills <paramref name="values"/> with standard-normal samples.</summary>
    public static void Gaussian(Span<float> values, ref Rng rng)
    {
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextGaussian();
    }

    /// <summary>Maps pixels in [0, 1] to [-1, 1] (the range of a Tanh output).</summary>
    public static float[] ToSigned(ReadOnlySpan<float> pixels)
    {
        var result = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++) result[i] = 2f * pixels[i] - 1f;
        return result;
    }

    /// <summary>Writes the one-hot vectors of <paramref name="labels"/> ([count x classes]).</summary>
    public static void OneHot(ReadOnlySpan<int> labels, int count, int classes, Span<float> destination)
    {
        destination.Slice(0, count * classes).Clear();
        for (int i = 0; i < count; i++) destination[i * classes + labels[i]] = 1f;
    }

    /// <summary>
    /// Copies every parameter tensor of <paramref name="source"/> whose name and shape match one of
    /// <paramref name="destination"/> (a decoder-only network taking a trained VAE's decoder, for example).
    /// Returns the number of tensors copied; throws when a destination tensor has no match.
    /// </summary>
    public static int CopyByName(INetwork source, INetwork destination)
    {
        var byName = new Dictionary<string, ParameterInfo>(StringComparer.Ordinal);
        foreach (var p in source.Schema) byName[p.Name] = p;
        int copied = 0;
        Span<float> from = source.Parameters, to = destination.Parameters;
        foreach (var p in destination.Schema)
        {
            if (!byName.TryGetValue(p.Name, out var q) || q.Length != p.Length || q.ShapeText != p.ShapeText)
                throw new InvalidOperationException($"The source network has no parameter '{p.Name}' [{p.ShapeText}].");
            from.Slice(q.Offset, q.Length).CopyTo(to.Slice(p.Offset, p.Length));
            copied++;
        }
        return copied;
    }

    /// <summary>
    /// The DCGAN initialisation (Radford et al.; PyTorch's DCGAN example <c>weights_init</c>): convolution, transposed
    /// convolution and dense weights from N(0, 0.02), BatchNorm scales from N(1, 0.02), biases and shifts zero.
    /// BatchNorm parameters are recognised as 1-d <c>.weight</c> tensors (every other weight has rank 2 or 4).
    /// </summary>
    public static void DcganInit(INetwork network, ulong seed)
    {
        var rng = new Rng(seed);
        Span<float> parameters = network.Parameters;
        foreach (var p in network.Schema)
        {
            var values = parameters.Slice(p.Offset, p.Length);
            if (p.Name.EndsWith(".weight", StringComparison.Ordinal))
            {
                float mean = p.Shape.Length == 1 ? 1f : 0f;
                for (int i = 0; i < values.Length; i++) values[i] = mean + 0.02f * rng.NextGaussian();
            }
            else
            {
                values.Clear();
            }
        }
    }

    /// <summary>Logistic sigmoid, in place.</summary>
    public static void Sigmoid(Span<float> values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = 1f / (1f + MathF.Exp(-values[i]));
    }

    /// <summary>
    /// The standard normal quantile function (inverse CDF), by Acklam's rational approximation (relative error below
    /// 1.2e-9), for the VAE's latent-space grid.
    /// </summary>
    public static double NormalQuantile(double p)
    {
        if (!(p > 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must be in (0, 1).");
        double[] a = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 };
        double[] b = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01 };
        double[] c = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 };
        double[] d = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00 };
        const double low = 0.02425;
        if (p < low)
        {
            double q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > 1 - low) return -NormalQuantile(1 - p);
        double r = p - 0.5, s = r * r;
        return (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
    }
}
