using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Cpu;

/// <summary>
/// A convolution that multiplies straight from its zero-padded input, with no im2col columns (its weights packed once,
/// or for the call in training).
/// With stride 1, on the padded grid (row width wq = InWidth + 2 * Padding) output position q = oy * wq + ox needs,
/// for column row (c, ky, kx), the padded input at c * plane + ky * wq + kx + q: every row of the im2col matrix is the
/// padded input shifted by a constant, so the micro-kernels read B rows through a table of those offsets
/// (<see cref="OffsetRows"/>). A stride s splits the padded input into s x s phases (every s-th row and column from
/// (py, px)); tap (ky, kx) then reads phase (ky % s, kx % s) shifted by (ky / s, kx / s), again one grid for all
/// taps. The grid's last columns of each row are not outputs: they are computed (2 of 58 columns at 56 x 56, 1 of 29
/// for a stride-2 layer on 56 x 56) and never copied out; narrow outputs use position rows instead
/// (<see cref="UsesPositionRows"/>).
/// <para>
/// Each thread takes a band of output rows (or a share of one band's channels): it pads the input rows the band
/// reads, starts its output block at the bias, runs the packed weights' k blocks in order over column chunks, and
/// copies the valid columns to the output (clamping when fused with ReLU). Every output is the sum the im2col product
/// computes, in the same k blocks and order, so the result is bit-identical to it (and does not depend on the thread
/// count). ResNet-18 batch-1 inference (BenchmarkDotNet, two runs of each): 18.32 / 15.34 ms with im2col, 13.59 /
/// 12.20 ms this way.
/// </para>
/// </summary>
internal static unsafe class Conv2dDirect
{
    /// <summary>Grid positions of the output block taken through all k blocks and copied out at a time (64 channels x 512 x 4 bytes = 128 KB stays in L2).</summary>
    private const int ChunkColumns = 512;

    /// <summary>
    /// True for the layers that run here: a SIMD path, a layer whose columns are not its input (a 1x1 stride-1 layer
    /// is a product on the input already), and enough channels and depth (64: ResNet's first 1x1 downsample, 0.22-0.34 ms
    /// through im2col, 0.17-0.18 this way) to fill the micro-kernel's rows and columns.
    /// </summary>
    internal static bool Applies(SimdPath path, in Conv2dGeometry g)
        => path != SimdPath.Scalar && !g.ColumnsAreInput
           && g.OutChannels >= 32 && g.OutChannels <= GemmPacked.MC && g.InChannels * g.Kernel * g.Kernel >= 64
           // the offsets are ints: the padded input (every phase, rounded up by a stride each way) stays well within
           && (long)g.InChannels * (g.InHeight + 2 * g.Padding + 2 * g.Stride) * (g.InWidth + 2 * g.Padding + 2 * g.Stride) < int.MaxValue / 2;

    /// <summary>
    /// True when a layer multiplies with the output positions as the register tile's rows instead of the weights:
    /// the tile is an output row, or an equal part of one (its positions are consecutive on the grid, so the
    /// micro-kernel broadcasts them from the padded input through the offsets), by 2 vectors of output channels (the
    /// weights packed as B). Every tile is then full, where the grid's tiles carry its extra columns and a ragged end:
    /// a 7 x 7 output is 63 grid positions in two 32-wide tiles (49 of 64 columns useful), 14 x 14 is 224 positions
    /// for 196 outputs, 28 x 28 864 for 784. For output rows that split into equal parts the tile's rows can hold (7
    /// to 14 on AVX-512; fewer would leave too few accumulators busy), channels in whole tiles, and a grid that
    /// wastes at least a twentieth of its tiles.
    /// </summary>
    internal static bool UsesPositionRows(SimdPath path, in Conv2dGeometry g)
    {
        if (path == SimdPath.Scalar) return false;
        int mr = GemmPacked.MR(path), nr = 2 * Simd.Width(path);
        int parts = RowParts(g.OutWidth, mr);
        return g.OutWidth % parts == 0 && 2 * (g.OutWidth / parts) >= mr && g.OutChannels % nr == 0 && Filled(g, 1, nr) < 0.95;
    }

