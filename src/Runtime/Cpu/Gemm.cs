using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>
/// Single-precision matrix multiply on contiguous row-major matrices (no leading dimensions):
/// C[m,n] (=|+=) op(A)[m,k] * op(B)[k,n], where op(A) = A (stored m x k) or A^T (stored k x m)
/// and op(B) = B (stored k x n) or B^T (stored n x k). C must not overlap A or B.
/// </summary>
public static unsafe class Gemm
{
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
        => Multiply(Simd.Best, transA, transB, m, n, k, a, b, c, accumulate);

    internal static void Multiply(SimdPath path, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a /*[m,k] or [k,m] when transA*/,
        ReadOnlySpan<float> b /*[k,n] or [n,k] when transB*/,
        Span<float> c /*[m,n]*/, bool accumulate)
    {
        Guard.NonNegative(m, nameof(m));
        Guard.NonNegative(n, nameof(n));
        Guard.NonNegative(k, nameof(k));
        Guard.AtLeast(a.Length, (long)m * k, nameof(a));
        Guard.AtLeast(b.Length, (long)k * n, nameof(b));
        Guard.AtLeast(c.Length, (long)m * n, nameof(c));
        if (m == 0 || n == 0) return;

        if (path == SimdPath.Scalar)
        {
            MultiplyScalar(transA, transB, m, n, k, a, b, c, accumulate);
            return;
        }
        fixed (float* pa = a, pb = b, pc = c)
        {
            switch (path)
            {
                case SimdPath.Vector512: MultiplyVector<Vector512<float>, Vector512Ops>(transA, transB, m, n, k, pa, pb, pc, accumulate); break;
                case SimdPath.Vector256: MultiplyVector<Vector256<float>, Vector256Ops>(transA, transB, m, n, k, pa, pb, pc, accumulate); break;
                default: MultiplyVector<Vector128<float>, Vector128Ops>(transA, transB, m, n, k, pa, pb, pc, accumulate); break;
            }
        }
    }

