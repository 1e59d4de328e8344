using System;

namespace NetGen.Cpu;

/// <summary>
/// Spatial resampling of NCHW tensors to an explicit output size, PyTorch's F.interpolate(size=(outH, outW)) /
/// nn.Upsample(size=...): mode 'nearest' and mode 'bilinear' with align_corners=False. Any positive sizes
/// (upsampling, downsampling, non-integer ratios). Indices follow PyTorch's CPU kernels, which compute the
/// ratio scale = in / out in float:
/// <list type="bullet">
/// <item>nearest: src = min(floor(dst * scale), in - 1) (exactly dst when out == in, dst / 2 when out == 2 in),
/// i.e. floor(dst * in / out) up to float rounding of the ratio.</item>
/// <item>bilinear: real = max((dst + 0.5) * scale - 0.5, 0); i0 = min(floor(real), in - 1); i1 = i0 + (i0 &lt; in - 1 ? 1 : 0);
/// lambda1 = clamp(real - i0, 0, 1), lambda0 = 1 - lambda1 (i0 = i1 = dst, lambda0 = 1 when out == in);
/// y = sum over the 2x2 taps of lambdaY * lambdaX * x.</item>
/// </list>
/// Backward kernels scatter-add dOutput through the same taps (several outputs may share an input pixel).
/// Scalar loops: resampling is a small share of the work. Outputs must not overlap inputs.
/// Note: nn.Upsample(scale_factor=f) with a non-integer f uses 1/f rather than in/out as the ratio; these
/// kernels reproduce the size= form (identical whenever out == f * in exactly).
/// </summary>
public static class Upsample2d
{
    // ================================================================ nearest

