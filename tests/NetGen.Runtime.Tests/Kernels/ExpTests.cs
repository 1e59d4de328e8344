using NetGen.Tests.Shared;
using System;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class ExpTests
{
    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void ForwardMatchesDoublePrecision(SimdPath path)
    {
        var rng = new Rng(160);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] x = KernelAssert.Random(ref rng, n, -80f, 80f), y = new float[n];
            Array.Fill(y, float.NaN);
            Exp.Forward(path, y, x);
            for (int i = 0; i < n; i++) KernelAssert.Close(Math.Exp(x[i]), y[i], 0, 1e-6, $"{path} exp({x[i]})");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void ForwardHandlesExtremesAndInPlace(SimdPath path)
    {
        float[] extremes = { float.NegativeInfinity, -1e30f, -200f, -104f, -20f, -1e-30f, -0f, 0f, 1e-30f, 1f, 20f, 88f, 89f, 100f, 1e30f, float.PositiveInfinity, float.NaN };
        // two copies at different offsets, so extremes land in vector bodies and in scalar tails
        float[] x = new float[extremes.Length * 2 + 1];
        extremes.CopyTo(x, 0);
        extremes.CopyTo(x, extremes.Length + 1);
        float[] y = (float[])x.Clone();
        Exp.Forward(path, y, y);   // in place
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            if (float.IsNaN(v)) Assert.True(float.IsNaN(y[i]), $"exp(NaN) = {y[i]}");
            else if (v >= 89f) Assert.Equal(float.PositiveInfinity, y[i]);
            else if (v <= -104f) Assert.Equal(0f, y[i]);
            else KernelAssert.Close(Math.Exp(v), y[i], 0, 1e-6, $"{path} exp({v})");
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void BackwardIsDyTimesY(SimdPath path)
    {
        var rng = new Rng(161);
        foreach (int n in KernelAssert.OddSizes)
        {
            float[] y = KernelAssert.Random(ref rng, n, 0f, 5f), dy = KernelAssert.Random(ref rng, n), start = KernelAssert.Random(ref rng, n);
            float[] dx = new float[n];
            Array.Fill(dx, float.NaN);
            Exp.Backward(path, dx, dy, y, accumulate: false);
            for (int i = 0; i < n; i++) KernelAssert.Close((double)dy[i] * y[i], dx[i], 1e-6, 1e-6, $"{path} n={n} i={i}");
            start.CopyTo(dx, 0);
            Exp.Backward(path, dx, dy, y, accumulate: true);
            for (int i = 0; i < n; i++) KernelAssert.Close(start[i] + (double)dy[i] * y[i], dx[i], 1e-6, 1e-6, $"{path} acc n={n} i={i}");
        }
    }

    [Fact]
    public void BackwardMatchesFiniteDifferencesOfForward()
    {
        // L = sum(g * exp(x)); dL/dx = g * exp(x) = Backward(g, y)
        var rng = new Rng(162);
        const int n = 37;
        float[] x = KernelAssert.Random(ref rng, n, -3f, 3f), g = KernelAssert.Random(ref rng, n), y = new float[n], dx = new float[n];
        Exp.Forward(y, x);
        Exp.Backward(dx, g, y, accumulate: false);
        for (int i = 0; i < n; i++)
        {
            const double h = 1e-3;
            double numeric = g[i] * (Math.Exp(x[i] + h) - Math.Exp(x[i] - h)) / (2 * h);
            KernelAssert.Close(numeric, dx[i], 1e-5, 1e-5, $"dx[{i}]");
            // and through the kernel itself, in float
            float[] probe = { x[i] - 0.01f, x[i] + 0.01f }, out2 = new float[2];
            Exp.Forward(out2, probe);
            double kernelNumeric = g[i] * ((double)out2[1] - out2[0]) / ((double)probe[1] - probe[0]);
            KernelAssert.Close(kernelNumeric, dx[i], 1e-4, 1e-3, $"dx[{i}] (kernel differences)");
        }
    }

    [Fact]
    public void MismatchedLengthsThrow()
    {
        var ex = Assert.Throws<ArgumentException>(() => Exp.Forward(new float[3], new float[4]));
        Assert.Contains("'input'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Exp.Backward(new float[3], new float[3], new float[2], accumulate: false));
        Assert.Contains("'output'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Exp.Backward(new float[3], new float[4], new float[3], accumulate: true));
        Assert.Contains("'dOutput'", ex.Message);
    }

    private sealed class Workload
    {
        private readonly float[] _x, _y, _dy, _dx;

        public Workload()
        {
            var rng = new Rng(163);
            _x = KernelAssert.Random(ref rng, 103); _y = new float[103]; _dy = KernelAssert.Random(ref rng, 103); _dx = new float[103];
        }

        public void Run()
        {
            Exp.Forward(_y, _x);
            Exp.Backward(_dx, _dy, _y, accumulate: false);
            Exp.Backward(_dx, _dy, _y, accumulate: true);
        }
    }

    [Fact]
    public void KernelsDoNotAllocate()
    {
        var work = new Workload();
        Assert.Equal(0, Allocations.SteadyState(work.Run));
    }
}
