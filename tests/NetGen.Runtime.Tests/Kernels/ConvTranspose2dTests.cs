using NetGen.Tests.Shared;
using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class ConvTranspose2dTests
{
    // stride 1/2/3, padding 0/1/2 (also padding >= kernel), output padding 0/1/2, kernels 1/2/3/4, non-square inputs, pointwise.
    private static readonly ConvTranspose2dGeometry[] Geometries =
    {
        new(1, 4, 4, 2, 3, 1, 0, 0),
        new(2, 3, 5, 3, 3, 2, 1, 0),
        new(2, 3, 5, 3, 3, 2, 1, 1),
        new(3, 5, 4, 2, 4, 2, 1, 0),
        new(3, 4, 6, 2, 4, 2, 1, 1),
        new(2, 4, 3, 3, 1, 1, 0, 0),
        new(2, 3, 4, 2, 1, 2, 0, 1),
        new(2, 3, 3, 2, 1, 2, 1, 1),
        new(1, 1, 1, 2, 4, 2, 1, 0),
        new(2, 2, 3, 3, 3, 3, 2, 2),
        new(2, 4, 4, 2, 2, 3, 2, 0),
        new(1, 2, 2, 1, 3, 1, 1, 0),
        new(4, 5, 6, 3, 4, 2, 0, 1),
        new(3, 3, 2, 2, 5, 1, 2, 0),
    };

    /// <summary>DCGAN generator stages: 128x7x7 -> 64x14x14 and 64x14x14 -> 1x28x28, both k4 s2 p1.</summary>
    private static readonly ConvTranspose2dGeometry Dcgan1 = new(128, 7, 7, 64, 4, 2, 1, 0);
    private static readonly ConvTranspose2dGeometry Dcgan2 = new(64, 14, 14, 1, 4, 2, 1, 0);

    public static IEnumerable<object[]> PathsAndFlag()
    {
        foreach (object[] p in KernelAssert.AllPaths())
        {
            yield return new object[] { p[0], false };
            yield return new object[] { p[0], true };
        }
    }

    [Fact]
    public void GeometryDerivedSizes()
    {
        Assert.Equal(14, Dcgan1.OutHeight);   // (7 - 1) * 2 - 2 + 4
        Assert.Equal(14, Dcgan1.OutWidth);
        Assert.Equal(128 * 49, Dcgan1.InputSize);
        Assert.Equal(64 * 196, Dcgan1.OutputSize);
        Assert.Equal(128 * 64 * 16, Dcgan1.WeightSize);
        Assert.Equal(64 * 16 * 49, Dcgan1.ColumnSize);
        Assert.Equal(28, Dcgan2.OutHeight);

        var g = new ConvTranspose2dGeometry(3, 5, 4, 2, 3, 2, 1, 1);
        Assert.Equal(10, g.OutHeight);   // 4*2 - 2 + 3 + 1
        Assert.Equal(8, g.OutWidth);     // 3*2 - 2 + 3 + 1
        Assert.Equal(2 * 10 * 8, g.OutputSize);
        Assert.Equal(3 * 2 * 9, g.WeightSize);
        Assert.Equal(2 * 9 * 20, g.ColumnSize);
        Assert.Contains("OutputPadding = 1", g.ToString());
    }

    private static int InIndex(in ConvTranspose2dGeometry g, int n, int c, int iy, int ix) => ((n * g.InChannels + c) * g.InHeight + iy) * g.InWidth + ix;

    private static int WeightIndex(in ConvTranspose2dGeometry g, int c, int oc, int ky, int kx) => ((c * g.OutChannels + oc) * g.Kernel + ky) * g.Kernel + kx;

    private static int OutIndex(in ConvTranspose2dGeometry g, int n, int oc, int oy, int ox) => ((n * g.OutChannels + oc) * g.OutHeight + oy) * g.OutWidth + ox;

    /// <summary>
    /// Calls <paramref name="visit"/>(input index, weight index, output index) for every product of the definition:
    /// x[n, c, iy, ix] scatters w[c, oc, ky, kx] x into y[n, oc, iy*s - p + ky, ix*s - p + kx] when that lies in the output.
    /// </summary>
    private static void ForEachTerm(int batch, in ConvTranspose2dGeometry g, Action<int, int, int> visit)
    {
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < g.InChannels; c++)
                for (int iy = 0; iy < g.InHeight; iy++)
                    for (int ix = 0; ix < g.InWidth; ix++)
                        for (int oc = 0; oc < g.OutChannels; oc++)
                            for (int ky = 0; ky < g.Kernel; ky++)
                            {
                                int oy = iy * g.Stride - g.Padding + ky;
                                if (oy < 0 || oy >= g.OutHeight) continue;
                                for (int kx = 0; kx < g.Kernel; kx++)
                                {
                                    int ox = ix * g.Stride - g.Padding + kx;
                                    if (ox < 0 || ox >= g.OutWidth) continue;
                                    visit(InIndex(g, n, c, iy, ix), WeightIndex(g, c, oc, ky, kx), OutIndex(g, n, oc, oy, ox));
                                }
                            }
    }

    /// <summary>Direct transposed convolution in double, straight from the scatter definition.</summary>
    private static double[] NaiveForward(float[] x, float[] w, float[] bias, int batch, ConvTranspose2dGeometry g)
    {
        var y = new double[batch * g.OutputSize];
        int outHW = g.OutHeight * g.OutWidth;
        if (bias.Length > 0)
            for (int i = 0; i < y.Length; i++) y[i] = bias[i / outHW % g.OutChannels];
        ForEachTerm(batch, g, (xi, wi, yi) => y[yi] += (double)w[wi] * x[xi]);
        return y;
    }

    /// <summary>Products per output pixel, at most: inC * ceil(k/s)^2.</summary>
    private static int FanIn(in ConvTranspose2dGeometry g)
    {
        int taps = (g.Kernel + g.Stride - 1) / g.Stride;
        return g.InChannels * taps * taps;
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void ForwardMatchesDirectDefinition(SimdPath path, bool withBias)
    {
        var rng = new Rng(140);
        const int batch = 2;
        foreach (ConvTranspose2dGeometry g in Geometries)
        {
            float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize);
            float[] bias = withBias ? KernelAssert.Random(ref rng, g.OutChannels) : Array.Empty<float>();
            float[] y = new float[batch * g.OutputSize], scratch = new float[g.ColumnSize];
            Array.Fill(y, float.NaN);
            Array.Fill(scratch, float.NaN);
            ConvTranspose2d.Forward(path, y, x, w, bias, batch, g, scratch);
            KernelAssert.Close(NaiveForward(x, w, bias, batch, g), y, 1e-5 + 2e-7 * FanIn(g), 1e-5, $"{path} {g}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void DcganShapesMatchDirectDefinition(SimdPath path)
    {
        var rng = new Rng(141);
        const int batch = 2;
        foreach (ConvTranspose2dGeometry g in new[] { Dcgan1, Dcgan2 })
        {
            float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize, -0.1f, 0.1f);
            float[] bias = KernelAssert.Random(ref rng, g.OutChannels);
            float[] y = new float[batch * g.OutputSize], scratch = new float[g.ColumnSize];
            Array.Fill(y, float.NaN);
            ConvTranspose2d.Forward(path, y, x, w, bias, batch, g, scratch);
            KernelAssert.Close(NaiveForward(x, w, bias, batch, g), y, 1e-5 + 2e-7 * FanIn(g), 1e-5, $"forward {path} {g}");

            // backward data and weights against the same definition
            float[] dy = KernelAssert.Random(ref rng, y.Length), dx = new float[x.Length], dW = new float[w.Length], dB = new float[g.OutChannels];
            var expectedX = new double[dx.Length];
            var expectedW = new double[dW.Length];
            var expectedB = new double[dB.Length];
            ForEachTerm(batch, g, (xi, wi, yi) => { expectedX[xi] += (double)w[wi] * dy[yi]; expectedW[wi] += (double)x[xi] * dy[yi]; });
            int outHW = g.OutHeight * g.OutWidth;
            for (int i = 0; i < dy.Length; i++) expectedB[i / outHW % g.OutChannels] += dy[i];
            ConvTranspose2d.BackwardData(path, dx, dy, w, batch, g, scratch, accumulate: false);
            ConvTranspose2d.BackwardWeights(path, dW, dB, dy, x, batch, g, scratch);
            KernelAssert.Close(expectedX, dx, 1e-5 + 2e-7 * g.OutChannels * g.Kernel * g.Kernel, 1e-5, $"dx {path} {g}");
            KernelAssert.Close(expectedW, dW, 1e-5 + 2e-7 * batch * g.InHeight * g.InWidth, 1e-5, $"dW {path} {g}");
            KernelAssert.Close(expectedB, dB, 1e-5 + 2e-7 * batch * outHW, 1e-5, $"dB {path} {g}");
        }
    }

    [Fact]
    public void StrideTwoKernelTwoOnesWeightReplicatesPixels()
    {
        // PyTorch: ConvTranspose2d(1, 1, 2, stride=2, bias=False) with weight 1 turns [[1,2],[3,4]] into 2x2 blocks.
        var g = new ConvTranspose2dGeometry(1, 2, 2, 1, 2, 2, 0, 0);
        float[] x = { 1, 2, 3, 4 }, w = { 1, 1, 1, 1 }, y = new float[16], scratch = new float[g.ColumnSize];
        ConvTranspose2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g, scratch);
        Assert.Equal(new float[] { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 }, y);

        // k3 s1 p1 with weight 1 on an all-ones 3x3 input: every output sums its 3x3 neighbourhood (4 / 6 / 9).
        g = new ConvTranspose2dGeometry(1, 3, 3, 1, 3, 1, 1, 0);
        x = new float[9]; Array.Fill(x, 1f);
        w = new float[9]; Array.Fill(w, 1f);
        y = new float[9];
        ConvTranspose2d.Forward(y, x, w, new float[] { 0.5f }, 1, g, new float[g.ColumnSize]);
        Assert.Equal(new float[] { 4.5f, 6.5f, 4.5f, 6.5f, 9.5f, 6.5f, 4.5f, 6.5f, 4.5f }, y);

        // output padding adds a bottom row / right column that only the last taps reach: k3 s2 p1 op1, 2x2 -> 4x4
        g = new ConvTranspose2dGeometry(1, 2, 2, 1, 3, 2, 1, 1);
        x = new float[] { 1, 2, 3, 4 };
        w = new float[] { 0, 0, 0, 0, 0, 0, 0, 0, 1 };   // only ky = kx = 2: y[2iy + 1, 2ix + 1] = x[iy, ix]
        y = new float[16];
        ConvTranspose2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g, new float[g.ColumnSize]);
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4 }, y);
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardDataMatchesDirectFormula(SimdPath path, bool accumulate)
    {
        var rng = new Rng(142);
        const int batch = 2;
        foreach (ConvTranspose2dGeometry g in Geometries)
        {
            float[] dy = KernelAssert.Random(ref rng, batch * g.OutputSize), w = KernelAssert.Random(ref rng, g.WeightSize);
            float[] dx = KernelAssert.Random(ref rng, batch * g.InputSize);
            // dx[n, c, iy, ix] (+)= sum over every (oc, ky, kx) it was scattered to of w * dy
            var expected = new double[dx.Length];
            if (accumulate) for (int i = 0; i < dx.Length; i++) expected[i] = dx[i];
            ForEachTerm(batch, g, (xi, wi, yi) => expected[xi] += (double)w[wi] * dy[yi]);
            if (!accumulate) Array.Fill(dx, float.NaN);
            float[] scratch = new float[g.ColumnSize];
            Array.Fill(scratch, float.NaN);
            ConvTranspose2d.BackwardData(path, dx, dy, w, batch, g, scratch, accumulate);
            KernelAssert.Close(expected, dx, 1e-5 + 2e-7 * g.OutChannels * g.Kernel * g.Kernel, 1e-5, $"{path} {g} acc={accumulate}");
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardWeightsAccumulatesDirectFormula(SimdPath path, bool withBias)
    {
        var rng = new Rng(143);
        const int batch = 3;
        foreach (ConvTranspose2dGeometry g in Geometries)
        {
            float[] dy = KernelAssert.Random(ref rng, batch * g.OutputSize), x = KernelAssert.Random(ref rng, batch * g.InputSize);
            float[] dW = KernelAssert.Random(ref rng, g.WeightSize);
            float[] dB = withBias ? KernelAssert.Random(ref rng, g.OutChannels) : Array.Empty<float>();
            var expectedW = new double[dW.Length];
            var expectedB = new double[dB.Length];
            for (int i = 0; i < dW.Length; i++) expectedW[i] = dW[i];
            for (int i = 0; i < dB.Length; i++) expectedB[i] = dB[i];
            ForEachTerm(batch, g, (xi, wi, yi) => expectedW[wi] += (double)x[xi] * dy[yi]);
            int outHW = g.OutHeight * g.OutWidth;
            if (withBias) for (int i = 0; i < dy.Length; i++) expectedB[i / outHW % g.OutChannels] += dy[i];
            float[] scratch = new float[g.ColumnSize];
            Array.Fill(scratch, float.NaN);
            ConvTranspose2d.BackwardWeights(path, dW, dB, dy, x, batch, g, scratch);
            KernelAssert.Close(expectedW, dW, 1e-5 + 2e-7 * batch * g.InHeight * g.InWidth, 1e-5, $"dW {path} {g}");
            KernelAssert.Close(expectedB, dB, 1e-5 + 2e-7 * batch * outHW, 1e-5, $"dB {path} {g}");
        }
    }

    [Fact]
    public void BackwardMatchesFiniteDifferencesOfForward()
    {
        // L = sum(g * convT(x, w, b)) is linear in x, w and b, so central differences are exact up to rounding.
        var rng = new Rng(144);
        const int batch = 2;
        foreach (ConvTranspose2dGeometry geo in new ConvTranspose2dGeometry[]
                 { new(2, 3, 4, 3, 3, 2, 1, 1), new(1, 3, 2, 2, 4, 2, 1, 0), new(2, 2, 2, 2, 3, 1, 0, 0), new(2, 3, 3, 2, 1, 2, 1, 1) })
        {
            float[] x = KernelAssert.Random(ref rng, batch * geo.InputSize), w = KernelAssert.Random(ref rng, geo.WeightSize);
            float[] b = KernelAssert.Random(ref rng, geo.OutChannels), g = KernelAssert.Random(ref rng, batch * geo.OutputSize);
            float[] scratch = new float[geo.ColumnSize], y = new float[batch * geo.OutputSize];

            double Loss()
            {
                ConvTranspose2d.Forward(y, x, w, b, batch, geo, scratch);
                double l = 0;
                for (int i = 0; i < y.Length; i++) l += (double)g[i] * y[i];
                return l;
            }
            double Numeric(float[] p, int i)
            {
                const float h = 0.5f;
                float saved = p[i];
                p[i] = saved + h; double plus = Loss();
                p[i] = saved - h; double minus = Loss();
                p[i] = saved;
                return (plus - minus) / (2 * h);
            }

            float[] dx = new float[x.Length], dW = new float[w.Length], dB = new float[b.Length];
            ConvTranspose2d.BackwardData(dx, g, w, batch, geo, scratch, accumulate: false);
            ConvTranspose2d.BackwardWeights(dW, dB, g, x, batch, geo, scratch);
            for (int i = 0; i < x.Length; i++) KernelAssert.Close(Numeric(x, i), dx[i], 1e-4, 1e-4, $"dx[{i}] {geo}");
            for (int i = 0; i < w.Length; i++) KernelAssert.Close(Numeric(w, i), dW[i], 1e-4, 1e-4, $"dW[{i}] {geo}");
            for (int i = 0; i < b.Length; i++) KernelAssert.Close(Numeric(b, i), dB[i], 1e-4, 1e-4, $"dB[{i}] {geo}");
        }
    }

    [Fact]
    public void ForwardIsTheAdjointOfConv2d()
    {
        // ConvTranspose2d(x) equals Conv2d.BackwardData of a convolution from the transposed output back to its input.
        var rng = new Rng(145);
        const int batch = 2;
        foreach (ConvTranspose2dGeometry g in Geometries)
        {
            var conv = new Conv2dGeometry(g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, g.Kernel, g.Stride, g.Padding);
            Assert.Equal(g.InHeight, conv.OutHeight);
            Assert.Equal(g.InWidth, conv.OutWidth);
            float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize);
            float[] expected = new float[batch * g.OutputSize], actual = new float[batch * g.OutputSize];
            Conv2d.BackwardData(expected, x, w, batch, conv, new float[conv.ColumnSize], accumulate: false);
            ConvTranspose2d.Forward(actual, x, w, ReadOnlySpan<float>.Empty, batch, g, new float[g.ColumnSize]);
            KernelAssert.Close(expected, actual, 1e-5, 1e-5, $"{g}");
        }
    }

    [Fact]
    public void PointwiseNeedsNoScratch()
    {
        var rng = new Rng(146);
        var g = new ConvTranspose2dGeometry(3, 4, 5, 2, 1, 1, 0, 0);
        float[] x = KernelAssert.Random(ref rng, g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize), b = KernelAssert.Random(ref rng, 2);
        float[] y = new float[g.OutputSize], dx = new float[g.InputSize], dW = new float[g.WeightSize], dB = new float[2];
        ConvTranspose2d.Forward(y, x, w, b, 1, g, Span<float>.Empty);
        KernelAssert.Close(NaiveForward(x, w, b, 1, g), y, 1e-5, 1e-5, "pointwise forward");
        ConvTranspose2d.BackwardData(dx, y, w, 1, g, Span<float>.Empty, accumulate: false);
        ConvTranspose2d.BackwardWeights(dW, dB, y, x, 1, g, Span<float>.Empty);
        var expectedX = new double[dx.Length];
        var expectedW = new double[dW.Length];
        ForEachTerm(1, g, (xi, wi, yi) => { expectedX[xi] += (double)w[wi] * y[yi]; expectedW[wi] += (double)x[xi] * y[yi]; });
        KernelAssert.Close(expectedX, dx, 1e-5, 1e-5, "pointwise dx");
        KernelAssert.Close(expectedW, dW, 1e-5, 1e-5, "pointwise dW");
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        var g = new ConvTranspose2dGeometry(1, 3, 3, 2, 3, 2, 1, 0);
        float[] x = new float[g.InputSize], w = new float[g.WeightSize], y = new float[g.OutputSize], scratch = new float[g.ColumnSize];
        var ex = Assert.Throws<ArgumentException>(() => ConvTranspose2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g, new float[g.ColumnSize - 1]));
        Assert.Contains("'scratch'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => ConvTranspose2d.Forward(y, x, w.AsSpan(1), ReadOnlySpan<float>.Empty, 1, g, scratch));
        Assert.Contains("'weight'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => ConvTranspose2d.Forward(y.AsSpan(1), x, w, ReadOnlySpan<float>.Empty, 1, g, scratch));
        Assert.Contains("'output'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => ConvTranspose2d.Forward(y, x, w, new float[1], 1, g, scratch));
        Assert.Contains("'bias'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => ConvTranspose2d.BackwardWeights(new float[g.WeightSize], new float[1], y, x, 1, g, scratch));
        Assert.Contains("'dBias'", ex.Message);
        // output padding must be smaller than the stride (PyTorch)
        ex = Assert.Throws<ArgumentException>(() => ConvTranspose2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g with { OutputPadding = 2 }, new float[1000]));
        Assert.Contains("smaller than the stride", ex.Message);
        Assert.Throws<ArgumentException>(() => ConvTranspose2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g with { Stride = 1, OutputPadding = 1 }, new float[1000]));
        // padding that crops the whole output: (1 - 1) * 1 - 2 + 1 = -1
        ex = Assert.Throws<ArgumentException>(() => ConvTranspose2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, new ConvTranspose2dGeometry(1, 1, 1, 1, 1, 1, 1, 0), new float[1000]));
        Assert.Contains("crops away everything", ex.Message);
        Assert.Throws<ArgumentException>(() => ConvTranspose2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g with { Stride = 0 }, new float[1000]));
        Assert.Throws<ArgumentException>(() => ConvTranspose2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g with { Padding = -1 }, new float[1000]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConvTranspose2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, -1, g, scratch));
    }

    private sealed class Workload
    {
        private const int Batch = 2;
        private readonly ConvTranspose2dGeometry _g = new(4, 5, 4, 3, 4, 2, 1, 1);
        private readonly ConvTranspose2dGeometry _pointwise = new(4, 5, 4, 3, 1, 1, 0, 0);
        private readonly float[] _x, _w, _b, _y, _dy, _dx, _dw, _db, _scratch, _py, _pw, _dpw;

        public Workload()
        {
            var rng = new Rng(147);
            _x = KernelAssert.Random(ref rng, Batch * _g.InputSize); _w = KernelAssert.Random(ref rng, _g.WeightSize); _b = KernelAssert.Random(ref rng, 3);
            _y = new float[Batch * _g.OutputSize]; _dy = KernelAssert.Random(ref rng, _y.Length);
            _dx = new float[_x.Length]; _dw = new float[_w.Length]; _db = new float[3]; _scratch = new float[_g.ColumnSize];
            _py = new float[Batch * _pointwise.OutputSize]; _pw = KernelAssert.Random(ref rng, _pointwise.WeightSize); _dpw = new float[_pw.Length];
        }

        public void Run()
        {
            ConvTranspose2d.Forward(_y, _x, _w, _b, Batch, _g, _scratch);
            ConvTranspose2d.BackwardData(_dx, _dy, _w, Batch, _g, _scratch, accumulate: false);
            ConvTranspose2d.BackwardData(_dx, _dy, _w, Batch, _g, _scratch, accumulate: true);
            ConvTranspose2d.BackwardWeights(_dw, _db, _dy, _x, Batch, _g, _scratch);
            ConvTranspose2d.Forward(_py, _x, _pw, ReadOnlySpan<float>.Empty, Batch, _pointwise, Span<float>.Empty);
            ConvTranspose2d.BackwardData(_dx, _py, _pw, Batch, _pointwise, Span<float>.Empty, accumulate: true);
            ConvTranspose2d.BackwardWeights(_dpw, Span<float>.Empty, _py, _x, Batch, _pointwise, Span<float>.Empty);
            Elementwise.Fill(_dw, 0f);
            Elementwise.Fill(_dpw, 0f);
        }
    }

    [Fact]
    public void KernelsDoNotAllocate()
    {
        var work = new Workload();
        Assert.Equal(0, Allocations.SteadyState(work.Run));
    }
}
