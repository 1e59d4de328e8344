using System;

namespace NetGen.Rl;

/// <summary>The error between Q(s, a) and its target on the taken action.</summary>
public enum TdLoss
{
    /// <summary>PyTorch's nn.HuberLoss(delta) (= SmoothL1Loss for delta 1): quadratic within delta, linear beyond, so the gradient is clipped to [-delta, delta] (Mnih et al., 2015).</summary>
    Huber,
    /// <summary>PyTorch's nn.MSELoss: (Q - y)^2.</summary>
    Squared,
}

/// <summary>
/// The pieces of a DQN update that sit between the networks: the bootstrapped targets from the target
/// network's output and the loss on the taken actions only, with its gradient scattered into a
/// [batch x actions] buffer (zero on the actions not taken). All allocation-free.
/// </summary>
public static class QLearning
{
    /// <summary>Index of the largest value (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) throw new ArgumentException("ArgMax of no values is undefined.", nameof(values));
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>
    /// y[b] = reward[b] + gamma * max_a nextQ[b, a], without the future term where terminal[b] is nonzero
    /// (a real terminal state; a time-limit truncation must be stored as non-terminal).
    /// </summary>
    public static void Targets(Span<float> targets, ReadOnlySpan<float> nextQ, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> terminal, float gamma, int batch, int actionCount)
    {
        Check(batch, actionCount);
        if (nextQ.Length < batch * actionCount) throw new ArgumentException($"nextQ needs {batch * actionCount} values; got {nextQ.Length}.", nameof(nextQ));
        if (targets.Length < batch || rewards.Length < batch || terminal.Length < batch)
            throw new ArgumentException($"targets, rewards and terminal need {batch} values each.");
        for (int b = 0; b < batch; b++)
        {
            var row = nextQ.Slice(b * actionCount, actionCount);
            float max = row[0];
            for (int a = 1; a < actionCount; a++) max = MathF.Max(max, row[a]);
            targets[b] = terminal[b] != 0f ? rewards[b] : rewards[b] + gamma * max;
        }
    }

    /// <summary>
    /// Mean over the batch of the loss between q[b, actions[b]] and targets[b]. Writes dLoss/dq into
    /// <paramref name="gradient"/> ([batch x actionCount]): the derivative on the taken action, zero elsewhere.
    /// </summary>
    public static float TakenActionLoss(ReadOnlySpan<float> q, ReadOnlySpan<int> actions, ReadOnlySpan<float> targets,
        int batch, int actionCount, Span<float> gradient, TdLoss loss = TdLoss.Huber, float huberDelta = 1f)
    {
        Check(batch, actionCount);
        if (q.Length < batch * actionCount) throw new ArgumentException($"q needs {batch * actionCount} values; got {q.Length}.", nameof(q));
        if (gradient.Length < batch * actionCount) throw new ArgumentException($"gradient needs {batch * actionCount} values; got {gradient.Length}.", nameof(gradient));
        if (actions.Length < batch || targets.Length < batch) throw new ArgumentException($"actions and targets need {batch} values each.");
        if (loss == TdLoss.Huber && !(huberDelta > 0 && float.IsFinite(huberDelta)))
            throw new ArgumentOutOfRangeException(nameof(huberDelta), huberDelta, "The Huber delta must be a positive finite number.");

        gradient.Slice(0, batch * actionCount).Clear();
        float scale = 1f / batch;
        double sum = 0;
        for (int b = 0; b < batch; b++)
        {
            int a = actions[b];
            if ((uint)a >= (uint)actionCount) throw new ArgumentOutOfRangeException(nameof(actions), a, $"Action {a} of sample {b} is not in [0, {actionCount}).");
            float d = q[b * actionCount + a] - targets[b];
            float g;
            if (loss == TdLoss.Squared)
            {
                sum += d * d;
                g = 2f * d;
            }
            else if (MathF.Abs(d) <= huberDelta)
            {
                sum += 0.5f * d * d;
                g = d;
            }
            else
            {
                sum += huberDelta * (MathF.Abs(d) - 0.5f * huberDelta);
                g = d > 0 ? huberDelta : -huberDelta;
            }
            gradient[b * actionCount + a] = g * scale;
        }
        return (float)(sum / batch);
    }

    private static void Check(int batch, int actionCount)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch must be positive.");
        if (actionCount < 1) throw new ArgumentOutOfRangeException(nameof(actionCount), actionCount, "There must be at least one action.");
    }
}
