using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Cpu;

/// <summary>
/// Shape of a 2-d pooling: kernel x kernel window, stride, NCHW. Sizes are per sample.
/// The five positional members are the original (unpadded, floor-mode) geometry;
/// <see cref="Padding"/> (implicit, symmetric) and <see cref="CeilMode"/> follow PyTorch's MaxPool2d.
/// </summary>
public readonly record struct Pool2dGeometry(int Channels, int InHeight, int InWidth, int Kernel, int Stride)
{
    /// <summary>PyTorch MaxPool2d(kernel, stride, padding, ceil_mode=ceilMode).</summary>
    public Pool2dGeometry(int channels, int inHeight, int inWidth, int kernel, int stride, int padding, bool ceilMode)
        : this(channels, inHeight, inWidth, kernel, stride)
    {
        Padding = padding;
        CeilMode = ceilMode;
    }

    /// <summary>Implicit padding on every side (max pooling treats it as -infinity). At most Kernel / 2.</summary>
    public int Padding { get; init; }

    /// <summary>Round the output size up instead of down; the last window may then be clipped at the bottom/right edge.</summary>
    public bool CeilMode { get; init; }

    /// <summary>floor_or_ceil((in + 2p - k) / s) + 1, minus one in ceil mode when the last window would start in the right/bottom padding (PyTorch).</summary>
    public int OutHeight => OutSize(InHeight);
    public int OutWidth => OutSize(InWidth);
    /// <summary>Channels * InHeight * InWidth.</summary>
    public int InputSize => Channels * InHeight * InWidth;
    /// <summary>Channels * OutHeight * OutWidth.</summary>
    public int OutputSize => Channels * OutHeight * OutWidth;

    /// <summary>No padding, floor mode: every window lies inside the input (the original fast paths).</summary>
    internal bool IsUnpadded => Padding == 0 && !CeilMode;

    private int OutSize(int inSize)
    {
        int span = inSize + 2 * Padding - Kernel;
        if (Stride <= 0 || span < 0) return span < 0 ? 0 : 1;   // invalid geometry: Validate reports it
        if (!CeilMode) return span / Stride + 1;
        int outSize = (span + Stride - 1) / Stride + 1;
        if ((outSize - 1) * Stride >= inSize + Padding) outSize--;   // the last window must start inside the input or the left padding
        return outSize;
    }

    /// <summary>Only the defining values, so an invalid geometry (stride 0) still prints.</summary>
    public override string ToString()
        => $"Pool2dGeometry {{ Channels = {Channels}, InHeight = {InHeight}, InWidth = {InWidth}, Kernel = {Kernel}, Stride = {Stride}, Padding = {Padding}, CeilMode = {CeilMode} }}";

    internal void Validate()
    {
        if (Channels <= 0 || InHeight <= 0 || InWidth <= 0 || Kernel <= 0 || Stride <= 0 || Padding < 0)
            throw new ArgumentException($"Invalid pooling geometry {this}: channels, sizes, kernel and stride must be positive and padding non-negative.", "g");
        if (Padding > Kernel / 2)
            throw new ArgumentException($"Invalid pooling geometry {this}: padding {Padding} must be at most half the kernel ({Kernel / 2}).", "g");
        if (Kernel > InHeight + 2 * Padding || Kernel > InWidth + 2 * Padding)
            throw new ArgumentException(Padding == 0
                ? $"Invalid pooling geometry {this}: the {Kernel}x{Kernel} window is larger than the input."
                : $"Invalid pooling geometry {this}: the {Kernel}x{Kernel} window is larger than the padded input.", "g");
    }
}

