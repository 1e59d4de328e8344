using System;

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

    internal void Validate()
    {
        if (InChannels <= 0 || InHeight <= 0 || InWidth <= 0 || OutChannels <= 0 || Kernel <= 0 || Stride <= 0 || Padding < 0)
            throw new ArgumentException($"Invalid convolution geometry {this}: channels, sizes, kernel and stride must be positive and padding non-negative.", "g");
        if (InHeight + 2 * Padding < Kernel || InWidth + 2 * Padding < Kernel)
            throw new ArgumentException($"Invalid convolution geometry {this}: the {Kernel}x{Kernel} kernel is larger than the padded input.", "g");
    }
}

/// <summary>
/// 2-d convolution (cross-correlation, like PyTorch) by im2col + Gemm, one sample at a time,
/// using a caller-provided scratch buffer of at least <see cref="Conv2dGeometry.ColumnSize"/> floats.
/// </summary>
public static class Conv2d
{
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int batch, in Conv2dGeometry g, Span<float> scratch)
        => Forward(Simd.Best, output, input, weight, bias, batch, g, scratch);

    internal static void Forward(SimdPath path,
        Span<float> output /*[batch, outC, outH, outW]*/, ReadOnlySpan<float> input /*[batch, inC, inH, inW]*/,
        ReadOnlySpan<float> weight /*[outC, inC, k, k]*/, ReadOnlySpan<float> bias /*[outC] or empty*/,
        int batch, in Conv2dGeometry g, Span<float> scratch /*[inC*k*k, outH*outW]*/)
    {
        CheckCommon(batch, g, scratch, output.Length, nameof(output), input.Length, nameof(input), weight.Length);
        Guard.EmptyOrAtLeast(bias.Length, g.OutChannels, nameof(bias));

        int outHW = g.OutHeight * g.OutWidth;
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        bool hasBias = bias.Length != 0;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> x = input.Slice(n * g.InputSize, g.InputSize);
            Span<float> y = output.Slice(n * g.OutputSize, g.OutputSize);
            ReadOnlySpan<float> col = x;
            if (!g.IsPointwise)
            {
                Im2Col(scratch, x, g);
                col = scratch;
            }
            if (hasBias)
            {
                for (int oc = 0; oc < g.OutChannels; oc++) y.Slice(oc * outHW, outHW).Fill(bias[oc]);
            }
            // y[outC, outH*outW] (+)= weight[outC, inC*k*k] * col[inC*k*k, outH*outW]
            Gemm.Multiply(path, false, false, g.OutChannels, outHW, columnRows, weight, col, y, accumulate: hasBias);
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

        int outHW = g.OutHeight * g.OutWidth;
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> dy = dOutput.Slice(n * g.OutputSize, g.OutputSize);
            Span<float> dx = dInput.Slice(n * g.InputSize, g.InputSize);
            if (g.IsPointwise)
            {
                // dx[inC, H*W] (=|+=) weight[outC, inC]^T * dy[outC, H*W]
                Gemm.Multiply(path, true, false, columnRows, outHW, g.OutChannels, weight, dy, dx, accumulate);
                continue;
            }
            // dcol[inC*k*k, outH*outW] = weight[outC, inC*k*k]^T * dy[outC, outH*outW]
            Gemm.Multiply(path, true, false, columnRows, outHW, g.OutChannels, weight, dy, scratch, accumulate: false);
            if (!accumulate) dx.Clear();
            Col2ImAdd(dx, scratch, g);
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

        int outHW = g.OutHeight * g.OutWidth;
        int columnRows = g.InChannels * g.Kernel * g.Kernel;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> x = input.Slice(n * g.InputSize, g.InputSize);
            ReadOnlySpan<float> dy = dOutput.Slice(n * g.OutputSize, g.OutputSize);
            ReadOnlySpan<float> col = x;
            if (!g.IsPointwise)
            {
                Im2Col(scratch, x, g);
                col = scratch;
            }
            // dWeight[outC, inC*k*k] += dy[outC, outH*outW] * col[inC*k*k, outH*outW]^T
            Gemm.Multiply(path, false, true, g.OutChannels, columnRows, outHW, dy, col, dWeight, accumulate: true);
            if (dBias.Length != 0)
            {
                for (int oc = 0; oc < g.OutChannels; oc++)
                    dBias[oc] += Elementwise.Sum(path, dy.Slice(oc * outHW, outHW));
            }
        }
    }

    /// <summary>
    /// col[(c*k + ky)*k + kx, oy*outW + ox] = image[c, oy*s - p + ky, ox*s - p + kx], or 0 in the padding.
    /// </summary>
    internal static unsafe void Im2Col(Span<float> col /*[inC*k*k, outH*outW]*/, ReadOnlySpan<float> image /*[inC, inH, inW]*/, in Conv2dGeometry g)
    {
        int k = g.Kernel, stride = g.Stride, pad = g.Padding;
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        Guard.AtLeast(col.Length, g.ColumnSize, nameof(col));
        Guard.AtLeast(image.Length, g.InputSize, nameof(image));
        fixed (float* colBase = col, imageBase = image)
        {
            float* dst = colBase;   // walks the col matrix row by row, outW floats at a time
            for (int c = 0; c < g.InChannels; c++)
            {
                for (int ky = 0; ky < k; ky++)
                {
                    for (int kx = 0; kx < k; kx++)
                    {
                        // output columns [lo, hi) read inside the image row; the rest is padding
                        ValidRange(kx, pad, stride, inW, outW, out int lo, out int hi);
                        for (int oy = 0; oy < outH; oy++, dst += outW)
                        {
                            int iy = oy * stride - pad + ky;
                            if ((uint)iy >= (uint)inH)
                            {
                                for (int ox = 0; ox < outW; ox++) dst[ox] = 0f;
                                continue;
                            }
                            // src[ox * stride] = image[c, iy, ox*s - p + kx] (only dereferenced for lo <= ox < hi)
                            float* src = imageBase + (c * inH + iy) * inW - pad + kx;
                            for (int ox = 0; ox < lo; ox++) dst[ox] = 0f;
                            if (stride == 1)
                            {
                                for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox];
                            }
                            else
                            {
                                for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox * stride];
                            }
                            for (int ox = hi; ox < outW; ox++) dst[ox] = 0f;
                        }
                    }
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: image[c, iy, ix] += every col entry that was read from it.</summary>
    internal static unsafe void Col2ImAdd(Span<float> image /*[inC, inH, inW]*/, ReadOnlySpan<float> col /*[inC*k*k, outH*outW]*/, in Conv2dGeometry g)
    {
        int k = g.Kernel, stride = g.Stride, pad = g.Padding;
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        Guard.AtLeast(col.Length, g.ColumnSize, nameof(col));
        Guard.AtLeast(image.Length, g.InputSize, nameof(image));
        fixed (float* colBase = col, imageBase = image)
        {
            float* src = colBase;
            for (int c = 0; c < g.InChannels; c++)
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
                                for (int ox = lo; ox < hi; ox++) dst[ox] += src[ox];
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
    }

    /// <summary>[lo, hi): the output columns ox with 0 &lt;= ox*stride - pad + kx &lt; inW (hi &gt;= lo).</summary>
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
        if (!g.IsPointwise) Guard.AtLeast(scratch.Length, g.ColumnSize, nameof(scratch));
    }
}
