using System;
using NetGen;
using NetGen.Rl;

namespace NetGen.Examples.Dqn;

/// <summary>Hyperparameters of a DQN run on CartPole. The defaults solve CartPole-v1 (see README.md).</summary>
public sealed record DqnConfig
{
    public ulong Seed { get; init; } = 1;
    /// <summary>Stop after this many environment steps if not solved first.</summary>
    public long MaxSteps { get; init; } = 50_000;
    public float LearningRate { get; init; } = 1e-3f;
    public float Gamma { get; init; } = 0.99f;
    public int BatchSize { get; init; } = 64;
    public int ReplayCapacity { get; init; } = 50_000;
    /// <summary>Copy the online network into the target network every this many environment steps.</summary>
    public int TargetSyncSteps { get; init; } = 100;
    public double EpsilonStart { get; init; } = 1.0;
    public double EpsilonEnd { get; init; } = 0.05;
    public long EpsilonDecaySteps { get; init; } = 10_000;
    /// <summary>Environment steps of (epsilon-greedy) experience collected before the first update.</summary>
    public int WarmupSteps { get; init; } = 1_000;
    /// <summary>One gradient step every this many environment steps.</summary>
    public int TrainEvery { get; init; } = 1;
    /// <summary>Error on the taken action: squared (the default; it solved every seed tried) or Huber.</summary>
    public TdLoss Loss { get; init; } = TdLoss.Squared;
    public float HuberDelta { get; init; } = 1f;
    /// <summary>Solved when the mean return of the last <see cref="SolveWindow"/> episodes reaches this.</summary>
    public double SolveAverage { get; init; } = 195;
    public int SolveWindow { get; init; } = 100;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }
        Require(MaxSteps >= 1, "the step budget must be positive");
        Require(LearningRate > 0 && float.IsFinite(LearningRate), "the learning rate must be positive");
        Require(Gamma >= 0 && Gamma <= 1, "gamma must be in [0, 1]");
        Require(BatchSize >= 1, "the batch size must be positive");
        Require(ReplayCapacity >= 1, "the replay capacity must be positive");
        Require(TargetSyncSteps >= 1, "the target sync period must be positive");
        Require(EpsilonStart >= 0 && EpsilonStart <= 1 && EpsilonEnd >= 0 && EpsilonEnd <= 1, "epsilon must be in [0, 1]");
        Require(EpsilonDecaySteps >= 0, "the epsilon decay length must be >= 0");
        Require(WarmupSteps >= 0, "the warm-up must be >= 0");
        Require(TrainEvery >= 1, "the training period must be positive");
        Require(SolveWindow >= 1, "the solve window must be positive");
    }
}

/// <summary>One finished training episode, as reported to the progress callback.</summary>
public readonly record struct EpisodeReport(int Episode, float Return, double Average, double Epsilon, float Loss, long Steps);

/// <summary>
/// Deep Q-learning (Mnih et al., 2015) on <see cref="CartPole"/> with generated networks: epsilon-greedy
/// acting, a replay memory sampled in mini-batches, targets y = r + gamma * max_a Q_target(s', a) (no future
/// term at a true terminal state, but bootstrapped through the 500-step truncation), the loss on the taken
/// action only, a target network synchronised every <see cref="DqnConfig.TargetSyncSteps"/> steps, and Adam.
/// After construction <see cref="Step"/> and <see cref="TrainBatch"/> allocate nothing.
/// </summary>
public sealed class DqnTrainer
{
    private const int S = CartPole.ObservationSize;
    private const int A = CartPole.ActionCount;

    private readonly DqnConfig _config;
    private readonly EpsilonSchedule _epsilon;
    private Rng _actRng, _sampleRng;

    // One transition in flight.
    private readonly float[] _observation = new float[S];
    private readonly float[] _nextObservation = new float[S];

    // Mini-batch buffers, allocated once.
    private readonly float[] _states, _nextStates, _rewards, _terminal, _targets, _outputGradient;
    private readonly int[] _actions;

    // Episode statistics: every return (episodes <= steps), and a running sum over the solve window.
    private float[] _returns;
    private double _windowSum;
    private float _episodeReturn;

