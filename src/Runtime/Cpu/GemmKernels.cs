// Micro-kernels: the 14 register rows are unrolled by hand, one line per row (same pattern on every line).
using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Cpu;

/// <summary>Compile-time row count of a micro-kernel specialisation.</summary>
internal interface IRowCount { static abstract int Value { get; } }

internal struct R1 : IRowCount { public static int Value => 1; }
internal struct R2 : IRowCount { public static int Value => 2; }
internal struct R3 : IRowCount { public static int Value => 3; }
internal struct R4 : IRowCount { public static int Value => 4; }
internal struct R5 : IRowCount { public static int Value => 5; }
internal struct R6 : IRowCount { public static int Value => 6; }
internal struct R7 : IRowCount { public static int Value => 7; }
internal struct R8 : IRowCount { public static int Value => 8; }
internal struct R9 : IRowCount { public static int Value => 9; }
internal struct R10 : IRowCount { public static int Value => 10; }
internal struct R11 : IRowCount { public static int Value => 11; }
internal struct R12 : IRowCount { public static int Value => 12; }
internal struct R13 : IRowCount { public static int Value => 13; }
internal struct R14 : IRowCount { public static int Value => 14; }

/// <summary>
/// Where a micro-kernel finds k step p of an operand (row p of B, the column p of A it broadcasts from): at
/// <c>Row(x, offsets, p)</c>, after which x advances by <c>Step(stride)</c>.
/// </summary>
internal unsafe interface IKSteps
{
    static abstract float* Row(float* x, int* offsets, nint p);
    static abstract nint Step(nint stride);
}

/// <summary>Steps stride floats apart (a packed panel, or a matrix read in place): step p at x + p * stride.</summary>
internal unsafe struct StridedRows : IKSteps
{
    public static float* Row(float* x, int* offsets, nint p) => x;
    public static nint Step(nint stride) => stride;
}

/// <summary>
/// Steps at x + offsets[p]: a convolution reading its zero-padded input in place, row (c, ky, kx) of its im2col matrix
/// being the input shifted by c * plane + ky * width + kx (see <see cref="Conv2dDirect"/>).
/// </summary>
internal unsafe struct OffsetRows : IKSteps
{
    public static float* Row(float* x, int* offsets, nint p) => x + offsets[p];
    public static nint Step(nint stride) => 0;
}

