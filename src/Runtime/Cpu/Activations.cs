using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>
/// Activation functions, elementwise over count = batch * features (softmax: per row).
/// Backward kernels take the forward OUTPUT y (not the input), which is all they need, except
/// LeakyReluBackward, which takes the forward INPUT x.
/// Outputs may be the very same span as the input (in place), not a partial overlap.
/// </summary>
public static unsafe class Activations
{
    // ================================================================ Tanh

    public static void TanhForward(Span<float> output, ReadOnlySpan<float> input) => TanhForward(Simd.Best, output, input);

    internal static void TanhForward(SimdPath path, Span<float> output /*[count]*/, ReadOnlySpan<float> input /*[count]*/)
    {
        Guard.SameLength(input.Length, output.Length, nameof(input));
        if (path == SimdPath.Scalar) { TanhForwardScalar(output, input); return; }
        fixed (float* y = output, x = input)
        {
            switch (path)
            {
                case SimdPath.Vector512: ElementwiseParallel.Run(output.Length, &TanhForwardPiece<Vector512<float>, Vector512Ops>, y, x, null, false); break;
                case SimdPath.Vector256: ElementwiseParallel.Run(output.Length, &TanhForwardPiece<Vector256<float>, Vector256Ops>, y, x, null, false); break;
                default: ElementwiseParallel.Run(output.Length, &TanhForwardPiece<Vector128<float>, Vector128Ops>, y, x, null, false); break;
            }
        }
    }

    internal static void TanhForwardScalar(Span<float> output, ReadOnlySpan<float> input)
    {
        for (int i = 0; i < output.Length; i++) output[i] = MathF.Tanh(input[i]);
    }

    private static void TanhForwardPiece<TVec, TOps>(float* output, float* input, float* unused, int count, bool unusedFlag)
        where TVec : struct where TOps : struct, IVectorOps<TVec> => TanhForwardVector<TVec, TOps>(output, input, count);

