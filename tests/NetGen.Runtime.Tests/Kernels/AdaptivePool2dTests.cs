using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class AdaptivePool2dTests
{
    // (channels, inH, inW, outH, outW): overlapping bins, exact division, global pooling (small, odd, long planes),
    // identity, more outputs than inputs, a ResNet-like 7x7 -> 1x1
    private static readonly (int C, int InH, int InW, int OutH, int OutW)[] Shapes =
    {
        (2, 7, 5, 3, 2), (1, 6, 6, 3, 3), (3, 5, 5, 1, 1), (2, 17, 19, 1, 1), (1, 4, 4, 4, 4), (2, 3, 2, 5, 4),
        (4, 7, 7, 1, 1), (1, 10, 9, 4, 6), (2, 5, 8, 5, 3), (1, 1, 1, 1, 1), (1, 1, 1, 2, 3),
    };

    public static IEnumerable<object[]> PathsAndFlag()
    {
        foreach (object[] p in KernelAssert.AllPaths())
        {
            yield return new object[] { p[0], false };
            yield return new object[] { p[0], true };
        }
    }

    private static int Start(int i, int inSize, int outSize) => (int)Math.Floor((double)i * inSize / outSize);
    private static int End(int i, int inSize, int outSize) => (int)Math.Ceiling((double)(i + 1) * inSize / outSize);

    [Fact]
    public void BinsFollowPyTorch()
    {
        // in 5 -> out 3: [0,2) [1,4) [3,5); in 10 -> out 4: [0,3) [2,5) [5,8) [7,10); in 2 -> out 3: [0,1) [0,2) [1,2)
        int[][] expected5 = { new[] { 0, 2 }, new[] { 1, 4 }, new[] { 3, 5 } };
        for (int i = 0; i < 3; i++) Assert.Equal(expected5[i], new[] { AdaptivePool2d.BinStart(i, 5, 3), AdaptivePool2d.BinEnd(i, 5, 3) });
        int[][] expected10 = { new[] { 0, 3 }, new[] { 2, 5 }, new[] { 5, 8 }, new[] { 7, 10 } };
        for (int i = 0; i < 4; i++) Assert.Equal(expected10[i], new[] { AdaptivePool2d.BinStart(i, 10, 4), AdaptivePool2d.BinEnd(i, 10, 4) });
        int[][] expected2 = { new[] { 0, 1 }, new[] { 0, 2 }, new[] { 1, 2 } };
        for (int i = 0; i < 3; i++) Assert.Equal(expected2[i], new[] { AdaptivePool2d.BinStart(i, 2, 3), AdaptivePool2d.BinEnd(i, 2, 3) });
    }

    private static double[] ForwardReference(float[] x, int planes, int inH, int inW, int outH, int outW)
    {
        var y = new double[planes * outH * outW];
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int y0 = Start(oy, inH, outH), y1 = End(oy, inH, outH), x0 = Start(ox, inW, outW), x1 = End(ox, inW, outW);
                    double sum = 0;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++) sum += x[(p * inH + iy) * inW + ix];
                    y[(p * outH + oy) * outW + ox] = sum / ((y1 - y0) * (x1 - x0));
                }
        return y;
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void ForwardMatchesDoubleReference(SimdPath path)
    {
        var rng = new Rng(600);
        const int batch = 2;
        foreach (var (c, inH, inW, outH, outW) in Shapes)
        {
            float[] x = KernelAssert.Random(ref rng, batch * c * inH * inW), y = new float[batch * c * outH * outW];
            Array.Fill(y, float.NaN);
            AdaptivePool2d.AvgForward(path, y, x, batch, c, inH, inW, outH, outW);
            KernelAssert.Close(ForwardReference(x, batch * c, inH, inW, outH, outW), y, 1e-6, 1e-5, $"{path} {c}x{inH}x{inW}->{outH}x{outW}");
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardMatchesAnalyticReference(SimdPath path, bool accumulate)
    {
        var rng = new Rng(601);
        const int batch = 2;
        foreach (var (c, inH, inW, outH, outW) in Shapes)
        {
            int planes = batch * c;
            float[] dy = KernelAssert.Random(ref rng, planes * outH * outW), dx = KernelAssert.Random(ref rng, planes * inH * inW);
            var expected = new double[dx.Length];
            if (accumulate) for (int i = 0; i < dx.Length; i++) expected[i] = dx[i];
            for (int p = 0; p < planes; p++)
                for (int oy = 0; oy < outH; oy++)
                    for (int ox = 0; ox < outW; ox++)
                    {
                        int y0 = Start(oy, inH, outH), y1 = End(oy, inH, outH), x0 = Start(ox, inW, outW), x1 = End(ox, inW, outW);
                        double g = (double)dy[(p * outH + oy) * outW + ox] / ((y1 - y0) * (x1 - x0));
                        for (int iy = y0; iy < y1; iy++)
                            for (int ix = x0; ix < x1; ix++) expected[(p * inH + iy) * inW + ix] += g;
                    }
            if (!accumulate) Array.Fill(dx, float.NaN);
            AdaptivePool2d.AvgBackward(path, dx, dy, batch, c, inH, inW, outH, outW, accumulate);
            KernelAssert.Close(expected, dx, 1e-6, 1e-5, $"{path} acc={accumulate} {c}x{inH}x{inW}->{outH}x{outW}");
        }
    }

    [Fact]
    public void BackwardMatchesFiniteDifferences()
    {
        // L = sum(g * y(x)); the pooling is linear, so central differences of the float kernel itself are accurate
        var rng = new Rng(602);
        foreach (var (c, inH, inW, outH, outW) in Shapes)
        {
            const int batch = 1;
            float[] x = KernelAssert.Random(ref rng, batch * c * inH * inW), g = KernelAssert.Random(ref rng, batch * c * outH * outW);
            float[] dx = new float[x.Length], y = new float[g.Length];
            AdaptivePool2d.AvgBackward(dx, g, batch, c, inH, inW, outH, outW, accumulate: false);
            double Loss()
            {
                AdaptivePool2d.AvgForward(y, x, batch, c, inH, inW, outH, outW);
                double l = 0;
                for (int i = 0; i < y.Length; i++) l += (double)g[i] * y[i];
                return l;
            }
            const float h = 1e-2f;
            for (int i = 0; i < x.Length; i++)
            {
                float keep = x[i];
                x[i] = keep + h; double plus = Loss();
                x[i] = keep - h; double minus = Loss();
                x[i] = keep;
                KernelAssert.Close((plus - minus) / (2 * h), dx[i], 2e-4, 1e-3, $"{c}x{inH}x{inW}->{outH}x{outW} i={i}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.VectorPaths), MemberType = typeof(KernelAssert))]
    public void VectorPathsMatchScalar(SimdPath path)
    {
        var rng = new Rng(603);
        foreach (var (c, inH, inW, outH, outW) in Shapes)
        {
            float[] x = KernelAssert.Random(ref rng, c * inH * inW), dy = KernelAssert.Random(ref rng, c * outH * outW);
            float[] ys = new float[dy.Length], yv = new float[dy.Length];
            AdaptivePool2d.AvgForward(SimdPath.Scalar, ys, x, 1, c, inH, inW, outH, outW);
            AdaptivePool2d.AvgForward(path, yv, x, 1, c, inH, inW, outH, outW);
            KernelAssert.Close(ys, yv, 1e-6, 1e-5, "forward");
            float[] dxs = KernelAssert.Random(ref rng, x.Length), dxv = (float[])dxs.Clone();
            AdaptivePool2d.AvgBackward(SimdPath.Scalar, dxs, dy, 1, c, inH, inW, outH, outW, accumulate: true);
            AdaptivePool2d.AvgBackward(path, dxv, dy, 1, c, inH, inW, outH, outW, accumulate: true);
            KernelAssert.Close(dxs, dxv, 1e-6, 1e-6, "backward");
        }
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        var ex = Assert.Throws<ArgumentException>(() => AdaptivePool2d.AvgForward(new float[3], new float[32], 2, 1, 4, 4, 1, 2));
        Assert.Contains("'output'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => AdaptivePool2d.AvgBackward(new float[31], new float[4], 2, 1, 4, 4, 1, 2, false));
        Assert.Contains("'dInput'", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => AdaptivePool2d.AvgForward(new float[4], new float[32], 2, 1, 4, 4, 0, 2));
    }
}
