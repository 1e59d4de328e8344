using System;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>
/// Batch normalization with PyTorch semantics (nn.BatchNorm1d/2d, affine, tracking running statistics),
/// NCHW: channel c of sample n is the contiguous plane [n, c, 0 .. spatial) (spatial = H*W, 1 for flat
/// [batch, features] tensors). Statistics are per channel over N = batch * spatial elements. Sums are
/// taken in float vector lanes over short chunks and accumulated in double, the variance by the
/// corrected two-pass formula, so large means and long planes keep their precision.
/// <para>
/// Aliasing: the forward output may be the very same span as the input (in place), and BackwardData's
/// dInput may be the very same span as dOutput (with accumulate false); no partial overlaps. Note that
/// the backward kernels need the original input, so an in-place training forward is only possible when
/// nothing backpropagates through it.
/// </para>
/// </summary>
public static unsafe class BatchNorm
{
    /// <summary>Vectors summed in float lanes before the partial sum is flushed into a double.</summary>
    private const int ChunkVectors = 64;

    // ================================================================ forward, training mode

    /// <summary>
    /// Per channel: mean and biased variance over batch*spatial; saveMean = mean, saveInvStd = 1/sqrt(var + eps);
    /// output = gamma * (x - mean) * invstd + beta; runningMean = (1-m) runningMean + m mean;
    /// runningVar = (1-m) runningVar + m var n/(n-1) (var itself when n == 1).
    /// </summary>
    public static void ForwardTraining(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> runningMean, Span<float> runningVar, Span<float> saveMean, Span<float> saveInvStd,
        int batch, int channels, int spatial, float momentum, float epsilon)
        => ForwardTraining(Simd.Best, output, input, gamma, beta, runningMean, runningVar, saveMean, saveInvStd,
            batch, channels, spatial, momentum, epsilon);

    internal static void ForwardTraining(SimdPath path,
        Span<float> output /*[batch, C, spatial]*/, ReadOnlySpan<float> input /*[batch, C, spatial]*/,
        ReadOnlySpan<float> gamma /*[C]*/, ReadOnlySpan<float> beta /*[C]*/,
        Span<float> runningMean /*[C]*/, Span<float> runningVar /*[C]*/, Span<float> saveMean /*[C]*/, Span<float> saveInvStd /*[C]*/,
        int batch, int channels, int spatial, float momentum, float epsilon)
    {
        CheckShape(batch, channels, spatial);
        if (batch == 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "Batch normalization in training mode needs at least one sample.");
        long size = (long)batch * channels * spatial;
        Guard.AtLeast(output.Length, size, nameof(output));
        Guard.AtLeast(input.Length, size, nameof(input));
        Guard.AtLeast(gamma.Length, channels, nameof(gamma));
        Guard.AtLeast(beta.Length, channels, nameof(beta));
        Guard.AtLeast(runningMean.Length, channels, nameof(runningMean));
        Guard.AtLeast(runningVar.Length, channels, nameof(runningVar));
        Guard.AtLeast(saveMean.Length, channels, nameof(saveMean));
        Guard.AtLeast(saveInvStd.Length, channels, nameof(saveInvStd));

        long count = (long)batch * spatial;
        int stride = channels * spatial;
        fixed (float* y = output, x = input)
        {
            for (int c = 0; c < channels; c++)
            {
                float* xc = x + c * spatial;
                double sum = 0;
                for (int n = 0; n < batch; n++) sum += Sum(path, xc + (long)n * stride, spatial);
                float shift = (float)(sum / count);

                // corrected two-pass: deviations d = x - shift; mean = shift + sum(d)/N, var = (sum(d^2) - sum(d)^2/N) / N
                double sumD = 0, sumD2 = 0;
                for (int n = 0; n < batch; n++) DeviationSums(path, xc + (long)n * stride, spatial, shift, ref sumD, ref sumD2);
                double mean = shift + sumD / count;
                double variance = Math.Max(0.0, (sumD2 - sumD * sumD / count) / count);
                double invStd = 1.0 / Math.Sqrt(variance + epsilon);

                float meanF = (float)mean;
                saveMean[c] = meanF;
                saveInvStd[c] = (float)invStd;
                double unbiased = count > 1 ? variance * count / (count - 1) : variance;
                runningMean[c] = (float)((1.0 - momentum) * runningMean[c] + (double)momentum * mean);
                runningVar[c] = (float)((1.0 - momentum) * runningVar[c] + (double)momentum * unbiased);

                float scale = (float)(gamma[c] * invStd);
                for (int n = 0; n < batch; n++)
                {
                    long offset = (long)n * stride + (long)c * spatial;
                    Affine(path, y + offset, x + offset, spatial, meanF, scale, beta[c]);
                }
            }
        }
    }

