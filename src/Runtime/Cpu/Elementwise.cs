using System;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>
/// Elementwise kernels over equally long spans (count = destination length). The destination may be
/// the very same span as an input (in place), but must not partially overlap one.
/// </summary>
public static unsafe class Elementwise
{
    // ---------------------------------------------------------------- Add: output = a + b

    public static void Add(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        => Add(Simd.Best, output, a, b);

    internal static void Add(SimdPath path, Span<float> output /*[count]*/, ReadOnlySpan<float> a /*[count]*/, ReadOnlySpan<float> b /*[count]*/)
    {
        Guard.SameLength(a.Length, output.Length, nameof(a));
        Guard.SameLength(b.Length, output.Length, nameof(b));
        if (path == SimdPath.Scalar) { AddScalar(output, a, b); return; }
        fixed (float* po = output, pa = a, pb = b)
        {
            switch (path)
            {
                case SimdPath.Vector512: AddVector<Vector512<float>, Vector512Ops>(po, pa, pb, output.Length); break;
                case SimdPath.Vector256: AddVector<Vector256<float>, Vector256Ops>(po, pa, pb, output.Length); break;
                default: AddVector<Vector128<float>, Vector128Ops>(po, pa, pb, output.Length); break;
            }
        }
    }

    internal static void AddScalar(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        for (int i = 0; i < output.Length; i++) output[i] = a[i] + b[i];
    }

    private static void AddVector<TVec, TOps>(float* output, float* a, float* b, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
            TOps.Store(TOps.Add(TOps.Load(a + i), TOps.Load(b + i)), output + i);
        for (; i < count; i++) output[i] = a[i] + b[i];
    }

    // ---------------------------------------------------------------- AddRelu: output = max(a + b, 0), one pass

    /// <summary>
    /// output = a + b clamped like <see cref="Activations.ReluForward(Span{float}, ReadOnlySpan{float})"/> (s &gt; 0 ? s : 0):
    /// bit-identical to <see cref="Add(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float})"/> followed by the ReLU, in
    /// one pass over memory (a residual block's add and ReLU in inference).
    /// </summary>
    public static void AddRelu(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        => AddRelu(Simd.Best, output, a, b);

    /// <summary>
    /// <see cref="AddRelu(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float})"/> on NCHW tensors whose planes hold
    /// <paramref name="plane"/> (= H*W) floats: the threads split every plane into the same bands of rows that the
    /// row-blocked convolutions before it wrote, so each core reads what it produced. Same bits.
    /// </summary>
    public static void AddRelu(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int plane)
    {
        Guard.SameLength(a.Length, output.Length, nameof(a));
        Guard.SameLength(b.Length, output.Length, nameof(b));
        int threads = WorkerPool.ThreadCount;
        if (plane < 256 * threads || output.Length % plane != 0 || output.Length < ElementwiseParallel.MinElements || threads == 1 || Simd.Best == SimdPath.Scalar)
        {
            AddRelu(Simd.Best, output, a, b);
            return;
        }
        fixed (float* po = output, pa = a, pb = b)
            WorkerPool.For(threads, new PlaneBands { Output = po, A = pa, B = pb, Planes = output.Length / plane, Plane = plane, Bands = threads });
    }

    private struct PlaneBands : IParallelBody
    {
        public float* Output, A, B;
        public int Planes, Plane, Bands;

        public readonly void Invoke(int band)
        {
            int start = (int)((long)Plane * band / Bands), end = (int)((long)Plane * (band + 1) / Bands);
            for (int p = 0; p < Planes; p++)
            {
                long at = (long)p * Plane + start;
                switch (Simd.Best)
                {
                    case SimdPath.Vector512: AddReluVector<Vector512<float>, Vector512Ops>(Output + at, A + at, B + at, end - start); break;
                    case SimdPath.Vector256: AddReluVector<Vector256<float>, Vector256Ops>(Output + at, A + at, B + at, end - start); break;
                    default: AddReluVector<Vector128<float>, Vector128Ops>(Output + at, A + at, B + at, end - start); break;
                }
            }
        }
    }

    internal static void AddRelu(SimdPath path, Span<float> output /*[count]*/, ReadOnlySpan<float> a /*[count]*/, ReadOnlySpan<float> b /*[count]*/)
    {
        Guard.SameLength(a.Length, output.Length, nameof(a));
        Guard.SameLength(b.Length, output.Length, nameof(b));
        if (path == SimdPath.Scalar)
        {
            for (int i = 0; i < output.Length; i++)
            {
                float sum = a[i] + b[i];
                output[i] = sum > 0f ? sum : 0f;
            }
            return;
        }
        fixed (float* po = output, pa = a, pb = b)
        {
            switch (path)
            {
                case SimdPath.Vector512: AddReluVector<Vector512<float>, Vector512Ops>(po, pa, pb, output.Length); break;
                case SimdPath.Vector256: AddReluVector<Vector256<float>, Vector256Ops>(po, pa, pb, output.Length); break;
                default: AddReluVector<Vector128<float>, Vector128Ops>(po, pa, pb, output.Length); break;
            }
        }
    }

    private static void AddReluVector<TVec, TOps>(float* output, float* a, float* b, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
        {
            TVec sum = TOps.Add(TOps.Load(a + i), TOps.Load(b + i));
            TOps.Store(TOps.Select(TOps.GreaterThan(sum, TOps.Zero), sum, TOps.Zero), output + i);
        }
        for (; i < count; i++)
        {
            float sum = a[i] + b[i];
            output[i] = sum > 0f ? sum : 0f;
        }
    }

    // ---------------------------------------------------------------- Multiply: output = a * b

    public static void Multiply(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        => Multiply(Simd.Best, output, a, b);

    internal static void Multiply(SimdPath path, Span<float> output /*[count]*/, ReadOnlySpan<float> a /*[count]*/, ReadOnlySpan<float> b /*[count]*/)
    {
        Guard.SameLength(a.Length, output.Length, nameof(a));
        Guard.SameLength(b.Length, output.Length, nameof(b));
        if (path == SimdPath.Scalar) { MultiplyScalar(output, a, b); return; }
        fixed (float* po = output, pa = a, pb = b)
        {
            switch (path)
            {
                case SimdPath.Vector512: MultiplyVector<Vector512<float>, Vector512Ops>(po, pa, pb, output.Length); break;
                case SimdPath.Vector256: MultiplyVector<Vector256<float>, Vector256Ops>(po, pa, pb, output.Length); break;
                default: MultiplyVector<Vector128<float>, Vector128Ops>(po, pa, pb, output.Length); break;
            }
        }
    }

    internal static void MultiplyScalar(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        for (int i = 0; i < output.Length; i++) output[i] = a[i] * b[i];
    }

    private static void MultiplyVector<TVec, TOps>(float* output, float* a, float* b, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
            TOps.Store(TOps.Multiply(TOps.Load(a + i), TOps.Load(b + i)), output + i);
        for (; i < count; i++) output[i] = a[i] * b[i];
    }

    // ---------------------------------------------------------------- MultiplyBackward: dA (=|+=) dOutput * other

    public static void MultiplyBackward(Span<float> dA, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> other, bool accumulate)
        => MultiplyBackward(Simd.Best, dA, dOutput, other, accumulate);

    internal static void MultiplyBackward(SimdPath path, Span<float> dA /*[count]*/, ReadOnlySpan<float> dOutput /*[count]*/,
        ReadOnlySpan<float> other /*[count]*/, bool accumulate)
    {
        if (!accumulate) { Multiply(path, dA, dOutput, other); return; }
        Guard.SameLength(dOutput.Length, dA.Length, nameof(dOutput));
        Guard.SameLength(other.Length, dA.Length, nameof(other));
        if (path == SimdPath.Scalar) { MultiplyAccumulateScalar(dA, dOutput, other); return; }
        fixed (float* pd = dA, pg = dOutput, po = other)
        {
            switch (path)
            {
                case SimdPath.Vector512: MultiplyAccumulateVector<Vector512<float>, Vector512Ops>(pd, pg, po, dA.Length); break;
                case SimdPath.Vector256: MultiplyAccumulateVector<Vector256<float>, Vector256Ops>(pd, pg, po, dA.Length); break;
                default: MultiplyAccumulateVector<Vector128<float>, Vector128Ops>(pd, pg, po, dA.Length); break;
            }
        }
    }

    internal static void MultiplyAccumulateScalar(Span<float> dA, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> other)
    {
        for (int i = 0; i < dA.Length; i++) dA[i] += dOutput[i] * other[i];
    }

    private static void MultiplyAccumulateVector<TVec, TOps>(float* dA, float* dOutput, float* other, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count)
            TOps.Store(TOps.MultiplyAdd(TOps.Load(dOutput + i), TOps.Load(other + i), TOps.Load(dA + i)), dA + i);
        for (; i < count; i++) dA[i] += dOutput[i] * other[i];
    }

    // ---------------------------------------------------------------- CopyOrAdd: destination (=|+=) source

    public static void CopyOrAdd(Span<float> destination, ReadOnlySpan<float> source, bool accumulate)
        => CopyOrAdd(Simd.Best, destination, source, accumulate);

    internal static void CopyOrAdd(SimdPath path, Span<float> destination /*[count]*/, ReadOnlySpan<float> source /*[count]*/, bool accumulate)
    {
        Guard.SameLength(source.Length, destination.Length, nameof(source));
        if (!accumulate) { source.CopyTo(destination); return; }
        if (path == SimdPath.Scalar) { AddInPlaceScalar(destination, source); return; }
        fixed (float* pd = destination, ps = source)
        {
            switch (path)
            {
                case SimdPath.Vector512: AddVector<Vector512<float>, Vector512Ops>(pd, pd, ps, destination.Length); break;
                case SimdPath.Vector256: AddVector<Vector256<float>, Vector256Ops>(pd, pd, ps, destination.Length); break;
                default: AddVector<Vector128<float>, Vector128Ops>(pd, pd, ps, destination.Length); break;
            }
        }
    }

    internal static void AddInPlaceScalar(Span<float> destination, ReadOnlySpan<float> source)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] += source[i];
    }

