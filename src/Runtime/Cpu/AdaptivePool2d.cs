using System;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>
/// Adaptive average pooling (PyTorch nn.AdaptiveAvgPool2d), NCHW: output cell (oy, ox) averages input rows
/// [floor(oy*inH/outH), ceil((oy+1)*inH/outH)) and columns [floor(ox*inW/outW), ceil((ox+1)*inW/outW)).
/// Bins may overlap (and repeat when out &gt; in); the backward pass scatter-adds. Fast paths: 1x1 output
/// (global average pooling, a vectorised sum per plane) and output size == input size (a copy).
/// Outputs must not overlap inputs.
/// </summary>
public static unsafe class AdaptivePool2d
{
    public static void AvgForward(Span<float> output, ReadOnlySpan<float> input,
        int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
        => AvgForward(Simd.Best, output, input, batch, channels, inHeight, inWidth, outHeight, outWidth);

    internal static void AvgForward(SimdPath path, Span<float> output /*[batch, C, outH, outW]*/, ReadOnlySpan<float> input /*[batch, C, inH, inW]*/,
        int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        Check(batch, channels, inHeight, inWidth, outHeight, outWidth, output.Length, nameof(output), input.Length, nameof(input));
        int planes = batch * channels, inHW = inHeight * inWidth, outHW = outHeight * outWidth;
        if (outHeight == inHeight && outWidth == inWidth)
        {
            input.Slice(0, planes * inHW).CopyTo(output);
            return;
        }
        if (outHW == 1)
        {
            float scale = 1f / inHW;
            for (int plane = 0; plane < planes; plane++)
                output[plane] = Elementwise.Sum(path, input.Slice(plane * inHW, inHW)) * scale;
            return;
        }
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> x = input.Slice(plane * inHW, inHW);
            Span<float> y = output.Slice(plane * outHW, outHW);
            for (int oy = 0; oy < outHeight; oy++)
            {
                int y0 = BinStart(oy, inHeight, outHeight), y1 = BinEnd(oy, inHeight, outHeight);
                for (int ox = 0; ox < outWidth; ox++)
                {
                    int x0 = BinStart(ox, inWidth, outWidth), x1 = BinEnd(ox, inWidth, outWidth);
                    float sum = 0f;
                    for (int iy = y0; iy < y1; iy++)
                    {
                        int row = iy * inWidth;
                        for (int ix = x0; ix < x1; ix++) sum += x[row + ix];
                    }
                    y[oy * outWidth + ox] = sum / ((y1 - y0) * (x1 - x0));
                }
            }
        }
    }

    /// <summary>dInput (=|+=) each bin's dOutput / (bin area), spread over the bin.</summary>
    public static void AvgBackward(Span<float> dInput, ReadOnlySpan<float> dOutput,
        int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth, bool accumulate)
        => AvgBackward(Simd.Best, dInput, dOutput, batch, channels, inHeight, inWidth, outHeight, outWidth, accumulate);

    internal static void AvgBackward(SimdPath path, Span<float> dInput /*[batch, C, inH, inW]*/, ReadOnlySpan<float> dOutput /*[batch, C, outH, outW]*/,
        int batch, int channels, int inHeight, int inWidth, int outHeight, int outWidth, bool accumulate)
    {
        Check(batch, channels, inHeight, inWidth, outHeight, outWidth, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput));
        int planes = batch * channels, inHW = inHeight * inWidth, outHW = outHeight * outWidth;
        if (outHeight == inHeight && outWidth == inWidth)
        {
            Elementwise.CopyOrAdd(path, dInput.Slice(0, planes * inHW), dOutput.Slice(0, planes * inHW), accumulate);
            return;
        }
        if (outHW == 1)
        {
            float scale = 1f / inHW;
            for (int plane = 0; plane < planes; plane++)
            {
                Span<float> dx = dInput.Slice(plane * inHW, inHW);
                float grad = dOutput[plane] * scale;
                if (accumulate) AddScalar(path, dx, grad);
                else Elementwise.Fill(path, dx, grad);
            }
            return;
        }
        if (!accumulate) dInput.Slice(0, planes * inHW).Clear();
        for (int plane = 0; plane < planes; plane++)
        {
            Span<float> dx = dInput.Slice(plane * inHW, inHW);
            ReadOnlySpan<float> dy = dOutput.Slice(plane * outHW, outHW);
            for (int oy = 0; oy < outHeight; oy++)
            {
                int y0 = BinStart(oy, inHeight, outHeight), y1 = BinEnd(oy, inHeight, outHeight);
                for (int ox = 0; ox < outWidth; ox++)
                {
                    int x0 = BinStart(ox, inWidth, outWidth), x1 = BinEnd(ox, inWidth, outWidth);
                    float grad = dy[oy * outWidth + ox] / ((y1 - y0) * (x1 - x0));
                    for (int iy = y0; iy < y1; iy++)
                    {
                        int row = iy * inWidth;
                        for (int ix = x0; ix < x1; ix++) dx[row + ix] += grad;
                    }
                }
            }
        }
    }

    /// <summary>floor(i * inSize / outSize).</summary>
    internal static int BinStart(int i, int inSize, int outSize) => (int)((long)i * inSize / outSize);

    /// <summary>ceil((i + 1) * inSize / outSize).</summary>
    internal static int BinEnd(int i, int inSize, int outSize) => (int)(((long)(i + 1) * inSize + outSize - 1) / outSize);

    /// <summary>values[i] += value.</summary>
    private static void AddScalar(SimdPath path, Span<float> values /*[count]*/, float value)
    {
        if (path == SimdPath.Scalar)
        {
            for (int i = 0; i < values.Length; i++) values[i] += value;
            return;
        }
        fixed (float* pv = values)
        {
            switch (path)
            {
                case SimdPath.Vector512: AddScalarVector<Vector512<float>, Vector512Ops>(pv, value, values.Length); break;
                case SimdPath.Vector256: AddScalarVector<Vector256<float>, Vector256Ops>(pv, value, values.Length); break;
                default: AddScalarVector<Vector128<float>, Vector128Ops>(pv, value, values.Length); break;
            }
        }
    }

    private static void AddScalarVector<TVec, TOps>(float* values, float value, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec v = TOps.Broadcast(value);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count) TOps.Store(TOps.Add(TOps.Load(values + i), v), values + i);
        for (; i < count; i++) values[i] += value;
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
