using System;
using NetGen;
using NetGen.Rl;
using Xunit;

namespace NetGen.Runtime.Tests.Rl;

public class QLearningTests
{
    [Fact]
    public void Targets_bootstrap_from_the_best_next_action_except_at_terminal_states()
    {
        float[] nextQ = { 1f, 3f, /**/ -2f, -5f, /**/ 10f, 4f };
        float[] rewards = { 1f, 0.5f, 1f };
        float[] terminal = { 0f, 0f, 1f };
        var targets = new float[3];
        QLearning.Targets(targets, nextQ, rewards, terminal, 0.9f, 3, 2);
        Assert.Equal(1f + 0.9f * 3f, targets[0], 6);
        Assert.Equal(0.5f + 0.9f * -2f, targets[1], 6);
        Assert.Equal(1f, targets[2]); // terminal: no future term
    }

    [Fact]
    public void Huber_loss_on_the_taken_action_only()
    {
        // Errors q - y: sample 0 takes action 1: 2.5 - 2 = 0.5 (quadratic: 0.125, gradient 0.5);
        // sample 1 takes action 0: 4 - 1 = 3 (linear: 3 - 0.5 = 2.5, gradient 1);
        // sample 2 takes action 2: -1 - 1 = -2 (linear: 1.5, gradient -1). Mean loss 4.125/3; gradients /3.
        float[] q = { 9f, 2.5f, 9f, /**/ 4f, 9f, 9f, /**/ 9f, 9f, -1f };
        int[] actions = { 1, 0, 2 };
        float[] targets = { 2f, 1f, 1f };
        var gradient = new float[9];
        gradient.AsSpan().Fill(123f); // overwritten, not accumulated
        float loss = QLearning.TakenActionLoss(q, actions, targets, 3, 3, gradient);
        Assert.Equal(4.125f / 3, loss, 6);
        float[] expected = { 0, 0.5f / 3, 0, /**/ 1f / 3, 0, 0, /**/ 0, 0, -1f / 3 };
        for (int i = 0; i < 9; i++) Assert.Equal(expected[i], gradient[i], 6);
    }

    [Fact]
    public void Squared_loss_is_mse_on_the_taken_action()
    {
        float[] q = { 1f, 2f, /**/ 3f, 4f };
        int[] actions = { 0, 1 };
        float[] targets = { 0f, 6f };
        var gradient = new float[4];
        float loss = QLearning.TakenActionLoss(q, actions, targets, 2, 2, gradient, TdLoss.Squared);
        Assert.Equal((1f + 4f) / 2, loss, 6);
        Assert.Equal(new[] { 1f, 0f, 0f, -2f }, gradient); // 2 (q - y) / batch
    }

    [Theory]
    [InlineData(TdLoss.Huber)]
    [InlineData(TdLoss.Squared)]
    public void Gradient_matches_finite_differences(TdLoss kind)
    {
        var rng = new Rng(3);
        const int batch = 5, actions = 3;
        var q = new float[batch * actions];
        for (int i = 0; i < q.Length; i++) q[i] = rng.NextUniform(-3, 3);
        int[] taken = { 0, 2, 1, 1, 0 };
        float[] targets = { 0.5f, -2f, 1f, 2.9f, -0.2f };
        var gradient = new float[q.Length];
        var scratch = new float[q.Length];
        QLearning.TakenActionLoss(q, taken, targets, batch, actions, gradient, kind, 1.5f);
        for (int i = 0; i < q.Length; i++)
        {
            const float h = 1e-2f;
            float saved = q[i];
            q[i] = saved + h;
            double plus = QLearning.TakenActionLoss(q, taken, targets, batch, actions, scratch, kind, 1.5f);
            q[i] = saved - h;
            double minus = QLearning.TakenActionLoss(q, taken, targets, batch, actions, scratch, kind, 1.5f);
            q[i] = saved;
            Assert.Equal((plus - minus) / (2 * h), gradient[i], 3);
        }
    }

    [Fact]
    public void ArgMax_takes_the_first_of_ties_and_checks_arguments()
    {
        Assert.Equal(1, QLearning.ArgMax(new[] { 0f, 2f, 2f, -1f }));
        Assert.Equal(0, QLearning.ArgMax(new[] { 5f }));
        Assert.Throws<ArgumentException>(() => QLearning.ArgMax(ReadOnlySpan<float>.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            QLearning.TakenActionLoss(new float[4], new[] { 0, 2 }, new float[2], 2, 2, new float[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            QLearning.TakenActionLoss(new float[4], new[] { 0, 1 }, new float[2], 2, 2, new float[4], TdLoss.Huber, 0f));
    }

    [Fact]
    public void Epsilon_anneals_linearly_then_stays()
    {
        var schedule = new EpsilonSchedule(1.0, 0.05, 10_000);
        Assert.Equal(1.0, schedule.Value(0));
        Assert.Equal(0.525, schedule.Value(5_000), 12);
        Assert.Equal(0.905, schedule.Value(1_000), 12);
        Assert.Equal(0.05, schedule.Value(10_000));
        Assert.Equal(0.05, schedule.Value(1_000_000));
        Assert.Equal(0.3, new EpsilonSchedule(0.9, 0.3, 0).Value(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EpsilonSchedule(1.5, 0.1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EpsilonSchedule(1, 0.1, -1));

        var rng = new Rng(9);
        int greedy = 0;
        for (int i = 0; i < 10_000; i++)
            if (EpsilonSchedule.Choose(ref rng, 0.2, 4, greedyAction: 3) == 3) greedy++;
        Assert.InRange(greedy / 10_000.0, 0.83, 0.87); // 0.8 greedy + 0.2 * 1/4 random picks of action 3
        Assert.Equal(2, EpsilonSchedule.Choose(ref rng, 0.0, 4, 2));
    }
}