    // ---------------------------------------------------------------- Fill: destination = value

    public static void Fill(Span<float> destination, float value) => Fill(Simd.Best, destination, value);

    internal static void Fill(SimdPath path, Span<float> destination /*[count]*/, float value)
    {
        if (path == SimdPath.Scalar) { FillScalar(destination, value); return; }
        fixed (float* pd = destination)
        {
            switch (path)
            {
                case SimdPath.Vector512: FillVector<Vector512<float>, Vector512Ops>(pd, value, destination.Length); break;
                case SimdPath.Vector256: FillVector<Vector256<float>, Vector256Ops>(pd, value, destination.Length); break;
                default: FillVector<Vector128<float>, Vector128Ops>(pd, value, destination.Length); break;
            }
        }
    }

    internal static void FillScalar(Span<float> destination, float value)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = value;
    }

    private static void FillVector<TVec, TOps>(float* destination, float value, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec v = TOps.Broadcast(value);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count) TOps.Store(v, destination + i);
        for (; i < count; i++) destination[i] = value;
    }

    // ---------------------------------------------------------------- Scale: values *= factor

    public static void Scale(Span<float> values, float factor) => Scale(Simd.Best, values, factor);

    internal static void Scale(SimdPath path, Span<float> values /*[count]*/, float factor)
    {
        if (path == SimdPath.Scalar) { ScaleScalar(values, factor); return; }
        fixed (float* pv = values)
        {
            switch (path)
            {
                case SimdPath.Vector512: ScaleVector<Vector512<float>, Vector512Ops>(pv, factor, values.Length); break;
                case SimdPath.Vector256: ScaleVector<Vector256<float>, Vector256Ops>(pv, factor, values.Length); break;
                default: ScaleVector<Vector128<float>, Vector128Ops>(pv, factor, values.Length); break;
            }
        }
    }

    internal static void ScaleScalar(Span<float> values, float factor)
    {
        for (int i = 0; i < values.Length; i++) values[i] *= factor;
    }

    private static void ScaleVector<TVec, TOps>(float* values, float factor, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec f = TOps.Broadcast(factor);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count) TOps.Store(TOps.Multiply(TOps.Load(values + i), f), values + i);
        for (; i < count; i++) values[i] *= factor;
    }

    // ---------------------------------------------------------------- Scaled: output = factor * input (the DSL's Scale)

    /// <summary>output = factor * input (output may be input).</summary>
    public static void Scaled(Span<float> output, ReadOnlySpan<float> input, float factor)
    {
        Guard.SameLength(input.Length, output.Length, nameof(input));
        input.CopyTo(output);
        Scale(output, factor);
    }

    /// <summary>dInput (=|+=) factor * dOutput.</summary>
    public static void ScaledBackward(Span<float> dInput, ReadOnlySpan<float> dOutput, float factor, bool accumulate)
    {
        if (accumulate) Axpy(dInput, factor, dOutput);
        else Scaled(dInput, dOutput, factor);
    }

    // ---------------------------------------------------------------- Axpy: y += alpha * x

    public static void Axpy(Span<float> y, float alpha, ReadOnlySpan<float> x) => Axpy(Simd.Best, y, alpha, x);

    internal static void Axpy(SimdPath path, Span<float> y /*[count]*/, float alpha, ReadOnlySpan<float> x /*[count]*/)
    {
        Guard.SameLength(x.Length, y.Length, nameof(x));
        if (path == SimdPath.Scalar) { AxpyScalar(y, alpha, x); return; }
        fixed (float* py = y, px = x)
        {
            switch (path)
            {
                case SimdPath.Vector512: AxpyVector<Vector512<float>, Vector512Ops>(py, alpha, px, y.Length); break;
                case SimdPath.Vector256: AxpyVector<Vector256<float>, Vector256Ops>(py, alpha, px, y.Length); break;
                default: AxpyVector<Vector128<float>, Vector128Ops>(py, alpha, px, y.Length); break;
            }
        }
    }

    internal static void AxpyScalar(Span<float> y, float alpha, ReadOnlySpan<float> x)
    {
        for (int i = 0; i < y.Length; i++) y[i] += alpha * x[i];
    }

    private static void AxpyVector<TVec, TOps>(float* y, float alpha, float* x, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec a = TOps.Broadcast(alpha);
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count) TOps.Store(TOps.MultiplyAdd(a, TOps.Load(x + i), TOps.Load(y + i)), y + i);
        for (; i < count; i++) y[i] += alpha * x[i];
    }

    // ---------------------------------------------------------------- Sum (internal; bias gradients)

    internal static float Sum(SimdPath path, ReadOnlySpan<float> values /*[count]*/)
    {
        if (path == SimdPath.Scalar) return SumScalar(values);
        fixed (float* pv = values)
        {
            return path switch
            {
                SimdPath.Vector512 => SumVector<Vector512<float>, Vector512Ops>(pv, values.Length),
                SimdPath.Vector256 => SumVector<Vector256<float>, Vector256Ops>(pv, values.Length),
                _ => SumVector<Vector128<float>, Vector128Ops>(pv, values.Length),
            };
        }
    }

    internal static float SumScalar(ReadOnlySpan<float> values)
    {
        float sum = 0f;
        for (int i = 0; i < values.Length; i++) sum += values[i];
        return sum;
    }

    private static float SumVector<TVec, TOps>(float* values, int count)
        where TVec : struct where TOps : struct, IVectorOps<TVec>
    {
        TVec s = TOps.Zero;
        int i = 0;
        for (; i + TOps.Count <= count; i += TOps.Count) s = TOps.Add(s, TOps.Load(values + i));
        float sum = TOps.Sum(s);
        for (; i < count; i++) sum += values[i];
        return sum;
    }
}
