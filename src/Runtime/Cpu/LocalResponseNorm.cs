using System;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>
/// Local response normalization across channels (PyTorch nn.LocalResponseNorm), NCHW with spatial = H*W:
/// y[c] = x[c] * D[c]^(-beta), D[c] = k + alpha / size * sum of x[j]^2 over the zero-padded window
/// j in [c - size/2, c + (size-1)/2]. Vector paths run across spatial positions (one channel plane is
/// contiguous) and compute the power as exp(-beta * log D). The output must not overlap the input
/// (each output channel reads its neighbours).
/// </summary>
public static unsafe class LocalResponseNorm
{
    /// <summary>Floats of stack scratch the backward pass uses per spatial block (two [channels, block] tables).</summary>
    private const int StackScratch = 4096;

    // ================================================================ forward

    public static void Forward(Span<float> output, ReadOnlySpan<float> input,
        int batch, int channels, int spatial, int size, float alpha, float beta, float k)
        => Forward(Simd.Best, output, input, batch, channels, spatial, size, alpha, beta, k);

    internal static void Forward(SimdPath path, Span<float> output /*[batch, C, spatial]*/, ReadOnlySpan<float> input /*[batch, C, spatial]*/,
        int batch, int channels, int spatial, int size, float alpha, float beta, float k)
    {
        Check(batch, channels, spatial, size);
        long total = (long)batch * channels * spatial;
        Guard.AtLeast(output.Length, total, nameof(output));
        Guard.AtLeast(input.Length, total, nameof(input));
        if (batch == 0) return;
        var p = new Params(channels, spatial, size, alpha, beta, k);
        fixed (float* y = output, x = input)
        {
            for (int n = 0; n < batch; n++)
            {
                long offset = (long)n * channels * spatial;
                switch (path)
                {
                    case SimdPath.Scalar: ForwardSampleScalar(y + offset, x + offset, p); break;
                    case SimdPath.Vector512: ForwardSampleVector<Vector512<float>, Vector512Ops, Log512>(y + offset, x + offset, p); break;
                    case SimdPath.Vector256: ForwardSampleVector<Vector256<float>, Vector256Ops, Log256>(y + offset, x + offset, p); break;
                    default: ForwardSampleVector<Vector128<float>, Vector128Ops, Log128>(y + offset, x + offset, p); break;
                }
            }
        }
    }

    private static void ForwardSampleScalar(float* y /*[C, spatial]*/, float* x /*[C, spatial]*/, in Params p)
    {
        for (int c = 0; c < p.Channels; c++)
        {
            p.Window(c, out int lo, out int hi);
            for (int s = 0; s < p.Spatial; s++)
            {
                float d = p.Denominator(x, lo, hi, s);
                y[c * p.Spatial + s] = x[c * p.Spatial + s] * MathF.Pow(d, -p.Beta);
            }
        }
    }

    private static void ForwardSampleVector<TVec, TOps, TLog>(float* y /*[C, spatial]*/, float* x /*[C, spatial]*/, in Params p)
        where TVec : struct where TOps : struct, IVectorOps<TVec> where TLog : struct, IVectorLog<TVec>
    {
        int w = TOps.Count, spatial = p.Spatial;
        TVec scale = TOps.Broadcast(p.Scale), kk = TOps.Broadcast(p.K), negBeta = TOps.Broadcast(-p.Beta);
        for (int c = 0; c < p.Channels; c++)
        {
            p.Window(c, out int lo, out int hi);
            float* xc = x + c * spatial, yc = y + c * spatial;
            int s = 0;
            for (; s + w <= spatial; s += w)
            {
                TVec acc = TOps.Zero;
                for (int j = lo; j <= hi; j++)
                {
                    TVec v = TOps.Load(x + j * spatial + s);
                    acc = TOps.MultiplyAdd(v, v, acc);
                }
                TVec pw = Pow<TVec, TOps, TLog>(TOps.MultiplyAdd(acc, scale, kk), negBeta);
                TOps.Store(TOps.Multiply(TOps.Load(xc + s), pw), yc + s);
            }
            for (; s < spatial; s++)
            {
                float d = p.Denominator(x, lo, hi, s);
                yc[s] = xc[s] * TOps.GetElement(Pow<TVec, TOps, TLog>(TOps.Broadcast(d), negBeta), 0);
            }
        }
    }

    // ================================================================ backward

    /// <summary>
    /// dInput (=|+=) dx with dx[j] = dy[j] D[j]^(-beta) - 2 alpha beta / size * x[j] * sum over the channels i whose
    /// window holds j (i in [j - (size-1)/2, j + size/2]) of dy[i] x[i] D[i]^(-beta-1). The denominators are
    /// recomputed from the input.
    /// </summary>
    public static void Backward(Span<float> dInput, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> input,
        int batch, int channels, int spatial, int size, float alpha, float beta, float k, bool accumulate)
        => Backward(Simd.Best, dInput, dOutput, input, batch, channels, spatial, size, alpha, beta, k, accumulate);

