using System;
using System.Linq;
using System.Text.RegularExpressions;
using NetGen.Cpu;
using NetGen.Generator.Emit;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Generator.Tests;

/// <summary>
/// The generator's CUDA C kernels, compiled by g++ and run on the CPU (<see cref="CudaKernelEmulator"/>), against the
/// CPU runtime's kernels: the elementwise half of the CUDA path is checked on every machine, GPU or not. What only a
/// GPU can check (NVRTC, cuDNN, the graphs) is in examples/GpuCheck and the skipped device tests.
/// </summary>
public sealed unsafe class CudaKernelTests : IClassFixture<CudaEmulatorFixture>
{
    // 37 elements over 3 blocks of 4 threads: every thread strides several times and the last stride is partial.
    // 2 x 32 threads: more threads than elements, so the bound check matters.
    private static readonly (uint Blocks, uint Threads)[] Launches = { (3, 4), (2, 32) };
    private const int N = 37;

    private readonly ITestOutputHelper _output;
    private readonly CudaEmulatorFixture _fixture;

    public CudaKernelTests(CudaEmulatorFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    private CudaKernelEmulator Emulator() => _fixture.Emulator;

    private static float[] Random(int seed, int n, float low = -3f, float high = 3f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => low + (high - low) * (float)rng.NextDouble()).ToArray();
    }

