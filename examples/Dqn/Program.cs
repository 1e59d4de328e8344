using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using NetGen;
using NetGen.Examples.Dqn;
using NetGen.Rl;

// Deep Q-learning on CartPole-v1 with a generated Q-network. Trains until the average return of 100
// consecutive episodes reaches 195 (or the step budget runs out), saves the network and a learning-curve
// PNG; --play loads a saved network and runs its greedy policy.

var options = DqnCommandLine.Parse(args);
if (options is null) return 2;
if (options.Help) return 0;
return options.Play ? Play(options) : Train(options);

static int Train(DqnCommandLine options)
{
    var config = options.ToConfig();
    Console.WriteLine($"DQN on CartPole-v1: Q-network 4-128-128-2 ({QNetwork.ParameterCount:N0} parameters), Adam lr {F(config.LearningRate)}, gamma {F(config.Gamma)}, " +
        $"batch {config.BatchSize}, replay {config.ReplayCapacity:N0}, target sync every {config.TargetSyncSteps} steps, " +
        $"epsilon {F(config.EpsilonStart)} -> {F(config.EpsilonEnd)} over {config.EpsilonDecaySteps:N0} steps, warm-up {config.WarmupSteps:N0} steps, {config.Loss} loss, seed {config.Seed}");
    Console.WriteLine($"goal: average return >= {F(config.SolveAverage)} over {config.SolveWindow} consecutive episodes within {config.MaxSteps:N0} environment steps");

    var trainer = new DqnTrainer(config);
    var clock = Stopwatch.StartNew();
    void Report(EpisodeReport r) => Console.WriteLine(
        $"episode {r.Episode,4}  return {r.Return,5:F0}  avg100 {r.Average,6:F1}  epsilon {r.Epsilon:F3}  loss {(float.IsNaN(r.Loss) ? "-" : r.Loss.ToString("F4", CultureInfo.InvariantCulture)),7}  " +
        $"steps {r.Steps,6:N0}  elapsed {clock.Elapsed.TotalSeconds,5:F1} s");
    bool solved = trainer.Train(r =>
    {
        if (r.Episode % options.LogEvery == 0 || trainer.Solved) Report(r);
    });
    double seconds = clock.Elapsed.TotalSeconds;

    if (solved)
        Console.WriteLine($"solved: average return {trainer.MovingAverage:F1} over episodes {trainer.SolvedAtEpisode - config.SolveWindow + 1}-{trainer.SolvedAtEpisode}, " +
            $"reached after {trainer.SolvedAtStep:N0} environment steps and {trainer.Updates:N0} updates in {seconds:F1} s");
    else
        Console.WriteLine($"not solved within {config.MaxSteps:N0} environment steps: average of the last {Math.Min(trainer.Episodes, config.SolveWindow)} episodes {trainer.MovingAverage:F1} " +
            $"({trainer.Episodes} episodes, {trainer.Updates:N0} updates, {seconds:F1} s)");

    try
    {
        trainer.Online.Save(options.Output);
        Console.WriteLine($"saved {Path.GetFullPath(options.Output)}");
        ReturnChart.Save(options.Plot, trainer.Returns, config.SolveWindow, config.SolveAverage,
            $"DQN on CartPole-v1 (seed {config.Seed}): {(solved ? $"solved after {trainer.SolvedAtStep:N0} steps, {trainer.Episodes} episodes" : $"not solved in {trainer.Steps:N0} steps")}");
        Console.WriteLine($"plotted {Path.GetFullPath(options.Plot)}");
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine("error: " + e.Message);
        return 1;
    }

    if (options.Episodes > 0)
    {
        var returns = new float[options.Episodes];
        double mean = DqnTrainer.EvaluateGreedy(trainer.Online, options.EvaluationSeed, returns);
        Console.WriteLine($"greedy policy: mean return {mean:F1} over {options.Episodes} episodes (environment seed {options.EvaluationSeed})");
    }
    return 0;
}

static int Play(DqnCommandLine options)
{
    var net = new QNetwork(new NetworkOptions { Capacity = 1 });
    try
    {
        net.Load(options.Output);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointException)
    {
        Console.Error.WriteLine($"error: cannot load the Q-network from {options.Output}: {e.Message}");
        return 1;
    }
    Console.WriteLine($"playing the greedy policy of {Path.GetFullPath(options.Output)} for {options.Episodes} episodes (environment seed {options.EvaluationSeed})");
    var returns = new float[options.Episodes];
    double mean = DqnTrainer.EvaluateGreedy(net, options.EvaluationSeed, returns);
    for (int e = 0; e < returns.Length; e++)
        Console.WriteLine($"episode {e + 1,3}  return {returns[e]:F0}");
    Console.WriteLine($"mean return {mean:F1} over {returns.Length} episodes");
    return 0;
}

static string F(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);