    private static void TanhBackwardPiece<TVec, TOps>(float* dInput, float* dOutput, float* output, int count, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec> => TanhBackwardVector<TVec, TOps>(dInput, dOutput, output, count, accumulate);

    private static void ReluForwardPiece<TVec, TOps>(float* output, float* input, float* unused, int count, bool unusedFlag)
        where TVec : struct where TOps : struct, IVectorOps<TVec> => ReluForwardVector<TVec, TOps>(output, input, count);

    private static void ReluBackwardPiece<TVec, TOps>(float* dInput, float* dOutput, float* output, int count, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec> => ReluBackwardVector<TVec, TOps>(dInput, dOutput, output, count, accumulate);

    private static void TanhForwardVector<TVec, TOps>(float* output, float* input, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
            TOps.Store(Tanh<TVec, TOps>(TOps.Load(input + i)), output + i);
        // tail through the same vector formula, so every element gets the same approximation
        for (; i < count; i++)
            output[i] = TOps.GetElement(Tanh<TVec, TOps>(TOps.Broadcast(input[i])), 0);
    }

    /// <summary>
    /// tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) in (0, 1]: never overflows, and e
    /// underflows to 0 for large |x| giving exactly +-1. For |x| &lt; 0.25, where 1 - e cancels, the
    /// odd Taylor series through x^9 (truncation error &lt; 3e-9 absolute). NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Tanh<TVec, TOps>(TVec x)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec one = TOps.Broadcast(1f);
        TVec ax = TOps.Abs(x);
        TVec e = TOps.Exp(TOps.Multiply(ax, TOps.Broadcast(-2f)));
        TVec large = TOps.CopySign(TOps.Divide(TOps.Subtract(one, e), TOps.Add(one, e)), x);

        TVec x2 = TOps.Multiply(x, x);
        TVec poly = TOps.MultiplyAdd(x2, TOps.Broadcast(62f / 2835f), TOps.Broadcast(-17f / 315f));
        poly = TOps.MultiplyAdd(x2, poly, TOps.Broadcast(2f / 15f));
        poly = TOps.MultiplyAdd(x2, poly, TOps.Broadcast(-1f / 3f));
        TVec small = TOps.MultiplyAdd(TOps.Multiply(x, x2), poly, x);

        return TOps.Select(TOps.LessThan(ax, TOps.Broadcast(0.25f)), small, large);
    }

    public static void TanhBackward(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, bool accumulate)
        => TanhBackward(Simd.Best, dInput, dOutput, output, accumulate);

    internal static void TanhBackward(SimdPath path, Span<float> dInput /*[count]*/, ReadOnlySpan<float> dOutput /*[count]*/,
        ReadOnlySpan<float> output /*[count]*/, bool accumulate)
    {
        Guard.SameLength(dOutput.Length, dInput.Length, nameof(dOutput));
        Guard.SameLength(output.Length, dInput.Length, nameof(output));
        if (path == SimdPath.Scalar) { TanhBackwardScalar(dInput, dOutput, output, accumulate); return; }
        fixed (float* dx = dInput, dy = dOutput, y = output)
        {
            switch (path)
            {
                case SimdPath.Vector512: ElementwiseParallel.Run(dInput.Length, &TanhBackwardPiece<Vector512<float>, Vector512Ops>, dx, dy, y, accumulate); break;
                case SimdPath.Vector256: ElementwiseParallel.Run(dInput.Length, &TanhBackwardPiece<Vector256<float>, Vector256Ops>, dx, dy, y, accumulate); break;
                default: ElementwiseParallel.Run(dInput.Length, &TanhBackwardPiece<Vector128<float>, Vector128Ops>, dx, dy, y, accumulate); break;
            }
        }
    }

    internal static void TanhBackwardScalar(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, bool accumulate)
    {
        for (int i = 0; i < dInput.Length; i++)
        {
            float y = output[i];
            float grad = dOutput[i] * (1f - y * y);
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }

    private static void TanhBackwardVector<TVec, TOps>(float* dInput, float* dOutput, float* output, int count, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec one = TOps.Broadcast(1f);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec y = TOps.Load(output + i);
            TVec grad = TOps.Multiply(TOps.Load(dOutput + i), TOps.Subtract(one, TOps.Multiply(y, y)));
            if (accumulate) grad = TOps.Add(grad, TOps.Load(dInput + i));
            TOps.Store(grad, dInput + i);
        }
        for (; i < count; i++)
        {
            float y = output[i];
            float grad = dOutput[i] * (1f - y * y);
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }

    // ================================================================ Sigmoid

    public static void SigmoidForward(Span<float> output, ReadOnlySpan<float> input) => SigmoidForward(Simd.Best, output, input);

    internal static void SigmoidForward(SimdPath path, Span<float> output /*[count]*/, ReadOnlySpan<float> input /*[count]*/)
    {
        Guard.SameLength(input.Length, output.Length, nameof(input));
        if (path == SimdPath.Scalar) { SigmoidForwardScalar(output, input); return; }
        fixed (float* y = output, x = input)
        {
            switch (path)
            {
                case SimdPath.Vector512: SigmoidForwardVector<Vector512<float>, Vector512Ops>(y, x, output.Length); break;
                case SimdPath.Vector256: SigmoidForwardVector<Vector256<float>, Vector256Ops>(y, x, output.Length); break;
                default: SigmoidForwardVector<Vector128<float>, Vector128Ops>(y, x, output.Length); break;
            }
        }
    }

    /// <summary>1 / (1 + exp(-x)): exp overflows to +inf for very negative x, giving exactly 0; never NaN for non-NaN x.</summary>
    internal static void SigmoidForwardScalar(Span<float> output, ReadOnlySpan<float> input)
    {
        for (int i = 0; i < output.Length; i++) output[i] = 1f / (1f + MathF.Exp(-input[i]));
    }

    private static void SigmoidForwardVector<TVec, TOps>(float* output, float* input, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
            TOps.Store(Sigmoid<TVec, TOps>(TOps.Load(input + i)), output + i);
        for (; i < count; i++)
            output[i] = TOps.GetElement(Sigmoid<TVec, TOps>(TOps.Broadcast(input[i])), 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Sigmoid<TVec, TOps>(TVec x)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec one = TOps.Broadcast(1f);
        return TOps.Divide(one, TOps.Add(one, TOps.Exp(TOps.Subtract(TOps.Zero, x))));
    }

    public static void SigmoidBackward(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, bool accumulate)
        => SigmoidBackward(Simd.Best, dInput, dOutput, output, accumulate);

    internal static void SigmoidBackward(SimdPath path, Span<float> dInput /*[count]*/, ReadOnlySpan<float> dOutput /*[count]*/,
        ReadOnlySpan<float> output /*[count]*/, bool accumulate)
    {
        Guard.SameLength(dOutput.Length, dInput.Length, nameof(dOutput));
        Guard.SameLength(output.Length, dInput.Length, nameof(output));
        if (path == SimdPath.Scalar) { SigmoidBackwardScalar(dInput, dOutput, output, accumulate); return; }
        fixed (float* dx = dInput, dy = dOutput, y = output)
        {
            switch (path)
            {
                case SimdPath.Vector512: SigmoidBackwardVector<Vector512<float>, Vector512Ops>(dx, dy, y, dInput.Length, accumulate); break;
                case SimdPath.Vector256: SigmoidBackwardVector<Vector256<float>, Vector256Ops>(dx, dy, y, dInput.Length, accumulate); break;
                default: SigmoidBackwardVector<Vector128<float>, Vector128Ops>(dx, dy, y, dInput.Length, accumulate); break;
            }
        }
    }

    internal static void SigmoidBackwardScalar(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, bool accumulate)
    {
        for (int i = 0; i < dInput.Length; i++)
        {
            float y = output[i];
            float grad = dOutput[i] * y * (1f - y);
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }

    private static void SigmoidBackwardVector<TVec, TOps>(float* dInput, float* dOutput, float* output, int count, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec one = TOps.Broadcast(1f);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec y = TOps.Load(output + i);
            TVec grad = TOps.Multiply(TOps.Multiply(TOps.Load(dOutput + i), y), TOps.Subtract(one, y));
            if (accumulate) grad = TOps.Add(grad, TOps.Load(dInput + i));
            TOps.Store(grad, dInput + i);
        }
        for (; i < count; i++)
        {
            float y = output[i];
            float grad = dOutput[i] * y * (1f - y);
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }

    // ================================================================ ReLU

    public static void ReluForward(Span<float> output, ReadOnlySpan<float> input) => ReluForward(Simd.Best, output, input);

    internal static void ReluForward(SimdPath path, Span<float> output /*[count]*/, ReadOnlySpan<float> input /*[count]*/)
    {
        Guard.SameLength(input.Length, output.Length, nameof(input));
        if (path == SimdPath.Scalar) { ReluForwardScalar(output, input); return; }
        fixed (float* y = output, x = input)
        {
            switch (path)
            {
                case SimdPath.Vector512: ElementwiseParallel.Run(output.Length, &ReluForwardPiece<Vector512<float>, Vector512Ops>, y, x, null, false); break;
                case SimdPath.Vector256: ElementwiseParallel.Run(output.Length, &ReluForwardPiece<Vector256<float>, Vector256Ops>, y, x, null, false); break;
                default: ElementwiseParallel.Run(output.Length, &ReluForwardPiece<Vector128<float>, Vector128Ops>, y, x, null, false); break;
            }
        }
    }

    /// <summary>y = x &gt; 0 ? x : 0 (NaN and -0 give +0).</summary>
    internal static void ReluForwardScalar(Span<float> output, ReadOnlySpan<float> input)
    {
        for (int i = 0; i < output.Length; i++) output[i] = input[i] > 0f ? input[i] : 0f;
    }

    private static void ReluForwardVector<TVec, TOps>(float* output, float* input, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec x = TOps.Load(input + i);
            TOps.Store(TOps.Select(TOps.GreaterThan(x, TOps.Zero), x, TOps.Zero), output + i);
        }
        for (; i < count; i++) output[i] = input[i] > 0f ? input[i] : 0f;
    }

    public static void ReluBackward(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, bool accumulate)
        => ReluBackward(Simd.Best, dInput, dOutput, output, accumulate);

    internal static void ReluBackward(SimdPath path, Span<float> dInput /*[count]*/, ReadOnlySpan<float> dOutput /*[count]*/,
        ReadOnlySpan<float> output /*[count]*/, bool accumulate)
    {
        Guard.SameLength(dOutput.Length, dInput.Length, nameof(dOutput));
        Guard.SameLength(output.Length, dInput.Length, nameof(output));
        if (path == SimdPath.Scalar) { ReluBackwardScalar(dInput, dOutput, output, accumulate); return; }
        fixed (float* dx = dInput, dy = dOutput, y = output)
        {
            switch (path)
            {
                case SimdPath.Vector512: ElementwiseParallel.Run(dInput.Length, &ReluBackwardPiece<Vector512<float>, Vector512Ops>, dx, dy, y, accumulate); break;
                case SimdPath.Vector256: ElementwiseParallel.Run(dInput.Length, &ReluBackwardPiece<Vector256<float>, Vector256Ops>, dx, dy, y, accumulate); break;
                default: ElementwiseParallel.Run(dInput.Length, &ReluBackwardPiece<Vector128<float>, Vector128Ops>, dx, dy, y, accumulate); break;
            }
        }
    }

    internal static void ReluBackwardScalar(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, bool accumulate)
    {
        for (int i = 0; i < dInput.Length; i++)
        {
            float grad = output[i] > 0f ? dOutput[i] : 0f;
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }

    private static void ReluBackwardVector<TVec, TOps>(float* dInput, float* dOutput, float* output, int count, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec grad = TOps.Select(TOps.GreaterThan(TOps.Load(output + i), TOps.Zero), TOps.Load(dOutput + i), TOps.Zero);
            if (accumulate) grad = TOps.Add(grad, TOps.Load(dInput + i));
            TOps.Store(grad, dInput + i);
        }
        for (; i < count; i++)
        {
            float grad = output[i] > 0f ? dOutput[i] : 0f;
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }

    // ================================================================ Leaky ReLU

    public static void LeakyReluForward(Span<float> output, ReadOnlySpan<float> input, float slope)
        => LeakyReluForward(Simd.Best, output, input, slope);

    internal static void LeakyReluForward(SimdPath path, Span<float> output /*[count]*/, ReadOnlySpan<float> input /*[count]*/, float slope)
    {
        Guard.SameLength(input.Length, output.Length, nameof(input));
        if (path == SimdPath.Scalar) { LeakyReluForwardScalar(output, input, slope); return; }
        fixed (float* y = output, x = input)
        {
            switch (path)
            {
                case SimdPath.Vector512: LeakyReluForwardVector<Vector512<float>, Vector512Ops>(y, x, output.Length, slope); break;
                case SimdPath.Vector256: LeakyReluForwardVector<Vector256<float>, Vector256Ops>(y, x, output.Length, slope); break;
                default: LeakyReluForwardVector<Vector128<float>, Vector128Ops>(y, x, output.Length, slope); break;
            }
        }
    }

    /// <summary>y = x &gt; 0 ? x : slope * x (NaN stays NaN, -0 gives slope * -0).</summary>
    internal static void LeakyReluForwardScalar(Span<float> output, ReadOnlySpan<float> input, float slope)
    {
        for (int i = 0; i < output.Length; i++) output[i] = input[i] > 0f ? input[i] : slope * input[i];
    }

    private static void LeakyReluForwardVector<TVec, TOps>(float* output, float* input, int count, float slope)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec s = TOps.Broadcast(slope);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec x = TOps.Load(input + i);
            TOps.Store(TOps.Select(TOps.GreaterThan(x, TOps.Zero), x, TOps.Multiply(x, s)), output + i);
        }
        for (; i < count; i++) output[i] = input[i] > 0f ? input[i] : slope * input[i];
    }

    /// <summary>dx (=|+=) x &gt; 0 ? dy : slope * dy. Takes the forward INPUT x (unlike the other backward kernels).</summary>
    public static void LeakyReluBackward(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> input, float slope, bool accumulate)
        => LeakyReluBackward(Simd.Best, dInput, dOutput, input, slope, accumulate);

    internal static void LeakyReluBackward(SimdPath path, Span<float> dInput /*[count]*/, ReadOnlySpan<float> dOutput /*[count]*/,
        ReadOnlySpan<float> input /*[count]*/, float slope, bool accumulate)
    {
        Guard.SameLength(dOutput.Length, dInput.Length, nameof(dOutput));
        Guard.SameLength(input.Length, dInput.Length, nameof(input));
        if (path == SimdPath.Scalar) { LeakyReluBackwardScalar(dInput, dOutput, input, slope, accumulate); return; }
        fixed (float* dx = dInput, dy = dOutput, x = input)
        {
            switch (path)
            {
                case SimdPath.Vector512: LeakyReluBackwardVector<Vector512<float>, Vector512Ops>(dx, dy, x, dInput.Length, slope, accumulate); break;
                case SimdPath.Vector256: LeakyReluBackwardVector<Vector256<float>, Vector256Ops>(dx, dy, x, dInput.Length, slope, accumulate); break;
                default: LeakyReluBackwardVector<Vector128<float>, Vector128Ops>(dx, dy, x, dInput.Length, slope, accumulate); break;
            }
        }
    }

    internal static void LeakyReluBackwardScalar(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> input, float slope, bool accumulate)
    {
        for (int i = 0; i < dInput.Length; i++)
        {
            float grad = input[i] > 0f ? dOutput[i] : slope * dOutput[i];
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }

    private static void LeakyReluBackwardVector<TVec, TOps>(float* dInput, float* dOutput, float* input, int count, float slope, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec s = TOps.Broadcast(slope);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec dy = TOps.Load(dOutput + i);
            TVec grad = TOps.Select(TOps.GreaterThan(TOps.Load(input + i), TOps.Zero), dy, TOps.Multiply(dy, s));
            if (accumulate) grad = TOps.Add(grad, TOps.Load(dInput + i));
            TOps.Store(grad, dInput + i);
        }
        for (; i < count; i++)
        {
            float grad = input[i] > 0f ? dOutput[i] : slope * dOutput[i];
            dInput[i] = accumulate ? dInput[i] + grad : grad;
        }
    }

    // ================================================================ Softmax (per row)

    public static void SoftmaxForward(Span<float> output, ReadOnlySpan<float> input, int rows, int cols)
        => SoftmaxForward(Simd.Best, output, input, rows, cols);

    internal static void SoftmaxForward(SimdPath path, Span<float> output /*[rows, cols]*/, ReadOnlySpan<float> input /*[rows, cols]*/, int rows, int cols)
    {
        Guard.NonNegative(rows, nameof(rows));
        Guard.NonNegative(cols, nameof(cols));
        Guard.AtLeast(output.Length, (long)rows * cols, nameof(output));
        Guard.AtLeast(input.Length, (long)rows * cols, nameof(input));
        if (rows == 0 || cols == 0) return;
        if (path == SimdPath.Scalar) { SoftmaxForwardScalar(output, input, rows, cols); return; }
        fixed (float* y = output, x = input)
        {
            for (int r = 0; r < rows; r++)
            {
                float* yr = y + r * cols, xr = x + r * cols;
                switch (path)
                {
                    case SimdPath.Vector512: SoftmaxRowVector<Vector512<float>, Vector512Ops>(yr, xr, cols); break;
                    case SimdPath.Vector256: SoftmaxRowVector<Vector256<float>, Vector256Ops>(yr, xr, cols); break;
                    default: SoftmaxRowVector<Vector128<float>, Vector128Ops>(yr, xr, cols); break;
                }
            }
        }
    }

    /// <summary>y = exp(x - max) / sum(exp(x - max)) per row; subtracting the max keeps exp &lt;= 1.</summary>
    internal static void SoftmaxForwardScalar(Span<float> output, ReadOnlySpan<float> input, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> x = input.Slice(r * cols, cols);
            Span<float> y = output.Slice(r * cols, cols);
            float max = x[0];
            for (int c = 1; c < cols; c++) max = MathF.Max(max, x[c]);
            float sum = 0f;
            for (int c = 0; c < cols; c++)
            {
                y[c] = MathF.Exp(x[c] - max);
                sum += y[c];
            }
            for (int c = 0; c < cols; c++) y[c] /= sum;
        }
    }

    private static void SoftmaxRowVector<TVec, TOps>(float* y, float* x, int cols)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count;
        float max = x[0];
        int c = 0;
        if (cols >= w)
        {
            TVec mv = TOps.Load(x);
            for (c = w; c + w <= cols; c += w) mv = TOps.Max(mv, TOps.Load(x + c));
            max = TOps.MaxAcross(mv);
        }
        for (; c < cols; c++) max = MathF.Max(max, x[c]);

        TVec maxv = TOps.Broadcast(max);
        TVec sumv = TOps.Zero;
        for (c = 0; c + w <= cols; c += w)
        {
            TVec e = TOps.Exp(TOps.Subtract(TOps.Load(x + c), maxv));
            TOps.Store(e, y + c);
            sumv = TOps.Add(sumv, e);
        }
        float sum = TOps.Sum(sumv);
        for (; c < cols; c++)
        {
            float e = TOps.GetElement(TOps.Exp(TOps.Broadcast(x[c] - max)), 0);
            y[c] = e;
            sum += e;
        }

        TVec inv = TOps.Broadcast(1f / sum);
        for (c = 0; c + w <= cols; c += w) TOps.Store(TOps.Multiply(TOps.Load(y + c), inv), y + c);
        for (; c < cols; c++) y[c] *= 1f / sum;
    }

