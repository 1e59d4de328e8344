using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NetGen;
using NetGen.Cpu;
using NetGen.Tests.Shared;
using Xunit;

namespace NetGen.Runtime.Tests;

/// <summary>
/// The blocked, packed, multithreaded Gemm: shapes spanning several cache blocks (k &gt; KC, m &gt; MC,
/// n &gt; NC), leading dimensions, bit-identical results for any thread count, concurrent and
/// re-entrant callers, and no allocation in steady state.
/// </summary>
public class GemmBlockedTests
{
    public static IEnumerable<object[]> PathsAndTransposes()
    {
        foreach (object[] p in KernelAssert.AllPaths())
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    yield return new object[] { p[0], transA, transB };
    }

    public static IEnumerable<object[]> VectorPathsAndTransposes()
    {
        foreach (object[] p in KernelAssert.VectorPaths())
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    yield return new object[] { p[0], transA, transB };
    }

    /// <summary>op(A) op(B) (+ C) in double, with leading dimensions.</summary>
    internal static double[] Reference(bool transA, bool transB, int m, int n, int k,
        float[] a, int lda, float[] b, int ldb, float[] c, int ldc, bool accumulate)
    {
        var result = new double[m * n];
        var row = new double[n];
        for (int i = 0; i < m; i++)
        {
            Array.Clear(row);
            for (int p = 0; p < k; p++)
            {
                double aip = transA ? a[p * lda + i] : a[i * lda + p];
                if (transB) for (int j = 0; j < n; j++) row[j] += aip * b[j * ldb + p];
                else for (int j = 0; j < n; j++) row[j] += aip * b[p * ldb + j];
            }
            for (int j = 0; j < n; j++) result[i * n + j] = row[j] + (accumulate ? c[i * ldc + j] : 0.0);
        }
        return result;
    }

    private static float[] Compact(float[] c, int m, int n, int ldc)
    {
        var r = new float[m * n];
        for (int i = 0; i < m; i++) Array.Copy(c, i * ldc, r, i * n, n);
        return r;
    }

    private static double Tolerance(int k) => 1e-5 + 2e-7 * k;

    // k > KC (256), m > MC / 2 (a thread's rows), n > NC (512), each alone (cheap) and a few together; the last one
    // has a KC x n slice of B over the direct-B limit and more than eight row panels, so B is packed (row by row across
    // the panels, then a ragged last panel).
    private static readonly (int M, int N, int K)[] BlockShapes =
    {
        (37, 45, 600), (1100, 37, 70), (20, 1100, 70), (300, 517, 129), (70, 70, 520), (15, 600, 9), (130, 1000, 300),
    };

