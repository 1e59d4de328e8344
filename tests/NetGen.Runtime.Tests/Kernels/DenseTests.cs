using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class DenseTests
{
    private static readonly (int Batch, int In, int Out)[] Shapes =
        { (1, 1, 1), (3, 7, 17), (17, 33, 5), (2, 100, 3), (64, 120, 84), (5, 0, 4) };

    public static IEnumerable<object[]> PathsAndFlag()
    {
        foreach (object[] p in KernelAssert.AllPaths())
        {
            yield return new object[] { p[0], false };
            yield return new object[] { p[0], true };
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void ForwardMatchesNaive(SimdPath path, bool withBias)
    {
        var rng = new Rng(30);
        foreach (var (batch, inF, outF) in Shapes)
        {
            float[] x = KernelAssert.Random(ref rng, batch * inF), w = KernelAssert.Random(ref rng, outF * inF);
            float[] bias = withBias ? KernelAssert.Random(ref rng, outF) : Array.Empty<float>();
            var expected = new double[batch * outF];
            for (int n = 0; n < batch; n++)
                for (int o = 0; o < outF; o++)
                {
                    double sum = withBias ? bias[o] : 0.0;
                    for (int i = 0; i < inF; i++) sum += (double)x[n * inF + i] * w[o * inF + i];
                    expected[n * outF + o] = sum;
                }
            float[] y = new float[batch * outF];
            Array.Fill(y, float.NaN);
            Dense.Forward(path, y, x, w, bias, batch, inF, outF);
            KernelAssert.Close(expected, y, 1e-5 + 2e-7 * inF, 1e-5, $"batch={batch} in={inF} out={outF}");
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardDataMatchesNaive(SimdPath path, bool accumulate)
    {
        var rng = new Rng(31);
        foreach (var (batch, inF, outF) in Shapes)
        {
            float[] dy = KernelAssert.Random(ref rng, batch * outF), w = KernelAssert.Random(ref rng, outF * inF);
            float[] dx = KernelAssert.Random(ref rng, batch * inF);
            var expected = new double[batch * inF];
            for (int n = 0; n < batch; n++)
                for (int i = 0; i < inF; i++)
                {
                    double sum = accumulate ? dx[n * inF + i] : 0.0;
                    for (int o = 0; o < outF; o++) sum += (double)dy[n * outF + o] * w[o * inF + i];
                    expected[n * inF + i] = sum;
                }
            if (!accumulate) Array.Fill(dx, float.NaN);
            Dense.BackwardData(path, dx, dy, w, batch, inF, outF, accumulate);
            KernelAssert.Close(expected, dx, 1e-5 + 2e-7 * outF, 1e-5, $"batch={batch} in={inF} out={outF}");
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardWeightsAccumulates(SimdPath path, bool withBias)
    {
        var rng = new Rng(32);
        foreach (var (batch, inF, outF) in Shapes)
        {
            float[] dy = KernelAssert.Random(ref rng, batch * outF), x = KernelAssert.Random(ref rng, batch * inF);
            float[] dW = KernelAssert.Random(ref rng, outF * inF);
            float[] dB = withBias ? KernelAssert.Random(ref rng, outF) : Array.Empty<float>();
            var expectedW = new double[outF * inF];
            var expectedB = new double[dB.Length];
            for (int o = 0; o < outF; o++)
            {
                for (int i = 0; i < inF; i++)
                {
                    double sum = dW[o * inF + i];
                    for (int n = 0; n < batch; n++) sum += (double)dy[n * outF + o] * x[n * inF + i];
                    expectedW[o * inF + i] = sum;
                }
                if (withBias)
                {
                    double sum = dB[o];
                    for (int n = 0; n < batch; n++) sum += dy[n * outF + o];
                    expectedB[o] = sum;
                }
            }
            Dense.BackwardWeights(path, dW, dB, dy, x, batch, inF, outF);
            KernelAssert.Close(expectedW, dW, 1e-5 + 2e-7 * batch, 1e-5, $"dW batch={batch} in={inF} out={outF}");
            KernelAssert.Close(expectedB, dB, 1e-5 + 2e-7 * batch, 1e-5, $"dB batch={batch} in={inF} out={outF}");
        }
    }

    [Fact]
    public void ShortSpansThrow()
    {
        var ex = Assert.Throws<ArgumentException>(() => Dense.Forward(new float[6], new float[8], new float[12], new float[2], 2, 4, 3));
        Assert.Contains("'bias'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Dense.Forward(new float[5], new float[8], new float[12], new float[3], 2, 4, 3));
        Assert.Contains("'output'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Dense.BackwardWeights(new float[11], new float[3], new float[6], new float[8], 2, 4, 3));
        Assert.Contains("'dWeight'", ex.Message);
    }
}