/// <summary>
/// Average and max pooling. Plain scalar loops (pooling is a small share of the work). Backward
/// kernels scatter-add into dInput, so overlapping windows (stride &lt; kernel) are handled.
/// Max pooling supports padding (padded cells are -infinity, never selected) and ceil mode
/// (windows clipped at the bottom/right edge); average pooling supports neither.
/// </summary>
public static unsafe class Pool2d
{
    /// <summary>output = mean of each kernel x kernel window. NotSupportedException for padding or ceil mode.</summary>
    public static unsafe void AvgForward(Span<float> output /*[batch, C, outH, outW]*/, ReadOnlySpan<float> input /*[batch, C, inH, inW]*/,
        int batch, in Pool2dGeometry g)
    {
        Check(batch, g, output.Length, nameof(output), input.Length, nameof(input));
        RequireUnpadded(g);
        fixed (float* y = output, x = input)
            RunPlanes(batch * g.Channels, y, g.OutHeight * g.OutWidth, x, g.InHeight * g.InWidth, g, &AvgPlane);
    }

    private static unsafe void AvgPlane(float* y, float* x, in Pool2dGeometry g)
    {
        int k = g.Kernel, s = g.Stride, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        float scale = 1f / (k * k);
        Vector256<int> lanes = StridedLoad.Lanes(s);
        for (int oy = 0; oy < outH; oy++)
        {
            int ox = 0;
            if (Avx2.IsSupported && outW >= 8)
            {
                // eight windows at a time, each lane summing in the scalar loop's order (0, then row by row)
                for (; ; ox += 8)
                {
                    if (ox + 8 > outW) ox = outW - 8;   // the last vector overlaps (same values)
                    Vector256<float> sum = Vector256<float>.Zero;
                    float* row = x + (oy * s) * inW + ox * s;
                    for (int ky = 0; ky < k; ky++, row += inW)
                        for (int kx = 0; kx < k; kx++) sum += StridedLoad.Eight(row + kx, s, lanes);
                    (sum * scale).Store(y + oy * outW + ox);
                    if (ox + 8 >= outW) break;
                }
                continue;
            }
            for (; ox < outW; ox++)
            {
                float sum = 0f;
                float* row = x + (oy * s) * inW + ox * s;
                for (int ky = 0; ky < k; ky++, row += inW)
                    for (int kx = 0; kx < k; kx++) sum += row[kx];
                y[oy * outW + ox] = sum * scale;
            }
        }
    }