    public static void SoftmaxBackward(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, int rows, int cols, bool accumulate)
        => SoftmaxBackward(Simd.Best, dInput, dOutput, output, rows, cols, accumulate);

    internal static void SoftmaxBackward(SimdPath path, Span<float> dInput /*[rows, cols]*/, ReadOnlySpan<float> dOutput /*[rows, cols]*/,
        ReadOnlySpan<float> output /*[rows, cols]*/, int rows, int cols, bool accumulate)
    {
        Guard.NonNegative(rows, nameof(rows));
        Guard.NonNegative(cols, nameof(cols));
        Guard.AtLeast(dInput.Length, (long)rows * cols, nameof(dInput));
        Guard.AtLeast(dOutput.Length, (long)rows * cols, nameof(dOutput));
        Guard.AtLeast(output.Length, (long)rows * cols, nameof(output));
        if (rows == 0 || cols == 0) return;
        if (path == SimdPath.Scalar) { SoftmaxBackwardScalar(dInput, dOutput, output, rows, cols, accumulate); return; }
        fixed (float* dx = dInput, dy = dOutput, y = output)
        {
            for (int r = 0; r < rows; r++)
            {
                int offset = r * cols;
                switch (path)
                {
                    case SimdPath.Vector512: SoftmaxBackwardRowVector<Vector512<float>, Vector512Ops>(dx + offset, dy + offset, y + offset, cols, accumulate); break;
                    case SimdPath.Vector256: SoftmaxBackwardRowVector<Vector256<float>, Vector256Ops>(dx + offset, dy + offset, y + offset, cols, accumulate); break;
                    default: SoftmaxBackwardRowVector<Vector128<float>, Vector128Ops>(dx + offset, dy + offset, y + offset, cols, accumulate); break;
                }
            }
        }
    }