    /// <summary>Parts an output row of <paramref name="outW"/> positions is split into for tiles of at most <paramref name="mr"/> rows.</summary>
    private static int RowParts(int outW, int mr) => (outW + mr - 1) / mr;

    /// <summary>
    /// How <paramref name="threads"/> threads share a sample: <paramref name="bands"/> bands of output rows, each
    /// split into <paramref name="channelParts"/> parts of whole weight panels. One band per thread keeps each core
    /// on its own rows from layer to layer; one band split by channels instead when the bands' ragged last column
    /// tiles would waste a tenth more of the multiplies (14 x 14 in two bands of 7 x 16 grid positions: 112 of 128
    /// columns; whole: 224 of 224), or, with position rows (<see cref="UsesPositionRows"/>), when the rows do not
    /// split evenly (7 rows: 4 + 3).
    /// </summary>
    internal static void Plan(SimdPath path, in Conv2dGeometry g, int threads, out int bands, out int channelParts)
    {
        int nr = 2 * Simd.Width(path);
        bands = Math.Max(1, Math.Min(threads, g.OutHeight));
        channelParts = 1;
        bool split = UsesPositionRows(path, g) ? g.OutHeight % bands != 0 : Filled(g, bands, nr) < Filled(g, 1, nr) - 0.1;
        if (bands == 1 || split)
        {
            bands = 1;
            channelParts = threads;
        }
    }

    /// <summary>The share of the column tiles holding outputs when the rows are split into <paramref name="bands"/> bands (the smallest band's).</summary>
    private static double Filled(in Conv2dGeometry g, int bands, int nr)
    {
        int rows = g.OutHeight / bands, wq = GridWidth(g);
        return rows * g.OutWidth / (double)((rows * wq + nr - 1) / nr * nr);
    }

    internal static void Forward(SimdPath path, float* y, float* x, float* weight, float* bias, int batch, in Conv2dGeometry g,
        PackedMatrix packed, bool relu)
    {
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        bool positionRows = UsesPositionRows(path, g);
        int panels, panelWidth;
        if (positionRows)
        {
            packed.PrepareB(path, weight, columnRows, transB: true, g.OutChannels, columnRows);
            panelWidth = 2 * Simd.Width(path);
        }
        else
        {
            packed.Prepare(path, weight, columnRows, g.OutChannels, columnRows);
            panelWidth = packed.PanelRows;
        }
        panels = (g.OutChannels + panelWidth - 1) / panelWidth;
        Plan(path, g, WorkerPool.ThreadCount, out int bands, out int channelParts);
        channelParts = Math.Min(channelParts, panels);
        for (int n = 0; n < batch; n++)
        {
            WorkerPool.For(bands * channelParts, new Band
            {
                Path = path, G = g, Bands = bands, ChannelParts = channelParts, Panels = panels, PanelWidth = panelWidth,
                PositionRows = positionRows, Relu = relu, Packed = packed,
                Output = y + (long)n * g.OutputSize, Input = x + (long)n * g.InputSize, Bias = bias,
            });
        }
    }

    private struct Band : IParallelBody
    {
        public SimdPath Path;
        public Conv2dGeometry G;
        public int Bands, ChannelParts, Panels, PanelWidth;
        public bool PositionRows, Relu;
        public PackedMatrix Packed;
        public float* Output, Input, Bias;

        public readonly void Invoke(int index)
        {
            int band = index / ChannelParts, part = index % ChannelParts;
            int oy0 = (int)((long)G.OutHeight * band / Bands), oy1 = (int)((long)G.OutHeight * (band + 1) / Bands);
            int oc0 = Math.Min(G.OutChannels, (int)((long)Panels * part / ChannelParts) * PanelWidth);
            int oc1 = Math.Min(G.OutChannels, (int)((long)Panels * (part + 1) / ChannelParts) * PanelWidth);
            switch (Path)
            {
                case SimdPath.Vector512: Run<Vector512<float>, Vector512Ops>(oy0, oy1, oc0, oc1); break;
                case SimdPath.Vector256: Run<Vector256<float>, Vector256Ops>(oy0, oy1, oc0, oc1); break;
                default: Run<Vector128<float>, Vector128Ops>(oy0, oy1, oc0, oc1); break;
            }
        }

