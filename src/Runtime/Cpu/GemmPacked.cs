using System;
using System.Threading;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Cpu;

/// <summary>
/// The blocked (BLIS/GotoBLAS-style) SGEMM behind <see cref="Gemm"/>: C[m,n] (=|+=) op(A) op(B) with
/// leading dimensions, vectors along n (the contiguous direction of row-major C).
/// <code>
/// for ic in m, step MC                  A block  MC x KC  (packed once, reused across all of n)
///   for pc in k, step KC                 (KC split evenly; the first block overwrites C unless accumulating)
///     pack A[ic.., pc..] into MR-row panels        a(i,p) at Ap[p*MR + i]
///     for jc in n, step NC               B block  KC x NC  (L2 resident)
///       pack B[pc.., jc..] into NR-column panels   b(p,j) at Bp[p*NR + j]   (or read B in place)
///       for ir in MC, step MR            A micro-panel MR x KC stays in L1
///         for jr in NC, step NR          B micro-panels stream from L2
///           micro-kernel: MR x NR tile of C in registers
/// </code>
/// Threads split C into a grid of rectangles (never k): each rectangle is computed exactly as a
/// single-threaded call would compute those elements, so the result does not depend on the thread
/// count. Pack buffers are per thread (native, 64-byte aligned, grown on demand and kept).
/// </summary>
internal static unsafe class GemmPacked
{
    /// <summary>Problem description shared (by address) with the worker threads.</summary>
    internal struct Problem
    {
        public float* A, B, C;
        public nint Lda, Ldb, Ldc;
        public int M, N, K;
        public bool TransA, TransB, Accumulate;
        public int RowParts, ColParts;   // thread grid
        public float* PackedA;           // A already packed (a PackedMatrix), or null
        public int PanelRows;            // rows of its panels; threads split rows at multiples of it
        public float* PackedB;           // B already packed (a PackedMatrix in its B layout), or null
        public nint PackedBStride;       // floats per k block of the packed B (per unit of kc: its padded width)
        public float* SharedB;           // two B blocks the row parts pack together (each its share of panels), or null
        public nint SharedBBlock;        // floats of one of them
        public int BarrierArrived, BarrierGeneration;
        public SharedPart* Parts;        // with SharedB: what each row part has packed, for the parts that steal its row panels
    }

    /// <summary>A row part of a shared-B product as the other parts see it (one cache line each).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    internal struct SharedPart
    {
        public float* A0, A1;            // its packed A for even and odd k blocks
        public int M0, RowsPerPanel, Panels, Mc;
        public int Claimed;              // row panels claimed so far, over all blocks (Panels per block)
    }

    // ---- blocking parameters (floats / rows / columns) ----
    /// <summary>Rows of the register tile: 14 x 2 zmm accumulators on AVX-512; 6 x 2 on the 16-register paths.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int MR<TOps>() where TOps : struct => typeof(TOps) == typeof(Vector512Ops) ? 14 : 6;

    /// <summary><see cref="MR{TOps}"/> of the products <paramref name="path"/> runs.</summary>
    internal static int MR(SimdPath path) => path == SimdPath.Vector512 ? 14 : 6;

    /// <summary>Depth of a k block: a 14 x 256 A micro-panel is 14 KB (L1), a 256 x 512 B block 512 KB (L2).</summary>
    internal const int KC = 256;
    /// <summary>Columns of a packed B block: a KC x NC block fills half the L2 (512 with 1 MB, 256 with 512 KB).</summary>
    internal static readonly int NC = ColumnsFor(CpuCache.L2Bytes);
    /// <summary>Rows of a packed A block (a multiple of 14 and 6; 2 MB at KC = 256, L3), reused across all of n.</summary>
    internal const int MC = 2016;

    /// <summary>Columns of a B block for <paramref name="n"/> columns: at most NC, the blocks balanced, whole panels of nr.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int ColumnBlock(int n, int nr)
    {
        int ncMax = Math.Max(nr, NC / nr * nr);
        int blocks = (n + ncMax - 1) / ncMax;
        return ((n + blocks - 1) / blocks + nr - 1) / nr * nr;
    }

    /// <summary>Split k into equal blocks of at most KC (rounded up to a multiple of 8): depends on k only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int KBlock(int k)
    {
        int blocks = (k + KC - 1) / KC;
        int kc = (k + blocks - 1) / blocks;
        return (kc + 7) & ~7;
    }

