using System;

namespace NetGen.Rl;

/// <summary>
/// Exploration rate of an epsilon-greedy policy, annealed linearly from <see cref="Start"/> to
/// <see cref="End"/> over <see cref="DecaySteps"/> steps and constant afterwards (Mnih et al., 2015:
/// 1 to 0.1 over the first million frames).
/// </summary>
public sealed class EpsilonSchedule
{
    public EpsilonSchedule(double start, double end, long decaySteps)
    {
        if (!(start >= 0 && start <= 1)) throw new ArgumentOutOfRangeException(nameof(start), start, "epsilon must be in [0, 1].");
        if (!(end >= 0 && end <= 1)) throw new ArgumentOutOfRangeException(nameof(end), end, "epsilon must be in [0, 1].");
        if (decaySteps < 0) throw new ArgumentOutOfRangeException(nameof(decaySteps), decaySteps, "The decay length must be >= 0.");
        Start = start;
        End = end;
        DecaySteps = decaySteps;
    }

    public double Start { get; }
    public double End { get; }
    public long DecaySteps { get; }

    /// <summary>Epsilon after <paramref name="step"/> environment steps.</summary>
    public double Value(long step)
    {
        if (step <= 0) return DecaySteps == 0 ? End : Start;
        if (step >= DecaySteps) return End;
        return Start + (End - Start) * ((double)step / DecaySteps);
    }

    /// <summary>Epsilon-greedy choice: a uniformly random action with probability epsilon, else <paramref name="greedyAction"/>.</summary>
    public static int Choose(ref Rng rng, double epsilon, int actionCount, int greedyAction)
    {
        if (actionCount < 1) throw new ArgumentOutOfRangeException(nameof(actionCount));
        return rng.NextDouble() < epsilon ? rng.NextInt(actionCount) : greedyAction;
    }
}
