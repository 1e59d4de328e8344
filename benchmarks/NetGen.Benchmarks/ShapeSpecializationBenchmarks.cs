using System;
using BenchmarkDotNet.Attributes;
using NetGen.Cpu;

namespace NetGen.Benchmarks;

/// <summary>
/// The shape-specialization experiment (DESIGN.md section 3, CPU-speed issue): would per-layer shape
/// structs with static abstract members, so the JIT sees constant bounds, make the kernels faster?
/// <para>
/// The candidate is the part of a convolution that is not the matrix product: im2col, the loop nest
/// with the most index arithmetic (the GEMM's micro-kernels are register-blocked over fixed tile
/// sizes already, and their loop bounds are panel sizes, not layer sizes). Both variants below are
/// the same loop nest as <c>Conv2d.Im2Col</c>; one reads the geometry from a struct at run time
/// (what the generated code does today), the other from static abstract members of a shape struct,
/// which the JIT compiles to constants for each layer. The whole layer (im2col + GEMM, the runtime's
/// <see cref="Conv2d.Forward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, in Conv2dGeometry, Span{float})"/>)
/// is measured alongside, to show what share of a layer the specialization could touch at all.
/// </para>
/// </summary>
[MemoryDiagnoser]
public class ShapeSpecializationBenchmarks
{
    public interface IConvShape
    {
        static abstract int InChannels { get; }
        static abstract int InHeight { get; }
        static abstract int InWidth { get; }
        static abstract int OutChannels { get; }
        static abstract int Kernel { get; }
        static abstract int Stride { get; }
        static abstract int Padding { get; }
    }

    /// <summary>LeNet-5 C3: 6x14x14 -> 16x10x10, 5x5.</summary>
    public struct LeNetC3 : IConvShape
    {
        public static int InChannels => 6; public static int InHeight => 14; public static int InWidth => 14;
        public static int OutChannels => 16; public static int Kernel => 5; public static int Stride => 1; public static int Padding => 0;
    }

    /// <summary>ResNet-18 layer1 3x3: 64x56x56 -> 64x56x56, padding 1.</summary>
    public struct ResNetLayer1 : IConvShape
    {
        public static int InChannels => 64; public static int InHeight => 56; public static int InWidth => 56;
        public static int OutChannels => 64; public static int Kernel => 3; public static int Stride => 1; public static int Padding => 1;
    }

    /// <summary>ResNet-18 layer2.0 downsampling 3x3: 64x56x56 -> 128x28x28, stride 2, padding 1.</summary>
    public struct ResNetLayer2Down : IConvShape
    {
        public static int InChannels => 64; public static int InHeight => 56; public static int InWidth => 56;
        public static int OutChannels => 128; public static int Kernel => 3; public static int Stride => 2; public static int Padding => 1;
    }

    [Params("LeNet C3", "ResNet layer1", "ResNet layer2 stride 2")]
    public string Layer { get; set; } = "LeNet C3";

    private Conv2dGeometry _g;
    private float[] _image = null!, _weight = null!, _bias = null!, _output = null!, _col = null!;

    [GlobalSetup]
    public void Setup()
    {
        _g = Layer switch
        {
            "LeNet C3" => Geometry<LeNetC3>(),
            "ResNet layer1" => Geometry<ResNetLayer1>(),
            _ => Geometry<ResNetLayer2Down>(),
        };
        var rng = new Rng(3);
        _image = new float[_g.InputSize];
        for (int i = 0; i < _image.Length; i++) _image[i] = rng.NextUniform(-1f, 1f);
        _weight = new float[_g.WeightSize];
        for (int i = 0; i < _weight.Length; i++) _weight[i] = rng.NextUniform(-0.1f, 0.1f);
        _bias = new float[_g.OutChannels];
        _output = new float[_g.OutputSize];
        _col = new float[_g.ColumnSize];
        // Both variants must produce the same columns, or the comparison means nothing.
        var runtime = new float[_g.ColumnSize];
        Im2ColRuntime(runtime, _image, _g);
        SpecializedFor(Layer)(_col, _image);
        if (!runtime.AsSpan().SequenceEqual(_col)) throw new InvalidOperationException("specialized im2col differs from the runtime one");
    }

