using System;

namespace NetGen.Cpu;

/// <summary>Fully connected layer, y = x W^T + b, with weight [out, in] like PyTorch's nn.Linear.</summary>
public static class Dense
{
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int batch, int inFeatures, int outFeatures)
        => Forward(Simd.Best, output, input, weight, bias, batch, inFeatures, outFeatures);

    internal static void Forward(SimdPath path,
        Span<float> output /*[batch, out]*/, ReadOnlySpan<float> input /*[batch, in]*/,
        ReadOnlySpan<float> weight /*[out, in]*/, ReadOnlySpan<float> bias /*[out] or empty*/,
        int batch, int inFeatures, int outFeatures)
    {
        CheckDims(batch, inFeatures, outFeatures);
        Guard.AtLeast(output.Length, (long)batch * outFeatures, nameof(output));
        Guard.AtLeast(input.Length, (long)batch * inFeatures, nameof(input));
        Guard.AtLeast(weight.Length, (long)outFeatures * inFeatures, nameof(weight));
        Guard.EmptyOrAtLeast(bias.Length, outFeatures, nameof(bias));

        bool hasBias = bias.Length != 0;
        if (hasBias)
        {
            ReadOnlySpan<float> b = bias.Slice(0, outFeatures);
            for (int n = 0; n < batch; n++) b.CopyTo(output.Slice(n * outFeatures, outFeatures));
        }
        // output[batch, out] (+)= input[batch, in] * weight[out, in]^T
        Gemm.Multiply(path, false, true, batch, outFeatures, inFeatures, input, weight, output, accumulate: hasBias);
    }

    public static void BackwardData(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> weight,
        int batch, int inF, int outF, bool accumulate)
        => BackwardData(Simd.Best, dInput, dOutput, weight, batch, inF, outF, accumulate);

    internal static void BackwardData(SimdPath path,
        Span<float> dInput /*[batch, in]*/, ReadOnlySpan<float> dOutput /*[batch, out]*/, ReadOnlySpan<float> weight /*[out, in]*/,
        int batch, int inF, int outF, bool accumulate)
    {
        CheckDims(batch, inF, outF);
        Guard.AtLeast(dInput.Length, (long)batch * inF, nameof(dInput));
        Guard.AtLeast(dOutput.Length, (long)batch * outF, nameof(dOutput));
        Guard.AtLeast(weight.Length, (long)outF * inF, nameof(weight));
        // dInput[batch, in] (=|+=) dOutput[batch, out] * weight[out, in]
        Gemm.Multiply(path, false, false, batch, inF, outF, dOutput, weight, dInput, accumulate);
    }

    /// <summary>dWeight += dOutput^T * input; dBias += column sums of dOutput. Always accumulates.</summary>
    public static void BackwardWeights(Span<float> dWeight, Span<float> dBias, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> input,
        int batch, int inF, int outF)
        => BackwardWeights(Simd.Best, dWeight, dBias, dOutput, input, batch, inF, outF);

    internal static void BackwardWeights(SimdPath path,
        Span<float> dWeight /*[out, in]*/, Span<float> dBias /*[out] or empty*/,
        ReadOnlySpan<float> dOutput /*[batch, out]*/, ReadOnlySpan<float> input /*[batch, in]*/,
        int batch, int inF, int outF)
    {
        CheckDims(batch, inF, outF);
        Guard.AtLeast(dWeight.Length, (long)outF * inF, nameof(dWeight));
        Guard.EmptyOrAtLeast(dBias.Length, outF, nameof(dBias));
        Guard.AtLeast(dOutput.Length, (long)batch * outF, nameof(dOutput));
        Guard.AtLeast(input.Length, (long)batch * inF, nameof(input));

        // dWeight[out, in] += dOutput[batch, out]^T * input[batch, in]
        Gemm.Multiply(path, true, false, outF, inF, batch, dOutput, input, dWeight, accumulate: true);
        if (dBias.Length != 0)
        {
            Span<float> db = dBias.Slice(0, outF);
            for (int n = 0; n < batch; n++)
                Elementwise.CopyOrAdd(path, db, dOutput.Slice(n * outF, outF), accumulate: true);
        }
    }

    private static void CheckDims(int batch, int inFeatures, int outFeatures)
    {
        Guard.NonNegative(batch, nameof(batch));
        Guard.NonNegative(inFeatures, nameof(inFeatures));
        Guard.NonNegative(outFeatures, nameof(outFeatures));
    }
}
