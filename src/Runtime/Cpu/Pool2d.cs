using System;

namespace NetGen.Cpu;

/// <summary>Shape of a 2-d pooling: kernel x kernel window, stride, no padding, NCHW. Sizes are per sample.</summary>
public readonly record struct Pool2dGeometry(int Channels, int InHeight, int InWidth, int Kernel, int Stride)
{
    public int OutHeight => (InHeight - Kernel) / Stride + 1;
    public int OutWidth => (InWidth - Kernel) / Stride + 1;
    /// <summary>Channels * InHeight * InWidth.</summary>
    public int InputSize => Channels * InHeight * InWidth;
    /// <summary>Channels * OutHeight * OutWidth.</summary>
    public int OutputSize => Channels * OutHeight * OutWidth;

    /// <summary>Only the defining values, so an invalid geometry (stride 0) still prints.</summary>
    public override string ToString()
        => $"Pool2dGeometry {{ Channels = {Channels}, InHeight = {InHeight}, InWidth = {InWidth}, Kernel = {Kernel}, Stride = {Stride} }}";

    internal void Validate()
    {
        if (Channels <= 0 || InHeight <= 0 || InWidth <= 0 || Kernel <= 0 || Stride <= 0)
            throw new ArgumentException($"Invalid pooling geometry {this}: channels, sizes, kernel and stride must be positive.", "g");
        if (Kernel > InHeight || Kernel > InWidth)
            throw new ArgumentException($"Invalid pooling geometry {this}: the {Kernel}x{Kernel} window is larger than the input.", "g");
    }
}

/// <summary>
/// Average and max pooling. Plain scalar loops (pooling is a small share of the work). Backward
/// kernels scatter-add into dInput, so overlapping windows (stride &lt; kernel) are handled.
/// </summary>
public static class Pool2d
{
    /// <summary>output = mean of each kernel x kernel window.</summary>
    public static void AvgForward(Span<float> output /*[batch, C, outH, outW]*/, ReadOnlySpan<float> input /*[batch, C, inH, inW]*/,
        int batch, in Pool2dGeometry g)
    {
        Check(batch, g, output.Length, nameof(output), input.Length, nameof(input));
        int k = g.Kernel, s = g.Stride, inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        float scale = 1f / (k * k);
        int planes = batch * g.Channels;
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> x = input.Slice(plane * inH * inW, inH * inW);
            Span<float> y = output.Slice(plane * outH * outW, outH * outW);
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ox = 0; ox < outW; ox++)
                {
                    float sum = 0f;
                    for (int ky = 0; ky < k; ky++)
                    {
                        int rowStart = (oy * s + ky) * inW + ox * s;
                        for (int kx = 0; kx < k; kx++) sum += x[rowStart + kx];
                    }
                    y[oy * outW + ox] = sum * scale;
                }
            }
        }
    }

    /// <summary>dInput (=|+=) each window's dOutput / (kernel*kernel) spread over the window.</summary>
    public static void AvgBackward(Span<float> dInput /*[batch, C, inH, inW]*/, ReadOnlySpan<float> dOutput /*[batch, C, outH, outW]*/,
        int batch, in Pool2dGeometry g, bool accumulate)
    {
        Check(batch, g, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput));
        int k = g.Kernel, s = g.Stride, inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        float scale = 1f / (k * k);
        if (!accumulate) dInput.Slice(0, batch * g.InputSize).Clear();
        int planes = batch * g.Channels;
        for (int plane = 0; plane < planes; plane++)
        {
            Span<float> dx = dInput.Slice(plane * inH * inW, inH * inW);
            ReadOnlySpan<float> dy = dOutput.Slice(plane * outH * outW, outH * outW);
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ox = 0; ox < outW; ox++)
                {
                    float grad = dy[oy * outW + ox] * scale;
                    for (int ky = 0; ky < k; ky++)
                    {
                        int rowStart = (oy * s + ky) * inW + ox * s;
                        for (int kx = 0; kx < k; kx++) dx[rowStart + kx] += grad;
                    }
                }
            }
        }
    }

    /// <summary>output = max of each window.</summary>
    public static void MaxForward(Span<float> output /*[batch, C, outH, outW]*/, ReadOnlySpan<float> input /*[batch, C, inH, inW]*/,
        int batch, in Pool2dGeometry g)
    {
        Check(batch, g, output.Length, nameof(output), input.Length, nameof(input));
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        int planes = batch * g.Channels;
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> x = input.Slice(plane * inH * inW, inH * inW);
            Span<float> y = output.Slice(plane * outH * outW, outH * outW);
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                    y[oy * outW + ox] = x[ArgMaxInWindow(x, g, oy, ox)];
        }
    }

    /// <summary>
    /// dInput (=|+=) dOutput routed to each window's argmax, re-found in the input
    /// (ties go to the first element in row-major window order).
    /// </summary>
    public static void MaxBackward(Span<float> dInput /*[batch, C, inH, inW]*/, ReadOnlySpan<float> dOutput /*[batch, C, outH, outW]*/,
        ReadOnlySpan<float> input /*[batch, C, inH, inW]*/, int batch, in Pool2dGeometry g, bool accumulate)
    {
        Check(batch, g, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput));
        Guard.AtLeast(input.Length, (long)batch * g.InputSize, nameof(input));
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        if (!accumulate) dInput.Slice(0, batch * g.InputSize).Clear();
        int planes = batch * g.Channels;
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> x = input.Slice(plane * inH * inW, inH * inW);
            Span<float> dx = dInput.Slice(plane * inH * inW, inH * inW);
            ReadOnlySpan<float> dy = dOutput.Slice(plane * outH * outW, outH * outW);
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                    dx[ArgMaxInWindow(x, g, oy, ox)] += dy[oy * outW + ox];
        }
    }

    /// <summary>Index in the plane of the window's maximum; strict &gt; keeps the first of equal values.</summary>
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
                if (v > max) { max = v; best = rowStart + kx; }
            }
        }
        return best;
    }

    private static void Check(int batch, in Pool2dGeometry g, int outputLength, string outputName, int inputLength, string inputName)
    {
        g.Validate();
        Guard.NonNegative(batch, nameof(batch));
        Guard.AtLeast(outputLength, (long)batch * g.OutputSize, outputName);
        Guard.AtLeast(inputLength, (long)batch * g.InputSize, inputName);
    }
}