    private void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what) =>
        CudaEmulatorFixture.Close(_output, expected, actual, tolerance, what);

    [Fact]
    public void Every_kernel_of_every_snapshot_network_is_in_the_catalogue_and_launched_by_name()
    {
        // The per-network source is a subset of the catalogue, so compiling the catalogue compile-checks every network's.
        foreach (string network in new[] { Sources.LeNet5, Sources.ResNet18 })
        {
            string cuda = GeneratorHarness.Run(network).CudaText;
            var defined = Regex.Matches(cuda, @"__global__ void (netgen_\w+)\(").Select(m => m.Groups[1].Value).ToArray();
            Assert.NotEmpty(defined);
            Assert.Subset(CudaKernels.All.ToHashSet(), defined.ToHashSet());
            foreach (string kernel in defined.Except(CudaKernels.Training))
                Assert.Contains("\"" + kernel + "\"", cuda);
        }
    }

    [SkippableFact]
    public void Activation_kernels_match_the_CPU_activations_forward_and_backward()
    {
        var emulator = Emulator();
        const float slope = 0.2f;
        float[] x = Random(1, N), dy = Random(2, N), start = Random(3, N);
        foreach (var (blocks, threads) in Launches)
        {
            foreach (string name in new[] { "tanh", "relu", "sigmoid", "leaky_relu" })
            {
                float[] y = new float[N], expectedY = new float[N];
                var forward = emulator.Kernel($"netgen_{name}_forward");
                fixed (float* py = y, px = x)
                {
                    foreach (var _ in emulator.Launch(blocks, threads))
                    {
                        if (name == "leaky_relu") ((delegate* unmanaged<float*, float*, int, float, void>)forward)(py, px, N, slope);
                        else ((delegate* unmanaged<float*, float*, int, void>)forward)(py, px, N);
                    }
                }
                switch (name)
                {
                    case "tanh": Activations.TanhForward(expectedY, x); break;
                    case "relu": Activations.ReluForward(expectedY, x); break;
                    case "sigmoid": Activations.SigmoidForward(expectedY, x); break;
                    default: Activations.LeakyReluForward(expectedY, x, slope); break;
                }
                // tanhf / expf (glibc here, CUDA's on the GPU) and the CPU's vector approximations agree to a few ulps.
                double tolerance = name is "tanh" or "sigmoid" ? 1e-6 : 0;
                Close(expectedY, y, tolerance, $"{name} forward {blocks}x{threads}");

                foreach (bool accumulate in new[] { false, true })
                {
                    float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                    // leaky ReLU's backward reads the input, the others read the output.
                    float[] saved = name == "leaky_relu" ? x : expectedY;
                    var backward = emulator.Kernel($"netgen_{name}_backward");
                    fixed (float* pdx = dx, pdy = dy, ps = saved)
                    {
                        foreach (var _ in emulator.Launch(blocks, threads))
                        {
                            if (name == "leaky_relu") ((delegate* unmanaged<float*, float*, float*, int, float, int, void>)backward)(pdx, pdy, ps, N, slope, accumulate ? 1 : 0);
                            else ((delegate* unmanaged<float*, float*, float*, int, int, void>)backward)(pdx, pdy, ps, N, accumulate ? 1 : 0);
                        }
                    }
                    switch (name)
                    {
                        case "tanh": Activations.TanhBackward(expectedDx, dy, saved, accumulate); break;
                        case "relu": Activations.ReluBackward(expectedDx, dy, saved, accumulate); break;
                        case "sigmoid": Activations.SigmoidBackward(expectedDx, dy, saved, accumulate); break;
                        default: Activations.LeakyReluBackward(expectedDx, dy, saved, slope, accumulate); break;
                    }
                    Close(expectedDx, dx, 0, $"{name} backward{(accumulate ? " accumulate" : "")} {blocks}x{threads}");
                }
            }
        }
    }

    [SkippableFact]
    public void Add_copy_and_bias_kernels_match_the_CPU()
    {
        var emulator = Emulator();
        const int rows = 5, features = 7; // 35 elements
        float[] a = Random(4, N), b = Random(5, N), start = Random(6, N), bias = Random(7, features);
        foreach (var (blocks, threads) in Launches)
        {
            float[] sum = new float[N], expected = new float[N];
            fixed (float* ps = sum, pa = a, pb = b)
            {
                var add = (delegate* unmanaged<float*, float*, float*, int, void>)emulator.Kernel("netgen_add_forward");
                foreach (var _ in emulator.Launch(blocks, threads)) add(ps, pa, pb, N);
            }
            Elementwise.Add(expected, a, b);
            Close(expected, sum, 0, $"add {blocks}x{threads}");

            foreach (bool accumulate in new[] { false, true })
            {
                float[] destination = (float[])start.Clone(), expectedDestination = (float[])start.Clone();
                fixed (float* pd = destination, pa = a)
                {
                    var copy = (delegate* unmanaged<float*, float*, int, int, void>)emulator.Kernel("netgen_copy_or_add");
                    foreach (var _ in emulator.Launch(blocks, threads)) copy(pd, pa, N, accumulate ? 1 : 0);
                }
                Elementwise.CopyOrAdd(expectedDestination, a, accumulate);
                Close(expectedDestination, destination, 0, $"copy_or_add{(accumulate ? " accumulate" : "")} {blocks}x{threads}");
            }

            // bias forward: y[r, j] += bias[j]; the CPU's Dense adds the bias the same way (one rounding per element).
            float[] y = a.Take(rows * features).ToArray(), expectedY = new float[rows * features];
            fixed (float* py = y, pbias = bias)
            {
                var forward = (delegate* unmanaged<float*, float*, int, int, void>)emulator.Kernel("netgen_bias_forward");
                foreach (var _ in emulator.Launch(blocks, threads)) forward(py, pbias, rows, features);
            }
            for (int i = 0; i < rows * features; i++) expectedY[i] = a[i] + bias[i % features];
            Close(expectedY, y, 0, $"bias forward {blocks}x{threads}");

            // bias backward accumulates column sums into the gradient: compare with the CPU Dense layer's dBias.
            float[] dBias = (float[])bias.Clone(), expectedDBias = (float[])bias.Clone();
            float[] dy = b.Take(rows * features).ToArray();
            fixed (float* pdb = dBias, pdy = dy)
            {
                var backward = (delegate* unmanaged<float*, float*, int, int, void>)emulator.Kernel("netgen_bias_backward");
                foreach (var _ in emulator.Launch(blocks, threads)) backward(pdb, pdy, rows, features);
            }
            float[] input = Random(8, rows * 3), dWeight = new float[features * 3];
            Dense.BackwardWeights(dWeight, expectedDBias, dy, input, rows, 3, features);
            Close(expectedDBias, dBias, 1e-6, $"bias backward {blocks}x{threads}");
        }
    }

    [SkippableFact]
    public void Dropout_kernels_draw_the_CPU_mask_bit_for_bit_and_multiply_by_it_backward()
    {
        var emulator = Emulator();
        var forward = (delegate* unmanaged<float*, float*, float*, ulong*, int, int, float, void>)emulator.Kernel("netgen_dropout_forward");
        var backward = (delegate* unmanaged<float*, float*, float*, int, int, void>)emulator.Kernel("netgen_multiply_backward");
        const int n = 1000;
        float[] x = Random(13, n), dy = Random(14, n), start = Random(15, n);
        ulong[] keys = { 0x0123_4567_89AB_CDEFUL, 0xFEDC_BA98_7654_3210UL };
        foreach (var (blocks, threads) in Launches)
        {
            foreach (float p in new[] { 0f, 0.2f, 0.5f })
            {
                for (int k = 0; k < keys.Length; k++)
                {
                    float[] y = new float[n], mask = new float[n], expectedY = new float[n], expectedMask = new float[n];
                    fixed (float* py = y, pm = mask, px = x)
                    fixed (ulong* pk = keys)
                    {
                        foreach (var _ in emulator.Launch(blocks, threads)) forward(py, pm, px, pk, k, n, p);
                    }
                    Dropout.Forward(expectedY, expectedMask, x, p, keys[k]);
                    Close(expectedMask, mask, 0, $"dropout mask p {p} key {k} {blocks}x{threads}");
                    Close(expectedY, y, 0, $"dropout output p {p} key {k} {blocks}x{threads}");

                    foreach (bool accumulate in new[] { false, true })
                    {
                        float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                        fixed (float* pdx = dx, pdy = dy, pm = mask)
                        {
                            foreach (var _ in emulator.Launch(blocks, threads)) backward(pdx, pdy, pm, n, accumulate ? 1 : 0);
                        }
                        Elementwise.MultiplyBackward(expectedDx, dy, expectedMask, accumulate);
                        // accumulating, the CPU's vector path fuses the multiply-add (one rounding, not two)
                        Close(expectedDx, dx, accumulate ? 1e-6 : 0, $"dropout backward{(accumulate ? " accumulate" : "")} p {p} {blocks}x{threads}");
                    }
                }
            }
        }
    }

    // (channels, inH, inW, kernel, stride, padding, ceil mode): LeNet's 2x2, AlexNet's overlapping 3/2, ResNet's padded
    // stem pool, GoogLeNet's ceil-mode pools (whose last window is clipped) and its 3/1/1 inception-branch pool.
    public static readonly TheoryData<int, int, int, int, int, int, bool> PoolGeometries = new()
    {
        { 3, 8, 8, 2, 2, 0, false },
        { 2, 13, 13, 3, 2, 0, false },
        { 2, 12, 12, 3, 2, 1, false },
        { 2, 14, 14, 3, 2, 0, true },
        { 2, 9, 11, 3, 2, 1, true },
        { 2, 7, 7, 3, 1, 1, true },
    };

    [SkippableTheory]
    [MemberData(nameof(PoolGeometries))]
    public void Max_pooling_kernels_match_the_CPU_bit_for_bit_ties_included(int channels, int inH, int inW, int k, int s, int pad, bool ceil)
    {
        var emulator = Emulator();
        const int batch = 2;
        var g = new Pool2dGeometry(channels, inH, inW, k, s, pad, ceil);
        int planes = batch * channels, inputSize = batch * g.InputSize, outputSize = batch * g.OutputSize;
        // values from a small set, so windows hold ties: the first maximum must win on both sides
        float[] x = Random(16, inputSize).Select(v => MathF.Round(v)).ToArray();
        float[] dy = Random(17, outputSize), start = Random(18, inputSize);
        var forward = (delegate* unmanaged<float*, float*, int, int, int, int, int, int, int, int, void>)emulator.Kernel("netgen_max_pool_forward");
        var backward = (delegate* unmanaged<float*, float*, float*, int, int, int, int, int, int, int, int, int, void>)emulator.Kernel("netgen_max_pool_backward");
        foreach (var (blocks, threads) in Launches)
        {
            float[] y = new float[outputSize], expectedY = new float[outputSize];
            fixed (float* py = y, px = x)
            {
                foreach (var _ in emulator.Launch(blocks, threads)) forward(py, px, planes, inH, inW, g.OutHeight, g.OutWidth, k, s, pad);
            }
            Pool2d.MaxForward(expectedY, x, batch, g);
            Close(expectedY, y, 0, $"max pool forward {g} {blocks}x{threads}");
            foreach (bool accumulate in new[] { false, true })
            {
                float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                fixed (float* pdx = dx, pdy = dy, px = x)
                {
                    foreach (var _ in emulator.Launch(blocks, threads)) backward(pdx, pdy, px, planes, inH, inW, g.OutHeight, g.OutWidth, k, s, pad, accumulate ? 1 : 0);
                }
                Pool2d.MaxBackward(expectedDx, dy, x, batch, g, accumulate);
                Close(expectedDx, dx, 0, $"max pool backward{(accumulate ? " accumulate" : "")} {g} {blocks}x{threads}");
            }
        }
    }

    [SkippableFact]
    public void Average_and_adaptive_pooling_kernels_match_the_CPU()
    {
        var emulator = Emulator();
        const int batch = 2;
        var avgForward = (delegate* unmanaged<float*, float*, int, int, int, int, int, int, int, void>)emulator.Kernel("netgen_avg_pool_forward");
        var avgBackward = (delegate* unmanaged<float*, float*, int, int, int, int, int, int, int, int, void>)emulator.Kernel("netgen_avg_pool_backward");
        var adaptiveForward = (delegate* unmanaged<float*, float*, int, int, int, int, int, void>)emulator.Kernel("netgen_adaptive_avg_pool_forward");
        var adaptiveBackward = (delegate* unmanaged<float*, float*, int, int, int, int, int, int, void>)emulator.Kernel("netgen_adaptive_avg_pool_backward");
        foreach (var (channels, inH, inW, k, s) in new[] { (6, 28, 28, 2, 2), (2, 9, 9, 3, 3), (2, 9, 10, 3, 2) })
        {
            var g = new Pool2dGeometry(channels, inH, inW, k, s);
            int planes = batch * channels, inputSize = batch * g.InputSize, outputSize = batch * g.OutputSize;
            float[] x = Random(19, inputSize), dy = Random(20, outputSize), start = Random(21, inputSize);
            float[] y = new float[outputSize], expectedY = new float[outputSize];
            fixed (float* py = y, px = x)
            {
                foreach (var _ in emulator.Launch(3, 4)) avgForward(py, px, planes, inH, inW, g.OutHeight, g.OutWidth, k, s);
            }
            Pool2d.AvgForward(expectedY, x, batch, g);
            Close(expectedY, y, 0, $"avg pool forward {g}");
            foreach (bool accumulate in new[] { false, true })
            {
                float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                fixed (float* pdx = dx, pdy = dy)
                {
                    foreach (var _ in emulator.Launch(3, 4)) avgBackward(pdx, pdy, planes, inH, inW, g.OutHeight, g.OutWidth, k, s, accumulate ? 1 : 0);
                }
                Pool2d.AvgBackward(expectedDx, dy, batch, g, accumulate);
                Close(expectedDx, dx, 0, $"avg pool backward{(accumulate ? " accumulate" : "")} {g}");
            }
        }

        // adaptive: equal bins (AlexNet's 6x6 -> 6x6 identity, 8 -> 4), unequal overlapping bins (7 -> 3, 5 -> 3), global (7x7 -> 1)
        foreach (var (channels, inH, inW, outH, outW) in new[] { (2, 6, 6, 6, 6), (2, 8, 8, 4, 4), (2, 7, 5, 3, 3), (3, 7, 7, 1, 1) })
        {
            int planes = batch * channels, inputSize = planes * inH * inW, outputSize = planes * outH * outW;
            float[] x = Random(22, inputSize), dy = Random(23, outputSize), start = Random(24, inputSize);
            float[] y = new float[outputSize], expectedY = new float[outputSize];
            fixed (float* py = y, px = x)
            {
                foreach (var _ in emulator.Launch(3, 4)) adaptiveForward(py, px, planes, inH, inW, outH, outW);
            }
            AdaptivePool2d.AvgForward(expectedY, x, batch, channels, inH, inW, outH, outW);
            // global pooling: the CPU sums a plane with vectors (another order); every other case is the same arithmetic
            Close(expectedY, y, outH * outW == 1 ? 1e-6 : 0, $"adaptive pool forward {inH}x{inW} -> {outH}x{outW}");
            foreach (bool accumulate in new[] { false, true })
            {
                float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                fixed (float* pdx = dx, pdy = dy)
                {
                    foreach (var _ in emulator.Launch(3, 4)) adaptiveBackward(pdx, pdy, planes, inH, inW, outH, outW, accumulate ? 1 : 0);
                }
                AdaptivePool2d.AvgBackward(expectedDx, dy, batch, channels, inH, inW, outH, outW, accumulate);
                Close(expectedDx, dx, 0, $"adaptive pool backward{(accumulate ? " accumulate" : "")} {inH}x{inW} -> {outH}x{outW}");
            }
        }
    }

    [SkippableFact]
    public void Concat_kernels_place_and_slice_each_operand_like_the_CPU()
    {
        var emulator = Emulator();
        var forward = (delegate* unmanaged<float*, float*, int, int, int, int, void>)emulator.Kernel("netgen_concat_forward");
        var backward = (delegate* unmanaged<float*, float*, int, int, int, int, int, void>)emulator.Kernel("netgen_concat_backward");
        const int batch = 3;
        int[] sizes = { 5, 2, 7 };
        int total = sizes.Sum();
        float[] y = new float[batch * total], expectedY = new float[batch * total];
        float[] dy = Random(25, batch * total);
        int offset = 0;
        foreach (int size in sizes)
        {
            float[] x = Random(26 + size, batch * size), start = Random(30 + size, batch * size);
            fixed (float* py = y, px = x)
            {
                foreach (var _ in emulator.Launch(3, 4)) forward(py, px, batch, size, total, offset);
            }
            Concat.Forward(expectedY, x, batch, size, total, offset);
            foreach (bool accumulate in new[] { false, true })
            {
                float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                fixed (float* pdx = dx, pdy = dy)
                {
                    foreach (var _ in emulator.Launch(3, 4)) backward(pdx, pdy, batch, size, total, offset, accumulate ? 1 : 0);
                }
                Concat.Backward(expectedDx, dy, batch, size, total, offset, accumulate);
                Close(expectedDx, dx, 0, $"concat backward{(accumulate ? " accumulate" : "")} operand of {size} at {offset}");
            }
            offset += size;
        }
        Close(expectedY, y, 0, "concat forward");
    }

    [SkippableFact]
    public void Softmax_multiply_exp_and_scale_kernels_match_the_CPU()
    {
        var emulator = Emulator();
        const int rows = 6, cols = 7, n = rows * cols;
        float[] x = Random(40, n), other = Random(41, n), dy = Random(42, n), start = Random(43, n);
        foreach (var (blocks, threads) in Launches)
        {
            float[] y = new float[n], expectedY = new float[n];
            fixed (float* py = y, px = x)
            {
                var forward = (delegate* unmanaged<float*, float*, int, int, void>)emulator.Kernel("netgen_softmax_forward");
                foreach (var _ in emulator.Launch(blocks, threads)) forward(py, px, rows, cols);
            }
            Activations.SoftmaxForward(expectedY, x, rows, cols);
            // the CPU's vector exp and its lane-wise sums against expf and a sequential sum
            Close(expectedY, y, 1e-6, $"softmax forward {blocks}x{threads}");
            foreach (bool accumulate in new[] { false, true })
            {
                float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                fixed (float* pdx = dx, pdy = dy, py = expectedY)
                {
                    var backward = (delegate* unmanaged<float*, float*, float*, int, int, int, void>)emulator.Kernel("netgen_softmax_backward");
                    foreach (var _ in emulator.Launch(blocks, threads)) backward(pdx, pdy, py, rows, cols, accumulate ? 1 : 0);
                }
                Activations.SoftmaxBackward(expectedDx, dy, expectedY, rows, cols, accumulate);
                Close(expectedDx, dx, 1e-6, $"softmax backward{(accumulate ? " accumulate" : "")} {blocks}x{threads}");
            }

            float[] product = new float[n], expectedProduct = new float[n];
            fixed (float* pp = product, pa = x, pb = other)
            {
                var multiply = (delegate* unmanaged<float*, float*, float*, int, void>)emulator.Kernel("netgen_multiply_forward");
                foreach (var _ in emulator.Launch(blocks, threads)) multiply(pp, pa, pb, n);
            }
            Elementwise.Multiply(expectedProduct, x, other);
            Close(expectedProduct, product, 0, $"multiply {blocks}x{threads}");

            float[] e = new float[n], expectedE = new float[n];
            fixed (float* pe = e, px = x)
            {
                var exp = (delegate* unmanaged<float*, float*, int, void>)emulator.Kernel("netgen_exp_forward");
                foreach (var _ in emulator.Launch(blocks, threads)) exp(pe, px, n);
            }
            NetGen.Cpu.Exp.Forward(expectedE, x);
            Close(expectedE, e, 1e-6, $"exp {blocks}x{threads}");

            float[] scaled = new float[n], expectedScaled = new float[n];
            fixed (float* ps = scaled, px = x)
            {
                var scale = (delegate* unmanaged<float*, float*, int, float, void>)emulator.Kernel("netgen_scale_forward");
                foreach (var _ in emulator.Launch(blocks, threads)) scale(ps, px, n, 0.37f);
            }
            Elementwise.Scaled(expectedScaled, x, 0.37f);
            Close(expectedScaled, scaled, 0, $"scale {blocks}x{threads}");
            foreach (bool accumulate in new[] { false, true })
            {
                float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                fixed (float* pdx = dx, pdy = dy)
                {
                    var backward = (delegate* unmanaged<float*, float*, int, float, int, void>)emulator.Kernel("netgen_scale_backward");
                    foreach (var _ in emulator.Launch(blocks, threads)) backward(pdx, pdy, n, 0.37f, accumulate ? 1 : 0);
                }
                Elementwise.ScaledBackward(expectedDx, dy, 0.37f, accumulate);
                // accumulating, the CPU's axpy fuses the multiply-add
                Close(expectedDx, dx, accumulate ? 1e-6 : 0, $"scale backward{(accumulate ? " accumulate" : "")} {blocks}x{threads}");
            }
        }
    }

    [SkippableFact]
    public void Local_response_norm_kernels_match_the_CPU()
    {
        var emulator = Emulator();
        var forward = (delegate* unmanaged<float*, float*, int, int, int, int, float, float, float, void>)emulator.Kernel("netgen_lrn_forward");
        var backward = (delegate* unmanaged<float*, float*, float*, int, int, int, int, float, float, float, int, void>)emulator.Kernel("netgen_lrn_backward");
        const int batch = 2, spatial = 9;
        // AlexNet's (size 5, alpha 1e-4, beta 0.75, k 2) and a stronger one whose gradient terms matter; an even size too
        foreach (var (channels, size, alpha, beta, k) in new[] { (7, 5, 1e-4f, 0.75f, 2f), (6, 3, 0.5f, 0.75f, 2f), (5, 4, 1f, 0.6f, 1f) })
        {
            int n = batch * channels * spatial;
            float[] x = Random(44, n), dy = Random(45, n), start = Random(46, n);
            float[] y = new float[n], expectedY = new float[n];
            fixed (float* py = y, px = x)
            {
                foreach (var _ in emulator.Launch(3, 4)) forward(py, px, batch, channels, spatial, size, alpha, beta, k);
            }
            LocalResponseNorm.Forward(expectedY, x, batch, channels, spatial, size, alpha, beta, k);
            // powf against the CPU's vector log/exp power
            Close(expectedY, y, 1e-6, $"LRN forward size {size} alpha {alpha}");
            foreach (bool accumulate in new[] { false, true })
            {
                float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                fixed (float* pdx = dx, pdy = dy, px = x)
                {
                    foreach (var _ in emulator.Launch(3, 4)) backward(pdx, pdy, px, batch, channels, spatial, size, alpha, beta, k, accumulate ? 1 : 0);
                }
                LocalResponseNorm.Backward(expectedDx, dy, x, batch, channels, spatial, size, alpha, beta, k, accumulate);
                Close(expectedDx, dx, 1e-6, $"LRN backward{(accumulate ? " accumulate" : "")} size {size} alpha {alpha}");
            }
        }
    }

    [SkippableFact]
    public void Upsample_kernels_match_the_CPU_bit_for_bit()
    {
        var emulator = Emulator();
        const int batch = 2, channels = 2;
        // x2 (the fast index), x3, a non-integer ratio, downsampling, one dimension unchanged, and the identity
        foreach (var (inH, inW, outH, outW) in new[] { (3, 4, 6, 8), (2, 3, 6, 9), (4, 5, 7, 11), (6, 7, 4, 3), (4, 5, 4, 9), (3, 3, 3, 3) })
        {
            int planes = batch * channels, inputSize = planes * inH * inW, outputSize = planes * outH * outW;
            float[] x = Random(50, inputSize), dy = Random(51, outputSize), start = Random(52, inputSize);
            foreach (bool bilinear in new[] { false, true })
            {
                string name = bilinear ? "netgen_upsample_bilinear" : "netgen_upsample_nearest";
                var forward = (delegate* unmanaged<float*, float*, int, int, int, int, int, void>)emulator.Kernel(name + "_forward");
                var backward = (delegate* unmanaged<float*, float*, int, int, int, int, int, int, void>)emulator.Kernel(name + "_backward");
                float[] y = new float[outputSize], expectedY = new float[outputSize];
                fixed (float* py = y, px = x)
                {
                    foreach (var _ in emulator.Launch(3, 4)) forward(py, px, planes, inH, inW, outH, outW);
                }
                if (bilinear) Upsample2d.BilinearForward(expectedY, x, batch, channels, inH, inW, outH, outW);
                else Upsample2d.NearestForward(expectedY, x, batch, channels, inH, inW, outH, outW);
                Close(expectedY, y, 0, $"{name} forward {inH}x{inW} -> {outH}x{outW}");
                foreach (bool accumulate in new[] { false, true })
                {
                    float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                    fixed (float* pdx = dx, pdy = dy)
                    {
                        foreach (var _ in emulator.Launch(3, 4)) backward(pdx, pdy, planes, inH, inW, outH, outW, accumulate ? 1 : 0);
                    }
                    if (bilinear) Upsample2d.BilinearBackward(expectedDx, dy, batch, channels, inH, inW, outH, outW, accumulate);
                    else Upsample2d.NearestBackward(expectedDx, dy, batch, channels, inH, inW, outH, outW, accumulate);
                    Close(expectedDx, dx, 0, $"{name} backward{(accumulate ? " accumulate" : "")} {inH}x{inW} -> {outH}x{outW}");
                }
            }
        }
    }

    [SkippableFact]
    public void Step_selection_forward_and_backward_match_the_CPU()
    {
        var emulator = Emulator();
        var slice = (delegate* unmanaged<float*, float*, int, int, int, int, int, void>)emulator.Kernel("netgen_concat_backward");
        var backward = (delegate* unmanaged<float*, float*, int, int, int, int, int, void>)emulator.Kernel("netgen_step_backward");
        const int batch = 3, steps = 4, features = 5;
        float[] sequence = Random(60, batch * steps * features), dy = Random(61, batch * features), start = Random(62, batch * steps * features);
        for (int step = 0; step < steps; step++)
        {
            float[] y = new float[batch * features], expectedY = new float[batch * features];
            fixed (float* py = y, px = sequence)
            {
                foreach (var _ in emulator.Launch(3, 4)) slice(py, px, batch, features, steps * features, step * features, 0);
            }
            NetGen.Cpu.Recurrent.SelectStep(expectedY, sequence, batch, steps, features, step);
            Close(expectedY, y, 0, $"step {step} forward");
            foreach (bool accumulate in new[] { false, true })
            {
                float[] dx = (float[])start.Clone(), expectedDx = (float[])start.Clone();
                fixed (float* pdx = dx, pdy = dy)
                {
                    foreach (var _ in emulator.Launch(3, 4)) backward(pdx, pdy, batch, steps, features, step, accumulate ? 1 : 0);
                }
                NetGen.Cpu.Recurrent.SelectStepBackward(expectedDx, dy, batch, steps, features, step, accumulate);
                Close(expectedDx, dx, 0, $"step {step} backward{(accumulate ? " accumulate" : "")}");
            }
        }
    }

    [SkippableFact]
    public void Loss_kernels_match_the_CPU_losses_and_their_gradients()
    {
        var emulator = Emulator();
        const int batch = 6, classes = 5;
        float[] logits = Random(9, batch * classes, -6f, 6f);
        int[] labels = { 0, 4, 2, 2, 1, 3 };
        float[] targets = Random(10, batch * classes, 0f, 1f);
        for (int r = 0; r < batch; r++)
        {
            // probabilities: rows of targets sum to one
            float s = 0;
            for (int c = 0; c < classes; c++) s += targets[r * classes + c];
            for (int c = 0; c < classes; c++) targets[r * classes + c] /= s;
        }
        // BCE sees logits far out in both tails (exp(-|x|) below 1e-5 takes the series branch); L1 sees ties (gradient 0)
        logits[0] = 40f;
        logits[1] = -40f;
        logits[2] = 12f;
        float[] l1Targets = Random(11, batch * classes, -6f, 6f);
        l1Targets[3] = logits[3];
        l1Targets[7] = logits[7];
        var meanRows = (delegate* unmanaged<float*, float*, int, float, void>)emulator.Kernel("netgen_mean_rows");

        foreach (var (blocks, threads) in Launches)
        {
            foreach (string kind in new[] { "labels", "targets", "mse", "bce", "l1" })
            {
                float[] gradient = new float[batch * classes], rowLoss = new float[batch], loss = new float[1];
                float[] expectedGradient = new float[batch * classes];
                float expectedLoss;
                float scale;
                fixed (float* pl = logits, pt = targets, pg = gradient, pr = rowLoss, ploss = loss)
                fixed (int* plab = labels)
                {
                    if (kind == "labels")
                    {
                        var k = (delegate* unmanaged<float*, int*, float*, float*, int, int, void>)emulator.Kernel("netgen_softmax_xent_labels");
                        foreach (var _ in emulator.Launch(blocks, threads)) k(pl, plab, pg, pr, batch, classes);
                        expectedLoss = Losses.SoftmaxCrossEntropy(logits, labels, batch, classes, expectedGradient);
                        scale = 1f / batch;
                    }
                    else if (kind == "targets")
                    {
                        var k = (delegate* unmanaged<float*, float*, float*, float*, int, int, void>)emulator.Kernel("netgen_softmax_xent_targets");
                        foreach (var _ in emulator.Launch(blocks, threads)) k(pl, pt, pg, pr, batch, classes);
                        expectedLoss = Losses.SoftmaxCrossEntropy(logits, targets, batch, classes, expectedGradient);
                        scale = 1f / batch;
                    }
                    else
                    {
                        // the elementwise losses: per-row sums, then the mean over batch * features
                        var k = (delegate* unmanaged<float*, float*, float*, float*, int, int, void>)emulator.Kernel(
                            kind switch { "mse" => "netgen_mse", "bce" => "netgen_bce_logits", _ => "netgen_l1" });
                        float[] t = kind == "l1" ? l1Targets : targets;
                        fixed (float* pt2 = t)
                        {
                            foreach (var _ in emulator.Launch(blocks, threads)) k(pl, pt2, pg, pr, batch, classes);
                        }
                        expectedLoss = kind switch
                        {
                            "mse" => Losses.MeanSquaredError(logits, t, batch, classes, expectedGradient),
                            "bce" => Losses.BinaryCrossEntropyWithLogits(logits, t, batch, classes, expectedGradient),
                            _ => Losses.L1(logits, t, batch, classes, expectedGradient),
                        };
                        scale = 1f / (batch * classes);
                    }
                    // the mean is one thread's work whatever the launch: the others must leave it alone
                    foreach (var _ in emulator.Launch(blocks, threads)) meanRows(ploss, pr, batch, scale);
                }
                Close(new[] { expectedLoss }, loss, 1e-6, $"{kind} loss {blocks}x{threads}");
                Close(expectedGradient, gradient, 1e-6, $"{kind} gradient {blocks}x{threads}");
            }
        }
    }

    [SkippableFact]
    public void Sgd_kernel_matches_the_CPU_optimizer_over_several_steps()
    {
        var emulator = Emulator();
        var sgd = (delegate* unmanaged<float*, float*, float*, float*, int, void>)emulator.Kernel("netgen_sgd");
        foreach (var (momentum, weightDecay) in new[] { (0f, 0f), (0.9f, 0f), (0.9f, 1e-2f) })
        {
            var cpu = new Sgd(0.05f, momentum, weightDecay);
            float[] expected = Random(11, N), actual = (float[])expected.Clone(), velocity = new float[N];
            float[] hyper = { 0.05f, momentum, weightDecay };
            for (int step = 0; step < 3; step++)
            {
                float[] gradient = Random(20 + step, N);
                cpu.Step(expected, gradient);
                fixed (float* pp = actual, pg = gradient, pv = velocity, ph = hyper)
                {
                    foreach (var _ in emulator.Launch(3, 4)) sgd(pp, pg, pv, ph, N);
                }
            }
            Close(expected, actual, 0, $"sgd momentum {momentum} weight decay {weightDecay}");
        }
    }

    [SkippableFact]
    public void Adam_kernel_matches_the_CPU_optimizer_over_several_steps()
    {
        var emulator = Emulator();
        var adam = (delegate* unmanaged<float*, float*, float*, float*, float*, int, void>)emulator.Kernel("netgen_adam");
        foreach (var (weightDecay, decoupled) in new[] { (0f, false), (1e-2f, false), (1e-2f, true) })
        {
            var cpu = new Adam(1e-2f, weightDecay: weightDecay, decoupled: decoupled);
            var device = new Adam(1e-2f, weightDecay: weightDecay, decoupled: decoupled);
            float[] expected = Random(12, N), actual = (float[])expected.Clone(), m = new float[N], v = new float[N];
            float[] hyper = new float[8];
            for (int step = 0; step < 4; step++)
            {
                float[] gradient = Random(30 + step, N);
                cpu.Step(expected, gradient);
                device.NextDeviceStep(hyper);
                fixed (float* pp = actual, pg = gradient, pm = m, pv = v, ph = hyper)
                {
                    foreach (var _ in emulator.Launch(2, 32)) adam(pp, pg, pm, pv, ph, N);
                }
            }
            Assert.Equal(cpu.StepCount, device.StepCount);
            Close(expected, actual, 0, $"adam weight decay {weightDecay}{(decoupled ? " decoupled" : "")}");
        }
    }
}
