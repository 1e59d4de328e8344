using NetGen.Tests.Shared;
using System;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class Upsample2dTests
{
    /// <summary>(inH, inW, outH, outW): integer factors, non-integer ratios, downsampling, one axis unchanged, 1x1, identity.</summary>
    private static readonly (int InH, int InW, int OutH, int OutW)[] Sizes =
    {
        (2, 3, 4, 6),
        (3, 3, 9, 9),
        (4, 5, 7, 3),
        (5, 7, 8, 11),
        (1, 1, 3, 2),
        (6, 6, 6, 6),
        (3, 4, 3, 10),
        (7, 7, 14, 14),
        (5, 4, 2, 9),
        (14, 20, 20, 14),
    };

    private const int Batch = 2, Channels = 3;

    // ------------------------------------------------------------------ references (double, from the definitions)

    /// <summary>PyTorch 'nearest' source index: floor(dst * in / out), in exact integer arithmetic.</summary>
    private static int NearestSource(int dst, int inSize, int outSize) => (int)((long)dst * inSize / outSize);

    private static double[] NaiveNearest(float[] x, int inH, int inW, int outH, int outW)
    {
        var y = new double[Batch * Channels * outH * outW];
        for (int plane = 0; plane < Batch * Channels; plane++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                    y[(plane * outH + oy) * outW + ox] = x[(plane * inH + NearestSource(oy, inH, outH)) * inW + NearestSource(ox, inW, outW)];
        return y;
    }

    /// <summary>align_corners=False: real = max((dst + 0.5) in/out - 0.5, 0); taps floor(real) and the next one clamped; weight real - floor.</summary>
    private static (int I0, int I1, double W1) LinearSource(int dst, int inSize, int outSize)
    {
        double real = Math.Max((dst + 0.5) * inSize / outSize - 0.5, 0.0);
        int i0 = Math.Min((int)Math.Floor(real), inSize - 1);
        int i1 = Math.Min(i0 + 1, inSize - 1);
        return (i0, i1, Math.Clamp(real - i0, 0.0, 1.0));
    }

    /// <summary>Calls visit(input index, output index, weight) for each of the four bilinear taps of every output pixel.</summary>
    private static void ForEachBilinearTap(int inH, int inW, int outH, int outW, Action<int, int, double> visit)
    {
        for (int plane = 0; plane < Batch * Channels; plane++)
            for (int oy = 0; oy < outH; oy++)
            {
                var (y0, y1, ly) = LinearSource(oy, inH, outH);
                for (int ox = 0; ox < outW; ox++)
                {
                    var (x0, x1, lx) = LinearSource(ox, inW, outW);
                    int o = (plane * outH + oy) * outW + ox;
                    visit((plane * inH + y0) * inW + x0, o, (1 - ly) * (1 - lx));
                    visit((plane * inH + y0) * inW + x1, o, (1 - ly) * lx);
                    visit((plane * inH + y1) * inW + x0, o, ly * (1 - lx));
                    visit((plane * inH + y1) * inW + x1, o, ly * lx);
                }
            }
    }

    // ------------------------------------------------------------------ nearest

    [Fact]
    public void NearestIndexMatchesExactFloorForTheTestedSizes()
    {
        foreach (var (inH, inW, outH, outW) in Sizes)
        {
            for (int d = 0; d < outH; d++) Assert.Equal(NearestSource(d, inH, outH), Upsample2d.NearestIndex(d, inH, outH, (float)inH / outH));
            for (int d = 0; d < outW; d++) Assert.Equal(NearestSource(d, inW, outW), Upsample2d.NearestIndex(d, inW, outW, (float)inW / outW));
        }
    }

    [Fact]
    public void NearestForwardMatchesReference()
    {
        var rng = new Rng(150);
        foreach (var (inH, inW, outH, outW) in Sizes)
        {
            float[] x = KernelAssert.Random(ref rng, Batch * Channels * inH * inW), y = new float[Batch * Channels * outH * outW];
            Array.Fill(y, float.NaN);
            Upsample2d.NearestForward(y, x, Batch, Channels, inH, inW, outH, outW);
            KernelAssert.Close(NaiveNearest(x, inH, inW, outH, outW), y, 0, 0, $"nearest {inH}x{inW}->{outH}x{outW}");
        }
    }

    [Fact]
    public void NearestTimesTwoReplicatesPixels()
    {
        float[] x = { 1, 2, 3, 4 }, y = new float[16];
        Upsample2d.NearestForward(y, x, 1, 1, 2, 2, 4, 4);
        Assert.Equal(new float[] { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 }, y);
        // 3 -> 2 (PyTorch: floor(0 * 1.5) = 0, floor(1 * 1.5) = 1)
        float[] z = new float[2];
        Upsample2d.NearestForward(z, new float[] { 5, 6, 7 }, 1, 1, 1, 3, 1, 2);
        Assert.Equal(new float[] { 5, 6 }, z);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NearestBackwardSumsOverCopies(bool accumulate)
    {
        var rng = new Rng(151);
        foreach (var (inH, inW, outH, outW) in Sizes)
        {
            float[] dy = KernelAssert.Random(ref rng, Batch * Channels * outH * outW), dx = KernelAssert.Random(ref rng, Batch * Channels * inH * inW);
            var expected = new double[dx.Length];
            if (accumulate) for (int i = 0; i < dx.Length; i++) expected[i] = dx[i];
            for (int plane = 0; plane < Batch * Channels; plane++)
                for (int oy = 0; oy < outH; oy++)
                    for (int ox = 0; ox < outW; ox++)
                        expected[(plane * inH + NearestSource(oy, inH, outH)) * inW + NearestSource(ox, inW, outW)] += dy[(plane * outH + oy) * outW + ox];
            if (!accumulate) Array.Fill(dx, float.NaN);
            Upsample2d.NearestBackward(dx, dy, Batch, Channels, inH, inW, outH, outW, accumulate);
            KernelAssert.Close(expected, dx, 1e-6, 1e-6, $"nearest backward {inH}x{inW}->{outH}x{outW} acc={accumulate}");
        }
    }

    // ------------------------------------------------------------------ bilinear

    [Fact]
    public void BilinearForwardMatchesReference()
    {
        var rng = new Rng(152);
        foreach (var (inH, inW, outH, outW) in Sizes)
        {
            float[] x = KernelAssert.Random(ref rng, Batch * Channels * inH * inW), y = new float[Batch * Channels * outH * outW];
            var expected = new double[y.Length];
            ForEachBilinearTap(inH, inW, outH, outW, (xi, yi, w) => expected[yi] += w * x[xi]);
            Array.Fill(y, float.NaN);
            Upsample2d.BilinearForward(y, x, Batch, Channels, inH, inW, outH, outW);
            // the kernel computes the source point in float like PyTorch: lambda carries ~ulp(real) error
            KernelAssert.Close(expected, y, 1e-5, 1e-5, $"bilinear {inH}x{inW}->{outH}x{outW}");
        }
    }

    [Fact]
    public void BilinearMatchesPyTorchValues()
    {
        // F.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4), mode='bilinear', align_corners=False)
        float[] y = new float[16];
        Upsample2d.BilinearForward(y, new float[] { 1, 2, 3, 4 }, 1, 1, 2, 2, 4, 4);
        KernelAssert.Close(new float[] { 1f, 1.25f, 1.75f, 2f, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3f, 3.25f, 3.75f, 4f }, y, 1e-6, what: "2x2 -> 4x4");
        // 1-d, 3 -> 5: scale 0.6, real = max(0.6 (d + 0.5) - 0.5, 0) = 0, 0.4, 1.0, 1.6, 2.2 (clamped to the last pixel)
        float[] z = new float[5];
        Upsample2d.BilinearForward(z, new float[] { 0, 10, 20 }, 1, 1, 1, 3, 1, 5);
        KernelAssert.Close(new float[] { 0f, 4f, 10f, 16f, 20f }, z, 1e-5, what: "3 -> 5");
        // downsampling 4 -> 2 averages neighbour pairs: real = 0.5, 2.5
        float[] d = new float[2];
        Upsample2d.BilinearForward(d, new float[] { 1, 3, 5, 9 }, 1, 1, 1, 4, 1, 2);
        KernelAssert.Close(new float[] { 2f, 7f }, d, 1e-6, what: "4 -> 2");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BilinearBackwardMatchesReference(bool accumulate)
    {
        var rng = new Rng(153);
        foreach (var (inH, inW, outH, outW) in Sizes)
        {
            float[] dy = KernelAssert.Random(ref rng, Batch * Channels * outH * outW), dx = KernelAssert.Random(ref rng, Batch * Channels * inH * inW);
            var expected = new double[dx.Length];
            if (accumulate) for (int i = 0; i < dx.Length; i++) expected[i] = dx[i];
            ForEachBilinearTap(inH, inW, outH, outW, (xi, yi, w) => expected[xi] += w * dy[yi]);
            if (!accumulate) Array.Fill(dx, float.NaN);
            Upsample2d.BilinearBackward(dx, dy, Batch, Channels, inH, inW, outH, outW, accumulate);
            KernelAssert.Close(expected, dx, 1e-5, 1e-5, $"bilinear backward {inH}x{inW}->{outH}x{outW} acc={accumulate}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BackwardMatchesFiniteDifferencesOfForward(bool bilinear)
    {
        // L = sum(g * up(x)) is linear in x, so central differences are exact up to rounding.
        var rng = new Rng(154);
        foreach (var (inH, inW, outH, outW) in new[] { (3, 4, 7, 9), (5, 5, 3, 8), (2, 2, 4, 4), (4, 3, 4, 5) })
        {
            float[] x = KernelAssert.Random(ref rng, Batch * Channels * inH * inW), g = KernelAssert.Random(ref rng, Batch * Channels * outH * outW);
            float[] y = new float[g.Length], dx = new float[x.Length];

            double Loss()
            {
                if (bilinear) Upsample2d.BilinearForward(y, x, Batch, Channels, inH, inW, outH, outW);
                else Upsample2d.NearestForward(y, x, Batch, Channels, inH, inW, outH, outW);
                double l = 0;
                for (int i = 0; i < y.Length; i++) l += (double)g[i] * y[i];
                return l;
            }

            if (bilinear) Upsample2d.BilinearBackward(dx, g, Batch, Channels, inH, inW, outH, outW, accumulate: false);
            else Upsample2d.NearestBackward(dx, g, Batch, Channels, inH, inW, outH, outW, accumulate: false);
            for (int i = 0; i < x.Length; i++)
            {
                const float h = 0.5f;
                float saved = x[i];
                x[i] = saved + h; double plus = Loss();
                x[i] = saved - h; double minus = Loss();
                x[i] = saved;
                KernelAssert.Close((plus - minus) / (2 * h), dx[i], 1e-5, 1e-5, $"dx[{i}] {inH}x{inW}->{outH}x{outW} bilinear={bilinear}");
            }
        }
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        float[] x = new float[2 * 3 * 3], y = new float[2 * 6 * 6];
        var ex = Assert.Throws<ArgumentException>(() => Upsample2d.NearestForward(y.AsSpan(1), x, 1, 2, 3, 3, 6, 6));
        Assert.Contains("'output'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Upsample2d.BilinearForward(y, x.AsSpan(1), 1, 2, 3, 3, 6, 6));
        Assert.Contains("'input'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Upsample2d.BilinearBackward(x.AsSpan(1), y, 1, 2, 3, 3, 6, 6, accumulate: false));
        Assert.Contains("'dInput'", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Upsample2d.NearestBackward(x, y, 1, 2, 3, 3, 0, 6, accumulate: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => Upsample2d.NearestForward(y, x, -1, 2, 3, 3, 6, 6));
    }

    private sealed class Workload
    {
        private readonly float[] _x, _y, _dy, _dx;

        public Workload()
        {
            var rng = new Rng(155);
            _x = KernelAssert.Random(ref rng, Batch * Channels * 5 * 7); _dx = new float[_x.Length];
            _y = new float[Batch * Channels * 10 * 14]; _dy = KernelAssert.Random(ref rng, _y.Length);
        }

        public void Run()
        {
            Upsample2d.NearestForward(_y, _x, Batch, Channels, 5, 7, 10, 14);
            Upsample2d.NearestBackward(_dx, _dy, Batch, Channels, 5, 7, 10, 14, accumulate: false);
            Upsample2d.NearestForward(_y, _x, Batch, Channels, 5, 7, 8, 11);
            Upsample2d.NearestBackward(_dx, _dy, Batch, Channels, 5, 7, 8, 11, accumulate: true);
            Upsample2d.BilinearForward(_y, _x, Batch, Channels, 5, 7, 10, 14);
            Upsample2d.BilinearBackward(_dx, _dy, Batch, Channels, 5, 7, 10, 14, accumulate: true);
            Upsample2d.BilinearForward(_y, _x, Batch, Channels, 5, 7, 5, 7);
            Upsample2d.BilinearBackward(_dx, _dy, Batch, Channels, 5, 7, 5, 7, accumulate: false);
        }
    }

    [Fact]
    public void KernelsDoNotAllocate()
    {
        var work = new Workload();
        Assert.Equal(0, Allocations.SteadyState(work.Run));
    }
}