    public DqnTrainer(DqnConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        _epsilon = new EpsilonSchedule(config.EpsilonStart, config.EpsilonEnd, config.EpsilonDecaySteps);
        Online = new QNetwork(new NetworkOptions { Capacity = config.BatchSize, Seed = config.Seed });
        Target = new QNetwork(new NetworkOptions { Capacity = config.BatchSize, Seed = config.Seed });
        SyncTarget();
        Optimizer = new Adam(config.LearningRate);
        Memory = new ReplayBuffer(config.ReplayCapacity, S);
        Environment = new CartPole(config.Seed);
        _actRng = new Rng(config.Seed ^ 0xA5A5_0001UL);
        _sampleRng = new Rng(config.Seed ^ 0x5A5A_0002UL);

        int b = config.BatchSize;
        _states = new float[b * S];
        _nextStates = new float[b * S];
        _rewards = new float[b];
        _terminal = new float[b];
        _targets = new float[b];
        _actions = new int[b];
        _outputGradient = new float[b * A];
        _returns = new float[(int)Math.Min(config.MaxSteps, 1 << 16)]; // grows (rarely) in EndEpisode

        Environment.Reset(_observation);
    }

    public DqnConfig Config => _config;
    /// <summary>The network that acts and learns.</summary>
    public QNetwork Online { get; }
    /// <summary>The periodically synchronised copy that computes the targets.</summary>
    public QNetwork Target { get; }
    public Adam Optimizer { get; }
    public ReplayBuffer Memory { get; }
    public CartPole Environment { get; }

    /// <summary>Environment steps taken.</summary>
    public long Steps { get; private set; }
    /// <summary>Gradient steps taken.</summary>
    public long Updates { get; private set; }
    /// <summary>Episodes finished.</summary>
    public int Episodes { get; private set; }
    /// <summary>Loss of the latest update (NaN before the first).</summary>
    public float LastLoss { get; private set; } = float.NaN;
    /// <summary>Epsilon used for the next action.</summary>
    public double Epsilon => _epsilon.Value(Steps);
    /// <summary>Returns of the finished episodes, in order.</summary>
    public ReadOnlySpan<float> Returns => _returns.AsSpan(0, Episodes);
    /// <summary>Mean return of the last SolveWindow episodes (of all of them while fewer have finished).</summary>
    public double MovingAverage => Episodes == 0 ? 0 : _windowSum / Math.Min(Episodes, _config.SolveWindow);
    /// <summary>SolveWindow consecutive episodes averaged at least SolveAverage.</summary>
    public bool Solved => Episodes >= _config.SolveWindow && MovingAverage >= _config.SolveAverage;
    /// <summary>Environment steps when the run was first solved, or -1.</summary>
    public long SolvedAtStep { get; private set; } = -1;
    public int SolvedAtEpisode { get; private set; } = -1;
    public bool BudgetExhausted => Steps >= _config.MaxSteps;

    /// <summary>
    /// One environment step with an epsilon-greedy action, stored in the replay memory; then a gradient step
    /// (after the warm-up, every TrainEvery steps) and the target sync when due. Returns true when the step
    /// ended an episode (the environment is already reset for the next one).
    /// </summary>
    public bool Step()
    {
        // Epsilon-greedy; the network runs only when the greedy action is taken.
        int action = _actRng.NextDouble() < Epsilon ? _actRng.NextInt(A) : GreedyAction(Online, _observation);
        var result = Environment.Step(action, _nextObservation);
        // Only a real terminal state cuts the bootstrap; a 500-step truncation is stored as non-terminal.
        Memory.Add(_observation, action, result.Reward, _nextObservation, result.Terminated);
        _episodeReturn += result.Reward;
        Steps++;

        if (Steps > _config.WarmupSteps && Steps % _config.TrainEvery == 0 && Memory.Count >= _config.BatchSize)
            LastLoss = TrainBatch();
        if (Steps % _config.TargetSyncSteps == 0)
            SyncTarget();

        if (result.Done)
        {
            EndEpisode();
            Environment.Reset(_observation);
            return true;
        }
        _nextObservation.CopyTo(_observation, 0);
        return false;
    }

