using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class Pool2dTests
{
    // non-overlapping, overlapping (stride < kernel), gaps (stride > kernel), odd leftovers.
    private static readonly Pool2dGeometry[] Geometries =
    {
        new(2, 6, 6, 2, 2), new(3, 7, 9, 3, 2), new(1, 5, 5, 3, 1), new(2, 4, 7, 2, 3), new(1, 1, 1, 1, 1), new(6, 28, 28, 2, 2),
    };

    public static IEnumerable<object[]> Accumulate() => new[] { new object[] { false }, new object[] { true } };

    private static int InIndex(in Pool2dGeometry g, int plane, int iy, int ix) => (plane * g.InHeight + iy) * g.InWidth + ix;
    private static int OutIndex(in Pool2dGeometry g, int plane, int oy, int ox) => (plane * g.OutHeight + oy) * g.OutWidth + ox;

    [Fact]
    public void GeometryDerivedSizes()
    {
        var g = new Pool2dGeometry(6, 28, 28, 2, 2);
        Assert.Equal(14, g.OutHeight);
        Assert.Equal(14, g.OutWidth);
        Assert.Equal(6 * 28 * 28, g.InputSize);
        Assert.Equal(6 * 14 * 14, g.OutputSize);
        var odd = new Pool2dGeometry(1, 7, 9, 3, 2);
        Assert.Equal(3, odd.OutHeight);
        Assert.Equal(4, odd.OutWidth);
    }

    [Fact]
    public void AvgForwardMatchesNaive()
    {
        var rng = new Rng(50);
        const int batch = 2;
        foreach (var g in Geometries)
        {
            float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), y = new float[batch * g.OutputSize];
            Pool2d.AvgForward(y, x, batch, g);
            var expected = new double[y.Length];
            for (int plane = 0; plane < batch * g.Channels; plane++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                    {
                        double sum = 0;
                        for (int ky = 0; ky < g.Kernel; ky++)
                            for (int kx = 0; kx < g.Kernel; kx++)
                                sum += x[InIndex(g, plane, oy * g.Stride + ky, ox * g.Stride + kx)];
                        expected[OutIndex(g, plane, oy, ox)] = sum / (g.Kernel * g.Kernel);
                    }
            KernelAssert.Close(expected, y, 1e-6, 1e-6, g.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(Accumulate))]
    public void AvgBackwardMatchesNaive(bool accumulate)
    {
        var rng = new Rng(51);
        const int batch = 2;
        foreach (var g in Geometries)
        {
            float[] dy = KernelAssert.Random(ref rng, batch * g.OutputSize), dx = KernelAssert.Random(ref rng, batch * g.InputSize);
            var expected = new double[dx.Length];
            if (accumulate) for (int i = 0; i < dx.Length; i++) expected[i] = dx[i];
            for (int plane = 0; plane < batch * g.Channels; plane++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                        for (int ky = 0; ky < g.Kernel; ky++)
                            for (int kx = 0; kx < g.Kernel; kx++)
                                expected[InIndex(g, plane, oy * g.Stride + ky, ox * g.Stride + kx)] += (double)dy[OutIndex(g, plane, oy, ox)] / (g.Kernel * g.Kernel);
            if (!accumulate) Array.Fill(dx, float.NaN);
            Pool2d.AvgBackward(dx, dy, batch, g, accumulate);
            KernelAssert.Close(expected, dx, 1e-6, 1e-6, $"{g} acc={accumulate}");
        }
    }

    /// <summary>Index of the max of a window, first in row-major order on ties.</summary>
    private static int NaiveArgMax(float[] x, in Pool2dGeometry g, int plane, int oy, int ox)
    {
        int best = -1;
        for (int ky = 0; ky < g.Kernel; ky++)
            for (int kx = 0; kx < g.Kernel; kx++)
            {
                int i = InIndex(g, plane, oy * g.Stride + ky, ox * g.Stride + kx);
                if (best < 0 || x[i] > x[best]) best = i;
            }
        return best;
    }

    /// <summary>Values from {0, 1, 2} so that windows often tie.</summary>
    private static float[] TieProneInput(ref Rng rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = rng.NextInt(3);
        return x;
    }

    [Fact]
    public void MaxForwardMatchesNaive()
    {
        var rng = new Rng(52);
        const int batch = 2;
        foreach (var g in Geometries)
        {
            float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), y = new float[batch * g.OutputSize];
            Pool2d.MaxForward(y, x, batch, g);
            for (int plane = 0; plane < batch * g.Channels; plane++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                        Assert.Equal(x[NaiveArgMax(x, g, plane, oy, ox)], y[OutIndex(g, plane, oy, ox)]);
        }
    }

    [Theory]
    [MemberData(nameof(Accumulate))]
    public void MaxBackwardRoutesToFirstArgMax(bool accumulate)
    {
        var rng = new Rng(53);
        const int batch = 2;
        foreach (var g in Geometries)
        {
            float[] x = TieProneInput(ref rng, batch * g.InputSize);
            float[] dy = KernelAssert.Random(ref rng, batch * g.OutputSize), dx = KernelAssert.Random(ref rng, batch * g.InputSize);
            var expected = new double[dx.Length];
            if (accumulate) for (int i = 0; i < dx.Length; i++) expected[i] = dx[i];
            for (int plane = 0; plane < batch * g.Channels; plane++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                        expected[NaiveArgMax(x, g, plane, oy, ox)] += dy[OutIndex(g, plane, oy, ox)];
            if (!accumulate) Array.Fill(dx, float.NaN);
            Pool2d.MaxBackward(dx, dy, x, batch, g, accumulate);
            KernelAssert.Close(expected, dx, 1e-6, 1e-6, $"{g} acc={accumulate}");
        }
    }

    [Fact]
    public void MaxTieGoesToTopLeft()
    {
        var g = new Pool2dGeometry(1, 2, 2, 2, 2);
        float[] x = { 5f, 5f, 5f, 5f }, dx = new float[4];
        Pool2d.MaxBackward(dx, new[] { 3f }, x, 1, g, accumulate: false);
        Assert.Equal(new[] { 3f, 0f, 0f, 0f }, dx);
        x = new[] { 1f, 2f, 7f, 7f };
        Pool2d.MaxBackward(dx, new[] { 3f }, x, 1, g, accumulate: false);
        Assert.Equal(new[] { 0f, 0f, 3f, 0f }, dx);
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        var g = new Pool2dGeometry(1, 4, 4, 2, 2);
        var ex = Assert.Throws<ArgumentException>(() => Pool2d.AvgForward(new float[3], new float[16], 1, g));
        Assert.Contains("'output'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Pool2d.MaxBackward(new float[16], new float[4], new float[15], 1, g, false));
        Assert.Contains("'input'", ex.Message);
        Assert.Throws<ArgumentException>(() => Pool2d.MaxForward(new float[4], new float[16], 1, g with { Kernel = 5 }));
    }

    // ------------------------------------------------------------------ padding and ceil mode (max pooling)

    [Theory]
    [InlineData(112, 3, 2, 0, true, 56)]
    [InlineData(56, 3, 2, 0, true, 28)]
    [InlineData(14, 2, 2, 0, true, 7)]
    [InlineData(7, 3, 2, 0, true, 3)]      // ceil((7-3)/2) + 1 = 3, not 4
    [InlineData(112, 3, 2, 1, false, 56)]
    [InlineData(112, 3, 2, 1, true, 57)]   // ceil(111/2) + 1; window 56 starts at 111, inside the input
    [InlineData(6, 3, 2, 0, true, 3)]      // last window [4, 7) clipped to [4, 6)
    [InlineData(6, 3, 2, 0, false, 2)]
    [InlineData(5, 2, 2, 1, true, 3)]      // ceil gives 4, but that window would start in the right padding: 3
    [InlineData(5, 2, 2, 1, false, 3)]
    [InlineData(8, 3, 3, 1, true, 3)]
    [InlineData(1, 1, 1, 0, true, 1)]
    [InlineData(2, 3, 2, 1, true, 2)]      // ceil(1/2) + 1 = 2: the second window [1, 4) starts inside the input
    public void CeilModeAndPaddingSizesFollowPyTorch(int inSize, int kernel, int stride, int padding, bool ceil, int expected)
    {
        var g = new Pool2dGeometry(1, inSize, inSize + 1, kernel, stride, padding, ceil);
        Assert.Equal(padding, g.Padding);
        Assert.Equal(ceil, g.CeilMode);
        Assert.Equal(expected, g.OutHeight);
        Assert.Equal(PyTorchOutSize(inSize + 1, kernel, stride, padding, ceil), g.OutWidth);
        Assert.Equal(PyTorchOutSize(inSize, kernel, stride, padding, ceil), g.OutHeight);
    }

    /// <summary>torch.nn.modules.pooling / pooling_shape.h: div_rtn(in + 2p - k + (ceil ? s - 1 : 0), s) + 1, minus one when the last window starts at or past in + p.</summary>
    private static int PyTorchOutSize(int inSize, int k, int s, int p, bool ceil)
    {
        int outSize = (int)(ceil ? Math.Ceiling((inSize + 2.0 * p - k) / s) : Math.Floor((inSize + 2.0 * p - k) / s)) + 1;
        if (ceil && (outSize - 1) * s >= inSize + p) outSize--;
        return outSize;
    }

    [Fact]
    public void FiveArgumentGeometryIsUnpaddedFloorMode()
    {
        var g = new Pool2dGeometry(6, 28, 28, 2, 2);
        Assert.Equal(0, g.Padding);
        Assert.False(g.CeilMode);
        Assert.Equal(new Pool2dGeometry(6, 28, 28, 2, 2, 0, false), g);
        Assert.NotEqual(g with { CeilMode = true }, g);
        Assert.NotEqual(g with { Padding = 1 }, g);
        Assert.Equal(new Pool2dGeometry(6, 28, 28, 2, 2, 1, true), g with { Padding = 1, CeilMode = true });
        Assert.Contains("Padding = 1", (g with { Padding = 1 }).ToString());
    }

    // padded, ceil mode, both, clipped windows at the bottom/right, overlapping windows, gaps
    private static readonly Pool2dGeometry[] PaddedGeometries =
    {
        new(2, 7, 7, 3, 2, 1, true), new(2, 6, 5, 2, 2, 1, true), new(1, 5, 5, 2, 2, 1, true), new(1, 8, 8, 3, 2, 1, false),
        new(2, 7, 9, 3, 2, 0, true), new(1, 4, 4, 3, 3, 1, true), new(3, 6, 6, 3, 2, 0, true), new(1, 9, 6, 4, 3, 2, true),
        new(1, 2, 2, 3, 2, 1, true), new(2, 11, 10, 5, 1, 2, false), new(1, 3, 3, 2, 3, 1, true),
        // rows wide enough for the vector path (8 outputs at a time, an overlapping last vector, scalar borders):
        // the ResNet stem's k3 s2 p1, stride 1, a gathered stride 3, and ceil mode
        new(2, 13, 37, 3, 2, 1, false), new(1, 6, 40, 3, 1, 1, false), new(1, 7, 50, 2, 3, 0, true), new(1, 6, 34, 3, 2, 1, true),
    };

    /// <summary>Index of the max of the clipped window (padding never wins), first in row-major order on ties.</summary>
    private static int NaivePaddedArgMax(float[] x, in Pool2dGeometry g, int plane, int oy, int ox)
    {
        int best = -1;
        for (int ky = 0; ky < g.Kernel; ky++)
            for (int kx = 0; kx < g.Kernel; kx++)
            {
                int iy = oy * g.Stride - g.Padding + ky, ix = ox * g.Stride - g.Padding + kx;
                if (iy < 0 || iy >= g.InHeight || ix < 0 || ix >= g.InWidth) continue;
                int i = InIndex(g, plane, iy, ix);
                if (best < 0 || x[i] > x[best]) best = i;
            }
        Assert.True(best >= 0, $"{g}: window ({oy}, {ox}) holds no input cell");
        return best;
    }

    [Fact]
    public void PaddedMaxForwardMatchesNaive()
    {
        var rng = new Rng(54);
        const int batch = 2;
        foreach (var g in PaddedGeometries)
        {
            foreach (bool negative in new[] { false, true })   // all-negative inputs: a zero-padded implementation would return 0
            {
                float[] x = KernelAssert.Random(ref rng, batch * g.InputSize, negative ? -3f : -1f, negative ? -1f : 1f);
                float[] y = new float[batch * g.OutputSize];
                Pool2d.MaxForward(y, x, batch, g);
                for (int plane = 0; plane < batch * g.Channels; plane++)
                    for (int oy = 0; oy < g.OutHeight; oy++)
                        for (int ox = 0; ox < g.OutWidth; ox++)
                            Assert.Equal(x[NaivePaddedArgMax(x, g, plane, oy, ox)], y[OutIndex(g, plane, oy, ox)]);
                if (negative) Assert.All(y, v => Assert.True(v < 0f, $"{g}: padding selected"));
            }
        }
    }

    [Fact]
    public void MaxPoolingKeepsTheScalarRuleForNaNAndSignedZeros()
    {
        // the first window element seeds the maximum and a later one replaces it only when strictly greater: a NaN
        // first stays, a later NaN is skipped, and of +0 and -0 the first wins. Every path must give the same bits.
        var rng = new Rng(57);
        float[] values = { float.NaN, 0f, -0f, 1f, -1f };
        foreach (var g in PaddedGeometries)
        {
            var x = new float[2 * g.InputSize];
            for (int i = 0; i < x.Length; i++) x[i] = values[rng.NextInt(values.Length)];
            var y = new float[2 * g.OutputSize];
            Pool2d.MaxForward(y, x, 2, g);
            for (int plane = 0; plane < 2 * g.Channels; plane++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                        Assert.True(BitConverter.SingleToInt32Bits(x[NaivePaddedArgMax(x, g, plane, oy, ox)]) == BitConverter.SingleToInt32Bits(y[OutIndex(g, plane, oy, ox)]),
                            $"{g}: plane {plane} ({oy}, {ox}) = {y[OutIndex(g, plane, oy, ox)]}, expected {x[NaivePaddedArgMax(x, g, plane, oy, ox)]}");
            // the backward pass routes each gradient to that same element
            var dy = new float[y.Length];
            for (int i = 0; i < dy.Length; i++) dy[i] = 1 + i % 7;
            var expected = new float[x.Length];
            for (int plane = 0; plane < 2 * g.Channels; plane++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                        expected[NaivePaddedArgMax(x, g, plane, oy, ox)] += dy[OutIndex(g, plane, oy, ox)];
            var dx = new float[x.Length];
            Pool2d.MaxBackward(dx, dy, x, 2, g, accumulate: false);
            Assert.Equal(expected, dx);
        }
    }

    [Theory]
    [MemberData(nameof(Accumulate))]
    public void PaddedMaxBackwardRoutesToFirstArgMax(bool accumulate)
    {
        var rng = new Rng(55);
        const int batch = 2;
        foreach (var g in PaddedGeometries)
        {
            float[] x = TieProneInput(ref rng, batch * g.InputSize);
            float[] dy = KernelAssert.Random(ref rng, batch * g.OutputSize), dx = KernelAssert.Random(ref rng, batch * g.InputSize);
            var expected = new double[dx.Length];
            if (accumulate) for (int i = 0; i < dx.Length; i++) expected[i] = dx[i];
            for (int plane = 0; plane < batch * g.Channels; plane++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                        expected[NaivePaddedArgMax(x, g, plane, oy, ox)] += dy[OutIndex(g, plane, oy, ox)];
            if (!accumulate) Array.Fill(dx, float.NaN);
            Pool2d.MaxBackward(dx, dy, x, batch, g, accumulate);
            KernelAssert.Close(expected, dx, 1e-6, 1e-6, $"{g} acc={accumulate}");
        }
    }

    [Fact]
    public void PaddedMaxBackwardMatchesFiniteDifferences()
    {
        // distinct values 0.01 apart (a shuffled ramp), so a step of h = 1e-3 never changes a window's argmax
        var rng = new Rng(56);
        foreach (var g in PaddedGeometries)
        {
            int count = g.InputSize;
            var order = new int[count];
            for (int i = 0; i < count; i++) order[i] = i;
            rng.Shuffle(order);
            float[] x = new float[count];
            for (int i = 0; i < count; i++) x[i] = order[i] * 0.01f - 1f;
            float[] gOut = KernelAssert.Random(ref rng, g.OutputSize), dx = new float[count], y = new float[g.OutputSize];
            Pool2d.MaxBackward(dx, gOut, x, 1, g, accumulate: false);
            double Loss()
            {
                Pool2d.MaxForward(y, x, 1, g);
                double l = 0;
                for (int i = 0; i < y.Length; i++) l += (double)gOut[i] * y[i];
                return l;
            }
            const float h = 1e-3f;
            for (int i = 0; i < count; i++)
            {
                float keep = x[i];
                x[i] = keep + h; double plus = Loss();
                x[i] = keep - h; double minus = Loss();
                x[i] = keep;
                KernelAssert.Close((plus - minus) / ((keep + h) - (keep - h)), dx[i], 1e-3, 1e-3, $"{g} i={i}");
            }
        }
    }

    [Fact]
    public void PaddedGeometryRules()
    {
        // PyTorch: padding at most half the kernel
        var ex = Assert.Throws<ArgumentException>(() => Pool2d.MaxForward(new float[64], new float[64], 1, new Pool2dGeometry(1, 8, 8, 3, 1, 2, false)));
        Assert.Contains("padding", ex.Message);
        Assert.Throws<ArgumentException>(() => Pool2d.MaxForward(new float[64], new float[64], 1, new Pool2dGeometry(1, 8, 8, 2, 2, -1, false)));
        // a window larger than the padded input
        Assert.Throws<ArgumentException>(() => Pool2d.MaxForward(new float[4], new float[4], 1, new Pool2dGeometry(1, 2, 2, 5, 1, 1, false)));
        // average pooling has neither padding nor ceil mode
        var padded = new Pool2dGeometry(1, 6, 6, 3, 2, 1, false);
        var nse = Assert.Throws<NotSupportedException>(() => Pool2d.AvgForward(new float[padded.OutputSize], new float[36], 1, padded));
        Assert.Contains("padding", nse.Message);
        var ceil = new Pool2dGeometry(1, 6, 6, 3, 2, 0, true);
        Assert.Throws<NotSupportedException>(() => Pool2d.AvgBackward(new float[36], new float[ceil.OutputSize], 1, ceil, false));
    }
}
