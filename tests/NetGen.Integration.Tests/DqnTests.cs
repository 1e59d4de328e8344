using NetGen.Tests.Shared;
using System;
using System.Diagnostics;
using System.IO;
using NetGen.Examples.Dqn;
using NetGen.Rl;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Integration.Tests;

/// <summary>Deep Q-learning on CartPole with generated networks (examples/Dqn).</summary>
public class DqnTests
{
    private readonly ITestOutputHelper _output;

    public DqnTests(ITestOutputHelper output) => _output = output;

    private const ulong EvaluationSeed = 20_251_125;

    /// <summary>A shortened run of the example's defaults; the full run's budget is 50,000 steps.</summary>
    private static DqnConfig Short(ulong seed, long steps) => new() { Seed = seed, MaxSteps = steps };

    [Fact]
    [Trait("Category", "Training")]
    public void Short_seeded_training_beats_a_random_policy_at_least_five_times()
    {
        var clock = Stopwatch.StartNew();
        var trainer = new DqnTrainer(Short(seed: 1, steps: 20_000));
        trainer.Train();
        Assert.True(trainer.Steps == 20_000 || trainer.Solved, $"stopped after {trainer.Steps} steps");
        Assert.Equal(trainer.Steps - 1_000, trainer.Updates); // one update per step after the 1,000-step warm-up

        // Both policies play the same 20 episodes: the same environment seed, so the same initial states.
        var greedyReturns = new float[20];
        var randomReturns = new float[20];
        double greedy = DqnTrainer.EvaluateGreedy(trainer.Online, EvaluationSeed, greedyReturns);
        double random = DqnTrainer.EvaluateRandom(EvaluationSeed, policySeed: 7, randomReturns);
        _output.WriteLine($"greedy {greedy:F1} vs random {random:F1} over 20 episodes; {trainer.Episodes} training episodes, last-100 average {trainer.MovingAverage:F1}, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.InRange(random, 10, 40); // a random policy lasts about 22 steps
        Assert.True(greedy >= 5 * random,
            $"greedy {greedy:F1} vs random {random:F1} after {trainer.Episodes} episodes (last-100 average {trainer.MovingAverage:F1}, {clock.Elapsed.TotalSeconds:F1} s)");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void Steps_and_updates_allocate_nothing_after_warm_up()
    {
        var trainer = new DqnTrainer(new DqnConfig { Seed = 4, BatchSize = 32, WarmupSteps = 100, TargetSyncSteps = 50, ReplayCapacity = 1_000 });
        for (int i = 0; i < 1_500; i++) trainer.Step(); // JIT, the replay ring wraps, Adam's moments exist
        Assert.True(trainer.Updates > 1_000);
        int episodesBefore = trainer.Episodes;

        // act, store, sample, targets, gather/scatter, backward, Adam, syncs, resets
        Assert.Equal(0, Allocations.SteadyState(() => trainer.Step(), callsPerWindow: 500, windows: 4, warmup: 0));
        Assert.Equal(0, Allocations.SteadyState(() => trainer.TrainBatch(), callsPerWindow: 50, windows: 4, warmup: 0));
        Assert.True(trainer.Episodes > episodesBefore, "no episode ended during the measurement");
    }

    [Fact]
    public void Update_changes_only_the_online_network_until_the_target_sync()
    {
        var trainer = new DqnTrainer(new DqnConfig { Seed = 2, BatchSize = 16, WarmupSteps = 20, TargetSyncSteps = 1_000 });
        Assert.True(trainer.Online.Parameters.SequenceEqual(trainer.Target.Parameters));
        for (int i = 0; i < 100; i++) trainer.Step();
        Assert.Equal(80, trainer.Updates);
        Assert.False(trainer.Online.Parameters.SequenceEqual(trainer.Target.Parameters));
        trainer.SyncTarget();
        Assert.True(trainer.Online.Parameters.SequenceEqual(trainer.Target.Parameters));
        Assert.Equal(100, trainer.Memory.Count);
    }

    [Fact]
    public void Replay_memory_marks_terminations_as_terminal()
    {
        var trainer = new DqnTrainer(new DqnConfig { Seed = 3, WarmupSteps = 10_000 });
        while (!trainer.Step()) { }
        // The episode ended by the pole falling or the cart leaving the track: a real terminal state.
        int last = trainer.Memory.Count - 1;
        Assert.True(trainer.Memory.IsTerminal(last));
        for (int i = 0; i < last; i++) Assert.False(trainer.Memory.IsTerminal(i));
        Assert.Equal(trainer.Memory.Count, (int)trainer.Returns[0]);
    }

    [Fact]
    public void QNetwork_has_the_declared_shape()
    {
        Assert.Equal(4, QNetwork.InputSize);
        Assert.Equal(2, QNetwork.OutputSize);
        Assert.Equal(4 * 128 + 128 + 128 * 128 + 128 + 128 * 2 + 2, QNetwork.ParameterCount);
    }

    [Fact]
    public void Atari_dqn_network_shapes_and_parameter_count()
    {
        Assert.Equal(1_687_206, AtariDqn.ParameterCount);
        Assert.Equal(4 * 84 * 84, AtariDqn.InputSize);
        Assert.Equal(6, AtariDqn.OutputSize);
        string summary = AtariDqn.Summary;
        Assert.Contains("32x20x20", summary);  // (84 - 8)/4 + 1 = 20
        Assert.Contains("64x9x9", summary);    // (20 - 4)/2 + 1 = 9
        Assert.Contains("64x7x7", summary);    // 9 - 3 + 1 = 7
        Assert.Contains("3136", summary);      // 64 * 7 * 7
        Assert.Contains("Total parameters: 1,687,206", summary);
        Assert.Equal(new[] { "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias", "dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias" },
            Array.ConvertAll(System.Linq.Enumerable.ToArray(AtariDqn.ParameterSchema), p => p.Name));

        var net = new AtariDqn(new NetworkOptions { Capacity = 2, Seed = 5 });
        var frames = new float[2 * AtariDqn.InputSize];
        var rng = new Rng(6);
        for (int i = 0; i < frames.Length; i++) frames[i] = rng.NextFloat();
        var q = net.Forward(frames, 2);
        Assert.Equal(12, q.Length);
        foreach (float v in q) Assert.True(float.IsFinite(v));
    }

    // The example as a process.

    private static (int ExitCode, string Output) RunExample(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Dqn.dll");
        Assert.True(File.Exists(dll), "missing " + dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "the example did not finish in 120 s");
        return (process.ExitCode, stdout + stderr.Result);
    }

    [Fact]
    public void Dqn_example_trains_plots_saves_and_plays()
    {
        string dir = Path.Combine(Path.GetTempPath(), "netgen-dqn-" + Guid.NewGuid().ToString("N"));
        string checkpoint = Path.Combine(dir, "q.safetensors");
        try
        {
            var (code, output) = RunExample("--steps", "3000", "--seed", "2", "--episodes", "2", "--log-every", "5", "--out", checkpoint);
            Assert.True(code == 0, output);
            Assert.Matches(@"episode +5  return +\d+  avg100 +\d+\.\d  epsilon \d\.\d{3}  loss +(-|\d+\.\d{4})  steps +[\d,]+  elapsed +\d+\.\d s", output);
            Assert.Contains("not solved within 3,000 environment steps", output);
            Assert.Matches(@"greedy policy: mean return \d+\.\d over 2 episodes", output);

            Assert.True(File.Exists(checkpoint), output);
            var net = new QNetwork();
            net.Load(checkpoint);
            string png = Path.ChangeExtension(checkpoint, ".png");
            byte[] bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 10_000, $"{png}: {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);

            var (playCode, played) = RunExample("--play", "--out", checkpoint, "--episodes", "3");
            Assert.True(playCode == 0, played);
            Assert.Matches(@"episode +3  return +\d+", played);
            Assert.Matches(@"mean return \d+\.\d over 3 episodes", played);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Dqn_example_rejects_bad_options_with_exit_code_2()
    {
        foreach (var args in new[]
        {
            new[] { "--steps", "zero" },
            new[] { "--steps", "0" },
            new[] { "--seed", "-1" },
            new[] { "--episodes" },
            new[] { "--lr", "-0.1" },
            new[] { "--loss", "l1" },
            new[] { "--frobnicate" },
        })
        {
            var (code, output) = RunExample(args);
            Assert.True(code == 2, string.Join(' ', args) + ": " + output);
            Assert.Contains("error: ", output);
            Assert.Contains("usage:", output);
        }
        var (missing, message) = RunExample("--play", "--out", "/definitely/missing-q.safetensors");
        Assert.Equal(1, missing);
        Assert.Contains("/definitely/missing-q.safetensors", message);
    }
}
