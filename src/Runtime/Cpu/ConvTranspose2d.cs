using System;

namespace NetGen.Cpu;

/// <summary>
/// Shape of a 2-d transposed convolution (PyTorch nn.ConvTranspose2d, dilation 1, groups 1): square kernel,
/// stride, symmetric padding, output padding added at the bottom/right, NCHW tensors,
/// weight [InChannels, OutChannels, Kernel, Kernel] (PyTorch's layout). Sizes are per sample.
/// </summary>
public readonly record struct ConvTranspose2dGeometry(int InChannels, int InHeight, int InWidth, int OutChannels, int Kernel, int Stride, int Padding, int OutputPadding)
{
    /// <summary>(InHeight - 1) * Stride - 2 * Padding + Kernel + OutputPadding.</summary>
    public int OutHeight => (InHeight - 1) * Stride - 2 * Padding + Kernel + OutputPadding;
    /// <summary>(InWidth - 1) * Stride - 2 * Padding + Kernel + OutputPadding.</summary>
    public int OutWidth => (InWidth - 1) * Stride - 2 * Padding + Kernel + OutputPadding;
    /// <summary>InChannels * InHeight * InWidth.</summary>
    public int InputSize => InChannels * InHeight * InWidth;
    /// <summary>OutChannels * OutHeight * OutWidth.</summary>
    public int OutputSize => OutChannels * OutHeight * OutWidth;
    /// <summary>InChannels * OutChannels * Kernel * Kernel.</summary>
    public int WeightSize => InChannels * OutChannels * Kernel * Kernel;
    /// <summary>Floats of the column matrix [OutChannels * Kernel * Kernel, InHeight * InWidth]: the scratch a kernel needs.</summary>
    public int ColumnSize => OutChannels * Kernel * Kernel * InHeight * InWidth;

    /// <summary>Only the defining values, so an invalid geometry (stride 0) still prints.</summary>
    public override string ToString()
        => $"ConvTranspose2dGeometry {{ InChannels = {InChannels}, InHeight = {InHeight}, InWidth = {InWidth}, OutChannels = {OutChannels}, Kernel = {Kernel}, Stride = {Stride}, Padding = {Padding}, OutputPadding = {OutputPadding} }}";

    /// <summary>1x1 kernel, stride 1, no padding: the output is W^T x per pixel and no column matrix is needed.</summary>
    internal bool IsPointwise => Kernel == 1 && Stride == 1 && Padding == 0 && OutputPadding == 0;

    internal void Validate()
    {
        if (InChannels <= 0 || InHeight <= 0 || InWidth <= 0 || OutChannels <= 0 || Kernel <= 0 || Stride <= 0 || Padding < 0 || OutputPadding < 0)
            throw new ArgumentException($"Invalid transposed convolution geometry {this}: channels, sizes, kernel and stride must be positive, padding and output padding non-negative.", "g");
        if (OutputPadding >= Stride)
            throw new ArgumentException($"Invalid transposed convolution geometry {this}: output padding {OutputPadding} must be smaller than the stride {Stride} (PyTorch, dilation 1).", "g");
        if (OutHeight <= 0 || OutWidth <= 0)
            throw new ArgumentException($"Invalid transposed convolution geometry {this}: the output would be {OutHeight}x{OutWidth}; padding {Padding} crops away everything.", "g");
    }
}