    // ================================================================ forward, inference mode

    /// <summary>output = gamma * (x - runningMean) / sqrt(runningVar + eps) + beta.</summary>
    public static void ForwardInference(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, int batch, int channels, int spatial, float epsilon)
        => ForwardInference(Simd.Best, output, input, gamma, beta, runningMean, runningVar, batch, channels, spatial, epsilon);

    internal static void ForwardInference(SimdPath path,
        Span<float> output /*[batch, C, spatial]*/, ReadOnlySpan<float> input /*[batch, C, spatial]*/,
        ReadOnlySpan<float> gamma /*[C]*/, ReadOnlySpan<float> beta /*[C]*/,
        ReadOnlySpan<float> runningMean /*[C]*/, ReadOnlySpan<float> runningVar /*[C]*/,
        int batch, int channels, int spatial, float epsilon)
    {
        CheckShape(batch, channels, spatial);
        long size = (long)batch * channels * spatial;
        Guard.AtLeast(output.Length, size, nameof(output));
        Guard.AtLeast(input.Length, size, nameof(input));
        Guard.AtLeast(gamma.Length, channels, nameof(gamma));
        Guard.AtLeast(beta.Length, channels, nameof(beta));
        Guard.AtLeast(runningMean.Length, channels, nameof(runningMean));
        Guard.AtLeast(runningVar.Length, channels, nameof(runningVar));

        int stride = channels * spatial;
        fixed (float* y = output, x = input)
        {
            for (int c = 0; c < channels; c++)
            {
                float scale = (float)(gamma[c] / Math.Sqrt((double)runningVar[c] + epsilon));
                for (int n = 0; n < batch; n++)
                {
                    long offset = (long)n * stride + (long)c * spatial;
                    Affine(path, y + offset, x + offset, spatial, runningMean[c], scale, beta[c]);
                }
            }
        }
    }

    // ================================================================ backward

    /// <summary>dBeta += sum(dy); dGamma += sum(dy * xhat), xhat = (x - saveMean) * saveInvStd. Sums over batch and spatial.</summary>
    public static void BackwardParameters(Span<float> dGamma, Span<float> dBeta, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> input,
        ReadOnlySpan<float> saveMean, ReadOnlySpan<float> saveInvStd, int batch, int channels, int spatial)
        => BackwardParameters(Simd.Best, dGamma, dBeta, dOutput, input, saveMean, saveInvStd, batch, channels, spatial);