    [SkipLocalsInit]
    internal static void Backward(SimdPath path, Span<float> dInput /*[batch, C, spatial]*/, ReadOnlySpan<float> dOutput /*[batch, C, spatial]*/,
        ReadOnlySpan<float> input /*[batch, C, spatial]*/, int batch, int channels, int spatial, int size, float alpha, float beta, float k, bool accumulate)
    {
        Check(batch, channels, spatial, size);
        long total = (long)batch * channels * spatial;
        Guard.AtLeast(dInput.Length, total, nameof(dInput));
        Guard.AtLeast(dOutput.Length, total, nameof(dOutput));
        Guard.AtLeast(input.Length, total, nameof(input));
        if (batch == 0) return;
        var p = new Params(channels, spatial, size, alpha, beta, k);

        // a spatial block of `block` positions needs two [C, block] tables: D^-beta and dy x D^(-beta-1)
        int block = Math.Min(spatial, StackScratch / 2 / channels);
        if (block >= 16) block &= ~15;   // whole vectors of every width
        float[]? rented = null;
        if (block < 1)
        {
            block = 1;   // more than StackScratch / 2 channels: pooled scratch, one position at a time
            rented = ArrayPool<float>.Shared.Rent(2 * channels);
        }
        Span<float> scratch = rented is null ? stackalloc float[StackScratch] : rented;
        try
        {
            fixed (float* dx = dInput, dy = dOutput, x = input, table = scratch)
            {
                float* powTable = table, termTable = table + channels * block;
                for (int n = 0; n < batch; n++)
                {
                    long offset = (long)n * channels * spatial;
                    for (int s0 = 0; s0 < spatial; s0 += block)
                    {
                        int width = Math.Min(block, spatial - s0);
                        var b = new Block(dx + offset + s0, dy + offset + s0, x + offset + s0, powTable, termTable, width);
                        switch (path)
                        {
                            case SimdPath.Scalar: BackwardBlockScalar(b, p, accumulate); break;
                            case SimdPath.Vector512: BackwardBlockVector<Vector512<float>, Vector512Ops, Log512>(b, p, accumulate); break;
                            case SimdPath.Vector256: BackwardBlockVector<Vector256<float>, Vector256Ops, Log256>(b, p, accumulate); break;
                            default: BackwardBlockVector<Vector128<float>, Vector128Ops, Log128>(b, p, accumulate); break;
                        }
                    }
                }
            }
        }
        finally
        {
            if (rented != null) ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Spatial positions [s0, s0 + Width) of one sample: DX/DY/X point at position s0 of channel 0 (channel stride
    /// = spatial); Pow/Term are [C, Width] tables of D^-beta and dy x D^(-beta-1).
    /// </summary>
    private readonly struct Block(float* dx, float* dy, float* x, float* pow, float* term, int width)
    {
        public readonly float* DX = dx, DY = dy, X = x, Pow = pow, Term = term;
        public readonly int Width = width;
    }

    private static void BackwardBlockScalar(in Block b, in Params p, bool accumulate)
    {
        for (int c = 0; c < p.Channels; c++)
        {
            p.Window(c, out int lo, out int hi);
            for (int s = 0; s < b.Width; s++)
            {
                float d = p.Denominator(b.X, lo, hi, s);
                StoreTerms(b, p, c, s, d, MathF.Pow(d, -p.Beta));
            }
        }
        for (int j = 0; j < p.Channels; j++)
        {
            p.ReverseWindow(j, out int lo, out int hi);
            for (int s = 0; s < b.Width; s++) GradientAt(b, p, j, s, lo, hi, accumulate);
        }
    }

    private static void BackwardBlockVector<TVec, TOps, TLog>(in Block b, in Params p, bool accumulate)
        where TVec : struct where TOps : struct, IVectorOps<TVec> where TLog : struct, IVectorLog<TVec>
    {
        int w = TOps.Count, spatial = p.Spatial, width = b.Width;
        TVec scale = TOps.Broadcast(p.Scale), kk = TOps.Broadcast(p.K), negBeta = TOps.Broadcast(-p.Beta);
        for (int c = 0; c < p.Channels; c++)
        {
            p.Window(c, out int lo, out int hi);
            float* xc = b.X + c * spatial, dyc = b.DY + c * spatial;
            float* powc = b.Pow + c * width, termc = b.Term + c * width;
            int s = 0;
            for (; s + w <= width; s += w)
            {
                TVec acc = TOps.Zero;
                for (int j = lo; j <= hi; j++)
                {
                    TVec v = TOps.Load(b.X + j * spatial + s);
                    acc = TOps.MultiplyAdd(v, v, acc);
                }
                TVec d = TOps.MultiplyAdd(acc, scale, kk);
                TVec pw = Pow<TVec, TOps, TLog>(d, negBeta);
                TOps.Store(pw, powc + s);
                TOps.Store(TOps.Divide(TOps.Multiply(TOps.Multiply(TOps.Load(dyc + s), TOps.Load(xc + s)), pw), d), termc + s);
            }
            for (; s < width; s++)
            {
                float d = p.Denominator(b.X, lo, hi, s);
                StoreTerms(b, p, c, s, d, TOps.GetElement(Pow<TVec, TOps, TLog>(TOps.Broadcast(d), negBeta), 0));
            }
        }

        TVec coef = TOps.Broadcast(p.GradientScale);
        for (int j = 0; j < p.Channels; j++)
        {
            p.ReverseWindow(j, out int lo, out int hi);
            float* xj = b.X + j * spatial, dyj = b.DY + j * spatial, dxj = b.DX + j * spatial;
            float* powj = b.Pow + j * width;
            int s = 0;
            for (; s + w <= width; s += w)
            {
                TVec sum = TOps.Zero;
                for (int i = lo; i <= hi; i++) sum = TOps.Add(sum, TOps.Load(b.Term + i * width + s));
                // dy pow - coef x sum
                TVec grad = TOps.Subtract(TOps.Multiply(TOps.Load(dyj + s), TOps.Load(powj + s)),
                    TOps.Multiply(TOps.Multiply(coef, TOps.Load(xj + s)), sum));
                if (accumulate) grad = TOps.Add(grad, TOps.Load(dxj + s));
                TOps.Store(grad, dxj + s);
            }
            for (; s < width; s++) GradientAt(b, p, j, s, lo, hi, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTerms(in Block b, in Params p, int c, int s, float d, float pw)
    {
        b.Pow[c * b.Width + s] = pw;
        b.Term[c * b.Width + s] = b.DY[c * p.Spatial + s] * b.X[c * p.Spatial + s] * pw / d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientAt(in Block b, in Params p, int j, int s, int lo, int hi, bool accumulate)
    {
        float sum = 0f;
        for (int i = lo; i <= hi; i++) sum += b.Term[i * b.Width + s];
        int at = j * p.Spatial + s;
        float grad = b.DY[at] * b.Pow[j * b.Width + s] - p.GradientScale * b.X[at] * sum;
        b.DX[at] = accumulate ? b.DX[at] + grad : grad;
    }

    // ================================================================ shared pieces

    /// <summary>d^e = exp(e * log d) lane-wise (d &gt; 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Pow<TVec, TOps, TLog>(TVec d, TVec exponent)
        where TVec : struct where TOps : struct, IVectorOps<TVec> where TLog : struct, IVectorLog<TVec>
        => TOps.Exp(TOps.Multiply(TLog.Log(d), exponent));

    private readonly struct Params(int channels, int spatial, int size, float alpha, float beta, float k)
    {
        public readonly int Channels = channels, Spatial = spatial, Size = size;
        public readonly float Beta = beta, K = k;
        /// <summary>alpha / size.</summary>
        public readonly float Scale = alpha / size;
        /// <summary>2 alpha beta / size.</summary>
        public readonly float GradientScale = 2f * alpha * beta / size;

        /// <summary>Channels [lo, hi] summed for output channel c.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Window(int c, out int lo, out int hi)
        {
            lo = Math.Max(0, c - Size / 2);
            hi = Math.Min(Channels - 1, c + (Size - 1) / 2);
        }

        /// <summary>Output channels [lo, hi] whose window holds input channel j.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void ReverseWindow(int j, out int lo, out int hi)
        {
            lo = Math.Max(0, j - (Size - 1) / 2);
            hi = Math.Min(Channels - 1, j + Size / 2);
        }

        /// <summary>k + alpha/size * sum over channels [lo, hi] of x^2 at spatial position s (x points at channel 0).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Denominator(float* x, int lo, int hi, int s)
        {
            float acc = 0f;
            for (int j = lo; j <= hi; j++)
            {
                float v = x[j * Spatial + s];
                acc += v * v;
            }
            return acc * Scale + K;
        }
    }

    private static void Check(int batch, int channels, int spatial, int size)
    {
        Guard.NonNegative(batch, nameof(batch));
        Guard.Positive(channels, nameof(channels));
        Guard.Positive(spatial, nameof(spatial));
        Guard.Positive(size, nameof(size));
    }

    internal interface IVectorLog<TVec> where TVec : struct
    {
        static abstract TVec Log(TVec a);
    }

    private struct Log128 : IVectorLog<Vector128<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Log(Vector128<float> a) => Vector128.Log(a);
    }

    private struct Log256 : IVectorLog<Vector256<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Log(Vector256<float> a) => Vector256.Log(a);
    }

    private struct Log512 : IVectorLog<Vector512<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Log(Vector512<float> a) => Vector512.Log(a);
    }
}
