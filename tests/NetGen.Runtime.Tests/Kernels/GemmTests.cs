using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class GemmTests
{
    // (m, n, k): odd sizes and tails, full and ragged register tiles of every path (14/6 rows x
    // 2 vectors, 1 vector, a few columns), the matrix-vector forms (m or n = 1), the unpacked skinny
    // kernels (m or n < 4), two k blocks (k > 256), k = 0.
    private static readonly (int M, int N, int K)[] Shapes =
    {
        (1, 1, 1), (3, 7, 17), (17, 33, 7), (33, 17, 100), (100, 3, 33), (7, 100, 1),
        (8, 64, 5), (5, 51, 9), (4, 32, 16), (2, 4, 48), (64, 40, 120), (6, 13, 0),
        (13, 13, 13), (31, 31, 31), (67, 67, 67), (15, 33, 17), (14, 32, 8), (28, 16, 9), (6, 8, 3),
        (1, 300, 70), (300, 1, 70), (1, 1, 300), (1, 37, 5), (37, 1, 5), (2, 50, 9), (3, 40, 9), (50, 3, 9), (50, 2, 33),
        (29, 47, 300), (4, 4, 4), (5, 17, 1),
    };

    public static IEnumerable<object[]> Cases()
    {
        foreach (object[] p in KernelAssert.AllPaths())
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    foreach (bool accumulate in new[] { false, true })
                        yield return new object[] { p[0], transA, transB, accumulate };
    }

    /// <summary>C (=|+=) op(A) op(B) in double, straight from the definition.</summary>
    private static double[] Naive(bool transA, bool transB, int m, int n, int k, float[] a, float[] b, float[] c, bool accumulate)
    {
        var result = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? c[i * n + j] : 0.0;
                for (int p = 0; p < k; p++)
                {
                    double aip = transA ? a[p * m + i] : a[i * k + p];
                    double bpj = transB ? b[j * k + p] : b[p * n + j];
                    sum += aip * bpj;
                }
                result[i * n + j] = sum;
            }
        return result;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesNaiveTripleLoop(SimdPath path, bool transA, bool transB, bool accumulate)
    {
        var rng = new Rng(1234);
        foreach (var (m, n, k) in Shapes)
        {
            float[] a = KernelAssert.Random(ref rng, m * k);
            float[] b = KernelAssert.Random(ref rng, k * n);
            float[] c = KernelAssert.Random(ref rng, m * n);
            double[] expected = Naive(transA, transB, m, n, k, a, b, c, accumulate);
            // overwrite must never read C: poison it
            if (!accumulate) Array.Fill(c, float.NaN);

            Gemm.Multiply(path, transA, transB, m, n, k, a, b, c, accumulate);

            KernelAssert.Close(expected, c, atol: 1e-5 + 2e-7 * k, rtol: 1e-5,
                what: $"{path} transA={transA} transB={transB} acc={accumulate} m={m} n={n} k={k}");
        }
    }

    [Fact]
    public void OnlyThePrefixOfLongerSpansIsTouched()
    {
        var rng = new Rng(5);
        int m = 5, n = 19, k = 3;
        float[] a = KernelAssert.Random(ref rng, m * k + 4);
        float[] b = KernelAssert.Random(ref rng, k * n + 4);
        float[] c = new float[m * n + 7];
        Array.Fill(c, 42f);
        Gemm.Multiply(false, false, m, n, k, a, b, c, accumulate: false);
        for (int i = m * n; i < c.Length; i++) Assert.Equal(42f, c[i]);
        Assert.NotEqual(42f, c[0]);
    }

    [Fact]
    public void PublicEntryUsesBestPath()
    {
        var rng = new Rng(77);
        int m = 9, n = 37, k = 21;
        float[] a = KernelAssert.Random(ref rng, m * k), b = KernelAssert.Random(ref rng, n * k);
        float[] viaPublic = new float[m * n], viaBest = new float[m * n];
        Gemm.Multiply(false, true, m, n, k, a, b, viaPublic, false);
        Gemm.Multiply(Simd.Best, false, true, m, n, k, a, b, viaBest, false);
        Assert.Equal(viaBest, viaPublic);
    }

    [Fact]
    public void ShortSpansAndNegativeSizesThrow()
    {
        float[] a = new float[6], b = new float[6], c = new float[4];
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, a.AsSpan(0, 5), b, c, false));
        Assert.Contains("'a'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, a, b.AsSpan(0, 5), c, false));
        Assert.Contains("'b'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, a, b, c.AsSpan(0, 3), false));
        Assert.Contains("'c'", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(false, false, -1, 2, 3, a, b, c, false));
    }
}
