using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class ConcatTests
{
    public static IEnumerable<object[]> PathsAndFlag()
    {
        foreach (object[] p in KernelAssert.AllPaths())
        {
            yield return new object[] { p[0], false };
            yield return new object[] { p[0], true };
        }
    }

    [Fact]
    public void ForwardPlacesEveryInputAtItsOffset()
    {
        // three NCHW inputs with 2, 1 and 3 channels of 5 positions, concatenated along channels: 6 * 5 = 30 floats per sample
        var rng = new Rng(700);
        const int batch = 3, spatial = 5;
        int[] channels = { 2, 1, 3 };
        int outSize = 6 * spatial;
        var inputs = new float[channels.Length][];
        float[] output = new float[batch * outSize];
        Array.Fill(output, float.NaN);
        int offset = 0;
        for (int k = 0; k < channels.Length; k++)
        {
            int inSize = channels[k] * spatial;
            inputs[k] = KernelAssert.Random(ref rng, batch * inSize);
            Concat.Forward(output, inputs[k], batch, inSize, outSize, offset);
            offset += inSize;
        }
        for (int n = 0; n < batch; n++)
        {
            int at = 0;
            for (int k = 0; k < channels.Length; k++)
            {
                int inSize = channels[k] * spatial;
                for (int i = 0; i < inSize; i++) Assert.Equal(inputs[k][n * inSize + i], output[n * outSize + at + i]);
                at += inSize;
            }
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardSlicesEachSample(SimdPath path, bool accumulate)
    {
        var rng = new Rng(701);
        foreach (var (batch, inSize, outSize, offset) in new[] { (3, 7, 20, 5), (2, 17, 17, 0), (4, 1, 3, 2), (1, 33, 40, 0), (2, 0, 4, 4) })
        {
            float[] dy = KernelAssert.Random(ref rng, batch * outSize), dx = KernelAssert.Random(ref rng, batch * inSize);
            var expected = new float[dx.Length];
            for (int n = 0; n < batch; n++)
                for (int i = 0; i < inSize; i++)
                    expected[n * inSize + i] = (accumulate ? dx[n * inSize + i] : 0f) + dy[n * outSize + offset + i];
            if (!accumulate) Array.Fill(dx, float.NaN);
            Concat.Backward(path, dx, dy, batch, inSize, outSize, offset, accumulate);
            Assert.Equal(expected, dx);
        }
    }

    [Fact]
    public void ForwardLeavesTheRestOfTheOutputAlone()
    {
        float[] output = { 9, 9, 9, 9, 9, 9, 9, 9 };
        Concat.Forward(output, new float[] { 1, 2, 3, 4 }, batch: 2, inSize: 2, outSize: 4, offset: 1);
        Assert.Equal(new float[] { 9, 1, 2, 9, 9, 3, 4, 9 }, output);
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Concat.Forward(new float[8], new float[4], 2, 2, 4, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Concat.Forward(new float[8], new float[4], 2, 2, 4, -1));
        var ex = Assert.Throws<ArgumentException>(() => Concat.Forward(new float[7], new float[4], 2, 2, 4, 0));
        Assert.Contains("'output'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Concat.Backward(new float[3], new float[8], 2, 2, 4, 0, false));
        Assert.Contains("'dInput'", ex.Message);
    }
}