    [Theory]
    [MemberData(nameof(PathsAndTransposes))]
    public void SpansSeveralCacheBlocks(SimdPath path, bool transA, bool transB)
    {
        var rng = new Rng(11);
        foreach (var (m, n, k) in BlockShapes)
        {
            if (path == SimdPath.Scalar && (long)m * n * k > 5_000_000) continue;   // the reference loop is slow
            foreach (bool accumulate in new[] { false, true })
            {
                float[] a = KernelAssert.Random(ref rng, m * k), b = KernelAssert.Random(ref rng, k * n), c = KernelAssert.Random(ref rng, m * n);
                double[] expected = Reference(transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate);
                if (!accumulate) Array.Fill(c, float.NaN);
                Gemm.Multiply(path, transA, transB, m, n, k, a, b, c, accumulate);
                KernelAssert.Close(expected, c, atol: Tolerance(k), rtol: 1e-5,
                    what: $"{path} transA={transA} transB={transB} acc={accumulate} m={m} n={n} k={k}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(VectorPathsAndTransposes))]
    public void LargeProductAcrossAllBlocksAtOnce(SimdPath path, bool transA, bool transB)
    {
        var rng = new Rng(12);
        int m = 1030, n = 530, k = 270;
        float[] a = KernelAssert.Random(ref rng, m * k), b = KernelAssert.Random(ref rng, k * n), c = KernelAssert.Random(ref rng, m * n);
        double[] expected = Reference(transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate: true);
        Gemm.Multiply(path, transA, transB, m, n, k, a, b, c, accumulate: true);
        KernelAssert.Close(expected, c, atol: Tolerance(k), rtol: 1e-5, what: $"{path} transA={transA} transB={transB}");
    }

    [Theory]
    [MemberData(nameof(PathsAndTransposes))]
    public void LeadingDimensionsReadAndWriteOnlyTheSubMatrices(SimdPath path, bool transA, bool transB)
    {
        var rng = new Rng(13);
        foreach (var (m, n, k) in new[] { (5, 7, 3), (1, 40, 17), (40, 1, 17), (19, 45, 33), (70, 100, 300), (3, 2, 9) })
        {
            int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5, ldc = n + 7;
            int aRows = transA ? k : m, bRows = transB ? n : k;
            foreach (bool accumulate in new[] { false, true })
            {
                float[] a = KernelAssert.Random(ref rng, aRows * lda), b = KernelAssert.Random(ref rng, bRows * ldb);
                float[] c = KernelAssert.Random(ref rng, m * ldc);
                double[] expected = Reference(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
                float[] before = (float[])c.Clone();
                if (!accumulate)
                    for (int i = 0; i < m; i++) Array.Fill(c, float.NaN, i * ldc, n);
                // spans hold exactly (rows-1)*ld + cols: the last row's padding is not there
                Gemm.Multiply(path, transA, transB, m, n, k,
                    a.AsSpan(0, (aRows - 1) * lda + (transA ? m : k)), lda,
                    b.AsSpan(0, (bRows - 1) * ldb + (transB ? k : n)), ldb,
                    c.AsSpan(0, (m - 1) * ldc + n), ldc, accumulate, WorkerPool.ThreadCount);
                string what = $"{path} transA={transA} transB={transB} acc={accumulate} m={m} n={n} k={k}";
                KernelAssert.Close(expected, Compact(c, m, n, ldc), atol: Tolerance(k), rtol: 1e-5, what: what);
                for (int i = 0; i < m; i++)
                    for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                        Assert.True(before[i * ldc + j] == c[i * ldc + j], $"{what}: padding C[{i},{j}] was written");
            }
        }
    }

    [Fact]
    public void PublicLeadingDimensionOverloadMatchesContiguous()
    {
        var rng = new Rng(14);
        int m = 33, n = 65, k = 47;
        float[] a = KernelAssert.Random(ref rng, m * k), b = KernelAssert.Random(ref rng, k * n);
        float[] c1 = new float[m * n], c2 = new float[m * n];
        Gemm.Multiply(false, false, m, n, k, a, b, c1, false);
        Gemm.Multiply(false, false, m, n, k, a, k, b, n, c2, n, false);
        Assert.Equal(c1, c2);
    }

    [Fact]
    public void BadLeadingDimensionsThrow()
    {
        float[] a = new float[100], b = new float[100], c = new float[100];
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(false, false, 2, 3, 4, a, 3, b, 3, c, 3, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(false, false, 2, 3, 4, a, 4, b, 2, c, 3, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(true, true, 2, 3, 4, a, 1, b, 4, c, 3, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(false, false, 2, 3, 4, a, 4, b, 3, c, 2, false));
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 3, 4, a.AsSpan(0, 8), 5, b, 3, c, 3, false));
        Assert.Contains("'a'", ex.Message);
    }

    [Theory]
    [MemberData(nameof(PathsAndTransposes))]
    public void EmptyDepthOverwritesWithZeroOrLeavesC(SimdPath path, bool transA, bool transB)
    {
        float[] c = { 1, 2, 3, 4, 5, 6 };
        Gemm.Multiply(path, transA, transB, 2, 3, 0, Array.Empty<float>(), Array.Empty<float>(), c, accumulate: true);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, c);
        Gemm.Multiply(path, transA, transB, 2, 3, 0, Array.Empty<float>(), Array.Empty<float>(), c, accumulate: false);
        Assert.Equal(new float[6], c);
    }

    // Shapes above the single-thread threshold, packed and unpacked (skinny, matrix-vector).
    private static readonly (int M, int N, int K)[] ThreadShapes =
    {
        (300, 517, 129), (131, 97, 300), (64, 3136, 27), (1100, 37, 70), (2, 3000, 200), (3000, 3, 200),
        (1, 5000, 100), (5000, 1, 100), (97, 2000, 5), (600, 600, 16),
        (300, 1100, 1000),   // two row parts pack each B block together (GemmPacked.SharesB), with a barrier per block
    };

    [Theory]
    [MemberData(nameof(VectorPathsAndTransposes))]
    public void ResultDoesNotDependOnTheThreadCount(SimdPath path, bool transA, bool transB)
    {
        var rng = new Rng(15);
        foreach (var (m, n, k) in ThreadShapes)
        {
            float[] a = KernelAssert.Random(ref rng, m * k), b = KernelAssert.Random(ref rng, k * n), c0 = KernelAssert.Random(ref rng, m * n);
            float[] single = (float[])c0.Clone();
            Multiply(path, transA, transB, m, n, k, a, b, single, accumulate: true, threads: 1);
            foreach (int threads in new[] { 2, 3, 4, 7 })
            {
                float[] multi = (float[])c0.Clone();
                Multiply(path, transA, transB, m, n, k, a, b, multi, accumulate: true, threads: threads);
                for (int i = 0; i < single.Length; i++)
                {
                    if (BitConverter.SingleToInt32Bits(single[i]) != BitConverter.SingleToInt32Bits(multi[i]))
                        Assert.Fail($"{path} transA={transA} transB={transB} m={m} n={n} k={k} threads={threads}: element {i} is {multi[i]:R}, single-threaded {single[i]:R}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndTransposes))]
    public void RowsDoNotDependOnHowManyRowsAreComputed(SimdPath path, bool transA, bool transB)
    {
        // a sample's output is the same in any batch of 2 or more: rows of C computed with m' < m rows equal the first m' rows
        var rng = new Rng(19);
        int mMax = 70;
        foreach (var (n, k) in new[] { (1, 300), (5, 7), (15, 300), (16, 40), (40, 1), (100, 300), (37, 600) })
        {
            float[] aFull = KernelAssert.Random(ref rng, mMax * k), b = KernelAssert.Random(ref rng, k * n);
            float[] c0 = KernelAssert.Random(ref rng, mMax * n);
            float[] full = (float[])c0.Clone();
            Multiply(path, transA, transB, mMax, n, k, aFull, b, full, accumulate: true, threads: WorkerPool.ThreadCount);
            foreach (int m in new[] { 1, 2, 3, 4, 5, 13, 14, 15, 29, 64 })
            {
                // the one exception: a single row times a transposed B with n >= 16 (matrix-vector) uses dot products
                if (m == 1 && transB && n >= 16) continue;
                // op(A) for the first m rows: a prefix of the rows of A, or the first m columns of A^T
                float[] a = new float[m * k];
                for (int p = 0; p < k; p++)
                    for (int i = 0; i < m; i++)
                    {
                        if (transA) a[p * m + i] = aFull[p * mMax + i];
                        else a[i * k + p] = aFull[i * k + p];
                    }
                float[] part = c0.AsSpan(0, m * n).ToArray();
                Multiply(path, transA, transB, m, n, k, a, b, part, accumulate: true, threads: WorkerPool.ThreadCount);
                for (int e = 0; e < m * n; e++)
                {
                    if (BitConverter.SingleToInt32Bits(part[e]) != BitConverter.SingleToInt32Bits(full[e]))
                        Assert.Fail($"{path} transA={transA} transB={transB} n={n} k={k}: m={m} gives {part[e]:R} at [{e / n},{e % n}], m={mMax} gives {full[e]:R}");
                }
            }
        }
    }

    private static void Multiply(SimdPath path, bool transA, bool transB, int m, int n, int k, float[] a, float[] b, float[] c, bool accumulate, int threads)
        => Gemm.Multiply(path, transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate, threads);

    [SkippableTheory]
    [MemberData(nameof(VectorPathsAndTransposes))]
    public void PanelsTakenFromASlowPartGiveTheSameResult(SimdPath path, bool transA, bool transB)
    {
        Skip.If(WorkerPool.ThreadCount < 2, "skipped: one thread (NETGEN_THREADS=1 or one core)");
        Skip.If(path == SimdPath.Scalar, "skipped: no SIMD path (the scalar reference does not split products)");
        // a product whose row parts share B (GemmPacked.ComputeSharingB); part 1 sleeps after every wait, so part 0
        // multiplies some of its panels with part 1's packed A
        var rng = new Rng(17);
        int m = 300, n = 1100, k = 1000;
        float[] a = KernelAssert.Random(ref rng, m * k), b = KernelAssert.Random(ref rng, k * n), c0 = KernelAssert.Random(ref rng, m * n);
        float[] single = (float[])c0.Clone();
        Multiply(path, transA, transB, m, n, k, a, b, single, accumulate: true, threads: 1);
        // the parts share B only when the pool is free (a test class running beside this one may hold it): try a few
        // times until panels were taken; every attempt's result must match one thread's bits
        bool stole = false;
        for (int attempt = 0; attempt < 20 && !stole; attempt++)
        {
            float[] shared = (float[])c0.Clone();
            long stolenBefore = Interlocked.Read(ref GemmPacked.StolenPanels);
            GemmPacked.TestSlowPart = 1;
            try { Multiply(path, transA, transB, m, n, k, a, b, shared, accumulate: true, threads: 2); }
            finally { GemmPacked.TestSlowPart = -1; }
            stole = Interlocked.Read(ref GemmPacked.StolenPanels) > stolenBefore;
            for (int i = 0; i < single.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(single[i]) != BitConverter.SingleToInt32Bits(shared[i]))
                    Assert.Fail($"{path} transA={transA} transB={transB}: element {i} is {shared[i]:R}, single-threaded {single[i]:R}");
            }
        }
        Assert.True(stole, "no panel was taken from the slow part in 20 attempts");
    }

    [Fact]
    public void ConcurrentCallersFromFourThreadsGetCorrectResults()
    {
        var rng = new Rng(16);
        var shapes = new[] { (200, 300, 150), (64, 784, 75), (257, 129, 64), (1, 2000, 300) };
        var inputs = new (float[] A, float[] B, float[] Expected)[shapes.Length];
        for (int s = 0; s < shapes.Length; s++)
        {
            var (m, n, k) = shapes[s];
            float[] a = KernelAssert.Random(ref rng, m * k), b = KernelAssert.Random(ref rng, k * n);
            float[] expected = new float[m * n];
            Multiply(Simd.Best, s % 2 == 1, s >= 2, m, n, k, a, b, expected, accumulate: false, threads: 1);
            inputs[s] = (a, b, expected);
        }
        using var start = new Barrier(4);
        var failures = new string?[4];
        var threads = new Thread[4];
        for (int t = 0; t < 4; t++)
        {
            int id = t;
            threads[t] = new Thread(() =>
            {
                start.SignalAndWait();
                for (int iter = 0; iter < 25 && failures[id] == null; iter++)
                {
                    int s = (id + iter) % shapes.Length;
                    var (m, n, k) = shapes[s];
                    float[] c = new float[m * n];
                    Gemm.Multiply(s % 2 == 1, s >= 2, m, n, k, inputs[s].A, inputs[s].B, c, accumulate: false);
                    if (!c.AsSpan().SequenceEqual(inputs[s].Expected)) failures[id] = $"thread {id} iteration {iter} shape {shapes[s]} differs";
                }
            });
            threads[t].Start();
        }
        foreach (Thread thread in threads) thread.Join();
        foreach (string? failure in failures) Assert.True(failure == null, failure);
    }

    private unsafe struct GemmPerIndex : IParallelBody
    {
        public float* A, B, C;
        public int M, N, K;
        public void Invoke(int index)
            => Gemm.Multiply(false, false, M, N, K,
                new ReadOnlySpan<float>(A + index * M * K, M * K), new ReadOnlySpan<float>(B, K * N),
                new Span<float>(C + index * M * N, M * N), accumulate: false);
    }

    [Fact]
    public unsafe void GemmInsideAParallelLoopRunsCorrectly()
    {
        var rng = new Rng(17);
        int count = 6, m = 70, n = 300, k = 90;
        float[] a = KernelAssert.Random(ref rng, count * m * k), b = KernelAssert.Random(ref rng, k * n);
        float[] c = new float[count * m * n], expected = new float[count * m * n];
        for (int i = 0; i < count; i++)
            Gemm.Multiply(SimdPath.Scalar, false, false, m, n, k, a.AsSpan(i * m * k, m * k), b, expected.AsSpan(i * m * n, m * n), false);
        fixed (float* pa = a, pb = b, pc = c)
        {
            WorkerPool.For(count, new GemmPerIndex { A = pa, B = pb, C = pc, M = m, N = n, K = k });
        }
        KernelAssert.Close(expected, c, atol: Tolerance(k), rtol: 1e-5, what: "per-sample Gemm in WorkerPool.For");
    }
}

/// <summary>Allocation checks that include the worker threads; run alone so the pool is not shared with other tests.</summary>
[CollectionDefinition(nameof(GemmAllocationCollection), DisableParallelization = true)]
public class GemmAllocationCollection { }

[Collection(nameof(GemmAllocationCollection))]
public class GemmAllocationTests
{
    private static readonly bool[] Bools = { false, true };

    [Fact]
    public void SteadyStateMultiplyAllocatesNothing()
    {
        var rng = new Rng(18);
        int m = 300, n = 517, k = 129;
        float[] a = KernelAssert.Random(ref rng, m * k), b = KernelAssert.Random(ref rng, n * k), c = new float[m * n];
        float[] v = KernelAssert.Random(ref rng, k), y = new float[m];
        void Run()
        {
            foreach (bool transA in Bools)
                foreach (bool transB in Bools)
                {
                    Gemm.Multiply(transA, transB, m, n, k, a, b, c, accumulate: transA);        // parallel, packed
                    Gemm.Multiply(transA, transB, 20, 30, 10, a, b, c, accumulate: transB);    // single-threaded
                    Gemm.Multiply(transA, transB, m, 1, k, a, v, y, accumulate: false);         // matrix-vector
                    Gemm.Multiply(transA, transB, 1, n, k, v, b, c, accumulate: false);         // vector-matrix
                    Gemm.Multiply(transA, transB, m, 7, k, a, b, c, accumulate: true);          // few columns, parallel
                    Gemm.Multiply(transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate: false);
                }
        }
        // the calling thread and the pool's workers together
        Assert.Equal(0, Allocations.SteadyState(Run, otherThreads: WorkerPool.WorkerAllocatedBytes));
    }
}