/// <summary>
/// Register-blocked GEMM micro-kernels: C[rows, 2w or w] (=|+=) sum_p a(i,p) b(p,:), with the
/// rows of A broadcast from a[p*aStride + i] (or a[offsets[p] + i]) and the columns loaded as vectors from row p of B (b + p*bStride,
/// or b + offsets[p]: <see cref="IKSteps"/>; Tile2 only).
/// All accumulators live in registers (rows x 2 vectors: 14 x 2 zmm = 28 of the 32 AVX-512
/// registers; 6 x 2 ymm/xmm on the 16-register paths). Every element is computed the same way by
/// every specialisation: a fused multiply-add chain over p starting from zero, then one add to C
/// (accumulate) or a store, so the tile shape never changes the result.
/// </summary>
internal static unsafe class GemmKernels
{
    /// <summary>rows x 2 vectors of columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Tile2<TVec, TOps, TRows, TA, TB>(nint kc, float* a, nint aStride, float* b, nint bStride, int* offsets, float* c, nint ldc, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec> where TRows : struct, IRowCount where TA : struct, IKSteps where TB : struct, IKSteps
    {
        int r = TRows.Value;
        nint w = TOps.Count;
        if (Sse.IsSupported)
        {
            // start fetching the C tile now; it is needed only after the k loop
            for (int i = 0; i < r; i++) { Sse.Prefetch0(c + i * ldc); Sse.Prefetch0(c + i * ldc + 2 * w - 1); }
        }
        TVec c0a = TOps.Zero; TVec c0b = TOps.Zero;
        TVec c1a = TOps.Zero; TVec c1b = TOps.Zero;
        TVec c2a = TOps.Zero; TVec c2b = TOps.Zero;
        TVec c3a = TOps.Zero; TVec c3b = TOps.Zero;
        TVec c4a = TOps.Zero; TVec c4b = TOps.Zero;
        TVec c5a = TOps.Zero; TVec c5b = TOps.Zero;
        TVec c6a = TOps.Zero; TVec c6b = TOps.Zero;
        TVec c7a = TOps.Zero; TVec c7b = TOps.Zero;
        TVec c8a = TOps.Zero; TVec c8b = TOps.Zero;
        TVec c9a = TOps.Zero; TVec c9b = TOps.Zero;
        TVec c10a = TOps.Zero; TVec c10b = TOps.Zero;
        TVec c11a = TOps.Zero; TVec c11b = TOps.Zero;
        TVec c12a = TOps.Zero; TVec c12b = TOps.Zero;
        TVec c13a = TOps.Zero; TVec c13b = TOps.Zero;
        for (nint p = 0; p < kc; p++)
        {
            float* ar = TA.Row(a, offsets, p), row = TB.Row(b, offsets, p);
            TVec b0 = TOps.Load(row), b1 = TOps.Load(row + w);
            { TVec x = TOps.Broadcast(ar[0]); c0a = TOps.MultiplyAdd(x, b0, c0a); c0b = TOps.MultiplyAdd(x, b1, c0b); }
            if (r > 1) { TVec x = TOps.Broadcast(ar[1]); c1a = TOps.MultiplyAdd(x, b0, c1a); c1b = TOps.MultiplyAdd(x, b1, c1b); }
            if (r > 2) { TVec x = TOps.Broadcast(ar[2]); c2a = TOps.MultiplyAdd(x, b0, c2a); c2b = TOps.MultiplyAdd(x, b1, c2b); }
            if (r > 3) { TVec x = TOps.Broadcast(ar[3]); c3a = TOps.MultiplyAdd(x, b0, c3a); c3b = TOps.MultiplyAdd(x, b1, c3b); }
            if (r > 4) { TVec x = TOps.Broadcast(ar[4]); c4a = TOps.MultiplyAdd(x, b0, c4a); c4b = TOps.MultiplyAdd(x, b1, c4b); }
            if (r > 5) { TVec x = TOps.Broadcast(ar[5]); c5a = TOps.MultiplyAdd(x, b0, c5a); c5b = TOps.MultiplyAdd(x, b1, c5b); }
            if (r > 6) { TVec x = TOps.Broadcast(ar[6]); c6a = TOps.MultiplyAdd(x, b0, c6a); c6b = TOps.MultiplyAdd(x, b1, c6b); }
            if (r > 7) { TVec x = TOps.Broadcast(ar[7]); c7a = TOps.MultiplyAdd(x, b0, c7a); c7b = TOps.MultiplyAdd(x, b1, c7b); }
            if (r > 8) { TVec x = TOps.Broadcast(ar[8]); c8a = TOps.MultiplyAdd(x, b0, c8a); c8b = TOps.MultiplyAdd(x, b1, c8b); }
            if (r > 9) { TVec x = TOps.Broadcast(ar[9]); c9a = TOps.MultiplyAdd(x, b0, c9a); c9b = TOps.MultiplyAdd(x, b1, c9b); }
            if (r > 10) { TVec x = TOps.Broadcast(ar[10]); c10a = TOps.MultiplyAdd(x, b0, c10a); c10b = TOps.MultiplyAdd(x, b1, c10b); }
            if (r > 11) { TVec x = TOps.Broadcast(ar[11]); c11a = TOps.MultiplyAdd(x, b0, c11a); c11b = TOps.MultiplyAdd(x, b1, c11b); }
            if (r > 12) { TVec x = TOps.Broadcast(ar[12]); c12a = TOps.MultiplyAdd(x, b0, c12a); c12b = TOps.MultiplyAdd(x, b1, c12b); }
            if (r > 13) { TVec x = TOps.Broadcast(ar[13]); c13a = TOps.MultiplyAdd(x, b0, c13a); c13b = TOps.MultiplyAdd(x, b1, c13b); }
            a += TA.Step(aStride);
            b += TB.Step(bStride);
        }
        if (accumulate)
        {
            { float* o = c; c0a = TOps.Add(c0a, TOps.Load(o)); c0b = TOps.Add(c0b, TOps.Load(o + w)); }
            if (r > 1) { float* o = c + 1 * ldc; c1a = TOps.Add(c1a, TOps.Load(o)); c1b = TOps.Add(c1b, TOps.Load(o + w)); }
            if (r > 2) { float* o = c + 2 * ldc; c2a = TOps.Add(c2a, TOps.Load(o)); c2b = TOps.Add(c2b, TOps.Load(o + w)); }
            if (r > 3) { float* o = c + 3 * ldc; c3a = TOps.Add(c3a, TOps.Load(o)); c3b = TOps.Add(c3b, TOps.Load(o + w)); }
            if (r > 4) { float* o = c + 4 * ldc; c4a = TOps.Add(c4a, TOps.Load(o)); c4b = TOps.Add(c4b, TOps.Load(o + w)); }
            if (r > 5) { float* o = c + 5 * ldc; c5a = TOps.Add(c5a, TOps.Load(o)); c5b = TOps.Add(c5b, TOps.Load(o + w)); }
            if (r > 6) { float* o = c + 6 * ldc; c6a = TOps.Add(c6a, TOps.Load(o)); c6b = TOps.Add(c6b, TOps.Load(o + w)); }
            if (r > 7) { float* o = c + 7 * ldc; c7a = TOps.Add(c7a, TOps.Load(o)); c7b = TOps.Add(c7b, TOps.Load(o + w)); }
            if (r > 8) { float* o = c + 8 * ldc; c8a = TOps.Add(c8a, TOps.Load(o)); c8b = TOps.Add(c8b, TOps.Load(o + w)); }
            if (r > 9) { float* o = c + 9 * ldc; c9a = TOps.Add(c9a, TOps.Load(o)); c9b = TOps.Add(c9b, TOps.Load(o + w)); }
            if (r > 10) { float* o = c + 10 * ldc; c10a = TOps.Add(c10a, TOps.Load(o)); c10b = TOps.Add(c10b, TOps.Load(o + w)); }
            if (r > 11) { float* o = c + 11 * ldc; c11a = TOps.Add(c11a, TOps.Load(o)); c11b = TOps.Add(c11b, TOps.Load(o + w)); }
            if (r > 12) { float* o = c + 12 * ldc; c12a = TOps.Add(c12a, TOps.Load(o)); c12b = TOps.Add(c12b, TOps.Load(o + w)); }
            if (r > 13) { float* o = c + 13 * ldc; c13a = TOps.Add(c13a, TOps.Load(o)); c13b = TOps.Add(c13b, TOps.Load(o + w)); }
        }
        { float* o = c; TOps.Store(c0a, o); TOps.Store(c0b, o + w); }
        if (r > 1) { float* o = c + 1 * ldc; TOps.Store(c1a, o); TOps.Store(c1b, o + w); }
        if (r > 2) { float* o = c + 2 * ldc; TOps.Store(c2a, o); TOps.Store(c2b, o + w); }
        if (r > 3) { float* o = c + 3 * ldc; TOps.Store(c3a, o); TOps.Store(c3b, o + w); }
        if (r > 4) { float* o = c + 4 * ldc; TOps.Store(c4a, o); TOps.Store(c4b, o + w); }
        if (r > 5) { float* o = c + 5 * ldc; TOps.Store(c5a, o); TOps.Store(c5b, o + w); }
        if (r > 6) { float* o = c + 6 * ldc; TOps.Store(c6a, o); TOps.Store(c6b, o + w); }
        if (r > 7) { float* o = c + 7 * ldc; TOps.Store(c7a, o); TOps.Store(c7b, o + w); }
        if (r > 8) { float* o = c + 8 * ldc; TOps.Store(c8a, o); TOps.Store(c8b, o + w); }
        if (r > 9) { float* o = c + 9 * ldc; TOps.Store(c9a, o); TOps.Store(c9b, o + w); }
        if (r > 10) { float* o = c + 10 * ldc; TOps.Store(c10a, o); TOps.Store(c10b, o + w); }
        if (r > 11) { float* o = c + 11 * ldc; TOps.Store(c11a, o); TOps.Store(c11b, o + w); }
        if (r > 12) { float* o = c + 12 * ldc; TOps.Store(c12a, o); TOps.Store(c12b, o + w); }
        if (r > 13) { float* o = c + 13 * ldc; TOps.Store(c13a, o); TOps.Store(c13b, o + w); }
    }