    /// <summary>Steps until an episode ends or the step budget is spent; returns that episode's report.</summary>
    public EpisodeReport RunEpisode()
    {
        while (!BudgetExhausted)
            if (Step()) break;
        return new EpisodeReport(Episodes, Episodes == 0 ? 0 : _returns[Episodes - 1], MovingAverage, Epsilon, LastLoss, Steps);
    }

    /// <summary>Trains until solved or out of steps, calling <paramref name="onEpisode"/> after every episode.</summary>
    public bool Train(Action<EpisodeReport>? onEpisode = null)
    {
        while (!Solved && !BudgetExhausted)
        {
            int before = Episodes;
            var report = RunEpisode();
            if (Episodes > before) onEpisode?.Invoke(report);
        }
        return Solved;
    }

    /// <summary>
    /// One DQN update on a mini-batch sampled from the replay memory: targets from the target network,
    /// Forward(training) of the online network, the loss on the taken actions, Backward, Adam. Returns the loss.
    /// </summary>
    public float TrainBatch()
    {
        int b = _config.BatchSize;
        Memory.Sample(ref _sampleRng, b, _states, _actions, _rewards, _nextStates, _terminal);

        ReadOnlySpan<float> nextQ = Target.Forward(_nextStates, b);
        QLearning.Targets(_targets, nextQ, _rewards, _terminal, _config.Gamma, b, A);

        Online.ZeroGradients();
        ReadOnlySpan<float> q = Online.Forward(_states, b, training: true);
        float loss = QLearning.TakenActionLoss(q, _actions, _targets, b, A, _outputGradient, _config.Loss, _config.HuberDelta);
        Online.Backward(_outputGradient, inputGradient: false);
        Optimizer.Step(Online.Parameters, Online.Gradients);
        Updates++;
        return loss;
    }

    /// <summary>Copies the online parameters into the target network.</summary>
    public void SyncTarget() => Online.Parameters.CopyTo(Target.Parameters);

    private void EndEpisode()
    {
        int window = _config.SolveWindow;
        if (Episodes == _returns.Length) Array.Resize(ref _returns, _returns.Length * 2);
        _returns[Episodes] = _episodeReturn;
        _windowSum += _episodeReturn;
        if (Episodes >= window) _windowSum -= _returns[Episodes - window];
        Episodes++;
        _episodeReturn = 0;
        if (SolvedAtStep < 0 && Solved)
        {
            SolvedAtStep = Steps;
            SolvedAtEpisode = Episodes;
        }
    }

    /// <summary>The action with the largest Q value for one observation (inference).</summary>
    public static int GreedyAction(QNetwork net, ReadOnlySpan<float> observation) =>
        QLearning.ArgMax(net.Forward(observation, 1));

    /// <summary>
    /// Runs the greedy policy of <paramref name="net"/> for returns.Length episodes of a CartPole seeded with
    /// <paramref name="seed"/> and writes each return; returns their mean.
    /// </summary>
    public static double EvaluateGreedy(QNetwork net, ulong seed, Span<float> returns)
    {
        var env = new CartPole(seed);
        Span<float> obs = stackalloc float[S];
        double sum = 0;
        for (int e = 0; e < returns.Length; e++)
        {
            env.Reset(obs);
            float total = 0;
            while (true)
            {
                var r = env.Step(GreedyAction(net, obs), obs);
                total += r.Reward;
                if (r.Done) break;
            }
            returns[e] = total;
            sum += total;
        }
        return returns.Length == 0 ? 0 : sum / returns.Length;
    }

    /// <summary>The uniformly random policy on the same environment seed; returns the mean return.</summary>
    public static double EvaluateRandom(ulong seed, ulong policySeed, Span<float> returns)
    {
        var env = new CartPole(seed);
        var rng = new Rng(policySeed);
        Span<float> obs = stackalloc float[S];
        double sum = 0;
        for (int e = 0; e < returns.Length; e++)
        {
            env.Reset(obs);
            float total = 0;
            while (true)
            {
                var r = env.Step(rng.NextInt(A), obs);
                total += r.Reward;
                if (r.Done) break;
            }
            returns[e] = total;
            sum += total;
        }
        return returns.Length == 0 ? 0 : sum / returns.Length;
    }
}
