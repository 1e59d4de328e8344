using System;

namespace NetGen.Rl;

/// <summary>What one <see cref="CartPole.Step"/> returned besides the observation.</summary>
/// <param name="Reward">1 for every step, the terminating one included (CartPole-v1).</param>
/// <param name="Terminated">The pole fell past 12 degrees or the cart left [-2.4, 2.4]: a true terminal state (no future reward).</param>
/// <param name="Truncated">The episode reached the 500-step limit (Gym's TimeLimit; can coincide with Terminated): a time limit, not a terminal state.</param>
public readonly record struct StepResult(float Reward, bool Terminated, bool Truncated)
{
    /// <summary>The episode is over (terminated or truncated); call <see cref="CartPole.Reset"/>.</summary>
    public bool Done => Terminated || Truncated;
}

/// <summary>
/// The classic cart-pole balancing task (Barto, Sutton and Anderson, 1983) with exactly the dynamics,
/// thresholds and limits of Gym/Gymnasium's CartPole-v1: gravity 9.8, cart mass 1.0, pole mass 0.1,
/// half pole length 0.5, force 10, time step 0.02 s, explicit Euler integration in double precision,
/// termination when |x| &gt; 2.4 or |theta| &gt; 12 degrees, truncation after 500 steps, reward 1 per step,
/// initial state uniform in [-0.05, 0.05]^4. Observations are (x, x_dot, theta, theta_dot) as floats.
/// Action 0 pushes the cart left, 1 pushes it right. Seeded with <see cref="Rng"/>; allocates nothing.
/// </summary>
public sealed class CartPole
{
    public const int ObservationSize = 4;
    public const int ActionCount = 2;
    public const int MaxEpisodeSteps = 500;

    public const double Gravity = 9.8;
    public const double MassCart = 1.0;
    public const double MassPole = 0.1;
    public const double TotalMass = MassPole + MassCart;
    /// <summary>Half the pole's length, as in Gym.</summary>
    public const double Length = 0.5;
    public const double PoleMassLength = MassPole * Length;
    public const double ForceMagnitude = 10.0;
    /// <summary>Seconds between state updates.</summary>
    public const double Tau = 0.02;
    /// <summary>12 degrees in radians (12 * 2 * pi / 360).</summary>
    public const double ThetaThreshold = 12 * 2 * Math.PI / 360;
    public const double XThreshold = 2.4;

    private Rng _rng;
    private bool _done = true;

    public CartPole(ulong seed) => _rng = new Rng(seed);

    /// <summary>Cart position (m).</summary>
    public double X { get; private set; }
    /// <summary>Cart velocity (m/s).</summary>
    public double XDot { get; private set; }
    /// <summary>Pole angle from vertical (rad).</summary>
    public double Theta { get; private set; }
    /// <summary>Pole angular velocity (rad/s).</summary>
    public double ThetaDot { get; private set; }

    /// <summary>Steps taken in the current episode.</summary>
    public int EpisodeSteps { get; private set; }

    /// <summary>True until <see cref="Reset"/> and after a terminated or truncated step.</summary>
    public bool IsDone => _done;

    /// <summary>Starts an episode: each state variable uniform in [-0.05, 0.05]. Writes the observation.</summary>
    public void Reset(Span<float> observation)
    {
        X = Uniform();
        XDot = Uniform();
        Theta = Uniform();
        ThetaDot = Uniform();
        EpisodeSteps = 0;
        _done = false;
        Observe(observation);
    }

    /// <summary>Starts an episode from a given state (tests, replays). Writes the observation.</summary>
    public void Reset(double x, double xDot, double theta, double thetaDot, Span<float> observation)
    {
        X = x; XDot = xDot; Theta = theta; ThetaDot = thetaDot;
        EpisodeSteps = 0;
        _done = false;
        Observe(observation);
    }

    /// <summary>Applies action 0 (push left) or 1 (push right) for one time step and writes the next observation.</summary>
    public StepResult Step(int action, Span<float> observation)
    {
        if ((uint)action >= ActionCount)
            throw new ArgumentOutOfRangeException(nameof(action), action, "CartPole actions are 0 (push left) and 1 (push right).");
        if (_done)
            throw new InvalidOperationException("CartPole.Step after the episode ended (or before the first Reset); call Reset first.");

        double force = action == 1 ? ForceMagnitude : -ForceMagnitude;
        double cosTheta = Math.Cos(Theta), sinTheta = Math.Sin(Theta);
        // Florian (2007), as implemented by Gym: the pole's angular and the cart's linear acceleration.
        double temp = (force + PoleMassLength * ThetaDot * ThetaDot * sinTheta) / TotalMass;
        double thetaAcc = (Gravity * sinTheta - cosTheta * temp) / (Length * (4.0 / 3.0 - MassPole * cosTheta * cosTheta / TotalMass));
        double xAcc = temp - PoleMassLength * thetaAcc * cosTheta / TotalMass;

        // Explicit Euler: positions advance with the old velocities.
        X += Tau * XDot;
        XDot += Tau * xAcc;
        Theta += Tau * ThetaDot;
        ThetaDot += Tau * thetaAcc;
        EpisodeSteps++;

        bool terminated = X < -XThreshold || X > XThreshold || Theta < -ThetaThreshold || Theta > ThetaThreshold;
        bool truncated = EpisodeSteps >= MaxEpisodeSteps; // Gym's TimeLimit wrapper: set at step 500 even when that step also terminated
        _done = terminated || truncated;
        Observe(observation);
        return new StepResult(1f, terminated, truncated);
    }

    private double Uniform() => -0.05 + 0.1 * _rng.NextDouble();

    private void Observe(Span<float> observation)
    {
        if (observation.Length < ObservationSize)
            throw new ArgumentException($"A CartPole observation needs {ObservationSize} floats; got {observation.Length}.", nameof(observation));
        observation[0] = (float)X;
        observation[1] = (float)XDot;
        observation[2] = (float)Theta;
        observation[3] = (float)ThetaDot;
    }
}