    internal static void Run<TVec, TOps>(ref Problem p, int threads)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int nr = 2 * TOps.Count;
        // column parts share a cache line per row at each boundary unless C's rows start on lines
        bool lineAlignedColumns = ((nint)p.C & 63) == 0 && (p.Ldc & 15) == 0;
        ChooseGrid(p.M, p.N, RowTile<TOps>(ref p), nr, threads, lineAlignedColumns, out p.RowParts, out p.ColParts);
        if (threads > 1 && p.RowParts * p.ColParts > 1)
        {
            // a large B packed together by row parts beats any split where each part packs its own operands
            int rowParts = p.RowParts, colParts = p.ColParts;
            p.RowParts = threads;
            p.ColParts = 1;
            if (!SharesB<TOps>(ref p))
            {
                p.RowParts = rowParts;
                p.ColParts = colParts;
            }
        }
        int parts = p.RowParts * p.ColParts;
        fixed (Problem* pp = &p)
        {
            if (parts == 1) Compute<TVec, TOps>(pp, 0, p.M, 0, p.N);
            else if (!SharesB<TOps>(ref p) || !RunSharingB<TVec, TOps>(pp, parts)) WorkerPool.For(parts, &Part<TVec, TOps>, pp);
        }
    }

    /// <summary>
    /// True when the row parts should pack each B block together instead of each packing all of it: rows split
    /// only, every part one block of rows (so all parts walk the same k and column blocks in step), and a B that
    /// is packed at all. At n = 2048 each thread repacking all of B cost about 5% of the product.
    /// </summary>
    private static bool SharesB<TOps>(ref Problem p) where TOps : struct
    {
        if (p.ColParts != 1 || p.RowParts < 2 || p.PackedA != null || p.PackedB != null) return false;
        int mr = MR<TOps>(), mTiles = (p.M + mr - 1) / mr;
        if (mTiles < p.RowParts) return false;
        int largestPart = (p.M + p.RowParts - 1) / p.RowParts, smallestPart = p.M / p.RowParts;   // see RowRange
        return largestPart <= MC && !(!p.TransB && UseDirectB(smallestPart, p.N, p.K, mr)) && (long)p.N * p.K >= SharedBMinimum;
    }

    /// <summary>Blocks of at most this many rows multiply a packed-weights B column panel by panel (see MultiplyBlock).</summary>
    private const int ColumnsOuterRows = 64;

    /// <summary>Products with a B of at least this many floats (1024 x 1024) pack it together when they can.</summary>
    private const long SharedBMinimum = 1L << 20;

    private static bool RunSharingB<TVec, TOps>(Problem* p, int parts)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int nr = 2 * TOps.Count;
        int nc0 = ColumnBlock(p->N, nr);
        p->SharedBBlock = (nint)nc0 * KBlock(p->K);
        p->SharedB = PackBuffers.ForCurrentThread(0, 0, 0, sharedFloats: 2L * p->SharedBBlock).Shared;
        p->BarrierArrived = p->BarrierGeneration = 0;
        SharedPart* partInfo = stackalloc SharedPart[parts];
        new Span<byte>(partInfo, parts * sizeof(SharedPart)).Clear();
        p->Parts = partInfo;
        bool ran = WorkerPool.TryForConcurrent(parts, &Part<TVec, TOps>, p);
        p->SharedB = null;
        p->Parts = null;
        return ran;
    }

    /// <summary>Waits until every row part has arrived (the parts run on their own threads: <see cref="WorkerPool.TryForConcurrent"/>).</summary>
    private static void Barrier(Problem* p)
    {
        int generation = Volatile.Read(ref p->BarrierGeneration);
        if (Interlocked.Increment(ref p->BarrierArrived) == p->RowParts)
        {
            Volatile.Write(ref p->BarrierArrived, 0);
            Interlocked.Increment(ref p->BarrierGeneration);
            return;
        }
        var spinner = new SpinWait();
        while (Volatile.Read(ref p->BarrierGeneration) == generation) spinner.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>
    /// Picks a RowParts x ColParts grid of <paramref name="threads"/> rectangles, balancing the per-thread
    /// multiply work (in whole tiles) against the packing each rectangle repeats (it packs all the rows
    /// of A and columns of B it covers). Column boundaries that cut C's cache lines (false sharing
    /// between the threads' tile stores) make column splits of narrow parts more expensive.
    /// </summary>
    internal static void ChooseGrid(int m, int n, int mr, int nr, int threads, bool lineAlignedColumns, out int rowParts, out int colParts)
    {
        rowParts = colParts = 1;
        long mTiles = (m + mr - 1) / mr, nTiles = (n + nr - 1) / nr;
        if (threads <= 1 || mTiles * nTiles < 2) return;
        double best = double.MaxValue;
        for (int tm = 1; tm <= threads; tm++)
        {
            int tn = threads / tm;
            if (tm * tn != threads || tm > mTiles || tn > nTiles) continue;
            double rows = Math.Ceiling((double)mTiles / tm) * mr, cols = Math.Ceiling((double)nTiles / tn) * nr;
            // ~100 flops per packed element: rows*cols*k multiply-adds vs (rows + cols)*k packed floats
            double cost = rows * cols + 50.0 * (rows + cols);
            if (tn > 1 && !lineAlignedColumns) cost *= 1 + 64.0 / cols;
            if (cost < best) { best = cost; rowParts = tm; colParts = tn; }
        }
        if (best == double.MaxValue)
        {
            // fewer tiles than threads along the split we would like: use what fits
            rowParts = (int)Math.Min(threads, mTiles);
            colParts = (int)Math.Min(threads / rowParts, nTiles);
        }
    }

    /// <summary>Rows the thread grid splits at: the micro-kernel's, or the panels of a packed A.</summary>
    private static int RowTile<TOps>(ref Problem p) where TOps : struct => p.PackedA != null ? p.PanelRows : MR<TOps>();

    private static void Part<TVec, TOps>(int index, void* state)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        var p = (Problem*)state;
        int mr = RowTile<TOps>(ref *p), nr = 2 * TOps.Count;
        int ri = index / p->ColParts, ci = index % p->ColParts;
        int nTiles = (p->N + nr - 1) / nr;
        RowRange(p, ri, mr, out int m0, out int m1);
        int n0 = Math.Min(p->N, (int)((long)nTiles * ci / p->ColParts) * nr);
        int n1 = Math.Min(p->N, (int)((long)nTiles * (ci + 1) / p->ColParts) * nr);
        if (p->SharedB != null) ComputeSharingB<TVec, TOps>(p, m0, m1, ri);
        else if (m0 < m1 && n0 < n1) Compute<TVec, TOps>(p, m0, m1, n0, n1);
    }

    /// <summary>
    /// Rows [m0, m1) of row part <paramref name="part"/>: the rows split evenly (they are packed per part, so any split
    /// works and every row is computed the same way), or at whole panels of a packed A. Splitting at whole register
    /// tiles instead left one part up to a tile short: 506 against 518 rows at m = 1024, 2% of the product waiting.
    /// </summary>
    private static void RowRange(Problem* p, int part, int mr, out int m0, out int m1)
    {
        if (p->PackedA == null)
        {
            m0 = (int)((long)p->M * part / p->RowParts);
            m1 = (int)((long)p->M * (part + 1) / p->RowParts);
            return;
        }
        int mTiles = (p->M + mr - 1) / mr;
        m0 = Math.Min(p->M, (int)((long)mTiles * part / p->RowParts) * mr);
        m1 = Math.Min(p->M, (int)((long)mTiles * (part + 1) / p->RowParts) * mr);
    }

    /// <summary>For tests: the row part that sleeps 1 ms after every wait (so the others take its panels), or -1.</summary>
    internal static int TestSlowPart = -1;
    /// <summary>Row panels multiplied by a part other than their own, since the process started.</summary>
    internal static long StolenPanels;

    /// <summary>
    /// Rows [m0, m1) of C, all columns, as row part <paramref name="part"/> of parts that pack every B block together:
    /// per block, this part packs its share of the panels into the shared buffer, all wait, then each multiplies its
    /// rows by the whole block. Two buffers alternate, so one wait per block is enough: a part packs block i + 1 only
    /// after multiplying block i, and block i + 2 (into block i's buffer) only after every part has packed block i + 1,
    /// that is, has finished multiplying block i. Every element is computed as <see cref="Compute"/> computes it.
    /// <para>
    /// A part that has multiplied its own row panels of a block takes the remaining panels of the others (claimed one at
    /// a time from each part's counter, with that part's packed A), so a thread the machine has descheduled holds the
    /// others up at the next wait by at most one panel, not by the rest of its block. Its A is packed into one of two
    /// buffers by k block parity: a part repacks its A for the next k block while another may still be multiplying
    /// its panels of the last block; the A of k block i + 2 is packed only after every part has passed the first wait
    /// of k block i + 1, by which time all of k block i is done.
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeSharingB<TVec, TOps>(Problem* p, int m0, int m1, int part)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int mr = MR<TOps>(), w = TOps.Count, nr = 2 * w;
        int k = p->K, n = p->N, parts = p->RowParts;
        int kcMax = KBlock(k);
        int nc0 = ColumnBlock(n, nr);
        int mc = m1 - m0;   // one block of rows (SharesB checked it fits)
        long aFloats = (long)Math.Max(mc, mr) * kcMax;
        PackBuffers buffers = PackBuffers.ForCurrentThread(2 * aFloats, 0);
        float* tile = buffers.Tile;
        int panels = Math.Max(1, (mc + mr - 1) / mr);
        int rowsPerPanel = Math.Max(1, (mc + panels - 1) / panels);
        SharedPart* self = p->Parts + part;
        self->A0 = buffers.A;
        self->A1 = buffers.A + aFloats;
        self->M0 = m0;
        self->Mc = mc;
        self->RowsPerPanel = rowsPerPanel;
        self->Panels = mc > 0 ? (mc + rowsPerPanel - 1) / rowsPerPanel : 0;
        int block = 0;
        for (int pc = 0, kBlock = 0; pc < k; pc += kcMax, kBlock++)
        {
            int kc = Math.Min(kcMax, k - pc);
            bool accumulate = p->Accumulate || pc > 0;
            float* ap = (kBlock & 1) == 0 ? self->A0 : self->A1;
            if (mc > 0) PackA(p, m0, mc, pc, kc, rowsPerPanel, ap);
            for (int jc = 0; jc < n; jc += nc0, block++)
            {
                int nc = Math.Min(nc0, n - jc);
                float* bp = p->SharedB + (block & 1) * p->SharedBBlock;
                int blockPanels = (nc + nr - 1) / nr;
                int j0 = blockPanels * part / parts, j1 = blockPanels * (part + 1) / parts;
                if (j1 > j0) PackB(p, pc, kc, jc + j0 * nr, Math.Min(nc, j1 * nr) - j0 * nr, w, bp + (nint)j0 * nr * kc);
                Barrier(p);
                if (part == TestSlowPart) Thread.Sleep(1);
                // own panels first, then whatever the other parts have not claimed yet
                for (int q = 0; q < parts; q++)
                {
                    SharedPart* owner = p->Parts + (part + q) % parts;
                    float* ownerA = (kBlock & 1) == 0 ? owner->A0 : owner->A1;
                    int end = (block + 1) * owner->Panels;
                    while (true)
                    {
                        int claimed = Volatile.Read(ref owner->Claimed);
                        if (claimed >= end) break;
                        if (Interlocked.CompareExchange(ref owner->Claimed, claimed + 1, claimed) != claimed) continue;
                        if (q != 0) Interlocked.Increment(ref StolenPanels);
                        int ir = (claimed - block * owner->Panels) * owner->RowsPerPanel;
                        MultiplyBlock<TVec, TOps>(p, ownerA + (nint)ir * kc, bp, tile, owner->M0 + ir,
                            Math.Min(owner->RowsPerPanel, owner->Mc - ir), owner->RowsPerPanel, pc, kc, jc, nc, directB: false, accumulate);
                    }
                }
            }
        }
    }

    /// <summary>
    /// C[ic.., jc..] (+)= the packed A block times the B block (packed at bp, or read in place when directB). Row panels
    /// outside, column panels inside (an A micro-panel stays in L1 while the B block streams from L2), or the other way
    /// round when <paramref name="columnsOuter"/>: a B read from memory (packed weights) multiplied by a few row panels
    /// then serves all of them while each of its panels is in L1, instead of arriving in bursts for the first. Every
    /// tile is the same kernel call either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyBlock<TVec, TOps>(Problem* p, float* ap, float* bp, float* tile, int ic, int mc, int rowsPerPanel,
        int pc, int kc, int jc, int nc, bool directB, bool accumulate, bool columnsOuter = false)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int nr = 2 * TOps.Count;
        float* cBlock = p->C + ic * p->Ldc + jc;
        if (columnsOuter)
        {
            for (int jr = 0; jr < nc; jr += nr)
                for (int ir = 0; ir < mc; ir += rowsPerPanel)
                    Tile<TVec, TOps>(p, ap, bp, tile, cBlock, rowsPerPanel, mc, ir, jr, pc, kc, jc, nc, directB, accumulate);
            return;
        }
        for (int ir = 0; ir < mc; ir += rowsPerPanel)
            for (int jr = 0; jr < nc; jr += nr)
                Tile<TVec, TOps>(p, ap, bp, tile, cBlock, rowsPerPanel, mc, ir, jr, pc, kc, jc, nc, directB, accumulate);
    }

    /// <summary>One register tile: row panel ir times column panel jr of the block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TVec, TOps>(Problem* p, float* ap, float* bp, float* tile, float* cBlock, int rowsPerPanel, int mc,
        int ir, int jr, int pc, int kc, int jc, int nc, bool directB, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count, nr = 2 * w;
        int rows = Math.Min(rowsPerPanel, mc - ir);
        float* a = ap + (nint)ir * kc;
        float* c = cBlock + ir * p->Ldc;
        int cols = Math.Min(nr, nc - jr);
        float* b = bp + (nint)jr * kc;
        nint bStride = nr;
        if (directB && cols == nr)
        {
            b = p->B + pc * p->Ldb + jc + jr;
            bStride = p->Ldb;
        }
        if (cols == nr)
            GemmKernels.Run2<TVec, TOps>(rows, kc, a, rows, b, bStride, c + jr, p->Ldc, accumulate);
        else if (cols == w)
            GemmKernels.Run1<TVec, TOps>(rows, kc, a, rows, b, w, c + jr, p->Ldc, accumulate);
        else
        {
            // ragged last panel: full-width tile into scratch, then the valid columns
            if (cols < w) GemmKernels.Run1<TVec, TOps>(rows, kc, a, rows, b, w, tile, nr, false);
            else GemmKernels.Run2<TVec, TOps>(rows, kc, a, rows, b, nr, tile, nr, false);
            MergeTile(tile, nr, c + jr, p->Ldc, rows, cols, accumulate);
        }
    }

    /// <summary>C[m0..m1, n0..n1) of the problem, on the calling thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Compute<TVec, TOps>(Problem* p, int m0, int m1, int n0, int n1)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int mr = MR<TOps>(), w = TOps.Count, nr = 2 * w;
        int k = p->K;
        int kcMax = KBlock(k);
        int mcMax = Math.Max(mr, MC / mr * mr);
        int nc0 = ColumnBlock(n1 - n0, nr);
        int mBlocks = (m1 - m0 + mcMax - 1) / mcMax;
        int mc0 = ((m1 - m0 + mBlocks - 1) / mBlocks + mr - 1) / mr * mr;
        bool packedA = p->PackedA != null;
        if (packedA) mc0 = m1 - m0;   // one block (a PackedMatrix has at most MC rows), in its own panels

        bool packedB = p->PackedB != null;
        PackBuffers buffers = PackBuffers.ForCurrentThread(packedA ? 0 : (long)mc0 * kcMax, packedB ? 0 : (long)nc0 * kcMax);
        float* ap = buffers.A, bp = buffers.B, tile = buffers.Tile;
        bool directB = !packedB && !p->TransB && UseDirectB(m1 - m0, p->N, k, mr);

        for (int ic = m0; ic < m1; ic += mc0)
        {
            int mc = Math.Min(mc0, m1 - ic);
            // equal row panels of at most mr rows (16 rows: 8 + 8, not 14 + a latency-bound 2); the
            // tile shape never changes the arithmetic, only the speed
            int panels = (mc + mr - 1) / mr;
            int rowsPerPanel = packedA ? p->PanelRows : (mc + panels - 1) / panels;
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                bool accumulate = p->Accumulate || pc > 0;
                if (packedA) ap = p->PackedA + (nint)pc * p->M + (nint)ic * kc;
                else PackA(p, ic, mc, pc, kc, rowsPerPanel, ap);
                for (int jc = n0; jc < n1; jc += nc0)
                {
                    int nc = Math.Min(nc0, n1 - jc);
                    if (packedB) bp = p->PackedB + pc * p->PackedBStride + (nint)jc * kc;
                    else if (!directB) PackB(p, pc, kc, jc, nc, w, bp);
                    else if (nc % nr != 0)
                    {
                        int last = nc / nr * nr;
                        PackB(p, pc, kc, jc + last, nc - last, w, bp + (nint)last * kc);
                    }
                    MultiplyBlock<TVec, TOps>(p, ap, bp, tile, ic, mc, rowsPerPanel, pc, kc, jc, nc, directB, accumulate,
                        columnsOuter: packedB && mc <= ColumnsOuterRows);
                }
            }
        }
    }

    /// <summary>
    /// Read B (not transposed) in place instead of packing it: when a KC x N slice is small (it stays
    /// in cache anyway), or when only a few row panels read each B panel (packing would cost more
    /// than it saves).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool UseDirectB(int rows, int n, int k, int mr)
        => (long)n * Math.Min(k, KC) <= DirectBLimit || rows <= DirectBPanels * mr;

    /// <summary>Parts with at most this many row panels read a non-transposed B in place.</summary>
    private const int DirectBPanels = 8;
    /// <summary>A KC x n slice of B up to this many floats (800 KB with a 1 MB L2) is read in place (it stays in L2 between uses).</summary>
    private static readonly int DirectBLimit = DirectBFloatsFor(CpuCache.L2Bytes);

    /// <summary>
    /// NC for an L2 of <paramref name="l2Bytes"/>: half of it holds the B block, in whole 64-column steps, between 128 and
    /// the 512 tuned with 1 MB (larger caches have not been measured). On a Zen 3 with 512 KB of L2 the 1 MB values left
    /// n = 512 at 0.6x OpenBLAS on one thread; 256 columns and a 400 KB direct-B limit brought it to 0.95-1.0x.
    /// </summary>
    internal static int ColumnsFor(int l2Bytes)
    {
        long columns = Math.Min(l2Bytes, CpuCache.TunedL2Bytes) / 2 / (KC * sizeof(float));
        return (int)Math.Clamp(columns / 64 * 64, 128, 512);
    }

    /// <summary>DirectBLimit for an L2 of <paramref name="l2Bytes"/>: 200 floats per KB (78% of it: 200 x 1024 floats with 1 MB), at most the tuned value.</summary>
    internal static int DirectBFloatsFor(int l2Bytes) => (int)(Math.Clamp(l2Bytes, 64 * 1024, CpuCache.TunedL2Bytes) / 1024 * 200L);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeTile(float* tile, int tileStride, float* c, nint ldc, int rows, int cols, bool accumulate)
    {
        for (int i = 0; i < rows; i++)
        {
            float* t = tile + i * tileStride;
            float* o = c + i * ldc;
            if (accumulate) for (int j = 0; j < cols; j++) o[j] += t[j];
            else for (int j = 0; j < cols; j++) o[j] = t[j];
        }
    }

    /// <summary>A[ic..ic+mc, pc..pc+kc) into panels of mr rows: panel at ap + ir*kc, a(i,p) at [p*rows + i] (a shorter last panel is compact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(Problem* p, int ic, int mc, int pc, int kc, int mr, float* ap)
    {
        if (!p->TransA)
        {
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                PackTransposed(p->A + (nint)(ic + ir) * p->Lda + pc, p->Lda, rows, kc, ap + (nint)ir * kc, rows);
            }
            return;
        }
        // A^T rows are contiguous along m: walk each source row once across all the panels, so every
        // cache line is used while it is in L1 (a large power-of-two lda would evict it otherwise)
        PackRowsAcrossPanels(p->A + (nint)pc * p->Lda + ic, p->Lda, mc, mr, kc, ap);
    }

    /// <summary>
    /// Panels of <paramref name="mr"/> columns of a kc x mc row-major source: panel ir at dst + ir*kc holds
    /// src[q*ld + ir + r] at [q*rows + r] (rows = mr, or the compact remainder for the last panel).
    /// Eight source rows at a time across all panels: each source cache line is consumed while in L1
    /// even when ld is a large power of two, and each panel receives 8 contiguous rows. Packs A^T's row
    /// panels and the whole column panels of a row-major B (B read row by row, not one narrow panel at a
    /// time down kc rows and pages).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackRowsAcrossPanels(float* src, nint ld, int mc, int mr, int kc, float* dst)
    {
        int full = mc / mr * mr, last = mc - full;
        bool wide = Vector256.IsHardwareAccelerated && mr >= 8, narrow = Vector128.IsHardwareAccelerated && mr >= 4 && mr <= 8;
        for (int q0 = 0; q0 < kc; q0 += 8)
        {
            int qn = Math.Min(8, kc - q0);
            float* s0 = src + q0 * ld;
            for (int ir = 0; ir < full; ir += mr)
            {
                float* s = s0 + ir;
                float* d = dst + (nint)ir * kc + q0 * mr;
                if (wide && (mr & 7) == 0)
                {
                    // B's panels (2 vectors wide): whole 8-float chunks
                    for (int q = 0; q < qn; q++, s += ld, d += mr)
                        for (int j = 0; j < mr; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
                }
                else if (wide && mr <= 16)
                {
                    // A^T's panels (6 or 14 rows): two overlapping 8-float chunks
                    for (int q = 0; q < qn; q++, s += ld, d += mr)
                    {
                        Vector256.Store(Vector256.Load(s), d);
                        Vector256.Store(Vector256.Load(s + mr - 8), d + mr - 8);
                    }
                }
                else if (narrow)
                {
                    for (int q = 0; q < qn; q++, s += ld, d += mr)
                    {
                        Vector128.Store(Vector128.Load(s), d);
                        Vector128.Store(Vector128.Load(s + mr - 4), d + mr - 4);
                    }
                }
                else
                {
                    for (int q = 0; q < qn; q++, s += ld, d += mr)
                        for (int r = 0; r < mr; r++) d[r] = s[r];
                }
            }
            if (last != 0)
            {
                float* s = s0 + full;
                float* d = dst + (nint)full * kc + q0 * last;
                for (int q = 0; q < qn; q++, s += ld, d += last)
                    for (int r = 0; r < last; r++) d[r] = s[r];
            }
        }
    }

    /// <summary>Floats of one k row of B packed in panels of 2w columns (w for a last panel of at most w): n rounded up to the panels.</summary>
    internal static int PackedWidth(int n, int w)
    {
        int nr = 2 * w, rest = n % nr;
        return n / nr * nr + (rest == 0 ? 0 : rest <= w ? w : nr);
    }

    /// <summary>B[pc..pc+kc, jc..jc+nc) into panels of 2w columns: panel at bp + jr*kc, b(p,j) at [p*width + j], width 2w (w for a last panel of at most w), zero padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(Problem* p, int pc, int kc, int jc, int nc, int w, float* bp)
        => PackB(p->B, p->Ldb, p->TransB, pc, kc, jc, nc, w, bp);

    internal static void PackB(float* b, nint ldb, bool transB, int pc, int kc, int jc, int nc, int w, float* bp)
    {
        int nr = 2 * w;
        // whole panels of a row-major B: row by row across the panels (reads each row of B sequentially)
        int full = transB ? 0 : nc / nr * nr;
        if (full > 0) PackRowsAcrossPanels(b + (nint)pc * ldb + jc, ldb, full, nr, kc, bp);
        for (int jr = full; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            int width = cols <= w ? w : nr;
            float* dst = bp + (nint)jr * kc;
            if (!transB) PackCopy(b + (nint)pc * ldb + jc + jr, ldb, cols, kc, dst, width);
            else PackTransposed(b + (nint)(jc + jr) * ldb + pc, ldb, cols, kc, dst, width);
        }
    }

    /// <summary>dst[q*width + r] = src[q*ld + r] for q &lt; kc, r &lt; rows; r in [rows, width) = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackCopy(float* src, nint ld, int rows, int kc, float* dst, int width)
    {
        if (Vector256.IsHardwareAccelerated && rows >= 8)
        {
            // 8-float chunks; a ragged end re-copies the last 8 (overlapping, same values)
            for (int q = 0; q < kc; q++)
            {
                float* s = src + q * ld, d = dst + q * width;
                int r = 0;
                for (; r + 8 <= rows; r += 8) Vector256.Store(Vector256.Load(s + r), d + r);
                if (r < rows) Vector256.Store(Vector256.Load(s + rows - 8), d + rows - 8);
            }
        }
        else if (Vector128.IsHardwareAccelerated && rows >= 4)
        {
            for (int q = 0; q < kc; q++)
            {
                float* s = src + q * ld, d = dst + q * width;
                int r = 0;
                for (; r + 4 <= rows; r += 4) Vector128.Store(Vector128.Load(s + r), d + r);
                if (r < rows) Vector128.Store(Vector128.Load(s + rows - 4), d + rows - 4);
            }
        }
        else
        {
            for (int q = 0; q < kc; q++)
            {
                float* s = src + q * ld, d = dst + q * width;
                for (int r = 0; r < rows; r++) d[r] = s[r];
            }
        }
        if (rows < width) ZeroColumns(dst, rows, width, kc);
    }

    /// <summary>dst[q*width + r] = src[r*ld + q] for q &lt; kc, r &lt; rows (a transpose); r in [rows, width) = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackTransposed(float* src, nint ld, int rows, int kc, float* dst, int width)
    {
        int q0 = 0;
        if (Avx.IsSupported && rows >= 8)
        {
            int kc8 = kc & ~7;
            // groups of 8 rows at 0, 8, ...; a ragged end takes the last 8 (overlapping, same values)
            for (int g = 0; ; g += 8)
            {
                if (g + 8 > rows) g = rows - 8;
                Transpose8Rows(src + g * ld, ld, kc8, dst + g, width);
                if (g + 8 >= rows) break;
            }
            q0 = kc8;
        }
        else if (Sse.IsSupported && rows >= 4)
        {
            int kc4 = kc & ~3;
            for (int g = 0; ; g += 4)
            {
                if (g + 4 > rows) g = rows - 4;
                Transpose4Rows(src + g * ld, ld, kc4, dst + g, width);
                if (g + 4 >= rows) break;
            }
            q0 = kc4;
        }
        for (int q = q0; q < kc; q++)
        {
            float* d = dst + q * width;
            for (int r = 0; r < rows; r++) d[r] = src[r * ld + q];
        }
        if (rows < width) ZeroColumns(dst, rows, width, kc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose8Rows(float* s, nint ld, int kc8, float* d, int width)
    {
        float* s0 = s, s1 = s + ld, s2 = s + 2 * ld, s3 = s + 3 * ld;
        float* s4 = s + 4 * ld, s5 = s + 5 * ld, s6 = s + 6 * ld, s7 = s + 7 * ld;
        nint w = width;
        for (int q = 0; q < kc8; q += 8)
        {
            Vector256<float> r0 = Avx.LoadVector256(s0 + q), r1 = Avx.LoadVector256(s1 + q);
            Vector256<float> r2 = Avx.LoadVector256(s2 + q), r3 = Avx.LoadVector256(s3 + q);
            Vector256<float> r4 = Avx.LoadVector256(s4 + q), r5 = Avx.LoadVector256(s5 + q);
            Vector256<float> r6 = Avx.LoadVector256(s6 + q), r7 = Avx.LoadVector256(s7 + q);
            Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
            Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
            Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
            Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
            Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
            Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
            Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
            Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
            float* o = d + q * w;
            Avx.Store(o, Avx.Permute2x128(u0, u4, 0x20));
            Avx.Store(o + w, Avx.Permute2x128(u1, u5, 0x20));
            Avx.Store(o + 2 * w, Avx.Permute2x128(u2, u6, 0x20));
            Avx.Store(o + 3 * w, Avx.Permute2x128(u3, u7, 0x20));
            Avx.Store(o + 4 * w, Avx.Permute2x128(u0, u4, 0x31));
            Avx.Store(o + 5 * w, Avx.Permute2x128(u1, u5, 0x31));
            Avx.Store(o + 6 * w, Avx.Permute2x128(u2, u6, 0x31));
            Avx.Store(o + 7 * w, Avx.Permute2x128(u3, u7, 0x31));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose4Rows(float* s, nint ld, int kc4, float* d, int width)
    {
        float* s0 = s, s1 = s + ld, s2 = s + 2 * ld, s3 = s + 3 * ld;
        nint w = width;
        for (int q = 0; q < kc4; q += 4)
        {
            Vector128<float> r0 = Sse.LoadVector128(s0 + q), r1 = Sse.LoadVector128(s1 + q);
            Vector128<float> r2 = Sse.LoadVector128(s2 + q), r3 = Sse.LoadVector128(s3 + q);
            Vector128<float> t0 = Sse.UnpackLow(r0, r1), t1 = Sse.UnpackHigh(r0, r1);
            Vector128<float> t2 = Sse.UnpackLow(r2, r3), t3 = Sse.UnpackHigh(r2, r3);
            float* o = d + q * w;
            Sse.Store(o, Sse.MoveLowToHigh(t0, t2));
            Sse.Store(o + w, Sse.MoveHighToLow(t2, t0));
            Sse.Store(o + 2 * w, Sse.MoveLowToHigh(t1, t3));
            Sse.Store(o + 3 * w, Sse.MoveHighToLow(t3, t1));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ZeroColumns(float* dst, int from, int width, int kc)
    {
        for (int q = 0; q < kc; q++)
        {
            float* d = dst + q * width;
            for (int r = from; r < width; r++) d[r] = 0f;
        }
    }

    /// <summary>Per-thread pack buffers: native, 64-byte aligned, grown on demand, freed when the thread's object is collected.</summary>
    internal sealed class PackBuffers
    {
        [ThreadStatic] private static PackBuffers? t_current;

        public float* A, B, Tile, Scratch, Shared;
        private long _aCapacity, _bCapacity, _scratchCapacity, _sharedCapacity;

        /// <summary>The calling thread's buffers, with room for at least the given numbers of floats.</summary>
        public static PackBuffers ForCurrentThread(long aFloats, long bFloats, long scratchFloats = 0, long sharedFloats = 0)
        {
            PackBuffers buffers = t_current ??= new PackBuffers();
            if (aFloats > buffers._aCapacity) buffers.A = Grow(buffers.A, ref buffers._aCapacity, aFloats);
            if (bFloats > buffers._bCapacity) buffers.B = Grow(buffers.B, ref buffers._bCapacity, bFloats);
            if (scratchFloats > buffers._scratchCapacity) buffers.Scratch = Grow(buffers.Scratch, ref buffers._scratchCapacity, scratchFloats);
            if (sharedFloats > buffers._sharedCapacity) buffers.Shared = Grow(buffers.Shared, ref buffers._sharedCapacity, sharedFloats);
            if (buffers.Tile == null) buffers.Tile = (float*)NativeMemory.AlignedAlloc(16 * 64 * sizeof(float), 64);
            return buffers;
        }

        private static float* Grow(float* old, ref long capacity, long needed)
        {
            if (old != null) NativeMemory.AlignedFree(old);
            capacity = Math.Max(needed, capacity * 2);
            return (float*)NativeMemory.AlignedAlloc((nuint)(capacity * sizeof(float)), 64);
        }

        ~PackBuffers()
        {
            if (A != null) NativeMemory.AlignedFree(A);
            if (B != null) NativeMemory.AlignedFree(B);
            if (Tile != null) NativeMemory.AlignedFree(Tile);
            if (Scratch != null) NativeMemory.AlignedFree(Scratch);
            if (Shared != null) NativeMemory.AlignedFree(Shared);
        }
    }
}
