using System;
using System.Collections.Generic;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class BatchNormTests
{
    private const float Eps = 1e-5f;

    // (batch, channels, spatial): flat (spatial 1), odd planes (vector tails), one sample, N == 1, a plane longer than a flush chunk
    private static readonly (int Batch, int Channels, int Spatial)[] Shapes =
    {
        (2, 3, 5), (4, 2, 1), (3, 4, 17), (1, 2, 33), (2, 1, 1), (2, 2, 1500), (5, 3, 7),
    };

    public static IEnumerable<object[]> PathsAndFlag()
    {
        foreach (object[] p in KernelAssert.AllPaths())
        {
            yield return new object[] { p[0], false };
            yield return new object[] { p[0], true };
        }
    }

    private static int Index(int c, int n, int s, int channels, int spatial) => (n * channels + c) * spatial + s;

    /// <summary>Batch statistics in double: mean and biased variance per channel.</summary>
    private static (double[] Mean, double[] Var) Stats(ReadOnlySpan<double> x, int batch, int channels, int spatial)
    {
        var mean = new double[channels];
        var variance = new double[channels];
        int count = batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int n = 0; n < batch; n++)
                for (int s = 0; s < spatial; s++) sum += x[Index(c, n, s, channels, spatial)];
            mean[c] = sum / count;
            double sq = 0;
            for (int n = 0; n < batch; n++)
                for (int s = 0; s < spatial; s++) { double d = x[Index(c, n, s, channels, spatial)] - mean[c]; sq += d * d; }
            variance[c] = sq / count;
        }
        return (mean, variance);
    }

    /// <summary>Training-mode forward in double.</summary>
    private static double[] ForwardReference(ReadOnlySpan<double> x, ReadOnlySpan<double> gamma, ReadOnlySpan<double> beta, int batch, int channels, int spatial)
    {
        var (mean, variance) = Stats(x, batch, channels, spatial);
        var y = new double[x.Length];
        for (int c = 0; c < channels; c++)
        {
            double invStd = 1.0 / Math.Sqrt(variance[c] + Eps);
            for (int n = 0; n < batch; n++)
                for (int s = 0; s < spatial; s++)
                {
                    int i = Index(c, n, s, channels, spatial);
                    y[i] = gamma[c] * (x[i] - mean[c]) * invStd + beta[c];
                }
        }
        return y;
    }

    private static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);

    private static (float[] X, float[] Gamma, float[] Beta) RandomInputs(ref Rng rng, int batch, int channels, int spatial, float offset = 0f)
    {
        float[] x = KernelAssert.Random(ref rng, batch * channels * spatial, -2f, 2f);
        for (int i = 0; i < x.Length; i++) x[i] += offset;
        return (x, KernelAssert.Random(ref rng, channels, 0.5f, 1.5f), KernelAssert.Random(ref rng, channels, -0.5f, 0.5f));
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void ForwardTrainingMatchesDoubleReference(SimdPath path)
    {
        var rng = new Rng(300);
        const float momentum = 0.1f;
        foreach (var (batch, channels, spatial) in Shapes)
        {
            foreach (float offset in new[] { 0f, 1000f })   // a large mean must not cost the variance its precision
            {
                var (x, gamma, beta) = RandomInputs(ref rng, batch, channels, spatial, offset);
                float[] runningMean = KernelAssert.Random(ref rng, channels), runningVar = KernelAssert.Random(ref rng, channels, 0.5f, 2f);
                float[] rm0 = (float[])runningMean.Clone(), rv0 = (float[])runningVar.Clone();
                float[] y = new float[x.Length], saveMean = new float[channels], saveInvStd = new float[channels];
                Array.Fill(y, float.NaN);
                BatchNorm.ForwardTraining(path, y, x, gamma, beta, runningMean, runningVar, saveMean, saveInvStd, batch, channels, spatial, momentum, Eps);

                string what = $"{path} b={batch} c={channels} s={spatial} offset={offset}";
                double[] xd = ToDouble(x);
                var (mean, variance) = Stats(xd, batch, channels, spatial);
                int count = batch * spatial;
                for (int c = 0; c < channels; c++)
                {
                    KernelAssert.Close(mean[c], saveMean[c], 1e-6, 1e-7, $"{what} mean[{c}]");
                    KernelAssert.Close(1.0 / Math.Sqrt(variance[c] + Eps), saveInvStd[c], 0, 1e-5, $"{what} invstd[{c}]");
                    double unbiased = count > 1 ? variance[c] * count / (count - 1) : variance[c];
                    KernelAssert.Close((1 - momentum) * rm0[c] + momentum * mean[c], runningMean[c], 1e-6, 1e-6, $"{what} runningMean[{c}]");
                    KernelAssert.Close((1 - momentum) * rv0[c] + momentum * unbiased, runningVar[c], 1e-6, 1e-5, $"{what} runningVar[{c}]");
                }
                // the saved (float) mean is off by up to half an ulp of the offset, which the output sees scaled by gamma * invstd
                double[] expected = ForwardReference(xd, ToDouble(gamma), ToDouble(beta), batch, channels, spatial);
                for (int c = 0; c < channels; c++)
                {
                    double atol = 2e-5 + (offset == 0f ? 0 : gamma[c] * saveInvStd[c] * 0.5 * (MathF.BitIncrement(offset) - offset));
                    for (int n = 0; n < batch; n++)
                        for (int s = 0; s < spatial; s++)
                        {
                            int i = Index(c, n, s, channels, spatial);
                            KernelAssert.Close(expected[i], y[i], atol, 1e-5, $"{what} y[{i}]");
                        }
                }
            }
        }
    }

    [Fact]
    public void SingleValuePerChannelUsesTheBiasedVarianceForTheRunningVariance()
    {
        // N == 1: the variance is 0 and the unbiased correction n/(n-1) is undefined, so the running variance decays toward 0
        float[] x = { 3f, -2f }, y = new float[2], rm = { 1f, 1f }, rv = { 1f, 1f }, sm = new float[2], si = new float[2];
        BatchNorm.ForwardTraining(y, x, new[] { 2f, 2f }, new[] { 0.5f, -0.5f }, rm, rv, sm, si, batch: 1, channels: 2, spatial: 1, momentum: 0.25f, epsilon: Eps);
        Assert.Equal(new[] { 3f, -2f }, sm);
        Assert.Equal(new[] { 0.5f, -0.5f }, y);   // x - mean = 0
        KernelAssert.Close(1.0 / Math.Sqrt(Eps), si[0], 0, 1e-6);
        KernelAssert.Close(0.75 * 1 + 0.25 * 3, rm[0], 1e-7);
        KernelAssert.Close(0.75, rv[0], 1e-7);
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void ForwardTrainingInPlace(SimdPath path)
    {
        var rng = new Rng(301);
        var (x, gamma, beta) = RandomInputs(ref rng, 3, 4, 19);
        float[] y = new float[x.Length], rm = new float[4], rv = new float[4], sm = new float[4], si = new float[4];
        BatchNorm.ForwardTraining(path, y, x, gamma, beta, rm, rv, sm, si, 3, 4, 19, 0.1f, Eps);
        float[] rm2 = new float[4], rv2 = new float[4], sm2 = new float[4], si2 = new float[4];
        BatchNorm.ForwardTraining(path, x, x, gamma, beta, rm2, rv2, sm2, si2, 3, 4, 19, 0.1f, Eps);
        Assert.Equal(y, x);
        Assert.Equal(sm, sm2);
        Assert.Equal(si, si2);
        Assert.Equal(rv, rv2);
    }

    [Theory]
    [MemberData(nameof(KernelAssert.AllPaths), MemberType = typeof(KernelAssert))]
    public void ForwardInferenceMatchesDoubleReference(SimdPath path)
    {
        var rng = new Rng(302);
        foreach (var (batch, channels, spatial) in Shapes)
        {
            var (x, gamma, beta) = RandomInputs(ref rng, batch, channels, spatial);
            float[] rm = KernelAssert.Random(ref rng, channels), rv = KernelAssert.Random(ref rng, channels, 0.1f, 3f);
            float[] y = new float[x.Length];
            BatchNorm.ForwardInference(path, y, x, gamma, beta, rm, rv, batch, channels, spatial, Eps);
            var expected = new double[x.Length];
            for (int c = 0; c < channels; c++)
                for (int n = 0; n < batch; n++)
                    for (int s = 0; s < spatial; s++)
                    {
                        int i = Index(c, n, s, channels, spatial);
                        expected[i] = (double)gamma[c] * (x[i] - (double)rm[c]) / Math.Sqrt(rv[c] + (double)Eps) + beta[c];
                    }
            KernelAssert.Close(expected, y, 1e-6, 1e-6, $"b={batch} c={channels} s={spatial}");

            float[] inPlace = (float[])x.Clone();
            BatchNorm.ForwardInference(path, inPlace, inPlace, gamma, beta, rm, rv, batch, channels, spatial, Eps);
            Assert.Equal(y, inPlace);
        }
    }

    /// <summary>Analytic training-mode gradients in double: (dx, dgamma, dbeta).</summary>
    private static (double[] Dx, double[] DGamma, double[] DBeta) BackwardReference(
        ReadOnlySpan<double> x, ReadOnlySpan<double> dy, ReadOnlySpan<double> gamma, int batch, int channels, int spatial)
    {
        var (mean, variance) = Stats(x, batch, channels, spatial);
        var dx = new double[x.Length];
        var dGamma = new double[channels];
        var dBeta = new double[channels];
        int count = batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            double invStd = 1.0 / Math.Sqrt(variance[c] + Eps);
            double sumDy = 0, sumDyXhat = 0;
            for (int n = 0; n < batch; n++)
                for (int s = 0; s < spatial; s++)
                {
                    int i = Index(c, n, s, channels, spatial);
                    sumDy += dy[i];
                    sumDyXhat += dy[i] * (x[i] - mean[c]) * invStd;
                }
            dBeta[c] = sumDy;
            dGamma[c] = sumDyXhat;
            for (int n = 0; n < batch; n++)
                for (int s = 0; s < spatial; s++)
                {
                    int i = Index(c, n, s, channels, spatial);
                    double xhat = (x[i] - mean[c]) * invStd;
                    dx[i] = gamma[c] * invStd / count * (count * dy[i] - sumDy - xhat * sumDyXhat);
                }
        }
        return (dx, dGamma, dBeta);
    }

    [Theory]
    [MemberData(nameof(PathsAndFlag))]
    public void BackwardMatchesAnalyticReference(SimdPath path, bool accumulate)
    {
        var rng = new Rng(303);
        foreach (var (batch, channels, spatial) in Shapes)
        {
            var (x, gamma, beta) = RandomInputs(ref rng, batch, channels, spatial, 3f);
            float[] dy = KernelAssert.Random(ref rng, x.Length);
            float[] y = new float[x.Length], rm = new float[channels], rv = new float[channels], sm = new float[channels], si = new float[channels];
            BatchNorm.ForwardTraining(path, y, x, gamma, beta, rm, rv, sm, si, batch, channels, spatial, 0.1f, Eps);
            var (eDx, eDGamma, eDBeta) = BackwardReference(ToDouble(x), ToDouble(dy), ToDouble(gamma), batch, channels, spatial);
            string what = $"{path} acc={accumulate} b={batch} c={channels} s={spatial}";

            // parameter gradients always accumulate
            float[] dGamma = KernelAssert.Random(ref rng, channels), dBeta = KernelAssert.Random(ref rng, channels);
            float[] g0 = (float[])dGamma.Clone(), b0 = (float[])dBeta.Clone();
            BatchNorm.BackwardParameters(path, dGamma, dBeta, dy, x, sm, si, batch, channels, spatial);
            for (int c = 0; c < channels; c++)
            {
                KernelAssert.Close(g0[c] + eDGamma[c], dGamma[c], 2e-5, 1e-5, $"{what} dGamma[{c}]");
                KernelAssert.Close(b0[c] + eDBeta[c], dBeta[c], 2e-5, 1e-5, $"{what} dBeta[{c}]");
            }

            float[] dx = KernelAssert.Random(ref rng, x.Length);
            var expected = new double[x.Length];
            for (int i = 0; i < x.Length; i++) expected[i] = (accumulate ? dx[i] : 0) + eDx[i];
            if (!accumulate) Array.Fill(dx, float.NaN);
            BatchNorm.BackwardData(path, dx, dy, x, gamma, sm, si, batch, channels, spatial, accumulate);
            KernelAssert.Close(expected, dx, 2e-5, 1e-4, what);
        }
    }

    [Fact]
    public void BackwardMatchesFiniteDifferences()
    {
        // L = sum(g * y(x, gamma, beta)) with batch statistics; central differences on the double reference.
        var rng = new Rng(304);
        foreach (var (batch, channels, spatial) in new[] { (3, 2, 4), (4, 3, 1), (2, 2, 5) })
        {
            var (x, gamma, beta) = RandomInputs(ref rng, batch, channels, spatial);
            float[] g = KernelAssert.Random(ref rng, x.Length);
            float[] y = new float[x.Length], rm = new float[channels], rv = new float[channels], sm = new float[channels], si = new float[channels];
            BatchNorm.ForwardTraining(y, x, gamma, beta, rm, rv, sm, si, batch, channels, spatial, 0.1f, Eps);
            float[] dx = new float[x.Length], dGamma = new float[channels], dBeta = new float[channels];
            BatchNorm.BackwardData(dx, g, x, gamma, sm, si, batch, channels, spatial, accumulate: false);
            BatchNorm.BackwardParameters(dGamma, dBeta, g, x, sm, si, batch, channels, spatial);

            double[] xd = ToDouble(x), gd = ToDouble(gamma), bd = ToDouble(beta);
            double Loss()
            {
                double[] yr = ForwardReference(xd, gd, bd, batch, channels, spatial);
                double l = 0;
                for (int i = 0; i < yr.Length; i++) l += g[i] * yr[i];
                return l;
            }
            double Numeric(double[] values, int i)
            {
                const double h = 1e-5;
                double keep = values[i];
                values[i] = keep + h; double plus = Loss();
                values[i] = keep - h; double minus = Loss();
                values[i] = keep;
                return (plus - minus) / (2 * h);
            }
            string what = $"b={batch} c={channels} s={spatial}";
            for (int i = 0; i < xd.Length; i++) KernelAssert.Close(Numeric(xd, i), dx[i], 1e-4, 1e-3, $"{what} dx[{i}]");
            for (int c = 0; c < channels; c++)
            {
                KernelAssert.Close(Numeric(gd, c), dGamma[c], 1e-4, 1e-4, $"{what} dGamma[{c}]");
                KernelAssert.Close(Numeric(bd, c), dBeta[c], 1e-4, 1e-4, $"{what} dBeta[{c}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelAssert.VectorPaths), MemberType = typeof(KernelAssert))]
    public void VectorPathsMatchScalar(SimdPath path)
    {
        var rng = new Rng(305);
        foreach (var (batch, channels, spatial) in Shapes)
        {
            var (x, gamma, beta) = RandomInputs(ref rng, batch, channels, spatial, 0.5f);
            float[] dy = KernelAssert.Random(ref rng, x.Length);
            int c = channels;
            float[] ys = new float[x.Length], rms = new float[c], rvs = new float[c], sms = new float[c], sis = new float[c];
            float[] yv = new float[x.Length], rmv = new float[c], rvv = new float[c], smv = new float[c], siv = new float[c];
            BatchNorm.ForwardTraining(SimdPath.Scalar, ys, x, gamma, beta, rms, rvs, sms, sis, batch, c, spatial, 0.1f, Eps);
            BatchNorm.ForwardTraining(path, yv, x, gamma, beta, rmv, rvv, smv, siv, batch, c, spatial, 0.1f, Eps);
            string what = $"b={batch} c={c} s={spatial}";
            KernelAssert.Close(sms, smv, 1e-6, 1e-6, what + " mean");
            KernelAssert.Close(sis, siv, 0, 1e-5, what + " invstd");
            KernelAssert.Close(ys, yv, 1e-5, 1e-5, what + " y");

            float[] dxs = new float[x.Length], dxv = new float[x.Length];
            BatchNorm.BackwardData(SimdPath.Scalar, dxs, dy, x, gamma, sms, sis, batch, c, spatial, false);
            BatchNorm.BackwardData(path, dxv, dy, x, gamma, sms, sis, batch, c, spatial, false);
            KernelAssert.Close(dxs, dxv, 1e-5, 1e-4, what + " dx");

            float[] dgs = new float[c], dbs = new float[c], dgv = new float[c], dbv = new float[c];
            BatchNorm.BackwardParameters(SimdPath.Scalar, dgs, dbs, dy, x, sms, sis, batch, c, spatial);
            BatchNorm.BackwardParameters(path, dgv, dbv, dy, x, sms, sis, batch, c, spatial);
            KernelAssert.Close(dgs, dgv, 1e-5, 1e-5, what + " dGamma");
            KernelAssert.Close(dbs, dbv, 1e-5, 1e-5, what + " dBeta");

            float[] ris = new float[x.Length], riv = new float[x.Length];
            BatchNorm.ForwardInference(SimdPath.Scalar, ris, x, gamma, beta, rms, rvs, batch, c, spatial, Eps);
            BatchNorm.ForwardInference(path, riv, x, gamma, beta, rms, rvs, batch, c, spatial, Eps);
            KernelAssert.Close(ris, riv, 1e-6, 1e-6, what + " inference");
        }
    }

    [Fact]
    public void BackwardDataInPlaceOverDOutput()
    {
        var rng = new Rng(306);
        var (x, gamma, beta) = RandomInputs(ref rng, 2, 3, 21);
        float[] dy = KernelAssert.Random(ref rng, x.Length);
        float[] y = new float[x.Length], rm = new float[3], rv = new float[3], sm = new float[3], si = new float[3];
        BatchNorm.ForwardTraining(y, x, gamma, beta, rm, rv, sm, si, 2, 3, 21, 0.1f, Eps);
        float[] dx = new float[x.Length];
        BatchNorm.BackwardData(dx, dy, x, gamma, sm, si, 2, 3, 21, accumulate: false);
        BatchNorm.BackwardData(dy, dy, x, gamma, sm, si, 2, 3, 21, accumulate: false);
        Assert.Equal(dx, dy);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FoldedConvolutionEqualsConvolutionThenBatchNorm(bool withBias)
    {
        var rng = new Rng(307);
        var g = new Conv2dGeometry(3, 7, 6, 4, 3, 1, 1);
        const int batch = 2;
        float[] x = KernelAssert.Random(ref rng, batch * g.InputSize);
        float[] w = KernelAssert.Random(ref rng, g.WeightSize);
        float[] b = withBias ? KernelAssert.Random(ref rng, g.OutChannels) : Array.Empty<float>();
        float[] gamma = KernelAssert.Random(ref rng, 4, 0.5f, 1.5f), beta = KernelAssert.Random(ref rng, 4);
        float[] rm = KernelAssert.Random(ref rng, 4), rv = KernelAssert.Random(ref rng, 4, 0.2f, 2f);
        float[] scratch = new float[g.ColumnSize];
        int spatial = g.OutHeight * g.OutWidth;

        float[] conv = new float[batch * g.OutputSize], expected = new float[conv.Length];
        Conv2d.Forward(conv, x, w, b, batch, g, scratch);
        BatchNorm.ForwardInference(expected, conv, gamma, beta, rm, rv, batch, g.OutChannels, spatial, Eps);

        float[] fw = new float[w.Length], fb = new float[4], actual = new float[conv.Length];
        BatchNorm.FoldIntoConvolution(fw, fb, w, b, gamma, beta, rm, rv, g.OutChannels, Eps);
        Conv2d.Forward(actual, x, fw, fb, batch, g, scratch);
        KernelAssert.Close(expected, actual, 2e-5, 1e-5, $"bias={withBias}");

        // per-element formula, and in place over the weights / bias
        int rest = w.Length / 4;
        for (int oc = 0; oc < 4; oc++)
        {
            double s = gamma[oc] / Math.Sqrt(rv[oc] + (double)Eps);
            KernelAssert.Close(((withBias ? b[oc] : 0.0) - rm[oc]) * s + beta[oc], fb[oc], 1e-6, 1e-6, $"bias[{oc}]");
            for (int i = 0; i < rest; i++) KernelAssert.Close(w[oc * rest + i] * s, fw[oc * rest + i], 1e-7, 1e-6, $"w[{oc},{i}]");
        }
        float[] wInPlace = (float[])w.Clone(), bInPlace = withBias ? (float[])b.Clone() : new float[4];
        BatchNorm.FoldIntoConvolution(wInPlace, bInPlace, wInPlace, withBias ? bInPlace : Array.Empty<float>(), gamma, beta, rm, rv, 4, Eps);
        Assert.Equal(fw, wInPlace);
        Assert.Equal(fb, bInPlace);
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        float[] x = new float[12], c3 = new float[3];
        var ex = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTraining(new float[11], x, c3, c3, c3, c3, c3, c3, 2, 3, 2, 0.1f, Eps));
        Assert.Contains("'output'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTraining(x, x, c3, new float[2], c3, c3, c3, c3, 2, 3, 2, 0.1f, Eps));
        Assert.Contains("'beta'", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchNorm.ForwardTraining(x, x, c3, c3, c3, c3, c3, c3, 0, 3, 2, 0.1f, Eps));
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.BackwardData(x, x, new float[11], c3, c3, c3, 2, 3, 2, false));
        Assert.Contains("'input'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.BackwardParameters(new float[2], c3, x, x, c3, c3, 2, 3, 2));
        Assert.Contains("'dGamma'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.FoldIntoConvolution(new float[10], c3, new float[10], c3, c3, c3, c3, c3, 3, Eps));
        Assert.Contains("'weight'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.FoldIntoConvolution(new float[9], c3, new float[9], new float[2], c3, c3, c3, c3, 3, Eps));
        Assert.Contains("'bias'", ex.Message);
    }
}