    /// <summary>rows x 1 vector of columns (the last, narrow column panel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Tile1<TVec, TOps, TRows>(nint kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec> where TRows : struct, IRowCount
    {
        int r = TRows.Value;
        nint w = TOps.Count;
        if (Sse.IsSupported)
        {
            // start fetching the C tile now; it is needed only after the k loop
            for (int i = 0; i < r; i++) { Sse.Prefetch0(c + i * ldc); Sse.Prefetch0(c + i * ldc + w - 1); }
        }
        TVec c0a = TOps.Zero;
        TVec c1a = TOps.Zero;
        TVec c2a = TOps.Zero;
        TVec c3a = TOps.Zero;
        TVec c4a = TOps.Zero;
        TVec c5a = TOps.Zero;
        TVec c6a = TOps.Zero;
        TVec c7a = TOps.Zero;
        TVec c8a = TOps.Zero;
        TVec c9a = TOps.Zero;
        TVec c10a = TOps.Zero;
        TVec c11a = TOps.Zero;
        TVec c12a = TOps.Zero;
        TVec c13a = TOps.Zero;
        for (nint p = 0; p < kc; p++)
        {
            TVec b0 = TOps.Load(b);
            { TVec x = TOps.Broadcast(a[0]); c0a = TOps.MultiplyAdd(x, b0, c0a); }
            if (r > 1) { TVec x = TOps.Broadcast(a[1]); c1a = TOps.MultiplyAdd(x, b0, c1a); }
            if (r > 2) { TVec x = TOps.Broadcast(a[2]); c2a = TOps.MultiplyAdd(x, b0, c2a); }
            if (r > 3) { TVec x = TOps.Broadcast(a[3]); c3a = TOps.MultiplyAdd(x, b0, c3a); }
            if (r > 4) { TVec x = TOps.Broadcast(a[4]); c4a = TOps.MultiplyAdd(x, b0, c4a); }
            if (r > 5) { TVec x = TOps.Broadcast(a[5]); c5a = TOps.MultiplyAdd(x, b0, c5a); }
            if (r > 6) { TVec x = TOps.Broadcast(a[6]); c6a = TOps.MultiplyAdd(x, b0, c6a); }
            if (r > 7) { TVec x = TOps.Broadcast(a[7]); c7a = TOps.MultiplyAdd(x, b0, c7a); }
            if (r > 8) { TVec x = TOps.Broadcast(a[8]); c8a = TOps.MultiplyAdd(x, b0, c8a); }
            if (r > 9) { TVec x = TOps.Broadcast(a[9]); c9a = TOps.MultiplyAdd(x, b0, c9a); }
            if (r > 10) { TVec x = TOps.Broadcast(a[10]); c10a = TOps.MultiplyAdd(x, b0, c10a); }
            if (r > 11) { TVec x = TOps.Broadcast(a[11]); c11a = TOps.MultiplyAdd(x, b0, c11a); }
            if (r > 12) { TVec x = TOps.Broadcast(a[12]); c12a = TOps.MultiplyAdd(x, b0, c12a); }
            if (r > 13) { TVec x = TOps.Broadcast(a[13]); c13a = TOps.MultiplyAdd(x, b0, c13a); }
            a += aStride;
            b += bStride;
        }
        if (accumulate)
        {
            { c0a = TOps.Add(c0a, TOps.Load(c)); }
            if (r > 1) { c1a = TOps.Add(c1a, TOps.Load(c + 1 * ldc)); }
            if (r > 2) { c2a = TOps.Add(c2a, TOps.Load(c + 2 * ldc)); }
            if (r > 3) { c3a = TOps.Add(c3a, TOps.Load(c + 3 * ldc)); }
            if (r > 4) { c4a = TOps.Add(c4a, TOps.Load(c + 4 * ldc)); }
            if (r > 5) { c5a = TOps.Add(c5a, TOps.Load(c + 5 * ldc)); }
            if (r > 6) { c6a = TOps.Add(c6a, TOps.Load(c + 6 * ldc)); }
            if (r > 7) { c7a = TOps.Add(c7a, TOps.Load(c + 7 * ldc)); }
            if (r > 8) { c8a = TOps.Add(c8a, TOps.Load(c + 8 * ldc)); }
            if (r > 9) { c9a = TOps.Add(c9a, TOps.Load(c + 9 * ldc)); }
            if (r > 10) { c10a = TOps.Add(c10a, TOps.Load(c + 10 * ldc)); }
            if (r > 11) { c11a = TOps.Add(c11a, TOps.Load(c + 11 * ldc)); }
            if (r > 12) { c12a = TOps.Add(c12a, TOps.Load(c + 12 * ldc)); }
            if (r > 13) { c13a = TOps.Add(c13a, TOps.Load(c + 13 * ldc)); }
        }
        TOps.Store(c0a, c);
        if (r > 1) TOps.Store(c1a, c + 1 * ldc);
        if (r > 2) TOps.Store(c2a, c + 2 * ldc);
        if (r > 3) TOps.Store(c3a, c + 3 * ldc);
        if (r > 4) TOps.Store(c4a, c + 4 * ldc);
        if (r > 5) TOps.Store(c5a, c + 5 * ldc);
        if (r > 6) TOps.Store(c6a, c + 6 * ldc);
        if (r > 7) TOps.Store(c7a, c + 7 * ldc);
        if (r > 8) TOps.Store(c8a, c + 8 * ldc);
        if (r > 9) TOps.Store(c9a, c + 9 * ldc);
        if (r > 10) TOps.Store(c10a, c + 10 * ldc);
        if (r > 11) TOps.Store(c11a, c + 11 * ldc);
        if (r > 12) TOps.Store(c12a, c + 12 * ldc);
        if (r > 13) TOps.Store(c13a, c + 13 * ldc);
    }

