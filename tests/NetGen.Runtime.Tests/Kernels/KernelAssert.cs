using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

/// <summary>Shared helpers for the kernel tests: random data, SIMD path lists, tolerant comparisons.</summary>
internal static class KernelAssert
{
    /// <summary>Odd sizes that exercise vector bodies and scalar tails of every width.</summary>
    public static readonly int[] OddSizes = { 1, 3, 7, 16, 17, 33, 100, 257 };

    /// <summary>The vectorised paths this machine supports (Scalar alone when none is, so theories never run empty).</summary>
    public static IEnumerable<object[]> VectorPaths()
    {
        bool any = false;
        foreach (SimdPath path in new[] { SimdPath.Vector128, SimdPath.Vector256, SimdPath.Vector512 })
        {
            if (Simd.IsSupported(path)) { any = true; yield return new object[] { path }; }
        }
        if (!any) yield return new object[] { SimdPath.Scalar };
    }

    /// <summary>Every supported path including Scalar.</summary>
    public static IEnumerable<object[]> AllPaths()
    {
        yield return new object[] { SimdPath.Scalar };
        foreach (SimdPath path in new[] { SimdPath.Vector128, SimdPath.Vector256, SimdPath.Vector512 })
            if (Simd.IsSupported(path)) yield return new object[] { path };
    }

    public static float[] Random(ref Rng rng, int count, float low = -1f, float high = 1f)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = rng.NextUniform(low, high);
        return values;
    }

    /// <summary>|expected - actual| &lt;= atol + rtol * |expected| elementwise, reporting the first bad index.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol = 0, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            bool ok = double.IsNaN(e) ? double.IsNaN(a) : Math.Abs(e - a) <= atol + rtol * Math.Abs(e);
            if (!ok) Assert.Fail($"{what} mismatch at [{i}] of {expected.Length}: expected {e:R}, actual {a:R}, |diff| {Math.Abs(e - a):E3}");
        }
    }

    public static void Close(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double atol, double rtol = 0, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (!(Math.Abs(e - a) <= atol + rtol * Math.Abs(e)))
                Assert.Fail($"{what} mismatch at [{i}] of {expected.Length}: expected {e:R}, actual {a:R}, |diff| {Math.Abs(e - a):E3}");
        }
    }

    public static void Close(double expected, double actual, double atol, double rtol = 0, string what = "")
    {
        if (!(Math.Abs(expected - actual) <= atol + rtol * Math.Abs(expected)))
            Assert.Fail($"{what}: expected {expected:R}, actual {actual:R}, |diff| {Math.Abs(expected - actual):E3}");
    }
}
