using System;
using System.Runtime.CompilerServices;

namespace NetGen.Cpu;

/// <summary>
/// Unpacked kernels for products with few columns (n &lt; <see cref="Gemm.SmallColumns"/>), where the
/// packed micro-kernels would fill most of their vector lanes with padding, and for a single row
/// times a transposed B (matrix-vector, memory bound). B arrives transposed (stored n x k;
/// <see cref="Gemm"/> transposes a small non-transposed B into scratch first):
/// <list type="bullet">
/// <item>A not transposed: C[i,j] = dot(A[i,:], B^T[j,:]), vectorised along k (<see cref="DotKernel{TVec, TOps}"/>).</item>
/// <item>A transposed: C^T[j,:] = sum_p B^T[j,p] A^T[p,:], vectorised along m with C written
/// transposed (<see cref="BroadcastKernel{TVec, TOps}"/>), in the same k blocks and with the same fused
/// multiply-add chains as the packed kernels.</item>
/// </list>
/// Within each kernel every element is computed the same way whatever m, the thread split or its
/// position in a tile. Large products are split over the worker pool along the long side in units of 64.
/// </summary>
internal static unsafe class GemmDirect
{
    internal struct Problem
    {
        public float* A, Bt, C;
        public nint Lda, Ldbt, Ldc;
        public int M, N, K;
        public bool TransA, Accumulate;
        public int Parts;
        public bool SplitColumns;
    }

    /// <summary>Split granularity.</summary>
    private const int Unit = 64;

