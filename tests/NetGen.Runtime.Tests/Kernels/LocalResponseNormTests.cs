using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class LocalResponseNormTests
{
    // (batch, channels, spatial, size): odd and even window sizes, window wider than the channels, one channel,
    // vector tails, spatial blocks in the backward pass (100 and 3 channels), and the pooled-scratch fallback (2100 channels)
    private static readonly (int Batch, int Channels, int Spatial, int Size)[] Shapes =
    {
        (2, 5, 7, 5), (1, 7, 37, 3), (2, 3, 17, 2), (1, 4, 5, 1), (1, 6, 3, 4), (1, 1, 9, 5), (2, 3, 2, 9),
        (2, 100, 37, 5), (1, 3, 700, 5), (1, 2100, 3, 3),
    };

    // (alpha, beta, k): PyTorch's defaults, and stronger normalization
    private static readonly (float Alpha, float Beta, float K)[] Settings = { (1e-4f, 0.75f, 1f), (0.5f, 0.75f, 1f), (2f, 0.6f, 2f) };

    public static IEnumerable<object[]> PathsAndFlag()
    {
        foreach (object[] p in KernelAssert.AllPaths())
        {
            yield return new object[] { p[0], false };
            yield return new object[] { p[0], true };
        }
    }

    /// <summary>PyTorch's definition in double: y = x * (k + alpha/size * sum_window x^2)^-beta, zero-padded window [c - size/2, c + (size-1)/2].</summary>
    private static double[] Reference(ReadOnlySpan<double> x, int batch, int channels, int spatial, int size, double alpha, double beta, double k)
    {
        var y = new double[x.Length];
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
                for (int s = 0; s < spatial; s++)
                {
                    double sum = 0;
                    for (int j = c - size / 2; j <= c + (size - 1) / 2; j++)
                        if (j >= 0 && j < channels) { double v = x[(n * channels + j) * spatial + s]; sum += v * v; }
                    int i = (n * channels + c) * spatial + s;
                    y[i] = x[i] * Math.Pow(k + alpha / size * sum, -beta);
                }
        return y;
    }

    /// <summary>Analytic input gradient in double, summing over every output channel whose window holds the input channel.</summary>
    private static double[] BackwardReference(ReadOnlySpan<double> x, ReadOnlySpan<double> dy, int batch, int channels, int spatial, int size, double alpha, double beta, double k)
    {
        var d = new double[x.Length];
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
                for (int s = 0; s < spatial; s++)
                {
                    double sum = 0;
                    for (int j = c - size / 2; j <= c + (size - 1) / 2; j++)
                        if (j >= 0 && j < channels) { double v = x[(n * channels + j) * spatial + s]; sum += v * v; }
                    d[(n * channels + c) * spatial + s] = k + alpha / size * sum;
                }
        var dx = new double[x.Length];
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)         // output channel
                for (int s = 0; s < spatial; s++)
                {
                    int i = (n * channels + c) * spatial + s;
                    dx[i] += dy[i] * Math.Pow(d[i], -beta);
                    double common = dy[i] * x[i] * -beta * Math.Pow(d[i], -beta - 1) * alpha / size * 2;
                    for (int j = c - size / 2; j <= c + (size - 1) / 2; j++)   // inputs in its window
                        if (j >= 0 && j < channels)
                        {
                            int at = (n * channels + j) * spatial + s;
                            dx[at] += common * x[at];
                        }
                }
        return dx;
    }

    private static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void ForwardMatchesDoubleReference(SimdPath path)
    {
        var rng = new Rng(500);
        foreach (var (batch, channels, spatial, size) in Shapes)
            foreach (var (alpha, beta, k) in Settings)
            {
                float[] x = KernelAssert.Random(ref rng, batch * channels * spatial, -2f, 2f), y = new float[x.Length];
                Array.Fill(y, float.NaN);
                LocalResponseNorm.Forward(path, y, x, batch, channels, spatial, size, alpha, beta, k);
                KernelAssert.Close(Reference(ToDouble(x), batch, channels, spatial, size, alpha, beta, k), y, 1e-6, 1e-5,
                    $"{path} b={batch} c={channels} s={spatial} size={size} alpha={alpha}");
            }
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardMatchesAnalyticReference(SimdPath path, bool accumulate)
    {
        var rng = new Rng(501);
        foreach (var (batch, channels, spatial, size) in Shapes)
            foreach (var (alpha, beta, k) in Settings)
            {
                float[] x = KernelAssert.Random(ref rng, batch * channels * spatial, -2f, 2f), dy = KernelAssert.Random(ref rng, x.Length);
                float[] dx = KernelAssert.Random(ref rng, x.Length);
                double[] expected = BackwardReference(ToDouble(x), ToDouble(dy), batch, channels, spatial, size, alpha, beta, k);
                if (accumulate) for (int i = 0; i < dx.Length; i++) expected[i] += dx[i];
                else Array.Fill(dx, float.NaN);
                LocalResponseNorm.Backward(path, dx, dy, x, batch, channels, spatial, size, alpha, beta, k, accumulate);
                KernelAssert.Close(expected, dx, 2e-6, 1e-5, $"{path} acc={accumulate} b={batch} c={channels} s={spatial} size={size} alpha={alpha}");
            }
    }

    [Fact]
    public void BackwardMatchesFiniteDifferences()
    {
        // L = sum(g * y(x)); central differences on the double reference
        var rng = new Rng(502);
        foreach (var (batch, channels, spatial, size) in new[] { (2, 5, 3, 5), (1, 6, 2, 4), (1, 4, 3, 2), (1, 3, 2, 7) })
            foreach (var (alpha, beta, k) in Settings)
            {
                float[] x = KernelAssert.Random(ref rng, batch * channels * spatial, -2f, 2f), g = KernelAssert.Random(ref rng, x.Length);
                float[] dx = new float[x.Length];
                LocalResponseNorm.Backward(dx, g, x, batch, channels, spatial, size, alpha, beta, k, accumulate: false);
                double[] xd = ToDouble(x);
                double Loss()
                {
                    double[] y = Reference(xd, batch, channels, spatial, size, alpha, beta, k);
                    double l = 0;
                    for (int i = 0; i < y.Length; i++) l += g[i] * y[i];
                    return l;
                }
                const double h = 1e-6;
                for (int i = 0; i < xd.Length; i++)
                {
                    double keep = xd[i];
                    xd[i] = keep + h; double plus = Loss();
                    xd[i] = keep - h; double minus = Loss();
                    xd[i] = keep;
                    KernelAssert.Close((plus - minus) / (2 * h), dx[i], 1e-5, 1e-4, $"b={batch} c={channels} s={spatial} size={size} alpha={alpha} i={i}");
                }
            }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.VectorPaths), MemberType = typeof(KernelAssert))]
    public void VectorPathsMatchScalar(SimdPath path)
    {
        var rng = new Rng(503);
        foreach (var (batch, channels, spatial, size) in Shapes)
        {
            float[] x = KernelAssert.Random(ref rng, batch * channels * spatial, -2f, 2f), dy = KernelAssert.Random(ref rng, x.Length);
            float[] ys = new float[x.Length], yv = new float[x.Length], dxs = new float[x.Length], dxv = new float[x.Length];
            LocalResponseNorm.Forward(SimdPath.Scalar, ys, x, batch, channels, spatial, size, 0.5f, 0.75f, 1f);
            LocalResponseNorm.Forward(path, yv, x, batch, channels, spatial, size, 0.5f, 0.75f, 1f);
            KernelAssert.Close(ys, yv, 1e-6, 1e-5, $"forward c={channels} s={spatial} size={size}");
            LocalResponseNorm.Backward(SimdPath.Scalar, dxs, dy, x, batch, channels, spatial, size, 0.5f, 0.75f, 1f, false);
            LocalResponseNorm.Backward(path, dxv, dy, x, batch, channels, spatial, size, 0.5f, 0.75f, 1f, false);
            KernelAssert.Close(dxs, dxv, 2e-6, 1e-5, $"backward c={channels} s={spatial} size={size}");
        }
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        var ex = Assert.Throws<ArgumentException>(() => LocalResponseNorm.Forward(new float[11], new float[12], 2, 3, 2, 5, 1e-4f, 0.75f, 1f));
        Assert.Contains("'output'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => LocalResponseNorm.Backward(new float[12], new float[12], new float[10], 2, 3, 2, 5, 1e-4f, 0.75f, 1f, false));
        Assert.Contains("'input'", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LocalResponseNorm.Forward(new float[12], new float[12], 2, 3, 2, 0, 1e-4f, 0.75f, 1f));
    }
}