    private static Conv2dGeometry Geometry<T>() where T : IConvShape
        => new(T.InChannels, T.InHeight, T.InWidth, T.OutChannels, T.Kernel, T.Stride, T.Padding);

    private static Action<float[], float[]> SpecializedFor(string layer) => layer switch
    {
        "LeNet C3" => (col, image) => Im2ColSpecialized<LeNetC3>(col, image),
        "ResNet layer1" => (col, image) => Im2ColSpecialized<ResNetLayer1>(col, image),
        _ => (col, image) => Im2ColSpecialized<ResNetLayer2Down>(col, image),
    };

    [Benchmark(Baseline = true, Description = "im2col, bounds read at run time")]
    public void Runtime() => Im2ColRuntime(_col, _image, _g);

    [Benchmark(Description = "im2col, constant bounds (shape struct)")]
    public void Specialized()
    {
        switch (Layer)
        {
            case "LeNet C3": Im2ColSpecialized<LeNetC3>(_col, _image); break;
            case "ResNet layer1": Im2ColSpecialized<ResNetLayer1>(_col, _image); break;
            default: Im2ColSpecialized<ResNetLayer2Down>(_col, _image); break;
        }
    }

    [Benchmark(Description = "whole layer forward (im2col + GEMM), batch 1")]
    public void WholeLayer() => Conv2d.Forward(_output, _image, _weight, _bias, 1, _g, _col);

    private static unsafe void Im2ColRuntime(float[] col, float[] image, in Conv2dGeometry g)
    {
        int k = g.Kernel, stride = g.Stride, pad = g.Padding;
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        fixed (float* colBase = col, imageBase = image)
        {
            float* dst = colBase;
            for (int c = 0; c < g.InChannels; c++)
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                Range(kx, pad, stride, inW, outW, out int lo, out int hi);
                for (int oy = 0; oy < outH; oy++, dst += outW)
                {
                    int iy = oy * stride - pad + ky;
                    if ((uint)iy >= (uint)inH) { for (int ox = 0; ox < outW; ox++) dst[ox] = 0f; continue; }
                    float* src = imageBase + (c * inH + iy) * inW - pad + kx;
                    for (int ox = 0; ox < lo; ox++) dst[ox] = 0f;
                    if (stride == 1) for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox];
                    else for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox * stride];
                    for (int ox = hi; ox < outW; ox++) dst[ox] = 0f;
                }
            }
        }
    }

    private static unsafe void Im2ColSpecialized<T>(float[] col, float[] image) where T : IConvShape
    {
        // Every bound below is a JIT-time constant for each T.
        int outH = (T.InHeight + 2 * T.Padding - T.Kernel) / T.Stride + 1;
        int outW = (T.InWidth + 2 * T.Padding - T.Kernel) / T.Stride + 1;
        fixed (float* colBase = col, imageBase = image)
        {
            float* dst = colBase;
            for (int c = 0; c < T.InChannels; c++)
            for (int ky = 0; ky < T.Kernel; ky++)
            for (int kx = 0; kx < T.Kernel; kx++)
            {
                Range(kx, T.Padding, T.Stride, T.InWidth, outW, out int lo, out int hi);
                for (int oy = 0; oy < outH; oy++, dst += outW)
                {
                    int iy = oy * T.Stride - T.Padding + ky;
                    if ((uint)iy >= (uint)T.InHeight) { for (int ox = 0; ox < outW; ox++) dst[ox] = 0f; continue; }
                    float* src = imageBase + (c * T.InHeight + iy) * T.InWidth - T.Padding + kx;
                    for (int ox = 0; ox < lo; ox++) dst[ox] = 0f;
                    if (T.Stride == 1) for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox];
                    else for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox * T.Stride];
                    for (int ox = hi; ox < outW; ox++) dst[ox] = 0f;
                }
            }
        }
    }

    private static void Range(int kx, int pad, int stride, int inW, int outW, out int lo, out int hi)
    {
        int first = pad - kx;
        lo = first <= 0 ? 0 : (first + stride - 1) / stride;
        int last = inW - 1 + pad - kx;
        hi = last < 0 ? 0 : last / stride + 1;
        if (lo > outW) lo = outW;
        if (hi > outW) hi = outW;
        if (hi < lo) hi = lo;
    }
}