    internal static void BackwardParameters(SimdPath path, Span<float> dGamma /*[C]*/, Span<float> dBeta /*[C]*/,
        ReadOnlySpan<float> dOutput /*[batch, C, spatial]*/, ReadOnlySpan<float> input /*[batch, C, spatial]*/,
        ReadOnlySpan<float> saveMean /*[C]*/, ReadOnlySpan<float> saveInvStd /*[C]*/, int batch, int channels, int spatial)
    {
        CheckShape(batch, channels, spatial);
        long size = (long)batch * channels * spatial;
        Guard.AtLeast(dGamma.Length, channels, nameof(dGamma));
        Guard.AtLeast(dBeta.Length, channels, nameof(dBeta));
        Guard.AtLeast(dOutput.Length, size, nameof(dOutput));
        Guard.AtLeast(input.Length, size, nameof(input));
        Guard.AtLeast(saveMean.Length, channels, nameof(saveMean));
        Guard.AtLeast(saveInvStd.Length, channels, nameof(saveInvStd));

        fixed (float* dy = dOutput, x = input)
        {
            for (int c = 0; c < channels; c++)
            {
                ChannelGradientSums(path, dy, x, batch, channels, spatial, c, saveMean[c], out double sumDy, out double sumDyXc);
                dBeta[c] += (float)sumDy;
                dGamma[c] += (float)(sumDyXc * saveInvStd[c]);
            }
        }
    }

    /// <summary>
    /// dInput (=|+=) gamma * invstd / N * (N dy - sum(dy) - xhat sum(dy xhat)), N = batch * spatial: the gradient
    /// through the batch statistics (training mode), from the statistics the training forward saved.
    /// </summary>
    public static void BackwardData(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> saveMean, ReadOnlySpan<float> saveInvStd, int batch, int channels, int spatial, bool accumulate)
        => BackwardData(Simd.Best, dInput, dOutput, input, gamma, saveMean, saveInvStd, batch, channels, spatial, accumulate);

    internal static void BackwardData(SimdPath path, Span<float> dInput /*[batch, C, spatial]*/,
        ReadOnlySpan<float> dOutput /*[batch, C, spatial]*/, ReadOnlySpan<float> input /*[batch, C, spatial]*/,
        ReadOnlySpan<float> gamma /*[C]*/, ReadOnlySpan<float> saveMean /*[C]*/, ReadOnlySpan<float> saveInvStd /*[C]*/,
        int batch, int channels, int spatial, bool accumulate)
    {
        CheckShape(batch, channels, spatial);
        long size = (long)batch * channels * spatial;
        Guard.AtLeast(dInput.Length, size, nameof(dInput));
        Guard.AtLeast(dOutput.Length, size, nameof(dOutput));
        Guard.AtLeast(input.Length, size, nameof(input));
        Guard.AtLeast(gamma.Length, channels, nameof(gamma));
        Guard.AtLeast(saveMean.Length, channels, nameof(saveMean));
        Guard.AtLeast(saveInvStd.Length, channels, nameof(saveInvStd));
        if (batch == 0) return;

        long count = (long)batch * spatial;
        int stride = channels * spatial;
        fixed (float* dx = dInput, dy = dOutput, x = input)
        {
            for (int c = 0; c < channels; c++)
            {
                float mean = saveMean[c];
                double invStd = saveInvStd[c];
                ChannelGradientSums(path, dy, x, batch, channels, spatial, c, mean, out double sumDy, out double sumDyXc);
                // dx = a (dy - sum(dy)/N - xhat sum(dy xhat)/N) with xhat = (x - mean) invstd
                //    = a dy + b (x - mean) + d,  a = gamma invstd,  b = -a invstd^2 sum(dy (x - mean)) / N,  d = -a sum(dy) / N
                double a = gamma[c] * invStd;
                float b = (float)(-a * invStd * invStd * sumDyXc / count);
                float d = (float)(-a * sumDy / count);
                for (int n = 0; n < batch; n++)
                {
                    long offset = (long)n * stride + (long)c * spatial;
                    BackwardApply(path, dx + offset, dy + offset, x + offset, spatial, mean, (float)a, b, d, accumulate);
                }
            }
        }
    }

    // ================================================================ folding into a preceding convolution / dense layer

