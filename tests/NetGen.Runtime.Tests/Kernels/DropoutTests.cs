using System;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class DropoutTests
{
    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.3f)]
    [InlineData(0.5f)]
    [InlineData(0.9f)]
    public void DropsAboutPAndScalesTheRest(float p)
    {
        const int n = 200_000;
        var rng = new Rng(400);
        float[] x = KernelAssert.Random(ref rng, n, 0.5f, 2f), y = new float[n], mask = new float[n];
        var drop = new Rng(401);
        Dropout.Forward(y, mask, x, p, ref drop);

        float scale = 1f / (1f - p);
        int zeros = 0;
        for (int i = 0; i < n; i++)
        {
            Assert.True(mask[i] == 0f || mask[i] == scale, $"mask[{i}] = {mask[i]}");
            if (mask[i] == 0f) { zeros++; Assert.Equal(0f, y[i]); }
            else Assert.Equal(x[i] * scale, y[i]);
        }
        // binomial standard deviation sqrt(p (1-p) / n) <= 0.0012; allow 5 of them
        Assert.InRange((double)zeros / n, p - 0.006, p + 0.006);
    }

    [Fact]
    public void MaskFollowsTheRngStreamAndTheSeedReproducesIt()
    {
        const int n = 1000;
        const float p = 0.4f;
        var rng = new Rng(402);
        float[] x = KernelAssert.Random(ref rng, n);
        float[] y1 = new float[n], m1 = new float[n], y2 = new float[n], m2 = new float[n], m3 = new float[n];
        var a = new Rng(7);
        var b = new Rng(7);
        Dropout.Forward(y1, m1, x, p, ref a);
        Dropout.Forward(y2, m2, x, p, ref b);
        Assert.Equal(m1, m2);
        Assert.Equal(y1, y2);
        Assert.Equal(a.NextUInt(), b.NextUInt());   // both generators advanced alike

        // exactly one NextFloat per element, in order
        var reference = new Rng(7);
        for (int i = 0; i < n; i++) Assert.Equal(reference.NextFloat() >= p ? 1f / (1f - p) : 0f, m1[i]);

        // the next call draws a fresh mask; another seed gives another mask
        Dropout.Forward(y2, m3, x, p, ref b);
        Assert.NotEqual(m1, m3);
        var c = new Rng(8);
        Dropout.Forward(y2, m3, x, p, ref c);
        Assert.NotEqual(m1, m3);
    }

    [Fact]
    public void ZeroProbabilityIsTheIdentity()
    {
        var rng = new Rng(403);
        float[] x = KernelAssert.Random(ref rng, 257), y = new float[257], mask = new float[257];
        var drop = new Rng(404);
        Dropout.Forward(y, mask, x, 0f, ref drop);
        Assert.All(mask, m => Assert.Equal(1f, m));
        Assert.Equal(x, y);
    }

    [Fact]
    public void InPlaceForward()
    {
        var rng = new Rng(405);
        float[] x = KernelAssert.Random(ref rng, 101), y = new float[101], mask = new float[101], mask2 = new float[101];
        var a = new Rng(9);
        var b = new Rng(9);
        Dropout.Forward(y, mask, x, 0.25f, ref a);
        Dropout.Forward(x, mask2, x, 0.25f, ref b);
        Assert.Equal(mask, mask2);
        Assert.Equal(y, x);
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void BackwardIsMultiplyBackwardWithTheMask(SimdPath path)
    {
        var rng = new Rng(406);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] x = KernelAssert.Random(ref rng, n), y = new float[n], mask = new float[n];
            var drop = new Rng(410 + (ulong)n);
            Dropout.Forward(y, mask, x, 0.5f, ref drop);
            float[] dy = KernelAssert.Random(ref rng, n), start = KernelAssert.Random(ref rng, n), dx = new float[n];
            Array.Fill(dx, float.NaN);
            Elementwise.MultiplyBackward(path, dx, dy, mask, accumulate: false);
            for (int i = 0; i < n; i++) Assert.Equal(mask[i] == 0f ? 0f : dy[i] * 2f, dx[i]);
            start.CopyTo(dx, 0);
            Elementwise.MultiplyBackward(path, dx, dy, mask, accumulate: true);
            for (int i = 0; i < n; i++) KernelAssert.Close(start[i] + (mask[i] == 0f ? 0.0 : dy[i] * 2.0), dx[i], 1e-6, what: $"n={n} i={i}");
        }
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        float[] a = new float[4];
        foreach (float p in new[] { 1f, -0.1f, 1.5f, float.NaN })
        {
            float q = p;
            Assert.Throws<ArgumentOutOfRangeException>(() => { var r = new Rng(1); Dropout.Forward(a, new float[4], a, q, ref r); });
        }
        var ex = Assert.Throws<ArgumentException>(() => { var r = new Rng(1); Dropout.Forward(a, new float[3], a, 0.5f, ref r); });
        Assert.Contains("'mask'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => { var r = new Rng(1); Dropout.Forward(a, new float[4], new float[5], 0.5f, ref r); });
        Assert.Contains("'input'", ex.Message);
    }
}
