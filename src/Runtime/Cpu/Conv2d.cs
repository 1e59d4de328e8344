using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Cpu;

/// <summary>
/// Shape of a 2-d convolution: square kernel, stride, symmetric zero padding, NCHW tensors,
/// weight [OutChannels, InChannels, Kernel, Kernel]. Sizes are per sample.
/// </summary>
public readonly record struct Conv2dGeometry(int InChannels, int InHeight, int InWidth, int OutChannels, int Kernel, int Stride, int Padding)
{
    public int OutHeight => (InHeight + 2 * Padding - Kernel) / Stride + 1;
    public int OutWidth => (InWidth + 2 * Padding - Kernel) / Stride + 1;
    /// <summary>InChannels * InHeight * InWidth.</summary>
    public int InputSize => InChannels * InHeight * InWidth;
    /// <summary>OutChannels * OutHeight * OutWidth.</summary>
    public int OutputSize => OutChannels * OutHeight * OutWidth;
    /// <summary>Floats of the im2col matrix [InChannels * Kernel * Kernel, OutHeight * OutWidth]: the scratch a kernel needs.</summary>
    public int ColumnSize => InChannels * Kernel * Kernel * OutHeight * OutWidth;
    /// <summary>OutChannels * InChannels * Kernel * Kernel.</summary>
    public int WeightSize => OutChannels * InChannels * Kernel * Kernel;

    /// <summary>Only the defining values, so an invalid geometry (stride 0) still prints.</summary>
    public override string ToString()
        => $"Conv2dGeometry {{ InChannels = {InChannels}, InHeight = {InHeight}, InWidth = {InWidth}, OutChannels = {OutChannels}, Kernel = {Kernel}, Stride = {Stride}, Padding = {Padding} }}";

    /// <summary>1x1 kernel, stride 1, no padding: the input already is its im2col matrix.</summary>
    internal bool IsPointwise => Kernel == 1 && Stride == 1 && Padding == 0;

    /// <summary>
    /// The im2col matrix is the input itself, so no columns are built: a pointwise layer ([inC, H*W]), or a kernel
    /// exactly as large as the unpadded input (LeNet-5's C5), whose single output position sees the whole image
    /// ([inC*k*k, 1], the input in its own order).
    /// </summary>
    internal bool ColumnsAreInput => IsPointwise || (Padding == 0 && Kernel == InHeight && Kernel == InWidth);

    /// <summary>
    /// One output position that sees the whole (unpadded) input: a fully connected layer over the flattened input
    /// (LeNet-5's C5), so the whole batch is one product instead of one matrix-vector product per sample.
    /// </summary>
    internal bool IsFullyConnected => ColumnsAreInput && OutHeight == 1 && OutWidth == 1;

    internal void Validate()
    {
        if (InChannels <= 0 || InHeight <= 0 || InWidth <= 0 || OutChannels <= 0 || Kernel <= 0 || Stride <= 0 || Padding < 0)
            throw new ArgumentException($"Invalid convolution geometry {this}: channels, sizes, kernel and stride must be positive and padding non-negative.", "g");
        if (InHeight + 2 * Padding < Kernel || InWidth + 2 * Padding < Kernel)
            throw new ArgumentException($"Invalid convolution geometry {this}: the {Kernel}x{Kernel} kernel is larger than the padded input.", "g");
    }
}

/// <summary>
/// 2-d convolution (cross-correlation, like PyTorch) by im2col + Gemm, using a caller-provided
/// scratch buffer of at least <see cref="Conv2dGeometry.ColumnSize"/> floats.
/// <para>
/// Large layers run one sample at a time, each product spread over the <see cref="WorkerPool"/>.
/// Small layers (see <see cref="RunsSamplesInParallel"/>), whose products are too small to split,
/// run the batch as <see cref="SampleChunks"/> chunks of consecutive samples in parallel instead,
/// each chunk with its own columns from a per-calling-thread workspace (allocated on first use,
/// reused after). Forward and backward-data results are the same either way (each sample is computed
/// alone). Weight gradients of a small layer are summed per chunk and the chunk sums added in chunk
/// order, so the result does not depend on the number of threads either; the split depends on the
/// batch size and the layer only.
/// </para>
/// <para>
/// The forward pass of most larger layers on the SIMD paths builds no columns at all: <see cref="Conv2dDirect"/>
/// multiplies straight from the zero-padded input, bit-identical to im2col + Gemm (with packed weights, or without
/// them where the layer's columns outweigh its weights, as in training).
/// </para>
/// </summary>
public static unsafe class Conv2d
{
    /// <summary>How many chunks a small layer's batch is split into (fixed, so results do not depend on the thread count).</summary>
    internal const int SampleChunks = 8;
    /// <summary>A layer is small when one chunk's workspace (columns, plus weight and bias partial sums) is at most this many floats.</summary>
    internal const int SmallLayerFloats = 1 << 18;

    /// <summary>True when the batch runs as parallel chunks of samples rather than one sample at a time with parallel products.</summary>
    internal static bool RunsSamplesInParallel(int batch, in Conv2dGeometry g)
        => batch >= 2 && ChunkFloats(g) <= SmallLayerFloats
           && 2.0 * g.OutChannels * g.OutHeight * g.OutWidth * g.InChannels * g.Kernel * g.Kernel < 4.0 * Gemm.ParallelFlops;

    /// <summary>Workspace floats of one chunk: columns, then weight and bias partial sums.</summary>
    private static long ChunkFloats(in Conv2dGeometry g) => (long)g.ColumnSize + g.WeightSize + g.OutChannels;

    [ThreadStatic] private static float[]? t_workspace;