    internal static void Run<TVec, TOps>(ref Problem p, int threads)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        // split the long side (columns only for the dot products: C^T's rows are strided)
        p.SplitColumns = !p.TransA && p.N > p.M;
        int units = ((p.SplitColumns ? p.N : p.M) + Unit - 1) / Unit;
        p.Parts = Math.Max(1, Math.Min(threads, units));
        fixed (Problem* pp = &p)
        {
            if (p.Parts == 1) Compute<TVec, TOps>(pp, 0, p.M, 0, p.N);
            else WorkerPool.For(p.Parts, &Part<TVec, TOps>, pp);
        }
    }

    private static void Part<TVec, TOps>(int index, void* state)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        var p = (Problem*)state;
        int size = p->SplitColumns ? p->N : p->M;
        int units = (size + Unit - 1) / Unit;
        int lo = Math.Min(size, (int)((long)units * index / p->Parts) * Unit);
        int hi = Math.Min(size, (int)((long)units * (index + 1) / p->Parts) * Unit);
        if (lo >= hi) return;
        if (p->SplitColumns) Compute<TVec, TOps>(p, 0, p->M, lo, hi);
        else Compute<TVec, TOps>(p, lo, hi, 0, p->N);
    }

    private static void Compute<TVec, TOps>(Problem* p, int m0, int m1, int n0, int n1)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int m = m1 - m0, n = n1 - n0, k = p->K;
        float* c = p->C + m0 * p->Ldc + n0;
        float* bt = p->Bt + n0 * p->Ldbt;
        if (!p->TransA)
        {
            DotKernel<TVec, TOps>(m, n, k, p->A + m0 * p->Lda, p->Lda, bt, p->Ldbt, c, p->Ldc, p->Accumulate);
            return;
        }
        // C^T[n, m] (=|+=) B^T[n, k] * A^T[k, m], in the packed kernels' k blocks
        float* a = p->A + m0;
        int kcMax = GemmPacked.KBlock(k);
        for (int pc = 0; pc < k; pc += kcMax)
        {
            int kc = Math.Min(kcMax, k - pc);
            BroadcastKernel<TVec, TOps>(n, m, kc, bt + pc, p->Ldbt, 1, a + pc * p->Lda, p->Lda,
                c, 1, p->Ldc, p->Accumulate || pc > 0);
        }
    }

    /// <summary>
    /// out(i,j) (=|+=) sum_p left(i,p) * right[p, j] for i &lt; rows, j &lt; cols, p &lt; depth, where
    /// left(i,p) = left[i*leftRowStride + p*leftDepthStride], right rows are contiguous with
    /// stride rightRowStride, and out(i,j) = output[i*outRowStride + j*outColStride].
    /// Register tile: 4 rows x 2 vectors of columns (8 accumulators), then 1 vector, then scalar
    /// columns; every element is one fused multiply-add chain over p, then one add to the output.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BroadcastKernel<TVec, TOps>(int rows, int cols, int depth,
        float* left, nint leftRowStride, nint leftDepthStride,
        float* right, nint rightRowStride,
        float* output, nint outRowStride, nint outColStride, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count;
        nint r1 = leftRowStride, r2 = 2 * leftRowStride, r3 = 3 * leftRowStride;
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
                nint o1 = w * outColStride;
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
                    s0 = float.MultiplyAddEstimate(lp[0], bv, s0); s1 = float.MultiplyAddEstimate(lp[r1], bv, s1);
                    s2 = float.MultiplyAddEstimate(lp[r2], bv, s2); s3 = float.MultiplyAddEstimate(lp[r3], bv, s3);
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

    /// <summary>One row of <see cref="BroadcastKernel{TVec, TOps}"/> (the rows % 4 remainder): 4 vectors of columns at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BroadcastRow<TVec, TOps>(int cols, int depth, float* leftRow, nint leftDepthStride,
        float* right, nint rightRowStride, float* outRow, nint outColStride, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count;
        int j = 0;
        for (; j + 4 * w <= cols; j += 4 * w)
        {
            TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
            float* lp = leftRow;
            float* rp = right + j;
            for (int p = 0; p < depth; p++)
            {
                TVec av = TOps.Broadcast(*lp);
                c0 = TOps.MultiplyAdd(av, TOps.Load(rp), c0);
                c1 = TOps.MultiplyAdd(av, TOps.Load(rp + w), c1);
                c2 = TOps.MultiplyAdd(av, TOps.Load(rp + 2 * w), c2);
                c3 = TOps.MultiplyAdd(av, TOps.Load(rp + 3 * w), c3);
                lp += leftDepthStride;
                rp += rightRowStride;
            }
            float* o = outRow + j * outColStride;
            nint o1 = w * outColStride;
            StoreVector<TVec, TOps>(c0, o, outColStride, accumulate);
            StoreVector<TVec, TOps>(c1, o + o1, outColStride, accumulate);
            StoreVector<TVec, TOps>(c2, o + 2 * o1, outColStride, accumulate);
            StoreVector<TVec, TOps>(c3, o + 3 * o1, outColStride, accumulate);
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
                s = float.MultiplyAddEstimate(*lp, *rp, s);
                lp += leftDepthStride;
                rp += rightRowStride;
            }
            StoreScalar(s, outRow + j * outColStride, accumulate);
        }
    }

    /// <summary>
    /// C[i,j] (=|+=) dot(A[i,:], B^T[j,:]) with A rows and B^T rows both contiguous. Every element is
    /// one vector accumulator over k (w lanes at a time), its horizontal sum, then the k % w tail in
    /// order; tiles: 2 rows x 4 columns (8 accumulators), 1 row x 4 columns, 4 rows x 1 column.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotKernel<TVec, TOps>(int m, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count;
        int n4 = n & ~3;
        int i = 0;
        for (; i + 2 <= m; i += 2)
        {
            float* a0 = a + i * lda;
            float* a1 = a0 + lda;
            float* c0 = c + i * ldc;
            float* c1 = c0 + ldc;
            for (int j = 0; j < n4; j += 4)
            {
                float* b0 = b + j * ldb;
                float* b1 = b0 + ldb;
                float* b2 = b1 + ldb;
                float* b3 = b2 + ldb;
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
        }
        if (i < m)
        {
            // the odd last row against 4 columns at a time
            float* ai = a + i * lda;
            float* ci = c + i * ldc;
            for (int j = 0; j < n4; j += 4)
            {
                float* b0 = b + j * ldb;
                float* b1 = b0 + ldb;
                float* b2 = b1 + ldb;
                float* b3 = b2 + ldb;
                TVec s0 = TOps.Zero, s1 = TOps.Zero, s2 = TOps.Zero, s3 = TOps.Zero;
                int p = 0;
                for (; p + w <= k; p += w)
                {
                    TVec x = TOps.Load(ai + p);
                    s0 = TOps.MultiplyAdd(x, TOps.Load(b0 + p), s0);
                    s1 = TOps.MultiplyAdd(x, TOps.Load(b1 + p), s1);
                    s2 = TOps.MultiplyAdd(x, TOps.Load(b2 + p), s2);
                    s3 = TOps.MultiplyAdd(x, TOps.Load(b3 + p), s3);
                }
                float t0 = TOps.Sum(s0), t1 = TOps.Sum(s1), t2 = TOps.Sum(s2), t3 = TOps.Sum(s3);
                for (; p < k; p++)
                {
                    float x = ai[p];
                    t0 += x * b0[p]; t1 += x * b1[p]; t2 += x * b2[p]; t3 += x * b3[p];
                }
                StoreScalar(t0, ci + j, accumulate); StoreScalar(t1, ci + j + 1, accumulate);
                StoreScalar(t2, ci + j + 2, accumulate); StoreScalar(t3, ci + j + 3, accumulate);
            }
        }
        for (int j = n4; j < n; j++)
        {
            // the n % 4 last columns: 4 rows at a time share each load of B^T's row (matrix-vector for n = 1)
            float* bj = b + j * ldb;
            int r = 0;
            for (; r + 4 <= m; r += 4)
            {
                float* a0 = a + r * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
                TVec s0 = TOps.Zero, s1 = TOps.Zero, s2 = TOps.Zero, s3 = TOps.Zero;
                int p = 0;
                for (; p + w <= k; p += w)
                {
                    TVec y = TOps.Load(bj + p);
                    s0 = TOps.MultiplyAdd(TOps.Load(a0 + p), y, s0);
                    s1 = TOps.MultiplyAdd(TOps.Load(a1 + p), y, s1);
                    s2 = TOps.MultiplyAdd(TOps.Load(a2 + p), y, s2);
                    s3 = TOps.MultiplyAdd(TOps.Load(a3 + p), y, s3);
                }
                float t0 = TOps.Sum(s0), t1 = TOps.Sum(s1), t2 = TOps.Sum(s2), t3 = TOps.Sum(s3);
                for (; p < k; p++)
                {
                    float y = bj[p];
                    t0 += a0[p] * y; t1 += a1[p] * y; t2 += a2[p] * y; t3 += a3[p] * y;
                }
                float* o = c + r * ldc + j;
                StoreScalar(t0, o, accumulate); StoreScalar(t1, o + ldc, accumulate);
                StoreScalar(t2, o + 2 * ldc, accumulate); StoreScalar(t3, o + 3 * ldc, accumulate);
            }
            for (; r < m; r++)
                StoreScalar(Dot<TVec, TOps>(a + r * lda, bj, k), c + r * ldc + j, accumulate);
        }
    }

    /// <summary>One element of <see cref="DotKernel{TVec, TOps}"/>: same accumulation as its tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    private static void StoreVector<TVec, TOps>(TVec value, float* destination, nint stride, bool accumulate)
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

    /// <summary>C (=|+=) value, as C + value: the same add the packed kernels do.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScalar(float value, float* destination, bool accumulate)
        => *destination = accumulate ? *destination + value : value;
}