    /// <summary>dx = y * (dy - sum(dy * y)) per row.</summary>
    internal static void SoftmaxBackwardScalar(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> output, int rows, int cols, bool accumulate)
    {
        for (int r = 0; r < rows; r++)
        {
            int offset = r * cols;
            float dot = 0f;
            for (int c = 0; c < cols; c++) dot += dOutput[offset + c] * output[offset + c];
            for (int c = 0; c < cols; c++)
            {
                float grad = output[offset + c] * (dOutput[offset + c] - dot);
                dInput[offset + c] = accumulate ? dInput[offset + c] + grad : grad;
            }
        }
    }

    private static void SoftmaxBackwardRowVector<TVec, TOps>(float* dx, float* dy, float* y, int cols, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int w = TOps.Count;
        TVec dotv = TOps.Zero;
        int c = 0;
        for (; c + w <= cols; c += w) dotv = TOps.MultiplyAdd(TOps.Load(dy + c), TOps.Load(y + c), dotv);
        float dot = TOps.Sum(dotv);
        for (; c < cols; c++) dot += dy[c] * y[c];

        TVec dotb = TOps.Broadcast(dot);
        for (c = 0; c + w <= cols; c += w)
        {
            TVec grad = TOps.Multiply(TOps.Load(y + c), TOps.Subtract(TOps.Load(dy + c), dotb));
            if (accumulate) grad = TOps.Add(grad, TOps.Load(dx + c));
            TOps.Store(grad, dx + c);
        }
        for (; c < cols; c++)
        {
            float grad = y[c] * (dy[c] - dot);
            dx[c] = accumulate ? dx[c] + grad : grad;
        }
    }
}