    /// <summary>dInput (=|+=) each window's dOutput / (kernel*kernel) spread over the window. NotSupportedException for padding or ceil mode.</summary>
    public static unsafe void AvgBackward(Span<float> dInput /*[batch, C, inH, inW]*/, ReadOnlySpan<float> dOutput /*[batch, C, outH, outW]*/,
        int batch, in Pool2dGeometry g, bool accumulate)
    {
        Check(batch, g, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput));
        RequireUnpadded(g);
        if (!accumulate) dInput.Slice(0, batch * g.InputSize).Clear();
        fixed (float* dx = dInput, dy = dOutput)
            RunPlanes(batch * g.Channels, dx, g.InHeight * g.InWidth, dy, g.OutHeight * g.OutWidth, g, &AvgBackwardPlane);
    }

    /// <summary>dx += each window's dy / (kernel*kernel), window by window in output order.</summary>
    private static unsafe void AvgBackwardPlane(float* dx, float* dy, in Pool2dGeometry g)
    {
        int k = g.Kernel, s = g.Stride, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        float scale = 1f / (k * k);
        if (Avx2.IsSupported && k == 2 && s == 2)
        {
            // 2x2 windows that do not overlap (LeNet-5's pooling): every input cell takes exactly one add, so whole
            // rows go at once: sixteen cells from eight gradients, each repeated twice
            for (int oy = 0; oy < outH; oy++)
            {
                float* dyRow = dy + oy * outW;
                int ox = 0;
                for (; ox + 8 <= outW; ox += 8)
                {
                    Vector256<float> grad = Avx.LoadVector256(dyRow + ox) * scale;
                    Vector256<float> low = Avx.UnpackLow(grad, grad), high = Avx.UnpackHigh(grad, grad);
                    Vector256<float> first = Avx.Permute2x128(low, high, 0x20), second = Avx.Permute2x128(low, high, 0x31);
                    for (int ky = 0; ky < 2; ky++)
                    {
                        float* row = dx + (oy * 2 + ky) * inW + ox * 2;
                        (Avx.LoadVector256(row) + first).Store(row);
                        (Avx.LoadVector256(row + 8) + second).Store(row + 8);
                    }
                }
                for (; ox < outW; ox++)
                {
                    float grad = dyRow[ox] * scale;
                    float* row = dx + (oy * 2) * inW + ox * 2;
                    row[0] += grad; row[1] += grad; row[inW] += grad; row[inW + 1] += grad;
                }
            }
            return;
        }
        for (int oy = 0; oy < outH; oy++)
        {
            for (int ox = 0; ox < outW; ox++)
            {
                float grad = dy[oy * outW + ox] * scale;
                float* row = dx + (oy * s) * inW + ox * s;
                for (int ky = 0; ky < k; ky++, row += inW)
                    for (int kx = 0; kx < k; kx++) row[kx] += grad;
            }
        }
    }

    /// <summary>output = max of each window (clipped to the input under padding / ceil mode).</summary>
    public static unsafe void MaxForward(Span<float> output /*[batch, C, outH, outW]*/, ReadOnlySpan<float> input /*[batch, C, inH, inW]*/,
        int batch, in Pool2dGeometry g)
    {
        Check(batch, g, output.Length, nameof(output), input.Length, nameof(input));
        fixed (float* y = output, x = input)
            RunPlanes(batch * g.Channels, y, g.OutHeight * g.OutWidth, x, g.InHeight * g.InWidth, g, &MaxPlane);
    }

    /// <summary>
    /// Runs <paramref name="plane"/>(destination plane, source plane, g) for every plane. Planes are independent, so
    /// they are split over the worker pool (a ResNet stem's 64x112x112 max pooling took 10% of the network's inference
    /// time on one thread); the result does not depend on the split.
    /// </summary>
    private static unsafe void RunPlanes(int planes, float* destination, int destinationPlane, float* source, int sourcePlane,
        in Pool2dGeometry g, delegate*<float*, float*, in Pool2dGeometry, void> plane)
    {
        if (planes <= 0) return;
        int chunks = Math.Min(planes, 16);
        WorkerPool.For(chunks, new PlaneChunk
        {
            G = g, Planes = planes, Chunks = chunks, Plane = plane,
            Destination = destination, DestinationPlane = destinationPlane, Source = source, SourcePlane = sourcePlane,
        });
    }

    private unsafe struct PlaneChunk : IParallelBody
    {
        public Pool2dGeometry G;
        public int Planes, Chunks, DestinationPlane, SourcePlane;
        public float* Destination, Source;
        public delegate*<float*, float*, in Pool2dGeometry, void> Plane;

        public readonly void Invoke(int chunk)
        {
            int first = (int)((long)chunk * Planes / Chunks), last = (int)((long)(chunk + 1) * Planes / Chunks);
            for (int p = first; p < last; p++)
                Plane(Destination + (long)p * DestinationPlane, Source + (long)p * SourcePlane, G);
        }
    }

    /// <summary>
    /// y[oy, ox] = the maximum of the window (the padding never wins), scanned in row-major order with a strict
    /// "greater than", so the value equals x[<see cref="ArgMaxInClippedWindow"/>] exactly, NaN included.
    /// </summary>
    private static unsafe void MaxPlane(float* y, float* x, in Pool2dGeometry g)
    {
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        int k = g.Kernel, stride = g.Stride, pad = g.Padding;
        // output columns whose window lies inside the row: 0 <= ox*s - p and ox*s - p + k <= inW
        InteriorColumns(g, out int interiorLo, out int interiorHi);
        Vector256<int> lanes = StridedLoad.Lanes(stride);
        for (int oy = 0; oy < outH; oy++)
        {
            int y0 = oy * stride - pad;
            int y1 = Math.Min(y0 + k, inH);
            y0 = Math.Max(y0, 0);
            if (Avx2.IsSupported)
            {
                // eight outputs at a time, each lane scanning its window in the same row-major order as the scalar loop
                int ox;
                for (ox = interiorLo; ox < interiorHi; ox += 8)
                {
                    if (ox + 8 > interiorHi)
                    {
                        if (interiorHi - 8 < interiorLo) break;
                        ox = interiorHi - 8;   // the last vector overlaps the previous one (same values) instead of a scalar tail
                    }
                    float* first = x + (long)y0 * inW + ox * stride - pad;
                    Vector256<float> m = StridedLoad.Eight(first, stride, lanes);
                    float* row = first;
                    for (int iy = y0; iy < y1; iy++, row += inW)
                        for (int kx = 0; kx < k; kx++)
                            m = Avx.Max(StridedLoad.Eight(row + kx, stride, lanes), m);   // maxps(v, m): v > m ? v : m
                    m.Store(y + oy * outW + ox);
                }
                MaxScalarRange(y, x, g, oy, y0, y1, 0, interiorLo);   // the left border
                MaxScalarRange(y, x, g, oy, y0, y1, ox, outW);        // what did not fill a vector, and the right border
            }
            else
            {
                MaxScalarRange(y, x, g, oy, y0, y1, 0, outW);
            }
        }
    }

    /// <summary>Output columns [lo, hi) whose window lies inside the row: 0 &lt;= ox*s - p and ox*s - p + k &lt;= inW.</summary>
    private static void InteriorColumns(in Pool2dGeometry g, out int lo, out int hi)
    {
        int inW = g.InWidth, outW = g.OutWidth, k = g.Kernel, stride = g.Stride, pad = g.Padding;
        lo = Math.Min(outW, (pad + stride - 1) / stride);
        hi = inW + pad - k < 0 ? 0 : Math.Min(outW, (inW + pad - k) / stride + 1);
        if (hi < lo) hi = lo;
    }

    /// <summary>y[oy, ox] for ox in [ox0, ox1): the window rows [y0, y1), columns clipped to the input.</summary>
    private static unsafe void MaxScalarRange(float* y, float* x, in Pool2dGeometry g, int oy, int y0, int y1, int ox0, int ox1)
    {
        int inW = g.InWidth, k = g.Kernel, stride = g.Stride, pad = g.Padding;
        for (int ox = ox0; ox < ox1; ox++)
        {
            int x0 = ox * stride - pad;
            int x1 = Math.Min(x0 + k, inW);
            x0 = Math.Max(x0, 0);
            float* row = x + (long)y0 * inW;
            float max = row[x0];
            if (Sse.IsSupported)
            {
                // maxss(v, max) is exactly "v > max ? v : max" (NaN included) without a branch: a branch on random
                // data mispredicts so often that it dominated a ResNet stem's pooling
                Vector128<float> m = Vector128.CreateScalarUnsafe(max);
                for (int iy = y0; iy < y1; iy++, row += inW)
                    for (int ix = x0; ix < x1; ix++)
                        m = Sse.MaxScalar(Vector128.CreateScalarUnsafe(row[ix]), m);
                max = m.ToScalar();
            }
            else
            {
                for (int iy = y0; iy < y1; iy++, row += inW)
                {
                    for (int ix = x0; ix < x1; ix++)
                    {
                        float v = row[ix];
                        if (v > max) max = v;
                    }
                }
            }
            y[oy * g.OutWidth + ox] = max;
        }
    }

    /// <summary>
    /// dInput (=|+=) dOutput routed to each window's argmax, re-found in the input
    /// (ties go to the first element in row-major window order).
    /// </summary>
    public static unsafe void MaxBackward(Span<float> dInput /*[batch, C, inH, inW]*/, ReadOnlySpan<float> dOutput /*[batch, C, outH, outW]*/,
        ReadOnlySpan<float> input /*[batch, C, inH, inW]*/, int batch, in Pool2dGeometry g, bool accumulate)
    {
        Check(batch, g, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput));
        Guard.AtLeast(input.Length, (long)batch * g.InputSize, nameof(input));
        int planes = batch * g.Channels;
        if (planes <= 0) return;
        // planes are independent (each routes its own gradients), so they are split over the pool like the forward pass
        int chunks = Math.Min(planes, 16);
        fixed (float* dx = dInput, dy = dOutput, x = input)
            WorkerPool.For(chunks, new MaxBackwardChunk { G = g, Planes = planes, Chunks = chunks, Accumulate = accumulate, DInput = dx, DOutput = dy, Input = x });
    }

    private unsafe struct MaxBackwardChunk : IParallelBody
    {
        public Pool2dGeometry G;
        public int Planes, Chunks;
        public bool Accumulate;
        public float* DInput, DOutput, Input;

        public readonly void Invoke(int chunk)
        {
            int inHW = G.InHeight * G.InWidth, outH = G.OutHeight, outW = G.OutWidth;
            bool unpadded = G.IsUnpadded;
            int first = (int)((long)chunk * Planes / Chunks), last = (int)((long)(chunk + 1) * Planes / Chunks);
            for (int plane = first; plane < last; plane++)
            {
                var x = new ReadOnlySpan<float>(Input + (long)plane * inHW, inHW);
                var dx = new Span<float>(DInput + (long)plane * inHW, inHW);
                var dy = new ReadOnlySpan<float>(DOutput + (long)plane * outH * outW, outH * outW);
                if (!Accumulate) dx.Clear();
                if (Avx2.IsSupported)
                {
                    for (int oy = 0; oy < outH; oy++) MaxBackwardRow(DInput + (long)plane * inHW, DOutput + (long)plane * outH * outW, Input + (long)plane * inHW, G, oy);
                }
                else if (unpadded)
                {
                    for (int oy = 0; oy < outH; oy++)
                        for (int ox = 0; ox < outW; ox++)
                            dx[ArgMaxInWindow(x, G, oy, ox)] += dy[oy * outW + ox];
                }
                else
                {
                    for (int oy = 0; oy < outH; oy++)
                        for (int ox = 0; ox < outW; ox++)
                            dx[ArgMaxInClippedWindow(x, G, oy, ox)] += dy[oy * outW + ox];
                }
            }
        }
    }

    /// <summary>
    /// One output row of <see cref="MaxBackward"/>: the argmax of eight windows at a time (each lane scans its window
    /// in row-major order with a strict "greater than", as <see cref="ArgMaxInClippedWindow"/> does), then the
    /// gradients added in increasing ox, the same order as the scalar loop.
    /// </summary>
    private static unsafe void MaxBackwardRow(float* dx, float* dy, float* x, in Pool2dGeometry g, int oy)
    {
        int inH = g.InHeight, inW = g.InWidth, outW = g.OutWidth;
        int k = g.Kernel, stride = g.Stride, pad = g.Padding;
        InteriorColumns(g, out int interiorLo, out int interiorHi);
        int y0 = oy * stride - pad;
        int y1 = Math.Min(y0 + k, inH);
        y0 = Math.Max(y0, 0);
        var planeSpan = new ReadOnlySpan<float>(x, g.InHeight * inW);
        float* dyRow = dy + oy * outW;
        int ox = 0;
        for (; ox < interiorLo; ox++) dx[ArgMaxInClippedWindow(planeSpan, g, oy, ox)] += dyRow[ox];
        Vector256<int> lanes = StridedLoad.Lanes(stride);
        int* index = stackalloc int[8];
        for (; ox + 8 <= interiorHi; ox += 8)
        {
            int start = y0 * inW + ox * stride - pad;
            Vector256<float> max = StridedLoad.Eight(x + start, stride, lanes);
            Vector256<int> best = Vector256.Create(start) + lanes;
            for (int iy = y0; iy < y1; iy++)
            {
                for (int kx = 0; kx < k; kx++)
                {
                    int at = iy * inW + ox * stride - pad + kx;
                    Vector256<float> v = StridedLoad.Eight(x + at, stride, lanes);
                    Vector256<float> greater = Avx.CompareGreaterThan(v, max);   // ordered: false when either is NaN
                    max = Avx.BlendVariable(max, v, greater);
                    best = Avx.BlendVariable(best.AsSingle(), (Vector256.Create(at) + lanes).AsSingle(), greater).AsInt32();
                }
            }
            best.Store(index);
            for (int l = 0; l < 8; l++) dx[index[l]] += dyRow[ox + l];
        }
        for (; ox < outW; ox++) dx[ArgMaxInClippedWindow(planeSpan, g, oy, ox)] += dyRow[ox];
    }

    /// <summary>Index in the plane of the window's maximum; strict &gt; keeps the first of equal values. Unpadded geometry only.</summary>
    private static int ArgMaxInWindow(ReadOnlySpan<float> plane /*[inH, inW]*/, in Pool2dGeometry g, int oy, int ox)
    {
        int k = g.Kernel, inW = g.InWidth;
        int best = (oy * g.Stride) * inW + ox * g.Stride;
        float max = plane[best];
        for (int ky = 0; ky < k; ky++)
        {
            int rowStart = (oy * g.Stride + ky) * inW + ox * g.Stride;
            for (int kx = 0; kx < k; kx++)
            {
                float v = plane[rowStart + kx];
                bool greater = v > max;   // selects, not a branch: random data mispredicts half the time
                best = greater ? rowStart + kx : best;
                max = greater ? v : max;
            }
        }
        return best;
    }

    /// <summary>
    /// Padding / ceil mode: the window [oy*s - p, oy*s - p + k) is clipped to the input (padded cells are -infinity,
    /// so they are never selected). Every window holds at least one input cell (p &lt;= k/2 and the ceil-mode rule),
    /// so the first in-range cell starts the search; ties keep the first in row-major order, as in the unpadded path.
    /// </summary>
    private static int ArgMaxInClippedWindow(ReadOnlySpan<float> plane /*[inH, inW]*/, in Pool2dGeometry g, int oy, int ox)
    {
        int inW = g.InWidth;
        int y0 = oy * g.Stride - g.Padding, x0 = ox * g.Stride - g.Padding;
        int y1 = Math.Min(y0 + g.Kernel, g.InHeight), x1 = Math.Min(x0 + g.Kernel, inW);
        y0 = Math.Max(y0, 0);
        x0 = Math.Max(x0, 0);
        int best = y0 * inW + x0;
        float max = plane[best];
        for (int iy = y0; iy < y1; iy++)
        {
            int row = iy * inW;
            for (int ix = x0; ix < x1; ix++)
            {
                float v = plane[row + ix];
                bool greater = v > max;   // selects, not a branch: random data mispredicts half the time
                best = greater ? row + ix : best;
                max = greater ? v : max;
            }
        }
        return best;
    }

    private static void RequireUnpadded(in Pool2dGeometry g)
    {
        if (!g.IsUnpadded)
            throw new NotSupportedException(
                $"Average pooling supports neither padding nor ceil mode (geometry {g}); only max pooling does. Use Padding = 0 and CeilMode = false.");
    }

    private static void Check(int batch, in Pool2dGeometry g, int outputLength, string outputName, int inputLength, string inputName)
    {
        g.Validate();
        Guard.NonNegative(batch, nameof(batch));
        Guard.AtLeast(outputLength, (long)batch * g.OutputSize, outputName);
        Guard.AtLeast(inputLength, (long)batch * g.InputSize, inputName);
    }
}
