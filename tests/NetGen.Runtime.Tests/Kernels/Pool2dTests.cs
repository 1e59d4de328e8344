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
}