    /// <summary>
    /// Folds an inference-mode batch norm into the preceding convolution (or dense layer): with
    /// s = gamma / sqrt(runningVar + eps), foldedWeight[oc, ..] = weight[oc, ..] * s[oc] and
    /// foldedBias[oc] = (bias[oc] - runningMean[oc]) * s[oc] + beta[oc] (bias = 0 when empty).
    /// weight is [outChannels, rest]; its length (a multiple of outChannels) defines rest. The folded
    /// spans may be the very same spans as weight / bias (in place).
    /// </summary>
    public static void FoldIntoConvolution(Span<float> foldedWeight, Span<float> foldedBias, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar,
        int outChannels, float epsilon)
    {
        Guard.Positive(outChannels, nameof(outChannels));
        if (weight.Length % outChannels != 0)
            throw new ArgumentException($"Span 'weight' has {weight.Length} elements, not a multiple of the {outChannels} output channels.", nameof(weight));
        int rest = weight.Length / outChannels;
        Guard.AtLeast(foldedWeight.Length, weight.Length, nameof(foldedWeight));
        Guard.AtLeast(foldedBias.Length, outChannels, nameof(foldedBias));
        Guard.EmptyOrAtLeast(bias.Length, outChannels, nameof(bias));
        Guard.AtLeast(gamma.Length, outChannels, nameof(gamma));
        Guard.AtLeast(beta.Length, outChannels, nameof(beta));
        Guard.AtLeast(runningMean.Length, outChannels, nameof(runningMean));
        Guard.AtLeast(runningVar.Length, outChannels, nameof(runningVar));

        for (int oc = 0; oc < outChannels; oc++)
        {
            double s = gamma[oc] / Math.Sqrt((double)runningVar[oc] + epsilon);
            double b = bias.Length != 0 ? bias[oc] : 0.0;
            foldedBias[oc] = (float)((b - runningMean[oc]) * s + beta[oc]);
            ReadOnlySpan<float> w = weight.Slice(oc * rest, rest);
            Span<float> fw = foldedWeight.Slice(oc * rest, rest);
            for (int i = 0; i < rest; i++) fw[i] = (float)(w[i] * s);
        }
    }

    // ================================================================ per-plane helpers (scalar reference + vector paths)

    private static void CheckShape(int batch, int channels, int spatial)
    {
        Guard.NonNegative(batch, nameof(batch));
        Guard.Positive(channels, nameof(channels));
        Guard.Positive(spatial, nameof(spatial));
    }

    /// <summary>sum(dy) and sum(dy * (x - mean)) of channel c over the batch.</summary>
    private static void ChannelGradientSums(SimdPath path, float* dy, float* x, int batch, int channels, int spatial, int c, float mean,
        out double sumDy, out double sumDyXc)
    {
        sumDy = 0;
        sumDyXc = 0;
        int stride = channels * spatial;
        for (int n = 0; n < batch; n++)
        {
            long offset = (long)n * stride + (long)c * spatial;
            GradientSums(path, dy + offset, x + offset, spatial, mean, ref sumDy, ref sumDyXc);
        }
    }

    /// <summary>sum(x[0 .. count)).</summary>
    internal static double Sum(SimdPath path, float* x, int count) => path switch
    {
        SimdPath.Scalar => SumScalar(x, count),
        SimdPath.Vector512 => SumVector<Vector512<float>, Vector512Ops>(x, count),
        SimdPath.Vector256 => SumVector<Vector256<float>, Vector256Ops>(x, count),
        _ => SumVector<Vector128<float>, Vector128Ops>(x, count),
    };

    private static double SumScalar(float* x, int count)
    {
        double sum = 0;
        for (int i = 0; i < count; i++) sum += x[i];
        return sum;
    }

