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

        // one 64-bit key per call (two NextUInt), then element i from (key, i) alone: what the CUDA kernel computes
        var reference = new Rng(7);
        ulong key = ((ulong)reference.NextUInt() << 32) | reference.NextUInt();
        var fresh = new Rng(7);
        float[] small = new float[3];
        Dropout.Forward(small, new float[3], small, 0.5f, ref fresh);
        Assert.Equal(reference.NextUInt(), fresh.NextUInt()); // a call draws exactly its key, whatever its length
        for (int i = 0; i < n; i++) Assert.Equal(Dropout.Uniform(key, i) >= p ? 1f / (1f - p) : 0f, m1[i]);
        float[] y3 = new float[n], m4 = new float[n];
        Dropout.Forward(y3, m4, x, p, key);
        Assert.Equal(m1, m4);
        Assert.Equal(y1, y3);

        // the next call draws a fresh mask; another seed gives another mask
        Dropout.Forward(y2, m3, x, p, ref b);
        Assert.NotEqual(m1, m3);
        var c = new Rng(8);
        Dropout.Forward(y2, m3, x, p, ref c);
        Assert.NotEqual(m1, m3);
    }

    [Fact]
    public void Uniform_is_the_SplitMix64_finalizer_of_the_key_and_index()
    {
        // Known values of SplitMix64's output function, z = key + (index + 1) * 0x9E3779B97F4A7C15: for key 0 these are
        // the first outputs of the reference SplitMix64 generator seeded with 0 (0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4,
        // 0x06C45D188009454F), whose top 24 bits make the uniform.
        Assert.Equal((0xE220A8397B1DCDAFUL >> 40) / 16777216f, Dropout.Uniform(0, 0));
        Assert.Equal((0x6E789E6AA1B965F4UL >> 40) / 16777216f, Dropout.Uniform(0, 1));
        Assert.Equal((0x06C45D188009454FUL >> 40) / 16777216f, Dropout.Uniform(0, 2));
        // another key, another stream
        Assert.NotEqual(Dropout.Uniform(1, 0), Dropout.Uniform(0, 0));
        // mean and variance of a uniform over many indices
        double sum = 0, squares = 0;
        const int n = 100_000;
        for (int i = 0; i < n; i++) { double u = Dropout.Uniform(0x1234_5678_9ABC_DEF0UL, i); sum += u; squares += u * u; }
        Assert.InRange(sum / n, 0.5 - 0.005, 0.5 + 0.005);
        Assert.InRange(squares / n - (sum / n) * (sum / n), 1.0 / 12 - 0.003, 1.0 / 12 + 0.003);
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
