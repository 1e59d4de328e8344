using System;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class ActivationTests
{
    private static readonly float[] Extremes =
    {
        float.NegativeInfinity, -1e30f, -1e4f, -200f, -100f, -88.5f, -20f, -9.5f, -1f, -1e-30f, -0f,
        0f, 1e-30f, 1e-10f, 1f, 9.5f, 20f, 88.5f, 100f, 200f, 1e4f, 1e30f, float.PositiveInfinity,
    };

    // ------------------------------------------------------------------ tanh

    /// <summary>
    /// Long passes are split over the worker pool: the result equals the same pass run in short pieces (each below
    /// the split threshold, so on one thread), bit for bit, for every path.
    /// </summary>
    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void LongPassesDoNotDependOnTheSplit(SimdPath path)
    {
        var rng = new Rng(14);
        const int n = 100_003, piece = 997;   // odd lengths: vector tails inside the split pieces and the short ones
        float[] x = KernelAssert.Random(ref rng, n, -4f, 4f), dy = KernelAssert.Random(ref rng, n), start = KernelAssert.Random(ref rng, n);
        void Check(string what, Action<int, int, float[]> run)
        {
            float[] whole = new float[n], pieces = new float[n];
            Array.Copy(start, whole, n);
            Array.Copy(start, pieces, n);
            run(0, n, whole);
            for (int i = 0; i < n; i += piece) run(i, Math.Min(piece, n - i), pieces);
            Assert.True(whole.AsSpan().SequenceEqual(pieces), what);
        }
        Check("tanh", (i, c, o) => Activations.TanhForward(path, o.AsSpan(i, c), x.AsSpan(i, c)));
        Check("relu", (i, c, o) => Activations.ReluForward(path, o.AsSpan(i, c), x.AsSpan(i, c)));
        foreach (bool accumulate in new[] { false, true })
        {
            Check("tanh backward", (i, c, o) => Activations.TanhBackward(path, o.AsSpan(i, c), dy.AsSpan(i, c), x.AsSpan(i, c), accumulate));
            Check("relu backward", (i, c, o) => Activations.ReluBackward(path, o.AsSpan(i, c), dy.AsSpan(i, c), x.AsSpan(i, c), accumulate));
        }
    }

    [Fact]
    public void TanhScalarMatchesDoublePrecision()
    {
        var rng = new Rng(10);
        float[] x = KernelAssert.Random(ref rng, 1000, -12f, 12f), y = new float[1000];
        Activations.TanhForwardScalar(y, x);
        for (int i = 0; i < x.Length; i++) KernelAssert.Close(Math.Tanh(x[i]), y[i], 1e-7, 1e-6, $"x={x[i]}");
    }

    [Theory]
    [MemberData(nameof(KernelAssert.VectorPaths), MemberType = typeof(KernelAssert))]
    public void TanhForwardMatchesScalar(SimdPath path)
    {
        var rng = new Rng(11);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] x = KernelAssert.Random(ref rng, n, -10f, 10f);
            float[] expected = new float[n], actual = new float[n];
            Activations.TanhForwardScalar(expected, x);
            Activations.TanhForward(path, actual, x);
            KernelAssert.Close(expected, actual, 1e-6, what: $"tanh n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void TanhIsExactAtExtremesAndAccurateNearZero(SimdPath path)
    {
        // two copies at different offsets, so extremes land in vector bodies and in scalar tails
        float[] x = new float[Extremes.Length * 2 + 1];
        Extremes.CopyTo(x, 0);
        Extremes.CopyTo(x, Extremes.Length + 1);
        float[] y = new float[x.Length];
        Activations.TanhForward(path, y, x);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.False(float.IsNaN(y[i]), $"tanh({x[i]}) is NaN");
            if (Math.Abs(x[i]) >= 20f) Assert.Equal(MathF.Sign(x[i]) * 1f, y[i]);
            else KernelAssert.Close(Math.Tanh(x[i]), y[i], 1e-7, 1e-6, $"tanh({x[i]})");
        }

        // relative accuracy for small inputs (no cancellation to 0)
        var rng = new Rng(12);
        float[] small = new float[203], ys = new float[203];
        for (int i = 0; i < small.Length; i++) small[i] = MathF.Pow(10f, rng.NextUniform(-9f, -0.3f)) * (i % 2 == 0 ? 1 : -1);
        Activations.TanhForward(path, ys, small);
        for (int i = 0; i < small.Length; i++) KernelAssert.Close(Math.Tanh(small[i]), ys[i], 0, 2e-6, $"tanh({small[i]})");
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void TanhBackwardIsDyTimesOneMinusYSquared(SimdPath path)
    {
        var rng = new Rng(13);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] y = KernelAssert.Random(ref rng, n), dy = KernelAssert.Random(ref rng, n), start = KernelAssert.Random(ref rng, n);
            float[] dx = new float[n];
            Array.Fill(dx, float.NaN);
            Activations.TanhBackward(path, dx, dy, y, accumulate: false);
            for (int i = 0; i < n; i++) KernelAssert.Close(dy[i] * (1.0 - (double)y[i] * y[i]), dx[i], 1e-6, what: $"n={n} i={i}");
            start.CopyTo(dx, 0);
            Activations.TanhBackward(path, dx, dy, y, accumulate: true);
            for (int i = 0; i < n; i++) KernelAssert.Close(start[i] + dy[i] * (1.0 - (double)y[i] * y[i]), dx[i], 1e-6, what: $"acc n={n} i={i}");
        }
    }

    // ------------------------------------------------------------------ sigmoid

    [Theory]
    [MemberData(nameof(KernelAssert.VectorPaths), MemberType = typeof(KernelAssert))]
    public void SigmoidForwardMatchesScalar(SimdPath path)
    {
        var rng = new Rng(14);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] x = KernelAssert.Random(ref rng, n, -15f, 15f);
            float[] expected = new float[n], actual = new float[n];
            Activations.SigmoidForwardScalar(expected, x);
            Activations.SigmoidForward(path, actual, x);
            KernelAssert.Close(expected, actual, 1e-6, what: $"sigmoid n={n}");
            for (int i = 0; i < n; i++) KernelAssert.Close(1.0 / (1.0 + Math.Exp(-x[i])), expected[i], 1e-7, 1e-6, $"scalar x={x[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void SigmoidSaturatesExactlyWithoutNaN(SimdPath path)
    {
        float[] x = new float[Extremes.Length * 2 + 1];
        Extremes.CopyTo(x, 0);
        Extremes.CopyTo(x, Extremes.Length + 1);
        float[] y = new float[x.Length];
        Activations.SigmoidForward(path, y, x);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.False(float.IsNaN(y[i]), $"sigmoid({x[i]}) is NaN");
            if (x[i] <= -100f) Assert.Equal(0f, y[i]);
            else if (x[i] >= 20f) Assert.Equal(1f, y[i]);
            else KernelAssert.Close(1.0 / (1.0 + Math.Exp(-(double)x[i])), y[i], 1e-7, 1e-6, $"sigmoid({x[i]})");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void SigmoidBackwardIsDyTimesYTimesOneMinusY(SimdPath path)
    {
        var rng = new Rng(15);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] y = KernelAssert.Random(ref rng, n, 0f, 1f), dy = KernelAssert.Random(ref rng, n), start = KernelAssert.Random(ref rng, n);
            float[] dx = new float[n];
            Array.Fill(dx, float.NaN);
            Activations.SigmoidBackward(path, dx, dy, y, accumulate: false);
            for (int i = 0; i < n; i++) KernelAssert.Close((double)dy[i] * y[i] * (1.0 - y[i]), dx[i], 1e-6, what: $"n={n} i={i}");
            start.CopyTo(dx, 0);
            Activations.SigmoidBackward(path, dx, dy, y, accumulate: true);
            for (int i = 0; i < n; i++) KernelAssert.Close(start[i] + (double)dy[i] * y[i] * (1.0 - y[i]), dx[i], 1e-6, what: $"acc n={n} i={i}");
        }
    }

    // ------------------------------------------------------------------ relu

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void ReluForwardAndBackward(SimdPath path)
    {
        var rng = new Rng(16);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] x = KernelAssert.Random(ref rng, n);
            if (n > 2) { x[0] = 0f; x[1] = -0f; x[2] = float.NaN; }
            float[] y = new float[n];
            Activations.ReluForward(path, y, x);
            for (int i = 0; i < n; i++)
            {
                float expected = x[i] > 0f ? x[i] : 0f;
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[i]), $"relu({x[i]}) = {y[i]}");
            }

            float[] dy = KernelAssert.Random(ref rng, n), start = KernelAssert.Random(ref rng, n), dx = new float[n];
            Array.Fill(dx, float.NaN);
            Activations.ReluBackward(path, dx, dy, y, accumulate: false);
            for (int i = 0; i < n; i++) Assert.Equal(y[i] > 0f ? dy[i] : 0f, dx[i]);
            start.CopyTo(dx, 0);
            Activations.ReluBackward(path, dx, dy, y, accumulate: true);
            for (int i = 0; i < n; i++) Assert.Equal(start[i] + (y[i] > 0f ? dy[i] : 0f), dx[i]);
        }
    }

    // ------------------------------------------------------------------ leaky relu

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void LeakyReluForwardAndBackward(SimdPath path)
    {
        var rng = new Rng(21);
        foreach (float slope in new[] { 0.01f, 0.2f, 0f })
            foreach (int n in KernelAssert.OddSizes)
            {
                float[] x = KernelAssert.Random(ref rng, n);
                if (n > 3) { x[0] = 0f; x[1] = -0f; x[2] = float.NaN; x[3] = float.NegativeInfinity; }
                float[] y = new float[n];
                Activations.LeakyReluForward(path, y, x, slope);
                for (int i = 0; i < n; i++)
                {
                    float expected = x[i] > 0f ? x[i] : slope * x[i];
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[i]) || (float.IsNaN(expected) && float.IsNaN(y[i])),
                        $"leaky_relu({x[i]}, {slope}) = {y[i]}");
                    if (!float.IsNaN(x[i]) && !float.IsInfinity(x[i]))
                        KernelAssert.Close(x[i] > 0 ? x[i] : (double)slope * x[i], y[i], 1e-7, 1e-7, $"x={x[i]}");
                }

                float[] dy = KernelAssert.Random(ref rng, n), start = KernelAssert.Random(ref rng, n), dx = new float[n];
                Array.Fill(dx, float.NaN);
                Activations.LeakyReluBackward(path, dx, dy, x, slope, accumulate: false);
                for (int i = 0; i < n; i++) Assert.Equal(x[i] > 0f ? dy[i] : slope * dy[i], dx[i]);
                start.CopyTo(dx, 0);
                Activations.LeakyReluBackward(path, dx, dy, x, slope, accumulate: true);
                for (int i = 0; i < n; i++) Assert.Equal(start[i] + (x[i] > 0f ? dy[i] : slope * dy[i]), dx[i]);
            }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.VectorPaths), MemberType = typeof(KernelAssert))]
    public void LeakyReluVectorPathsMatchScalarBitForBit(SimdPath path)
    {
        var rng = new Rng(22);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] x = KernelAssert.Random(ref rng, n, -5f, 5f), dy = KernelAssert.Random(ref rng, n);
            float[] ys = new float[n], yv = new float[n], dxs = KernelAssert.Random(ref rng, n), dxv = (float[])dxs.Clone();
            Activations.LeakyReluForwardScalar(ys, x, 0.1f);
            Activations.LeakyReluForward(path, yv, x, 0.1f);
            Assert.Equal(ys, yv);
            Activations.LeakyReluBackwardScalar(dxs, dy, x, 0.1f, accumulate: true);
            Activations.LeakyReluBackward(path, dxv, dy, x, 0.1f, accumulate: true);
            Assert.Equal(dxs, dxv);
        }
    }

    [Fact]
    public void LeakyReluBackwardMatchesFiniteDifferences()
    {
        // away from the kink the function is linear, so central differences of the kernel are exact up to rounding
        var rng = new Rng(23);
        float[] x = KernelAssert.Random(ref rng, 37), g = KernelAssert.Random(ref rng, 37), dx = new float[37], y = new float[37];
        for (int i = 0; i < x.Length; i++) if (MathF.Abs(x[i]) < 0.05f) x[i] = 0.5f;
        Activations.LeakyReluBackward(dx, g, x, 0.1f, accumulate: false);
        const float h = 1e-2f;
        for (int i = 0; i < x.Length; i++)
        {
            float keep = x[i];
            double Loss(float v)
            {
                x[i] = v;
                Activations.LeakyReluForward(y, x, 0.1f);
                double l = 0;
                for (int j = 0; j < y.Length; j++) l += (double)g[j] * y[j];
                return l;
            }
            double numeric = (Loss(keep + h) - Loss(keep - h)) / (2 * h);
            x[i] = keep;
            KernelAssert.Close(numeric, dx[i], 1e-4, 1e-3, $"i={i}");
        }
    }

    // ------------------------------------------------------------------ softmax

    private static double[] SoftmaxDouble(ReadOnlySpan<double> x)
    {
        double max = double.NegativeInfinity;
        foreach (double v in x) max = Math.Max(max, v);
        var y = new double[x.Length];
        double sum = 0;
        for (int i = 0; i < x.Length; i++) { y[i] = Math.Exp(x[i] - max); sum += y[i]; }
        for (int i = 0; i < x.Length; i++) y[i] /= sum;
        return y;
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void SoftmaxForwardMatchesDoubleAndScalar(SimdPath path)
    {
        var rng = new Rng(17);
        foreach (int cols in KernelAssert.OddSizes)
        {
            int rows = 3;
            float[] x = KernelAssert.Random(ref rng, rows * cols, -8f, 8f);
            x[0] = 1000f;                         // large logits must not overflow: at a row start,
            x[2 * cols - 1] = 500f;               // at a row end (the scalar tail of the max search),
            if (cols > 1) x[2 * cols + 1] = -1000f;   // and a hugely negative one
            float[] y = new float[rows * cols], scalar = new float[rows * cols];
            Activations.SoftmaxForward(path, y, x, rows, cols);
            Activations.SoftmaxForwardScalar(scalar, x, rows, cols);
            KernelAssert.Close(scalar, y, 1e-6, what: $"vs scalar cols={cols}");
            for (int r = 0; r < rows; r++)
            {
                var xr = new double[cols];
                for (int c = 0; c < cols; c++) xr[c] = x[r * cols + c];
                KernelAssert.Close(SoftmaxDouble(xr), y.AsSpan(r * cols, cols), 1e-6, 1e-5, $"row {r} cols={cols}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void SoftmaxBackwardMatchesFiniteDifferences(SimdPath path)
    {
        // L = sum(g * softmax(x)) per row, so dL/dx = SoftmaxBackward(dOutput = g, output = softmax(x)).
        var rng = new Rng(18);
        foreach (int cols in new[] { 1, 3, 7, 17, 33 })
        {
            int rows = 2;
            float[] x = KernelAssert.Random(ref rng, rows * cols, -3f, 3f);
            float[] g = KernelAssert.Random(ref rng, rows * cols);
            float[] y = new float[rows * cols], dx = new float[rows * cols];
            Activations.SoftmaxForward(path, y, x, rows, cols);
            Array.Fill(dx, float.NaN);
            Activations.SoftmaxBackward(path, dx, g, y, rows, cols, accumulate: false);

            const double h = 1e-5;
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    double Loss(double delta)
                    {
                        var xr = new double[cols];
                        for (int j = 0; j < cols; j++) xr[j] = x[r * cols + j] + (j == c ? delta : 0);
                        double[] s = SoftmaxDouble(xr);
                        double l = 0;
                        for (int j = 0; j < cols; j++) l += g[r * cols + j] * s[j];
                        return l;
                    }
                    double numeric = (Loss(h) - Loss(-h)) / (2 * h);
                    KernelAssert.Close(numeric, dx[r * cols + c], 2e-6, 1e-4, $"cols={cols} r={r} c={c}");
                }
            }

            float[] start = KernelAssert.Random(ref rng, rows * cols), acc = (float[])start.Clone();
            Activations.SoftmaxBackward(path, acc, g, y, rows, cols, accumulate: true);
            for (int i = 0; i < acc.Length; i++) KernelAssert.Close(start[i] + (double)dx[i], acc[i], 1e-6, what: $"accumulate i={i}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.VectorPaths), MemberType = typeof(KernelAssert))]
    public void SoftmaxBackwardMatchesScalar(SimdPath path)
    {
        var rng = new Rng(19);
        foreach (int cols in KernelAssert.OddSizes)
        {
            int rows = 4;
            float[] x = KernelAssert.Random(ref rng, rows * cols, -3f, 3f), dy = KernelAssert.Random(ref rng, rows * cols);
            float[] y = new float[rows * cols], expected = new float[rows * cols], actual = new float[rows * cols];
            Activations.SoftmaxForwardScalar(y, x, rows, cols);
            Activations.SoftmaxBackwardScalar(expected, dy, y, rows, cols, false);
            Activations.SoftmaxBackward(path, actual, dy, y, rows, cols, false);
            KernelAssert.Close(expected, actual, 1e-6, what: $"cols={cols}");
        }
    }

    [Fact]
    public void InPlaceActivationsWork()
    {
        var rng = new Rng(20);
        float[] x = KernelAssert.Random(ref rng, 41, -3f, 3f);
        float[] expected = new float[41];
        Activations.TanhForward(expected, x);
        Activations.TanhForward(x, x);
        Assert.Equal(expected, x);
    }

    [Fact]
    public void LengthMismatchThrows()
    {
        Assert.Throws<ArgumentException>(() => Activations.TanhForward(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => Activations.ReluBackward(new float[3], new float[3], new float[2], false));
        var leaky = Assert.Throws<ArgumentException>(() => Activations.LeakyReluBackward(new float[3], new float[3], new float[2], 0.1f, false));
        Assert.Contains("'input'", leaky.Message);
        Assert.Throws<ArgumentException>(() => Activations.LeakyReluForward(new float[3], new float[4], 0.1f));
        var ex = Assert.Throws<ArgumentException>(() => Activations.SoftmaxForward(new float[5], new float[6], 2, 3));
        Assert.Contains("'output'", ex.Message);
    }
}