    private static double SumVector<TVec, TOps>(float* x, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        double total = 0;
        TVec acc = TOps.Zero;
        int i = 0, inChunk = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            acc = TOps.Add(acc, TOps.Load(x + i));
            if (++inChunk == ChunkVectors) { total += TOps.Sum(acc); acc = TOps.Zero; inChunk = 0; }
        }
        total += TOps.Sum(acc);
        for (; i < count; i++) total += x[i];
        return total;
    }

    /// <summary>sumD += sum(x - shift), sumD2 += sum((x - shift)^2).</summary>
    internal static void DeviationSums(SimdPath path, float* x, int count, float shift, ref double sumD, ref double sumD2)
    {
        switch (path)
        {
            case SimdPath.Scalar: DeviationSumsScalar(x, count, shift, ref sumD, ref sumD2); break;
            case SimdPath.Vector512: DeviationSumsVector<Vector512<float>, Vector512Ops>(x, count, shift, ref sumD, ref sumD2); break;
            case SimdPath.Vector256: DeviationSumsVector<Vector256<float>, Vector256Ops>(x, count, shift, ref sumD, ref sumD2); break;
            default: DeviationSumsVector<Vector128<float>, Vector128Ops>(x, count, shift, ref sumD, ref sumD2); break;
        }
    }

    private static void DeviationSumsScalar(float* x, int count, float shift, ref double sumD, ref double sumD2)
    {
        double s1 = 0, s2 = 0;
        for (int i = 0; i < count; i++)
        {
            double d = x[i] - (double)shift;
            s1 += d;
            s2 += d * d;
        }
        sumD += s1;
        sumD2 += s2;
    }

    private static void DeviationSumsVector<TVec, TOps>(float* x, int count, float shift, ref double sumD, ref double sumD2)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec m = TOps.Broadcast(shift), acc1 = TOps.Zero, acc2 = TOps.Zero;
        double s1 = 0, s2 = 0;
        int i = 0, inChunk = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec d = TOps.Subtract(TOps.Load(x + i), m);
            acc1 = TOps.Add(acc1, d);
            acc2 = TOps.MultiplyAdd(d, d, acc2);
            if (++inChunk == ChunkVectors)
            {
                s1 += TOps.Sum(acc1); s2 += TOps.Sum(acc2);
                acc1 = TOps.Zero; acc2 = TOps.Zero; inChunk = 0;
            }
        }
        s1 += TOps.Sum(acc1);
        s2 += TOps.Sum(acc2);
        for (; i < count; i++)
        {
            double d = x[i] - (double)shift;
            s1 += d;
            s2 += d * d;
        }
        sumD += s1;
        sumD2 += s2;
    }

    /// <summary>y = (x - mean) * scale + shift. y may be x.</summary>
    internal static void Affine(SimdPath path, float* y, float* x, int count, float mean, float scale, float shift)
    {
        switch (path)
        {
            case SimdPath.Scalar: AffineScalar(y, x, count, mean, scale, shift); break;
            case SimdPath.Vector512: AffineVector<Vector512<float>, Vector512Ops>(y, x, count, mean, scale, shift); break;
            case SimdPath.Vector256: AffineVector<Vector256<float>, Vector256Ops>(y, x, count, mean, scale, shift); break;
            default: AffineVector<Vector128<float>, Vector128Ops>(y, x, count, mean, scale, shift); break;
        }
    }

    private static void AffineScalar(float* y, float* x, int count, float mean, float scale, float shift)
    {
        for (int i = 0; i < count; i++) y[i] = (x[i] - mean) * scale + shift;
    }

    private static void AffineVector<TVec, TOps>(float* y, float* x, int count, float mean, float scale, float shift)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec m = TOps.Broadcast(mean), s = TOps.Broadcast(scale), b = TOps.Broadcast(shift);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
            TOps.Store(TOps.MultiplyAdd(TOps.Subtract(TOps.Load(x + i), m), s, b), y + i);
        for (; i < count; i++) y[i] = (x[i] - mean) * scale + shift;
    }

    /// <summary>sumDy += sum(dy), sumDyXc += sum(dy * (x - mean)).</summary>
    internal static void GradientSums(SimdPath path, float* dy, float* x, int count, float mean, ref double sumDy, ref double sumDyXc)
    {
        switch (path)
        {
            case SimdPath.Scalar: GradientSumsScalar(dy, x, count, mean, ref sumDy, ref sumDyXc); break;
            case SimdPath.Vector512: GradientSumsVector<Vector512<float>, Vector512Ops>(dy, x, count, mean, ref sumDy, ref sumDyXc); break;
            case SimdPath.Vector256: GradientSumsVector<Vector256<float>, Vector256Ops>(dy, x, count, mean, ref sumDy, ref sumDyXc); break;
            default: GradientSumsVector<Vector128<float>, Vector128Ops>(dy, x, count, mean, ref sumDy, ref sumDyXc); break;
        }
    }

    private static void GradientSumsScalar(float* dy, float* x, int count, float mean, ref double sumDy, ref double sumDyXc)
    {
        double s1 = 0, s2 = 0;
        for (int i = 0; i < count; i++)
        {
            s1 += dy[i];
            s2 += dy[i] * (x[i] - (double)mean);
        }
        sumDy += s1;
        sumDyXc += s2;
    }

    private static void GradientSumsVector<TVec, TOps>(float* dy, float* x, int count, float mean, ref double sumDy, ref double sumDyXc)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec m = TOps.Broadcast(mean), acc1 = TOps.Zero, acc2 = TOps.Zero;
        double s1 = 0, s2 = 0;
        int i = 0, inChunk = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec g = TOps.Load(dy + i);
            acc1 = TOps.Add(acc1, g);
            acc2 = TOps.MultiplyAdd(g, TOps.Subtract(TOps.Load(x + i), m), acc2);
            if (++inChunk == ChunkVectors)
            {
                s1 += TOps.Sum(acc1); s2 += TOps.Sum(acc2);
                acc1 = TOps.Zero; acc2 = TOps.Zero; inChunk = 0;
            }
        }
        s1 += TOps.Sum(acc1);
        s2 += TOps.Sum(acc2);
        for (; i < count; i++)
        {
            s1 += dy[i];
            s2 += dy[i] * (x[i] - (double)mean);
        }
        sumDy += s1;
        sumDyXc += s2;
    }

    /// <summary>dx (=|+=) a * dy + b * (x - mean) + d. dx may be dy.</summary>
    internal static void BackwardApply(SimdPath path, float* dx, float* dy, float* x, int count, float mean, float a, float b, float d, bool accumulate)
    {
        switch (path)
        {
            case SimdPath.Scalar: BackwardApplyScalar(dx, dy, x, count, mean, a, b, d, accumulate); break;
            case SimdPath.Vector512: BackwardApplyVector<Vector512<float>, Vector512Ops>(dx, dy, x, count, mean, a, b, d, accumulate); break;
            case SimdPath.Vector256: BackwardApplyVector<Vector256<float>, Vector256Ops>(dx, dy, x, count, mean, a, b, d, accumulate); break;
            default: BackwardApplyVector<Vector128<float>, Vector128Ops>(dx, dy, x, count, mean, a, b, d, accumulate); break;
        }
    }

    private static void BackwardApplyScalar(float* dx, float* dy, float* x, int count, float mean, float a, float b, float d, bool accumulate)
    {
        for (int i = 0; i < count; i++)
        {
            float grad = a * dy[i] + b * (x[i] - mean) + d;
            dx[i] = accumulate ? dx[i] + grad : grad;
        }
    }

    private static void BackwardApplyVector<TVec, TOps>(float* dx, float* dy, float* x, int count, float mean, float a, float b, float d, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec m = TOps.Broadcast(mean), va = TOps.Broadcast(a), vb = TOps.Broadcast(b), vd = TOps.Broadcast(d);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec grad = TOps.MultiplyAdd(va, TOps.Load(dy + i), TOps.MultiplyAdd(vb, TOps.Subtract(TOps.Load(x + i), m), vd));
            if (accumulate) grad = TOps.Add(grad, TOps.Load(dx + i));
            TOps.Store(grad, dx + i);
        }
        for (; i < count; i++)
        {
            float grad = a * dy[i] + b * (x[i] - mean) + d;
            dx[i] = accumulate ? dx[i] + grad : grad;
        }
    }
}