        private readonly void Run<TVec, TOps>(int oy0, int oy1, int oc0, int oc1) where TVec : struct where TOps : struct, IVectorOps<TVec>
        {
            if (PositionRows) Positions<TVec, TOps>(G, Output, Input, Bias, Packed, oy0, oy1, oc0, oc1, Relu);
            else Rows<TVec, TOps>(G, Output, Input, Bias, Packed, oy0, oy1, oc0, oc1, Relu);
        }
    }

    /// <summary>This thread's buffers (native, grown on demand, kept): the padded input rows, the output block, the row offsets.</summary>
    [ThreadStatic] private static float* t_input, t_block;
    [ThreadStatic] private static int* t_offsets;
    [ThreadStatic] private static long t_inputCapacity, t_blockCapacity, t_offsetsCapacity;

    private static T* Buffer<T>(ref T* buffer, ref long capacity, long count) where T : unmanaged
    {
        if (count > capacity)
        {
            if (buffer != null) NativeMemory.AlignedFree(buffer);
            buffer = (T*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(T)), 64);
            capacity = count;
        }
        return buffer;
    }

    /// <summary>Output rows [oy0, oy1) of channels [oc0, oc1) (whole weight panels) of one sample.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TVec, TOps>(in Conv2dGeometry g, float* y, float* x, float* bias, PackedMatrix packed, int oy0, int oy1, int oc0, int oc1, bool relu)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int outC = g.OutChannels, nr = 2 * TOps.Count;
        int rows = oy1 - oy0, wq = GridWidth(g), outW = g.OutWidth, outHW = g.OutHeight * outW;
        int width = (rows * wq + nr - 1) / nr * nr;   // the band's grid positions in whole tiles
        int chunk = Math.Min(width, ChunkColumns);    // a multiple of nr
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        float* xp = BandInput(g, x, oy0, oy1, nr, out int* offsets);
        float* block = Buffer(ref t_block, ref t_blockCapacity, (long)(oc1 - oc0) * chunk) - (long)oc0 * chunk;   // rows oc0.. of [outC, chunk]

        int kcMax = GemmPacked.KBlock(columnRows), panelRows = packed.PanelRows;
        for (int jc = 0; jc < width; jc += chunk)
        {
            // one chunk of grid positions at a time, from the bias to the copy out, so its block stays in L2 (ResNet's
            // stem has 64 x 6,440 positions per band: 1.6 MB written, added to and read back through memory otherwise)
            int nc = Math.Min(chunk, width - jc);
            if (bias != null)
                for (int oc = oc0; oc < oc1; oc++) new Span<float>(block + (long)oc * chunk, nc).Fill(bias[oc]);
            for (int pc = 0; pc < columnRows; pc += kcMax)
            {
                int kc = Math.Min(kcMax, columnRows - pc);
                bool accumulate = bias != null || pc > 0;
                float* a = packed.Data + (nint)pc * outC;
                for (int ir = oc0; ir < oc1; ir += panelRows)
                {
                    int r = Math.Min(panelRows, outC - ir);
                    float* ap = a + (nint)ir * kc;
                    float* c = block + (long)ir * chunk;
                    for (int jr = 0; jr < nc; jr += nr)
                        GemmKernels.Run2<TVec, TOps, StridedRows, OffsetRows>(r, kc, ap, r, xp + jc + jr, 0, offsets + pc, c + jr, chunk, accumulate);
                }
            }
            // the chunk's positions that are outputs: the first outW of each grid row of the band
            for (int row = jc / wq; row < rows && row * wq < jc + nc; row++)
            {
                int lo = Math.Max(jc, row * wq), hi = Math.Min(jc + nc, row * wq + outW);
                if (lo >= hi) continue;
                float* dst = y + (long)(oy0 + row) * outW + (lo - row * wq);
                for (int oc = oc0; oc < oc1; oc++)
                    CopyRun<TVec, TOps>(dst + (long)oc * outHW, block + (long)oc * chunk + (lo - jc), hi - lo, relu);
            }
        }
    }

    /// <summary>
    /// This thread's padded input for output rows [oy0, oy1) (<see cref="PadPhases"/>, zeros past its end for the
    /// last tile's reads) and the offset of every column row (c, ky, kx) in it.
    /// </summary>
    private static float* BandInput(in Conv2dGeometry g, float* x, int oy0, int oy1, int nr, out int* offsets)
    {
        int k = g.Kernel, stride = g.Stride, inC = g.InChannels;
        int wq = GridWidth(g), phases = Math.Min(stride, k);
        int inRows = oy1 - oy0 + (k - 1) / stride, plane = inRows * wq;   // one phase plane of the band
        // the last grid tile reads up to nr - 1 positions past the grid, the last row offset (k - 1) / stride past its row
        long inputFloats = (long)inC * phases * phases * plane;
        float* xp = Buffer(ref t_input, ref t_inputCapacity, inputFloats + nr + k);
        offsets = Buffer(ref t_offsets, ref t_offsetsCapacity, inC * k * k);
        PadPhases(g, x, xp, oy0, inRows, wq, phases);
        new Span<float>(xp + inputFloats, nr + k).Clear();
        // tap (c, ky, kx) at ((c * phases + ky % stride) * phases + kx % stride) * plane + ky / stride * wq + kx / stride,
        // the divisions done once per ky and kx, not per tap (4608 taps at 512 channels)
        int* rowShift = stackalloc int[k], columnShift = stackalloc int[k];
        for (int i = 0; i < k; i++)
        {
            rowShift[i] = i % stride * phases * plane + i / stride * wq;
            columnShift[i] = i % stride * plane + i / stride;
        }
        int q = 0;
        for (int c = 0; c < inC; c++)
        {
            int channel = c * phases * phases * plane;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                    offsets[q++] = channel + rowShift[ky] + columnShift[kx];
        }
        return xp;
    }

    /// <summary>
    /// Output rows [oy0, oy1) of channels [oc0, oc1) (whole column panels of the packed W^T) of one sample, with
    /// position rows (<see cref="UsesPositionRows"/>): t[position, channel] = bias, t += the positions' columns times
    /// W^T tile by tile (a part of an output row by one panel), then y[channel, position] = t[position, channel].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Positions<TVec, TOps>(in Conv2dGeometry g, float* y, float* x, float* bias, PackedMatrix packed,
        int oy0, int oy1, int oc0, int oc1, bool relu)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int nr = 2 * TOps.Count, outW = g.OutWidth, outHW = g.OutHeight * outW, wq = GridWidth(g);
        int rows = oy1 - oy0, count = rows * outW, channels = oc1 - oc0;
        int tileRows = outW / RowParts(outW, GemmPacked.MR<TOps>());
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        float* xp = BandInput(g, x, oy0, oy1, nr, out int* offsets);
        float* t = Buffer(ref t_block, ref t_blockCapacity, (long)count * channels);   // [count, channels]
        if (bias != null)
            for (int i = 0; i < count; i++) new ReadOnlySpan<float>(bias + oc0, channels).CopyTo(new Span<float>(t + (long)i * channels, channels));

        int kcMax = GemmPacked.KBlock(columnRows);
        for (int pc = 0; pc < columnRows; pc += kcMax)
        {
            int kc = Math.Min(kcMax, columnRows - pc);
            bool accumulate = bias != null || pc > 0;
            for (int jr = oc0; jr < oc1; jr += nr)
            {
                float* bp = packed.Data + (nint)pc * packed.Width + (nint)jr * kc;   // this k block's panel of W^T
                for (int r = 0; r < rows; r++)
                    for (int ox = 0; ox < outW; ox += tileRows)
                        GemmKernels.Run2<TVec, TOps, OffsetRows, StridedRows>(tileRows, kc, xp + r * wq + ox, 0, bp, nr, offsets + pc,
                            t + ((long)r * outW + ox) * channels + (jr - oc0), channels, accumulate);
            }
        }
        TransposeOut(y + (long)oc0 * outHW + oy0 * outW, outHW, t, count, channels, relu);
    }

    /// <summary>
    /// y[c * ldy + i] = t[i * channels + c] for i &lt; count, c &lt; channels (clamped as ReluForward does when
    /// <paramref name="relu"/>): 8 x 8 blocks transposed in AVX registers (channels come in whole tiles, so in
    /// eights); the last positions (fewer than 8, or all of them without AVX) one float at a time, 16 positions per
    /// pass so their rows of t stay in L1.
    /// </summary>
    private static void TransposeOut(float* y, int ldy, float* t, int count, int channels, bool relu)
    {
        int i0 = 0;
        if (Avx.IsSupported && channels % 8 == 0)
        {
            for (; i0 + 8 <= count; i0 += 8)
                for (int c0 = 0; c0 < channels; c0 += 8)
                    Transpose8x8(t + (long)i0 * channels + c0, channels, y + (long)c0 * ldy + i0, ldy, relu);
        }
        for (; i0 < count; i0 += 16)
        {
            int n = Math.Min(16, count - i0);
            for (int c = 0; c < channels; c++)
            {
                float* dst = y + (long)c * ldy + i0, src = t + (long)i0 * channels + c;
                if (relu) for (int i = 0; i < n; i++) { float v = src[(long)i * channels]; dst[i] = v > 0f ? v : 0f; }
                else for (int i = 0; i < n; i++) dst[i] = src[(long)i * channels];
            }
        }
    }

    /// <summary>dst[j * ldd + i] = src[i * lds + j] for i, j &lt; 8 (clamped when <paramref name="relu"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, int lds, float* dst, int ldd, bool relu)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + lds);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * lds), r3 = Avx.LoadVector256(src + 3 * lds);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * lds), r5 = Avx.LoadVector256(src + 5 * lds);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * lds), r7 = Avx.LoadVector256(src + 7 * lds);
        // pairs of rows interleaved, then quadruples, then the 128-bit halves exchanged
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Store8(dst, Avx.Permute2x128(s0, s4, 0x20), relu);
        Store8(dst + ldd, Avx.Permute2x128(s1, s5, 0x20), relu);
        Store8(dst + 2 * ldd, Avx.Permute2x128(s2, s6, 0x20), relu);
        Store8(dst + 3 * ldd, Avx.Permute2x128(s3, s7, 0x20), relu);
        Store8(dst + 4 * ldd, Avx.Permute2x128(s0, s4, 0x31), relu);
        Store8(dst + 5 * ldd, Avx.Permute2x128(s1, s5, 0x31), relu);
        Store8(dst + 6 * ldd, Avx.Permute2x128(s2, s6, 0x31), relu);
        Store8(dst + 7 * ldd, Avx.Permute2x128(s3, s7, 0x31), relu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store8(float* dst, Vector256<float> v, bool relu)
        => Avx.Store(dst, relu ? Avx.BlendVariable(Vector256<float>.Zero, v, Avx.CompareGreaterThan(v, Vector256<float>.Zero)) : v);

    /// <summary>
    /// dst[i] = src[i] for i &lt; count, or clamped as
    /// <see cref="Activations.ReluForward(System.Span{float}, System.ReadOnlySpan{float})"/> does (x &gt; 0 ? x : +0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun<TVec, TOps>(float* dst, float* src, int count, bool relu)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec v = TOps.Load(src + i);
            TOps.Store(relu ? TOps.Select(TOps.GreaterThan(v, TOps.Zero), v, TOps.Zero) : v, dst + i);
        }
        for (; i < count; i++) dst[i] = relu ? (src[i] > 0f ? src[i] : 0f) : src[i];
    }

    /// <summary>
    /// Columns of the output grid: the padded width in steps of the stride, and at least the output width plus the
    /// kernel's reach in steps ((k - 1) / stride), so every tap of every output lies in its grid row.
    /// </summary>
    internal static int GridWidth(in Conv2dGeometry g)
        => Math.Max((g.InWidth + 2 * g.Padding + g.Stride - 1) / g.Stride, g.OutWidth + (g.Kernel - 1) / g.Stride);

    /// <summary>
    /// The zero-padded input rows a band of output rows from <paramref name="oy0"/> reads, split by stride phase:
    /// channel c, phase (py, px) at ((c * phases + py) * phases + px) * count * wq holds, at [i * wq + j], the padded
    /// input at row stride * (oy0 + i) + py, column stride * j + px (zero outside the image). With stride 1 that is the
    /// padded rows themselves; with stride 2 a 3 x 3 tap (ky, kx) reads phase (ky % 2, kx % 2) shifted by
    /// (ky / 2, kx / 2), so every tap is again a constant shift of one grid.
    /// </summary>
    private static void PadPhases(in Conv2dGeometry g, float* x, float* dst, int oy0, int count, int wq, int phases)
    {
        int pad = g.Padding, inW = g.InWidth, inH = g.InHeight, stride = g.Stride;
        if (stride == 2 && phases == 2 && Avx2.IsSupported && 2 * wq + 16 <= MaxSplitRow && pad + inW <= 2 * wq)
        {
            PadTwoPhases(g, x, dst, oy0, count, wq);
            return;
        }
        for (int c = 0; c < g.InChannels; c++)
        {
            float* image = x + (long)c * inH * inW;
            for (int py = 0; py < phases; py++)
                for (int px = 0; px < phases; px++)
                {
                    float* phase = dst + (((long)c * phases + py) * phases + px) * count * wq;
                    // grid columns [j0, j1) fall inside the image: stride * j + px - pad in [0, inW)
                    int j0 = Math.Min(wq, Math.Max(0, (pad - px + stride - 1) / stride));
                    int j1 = Math.Max(j0, Math.Min(wq, (inW + pad - px + stride - 1) / stride));
                    for (int i = 0; i < count; i++)
                    {
                        float* row = phase + (long)i * wq;
                        int iy = stride * (oy0 + i) + py - pad;
                        if (iy < 0 || iy >= inH)
                        {
                            new Span<float>(row, wq).Clear();
                            continue;
                        }
                        new Span<float>(row, j0).Clear();
                        new Span<float>(row + j1, wq - j1).Clear();
                        float* src = image + (long)iy * inW + (stride * j0 + px - pad);
                        if (stride == 1) System.Buffer.MemoryCopy(src, row + j0, (j1 - j0) * sizeof(float), (j1 - j0) * sizeof(float));
                        else for (int j = j0; j < j1; j++) row[j] = src[(j - j0) * stride];
                    }
                }
        }
    }

    /// <summary>Longest padded row (floats) <see cref="PadTwoPhases"/> splits on the stack.</summary>
    private const int MaxSplitRow = 4096;

    /// <summary>
    /// <see cref="PadPhases"/> for stride 2 (four phases): each padded input row is built once on the stack and split
    /// into its even and odd columns eight at a time (two AVX shuffles and two lane permutes), instead of one strided
    /// read per float (ResNet's stem: 3 x 230 x 230 padded floats per image).
    /// </summary>
    private static void PadTwoPhases(in Conv2dGeometry g, float* x, float* dst, int oy0, int count, int wq)
    {
        int pad = g.Padding, inW = g.InWidth, inH = g.InHeight;
        float* padded = stackalloc float[2 * wq + 16];
        new Span<float>(padded, 2 * wq + 16).Clear();   // the columns left and right of the image stay zero
        long planeFloats = (long)count * wq;
        for (int c = 0; c < g.InChannels; c++)
        {
            float* image = x + (long)c * inH * inW;
            for (int py = 0; py < 2; py++)
            {
                float* even = dst + ((long)c * 2 + py) * 2 * planeFloats, odd = even + planeFloats;   // phases (py, 0), (py, 1)
                for (int i = 0; i < count; i++)
                {
                    float* e = even + (long)i * wq, o = odd + (long)i * wq;
                    int iy = 2 * (oy0 + i) + py - pad;
                    if (iy < 0 || iy >= inH)
                    {
                        new Span<float>(e, wq).Clear();
                        new Span<float>(o, wq).Clear();
                        continue;
                    }
                    System.Buffer.MemoryCopy(image + (long)iy * inW, padded + pad, inW * sizeof(float), inW * sizeof(float));
                    int j = 0;
                    for (; j + 8 <= wq; j += 8)
                    {
                        Vector256<float> a = Avx.LoadVector256(padded + 2 * j), b = Avx.LoadVector256(padded + 2 * j + 8);
                        // per 128-bit lane [a0 a2 b0 b2 | a4 a6 b4 b6], then the 64-bit pairs reordered to a0 a2 a4 a6 b0 b2 b4 b6
                        Avx.Store(e + j, Avx2.Permute4x64(Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle());
                        Avx.Store(o + j, Avx2.Permute4x64(Avx.Shuffle(a, b, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle());
                    }
                    for (; j < wq; j++) { e[j] = padded[2 * j]; o[j] = padded[2 * j + 1]; }
                }
            }
        }
    }
}
