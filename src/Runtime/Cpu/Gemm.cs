using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>
/// Single-precision matrix multiply, row-major: C[m,n] (=|+=) op(A)[m,k] * op(B)[k,n], where
/// op(A) = A (stored m x k) or A^T (stored k x m) and op(B) = B (stored k x n) or B^T (stored n x k).
/// C must not overlap A or B. With accumulate false C is only written, never read.
/// <para>
/// Products run a BLIS-style blocked algorithm (<see cref="GemmPacked"/>: cache-sized packed
/// panels, register-blocked micro-kernels <see cref="GemmKernels"/>) split over the
/// <see cref="WorkerPool"/>; those with few columns run unpacked kernels (<see cref="GemmDirect"/>).
/// The result is bit-identical whatever the number of threads, and a row of C does not depend on
/// how many rows the call has (batch size).
/// </para>
/// </summary>
public static unsafe class Gemm
{
    /// <summary>Below this many flops (2 m n k) a product runs on the calling thread only.</summary>
    internal const long ParallelFlops = 2L * 64 * 64 * 64;
    /// <summary>
    /// Products with fewer columns than this run the unpacked kernels (<see cref="GemmDirect"/>): the
    /// packed ones would fill most of their vector lanes with padding.
    /// </summary>
    internal const int SmallColumns = 16;

    /// <summary>Contiguous operands: A is [m,k] ([k,m] when transA), B is [k,n] ([n,k] when transB), C is [m,n].</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
        => Multiply(Simd.Best, transA, transB, m, n, k, a, b, c, accumulate);

    /// <summary>
    /// Operands with leading dimensions (row strides, in floats): element (r, s) of the stored A is
    /// a[r*lda + s], where the stored A is m x k (k x m when transA), so lda &gt;= k (m when transA);
    /// likewise B (ldb &gt;= n, or k when transB) and C (ldc &gt;= n). Lets a caller multiply
    /// sub-matrices or write into a column slice of a wider output without copying.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
        => Multiply(Simd.Best, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, WorkerPool.ThreadCount);

    internal static void Multiply(SimdPath path, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a /*[m,k] or [k,m] when transA*/,
        ReadOnlySpan<float> b /*[k,n] or [n,k] when transB*/,
        Span<float> c /*[m,n]*/, bool accumulate)
        => Multiply(path, transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate, WorkerPool.ThreadCount);

    /// <summary>
    /// The general entry: an explicit SIMD path and at most <paramref name="threads"/> parts run on the pool. A
    /// <paramref name="packedA"/> that holds <paramref name="a"/> packed (<see cref="PackedMatrix.Prepare"/>) is read
    /// instead of packing A again, likewise <paramref name="packedB"/> (<see cref="PackedMatrix.PrepareB"/>); one that
    /// does not hold its operand is ignored.
    /// </summary>
    internal static void Multiply(SimdPath path, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc,
        bool accumulate, int threads, PackedMatrix? packedA = null, PackedMatrix? packedB = null)
    {
        Guard.NonNegative(m, nameof(m));
        Guard.NonNegative(n, nameof(n));
        Guard.NonNegative(k, nameof(k));
        CheckOperand(a.Length, transA ? k : m, transA ? m : k, lda, nameof(a), nameof(lda));
        CheckOperand(b.Length, transB ? n : k, transB ? k : n, ldb, nameof(b), nameof(ldb));
        CheckOperand(c.Length, m, n, ldc, nameof(c), nameof(ldc));
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }
        if (path == SimdPath.Scalar)
        {
            MultiplyScalar(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            return;
        }
        if (2.0 * m * n * k < ParallelFlops) threads = 1;
        fixed (float* pa = a, pb = b, pc = c)
        {
            switch (path)
            {
                case SimdPath.Vector512: Run<Vector512<float>, Vector512Ops>(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, threads, packedA, packedB); break;
                case SimdPath.Vector256: Run<Vector256<float>, Vector256Ops>(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, threads, packedA, packedB); break;
                default: Run<Vector128<float>, Vector128Ops>(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, threads, packedA, packedB); break;
            }
        }
    }

    private static void Run<TVec, TOps>(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate, int threads, PackedMatrix? packedA, PackedMatrix? packedB)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        // The kernel family depends on n and the transposes only (and m == 1 with B transposed), never
        // on m otherwise, so a row of C does not depend on how many rows are computed with it.
        if (n < SmallColumns || (m == 1 && transB))
        {
            if (!transB)
            {
                // B [k, n] -> B^T [n, k] in per-thread scratch (n*k floats: cheap next to the multiply)
                float* bt = GemmPacked.PackBuffers.ForCurrentThread(0, 0, (long)n * k).Scratch;
                GemmPacked.PackTransposed(b, ldb, k, n, bt, k);
                b = bt;
                ldb = k;
            }
            else if (m == 1 && transA && n >= SmallColumns)
            {
                // the single row of op(A) is a column of the stored A: dot products want it contiguous
                if (lda != 1)
                {
                    float* x = GemmPacked.PackBuffers.ForCurrentThread(0, 0, k).Scratch;
                    for (int q = 0; q < k; q++) x[q] = a[(nint)q * lda];
                    a = x;
                }
                lda = k;
                transA = false;
            }
            var d = new GemmDirect.Problem
            {
                A = a, Bt = b, C = c, Lda = lda, Ldbt = ldb, Ldc = ldc, M = m, N = n, K = k,
                TransA = transA, Accumulate = accumulate,
            };
            GemmDirect.Run<TVec, TOps>(ref d, threads);
            return;
        }
        if (m == 1)
        {
            // vector-matrix: stream B row by row (memory bound), same arithmetic as the packed kernels
            var v = new GemmVector.Problem
            {
                X = a, IncX = transA ? lda : 1, B = b, Ldb = ldb, C = c, N = n, K = k, Accumulate = accumulate,
            };
            GemmVector.Run<TVec, TOps>(ref v, threads);
            return;
        }
        var p = new GemmPacked.Problem
        {
            A = a, B = b, C = c, Lda = lda, Ldb = ldb, Ldc = ldc, M = m, N = n, K = k,
            TransA = transA, TransB = transB, Accumulate = accumulate,
        };
        if (packedA != null && !transA && packedA.Holds(a, lda, m, k, GemmPacked.MR<TOps>()))
        {
            p.PackedA = packedA.Data;
            p.PanelRows = packedA.PanelRows;
        }
        if (packedB != null && packedB.HoldsB(b, ldb, transB, n, k, TOps.Count))
        {
            p.PackedB = packedB.Data;
            p.PackedBStride = packedB.Width;
        }
        GemmPacked.Run<TVec, TOps>(ref p, threads);
    }

    /// <summary>A stored rows x cols matrix with row stride ld needs (rows-1)*ld + cols elements.</summary>
    private static void CheckOperand(int length, int rows, int cols, int ld, string name, string ldName)
    {
        if (ld < cols) throw new ArgumentOutOfRangeException(ldName, ld, $"{ldName} must be at least {cols} (the stored row length) but is {ld}.");
        long required = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        Guard.AtLeast(length, required, name);
    }

    /// <summary>Reference: one dot product per output element (float accumulation, in order of p).</summary>
    internal static void MultiplyScalar(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
        => MultiplyScalar(transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate);

    internal static void MultiplyScalar(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    float aip = transA ? a[p * lda + i] : a[i * lda + p];
                    float bpj = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += aip * bpj;
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
            }
        }
    }
}