/// <summary>
/// 2-d transposed convolution (PyTorch ConvTranspose2d): the adjoint (gradient) of a <see cref="Conv2d"/> with the
/// same kernel, stride and padding whose input is this layer's output. Every input pixel x[c, iy, ix] scatters
/// weight[c, oc, ky, kx] * x into y[oc, iy*s - p + ky, ix*s - p + kx] (dropped where that falls outside the output).
/// <para>
/// By GEMM + col2im, one sample at a time, with a caller-provided scratch of at least
/// <see cref="ConvTranspose2dGeometry.ColumnSize"/> floats (none for a pointwise 1x1/s1/p0 layer):
/// forward col[outC*k*k, inH*inW] = W^T x, then col2im scatter-adds col into y; backward-data is a plain
/// convolution of dy with W (im2col(dy), then W * col); backward-weights is x * im2col(dy)^T.
/// The column matrix is indexed col[(oc*k + ky)*k + kx, iy*inW + ix] and pairs input pixel (iy, ix) with
/// output pixel (iy*s - p + ky, ix*s - p + kx). Outputs must not overlap inputs.
/// </para>
/// </summary>
public static unsafe class ConvTranspose2d
{
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int batch, in ConvTranspose2dGeometry g, Span<float> scratch)
        => Forward(Simd.Best, output, input, weight, bias, batch, g, scratch);

    internal static void Forward(SimdPath path,
        Span<float> output /*[batch, outC, outH, outW]*/, ReadOnlySpan<float> input /*[batch, inC, inH, inW]*/,
        ReadOnlySpan<float> weight /*[inC, outC, k, k]*/, ReadOnlySpan<float> bias /*[outC] or empty*/,
        int batch, in ConvTranspose2dGeometry g, Span<float> scratch /*[outC*k*k, inH*inW]*/)
    {
        CheckCommon(batch, g, scratch, output.Length, nameof(output), input.Length, nameof(input), weight.Length);
        Guard.EmptyOrAtLeast(bias.Length, g.OutChannels, nameof(bias));

        int inHW = g.InHeight * g.InWidth, outHW = g.OutHeight * g.OutWidth;
        int columnRows = g.OutChannels * g.Kernel * g.Kernel;
        bool hasBias = bias.Length != 0;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> x = input.Slice(n * g.InputSize, g.InputSize);    // [inC, inH*inW]
            Span<float> y = output.Slice(n * g.OutputSize, g.OutputSize);         // [outC, outH*outW]
            if (hasBias)
            {
                for (int oc = 0; oc < g.OutChannels; oc++) y.Slice(oc * outHW, outHW).Fill(bias[oc]);
            }
            if (g.IsPointwise)
            {
                // y[outC, H*W] (+)= weight[inC, outC]^T * x[inC, H*W]
                Gemm.Multiply(path, true, false, g.OutChannels, inHW, g.InChannels, weight, x, y, accumulate: hasBias);
                continue;
            }
            // col[outC*k*k, inH*inW] = weight[inC, outC*k*k]^T * x[inC, inH*inW]
            Gemm.Multiply(path, true, false, columnRows, inHW, g.InChannels, weight, x, scratch, accumulate: false);
            if (!hasBias) y.Clear();
            Col2ImAdd(y, scratch, g);
        }
    }

    public static void BackwardData(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> weight,
        int batch, in ConvTranspose2dGeometry g, Span<float> scratch, bool accumulate)
        => BackwardData(Simd.Best, dInput, dOutput, weight, batch, g, scratch, accumulate);

    internal static void BackwardData(SimdPath path,
        Span<float> dInput /*[batch, inC, inH, inW]*/, ReadOnlySpan<float> dOutput /*[batch, outC, outH, outW]*/,
        ReadOnlySpan<float> weight /*[inC, outC, k, k]*/,
        int batch, in ConvTranspose2dGeometry g, Span<float> scratch /*[outC*k*k, inH*inW]*/, bool accumulate)
    {
        CheckCommon(batch, g, scratch, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput), weight.Length);

        int inHW = g.InHeight * g.InWidth;
        int columnRows = g.OutChannels * g.Kernel * g.Kernel;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> dy = dOutput.Slice(n * g.OutputSize, g.OutputSize);   // [outC, outH*outW]
            Span<float> dx = dInput.Slice(n * g.InputSize, g.InputSize);              // [inC, inH*inW]
            ReadOnlySpan<float> col = dy;
            if (!g.IsPointwise)
            {
                Im2Col(scratch, dy, g);
                col = scratch;
            }
            // dx[inC, inH*inW] (=|+=) weight[inC, outC*k*k] * col[outC*k*k, inH*inW]
            Gemm.Multiply(path, false, false, g.InChannels, inHW, columnRows, weight, col, dx, accumulate);
        }
    }

    /// <summary>dWeight += x * im2col(dOutput)^T and dBias += per-channel sums of dOutput (over batch and space). Always accumulates.</summary>
    public static void BackwardWeights(Span<float> dWeight, Span<float> dBias, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> input,
        int batch, in ConvTranspose2dGeometry g, Span<float> scratch)
        => BackwardWeights(Simd.Best, dWeight, dBias, dOutput, input, batch, g, scratch);

    internal static void BackwardWeights(SimdPath path,
        Span<float> dWeight /*[inC, outC, k, k]*/, Span<float> dBias /*[outC] or empty*/,
        ReadOnlySpan<float> dOutput /*[batch, outC, outH, outW]*/, ReadOnlySpan<float> input /*[batch, inC, inH, inW]*/,
        int batch, in ConvTranspose2dGeometry g, Span<float> scratch /*[outC*k*k, inH*inW]*/)
    {
        CheckCommon(batch, g, scratch, dOutput.Length, nameof(dOutput), input.Length, nameof(input), dWeight.Length, nameof(dWeight));
        Guard.EmptyOrAtLeast(dBias.Length, g.OutChannels, nameof(dBias));

        int inHW = g.InHeight * g.InWidth, outHW = g.OutHeight * g.OutWidth;
        int columnRows = g.OutChannels * g.Kernel * g.Kernel;
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> x = input.Slice(n * g.InputSize, g.InputSize);        // [inC, inH*inW]
            ReadOnlySpan<float> dy = dOutput.Slice(n * g.OutputSize, g.OutputSize);   // [outC, outH*outW]
            ReadOnlySpan<float> col = dy;
            if (!g.IsPointwise)
            {
                Im2Col(scratch, dy, g);
                col = scratch;
            }
            // dWeight[inC, outC*k*k] += x[inC, inH*inW] * col[outC*k*k, inH*inW]^T
            Gemm.Multiply(path, false, true, g.InChannels, columnRows, inHW, x, col, dWeight, accumulate: true);
            if (dBias.Length != 0)
            {
                for (int oc = 0; oc < g.OutChannels; oc++)
                    dBias[oc] += Elementwise.Sum(path, dy.Slice(oc * outHW, outHW));
            }
        }
    }

    /// <summary>
    /// A transposed convolution is the adjoint of the convolution that maps its output back to its input, so its
    /// column transforms are exactly <see cref="Conv2d"/>'s on that geometry: [outC, outH, outW] -> [inC, inH, inW]
    /// with the same kernel, stride and padding (output padding only adds rows that convolution never reads past).
    /// </summary>
    private static Conv2dGeometry Adjoint(in ConvTranspose2dGeometry g) =>
        new(g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, g.Kernel, g.Stride, g.Padding);

    /// <summary>col[outC*k*k, inH*inW] gathered from the output-sized image (0 where cropped by padding).</summary>
    internal static void Im2Col(Span<float> col, ReadOnlySpan<float> image, in ConvTranspose2dGeometry g) => Conv2d.Im2Col(col, image, Adjoint(g));

    /// <summary>The adjoint of <see cref="Im2Col"/>: scatter-adds the columns into the output-sized image.</summary>
    internal static void Col2ImAdd(Span<float> image, ReadOnlySpan<float> col, in ConvTranspose2dGeometry g) => Conv2d.Col2ImAdd(image, col, Adjoint(g));

    private static void CheckCommon(int batch, in ConvTranspose2dGeometry g, Span<float> scratch,
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
