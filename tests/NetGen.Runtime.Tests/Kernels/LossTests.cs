using System;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class LossTests
{
    /// <summary>Mean cross entropy in double with soft targets (one-hot targets give the label version).</summary>
    private static double ReferenceCrossEntropy(double[] logits, double[] targets, int batch, int classes)
    {
        double total = 0;
        for (int b = 0; b < batch; b++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < classes; c++) max = Math.Max(max, logits[b * classes + c]);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(logits[b * classes + c] - max);
            double lse = max + Math.Log(sum);
            for (int c = 0; c < classes; c++) total -= targets[b * classes + c] * (logits[b * classes + c] - lse);
        }
        return total / batch;
    }

    private static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);

    private static double[] OneHot(int[] labels, int classes)
    {
        var t = new double[labels.Length * classes];
        for (int b = 0; b < labels.Length; b++) t[b * classes + labels[b]] = 1;
        return t;
    }

    private static void CheckGradientByFiniteDifferences(float[] logits, double[] targets, int batch, int classes, float[] dLogits)
    {
        double[] x = ToDouble(logits);
        const double h = 1e-5;
        for (int i = 0; i < x.Length; i++)
        {
            double saved = x[i];
            x[i] = saved + h; double plus = ReferenceCrossEntropy(x, targets, batch, classes);
            x[i] = saved - h; double minus = ReferenceCrossEntropy(x, targets, batch, classes);
            x[i] = saved;
            KernelAssert.Close((plus - minus) / (2 * h), dLogits[i], 1e-6, 1e-4, $"dLogits[{i}]");
        }
    }

    [Fact]
    public void CrossEntropyWithLabelsMatchesReferenceAndFiniteDifferences()
    {
        var rng = new Rng(60);
        foreach (var (batch, classes) in new[] { (1, 1), (1, 3), (4, 10), (7, 17) })
        {
            float[] logits = KernelAssert.Random(ref rng, batch * classes, -5f, 5f);
            int[] labels = new int[batch];
            for (int b = 0; b < batch; b++) labels[b] = rng.NextInt(classes);
            float[] d = new float[batch * classes];
            Array.Fill(d, float.NaN);

            float loss = Losses.SoftmaxCrossEntropy(logits, labels, batch, classes, d);

            double[] targets = OneHot(labels, classes);
            KernelAssert.Close(ReferenceCrossEntropy(ToDouble(logits), targets, batch, classes), loss, 1e-6, 1e-6, $"loss b={batch} c={classes}");
            CheckGradientByFiniteDifferences(logits, targets, batch, classes, d);
        }
    }

    [Fact]
    public void CrossEntropyKnownValue()
    {
        // uniform logits over 4 classes: loss = ln 4, gradient = (1/4 - onehot) / batch
        float[] logits = { 2f, 2f, 2f, 2f, -1f, -1f, -1f, -1f };
        float[] d = new float[8];
        float loss = Losses.SoftmaxCrossEntropy(logits, new[] { 1, 3 }, 2, 4, d);
        Assert.Equal(MathF.Log(4f), loss, 6);
        Assert.Equal(new[] { 0.125f, -0.375f, 0.125f, 0.125f, 0.125f, 0.125f, 0.125f, -0.375f }, d);
    }

    [Fact]
    public void CrossEntropyIsStableForHugeLogits()
    {
        float[] logits = { 1000f, -1000f, 0f, 3000f, 3000f, 3000f };
        float[] d = new float[6];
        float loss = Losses.SoftmaxCrossEntropy(logits, new[] { 1, 0 }, 2, 3, d);
        // row 0: -log softmax = 2000 ; row 1: ln 3
        KernelAssert.Close((2000.0 + Math.Log(3)) / 2, loss, 1e-3, 1e-6, "loss");
        foreach (float v in d) Assert.True(float.IsFinite(v));
        KernelAssert.Close(new[] { 0.5f, -0.5f, 0f, (1f / 3 - 1) / 2, 1f / 6, 1f / 6 }, d, 1e-6, what: "grad");
    }

    [Fact]
    public void CrossEntropyLabelOutOfRangeThrowsNamingRowAndValue()
    {
        float[] logits = new float[6], d = new float[6];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Losses.SoftmaxCrossEntropy(logits, new[] { 0, 3 }, 2, 3, d));
        Assert.Contains("row 1", ex.Message);
        Assert.Contains("3", ex.Message);
        Assert.Equal(3, ex.ActualValue);
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => Losses.SoftmaxCrossEntropy(logits, new[] { -1, 0 }, 2, 3, d));
        Assert.Contains("row 0", ex.Message);
        Assert.Contains("-1", ex.Message);
    }

    [Fact]
    public void CrossEntropyShortSpansThrow()
    {
        var ex = Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(new float[5], new[] { 0, 0 }, 2, 3, new float[6]));
        Assert.Contains("'logits'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(new float[6], new[] { 0 }, 2, 3, new float[6]));
        Assert.Contains("'labels'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(new float[6], new[] { 0, 0 }, 2, 3, new float[5]));
        Assert.Contains("'dLogits'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(new float[6], new float[5], 2, 3, new float[6]));
        Assert.Contains("'targets'", ex.Message);
    }

    [Fact]
    public void CrossEntropyEmptyGradientComputesLossOnly()
    {
        float[] logits = { 0.5f, -0.25f, 2f };
        float withGrad = Losses.SoftmaxCrossEntropy(logits, new[] { 2 }, 1, 3, new float[3]);
        float lossOnly = Losses.SoftmaxCrossEntropy(logits, new[] { 2 }, 1, 3, Span<float>.Empty);
        Assert.Equal(withGrad, lossOnly);
    }

    [Fact]
    public void SoftTargetCrossEntropyMatchesReferenceAndFiniteDifferences()
    {
        var rng = new Rng(61);
        foreach (var (batch, classes) in new[] { (1, 1), (3, 5), (4, 10) })
        {
            float[] logits = KernelAssert.Random(ref rng, batch * classes, -4f, 4f);
            float[] targets = KernelAssert.Random(ref rng, batch * classes, 0f, 1f);
            // rows 1.. are normalised probabilities; row 0 deliberately is not (sum != 1)
            for (int b = 1; b < batch; b++)
            {
                float s = 0;
                for (int c = 0; c < classes; c++) s += targets[b * classes + c];
                for (int c = 0; c < classes; c++) targets[b * classes + c] /= s;
            }
            float[] d = new float[batch * classes];
            float loss = Losses.SoftmaxCrossEntropy(logits, targets, batch, classes, d);
            double[] t = ToDouble(targets);
            KernelAssert.Close(ReferenceCrossEntropy(ToDouble(logits), t, batch, classes), loss, 1e-6, 1e-6, "loss");
            CheckGradientByFiniteDifferences(logits, t, batch, classes, d);
        }
    }

    [Fact]
    public void SoftTargetsOneHotEqualsLabelVersion()
    {
        var rng = new Rng(62);
        const int batch = 5, classes = 7;
        float[] logits = KernelAssert.Random(ref rng, batch * classes, -3f, 3f);
        int[] labels = { 0, 6, 3, 3, 1 };
        float[] targets = new float[batch * classes];
        for (int b = 0; b < batch; b++) targets[b * classes + labels[b]] = 1f;
        float[] d1 = new float[batch * classes], d2 = new float[batch * classes];
        float l1 = Losses.SoftmaxCrossEntropy(logits, labels, batch, classes, d1);
        float l2 = Losses.SoftmaxCrossEntropy(logits, targets, batch, classes, d2);
        KernelAssert.Close(l1, l2, 1e-6, 1e-6, "loss");
        KernelAssert.Close(d1, d2, 1e-7, what: "grad");
    }

    [Fact]
    public void MeanSquaredErrorWorkedExample()
    {
        // one output 0.191, target 1: loss = 0.809^2 = 0.654481, gradient = 2 * (0.191 - 1) = -1.618
        float[] d = new float[1];
        float loss = Losses.MeanSquaredError(new[] { 0.191f }, new[] { 1f }, 1, 1, d);
        KernelAssert.Close(0.654481, loss, 1e-6, what: "loss");
        KernelAssert.Close(-1.618, d[0], 1e-6, what: "grad");
    }

    [Fact]
    public void MeanSquaredErrorIsMeanOverAllElementsWithMatchingGradient()
    {
        var rng = new Rng(63);
        const int batch = 3, features = 7;
        float[] o = KernelAssert.Random(ref rng, batch * features), t = KernelAssert.Random(ref rng, batch * features);
        float[] d = new float[batch * features];
        float loss = Losses.MeanSquaredError(o, t, batch, features, d);

        double Reference(double[] x)
        {
            double s = 0;
            for (int i = 0; i < x.Length; i++) s += (x[i] - t[i]) * (x[i] - t[i]);
            return s / x.Length;
        }
        double[] od = ToDouble(o);
        KernelAssert.Close(Reference(od), loss, 1e-6, 1e-6, "loss");
        const double h = 1e-5;
        for (int i = 0; i < od.Length; i++)
        {
            double saved = od[i];
            od[i] = saved + h; double plus = Reference(od);
            od[i] = saved - h; double minus = Reference(od);
            od[i] = saved;
            KernelAssert.Close((plus - minus) / (2 * h), d[i], 1e-6, 1e-4, $"d[{i}]");
        }
        Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(o, t.AsSpan(1), batch, features, d));
    }

    [Fact]
    public void ArgMaxReturnsFirstMaximum()
    {
        Assert.Equal(2, Losses.ArgMax(new[] { 0.1f, 0.5f, 0.9f, 0.9f, -3f }));
        Assert.Equal(0, Losses.ArgMax(new[] { 7f }));
        Assert.Equal(1, Losses.ArgMax(new[] { -5f, -1f, -2f }));
        Assert.Throws<ArgumentException>(() => Losses.ArgMax(ReadOnlySpan<float>.Empty));
    }
}
