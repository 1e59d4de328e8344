using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class Conv2dTests
{
    // stride 1 and 2, padding 0/1/2, odd and even kernels, non-square inputs, 1x1 (pointwise and not).
    private static readonly Conv2dGeometry[] Geometries =
    {
        new(1, 8, 8, 2, 3, 1, 0),
        new(2, 7, 9, 3, 3, 2, 1),
        new(3, 6, 5, 4, 5, 1, 2),
        new(2, 9, 9, 3, 4, 2, 2),
        new(3, 5, 6, 2, 1, 1, 0),
        new(2, 6, 6, 3, 1, 2, 1),
        new(1, 3, 3, 2, 3, 1, 2),
        new(4, 13, 11, 5, 3, 2, 0),
        new(1, 1, 1, 1, 1, 1, 0),
        new(2, 2, 3, 2, 5, 1, 2),
        new(1, 1, 1, 2, 5, 1, 2),
        new(1, 1, 2, 2, 5, 2, 2),
        new(6, 14, 14, 16, 5, 1, 0),
        new(16, 5, 5, 12, 5, 1, 0),    // kernel = the whole input (LeNet-5 C5): the columns are the input itself
        new(2, 4, 4, 3, 4, 3, 0),      // the same with a stride
        new(64, 40, 40, 8, 3, 1, 1),   // large: one sample at a time with parallel products (the others split the batch)
        new(2, 9, 37, 3, 3, 2, 1),     // strided rows wide enough for im2col's vector gathers (stride 2: loads and a shuffle)
        new(2, 6, 40, 2, 1, 2, 0),     // a strided 1x1 (ResNet downsample)
        new(1, 7, 52, 2, 3, 3, 1),     // stride 3: a hardware gather
        new(32, 20, 20, 24, 3, 1, 1),  // mid-size: one sample at a time, im2col and col2im split by channel over the pool
    };

    public static IEnumerable<object[]> PathsAndFlag()
    {
        foreach (object[] p in KernelAssert.AllPaths())
        {
            yield return new object[] { p[0], false };
            yield return new object[] { p[0], true };
        }
    }

    [Fact]
    public void GeometryDerivedSizes()
    {
        var lenet = new Conv2dGeometry(1, 32, 32, 6, 5, 1, 0);
        Assert.Equal(28, lenet.OutHeight);
        Assert.Equal(28, lenet.OutWidth);
        Assert.Equal(1024, lenet.InputSize);
        Assert.Equal(6 * 28 * 28, lenet.OutputSize);
        Assert.Equal(25 * 28 * 28, lenet.ColumnSize);
        Assert.Equal(150, lenet.WeightSize);

        var g = new Conv2dGeometry(3, 7, 10, 4, 3, 2, 1);
        Assert.Equal(4, g.OutHeight);   // (7 + 2 - 3) / 2 + 1
        Assert.Equal(5, g.OutWidth);    // (10 + 2 - 3) / 2 + 1
        Assert.Equal(3 * 9 * 4 * 5, g.ColumnSize);
    }

    /// <summary>x[n, c, iy, ix] with zero padding outside the image.</summary>
    private static double At(float[] x, in Conv2dGeometry g, int n, int c, int iy, int ix)
        => iy < 0 || iy >= g.InHeight || ix < 0 || ix >= g.InWidth ? 0.0 : x[((n * g.InChannels + c) * g.InHeight + iy) * g.InWidth + ix];

    private static int WeightIndex(in Conv2dGeometry g, int oc, int c, int ky, int kx) => ((oc * g.InChannels + c) * g.Kernel + ky) * g.Kernel + kx;

    private static int OutIndex(in Conv2dGeometry g, int n, int oc, int oy, int ox) => ((n * g.OutChannels + oc) * g.OutHeight + oy) * g.OutWidth + ox;

    /// <summary>Direct convolution in double, straight from the definition.</summary>
    private static double[] NaiveForward(float[] x, float[] w, float[] bias, int batch, in Conv2dGeometry g)
    {
        var y = new double[batch * g.OutputSize];
        for (int n = 0; n < batch; n++)
            for (int oc = 0; oc < g.OutChannels; oc++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                    {
                        double sum = bias.Length > 0 ? bias[oc] : 0.0;
                        for (int c = 0; c < g.InChannels; c++)
                            for (int ky = 0; ky < g.Kernel; ky++)
                                for (int kx = 0; kx < g.Kernel; kx++)
                                    sum += w[WeightIndex(g, oc, c, ky, kx)] * At(x, g, n, c, oy * g.Stride - g.Padding + ky, ox * g.Stride - g.Padding + kx);
                        y[OutIndex(g, n, oc, oy, ox)] = sum;
                    }
        return y;
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void ForwardMatchesDirectConvolution(SimdPath path, bool withBias)
    {
        var rng = new Rng(40);
        const int batch = 2;
        foreach (Conv2dGeometry g in Geometries)
        {
            float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize);
            float[] bias = withBias ? KernelAssert.Random(ref rng, g.OutChannels) : Array.Empty<float>();
            float[] y = new float[batch * g.OutputSize], scratch = new float[g.ColumnSize];
            Array.Fill(y, float.NaN);
            Array.Fill(scratch, float.NaN);
            Conv2d.Forward(path, y, x, w, bias, batch, g, scratch);
            int fanIn = g.InChannels * g.Kernel * g.Kernel;
            KernelAssert.Close(NaiveForward(x, w, bias, batch, g), y, 1e-5 + 2e-7 * fanIn, 1e-5, $"{path} {g}");
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardDataMatchesDirectFormula(SimdPath path, bool accumulate)
    {
        var rng = new Rng(41);
        const int batch = 2;
        foreach (Conv2dGeometry g in Geometries)
        {
            float[] dy = KernelAssert.Random(ref rng, batch * g.OutputSize), w = KernelAssert.Random(ref rng, g.WeightSize);
            float[] dx = KernelAssert.Random(ref rng, batch * g.InputSize);
            // dx[n, c, iy, ix] (+)= sum over every (oc, oy, ox, ky, kx) that read x[n, c, iy, ix] of w * dy
            var expected = new double[dx.Length];
            if (accumulate) for (int i = 0; i < dx.Length; i++) expected[i] = dx[i];
            for (int n = 0; n < batch; n++)
                for (int oc = 0; oc < g.OutChannels; oc++)
                    for (int oy = 0; oy < g.OutHeight; oy++)
                        for (int ox = 0; ox < g.OutWidth; ox++)
                            for (int c = 0; c < g.InChannels; c++)
                                for (int ky = 0; ky < g.Kernel; ky++)
                                    for (int kx = 0; kx < g.Kernel; kx++)
                                    {
                                        int iy = oy * g.Stride - g.Padding + ky, ix = ox * g.Stride - g.Padding + kx;
                                        if (iy < 0 || iy >= g.InHeight || ix < 0 || ix >= g.InWidth) continue;
                                        expected[((n * g.InChannels + c) * g.InHeight + iy) * g.InWidth + ix] +=
                                            (double)w[WeightIndex(g, oc, c, ky, kx)] * dy[OutIndex(g, n, oc, oy, ox)];
                                    }
            if (!accumulate) Array.Fill(dx, float.NaN);
            float[] scratch = new float[g.ColumnSize];
            Array.Fill(scratch, float.NaN);
            Conv2d.BackwardData(path, dx, dy, w, batch, g, scratch, accumulate);
            KernelAssert.Close(expected, dx, 1e-5 + 2e-7 * g.OutChannels * g.Kernel * g.Kernel, 1e-5, $"{path} {g} acc={accumulate}");
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardWeightsAccumulatesDirectFormula(SimdPath path, bool withBias)
    {
        var rng = new Rng(42);
        const int batch = 3;
        foreach (Conv2dGeometry g in Geometries)
        {
            float[] dy = KernelAssert.Random(ref rng, batch * g.OutputSize), x = KernelAssert.Random(ref rng, batch * g.InputSize);
            float[] dW = KernelAssert.Random(ref rng, g.WeightSize);
            float[] dB = withBias ? KernelAssert.Random(ref rng, g.OutChannels) : Array.Empty<float>();
            var expectedW = new double[dW.Length];
            var expectedB = new double[dB.Length];
            for (int i = 0; i < dW.Length; i++) expectedW[i] = dW[i];
            for (int i = 0; i < dB.Length; i++) expectedB[i] = dB[i];
            for (int n = 0; n < batch; n++)
                for (int oc = 0; oc < g.OutChannels; oc++)
                    for (int oy = 0; oy < g.OutHeight; oy++)
                        for (int ox = 0; ox < g.OutWidth; ox++)
                        {
                            double d = dy[OutIndex(g, n, oc, oy, ox)];
                            if (withBias) expectedB[oc] += d;
                            for (int c = 0; c < g.InChannels; c++)
                                for (int ky = 0; ky < g.Kernel; ky++)
                                    for (int kx = 0; kx < g.Kernel; kx++)
                                        expectedW[WeightIndex(g, oc, c, ky, kx)] += d * At(x, g, n, c, oy * g.Stride - g.Padding + ky, ox * g.Stride - g.Padding + kx);
                        }
            float[] scratch = new float[g.ColumnSize];
            Array.Fill(scratch, float.NaN);
            Conv2d.BackwardWeights(path, dW, dB, dy, x, batch, g, scratch);
            int terms = batch * g.OutHeight * g.OutWidth;
            KernelAssert.Close(expectedW, dW, 1e-5 + 2e-7 * terms, 1e-5, $"dW {path} {g}");
            KernelAssert.Close(expectedB, dB, 1e-5 + 2e-7 * terms, 1e-5, $"dB {path} {g}");
        }
    }

    [Fact]
    public void TheTestGeometriesCoverBothBatchStrategies()
    {
        Assert.Contains(Geometries, g => Conv2d.RunsSamplesInParallel(3, g));
        Assert.Contains(Geometries, g => !Conv2d.RunsSamplesInParallel(3, g));
        Assert.False(Conv2d.RunsSamplesInParallel(1, Geometries[0]));
        Assert.Contains(Geometries, g => Conv2d.UsesRowBlocks(g, out _));
    }

    /// <summary>
    /// A large layer's forward pass runs im2col and the product in blocks of output rows, in parallel: the result is
    /// bit-identical to im2col of the whole image followed by one product.
    /// </summary>
    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void RowBlockedForwardEqualsOneProduct(SimdPath path)
    {
        // 3x3 layer; ResNet stem (stride 2, 7x7); 14 rows in 2 balanced blocks of 7 (at most 8 each)
        foreach (var g in new Conv2dGeometry[] { new(64, 40, 40, 8, 3, 1, 1), new(3, 224, 224, 16, 7, 2, 3), new(128, 14, 14, 8, 3, 1, 1) })
        {
            Assert.True(Conv2d.UsesRowBlocks(g, out int rows), g.ToString());
            Assert.InRange(rows, 1, g.OutHeight - 1);
            var rng = new Rng(11);
            const int batch = 2;
            float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize), b = KernelAssert.Random(ref rng, g.OutChannels);
            float[] y = new float[batch * g.OutputSize], expected = new float[y.Length], col = new float[g.ColumnSize];
            Conv2d.Forward(path, y, x, w, b, batch, g, col);
            int outHW = g.OutHeight * g.OutWidth;
            for (int n = 0; n < batch; n++)
            {
                Conv2d.Im2Col(col, x.AsSpan(n * g.InputSize, g.InputSize), g);
                var yn = expected.AsSpan(n * g.OutputSize, g.OutputSize);
                for (int oc = 0; oc < g.OutChannels; oc++) yn.Slice(oc * outHW, outHW).Fill(b[oc]);
                Gemm.Multiply(path, false, false, g.OutChannels, outHW, g.InChannels * g.Kernel * g.Kernel, w, col, yn, accumulate: true);
            }
            Assert.Equal(expected, y);
        }
    }

    /// <summary>
    /// Weights packed once (<see cref="PackedMatrix"/>) give bit-identical outputs on every path and every way a
    /// layer runs (row blocks, one sample at a time with a parallel product, chunks of samples), are reused while
    /// valid, and are packed again after <see cref="PackedMatrix.Invalidate"/> or for other weights.
    /// </summary>
    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void PackedWeightsGiveTheSameOutputs(SimdPath path)
    {
        var rng = new Rng(12);
        foreach (var (g, batch) in new (Conv2dGeometry, int)[]
                 {
                     (new(64, 40, 40, 8, 3, 1, 1), 1),    // row blocks
                     (new(40, 9, 9, 20, 3, 1, 1), 1),     // one product on the pool
                     (new(6, 14, 14, 16, 5, 1, 0), 5),    // chunks of samples
                     (new(8, 7, 7, 30, 1, 2, 0), 1),      // strided 1x1
                     (new(64, 3, 6, 96, 3, 1, 1), 8),     // chunks of samples, transposed product (18 positions, 96 channels)
                     // read in place from the padded input (Conv2dDirect): bands of rows, or one band split by channels
                     (new(32, 20, 20, 40, 3, 1, 1), 2),   // bands
                     (new(16, 48, 50, 32, 3, 1, 1), 1),   // bands over several column chunks, grid rows across chunk ends
                     (new(256, 14, 14, 64, 3, 1, 1), 1),  // one band in channel parts (ResNet's 14x14 layers)
                     (new(48, 7, 7, 100, 3, 1, 1), 2),    // 7 x 7, channel parts with a short last panel
                     (new(16, 15, 17, 36, 3, 2, 1), 1),   // stride 2, odd sizes: four phases
                     (new(3, 23, 23, 32, 7, 2, 3), 1),    // ResNet's stem shape (k = 147)
                     (new(130, 9, 9, 40, 1, 2, 0), 1),    // strided 1x1: one phase
                     (new(64, 12, 12, 32, 1, 2, 0), 1),   // strided 1x1, 64 deep (ResNet's first downsample)
                     (new(8, 12, 13, 33, 5, 1, 0), 1),    // no padding
                     (new(16, 20, 19, 32, 4, 3, 2), 1),   // even kernel, stride 3: nine phases, rows past the image
                     // position rows: 7 x 7 (AVX-512), 5 x 5 (AVX2, SSE); stride 2 onto 7 x 7
                     (new(48, 7, 7, 64, 3, 1, 1), 2),
                     (new(40, 5, 5, 48, 3, 1, 1), 1),
                     (new(32, 14, 14, 64, 3, 2, 1), 1),
                     (new(16, 28, 28, 32, 3, 1, 1), 1),   // 28-wide rows in two tiles of 14
                 })
        {
            float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize), b = KernelAssert.Random(ref rng, g.OutChannels);
            float[] expected = new float[batch * g.OutputSize], y = new float[expected.Length], col = new float[g.ColumnSize];
            Conv2d.Forward(path, expected, x, w, b, batch, g, col);
            var packed = new PackedMatrix();
            Conv2d.Forward(path, y, x, w, b, batch, g, col, packed);
            Assert.Equal(expected, y);
            Assert.Equal(path != SimdPath.Scalar, packed.IsPacked);
            Conv2d.Forward(path, y, x, w, b, batch, g, col, packed);   // reused
            Assert.Equal(expected, y);

            // new weights in the same array: stale until invalidated, then right again
            float[] w2 = KernelAssert.Random(ref rng, g.WeightSize);
            w2.CopyTo(w, 0);
            Conv2d.Forward(path, expected, x, w, b, batch, g, col);
            packed.Invalidate();
            Assert.False(packed.IsPacked);
            Conv2d.Forward(path, y, x, w, b, batch, g, col, packed);
            Assert.Equal(expected, y);
            // other weights (another array) are packed for themselves, never read from the copy of these
            for (int i = 0; i < w2.Length; i++) w2[i] = -w2[i];
            Conv2d.Forward(path, expected, x, w2, b, batch, g, col);
            Conv2d.Forward(path, y, x, w2, b, batch, g, col, packed);
            Assert.Equal(expected, y);
        }
    }

    /// <summary>
    /// Without packed weights, a layer whose columns outweigh its weights (a training step's forward pass) packs them
    /// for the call and reads its input in place: the same bits as im2col + product, and weights changed in place
    /// between calls are read again (the transient packing never serves stale weights).
    /// </summary>
    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void UnpackedWeightsArePackedPerCall(SimdPath path)
    {
        var rng = new Rng(14);
        var g = new Conv2dGeometry(32, 20, 20, 40, 3, 1, 1);
        const int batch = 2;
        Assert.True(Conv2dDirect.Applies(path, g) == (path != SimdPath.Scalar));
        Assert.True(4L * g.WeightSize <= (long)batch * g.ColumnSize);
        float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize), b = KernelAssert.Random(ref rng, g.OutChannels);
        float[] y = new float[batch * g.OutputSize], col = new float[g.ColumnSize];
        for (int round = 0; round < 2; round++)
        {
            Conv2d.Forward(path, y, x, w, b, batch, g, col);
            float[] expected = new float[y.Length];
            int outHW = g.OutHeight * g.OutWidth;
            for (int n = 0; n < batch; n++)
            {
                Conv2d.Im2Col(col, x.AsSpan(n * g.InputSize, g.InputSize), g);
                var yn = expected.AsSpan(n * g.OutputSize, g.OutputSize);
                for (int oc = 0; oc < g.OutChannels; oc++) yn.Slice(oc * outHW, outHW).Fill(b[oc]);
                Gemm.Multiply(path, false, false, g.OutChannels, outHW, g.InChannels * 9, w, col, yn, accumulate: true);
            }
            Assert.Equal(expected, y);
            for (int i = 0; i < w.Length; i++) w[i] = -0.5f * w[i];   // the same array, new values
        }
    }

    [Fact]
    public void PackedLayoutsAreChosenByShape()
    {
        // the geometries the packed-weight tests use for each way of running (guards their coverage)
        Assert.True(Conv2d.UsesTransposedProduct(SimdPath.Vector512, new(64, 3, 6, 96, 3, 1, 1)));
        Assert.True(Conv2d.RunsSamplesInParallel(8, new(64, 3, 6, 96, 3, 1, 1)));
        Assert.True(Conv2d.UsesRowBlocks(new(64, 40, 40, 8, 3, 1, 1), out _));
        Assert.False(Conv2d.UsesTransposedProduct(SimdPath.Scalar, new(64, 7, 7, 96, 3, 1, 1)));
        Assert.False(Conv2dDirect.Applies(SimdPath.Vector512, new(64, 40, 40, 8, 3, 1, 1)));   // 8 channels
        Assert.False(Conv2dDirect.Applies(SimdPath.Scalar, new(32, 20, 20, 40, 3, 1, 1)));
        Assert.False(Conv2dDirect.Applies(SimdPath.Vector512, new(4096, 1024, 1024, 64, 3, 1, 1)));   // offsets would pass int range
        foreach (var g in new Conv2dGeometry[] { new(32, 20, 20, 40, 3, 1, 1), new(256, 14, 14, 64, 3, 1, 1), new(3, 23, 23, 32, 7, 2, 3), new(16, 20, 19, 32, 4, 3, 2) })
            Assert.True(Conv2dDirect.Applies(SimdPath.Vector512, g));
        // two threads: 20 rows in two bands
        Conv2dDirect.Plan(SimdPath.Vector512, new(32, 20, 20, 40, 3, 1, 1), threads: 2, out int bands, out int parts);
        Assert.Equal((2, 1), (bands, parts));
        Conv2dDirect.Plan(SimdPath.Vector512, new(256, 14, 14, 64, 3, 1, 1), threads: 2, out bands, out parts);
        Assert.Equal((2, 1), (bands, parts));   // position rows: 7 + 7 rows
        Conv2dDirect.Plan(SimdPath.Vector512, new(48, 7, 7, 64, 3, 1, 1), threads: 2, out bands, out parts);
        Assert.Equal((1, 2), (bands, parts));   // position rows, 7 rows: by channels
        Conv2dDirect.Plan(SimdPath.Vector512, new(256, 14, 14, 100, 3, 1, 1), threads: 2, out bands, out parts);
        Assert.Equal((1, 2), (bands, parts));   // the grid: two bands of 7 x 16 positions fill 98 of 128 columns, one band 196 of 224
        Conv2dDirect.Plan(SimdPath.Vector512, new(256, 14, 14, 64, 3, 1, 1), threads: 1, out bands, out parts);
        Assert.Equal((1, 1), (bands, parts));
        // position rows where an output row fits the tile's rows and fills a good share of them
        Assert.True(Conv2dDirect.UsesPositionRows(SimdPath.Vector512, new(48, 7, 7, 64, 3, 1, 1)));
        Assert.True(Conv2dDirect.UsesPositionRows(SimdPath.Vector512, new(256, 14, 14, 64, 3, 1, 1)));
        Assert.True(Conv2dDirect.UsesPositionRows(SimdPath.Vector512, new(32, 14, 14, 64, 3, 2, 1)));
        Assert.False(Conv2dDirect.UsesPositionRows(SimdPath.Vector512, new(48, 7, 7, 100, 3, 1, 1)));   // 100 channels: a ragged panel
        Assert.False(Conv2dDirect.UsesPositionRows(SimdPath.Vector512, new(40, 5, 5, 48, 3, 1, 1)));    // 5 of 14 tile rows
        Assert.True(Conv2dDirect.UsesPositionRows(SimdPath.Vector256, new(40, 5, 5, 48, 3, 1, 1)));
        Assert.True(Conv2dDirect.UsesPositionRows(SimdPath.Vector128, new(40, 5, 5, 48, 3, 1, 1)));
        Assert.False(Conv2dDirect.UsesPositionRows(SimdPath.Vector512, new(32, 20, 20, 40, 3, 1, 1)));
        Assert.True(Conv2dDirect.UsesPositionRows(SimdPath.Vector512, new(16, 28, 28, 32, 3, 1, 1)));     // 2 x 14 per row
        Assert.False(Conv2dDirect.UsesPositionRows(SimdPath.Vector512, new(64, 56, 56, 64, 3, 1, 1)));     // the grid fills 96%
        // the grid reaches every tap: stride 2 on a 58-column padded row, stride 3 with a 4x4 kernel
        Assert.Equal(29, Conv2dDirect.GridWidth(new(64, 56, 56, 128, 3, 2, 1)));
        Assert.Equal(115, Conv2dDirect.GridWidth(new(3, 224, 224, 64, 7, 2, 3)));
        Assert.Equal(8, Conv2dDirect.GridWidth(new(16, 20, 19, 32, 4, 3, 2)));
    }

    /// <summary>A fused ReLU gives exactly the convolution followed by ReluForward, however the layer runs.</summary>
    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void FusedReluEqualsConvolutionThenRelu(SimdPath path)
    {
        var rng = new Rng(13);
        foreach (var (g, batch) in new (Conv2dGeometry, int)[]
                 {
                     (new(64, 40, 40, 8, 3, 1, 1), 1),    // row blocks
                     (new(40, 9, 9, 20, 3, 1, 1), 1),     // one product on the pool
                     (new(256, 14, 14, 64, 3, 1, 1), 1),  // read in place, one band by channels
                     (new(32, 20, 20, 40, 3, 1, 1), 1),   // read in place, bands
                     (new(16, 15, 17, 36, 3, 2, 1), 1),   // read in place, stride 2
                     (new(48, 7, 7, 64, 3, 1, 1), 1),     // read in place, position rows (AVX-512)
                     (new(40, 5, 5, 48, 3, 1, 1), 1),     // read in place, position rows (AVX2, SSE)
                     (new(6, 14, 14, 16, 5, 1, 0), 5),    // chunks of samples
                 })
        {
            float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize), b = KernelAssert.Random(ref rng, g.OutChannels);
            float[] conv = new float[batch * g.OutputSize], expected = new float[conv.Length], y = new float[conv.Length], col = new float[g.ColumnSize];
            Conv2d.Forward(path, conv, x, w, b, batch, g, col);
            Activations.ReluForward(path, expected, conv);
            Assert.Contains(conv, v => v < 0f);   // the clamp has work to do
            Conv2d.Forward(path, y, x, w, b, batch, g, col, new PackedMatrix(), relu: true);
            Assert.Equal(expected, y);
            Conv2d.Forward(path, y, x, w, b, batch, g, col, packedWeight: null, relu: true);
            Assert.Equal(expected, y);
        }
    }

    /// <summary>
    /// A small layer's batch runs as chunks of samples on the worker pool: forward and backward-data
    /// equal the one-sample-at-a-time results exactly, and the weight gradients (summed per chunk, chunk
    /// sums added in chunk order) are bit-identical whether the chunks run in parallel or one after another.
    /// </summary>
    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void SplitBatchMatchesOneSampleAtATime(SimdPath path)
    {
        var g = new Conv2dGeometry(6, 14, 14, 16, 5, 1, 0);   // LeNet-5 C3
        const int batch = 11;                                  // 8 uneven chunks
        Assert.True(Conv2d.RunsSamplesInParallel(batch, g));
        var rng = new Rng(7);
        float[] x = KernelAssert.Random(ref rng, batch * g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize);
        float[] b = KernelAssert.Random(ref rng, g.OutChannels), dy = KernelAssert.Random(ref rng, batch * g.OutputSize);
        float[] scratch = new float[g.ColumnSize];

        float[] y = new float[batch * g.OutputSize], ySingle = new float[y.Length];
        float[] dx = new float[batch * g.InputSize], dxSingle = new float[dx.Length];
        Conv2d.Forward(path, y, x, w, b, batch, g, scratch);
        Conv2d.BackwardData(path, dx, dy, w, batch, g, scratch, accumulate: false);
        for (int n = 0; n < batch; n++)
        {
            Conv2d.Forward(path, ySingle.AsSpan(n * g.OutputSize, g.OutputSize), x.AsSpan(n * g.InputSize, g.InputSize), w, b, 1, g, scratch);
            Conv2d.BackwardData(path, dxSingle.AsSpan(n * g.InputSize, g.InputSize), dy.AsSpan(n * g.OutputSize, g.OutputSize), w, 1, g, scratch, accumulate: false);
        }
        Assert.Equal(ySingle, y);
        Assert.Equal(dxSingle, dx);

        float[] dW = new float[g.WeightSize], dB = new float[g.OutChannels];
        Conv2d.BackwardWeights(path, dW, dB, dy, x, batch, g, scratch);
        // The same call while the pool is held by an outer loop runs the chunks sequentially on one thread.
        float[] dWSequential = new float[g.WeightSize], dBSequential = new float[g.OutChannels];
        WorkerPool.For(2, new HoldPoolThenRun(() => Conv2d.BackwardWeights(path, dWSequential, dBSequential, dy, x, batch, g, new float[g.ColumnSize])));
        Assert.Equal(dWSequential, dW);
        Assert.Equal(dBSequential, dB);

        float[] dWSingle = new float[g.WeightSize], dBSingle = new float[g.OutChannels];
        for (int n = 0; n < batch; n++)
            Conv2d.BackwardWeights(path, dWSingle, dBSingle, dy.AsSpan(n * g.OutputSize, g.OutputSize), x.AsSpan(n * g.InputSize, g.InputSize), 1, g, scratch);
        int terms = batch * g.OutHeight * g.OutWidth;
        KernelAssert.Close(dWSingle, dW, 1e-5 + 2e-7 * terms, 1e-5, $"dW {path}");
        KernelAssert.Close(dBSingle, dB, 1e-5 + 2e-7 * terms, 1e-5, $"dB {path}");
    }

    /// <summary>Index 0 runs the action (its nested pool loops run sequentially: the pool is busy); index 1 does nothing.</summary>
    private readonly struct HoldPoolThenRun(Action action) : IParallelBody
    {
        public void Invoke(int index)
        {
            if (index == 0) action();
        }
    }

    [Fact]
    public void BackwardMatchesFiniteDifferencesOfForward()
    {
        // L = sum(g * conv(x, w, b)) is linear in x, w and b, so central differences are exact up to rounding.
        var rng = new Rng(43);
        const int batch = 2;
        foreach (Conv2dGeometry geo in new Conv2dGeometry[] { new(2, 5, 6, 3, 3, 2, 1), new(1, 4, 4, 2, 2, 1, 2) })
        {
            float[] x = KernelAssert.Random(ref rng, batch * geo.InputSize), w = KernelAssert.Random(ref rng, geo.WeightSize);
            float[] b = KernelAssert.Random(ref rng, geo.OutChannels), g = KernelAssert.Random(ref rng, batch * geo.OutputSize);
            float[] scratch = new float[geo.ColumnSize], y = new float[batch * geo.OutputSize];

            double Loss()
            {
                Conv2d.Forward(y, x, w, b, batch, geo, scratch);
                double l = 0;
                for (int i = 0; i < y.Length; i++) l += (double)g[i] * y[i];
                return l;
            }
            double Numeric(float[] p, int i)
            {
                const float h = 0.5f;
                float saved = p[i];
                p[i] = saved + h; double plus = Loss();
                p[i] = saved - h; double minus = Loss();
                p[i] = saved;
                return (plus - minus) / (2 * h);
            }

            float[] dx = new float[x.Length], dW = new float[w.Length], dB = new float[b.Length];
            Conv2d.BackwardData(dx, g, w, batch, geo, scratch, accumulate: false);
            Conv2d.BackwardWeights(dW, dB, g, x, batch, geo, scratch);
            for (int i = 0; i < x.Length; i++) KernelAssert.Close(Numeric(x, i), dx[i], 1e-4, 1e-4, $"dx[{i}] {geo}");
            for (int i = 0; i < w.Length; i++) KernelAssert.Close(Numeric(w, i), dW[i], 1e-4, 1e-4, $"dW[{i}] {geo}");
            for (int i = 0; i < b.Length; i++) KernelAssert.Close(Numeric(b, i), dB[i], 1e-4, 1e-4, $"dB[{i}] {geo}");
        }
    }

    [Fact]
    public void PointwiseNeedsNoScratch()
    {
        var rng = new Rng(44);
        var g = new Conv2dGeometry(3, 4, 5, 2, 1, 1, 0);
        float[] x = KernelAssert.Random(ref rng, g.InputSize), w = KernelAssert.Random(ref rng, g.WeightSize), y = new float[g.OutputSize];
        Conv2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g, Span<float>.Empty);
        KernelAssert.Close(NaiveForward(x, w, Array.Empty<float>(), 1, g), y, 1e-5, 1e-5, "pointwise");

        var whole = new Conv2dGeometry(4, 3, 3, 5, 3, 2, 0);   // one output position: no columns either
        x = KernelAssert.Random(ref rng, 2 * whole.InputSize);
        w = KernelAssert.Random(ref rng, whole.WeightSize);
        y = new float[2 * whole.OutputSize];
        Conv2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 2, whole, Span<float>.Empty);
        KernelAssert.Close(NaiveForward(x, w, Array.Empty<float>(), 2, whole), y, 1e-5, 1e-5, "whole-image kernel");
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        var g = new Conv2dGeometry(1, 5, 5, 2, 3, 1, 0);
        float[] x = new float[g.InputSize], w = new float[g.WeightSize], y = new float[g.OutputSize];
        var ex = Assert.Throws<ArgumentException>(() => Conv2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g, new float[g.ColumnSize - 1]));
        Assert.Contains("'scratch'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Conv2d.Forward(y, x, w.AsSpan(1), ReadOnlySpan<float>.Empty, 1, g, new float[g.ColumnSize]));
        Assert.Contains("'weight'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Conv2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, new Conv2dGeometry(1, 2, 2, 1, 5, 1, 1), new float[100]));
        Assert.Contains("larger than the padded input", ex.Message);
        Assert.Throws<ArgumentException>(() => Conv2d.Forward(y, x, w, ReadOnlySpan<float>.Empty, 1, g with { Stride = 0 }, new float[100]));
    }
}