    /// <summary>The calling thread's workspace for <paramref name="chunks"/> chunks (pinned; grows, never shrinks).</summary>
    private static float[] Workspace(int chunks, in Conv2dGeometry g) => Workspace(chunks * ChunkFloats(g));

    private static float[] Workspace(long floats)
    {
        float[]? workspace = t_workspace;
        if (workspace == null || workspace.Length < floats)
            t_workspace = workspace = GC.AllocateUninitializedArray<float>((int)floats, pinned: true);
        return workspace;
    }

    /// <summary>Samples [start, end) of chunk <paramref name="chunk"/> when <paramref name="batch"/> samples are split into <paramref name="chunks"/>.</summary>
    private static void ChunkRange(int chunk, int chunks, int batch, out int start, out int end)
    {
        start = (int)((long)chunk * batch / chunks);
        end = (int)((long)(chunk + 1) * batch / chunks);
    }

    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int batch, in Conv2dGeometry g, Span<float> scratch)
        => Forward(Simd.Best, output, input, weight, bias, batch, g, scratch);

    /// <summary>
    /// <see cref="Forward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, in Conv2dGeometry, Span{float})"/>
    /// with the weights packed once into <paramref name="packedWeight"/> and reused until it is invalidated (inference
    /// weights that stay the same between calls); the result is bit-identical. With <paramref name="relu"/> the output
    /// is clamped in place as <see cref="Activations.ReluForward(Span{float}, ReadOnlySpan{float})"/> does, block by
    /// block while it is still in cache (a folded convolution + BatchNorm + ReLU in inference).
    /// </summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int batch, in Conv2dGeometry g, Span<float> scratch, PackedMatrix? packedWeight, bool relu = false)
        => Forward(Simd.Best, output, input, weight, bias, batch, g, scratch, packedWeight, relu);

    internal static void Forward(SimdPath path,
        Span<float> output /*[batch, outC, outH, outW]*/, ReadOnlySpan<float> input /*[batch, inC, inH, inW]*/,
        ReadOnlySpan<float> weight /*[outC, inC, k, k]*/, ReadOnlySpan<float> bias /*[outC] or empty*/,
        int batch, in Conv2dGeometry g, Span<float> scratch /*[inC*k*k, outH*outW]*/, PackedMatrix? packedWeight = null, bool relu = false)
    {
        CheckCommon(batch, g, scratch, output.Length, nameof(output), input.Length, nameof(input), weight.Length);
        Guard.EmptyOrAtLeast(bias.Length, g.OutChannels, nameof(bias));
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        if (g.IsFullyConnected)
        {
            // y[batch, outC] (+)= x[batch, inC*k*k] W^T: the layout of a Dense layer's output
            Dense.Forward(path, output, input, weight, bias, batch, columnRows, g.OutChannels);
            if (relu) Activations.ReluForward(path, output.Slice(0, batch * g.OutChannels), output.Slice(0, batch * g.OutChannels));
            return;
        }
        if (Conv2dDirect.Applies(path, g) && !RunsSamplesInParallel(batch, g)
            && (packedWeight != null || 4L * g.WeightSize <= (long)batch * g.ColumnSize))
        {
            // without packed weights (training: they change every step) only where packing them for this call costs
            // little against the columns it saves building (not ResNet's 512-channel layers at batch 8)
            PackedMatrix packed = packedWeight ?? TransientPacked();
            if (packedWeight == null) packed.Invalidate();
            fixed (float* y = output, x = input, w = weight, b = bias)
                Conv2dDirect.Forward(path, y, x, w, bias.Length != 0 ? b : null, batch, g, packed, relu);
            return;
        }
        fixed (float* w = weight)
        {
            // packed here, on the calling thread, before any (parallel) product reads it; the products below see the
            // same address only while this method runs, which is when they use it
            if (packedWeight != null)
            {
                if (UsesTransposedProduct(path, g)) packedWeight.PrepareB(path, w, columnRows, transB: true, g.OutChannels, columnRows);
                else packedWeight.Prepare(path, w, columnRows, g.OutChannels, columnRows);
            }
            if (!RunsSamplesInParallel(batch, g))
            {
                if (UsesRowBlocks(g, out int rowsPerBlock))
                    ForwardRowBlocks(path, output, input, weight, bias, batch, g, rowsPerBlock, packedWeight, relu);
                else
                    ForwardSamples(path, output, input, weight, bias, batch, g, scratch, WorkerPool.ThreadCount, packedWeight, relu);
                return;
            }
            int chunks = Math.Min(batch, SampleChunks);
            fixed (float* y = output, x = input, b = bias, work = Workspace(chunks, g))
            {
                WorkerPool.For(chunks, new ForwardChunk
                {
                    Path = path, G = g, Batch = batch, Chunks = chunks, HasBias = bias.Length != 0,
                    Output = y, Input = x, Weight = w, Bias = b, Workspace = work, PackedWeight = packedWeight, Relu = relu,
                });
            }
        }
    }

    [ThreadStatic] private static PackedMatrix? t_transientPacked;

    /// <summary>This thread's matrix for weights packed for one call only (invalidated before each use).</summary>
    private static PackedMatrix TransientPacked() => t_transientPacked ??= new PackedMatrix();

    private struct ForwardChunk : IParallelBody
    {
        public SimdPath Path;
        public Conv2dGeometry G;
        public int Batch, Chunks;
        public bool HasBias, Relu;
        public float* Output, Input, Weight, Bias, Workspace;
        public PackedMatrix? PackedWeight;

        public readonly void Invoke(int chunk)
        {
            ChunkRange(chunk, Chunks, Batch, out int start, out int end);
            int count = end - start;
            ForwardSamples(Path,
                new Span<float>(Output + (long)start * G.OutputSize, count * G.OutputSize),
                new ReadOnlySpan<float>(Input + (long)start * G.InputSize, count * G.InputSize),
                new ReadOnlySpan<float>(Weight, G.WeightSize),
                HasBias ? new ReadOnlySpan<float>(Bias, G.OutChannels) : default,
                count, G, new Span<float>(Workspace + chunk * ChunkFloats(G), G.ColumnSize), threads: 1, PackedWeight, Relu);
        }
    }

    /// <summary>Column floats of one row block: at most this many (512 KB), so a block stays in L2 between im2col and the product.</summary>
    internal const int RowBlockFloats = 1 << 17;

    /// <summary>
    /// True for a layer whose columns are larger than a cache (over a row block's worth): its forward pass then
    /// runs in blocks of at most <paramref name="rowsPerBlock"/> output rows, each block's im2col and product together,
    /// the blocks spread over the worker pool. Writing the whole im2col matrix first (7 MB for a 3x3 layer on 64x56x56)
    /// and reading it back made im2col cost as much as the product; and building the columns on one core and
    /// multiplying them on another moved them between the cores (ResNet-18's 28x28 and 14x14 layers ran slower on
    /// two threads than on one that way).
    /// </summary>
    internal static bool UsesRowBlocks(in Conv2dGeometry g, out int rowsPerBlock)
    {
        long rowFloats = (long)g.InChannels * g.Kernel * g.Kernel * g.OutWidth;   // columns of one output row
        rowsPerBlock = (int)Math.Max(1, RowBlockFloats / rowFloats);
        return !g.ColumnsAreInput && g.ColumnSize > RowBlockFloats
            && rowsPerBlock < g.OutHeight && (long)rowsPerBlock * g.OutWidth >= 64;
    }

    /// <summary>Every sample, output rows in blocks: block b of B = ceil(outH / rowsPerBlock) covers rows [b*outH/B, (b+1)*outH/B).</summary>
    private static void ForwardRowBlocks(SimdPath path, Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int batch, in Conv2dGeometry g, int rowsPerBlock, PackedMatrix? packedWeight, bool relu)
    {
        int threads = WorkerPool.ThreadCount;
        int blocks = (g.OutHeight + rowsPerBlock - 1) / rowsPerBlock;
        // a multiple of the thread count (28 rows: 8 blocks of 3-4 rows, not 7 of 4 split 3 + 4 between two threads),
        // as long as every block keeps at least 64 columns: the packed kernels then compute each output exactly as
        // with any other split, so the result still does not depend on the thread count
        int even = (blocks + threads - 1) / threads * threads;
        if (even <= g.OutHeight && g.OutHeight / even * g.OutWidth >= 64) blocks = even;
        // one run of consecutive blocks per thread, not many small chunks handed out as threads come free: the pool
        // gives chunk 0 to the calling thread and chunk 1 to the worker, so each core keeps the same rows from layer
        // to layer and reads its own output back (ResNet-18 b1 inference -8%, A/B); every block is computed the same
        // either way
        int chunks = Math.Min(blocks, threads);
        long slot = (long)g.InChannels * g.Kernel * g.Kernel * rowsPerBlock * g.OutWidth;
        float[] workspace = Workspace(chunks * slot);
        int outHW = g.OutHeight * g.OutWidth;
        bool hasBias = bias.Length != 0;
        fixed (float* y = output, x = input, w = weight, b = bias, work = workspace)
        {
            for (int n = 0; n < batch; n++)
            {
                float* yn = y + (long)n * g.OutputSize;
                WorkerPool.For(chunks, new ForwardRowChunk
                {
                    Path = path, G = g, Blocks = blocks, Chunks = chunks, RowsPerBlock = rowsPerBlock, Slot = slot, Accumulate = hasBias,
                    Output = yn, Input = x + (long)n * g.InputSize, Weight = w, Bias = b, Workspace = work, PackedWeight = packedWeight, Relu = relu,
                });
            }
        }
    }

    private struct ForwardRowChunk : IParallelBody
    {
        public SimdPath Path;
        public Conv2dGeometry G;
        public int Blocks, Chunks, RowsPerBlock;
        public long Slot;
        public bool Accumulate, Relu;   // Accumulate: there is a bias, written first
        public float* Output, Input, Weight, Bias, Workspace;
        public PackedMatrix? PackedWeight;

        public readonly void Invoke(int chunk)
        {
            ChunkRange(chunk, Chunks, Blocks, out int first, out int last);
            int columnRows = G.InChannels * G.Kernel * G.Kernel, outHW = G.OutHeight * G.OutWidth;
            float* col = Workspace + chunk * Slot;
            for (int block = first; block < last; block++)
            {
                // balanced blocks (14 rows in 4 blocks: 3, 4, 3, 4), none longer than RowsPerBlock
                int oy0 = (int)((long)block * G.OutHeight / Blocks), oy1 = (int)((long)(block + 1) * G.OutHeight / Blocks);
                int columns = (oy1 - oy0) * G.OutWidth;
                Im2ColRows(col, Input, G, oy0, oy1, 0, G.InChannels);
                if (Accumulate)
                {
                    // the block's rows of every channel start at its bias (here, in parallel and while in cache)
                    for (int oc = 0; oc < G.OutChannels; oc++) new Span<float>(Output + (long)oc * outHW + oy0 * G.OutWidth, columns).Fill(Bias[oc]);
                }
                // y[outC, block columns] (+)= weight[outC, inC*k*k] * col[inC*k*k, block columns], written in place (ldc = outH*outW)
                Gemm.Multiply(Path, false, false, G.OutChannels, columns, columnRows,
                    new ReadOnlySpan<float>(Weight, G.WeightSize), columnRows,
                    new ReadOnlySpan<float>(col, columnRows * columns), columns,
                    new Span<float>(Output + oy0 * G.OutWidth, (G.OutChannels - 1) * outHW + columns), outHW,
                    Accumulate, threads: 1, PackedWeight);
                if (Relu)
                {
                    for (int oc = 0; oc < G.OutChannels; oc++)
                    {
                        var rows = new Span<float>(Output + (long)oc * outHW + oy0 * G.OutWidth, columns);
                        Activations.ReluForward(Path, rows, rows);
                    }
                }
            }
        }
    }

    /// <summary>The samples one after the other, each product on at most <paramref name="threads"/> threads.</summary>
    private static void ForwardSamples(SimdPath path, Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int batch, in Conv2dGeometry g, Span<float> scratch, int threads, PackedMatrix? packedWeight = null, bool relu = false)
    {
        int outHW = g.OutHeight * g.OutWidth;
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        bool hasBias = bias.Length != 0;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> x = input.Slice(n * g.InputSize, g.InputSize);
            Span<float> y = output.Slice(n * g.OutputSize, g.OutputSize);
            ReadOnlySpan<float> col = x;
            if (!g.ColumnsAreInput)
            {
                Im2Col(scratch, x, g, threads);
                col = scratch;
            }
            if (packedWeight != null && UsesTransposedProduct(path, g))
            {
                TransposedProduct(path, y, col, weight, bias, g, threads, packedWeight, relu);
                continue;
            }
            if (hasBias)
            {
                for (int oc = 0; oc < g.OutChannels; oc++) y.Slice(oc * outHW, outHW).Fill(bias[oc]);
            }
            // y[outC, outH*outW] (+)= weight[outC, inC*k*k] * col[inC*k*k, outH*outW]
            Gemm.Multiply(path, false, false, g.OutChannels, outHW, columnRows, weight, columnRows, col, outHW, y, outHW, hasBias, threads, packedWeight);
            if (relu) Activations.ReluForward(path, y, y);
        }
    }

    /// <summary>
    /// True when a layer with packed weights multiplies the other way round, y^T[outH*outW, outC] = col^T W^T, and
    /// transposes the small result: few output positions (ResNet's 7x7 and 14x14 layers) fill the micro-kernel's
    /// 32-wide column tiles poorly (49 = 32 + 17), while their many output channels fill them exactly.
    /// </summary>
    internal static bool UsesTransposedProduct(SimdPath path, in Conv2dGeometry g)
    {
        if (path == SimdPath.Scalar) return false;
        int outHW = g.OutHeight * g.OutWidth, columnRows = g.InChannels * g.Kernel * g.Kernel;
        int w = Simd.Width(path);
        // the share of the column tiles doing useful work either way; measured on ResNet-18's layers, the transposed
        // product pays off when it fills at least a tenth more of them and the products are deep (its bias fill and
        // final transpose are per output, not per multiply-add): 7x7 layers yes, 14x14 and 1x1 ones no
        double direct = outHW / (double)GemmPacked.PackedWidth(outHW, w);
        double transposed = g.OutChannels / (double)GemmPacked.PackedWidth(g.OutChannels, w);
        return outHW >= Gemm.SmallColumns && g.OutChannels >= 64 && columnRows >= 512 && transposed - direct >= 0.1;
    }

    [ThreadStatic] private static float[]? t_transposed;

    /// <summary>
    /// y[oc, p] = relu?(bias[oc] + sum_q W[oc, q] col[q, p]) through T[p, oc] = bias[oc] then T += col^T W^T (packed
    /// W^T): every element is summed exactly as the direct product sums it (same k blocks, same order, the bias
    /// first), so the result is bit-identical.
    /// </summary>
    private static void TransposedProduct(SimdPath path, Span<float> y, ReadOnlySpan<float> col, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, in Conv2dGeometry g, int threads, PackedMatrix packedWeight, bool relu)
    {
        fixed (float* yy = y, c = col, w = weight, b = bias)
            TransposedRows(path, yy, c, g.OutHeight * g.OutWidth, 0, w, bias.Length != 0 ? b : null, g, threads, packedWeight, relu);
    }

    /// <summary>
    /// Output positions [p0, p0 + count) of one sample, whose columns col[K, count] are built: t[count, outC] = bias,
    /// t += col^T W^T (W^T packed once), then y[oc, p0 + i] = t[i, oc] (clamped when <paramref name="relu"/>). The bias
    /// goes in first and the k blocks are the direct product's, so every output has the direct product's bits.
    /// </summary>
    private static void TransposedRows(SimdPath path, float* y, float* col, int count, int p0, float* weight, float* bias,
        in Conv2dGeometry g, int threads, PackedMatrix packedWeight, bool relu)
    {
        int outC = g.OutChannels, columnRows = g.InChannels * g.Kernel * g.Kernel;
        float[]? t = t_transposed;   // this thread's (pinned, grown on demand)
        if (t == null || t.Length < count * outC) t_transposed = t = GC.AllocateUninitializedArray<float>(count * outC, pinned: true);
        fixed (float* ty = t)
        {
            if (bias != null)
                for (int i = 0; i < count; i++) new ReadOnlySpan<float>(bias, outC).CopyTo(new Span<float>(ty + (long)i * outC, outC));
            Gemm.Multiply(path, true, true, count, outC, columnRows, new ReadOnlySpan<float>(col, columnRows * count), count,
                new ReadOnlySpan<float>(weight, outC * columnRows), columnRows, new Span<float>(ty, count * outC), outC,
                bias != null, threads, packedB: packedWeight);
            TransposeOut(y, ty, p0, count, outC, g.OutHeight * g.OutWidth, relu);
        }
    }

    /// <summary>y[oc, p0 + i] = t[i, oc] for i &lt; count (clamped as ReluForward does when <paramref name="relu"/>).</summary>
    private static void TransposeOut(float* y, float* t, int p0, int count, int outC, int outHW, bool relu)
    {
        for (int oc = 0; oc < outC; oc++)
        {
            float* dst = y + (long)oc * outHW + p0, src = t + oc;
            if (relu)
            {
                for (int i = 0; i < count; i++) { float v = src[i * outC]; dst[i] = v > 0f ? v : 0f; }
            }
            else
            {
                for (int i = 0; i < count; i++) dst[i] = src[i * outC];
            }
        }
    }

    public static void BackwardData(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> weight,
        int batch, in Conv2dGeometry g, Span<float> scratch, bool accumulate)
        => BackwardData(Simd.Best, dInput, dOutput, weight, batch, g, scratch, accumulate);

    internal static void BackwardData(SimdPath path,
        Span<float> dInput /*[batch, inC, inH, inW]*/, ReadOnlySpan<float> dOutput /*[batch, outC, outH, outW]*/,
        ReadOnlySpan<float> weight /*[outC, inC, k, k]*/,
        int batch, in Conv2dGeometry g, Span<float> scratch /*[inC*k*k, outH*outW]*/, bool accumulate)
    {
        CheckCommon(batch, g, scratch, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput), weight.Length);
        if (g.IsFullyConnected)
        {
            Dense.BackwardData(path, dInput, dOutput, weight, batch, g.InputSize, g.OutChannels, accumulate);
            return;
        }
        if (!RunsSamplesInParallel(batch, g))
        {
            BackwardDataSamples(path, dInput, dOutput, weight, batch, g, scratch, accumulate, WorkerPool.ThreadCount);
            return;
        }
        int chunks = Math.Min(batch, SampleChunks);
        fixed (float* dx = dInput, dy = dOutput, w = weight, work = Workspace(chunks, g))
        {
            WorkerPool.For(chunks, new BackwardDataChunk
            {
                Path = path, G = g, Batch = batch, Chunks = chunks, Accumulate = accumulate,
                DInput = dx, DOutput = dy, Weight = w, Workspace = work,
            });
        }
    }

    private struct BackwardDataChunk : IParallelBody
    {
        public SimdPath Path;
        public Conv2dGeometry G;
        public int Batch, Chunks;
        public bool Accumulate;
        public float* DInput, DOutput, Weight, Workspace;

        public readonly void Invoke(int chunk)
        {
            ChunkRange(chunk, Chunks, Batch, out int start, out int end);
            int count = end - start;
            BackwardDataSamples(Path,
                new Span<float>(DInput + (long)start * G.InputSize, count * G.InputSize),
                new ReadOnlySpan<float>(DOutput + (long)start * G.OutputSize, count * G.OutputSize),
                new ReadOnlySpan<float>(Weight, G.WeightSize),
                count, G, new Span<float>(Workspace + chunk * ChunkFloats(G), G.ColumnSize), Accumulate, threads: 1);
        }
    }

    private static void BackwardDataSamples(SimdPath path, Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> weight,
        int batch, in Conv2dGeometry g, Span<float> scratch, bool accumulate, int threads)
    {
        int outHW = g.OutHeight * g.OutWidth;
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> dy = dOutput.Slice(n * g.OutputSize, g.OutputSize);
            Span<float> dx = dInput.Slice(n * g.InputSize, g.InputSize);
            if (g.ColumnsAreInput)
            {
                // dx[inC*k*k, outH*outW] (=|+=) weight[outC, inC*k*k]^T * dy[outC, outH*outW]: the columns are dx's own layout
                Multiply(path, true, false, columnRows, outHW, g.OutChannels, weight, dy, dx, accumulate, threads);
                continue;
            }
            // dcol[inC*k*k, outH*outW] = weight[outC, inC*k*k]^T * dy[outC, outH*outW]
            Multiply(path, true, false, columnRows, outHW, g.OutChannels, weight, dy, scratch, accumulate: false, threads);
            Col2Im(dx, scratch, g, accumulate, threads);
        }
    }

    /// <summary>dWeight += dOutput * col^T and dBias += per-channel sums of dOutput (over batch and space). Always accumulates.</summary>
    public static void BackwardWeights(Span<float> dWeight, Span<float> dBias, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> input,
        int batch, in Conv2dGeometry g, Span<float> scratch)
        => BackwardWeights(Simd.Best, dWeight, dBias, dOutput, input, batch, g, scratch);

    internal static void BackwardWeights(SimdPath path,
        Span<float> dWeight /*[outC, inC, k, k]*/, Span<float> dBias /*[outC] or empty*/,
        ReadOnlySpan<float> dOutput /*[batch, outC, outH, outW]*/, ReadOnlySpan<float> input /*[batch, inC, inH, inW]*/,
        int batch, in Conv2dGeometry g, Span<float> scratch /*[inC*k*k, outH*outW]*/)
    {
        CheckCommon(batch, g, scratch, dOutput.Length, nameof(dOutput), input.Length, nameof(input), dWeight.Length, nameof(dWeight));
        Guard.EmptyOrAtLeast(dBias.Length, g.OutChannels, nameof(dBias));
        if (g.IsFullyConnected)
        {
            // dW[outC, inC*k*k] += dy[batch, outC]^T x[batch, inC*k*k]: one product over the batch, not a rank-1 update per sample
            Dense.BackwardWeights(path, dWeight, dBias, dOutput, input, batch, g.InputSize, g.OutChannels);
            return;
        }
        if (!RunsSamplesInParallel(batch, g))
        {
            BackwardWeightsSamples(path, dWeight, dBias, dOutput, input, batch, g, scratch, WorkerPool.ThreadCount);
            return;
        }
        int chunks = Math.Min(batch, SampleChunks);
        float[] workspace = Workspace(chunks, g);
        fixed (float* dy = dOutput, x = input, work = workspace)
        {
            WorkerPool.For(chunks, new BackwardWeightsChunk
            {
                Path = path, G = g, Batch = batch, Chunks = chunks, HasBias = dBias.Length != 0,
                DOutput = dy, Input = x, Workspace = work,
            });
        }
        // dWeight += chunk 0's sums, then chunk 1's, ...: a fixed order, whichever thread ran which chunk
        long chunkFloats = ChunkFloats(g);
        for (int chunk = 0; chunk < chunks; chunk++)
        {
            var partial = workspace.AsSpan((int)(chunk * chunkFloats + g.ColumnSize), g.WeightSize + g.OutChannels);
            Elementwise.CopyOrAdd(path, dWeight.Slice(0, g.WeightSize), partial.Slice(0, g.WeightSize), accumulate: true);
            if (dBias.Length != 0) Elementwise.CopyOrAdd(path, dBias.Slice(0, g.OutChannels), partial.Slice(g.WeightSize), accumulate: true);
        }
    }

    private struct BackwardWeightsChunk : IParallelBody
    {
        public SimdPath Path;
        public Conv2dGeometry G;
        public int Batch, Chunks;
        public bool HasBias;
        public float* DOutput, Input, Workspace;

        public readonly void Invoke(int chunk)
        {
            ChunkRange(chunk, Chunks, Batch, out int start, out int end);
            int count = end - start;
            float* work = Workspace + chunk * ChunkFloats(G);
            var partialWeight = new Span<float>(work + G.ColumnSize, G.WeightSize);
            var partialBias = new Span<float>(work + G.ColumnSize + G.WeightSize, G.OutChannels);
            partialWeight.Clear();
            partialBias.Clear();
            BackwardWeightsSamples(Path, partialWeight, HasBias ? partialBias : default,
                new ReadOnlySpan<float>(DOutput + (long)start * G.OutputSize, count * G.OutputSize),
                new ReadOnlySpan<float>(Input + (long)start * G.InputSize, count * G.InputSize),
                count, G, new Span<float>(work, G.ColumnSize), threads: 1);
        }
    }

    private static void BackwardWeightsSamples(SimdPath path, Span<float> dWeight, Span<float> dBias, ReadOnlySpan<float> dOutput,
        ReadOnlySpan<float> input, int batch, in Conv2dGeometry g, Span<float> scratch, int threads)
    {
        int outHW = g.OutHeight * g.OutWidth;
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> x = input.Slice(n * g.InputSize, g.InputSize);
            ReadOnlySpan<float> dy = dOutput.Slice(n * g.OutputSize, g.OutputSize);
            ReadOnlySpan<float> col = x;
            if (!g.ColumnsAreInput)
            {
                Im2Col(scratch, x, g, threads);
                col = scratch;
            }
            // dWeight[outC, inC*k*k] += dy[outC, outH*outW] * col[inC*k*k, outH*outW]^T
            Multiply(path, false, true, g.OutChannels, columnRows, outHW, dy, col, dWeight, accumulate: true, threads);
            if (dBias.Length != 0)
            {
                for (int oc = 0; oc < g.OutChannels; oc++)
                    dBias[oc] += Elementwise.Sum(path, dy.Slice(oc * outHW, outHW));
            }
        }
    }

    /// <summary>Contiguous operands, at most <paramref name="threads"/> threads.</summary>
    private static void Multiply(SimdPath path, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate, int threads)
        => Gemm.Multiply(path, transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate, threads);

    /// <summary>
    /// col[(c*k + ky)*k + kx, oy*outW + ox] = image[c, oy*s - p + ky, ox*s - p + kx], or 0 in the padding.
    /// </summary>
    internal static unsafe void Im2Col(Span<float> col /*[inC*k*k, outH*outW]*/, ReadOnlySpan<float> image /*[inC, inH, inW]*/, in Conv2dGeometry g)
    {
        Guard.AtLeast(col.Length, g.ColumnSize, nameof(col));
        Guard.AtLeast(image.Length, g.InputSize, nameof(image));
        fixed (float* colBase = col, imageBase = image) Im2ColRows(colBase, imageBase, g, 0, g.OutHeight, 0, g.InChannels);
    }

    /// <summary>Columns of at least this many floats are built (and scattered back) with the channels split over the pool.</summary>
    internal const int ParallelColumnFloats = 1 << 15;

    /// <summary>Channel chunks of a parallel im2col / col2im (fixed; each chunk's rows of the column matrix are its own).</summary>
    private const int ChannelChunks = 8;

    /// <summary><see cref="Im2Col(Span{float}, ReadOnlySpan{float}, in Conv2dGeometry)"/>, the channels on up to <paramref name="threads"/> threads.</summary>
    private static void Im2Col(Span<float> col, ReadOnlySpan<float> image, in Conv2dGeometry g, int threads)
    {
        if (threads <= 1 || g.ColumnSize < ParallelColumnFloats || g.InChannels < 2)
        {
            Im2Col(col, image, g);
            return;
        }
        Guard.AtLeast(col.Length, g.ColumnSize, nameof(col));
        Guard.AtLeast(image.Length, g.InputSize, nameof(image));
        fixed (float* colBase = col, imageBase = image)
            WorkerPool.For(Math.Min(g.InChannels, ChannelChunks), new ChannelChunk { G = g, Col = colBase, Image = imageBase, Scatter = false });
    }

    /// <summary>
    /// image (=|+=) the adjoint of im2col applied to col (<see cref="Col2ImAdd"/>), the channels on up to
    /// <paramref name="threads"/> threads: channel c of the image takes only rows of channel c, so the sums
    /// are the same whatever the split.
    /// </summary>
    private static void Col2Im(Span<float> image, ReadOnlySpan<float> col, in Conv2dGeometry g, bool accumulate, int threads)
    {
        if (threads <= 1 || g.ColumnSize < ParallelColumnFloats || g.InChannels < 2)
        {
            if (!accumulate) image.Slice(0, g.InputSize).Clear();
            Col2ImAdd(image, col, g);
            return;
        }
        Guard.AtLeast(col.Length, g.ColumnSize, nameof(col));
        Guard.AtLeast(image.Length, g.InputSize, nameof(image));
        fixed (float* colBase = col, imageBase = image)
            WorkerPool.For(Math.Min(g.InChannels, ChannelChunks), new ChannelChunk { G = g, Col = colBase, Image = imageBase, Scatter = true, Clear = !accumulate });
    }

    private struct ChannelChunk : IParallelBody
    {
        public Conv2dGeometry G;
        public float* Col, Image;
        public bool Scatter, Clear;

        public readonly void Invoke(int chunk)
        {
            int chunks = Math.Min(G.InChannels, ChannelChunks);
            ChunkRange(chunk, chunks, G.InChannels, out int c0, out int c1);
            long rowsBefore = (long)c0 * G.Kernel * G.Kernel * G.OutHeight * G.OutWidth;
            if (!Scatter)
            {
                Im2ColRows(Col + rowsBefore, Image, G, 0, G.OutHeight, c0, c1);
                return;
            }
            int plane = G.InHeight * G.InWidth;
            if (Clear) new Span<float>(Image + (long)c0 * plane, (c1 - c0) * plane).Clear();
            Col2ImChannels(Image, Col + rowsBefore, G, c0, c1);
        }
    }

    /// <summary>
    /// <see cref="Im2Col"/> for output rows [oy0, oy1) and channels [c0, c1) only: col[((c - c0)*k + ky)*k + kx, (oy - oy0)*outW + ox],
    /// a [(c1 - c0)*k*k, (oy1 - oy0)*outW] matrix.
    /// </summary>
    private static unsafe void Im2ColRows(float* colBase, float* imageBase, in Conv2dGeometry g, int oy0, int oy1, int c0, int c1)
    {
        int k = g.Kernel, stride = g.Stride, pad = g.Padding;
        int inH = g.InHeight, inW = g.InWidth, outW = g.OutWidth;
        Vector256<int> lanes = StridedLoad.Lanes(stride);
        // a short run may be copied as one whole vector that spills past its end: what it overwrites there belongs to
        // this run's zero tail or to later runs, all written afterwards in order; never past either buffer's end
        float* imageEnd = imageBase + g.InputSize;
        float* colEnd = colBase + (long)(c1 - c0) * k * k * (oy1 - oy0) * outW;
        int vector = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 0;
        float* dst = colBase;   // walks the col matrix row by row, outW floats at a time
        for (int c = c0; c < c1; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                // output rows [oyA, oyB) read image rows inside the image; the others are padding (zero rows)
                int first = pad - ky, last = inH - 1 + pad - ky;
                int oyA = Math.Max(oy0, first <= 0 ? 0 : (first + stride - 1) / stride);
                int oyB = Math.Min(oy1, last < 0 ? 0 : last / stride + 1);
                if (oyB < oyA) oyB = oyA;
                for (int kx = 0; kx < k; kx++)
                {
                    // output columns [lo, hi) read inside the image row; the rest is padding
                    ValidRange(kx, pad, stride, inW, outW, out int lo, out int hi);
                    if (oyA > oy0) new Span<float>(dst, (oyA - oy0) * outW).Clear();
                    dst += (oyA - oy0) * outW;
                    // src[ox * stride] = image[c, iy, ox*s - p + kx] for iy = oy*s - p + ky (only dereferenced for lo <= ox < hi)
                    float* src = imageBase + (c * inH + oyA * stride - pad + ky) * inW - pad + kx;
                    int rows = oyB - oyA, n = hi - lo;
                    long srcStep = (long)stride * inW;
                    // Short runs go as one or two whole vectors that spill past their end: what they overwrite there is
                    // this row's zero tail or later rows, all written afterwards in order. The last row's reach is
                    // checked against both buffers' ends (earlier rows reach less far).
                    int reach = n <= vector ? vector : n <= 2 * vector ? 2 * vector : 0;
                    bool spills = stride == 1 && reach != 0 && rows > 0
                                  && src + (rows - 1) * srcStep + lo + reach <= imageEnd && dst + (long)(rows - 1) * outW + lo + reach <= colEnd;
                    if (spills && lo == 0 && hi == outW)
                    {
                        // the common case without padding columns: nothing but the copies
                        if (reach == vector)
                            for (int r = 0; r < rows; r++, dst += outW, src += srcStep) CopySpilling(dst, src);
                        else
                            for (int r = 0; r < rows; r++, dst += outW, src += srcStep) { CopySpilling(dst, src); CopySpilling(dst + vector, src + vector); }
                    }
                    else
                    {
                        for (int r = 0; r < rows; r++, dst += outW, src += srcStep)
                        {
                            for (int ox = 0; ox < lo; ox++) dst[ox] = 0f;
                            if (spills)
                            {
                                CopySpilling(dst + lo, src + lo);
                                if (reach > vector) CopySpilling(dst + lo + vector, src + lo + vector);
                            }
                            else if (stride == 1)
                            {
                                CopyRun(dst + lo, src + lo, n);
                            }
                            else
                            {
                                StridedRun(dst, src, lo, hi, stride, lanes);
                            }
                            for (int ox = hi; ox < outW; ox++) dst[ox] = 0f;
                        }
                    }
                    if (oy1 > oyB) new Span<float>(dst, (oy1 - oyB) * outW).Clear();
                    dst += (oy1 - oyB) * outW;
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: image[c, iy, ix] += every col entry that was read from it.</summary>
    internal static unsafe void Col2ImAdd(Span<float> image /*[inC, inH, inW]*/, ReadOnlySpan<float> col /*[inC*k*k, outH*outW]*/, in Conv2dGeometry g)
    {
        Guard.AtLeast(col.Length, g.ColumnSize, nameof(col));
        Guard.AtLeast(image.Length, g.InputSize, nameof(image));
        fixed (float* colBase = col, imageBase = image) Col2ImChannels(imageBase, colBase, g, 0, g.InChannels);
    }

    /// <summary><see cref="Col2ImAdd"/> for channels [c0, c1): colBase points at the first row of channel c0.</summary>
    private static unsafe void Col2ImChannels(float* imageBase, float* colBase, in Conv2dGeometry g, int c0, int c1)
    {
        int k = g.Kernel, stride = g.Stride, pad = g.Padding;
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        float* src = colBase;
        for (int c = c0; c < c1; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                for (int kx = 0; kx < k; kx++)
                {
                    ValidRange(kx, pad, stride, inW, outW, out int lo, out int hi);
                    for (int oy = 0; oy < outH; oy++, src += outW)
                    {
                        int iy = oy * stride - pad + ky;
                        if ((uint)iy >= (uint)inH) continue;
                        float* dst = imageBase + (c * inH + iy) * inW - pad + kx;
                        if (stride == 1)
                        {
                            AddRun(dst + lo, src + lo, hi - lo);
                        }
                        else
                        {
                            for (int ox = lo; ox < hi; ox++) dst[ox * stride] += src[ox];
                        }
                    }
                }
            }
        }
    }

    // im2col and col2im move short runs (an output row, often 5-60 floats) millions of times: a call into
    // Span.CopyTo or a general kernel per run costs more than the run itself, so these are inlined vector
    // loops. Copies and single adds are exact, so every SIMD path gives the same result.

    /// <summary>dst[0..n) = src[0..n); the last vector overlaps the previous one instead of a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(float* dst, float* src, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            int i = 0;
            for (; i <= n - 16; i += 16) Vector512.Load(src + i).Store(dst + i);
            if (i < n) Vector512.Load(src + n - 16).Store(dst + n - 16);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            int i = 0;
            for (; i <= n - 8; i += 8) Vector256.Load(src + i).Store(dst + i);
            if (i < n) Vector256.Load(src + n - 8).Store(dst + n - 8);
        }
        else if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            int i = 0;
            for (; i <= n - 4; i += 4) Vector128.Load(src + i).Store(dst + i);
            if (i < n) Vector128.Load(src + n - 4).Store(dst + n - 4);
        }
        else
        {
            for (int i = 0; i < n; i++) dst[i] = src[i];
        }
    }

    /// <summary>One whole vector (16 floats with AVX-512, else 8) from src to dst: a short run and what follows it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopySpilling(float* dst, float* src)
    {
        if (Vector512.IsHardwareAccelerated) Vector512.Load(src).Store(dst);
        else Vector256.Load(src).Store(dst);
    }

    /// <summary>dst[ox] = src[ox * stride] for ox in [lo, hi); eight at a time with AVX2 (the last eight overlap).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StridedRun(float* dst, float* src, int lo, int hi, int stride, Vector256<int> lanes)
    {
        if (Avx2.IsSupported && hi - lo >= 8)
        {
            for (int ox = lo; ; ox += 8)
            {
                if (ox + 8 > hi) ox = hi - 8;
                StridedLoad.Eight(src + ox * stride, stride, lanes).Store(dst + ox);
                if (ox + 8 >= hi) break;
            }
            return;
        }
        for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox * stride];
    }

    /// <summary>dst[0..n) += src[0..n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRun(float* dst, float* src, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= n - 16; i += 16) (Vector512.Load(dst + i) + Vector512.Load(src + i)).Store(dst + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8) (Vector256.Load(dst + i) + Vector256.Load(src + i)).Store(dst + i);
        if (Vector128.IsHardwareAccelerated)
            for (; i <= n - 4; i += 4) (Vector128.Load(dst + i) + Vector128.Load(src + i)).Store(dst + i);
        for (; i < n; i++) dst[i] += src[i];
    }

    /// <summary>[lo, hi): the output columns ox with 0 &lt;= ox*stride - pad + kx &lt; inW (hi &gt;= lo).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValidRange(int kx, int pad, int stride, int inW, int outW, out int lo, out int hi)
    {
        // ox*s >= pad - kx  <=>  ox >= ceil((pad - kx) / s);   ox*s <= inW - 1 + pad - kx  <=>  ox <= floor(...)
        int first = pad - kx;
        lo = first <= 0 ? 0 : (first + stride - 1) / stride;
        int last = inW - 1 + pad - kx;
        hi = last < 0 ? 0 : last / stride + 1;
        if (lo > outW) lo = outW;
        if (hi > outW) hi = outW;
        if (hi < lo) hi = lo;
    }

    private static void CheckCommon(int batch, in Conv2dGeometry g, Span<float> scratch,
        int outputLength, string outputName, int inputLength, string inputName, int weightLength, string weightName = "weight")
    {
        g.Validate();
        Guard.NonNegative(batch, nameof(batch));
        Guard.AtLeast(outputLength, (long)batch * g.OutputSize, outputName);
        Guard.AtLeast(inputLength, (long)batch * g.InputSize, inputName);
        Guard.AtLeast(weightLength, g.WeightSize, weightName);
        if (!g.ColumnsAreInput) Guard.AtLeast(scratch.Length, g.ColumnSize, nameof(scratch));
    }
}
