using System;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class ElementwiseTests
{
    private const double Tol = 1e-6;

    [Theory]
    [MemberData(nameof(KernelAssert.VectorPaths), MemberType = typeof(KernelAssert))]
    public void AddAndMultiplyMatchScalar(SimdPath path)
    {
        var rng = new Rng(1);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] a = KernelAssert.Random(ref rng, n), b = KernelAssert.Random(ref rng, n);
            float[] expected = new float[n], actual = new float[n];
            Elementwise.AddScalar(expected, a, b);
            Elementwise.Add(path, actual, a, b);
            KernelAssert.Close(expected, actual, 0, what: $"Add n={n}");
            for (int i = 0; i < n; i++) Assert.Equal(a[i] + b[i], expected[i]);

            Elementwise.MultiplyScalar(expected, a, b);
            Elementwise.Multiply(path, actual, a, b);
            KernelAssert.Close(expected, actual, 0, what: $"Multiply n={n}");
            for (int i = 0; i < n; i++) Assert.Equal(a[i] * b[i], expected[i]);
        }
    }

    /// <summary>AddRelu by bands of every plane (the threads' rows) gives the same bits as the plain pass.</summary>
    [Theory]
    [InlineData(64, 56 * 56)]
    [InlineData(3, 100_001)]
    [InlineData(128, 7 * 7)]     // planes too small to split: the plain pass
    public void AddReluByPlaneBandsEqualsThePlainPass(int planes, int plane)
    {
        var rng = new Rng(15);
        float[] a = KernelAssert.Random(ref rng, planes * plane), b = KernelAssert.Random(ref rng, planes * plane);
        float[] expected = new float[a.Length], actual = new float[a.Length];
        Elementwise.AddRelu(expected, a, b);
        Elementwise.AddRelu(actual, a, b, plane);
        Assert.Equal(expected, actual);
    }

    /// <summary>AddRelu is Add then ReluForward, bit for bit (NaN and -0 give +0), on every path.</summary>
    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void AddReluEqualsAddThenRelu(SimdPath path)
    {
        var rng = new Rng(9);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] a = KernelAssert.Random(ref rng, n), b = KernelAssert.Random(ref rng, n);
            if (n > 3) { a[0] = float.NaN; a[1] = -0f; b[1] = -0f; a[2] = 1f; b[2] = -1f; }
            float[] sum = new float[n], expected = new float[n], actual = new float[n];
            Elementwise.Add(path, sum, a, b);
            Activations.ReluForward(path, expected, sum);
            Elementwise.AddRelu(path, actual, a, b);
            for (int i = 0; i < n; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"n={n} i={i}: {actual[i]} vs {expected[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void MultiplyBackwardOverwritesOrAccumulates(SimdPath path)
    {
        var rng = new Rng(2);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] dy = KernelAssert.Random(ref rng, n), other = KernelAssert.Random(ref rng, n), start = KernelAssert.Random(ref rng, n);
            float[] dA = new float[n];
            Array.Fill(dA, float.NaN);
            Elementwise.MultiplyBackward(path, dA, dy, other, accumulate: false);
            for (int i = 0; i < n; i++) KernelAssert.Close(dy[i] * other[i], dA[i], Tol, what: $"overwrite n={n} i={i}");

            start.CopyTo(dA, 0);
            Elementwise.MultiplyBackward(path, dA, dy, other, accumulate: true);
            for (int i = 0; i < n; i++) KernelAssert.Close(start[i] + (double)dy[i] * other[i], dA[i], Tol, what: $"accumulate n={n} i={i}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void CopyOrAddHonoursAccumulate(SimdPath path)
    {
        var rng = new Rng(3);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] src = KernelAssert.Random(ref rng, n), start = KernelAssert.Random(ref rng, n);
            float[] dst = (float[])start.Clone();
            Elementwise.CopyOrAdd(path, dst, src, accumulate: false);
            Assert.Equal(src, dst);
            start.CopyTo(dst, 0);
            Elementwise.CopyOrAdd(path, dst, src, accumulate: true);
            for (int i = 0; i < n; i++) Assert.Equal(start[i] + src[i], dst[i]);
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void FillScaleAxpyMatchDefinitions(SimdPath path)
    {
        var rng = new Rng(4);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] x = KernelAssert.Random(ref rng, n), y0 = KernelAssert.Random(ref rng, n);
            float[] y = new float[n + 2];
            Elementwise.Fill(path, y.AsSpan(0, n), 2.5f);
            for (int i = 0; i < n; i++) Assert.Equal(2.5f, y[i]);
            Assert.Equal(0f, y[n]);   // stops at the span end

            float[] s = (float[])y0.Clone();
            Elementwise.Scale(path, s, -3f);
            for (int i = 0; i < n; i++) Assert.Equal(y0[i] * -3f, s[i]);

            float[] z = (float[])y0.Clone();
            Elementwise.Axpy(path, z, 0.75f, x);
            for (int i = 0; i < n; i++) KernelAssert.Close(y0[i] + 0.75 * x[i], z[i], Tol, what: $"Axpy n={n} i={i}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void SumMatchesDoubleSum(SimdPath path)
    {
        var rng = new Rng(5);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] x = KernelAssert.Random(ref rng, n);
            double expected = 0;
            foreach (float v in x) expected += v;
            KernelAssert.Close(expected, Elementwise.Sum(path, x), 1e-5, what: $"Sum n={n}");
        }
    }

    [Fact]
    public void InPlaceAddWorks()
    {
        var rng = new Rng(6);
        float[] a = KernelAssert.Random(ref rng, 37), b = KernelAssert.Random(ref rng, 37);
        float[] expected = new float[37];
        for (int i = 0; i < 37; i++) expected[i] = a[i] + b[i];
        Elementwise.Add(a, a, b);
        Assert.Equal(expected, a);
    }

    [Fact]
    public void LengthMismatchThrows()
    {
        float[] a = new float[5], b = new float[4];
        var ex = Assert.Throws<ArgumentException>(() => Elementwise.Add(a, a, b));
        Assert.Contains("'b'", ex.Message);
        Assert.Throws<ArgumentException>(() => Elementwise.CopyOrAdd(a, b, true));
        Assert.Throws<ArgumentException>(() => Elementwise.Axpy(a, 1f, b));
        Assert.Throws<ArgumentException>(() => Elementwise.MultiplyBackward(a, a, b, false));
    }
}
