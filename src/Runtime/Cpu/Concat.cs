using System;

namespace NetGen.Cpu;

/// <summary>
/// Concatenation along the feature axis (channels for NCHW: inSize = C_in * H * W, offset = channel offset * H * W).
/// Each input occupies [offset, offset + inSize) of every sample's outSize floats; the generated code
/// calls Forward once per input. The output must not overlap the input.
/// </summary>
public static class Concat
{
    /// <summary>output[n, offset .. offset + inSize) = input[n, ..] for every sample n; the rest of the output is untouched.</summary>
    public static void Forward(Span<float> output /*[batch, outSize]*/, ReadOnlySpan<float> input /*[batch, inSize]*/,
        int batch, int inSize, int outSize, int offset)
    {
        Check(batch, inSize, outSize, offset, output.Length, nameof(output), input.Length, nameof(input));
        if (inSize == outSize)
        {
            input.Slice(0, batch * inSize).CopyTo(output);
            return;
        }
        for (int n = 0; n < batch; n++)
            input.Slice(n * inSize, inSize).CopyTo(output.Slice(n * outSize + offset, inSize));
    }

    /// <summary>dInput[n, ..] (=|+=) dOutput[n, offset .. offset + inSize) for every sample n.</summary>
    public static void Backward(Span<float> dInput /*[batch, inSize]*/, ReadOnlySpan<float> dOutput /*[batch, outSize]*/,
        int batch, int inSize, int outSize, int offset, bool accumulate)
        => Backward(Simd.Best, dInput, dOutput, batch, inSize, outSize, offset, accumulate);

    internal static void Backward(SimdPath path, Span<float> dInput /*[batch, inSize]*/, ReadOnlySpan<float> dOutput /*[batch, outSize]*/,
        int batch, int inSize, int outSize, int offset, bool accumulate)
    {
        Check(batch, inSize, outSize, offset, dOutput.Length, nameof(dOutput), dInput.Length, nameof(dInput));
        if (inSize == outSize)
        {
            Elementwise.CopyOrAdd(path, dInput.Slice(0, batch * inSize), dOutput.Slice(0, batch * inSize), accumulate);
            return;
        }
        for (int n = 0; n < batch; n++)
            Elementwise.CopyOrAdd(path, dInput.Slice(n * inSize, inSize), dOutput.Slice(n * outSize + offset, inSize), accumulate);
    }

    private static void Check(int batch, int inSize, int outSize, int offset, int wideLength, string wideName, int narrowLength, string narrowName)
    {
        Guard.NonNegative(batch, nameof(batch));
        Guard.NonNegative(inSize, nameof(inSize));
        Guard.NonNegative(offset, nameof(offset));
        if ((long)offset + inSize > outSize)
            throw new ArgumentOutOfRangeException(nameof(offset), offset,
                $"Concat slice [{offset}, {(long)offset + inSize}) does not fit in the {outSize} features of each output sample.");
        Guard.AtLeast(wideLength, (long)batch * outSize, wideName);
        Guard.AtLeast(narrowLength, (long)batch * inSize, narrowName);
    }
}
