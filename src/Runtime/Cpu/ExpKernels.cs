using System;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>
/// Elementwise exponential over count = batch * features (PyTorch torch.exp), e.g. the std = exp(0.5 logVar)
/// step of a VAE. exp overflows to +infinity above ~88.72 and underflows to 0 below ~-103.97; NaN stays NaN.
/// The backward kernel takes the forward OUTPUT y: dx = dy * y. Output may be the very same span as the input.
/// </summary>
public static unsafe class Exp
{
    public static void Forward(Span<float> output, ReadOnlySpan<float> input) => Forward(Simd.Best, output, input);

    internal static void Forward(SimdPath path, Span<float> output /*[count]*/, ReadOnlySpan<float> input /*[count]*/)
    {
        Guard.SameLength(input.Length, output.Length, nameof(input));
        if (path == SimdPath.Scalar) { ForwardScalar(output, input); return; }
        fixed (float* y = output, x = input)
        {
            switch (path)
            {
                case SimdPath.Vector512: ForwardVector<Vector512<float>, Vector512Ops>(y, x, output.Length); break;
                case SimdPath.Vector256: ForwardVector<Vector256<float>, Vector256Ops>(y, x, output.Length); break;
                default: ForwardVector<Vector128<float>, Vector128Ops>(y, x, output.Length); break;
            }
        }
    }

    internal static void ForwardScalar(Span<float> output, ReadOnlySpan<float> input)
    {
        for (int i = 0; i < output.Length; i++) output[i] = MathF.Exp(input[i]);
    }

    private static void ForwardVector<TVec, TOps>(float* output, float* input, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
            TOps.Store(TOps.Exp(TOps.Load(input + i)), output + i);
        // tail through the same vector formula, so every element gets the same approximation
        for (; i < count; i++)
            output[i] = TOps.GetElement(TOps.Exp(TOps.Broadcast(input[i])), 0);
    }

    /// <summary>dInput (=|+=) dOutput * output.</summary>
    public static void Backward(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, bool accumulate)
        => Backward(Simd.Best, dInput, dOutput, output, accumulate);

    internal static void Backward(SimdPath path, Span<float> dInput /*[count]*/, ReadOnlySpan<float> dOutput /*[count]*/,
        ReadOnlySpan<float> output /*[count]*/, bool accumulate)
    {
        Guard.SameLength(dOutput.Length, dInput.Length, nameof(dOutput));
        Guard.SameLength(output.Length, dInput.Length, nameof(output));
        if (path == SimdPath.Scalar) { BackwardScalar(dInput, dOutput, output, accumulate); return; }
        fixed (float* dx = dInput, dy = dOutput, y = output)
        {
            switch (path)
            {
                case SimdPath.Vector512: BackwardVector<Vector512<float>, Vector512Ops>(dx, dy, y, dInput.Length, accumulate); break;
                case SimdPath.Vector256: BackwardVector<Vector256<float>, Vector256Ops>(dx, dy, y, dInput.Length, accumulate); break;
                default: BackwardVector<Vector128<float>, Vector128Ops>(dx, dy, y, dInput.Length, accumulate); break;
            }
        }
    }

    internal static void BackwardScalar(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, bool accumulate)
    {
        for (int i = 0; i < dInput.Length; i++)
        {
            float grad = dOutput[i] * output[i];
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }

    private static void BackwardVector<TVec, TOps>(float* dInput, float* dOutput, float* output, int count, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec grad = TOps.Multiply(TOps.Load(dOutput + i), TOps.Load(output + i));
            if (accumulate) grad = TOps.Add(grad, TOps.Load(dInput + i));
            TOps.Store(grad, dInput + i);
        }
        for (; i < count; i++)
        {
            float grad = dOutput[i] * output[i];
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }
}
