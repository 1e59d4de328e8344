using System;
using System.Runtime.CompilerServices;

namespace NetGen.Cpu;

/// <summary>
/// Vector-matrix products with B not transposed (m == 1, n &gt;= <see cref="Gemm.SmallColumns"/>):
/// y[n] (=|+=) x[k] B, memory bound, so B is streamed row by row (long contiguous runs) into an
/// accumulator row kept in L1 scratch, four rows of B per pass, instead of the packed path's
/// KC x NR strips. The arithmetic is exactly the packed kernels' (per k block of
/// <see cref="GemmPacked.KBlock"/>: a fused multiply-add chain over p from zero, then one add to
/// C), so the row equals the same row computed inside a larger product. Large products are split
/// over the worker pool along n, in units of 64 columns.
/// </summary>
internal static unsafe class GemmVector
{
    internal struct Problem
    {
        public float* X, B, C;
        public nint IncX, Ldb;
        public int N, K;
        public bool Accumulate;
        public int Parts;
    }

    private const int Unit = 64;
    /// <summary>Columns of the accumulator row (16 KB: stays in L1 while B streams through).</summary>
    private const int Chunk = 4096;

    internal static void Run<TVec, TOps>(ref Problem p, int threads)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int units = (p.N + Unit - 1) / Unit;
        p.Parts = Math.Max(1, Math.Min(threads, units));
        fixed (Problem* pp = &p)
        {
            if (p.Parts == 1) StreamRows<TVec, TOps>(pp, 0, p.N);
            else WorkerPool.For(p.Parts, &Part<TVec, TOps>, pp);
        }
    }

    private static void Part<TVec, TOps>(int index, void* state)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        var p = (Problem*)state;
        int units = (p->N + Unit - 1) / Unit;
        int lo = Math.Min(p->N, (int)((long)units * index / p->Parts) * Unit);
        int hi = Math.Min(p->N, (int)((long)units * (index + 1) / p->Parts) * Unit);
        if (lo < hi) StreamRows<TVec, TOps>(p, lo, hi);
    }

    /// <summary>y[n0..n1) for B [k, n]: acc[j] = chain over p of x[p] B[p, j], per k block, added to C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StreamRows<TVec, TOps>(Problem* p, int n0, int n1)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count, k = p->K;
        int kcMax = GemmPacked.KBlock(k);
        float* acc = GemmPacked.PackBuffers.ForCurrentThread(0, 0, Chunk).Scratch;
        float* x = p->X;
        nint incX = p->IncX, ldb = p->Ldb;
        for (int j0 = n0; j0 < n1; j0 += Chunk)
        {
            int cols = Math.Min(Chunk, n1 - j0);
            int vecCols = cols / w * w;
            float* c = p->C + j0;
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                new Span<float>(acc, cols).Clear();
                float* b = p->B + pc * ldb + j0;
                int q = 0;
                for (; q + 4 <= kc; q += 4)
                {
                    TVec x0 = TOps.Broadcast(x[(pc + q) * incX]), x1 = TOps.Broadcast(x[(pc + q + 1) * incX]);
                    TVec x2 = TOps.Broadcast(x[(pc + q + 2) * incX]), x3 = TOps.Broadcast(x[(pc + q + 3) * incX]);
                    float* b0 = b + q * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
                    for (int j = 0; j < vecCols; j += w)
                    {
                        TVec s = TOps.Load(acc + j);
                        s = TOps.MultiplyAdd(x0, TOps.Load(b0 + j), s);
                        s = TOps.MultiplyAdd(x1, TOps.Load(b1 + j), s);
                        s = TOps.MultiplyAdd(x2, TOps.Load(b2 + j), s);
                        s = TOps.MultiplyAdd(x3, TOps.Load(b3 + j), s);
                        TOps.Store(s, acc + j);
                    }
                    for (int j = vecCols; j < cols; j++)
                    {
                        float s = acc[j];
                        s = float.MultiplyAddEstimate(x[(pc + q) * incX], b0[j], s);
                        s = float.MultiplyAddEstimate(x[(pc + q + 1) * incX], b1[j], s);
                        s = float.MultiplyAddEstimate(x[(pc + q + 2) * incX], b2[j], s);
                        s = float.MultiplyAddEstimate(x[(pc + q + 3) * incX], b3[j], s);
                        acc[j] = s;
                    }
                }
                for (; q < kc; q++)
                {
                    float xs = x[(pc + q) * incX];
                    TVec xv = TOps.Broadcast(xs);
                    float* br = b + q * ldb;
                    for (int j = 0; j < vecCols; j += w)
                        TOps.Store(TOps.MultiplyAdd(xv, TOps.Load(br + j), TOps.Load(acc + j)), acc + j);
                    for (int j = vecCols; j < cols; j++) acc[j] = float.MultiplyAddEstimate(xs, br[j], acc[j]);
                }
                // C (=|+=) acc, as C + acc like the micro-kernels
                if (p->Accumulate || pc > 0)
                {
                    int j = 0;
                    for (; j < vecCols; j += w) TOps.Store(TOps.Add(TOps.Load(acc + j), TOps.Load(c + j)), c + j);
                    for (; j < cols; j++) c[j] += acc[j];
                }
                else new ReadOnlySpan<float>(acc, cols).CopyTo(new Span<float>(c, cols));
            }
        }
    }
}
