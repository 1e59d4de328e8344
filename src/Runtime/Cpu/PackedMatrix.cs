using System;
using System.Runtime.InteropServices;

namespace NetGen.Cpu;

/// <summary>
/// A left-hand matrix (a layer's weights) packed once into the GEMM micro-kernels' row panels and reused by every
/// product until <see cref="Invalidate"/> is called. A network's inference weights with BatchNorm folded in change
/// only when it refolds them, and packing them again for every product cost up to half of a batch-1 ResNet-18
/// layer (the 512-channel layers multiply 2.4 M weights by 49 columns).
/// <para>
/// Layout: for each k block [pc, pc + kc) of <see cref="GemmPacked.KBlock"/>, at pc * M, panels of
/// <see cref="PanelRows"/> rows (the last one shorter), panel r at r * kc holding a(i, p) at [p * rows + i], exactly
/// what <see cref="GemmPacked"/> packs per call; the products are bit-identical with and without it.
/// </para>
/// <para>
/// The owner calls <see cref="Invalidate"/> whenever the weights may have changed; a product that finds the matrix
/// packed from other weights (another address or shape, or another instruction set) packs as usual instead of
/// reading it. <see cref="Conv2d.Forward(System.Span{float}, System.ReadOnlySpan{float}, System.ReadOnlySpan{float}, System.ReadOnlySpan{float}, int, in Conv2dGeometry, System.Span{float}, PackedMatrix?)"/>
/// packs it (on the calling thread) before any product reads it. Not for concurrent use by several callers.
/// </para>
/// </summary>
public sealed unsafe class PackedMatrix
{
    internal float* Data;
    private long _capacity;
    private bool _valid;
    private nint _source;
    private int _lda, _mr;
    private bool _isB, _transB;
    internal int M, K, PanelRows;
    /// <summary>B layout: floats per k row (<see cref="GemmPacked.PackedWidth"/>).</summary>
    internal int Width;

    /// <summary>True once packed and not invalidated since.</summary>
    public bool IsPacked => _valid;

    /// <summary>Marks the packed copy stale: the next product that is given this matrix packs the weights again.</summary>
    public void Invalidate() => _valid = false;

    /// <summary><see cref="Invalidate"/> on every element.</summary>
    public static void Invalidate(PackedMatrix[] matrices)
    {
        ArgumentNullException.ThrowIfNull(matrices);
        foreach (var matrix in matrices) matrix.Invalidate();
    }

    /// <summary><paramref name="count"/> new, empty matrices (a network's field initialiser).</summary>
    public static PackedMatrix[] Create(int count)
    {
        Guard.NonNegative(count, nameof(count));
        var matrices = new PackedMatrix[count];
        for (int i = 0; i < count; i++) matrices[i] = new PackedMatrix();
        return matrices;
    }

    /// <summary>True when this holds A = a (row stride lda, m x k) packed for micro-kernels of <paramref name="mr"/> rows.</summary>
    internal bool Holds(float* a, int lda, int m, int k, int mr)
        => _valid && !_isB && _source == (nint)a && _lda == lda && M == m && K == k && _mr == mr;

    /// <summary>True when this holds op(B) = b (k x n, or n x k stored when transB) packed for vectors of <paramref name="w"/> floats.</summary>
    internal bool HoldsB(float* b, int ldb, bool transB, int n, int k, int w)
        => _valid && _isB && _source == (nint)b && _lda == ldb && _transB == transB && M == n && K == k && _mr == w;

    /// <summary>
    /// Packs op(B) (k x n; B stored n x k when <paramref name="transB"/>) in the column panels the products of
    /// <paramref name="path"/> read, unless it already holds it: per k block at pc * Width, panel j at j * kc, as
    /// <see cref="GemmPacked"/> packs a block of all n columns.
    /// </summary>
    internal void PrepareB(SimdPath path, float* b, int ldb, bool transB, int n, int k)
    {
        if (path == SimdPath.Scalar || n <= 0 || k <= 0) return;
        int w = Simd.Width(path);
        if (HoldsB(b, ldb, transB, n, k, w)) return;
        _valid = false;
        int width = GemmPacked.PackedWidth(n, w);
        Reserve((long)width * k);
        int kcMax = GemmPacked.KBlock(k);
        for (int pc = 0; pc < k; pc += kcMax)
            GemmPacked.PackB(b, ldb, transB, pc, Math.Min(kcMax, k - pc), 0, n, w, Data + (nint)pc * width);
        Remember((nint)b, ldb, isB: true, transB, w, n, k, panelRows: 0, width);
    }

    /// <summary>What is packed now (the key <see cref="Holds"/> and <see cref="HoldsB"/> compare), and that it is valid.</summary>
    private void Remember(nint source, int ld, bool isB, bool transB, int tile, int rowsOrColumns, int k, int panelRows, int width)
    {
        _source = source;
        _lda = ld;
        _isB = isB;
        _transB = transB;
        _mr = tile;
        M = rowsOrColumns;
        K = k;
        PanelRows = panelRows;
        Width = width;
        _valid = true;
    }

    private void Reserve(long floats)
    {
        if (floats <= _capacity) return;
        if (Data != null) NativeMemory.AlignedFree(Data);
        Data = null;
        _capacity = 0;
        Data = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        _capacity = floats;
    }

    /// <summary>Packs A (m x k, row stride lda, not transposed) for the products of <paramref name="path"/>, unless it already holds it.</summary>
    internal void Prepare(SimdPath path, float* a, int lda, int m, int k)
    {
        if (path == SimdPath.Scalar || m <= 0 || k <= 0 || m > GemmPacked.MC) return;   // those products never read it
        int mr = GemmPacked.MR(path);
        if (Holds(a, lda, m, k, mr)) return;
        _valid = false;
        Reserve((long)m * k);
        // equal panels of at most mr rows over all of m, as GemmPacked sizes them for a block of m rows
        int panels = (m + mr - 1) / mr;
        int rows = (m + panels - 1) / panels;
        int kcMax = GemmPacked.KBlock(k);
        for (int pc = 0; pc < k; pc += kcMax)
        {
            int kc = Math.Min(kcMax, k - pc);
            for (int ir = 0; ir < m; ir += rows)
            {
                int r = Math.Min(rows, m - ir);
                GemmPacked.PackTransposed(a + (nint)ir * lda + pc, lda, r, kc, Data + (nint)pc * m + (nint)ir * kc, r);
            }
        }
        Remember((nint)a, lda, isB: false, transB: false, mr, m, k, rows, width: 0);
    }

    ~PackedMatrix()
    {
        if (Data != null) NativeMemory.AlignedFree(Data);
    }
}