    /// <summary>output[n, c, oy, ox] = input[n, c, srcY(oy), srcX(ox)].</summary>
    public static void NearestForward(Span<float> output /*[batch, C, outH, outW]*/, ReadOnlySpan<float> input /*[batch, C, inH, inW]*/,
        int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        Check(batch, channels, inHeight, inWidth, outHeight, outWidth, output.Length, nameof(output), input.Length, nameof(input));
        int planes = batch * channels, inHW = inHeight * inWidth, outHW = outHeight * outWidth;
        if (outHeight == inHeight && outWidth == inWidth)
        {
            input.Slice(0, planes * inHW).CopyTo(output);
            return;
        }
        float scaleY = Ratio(inHeight, outHeight), scaleX = Ratio(inWidth, outWidth);
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> x = input.Slice(plane * inHW, inHW);    // [inH, inW]
            Span<float> y = output.Slice(plane * outHW, outHW);         // [outH, outW]
            for (int oy = 0; oy < outHeight; oy++)
            {
                ReadOnlySpan<float> xRow = x.Slice(NearestIndex(oy, inHeight, outHeight, scaleY) * inWidth, inWidth);   // [inW]
                Span<float> yRow = y.Slice(oy * outWidth, outWidth);                                                    // [outW]
                for (int ox = 0; ox < outWidth; ox++) yRow[ox] = xRow[NearestIndex(ox, inWidth, outWidth, scaleX)];
            }
        }
    }

    /// <summary>dInput (=|+=) the sum of dOutput over every output pixel that copied the input pixel.</summary>
    public static void NearestBackward(Span<float> dInput /*[batch, C, inH, inW]*/, ReadOnlySpan<float> dOutput /*[batch, C, outH, outW]*/,
        int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth, bool accumulate)
    {
        Check(batch, channels, inHeight, inWidth, outHeight, outWidth, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput));
        int planes = batch * channels, inHW = inHeight * inWidth, outHW = outHeight * outWidth;
        if (outHeight == inHeight && outWidth == inWidth)
        {
            Elementwise.CopyOrAdd(dInput.Slice(0, planes * inHW), dOutput.Slice(0, planes * inHW), accumulate);
            return;
        }
        if (!accumulate) dInput.Slice(0, planes * inHW).Clear();
        float scaleY = Ratio(inHeight, outHeight), scaleX = Ratio(inWidth, outWidth);
        for (int plane = 0; plane < planes; plane++)
        {
            Span<float> dx = dInput.Slice(plane * inHW, inHW);             // [inH, inW]
            ReadOnlySpan<float> dy = dOutput.Slice(plane * outHW, outHW);  // [outH, outW]
            for (int oy = 0; oy < outHeight; oy++)
            {
                Span<float> dxRow = dx.Slice(NearestIndex(oy, inHeight, outHeight, scaleY) * inWidth, inWidth);   // [inW]
                ReadOnlySpan<float> dyRow = dy.Slice(oy * outWidth, outWidth);                                      // [outW]
                for (int ox = 0; ox < outWidth; ox++) dxRow[NearestIndex(ox, inWidth, outWidth, scaleX)] += dyRow[ox];
            }
        }
    }

    // ================================================================ bilinear (align_corners=False)

    /// <summary>output[n, c, oy, ox] = bilinear interpolation of input[n, c] at PyTorch's align_corners=False source point.</summary>
    public static void BilinearForward(Span<float> output /*[batch, C, outH, outW]*/, ReadOnlySpan<float> input /*[batch, C, inH, inW]*/,
        int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        Check(batch, channels, inHeight, inWidth, outHeight, outWidth, output.Length, nameof(output), input.Length, nameof(input));
        int planes = batch * channels, inHW = inHeight * inWidth, outHW = outHeight * outWidth;
        if (outHeight == inHeight && outWidth == inWidth)
        {
            input.Slice(0, planes * inHW).CopyTo(output);
            return;
        }
        float scaleY = Ratio(inHeight, outHeight), scaleX = Ratio(inWidth, outWidth);
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> x = input.Slice(plane * inHW, inHW);    // [inH, inW]
            Span<float> y = output.Slice(plane * outHW, outHW);         // [outH, outW]
            for (int oy = 0; oy < outHeight; oy++)
            {
                LinearTaps(oy, inHeight, outHeight, scaleY, out int y0, out int y1, out float wy0, out float wy1);
                ReadOnlySpan<float> row0 = x.Slice(y0 * inWidth, inWidth);   // [inW]
                ReadOnlySpan<float> row1 = x.Slice(y1 * inWidth, inWidth);   // [inW]
                Span<float> yRow = y.Slice(oy * outWidth, outWidth);         // [outW]
                for (int ox = 0; ox < outWidth; ox++)
                {
                    LinearTaps(ox, inWidth, outWidth, scaleX, out int x0, out int x1, out float wx0, out float wx1);
                    yRow[ox] = wy0 * (wx0 * row0[x0] + wx1 * row0[x1]) + wy1 * (wx0 * row1[x0] + wx1 * row1[x1]);
                }
            }
        }
    }

    /// <summary>dInput (=|+=) the bilinear weights times dOutput, scattered onto each output pixel's 2x2 source taps.</summary>
    public static void BilinearBackward(Span<float> dInput /*[batch, C, inH, inW]*/, ReadOnlySpan<float> dOutput /*[batch, C, outH, outW]*/,
        int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth, bool accumulate)
    {
        Check(batch, channels, inHeight, inWidth, outHeight, outWidth, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput));
        int planes = batch * channels, inHW = inHeight * inWidth, outHW = outHeight * outWidth;
        if (outHeight == inHeight && outWidth == inWidth)
        {
            Elementwise.CopyOrAdd(dInput.Slice(0, planes * inHW), dOutput.Slice(0, planes * inHW), accumulate);
            return;
        }
        if (!accumulate) dInput.Slice(0, planes * inHW).Clear();
        float scaleY = Ratio(inHeight, outHeight), scaleX = Ratio(inWidth, outWidth);
        for (int plane = 0; plane < planes; plane++)
        {
            Span<float> dx = dInput.Slice(plane * inHW, inHW);             // [inH, inW]
            ReadOnlySpan<float> dy = dOutput.Slice(plane * outHW, outHW);  // [outH, outW]
            for (int oy = 0; oy < outHeight; oy++)
            {
                LinearTaps(oy, inHeight, outHeight, scaleY, out int y0, out int y1, out float wy0, out float wy1);
                Span<float> row0 = dx.Slice(y0 * inWidth, inWidth);               // [inW]
                Span<float> row1 = dx.Slice(y1 * inWidth, inWidth);               // [inW] (may be row0 at the bottom edge)
                ReadOnlySpan<float> dyRow = dy.Slice(oy * outWidth, outWidth);   // [outW]
                for (int ox = 0; ox < outWidth; ox++)
                {
                    LinearTaps(ox, inWidth, outWidth, scaleX, out int x0, out int x1, out float wx0, out float wx1);
                    float g0 = wy0 * dyRow[ox], g1 = wy1 * dyRow[ox];
                    row0[x0] += wx0 * g0;
                    row0[x1] += wx1 * g0;
                    row1[x0] += wx0 * g1;
                    row1[x1] += wx1 * g1;
                }
            }
        }
    }

    // ================================================================ indices

    /// <summary>PyTorch's ratio for an explicit output size: (float)in / out.</summary>
    private static float Ratio(int inSize, int outSize) => (float)inSize / outSize;

    /// <summary>PyTorch nearest_idx: dst when out == in, dst / 2 when out == 2 in, else min(floor(dst * scale), in - 1).</summary>
    internal static int NearestIndex(int dst, int inSize, int outSize, float scale)
    {
        if (outSize == inSize) return dst;
        if (outSize == 2 * inSize) return dst >> 1;
        int src = (int)MathF.Floor(dst * scale);
        return src < inSize - 1 ? src : inSize - 1;
    }

    /// <summary>PyTorch compute_source_index_and_lambda (align_corners=False): taps i0, i1 and their weights w0 + w1 = 1.</summary>
    internal static void LinearTaps(int dst, int inSize, int outSize, float scale, out int i0, out int i1, out float w0, out float w1)
    {
        if (outSize == inSize)
        {
            i0 = i1 = dst;
            w0 = 1f;
            w1 = 0f;
            return;
        }
        float real = scale * (dst + 0.5f) - 0.5f;
        if (real < 0f) real = 0f;
        int index = (int)MathF.Floor(real);
        if (index > inSize - 1) index = inSize - 1;
        float lambda = real - index;
        if (lambda < 0f) lambda = 0f;
        else if (lambda > 1f) lambda = 1f;
        i0 = index;
        i1 = index < inSize - 1 ? index + 1 : index;
        w1 = lambda;
        w0 = 1f - lambda;
    }

    private static void Check(int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth,
        int outputLength, string outputName, int inputLength, string inputName)
    {
        Guard.NonNegative(batch, nameof(batch));
        Guard.Positive(channels, nameof(channels));
        Guard.Positive(inHeight, nameof(inHeight));
        Guard.Positive(inWidth, nameof(inWidth));
        Guard.Positive(outHeight, nameof(outHeight));
        Guard.Positive(outWidth, nameof(outWidth));
        Guard.AtLeast(outputLength, (long)batch * channels * outHeight * outWidth, outputName);
        Guard.AtLeast(inputLength, (long)batch * channels * inHeight * inWidth, inputName);
    }
}