    /// <summary>Tile2 for 1..14 rows (the JIT removes the rows a specialisation does not have).</summary>
    internal static void Run2<TVec, TOps>(int rows, nint kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
        => Run2<TVec, TOps, StridedRows, StridedRows>(rows, kc, a, aStride, b, bStride, null, c, ldc, accumulate);

    /// <summary>Run2 with the rows of A and B (k steps) where <typeparamref name="TA"/> and <typeparamref name="TB"/> find them (at most one of them through the offsets).</summary>
    internal static void Run2<TVec, TOps, TA, TB>(int rows, nint kc, float* a, nint aStride, float* b, nint bStride, int* offsets, float* c, nint ldc, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec> where TA : struct, IKSteps where TB : struct, IKSteps
    {
        switch (rows)
        {
            case 14: Tile2<TVec, TOps, R14, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 13: Tile2<TVec, TOps, R13, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 12: Tile2<TVec, TOps, R12, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 11: Tile2<TVec, TOps, R11, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 10: Tile2<TVec, TOps, R10, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 9: Tile2<TVec, TOps, R9, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 8: Tile2<TVec, TOps, R8, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 7: Tile2<TVec, TOps, R7, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 6: Tile2<TVec, TOps, R6, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 5: Tile2<TVec, TOps, R5, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 4: Tile2<TVec, TOps, R4, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 3: Tile2<TVec, TOps, R3, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 2: Tile2<TVec, TOps, R2, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            case 1: Tile2<TVec, TOps, R1, TA, TB>(kc, a, aStride, b, bStride, offsets, c, ldc, accumulate); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows));
        }
    }

    /// <summary>Tile1 for 1..14 rows (the JIT removes the rows a specialisation does not have).</summary>
    internal static void Run1<TVec, TOps>(int rows, nint kc, float* a, nint aStride, float* b, nint bStride, float* c, nint ldc, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        switch (rows)
        {
            case 14: Tile1<TVec, TOps, R14>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 13: Tile1<TVec, TOps, R13>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 12: Tile1<TVec, TOps, R12>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 11: Tile1<TVec, TOps, R11>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 10: Tile1<TVec, TOps, R10>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 9: Tile1<TVec, TOps, R9>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 8: Tile1<TVec, TOps, R8>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 7: Tile1<TVec, TOps, R7>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 6: Tile1<TVec, TOps, R6>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 5: Tile1<TVec, TOps, R5>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 4: Tile1<TVec, TOps, R4>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 3: Tile1<TVec, TOps, R3>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 2: Tile1<TVec, TOps, R2>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            case 1: Tile1<TVec, TOps, R1>(kc, a, aStride, b, bStride, c, ldc, accumulate); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows));
        }
    }
}