sealed class DqnCommandLine
{
    public bool Help { get; private set; }
    public bool Play { get; private set; }
    public ulong Seed { get; private set; } = 1;
    public long Steps { get; private set; } = 50_000;
    public int Episodes { get; private set; } = 10;
    public int LogEvery { get; private set; } = 10;
    public string Output { get; private set; } = "dqn-cartpole.safetensors";
    public string Plot => _plot ?? Path.ChangeExtension(Output, ".png");
    private string? _plot;
    private float? _lr;
    private int? _batch, _sync, _warmup;
    private long? _decay;
    private TdLoss? _loss;

    /// <summary>Environment seed of the greedy evaluation and of --play: never the training seed.</summary>
    public ulong EvaluationSeed => unchecked(Seed + 1_000_003);

    public DqnConfig ToConfig()
    {
        var defaults = new DqnConfig();
        return defaults with
        {
            Seed = Seed,
            MaxSteps = Steps,
            LearningRate = _lr ?? defaults.LearningRate,
            BatchSize = _batch ?? defaults.BatchSize,
            TargetSyncSteps = _sync ?? defaults.TargetSyncSteps,
            WarmupSteps = _warmup ?? defaults.WarmupSteps,
            EpsilonDecaySteps = _decay ?? defaults.EpsilonDecaySteps,
            Loss = _loss ?? defaults.Loss,
        };
    }

    private const string Usage = """
        usage: dotnet run -c Release --project examples/Dqn -- [options]
          --seed N          seed of the environment, the weights, exploration and replay sampling (default 1)
          --steps N         environment-step budget; training stops earlier once solved (default 50000)
          --out F           Q-network checkpoint (safetensors) to write, or to read with --play (default dqn-cartpole.safetensors)
          --plot F          learning-curve PNG to write (default: --out with the extension .png)
          --episodes N      greedy episodes to run after training, or with --play (default 10; 0 = none after training)
          --play            load --out and run its greedy policy for --episodes episodes, printing each return
          --log-every N     print a progress line every N episodes (default 10)
          --lr X            Adam learning rate (default 0.001)
          --batch N         mini-batch size (default 64)
          --sync N          target-network sync period in environment steps (default 100)
          --warmup N        environment steps before the first update (default 1000)
          --decay N         steps over which epsilon falls from 1 to 0.05 (default 10000)
          --loss mse|huber  error on the taken action: squared or Huber with delta 1 (default mse)
        """;

    public static DqnCommandLine? Parse(string[] args)
    {
        var o = new DqnCommandLine();
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string name = args[i];
                string Value() => i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : throw new FormatException($"{name} needs a value");
                switch (name)
                {
                    case "--seed": o.Seed = ParseULong(Value(), name); break;
                    case "--steps": o.Steps = Positive(ParseLong(Value(), name), name); break;
                    case "--out": o.Output = NonEmpty(Value(), name); break;
                    case "--plot": o._plot = NonEmpty(Value(), name); break;
                    case "--episodes": o.Episodes = (int)Range(ParseLong(Value(), name), 0, 1_000_000, name); break;
                    case "--play": o.Play = true; break;
                    case "--log-every": o.LogEvery = (int)Range(ParseLong(Value(), name), 1, int.MaxValue, name); break;
                    case "--lr":
                        float lr = float.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw new FormatException($"{name} needs a number, got '{args[i]}'");
                        o._lr = lr > 0 && float.IsFinite(lr) ? lr : throw new FormatException($"{name} must be a positive number");
                        break;
                    case "--batch": o._batch = (int)Range(ParseLong(Value(), name), 1, 1 << 16, name); break;
                    case "--sync": o._sync = (int)Range(ParseLong(Value(), name), 1, int.MaxValue, name); break;
                    case "--warmup": o._warmup = (int)Range(ParseLong(Value(), name), 0, int.MaxValue, name); break;
                    case "--decay": o._decay = Range(ParseLong(Value(), name), 0, long.MaxValue, name); break;
                    case "--loss":
                        o._loss = Value() switch
                        {
                            "huber" => TdLoss.Huber,
                            "mse" => TdLoss.Squared,
                            var other => throw new FormatException($"--loss must be huber or mse, got '{other}'"),
                        };
                        break;
                    case "-h": case "--help": Console.WriteLine(Usage); o.Help = true; return o;
                    default: throw new FormatException($"unknown option '{name}'");
                }
            }
            if (o.Play && o.Episodes == 0) throw new FormatException("--play needs --episodes >= 1");
            if (o.Steps > 100_000_000) throw new FormatException("--steps must be at most 100000000");
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            Console.Error.WriteLine(Usage);
            return null;
        }
        return o;
    }

    private static long ParseLong(string text, string name) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : throw new FormatException($"{name} needs a whole number, got '{text}'");

    private static ulong ParseULong(string text, string name) =>
        ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong value) ? value : throw new FormatException($"{name} needs a non-negative whole number, got '{text}'");

    private static long Positive(long value, string name) => value > 0 ? value : throw new FormatException($"{name} must be positive, got {value}");

    private static long Range(long value, long min, long max, string name) =>
        value >= min && value <= max ? value : throw new FormatException($"{name} must be between {min} and {max}, got {value}");

    private static string NonEmpty(string value, string name) => value.Length > 0 ? value : throw new FormatException($"{name} needs a non-empty path");
}