    /// <summary>Reference: one dot product per output element.</summary>
    internal static void MultiplyScalar(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    float aip = transA ? a[p * m + i] : a[i * k + p];
                    float bpj = transB ? b[j * k + p] : b[p * n + j];
                    sum += aip * bpj;
                }
                c[i * n + j] = accumulate ? c[i * n + j] + sum : sum;
            }
        }
    }

    private static void MultiplyVector<TVec, TOps>(bool transA, bool transB, int m, int n, int k,
        float* a, float* b, float* c, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        if (!transB)
        {
            // rows of B are contiguous: C[i,:] += A(i,p) * B[p,:], broadcasting A(i,p).
            if (!transA) BroadcastKernel<TVec, TOps>(m, n, k, a, k, 1, b, n, c, n, 1, accumulate);  // A(i,p) = a[i*k + p]
            else BroadcastKernel<TVec, TOps>(m, n, k, a, 1, m, b, n, c, n, 1, accumulate);          // A(i,p) = a[p*m + i] (rank-1 updates)
        }
        else if (!transA)
        {
            // A[i,:] and B^T[j,:] are both contiguous: C[i,j] = dot(A[i,:], B[j,:]).
            DotKernel<TVec, TOps>(m, n, k, a, b, c, accumulate);
        }
        else
        {
            // C^T[n,m] = B[n,k] * A[k,m]: broadcast B(j,p), rows of A contiguous, C written transposed.
            BroadcastKernel<TVec, TOps>(n, m, k, b, k, 1, a, m, c, 1, n, accumulate);
        }
    }

    /// <summary>
    /// out(i,j) (=|+=) sum_p left(i,p) * right[p, j] for i &lt; rows, j &lt; cols, p &lt; depth, where
    /// left(i,p) = left[i*leftRowStride + p*leftDepthStride], right rows are contiguous with
    /// stride rightRowStride, and out(i,j) = output[i*outRowStride + j*outColStride].
    /// Register tile: 4 rows x 2 vectors of columns (8 accumulators), then 1 vector, then scalar columns.
    /// </summary>
    private static void BroadcastKernel<TVec, TOps>(int rows, int cols, int depth,
        float* left, int leftRowStride, int leftDepthStride,
        float* right, int rightRowStride,
        float* output, int outRowStride, int outColStride, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count;
        int r1 = leftRowStride, r2 = 2 * leftRowStride, r3 = 3 * leftRowStride;
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            float* leftRows = left + i * leftRowStride;
            float* outRows = output + i * outRowStride;
            int j = 0;
            for (; j + 2 * w <= cols; j += 2 * w)
            {
                TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero;
                TVec c20 = TOps.Zero, c21 = TOps.Zero, c30 = TOps.Zero, c31 = TOps.Zero;
                float* lp = leftRows;
                float* rp = right + j;
                for (int p = 0; p < depth; p++)
                {
                    TVec b0 = TOps.Load(rp), b1 = TOps.Load(rp + w);
                    TVec av = TOps.Broadcast(lp[0]);
                    c00 = TOps.MultiplyAdd(av, b0, c00); c01 = TOps.MultiplyAdd(av, b1, c01);
                    av = TOps.Broadcast(lp[r1]);
                    c10 = TOps.MultiplyAdd(av, b0, c10); c11 = TOps.MultiplyAdd(av, b1, c11);
                    av = TOps.Broadcast(lp[r2]);
                    c20 = TOps.MultiplyAdd(av, b0, c20); c21 = TOps.MultiplyAdd(av, b1, c21);
                    av = TOps.Broadcast(lp[r3]);
                    c30 = TOps.MultiplyAdd(av, b0, c30); c31 = TOps.MultiplyAdd(av, b1, c31);
                    lp += leftDepthStride;
                    rp += rightRowStride;
                }
                float* o = outRows + j * outColStride;
                int o1 = w * outColStride;
                StoreVector<TVec, TOps>(c00, o, outColStride, accumulate); StoreVector<TVec, TOps>(c01, o + o1, outColStride, accumulate);
                o += outRowStride;
                StoreVector<TVec, TOps>(c10, o, outColStride, accumulate); StoreVector<TVec, TOps>(c11, o + o1, outColStride, accumulate);
                o += outRowStride;
                StoreVector<TVec, TOps>(c20, o, outColStride, accumulate); StoreVector<TVec, TOps>(c21, o + o1, outColStride, accumulate);
                o += outRowStride;
                StoreVector<TVec, TOps>(c30, o, outColStride, accumulate); StoreVector<TVec, TOps>(c31, o + o1, outColStride, accumulate);
            }
            for (; j + w <= cols; j += w)
            {
                TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
                float* lp = leftRows;
                float* rp = right + j;
                for (int p = 0; p < depth; p++)
                {
                    TVec b0 = TOps.Load(rp);
                    c0 = TOps.MultiplyAdd(TOps.Broadcast(lp[0]), b0, c0);
                    c1 = TOps.MultiplyAdd(TOps.Broadcast(lp[r1]), b0, c1);
                    c2 = TOps.MultiplyAdd(TOps.Broadcast(lp[r2]), b0, c2);
                    c3 = TOps.MultiplyAdd(TOps.Broadcast(lp[r3]), b0, c3);
                    lp += leftDepthStride;
                    rp += rightRowStride;
                }
                float* o = outRows + j * outColStride;
                StoreVector<TVec, TOps>(c0, o, outColStride, accumulate); o += outRowStride;
                StoreVector<TVec, TOps>(c1, o, outColStride, accumulate); o += outRowStride;
                StoreVector<TVec, TOps>(c2, o, outColStride, accumulate); o += outRowStride;
                StoreVector<TVec, TOps>(c3, o, outColStride, accumulate);
            }
            for (; j < cols; j++)
            {
                float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                float* lp = leftRows;
                float* rp = right + j;
                for (int p = 0; p < depth; p++)
                {
                    float bv = *rp;
                    s0 += lp[0] * bv; s1 += lp[r1] * bv; s2 += lp[r2] * bv; s3 += lp[r3] * bv;
                    lp += leftDepthStride;
                    rp += rightRowStride;
                }
                float* o = outRows + j * outColStride;
                StoreScalar(s0, o, accumulate); o += outRowStride;
                StoreScalar(s1, o, accumulate); o += outRowStride;
                StoreScalar(s2, o, accumulate); o += outRowStride;
                StoreScalar(s3, o, accumulate);
            }
        }
        for (; i < rows; i++)
        {
            BroadcastRow<TVec, TOps>(cols, depth, left + i * leftRowStride, leftDepthStride,
                right, rightRowStride, output + i * outRowStride, outColStride, accumulate);
        }
    }

    /// <summary>One row of <see cref="BroadcastKernel{TVec, TOps}"/> (the rows % 4 remainder).</summary>
    private static void BroadcastRow<TVec, TOps>(int cols, int depth, float* leftRow, int leftDepthStride,
        float* right, int rightRowStride, float* outRow, int outColStride, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count;
        int j = 0;
        for (; j + 2 * w <= cols; j += 2 * w)
        {
            TVec c0 = TOps.Zero, c1 = TOps.Zero;
            float* lp = leftRow;
            float* rp = right + j;
            for (int p = 0; p < depth; p++)
            {
                TVec av = TOps.Broadcast(*lp);
                c0 = TOps.MultiplyAdd(av, TOps.Load(rp), c0);
                c1 = TOps.MultiplyAdd(av, TOps.Load(rp + w), c1);
                lp += leftDepthStride;
                rp += rightRowStride;
            }
            float* o = outRow + j * outColStride;
            StoreVector<TVec, TOps>(c0, o, outColStride, accumulate);
            StoreVector<TVec, TOps>(c1, o + w * outColStride, outColStride, accumulate);
        }
        for (; j + w <= cols; j += w)
        {
            TVec c0 = TOps.Zero;
            float* lp = leftRow;
            float* rp = right + j;
            for (int p = 0; p < depth; p++)
            {
                c0 = TOps.MultiplyAdd(TOps.Broadcast(*lp), TOps.Load(rp), c0);
                lp += leftDepthStride;
                rp += rightRowStride;
            }
            StoreVector<TVec, TOps>(c0, outRow + j * outColStride, outColStride, accumulate);
        }
        for (; j < cols; j++)
        {
            float s = 0f;
            float* lp = leftRow;
            float* rp = right + j;
            for (int p = 0; p < depth; p++)
            {
                s += *lp * *rp;
                lp += leftDepthStride;
                rp += rightRowStride;
            }
            StoreScalar(s, outRow + j * outColStride, accumulate);
        }
    }

    /// <summary>
    /// C[i,j] (=|+=) dot(A[i,:], B[j,:]) with A [m,k] and B [n,k] both row-major (the A * B^T case).
    /// Register tile: 2 rows of A x 4 rows of B (8 vector accumulators) over k, then horizontal sums.
    /// </summary>
    private static void DotKernel<TVec, TOps>(int m, int n, int k, float* a, float* b, float* c, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count;
        int i = 0;
        for (; i + 2 <= m; i += 2)
        {
            float* a0 = a + i * k;
            float* a1 = a0 + k;
            float* c0 = c + i * n;
            float* c1 = c0 + n;
            int j = 0;
            for (; j + 4 <= n; j += 4)
            {
                float* b0 = b + j * k;
                float* b1 = b0 + k;
                float* b2 = b1 + k;
                float* b3 = b2 + k;
                TVec s00 = TOps.Zero, s01 = TOps.Zero, s02 = TOps.Zero, s03 = TOps.Zero;
                TVec s10 = TOps.Zero, s11 = TOps.Zero, s12 = TOps.Zero, s13 = TOps.Zero;
                int p = 0;
                for (; p + w <= k; p += w)
                {
                    TVec x0 = TOps.Load(a0 + p), x1 = TOps.Load(a1 + p);
                    TVec y = TOps.Load(b0 + p);
                    s00 = TOps.MultiplyAdd(x0, y, s00); s10 = TOps.MultiplyAdd(x1, y, s10);
                    y = TOps.Load(b1 + p);
                    s01 = TOps.MultiplyAdd(x0, y, s01); s11 = TOps.MultiplyAdd(x1, y, s11);
                    y = TOps.Load(b2 + p);
                    s02 = TOps.MultiplyAdd(x0, y, s02); s12 = TOps.MultiplyAdd(x1, y, s12);
                    y = TOps.Load(b3 + p);
                    s03 = TOps.MultiplyAdd(x0, y, s03); s13 = TOps.MultiplyAdd(x1, y, s13);
                }
                float t00 = TOps.Sum(s00), t01 = TOps.Sum(s01), t02 = TOps.Sum(s02), t03 = TOps.Sum(s03);
                float t10 = TOps.Sum(s10), t11 = TOps.Sum(s11), t12 = TOps.Sum(s12), t13 = TOps.Sum(s13);
                for (; p < k; p++)
                {
                    float x0 = a0[p], x1 = a1[p];
                    t00 += x0 * b0[p]; t01 += x0 * b1[p]; t02 += x0 * b2[p]; t03 += x0 * b3[p];
                    t10 += x1 * b0[p]; t11 += x1 * b1[p]; t12 += x1 * b2[p]; t13 += x1 * b3[p];
                }
                StoreScalar(t00, c0 + j, accumulate); StoreScalar(t01, c0 + j + 1, accumulate);
                StoreScalar(t02, c0 + j + 2, accumulate); StoreScalar(t03, c0 + j + 3, accumulate);
                StoreScalar(t10, c1 + j, accumulate); StoreScalar(t11, c1 + j + 1, accumulate);
                StoreScalar(t12, c1 + j + 2, accumulate); StoreScalar(t13, c1 + j + 3, accumulate);
            }
            for (; j < n; j++)
            {
                StoreScalar(Dot<TVec, TOps>(a0, b + j * k, k), c0 + j, accumulate);
                StoreScalar(Dot<TVec, TOps>(a1, b + j * k, k), c1 + j, accumulate);
            }
        }
        for (; i < m; i++)
        {
            float* ai = a + i * k;
            for (int j = 0; j < n; j++)
                StoreScalar(Dot<TVec, TOps>(ai, b + j * k, k), c + i * n + j, accumulate);
        }
    }

    private static float Dot<TVec, TOps>(float* x, float* y, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec s = TOps.Zero;
        int p = 0;
        for (; p + TOps.Count <= count; p += TOps.Count)
            s = TOps.MultiplyAdd(TOps.Load(x + p), TOps.Load(y + p), s);
        float sum = TOps.Sum(s);
        for (; p < count; p++) sum += x[p] * y[p];
        return sum;
    }

    /// <summary>Writes (or adds) a vector of consecutive columns; stride != 1 scatters (transposed C).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVector<TVec, TOps>(TVec value, float* destination, int stride, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        if (stride == 1)
        {
            if (accumulate) value = TOps.Add(value, TOps.Load(destination));
            TOps.Store(value, destination);
        }
        else
        {
            for (int e = 0; e < TOps.Count; e++)
                StoreScalar(TOps.GetElement(value, e), destination + e * stride, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScalar(float value, float* destination, bool accumulate)
        => *destination = accumulate ? *destination + value : value;
}
