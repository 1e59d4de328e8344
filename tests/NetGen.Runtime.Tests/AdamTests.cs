using NetGen.Tests.Shared;
using System;
using NetGen;
using Xunit;

namespace NetGen.Runtime.Tests;

public class AdamTests
{
    [Fact]
    public void Constant_gradient_moves_each_step_by_the_learning_rate()
    {
        // By hand, lr 0.1, beta1 0.9, beta2 0.999, g = 0.5 every step:
        // t=1: m = 0.05, v = 0.00025, m^ = 0.05/0.1 = 0.5, v^ = 0.00025/0.001 = 0.25, p -= 0.1 * 0.5/(0.5 + 1e-8)
        // t=2: m = 0.095, v = 0.00049975, m^ = 0.095/0.19 = 0.5, v^ = 0.00049975/0.001999 = 0.25, the same step.
        var adam = new Adam(0.1f);
        float[] p = { 1f };
        float[] g = { 0.5f };
        adam.Step(p, g);
        Assert.Equal(0.9f, p[0], 6);
        adam.Step(p, g);
        Assert.Equal(0.8f, p[0], 6);
        adam.Step(p, g);
        Assert.Equal(0.7f, p[0], 5);
        Assert.Equal(3, adam.StepCount);
    }

    [Fact]
    public void Changing_gradients_match_hand_computed_steps()
    {
        // lr 0.01, p = 1, gradients 1, -0.5, 2:
        // t=1: m = 0.1, v = 0.001; m^ = 1, v^ = 1; p = 1 - 0.01 * 1/(1 + 1e-8) = 0.99
        // t=2: m = 0.09 - 0.05 = 0.04, v = 0.000999 + 0.00025 = 0.001249
        //      m^ = 0.04/0.19 = 0.2105263, v^ = 0.001249/0.001999 = 0.6248124, sqrt = 0.7904508
        //      p = 0.99 - 0.01 * 0.2105263/0.7904508 = 0.99 - 0.0026634 = 0.9873366
        // t=3: m = 0.036 + 0.2 = 0.236, v = 0.001247751 + 0.004 = 0.005247751
        //      m^ = 0.236/0.271 = 0.8708487, v^ = 0.005247751/0.002997001 = 1.7510008, sqrt = 1.3232538
        //      p = 0.9873366 - 0.01 * 0.8708487/1.3232533 = 0.9873366 - 0.0065811 = 0.9807555
        var adam = new Adam(0.01f);
        float[] p = { 1f };
        adam.Step(p, new[] { 1f });
        Assert.Equal(0.99f, p[0], 6);
        adam.Step(p, new[] { -0.5f });
        Assert.Equal(0.9873366f, p[0], 6);
        adam.Step(p, new[] { 2f });
        Assert.Equal(0.9807555f, p[0], 6);
    }

    [Fact]
    public void Weight_decay_is_an_l2_penalty_unless_decoupled()
    {
        // Zero gradient, p = 1, lr 0.1, weight decay 0.1.
        // Adam (L2): g = 0.1 * p = 0.1, so the first step is lr * g/|g| = 0.1: p = 0.9.
        var coupled = new Adam(0.1f, weightDecay: 0.1f);
        float[] p = { 1f };
        coupled.Step(p, new[] { 0f });
        Assert.Equal(0.9f, p[0], 6);

        // AdamW: p *= 1 - lr * wd = 0.99; the moments stay zero, so no Adam step: p = 0.99.
        var decoupled = new Adam(0.1f, weightDecay: 0.1f, decoupled: true);
        float[] q = { 1f };
        decoupled.Step(q, new[] { 0f });
        Assert.Equal(0.99f, q[0], 6);
        decoupled.Step(q, new[] { 0f });
        Assert.Equal(0.9801f, q[0], 6);
    }

    [Theory]
    [InlineData(false, 0f)]
    [InlineData(false, 0.01f)]
    [InlineData(true, 0.05f)]
    public void Matches_a_double_precision_reference_over_many_steps(bool decoupled, float weightDecay)
    {
        // 37 parameters: the vector body and the scalar tail both run.
        const int n = 37;
        const double lr = 3e-3, b1 = 0.8, b2 = 0.95, eps = 1e-6;
        var rng = new Rng(7);
        var p = new float[n];
        for (int i = 0; i < n; i++) p[i] = rng.NextUniform(-1, 1);
        var reference = Array.ConvertAll(p, x => (double)x);
        var m = new double[n];
        var v = new double[n];
        var adam = new Adam((float)lr, (float)b1, (float)b2, (float)eps, weightDecay, decoupled);
        var g = new float[n];
        for (int t = 1; t <= 6; t++)
        {
            for (int i = 0; i < n; i++) g[i] = rng.NextUniform(-2, 2);
            adam.Step(p, g);
            for (int i = 0; i < n; i++)
            {
                double grad = g[i];
                if (decoupled) reference[i] *= 1 - lr * weightDecay;
                else grad += weightDecay * reference[i];
                m[i] = b1 * m[i] + (1 - b1) * grad;
                v[i] = b2 * v[i] + (1 - b2) * grad * grad;
                double mHat = m[i] / (1 - Math.Pow(b1, t));
                double vHat = v[i] / (1 - Math.Pow(b2, t));
                reference[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        }
        for (int i = 0; i < n; i++) Assert.Equal(reference[i], p[i], 5);
    }

    [Fact]
    public void Steps_allocate_nothing_after_the_first()
    {
        var adam = new Adam(1e-3f, weightDecay: 1e-4f, decoupled: true);
        var p = new float[1000];
        var g = new float[1000];
        g.AsSpan().Fill(0.25f);
        adam.Step(p, g); // the first step allocates the moment buffers
        Assert.Equal(0, Allocations.SteadyState(() => adam.Step(p, g), callsPerWindow: 40));
    }

    [Fact]
    public void Rejects_bad_settings_and_mismatched_spans()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(1e-3f, beta1: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(1e-3f, beta2: -0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(1e-3f, epsilon: 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(1e-3f, weightDecay: -1f));
        var adam = new Adam();
        Assert.Throws<ArgumentException>(() => adam.Step(new float[3], new float[2]));
        adam.Step(new float[3], new float[3]);
        var e = Assert.Throws<InvalidOperationException>(() => adam.Step(new float[4], new float[4]));
        Assert.Contains("one optimizer per network", e.Message);
        adam.Reset();
        adam.Step(new float[4], new float[4]);
        Assert.Equal(1, adam.StepCount);
    }
}
