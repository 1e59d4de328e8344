using NetGen.Tests.Shared;
using System;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

/// <summary>The losses of generative models: BCE on logits (GAN discriminators, VAE decoders), L1, and the VAE KL term.</summary>
public class GenerativeLossTests
{
    private static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);

    /// <summary>Checks gradient[i] against central differences of <paramref name="loss"/> in double.</summary>
    private static void CheckByFiniteDifferences(Func<double[], double> loss, float[] point, ReadOnlySpan<float> gradient, string what, double h = 1e-5)
    {
        double[] p = ToDouble(point);
        for (int i = 0; i < p.Length; i++)
        {
            double saved = p[i];
            p[i] = saved + h; double plus = loss(p);
            p[i] = saved - h; double minus = loss(p);
            p[i] = saved;
            KernelAssert.Close((plus - minus) / (2 * h), gradient[i], 1e-6, 1e-4, $"{what}[{i}]");
        }
    }

    // ------------------------------------------------------------------ BCE with logits

    /// <summary>The textbook form -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], averaged (fine in double for moderate x).</summary>
    private static double ReferenceBce(double[] x, float[] t)
    {
        double total = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double s = 1 / (1 + Math.Exp(-x[i]));
            total -= t[i] * Math.Log(s) + (1 - t[i]) * Math.Log(1 - s);
        }
        return total / x.Length;
    }

    [Fact]
    public void BceWithLogitsMatchesReferenceAndFiniteDifferences()
    {
        var rng = new Rng(170);
        foreach (var (batch, features) in new[] { (1, 1), (1, 5), (4, 3), (7, 17) })
        {
            int count = batch * features;
            float[] x = KernelAssert.Random(ref rng, count, -8f, 8f);
            float[] t = new float[count];
            for (int i = 0; i < count; i++) t[i] = i % 3 == 0 ? rng.NextFloat() : (i % 3 == 1 ? 1f : 0f);   // hard and soft targets
            float[] d = new float[count];
            Array.Fill(d, float.NaN);
            float loss = Losses.BinaryCrossEntropyWithLogits(x, t, batch, features, d);
            KernelAssert.Close(ReferenceBce(ToDouble(x), t), loss, 1e-6, 1e-6, $"loss {batch}x{features}");
            for (int i = 0; i < count; i++)
                KernelAssert.Close((1 / (1 + Math.Exp(-(double)x[i])) - t[i]) / count, d[i], 1e-8, 1e-6, $"d[{i}]");
            CheckByFiniteDifferences(p => ReferenceBce(p, t), x, d, $"bce {batch}x{features}");
        }
    }

    [Fact]
    public void BceWithLogitsMatchesPyTorchValues()
    {
        float[] d = new float[1];
        // BCEWithLogitsLoss()(tensor([0.]), tensor([1.])) = log 2; gradient sigmoid(0) - 1 = -0.5
        KernelAssert.Close(Math.Log(2), Losses.BinaryCrossEntropyWithLogits(new float[] { 0f }, new float[] { 1f }, 1, 1, d), 1e-7, 1e-7, "log 2");
        Assert.Equal(-0.5f, d[0]);
        // BCEWithLogitsLoss()(tensor([[1., -2.]]), tensor([[1., 0.]])) = (softplus(-1) + softplus(-2)) / 2 = 0.22009485...
        float[] d2 = new float[2];
        float loss = Losses.BinaryCrossEntropyWithLogits(new float[] { 1f, -2f }, new float[] { 1f, 0f }, 1, 2, d2);
        KernelAssert.Close((Math.Log(1 + Math.Exp(-1)) + Math.Log(1 + Math.Exp(-2))) / 2, loss, 1e-7, 1e-6, "two elements");
        KernelAssert.Close((1 / (1 + Math.Exp(-1)) - 1) / 2, d2[0], 1e-8, 1e-6);
        KernelAssert.Close((1 / (1 + Math.Exp(2))) / 2, d2[1], 1e-8, 1e-6);
    }

    [Fact]
    public void BceWithLogitsIsStableForHugeLogits()
    {
        // |x| = 100: exp(x) overflows float and sigmoid saturates; the stable form stays exact.
        float[] x = { 100f, 100f, -100f, -100f, 1e4f, -1e4f, 1e30f, -1e30f };
        float[] t = { 1f, 0f, 1f, 0f, 1f, 1f, 0f, 0f };
        float[] d = new float[x.Length];
        float loss = Losses.BinaryCrossEntropyWithLogits(x, t, 2, 4, d);
        // per element: ~0, 100, 100, ~0, 0, 1e4, 1e30, 0
        Assert.True(float.IsFinite(loss));
        KernelAssert.Close((200.0 + 1e4 + 1e30) / 8, loss, 0, 1e-6, "loss");
        float[] expected = { 0f, 1f / 8, -1f / 8, 0f, 0f, -1f / 8, 1f / 8, 0f };
        for (int i = 0; i < x.Length; i++)
        {
            Assert.True(float.IsFinite(d[i]), $"d[{i}] = {d[i]}");
            KernelAssert.Close(expected[i], d[i], 1e-12, 0, $"d[{i}]");
        }

        // only |x| = 100: the mean is exactly 50 (the 'tiny' elements contribute e^-100)
        float[] d4 = new float[4];
        float l4 = Losses.BinaryCrossEntropyWithLogits(x.AsSpan(0, 4), t.AsSpan(0, 4), 1, 4, d4);
        KernelAssert.Close(50.0, l4, 1e-6, 1e-7, "mean at |x| = 100");
        KernelAssert.Close(new float[] { 0f, 0.25f, -0.25f, 0f }, d4, 1e-30, 0, "d at |x| = 100");   // d4[3] = e^-100 / 4, a float subnormal
    }

    [Fact]
    public void BceLossObjectAndEmptyGradient()
    {
        var rng = new Rng(171);
        float[] x = KernelAssert.Random(ref rng, 12, -3f, 3f), t = KernelAssert.Random(ref rng, 12, 0f, 1f);
        float[] d1 = new float[12], d2 = new float[12];
        float direct = Losses.BinaryCrossEntropyWithLogits(x, t, 3, 4, d1);
        float viaLoss = Loss.BinaryCrossEntropyWithLogits.Compute(x, t, 3, 4, d2);
        Assert.Equal(direct, viaLoss);
        Assert.Equal(d1, d2);
        Assert.Equal(direct, Losses.BinaryCrossEntropyWithLogits(x, t, 3, 4, Span<float>.Empty));
        Assert.Equal("BinaryCrossEntropyWithLogits", Loss.BinaryCrossEntropyWithLogits.Name);
        Assert.Same(Loss.BinaryCrossEntropyWithLogits, Loss.BinaryCrossEntropyWithLogits);
        Assert.Throws<NotSupportedException>(() => Loss.BinaryCrossEntropyWithLogits.Compute(x, new int[3], 3, 4, d1));
        var ex = Assert.Throws<ArgumentException>(() => Losses.BinaryCrossEntropyWithLogits(x, t, 3, 4, new float[11]));
        Assert.Contains("'gradient'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Losses.BinaryCrossEntropyWithLogits(x, t.AsSpan(1), 3, 4, d1));
        Assert.Contains("'targets'", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Losses.BinaryCrossEntropyWithLogits(x, t, 0, 4, d1));
    }

    // ------------------------------------------------------------------ L1

    private static double ReferenceL1(double[] o, float[] t)
    {
        double total = 0;
        for (int i = 0; i < o.Length; i++) total += Math.Abs(o[i] - t[i]);
        return total / o.Length;
    }

    [Fact]
    public void L1MatchesReferenceAndFiniteDifferences()
    {
        var rng = new Rng(172);
        foreach (var (batch, features) in new[] { (1, 1), (2, 5), (6, 13) })
        {
            int count = batch * features;
            float[] o = KernelAssert.Random(ref rng, count), t = KernelAssert.Random(ref rng, count);
            for (int i = 0; i < count; i++) if (Math.Abs(o[i] - t[i]) < 1e-3f) o[i] += 0.01f;   // keep finite differences off the kink
            float[] d = new float[count];
            Array.Fill(d, float.NaN);
            float loss = Losses.L1(o, t, batch, features, d);
            KernelAssert.Close(ReferenceL1(ToDouble(o), t), loss, 1e-7, 1e-6, $"loss {batch}x{features}");
            for (int i = 0; i < count; i++) Assert.Equal((o[i] > t[i] ? 1f : -1f) / count, d[i]);
            CheckByFiniteDifferences(p => ReferenceL1(p, t), o, d, $"l1 {batch}x{features}");

            float[] d2 = new float[count];
            Assert.Equal(loss, Loss.L1.Compute(o, t, batch, features, d2));
            Assert.Equal(d, d2);
        }
    }

    [Fact]
    public void L1GradientIsZeroAtEquality()
    {
        float[] o = { 1f, 2f, 3f, -4f }, t = { 1f, 0f, 3f, -3f }, d = { 9f, 9f, 9f, 9f };
        float loss = Losses.L1(o, t, 2, 2, d);
        Assert.Equal(0.75f, loss);   // (0 + 2 + 0 + 1) / 4
        Assert.Equal(new float[] { 0f, 0.25f, 0f, -0.25f }, d);
        Assert.Equal("L1", Loss.L1.Name);
        Assert.Equal(loss, Losses.L1(o, t, 2, 2, Span<float>.Empty));
        Assert.Throws<NotSupportedException>(() => Loss.L1.Compute(o, new int[2], 2, 2, d));
        var ex = Assert.Throws<ArgumentException>(() => Losses.L1(o, t, 2, 2, new float[3]));
        Assert.Contains("'dOutput'", ex.Message);
    }

    // ------------------------------------------------------------------ KL(N(mean, exp(logVar)) || N(0, I))

    /// <summary>Batch mean of -0.5 sum_j (1 + lv - mu^2 - exp(lv)); p = [mean..., logVar...].</summary>
    private static double ReferenceKl(double[] p, int batch, int latent)
    {
        int count = batch * latent;
        double total = 0;
        for (int i = 0; i < count; i++)
        {
            double mu = p[i], lv = p[count + i];
            total += -0.5 * (1 + lv - mu * mu - Math.Exp(lv));
        }
        return total / batch;
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(0.25f)]
    [InlineData(3f)]
    public void KlMatchesFormulaAndFiniteDifferences(float scale)
    {
        var rng = new Rng(173);
        foreach (var (batch, latent) in new[] { (1, 1), (3, 2), (5, 8) })
        {
            int count = batch * latent;
            float[] mean = KernelAssert.Random(ref rng, count, -2f, 2f), logVar = KernelAssert.Random(ref rng, count, -3f, 2f);
            float[] dMean = new float[count], dLogVar = new float[count];
            Array.Fill(dMean, float.NaN);
            Array.Fill(dLogVar, float.NaN);   // overwritten, never read
            float kl = Losses.KlDivergenceToStandardNormal(mean, logVar, batch, latent, dMean, dLogVar, scale);

            float[] both = new float[2 * count];
            mean.CopyTo(both, 0);
            logVar.CopyTo(both, count);
            KernelAssert.Close(ReferenceKl(ToDouble(both), batch, latent), kl, 1e-6, 1e-6, $"kl {batch}x{latent}");   // not scaled
            for (int i = 0; i < count; i++)
            {
                KernelAssert.Close(scale * mean[i] / (double)batch, dMean[i], 1e-7, 1e-6, $"dMean[{i}]");
                KernelAssert.Close(scale * 0.5 * (Math.Exp(logVar[i]) - 1) / batch, dLogVar[i], 1e-7, 1e-6, $"dLogVar[{i}]");
            }

            float[] gradient = new float[2 * count];
            dMean.CopyTo(gradient, 0);
            dLogVar.CopyTo(gradient, count);
            CheckByFiniteDifferences(p => scale * ReferenceKl(p, batch, latent), both, gradient, $"kl {batch}x{latent} scale={scale}");
        }
    }

    [Fact]
    public void KlKnownValuesAndOptionalGradients()
    {
        float[] dm = { 7f, 7f }, dl = { 7f, 7f };
        // N(0, 1) against itself: 0, zero gradients
        Assert.Equal(0f, Losses.KlDivergenceToStandardNormal(new float[] { 0f, 0f }, new float[] { 0f, 0f }, 1, 2, dm, dl));
        Assert.Equal(new float[] { 0f, 0f }, dm);
        Assert.Equal(new float[] { 0f, 0f }, dl);
        // batch 2, latent 1: sample 0 mean 1 (KL 0.5), sample 1 logVar ln 4 (KL 0.5 (4 - 1 - ln 4)); returned value is the batch mean
        float lv = MathF.Log(4f);
        float kl = Losses.KlDivergenceToStandardNormal(new float[] { 1f, 0f }, new float[] { 0f, lv }, 2, 1, dm, dl, scale: 2f);
        KernelAssert.Close((0.5 + 0.5 * (4 - 1 - Math.Log(4))) / 2, kl, 1e-6, 1e-6, "kl");
        KernelAssert.Close(2.0 * 1 / 2, dm[0], 1e-7);
        KernelAssert.Close(0.0, dm[1], 1e-7);
        KernelAssert.Close(0.0, dl[0], 1e-7);
        KernelAssert.Close(2.0 * 0.5 * 3 / 2, dl[1], 1e-6);
        // either gradient may be skipped
        Assert.Equal(kl, Losses.KlDivergenceToStandardNormal(new float[] { 1f, 0f }, new float[] { 0f, lv }, 2, 1, Span<float>.Empty, Span<float>.Empty));
        var ex = Assert.Throws<ArgumentException>(() => Losses.KlDivergenceToStandardNormal(new float[2], new float[2], 2, 1, new float[1], dl));
        Assert.Contains("'dMean'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Losses.KlDivergenceToStandardNormal(new float[2], new float[1], 2, 1, dm, dl));
        Assert.Contains("'logVar'", ex.Message);
    }

    // ------------------------------------------------------------------ allocations

    private sealed class Workload
    {
        private readonly float[] _x, _t, _d, _m, _lv, _dm, _dlv;

        public Workload()
        {
            var rng = new Rng(174);
            _x = KernelAssert.Random(ref rng, 24, -4f, 4f); _t = KernelAssert.Random(ref rng, 24, 0f, 1f); _d = new float[24];
            _m = KernelAssert.Random(ref rng, 24); _lv = KernelAssert.Random(ref rng, 24); _dm = new float[24]; _dlv = new float[24];
        }

        public void Run()
        {
            Losses.BinaryCrossEntropyWithLogits(_x, _t, 4, 6, _d);
            Loss.BinaryCrossEntropyWithLogits.Compute(_x, _t, 4, 6, _d);
            Losses.L1(_x, _t, 4, 6, _d);
            Loss.L1.Compute(_x, _t, 4, 6, _d);
            Losses.KlDivergenceToStandardNormal(_m, _lv, 4, 6, _dm, _dlv, 0.5f);
        }
    }

    [Fact]
    public void LossesDoNotAllocate()
    {
        var work = new Workload();
        Assert.Equal(0, Allocations.SteadyState(work.Run));
    }
}
