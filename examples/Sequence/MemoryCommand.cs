using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using NetGen.Examples.Sequence.Charts;
using SkiaSharp;

namespace NetGen.Examples.Sequence;

/// <summary>The <c>memory</c> command: an LSTM and a plain RNN on the temporal-order task, accuracies per epoch, learning curves.</summary>
public static class MemoryCommand
{
    public const double TargetAccuracy = 0.95;

    public static int Run(CommandLine options)
    {
        var config = new MemoryConfig
        {
            Seed = options.Seed,
            Epochs = options.Epochs ?? 15,
            TrainSequences = options.Train ?? 10_000,
            TestSequences = options.Test ?? 2_000,
            BatchSize = options.Batch ?? 32,
            LearningRate = options.LearningRate ?? 1e-3f,
        };
        int steps = options.Length;
        var netOptions = new NetworkOptions { Capacity = config.BatchSize, Seed = config.Seed, Backend = options.Backend };
        ISingleInputNetwork lstm = steps == 50 ? new MemoryLstm50(netOptions) : new MemoryLstm100(netOptions);
        ISingleInputNetwork rnn = steps == 50 ? new MemoryRnn50(netOptions) : new MemoryRnn100(netOptions);
        MemoryTrainer.SetLstmGateBiases(lstm, config.InputBias, config.ForgetBias);

        var progress = new Progress();
        progress.Line($"memory: {steps} one-hot symbols of {MemoryTask.Symbols}; label 1 iff A (symbol {MemoryTask.A}) and B (symbol {MemoryTask.B}) both occur and A comes first; " +
            $"A and B only in the first {MemoryTask.Window} steps, so the answer must be carried {steps - MemoryTask.Window}+ steps; chance 50 %");
        progress.Line($"LSTM hidden 32 ({lstm.Schema.Count} tensors, {lstm.Parameters.Length:N0} parameters, input-gate bias {F(config.InputBias)}, forget-gate bias {F(config.ForgetBias)}) vs " +
            $"RNN (tanh) hidden 32 ({rnn.Parameters.Length:N0} parameters); many-to-one (last state) -> Dense 1 -> BCE with logits");
        progress.Line($"training: {config.TrainSequences:N0} sequences, {config.Epochs} epochs, batch {config.BatchSize}, Adam lr {F(config.LearningRate)}, seed {config.Seed}; " +
            $"test {config.TestSequences:N0} held-out sequences (test seed {config.TestSeed}); backend {lstm.ActiveBackend}");

        double start = progress.Elapsed;
        var (trainInputs, trainLabels) = MemoryTask.MakeSet(TrainSeed(config.Seed), config.TrainSequences, steps);
        var (testInputs, testLabels) = MemoryTask.MakeSet(config.TestSeed, config.TestSequences, steps);
        var lstmTrainer = new MemoryTrainer(config, lstm, trainInputs, trainLabels);
        var rnnTrainer = new MemoryTrainer(config, rnn, trainInputs, trainLabels);
        var lstmCurve = new List<double>();
        var rnnCurve = new List<double>();
        double lstmSeconds = 0, rnnSeconds = 0;
        int lstmReached = 0, rnnReached = 0;
        for (int epoch = 1; epoch <= config.Epochs; epoch++)
        {
            double t0 = progress.Elapsed;
            progress.Live($"epoch {epoch,3}/{config.Epochs}  training the LSTM ...");
            double lstmLoss = lstmTrainer.TrainEpoch();
            double t1 = progress.Elapsed;
            progress.Live($"epoch {epoch,3}/{config.Epochs}  training the RNN ...");
            double rnnLoss = rnnTrainer.TrainEpoch();
            double t2 = progress.Elapsed;
            lstmSeconds += t1 - t0;
            rnnSeconds += t2 - t1;
            double lstmAccuracy = MemoryTrainer.Accuracy(lstm, testInputs, testLabels);
            double rnnAccuracy = MemoryTrainer.Accuracy(rnn, testInputs, testLabels);
            lstmCurve.Add(100 * lstmAccuracy);
            rnnCurve.Add(100 * rnnAccuracy);
            if (lstmReached == 0 && lstmAccuracy >= TargetAccuracy) lstmReached = epoch;
            if (rnnReached == 0 && rnnAccuracy >= TargetAccuracy) rnnReached = epoch;
            progress.Line($"epoch {epoch,3}/{config.Epochs}  LSTM loss {lstmLoss:F4} test accuracy {100 * lstmAccuracy,5:F1} %  |  " +
                $"RNN loss {rnnLoss:F4} test accuracy {100 * rnnAccuracy,5:F1} %  elapsed {progress.Elapsed - start:F1} s");
        }

        double lstmFinal = lstmCurve[^1], rnnFinal = rnnCurve[^1];
        progress.Line($"final test accuracy on {config.TestSequences:N0} sequences: LSTM {lstmFinal:F1} % ({Reached(lstmReached)}), RNN {rnnFinal:F1} % ({Reached(rnnReached)}); " +
            $"training time LSTM {lstmSeconds:F1} s, RNN {rnnSeconds:F1} s");
        bool shown = lstmFinal >= 100 * TargetAccuracy && rnnFinal < 100 * TargetAccuracy;
        progress.Line(shown
            ? $"the LSTM solves the task (>= {100 * TargetAccuracy:F0} %) and the RNN does not ({rnnFinal - 50:+0.0;-0.0} points from chance)"
            : $"NOT shown this run: LSTM {lstmFinal:F1} %, RNN {rnnFinal:F1} % (want LSTM >= {100 * TargetAccuracy:F0} % and RNN below)");

        string folder = options.OutputFolder;
        try
        {
            Directory.CreateDirectory(folder);
            lstm.Save(Path.Combine(folder, $"memory-lstm{steps}.safetensors"));
            rnn.Save(Path.Combine(folder, $"memory-rnn{steps}.safetensors"));
            string png = Path.Combine(folder, "memory-accuracy.png");
            LineChart.Save(png, $"Temporal order over {steps} steps (seed {config.Seed}): LSTM {lstmFinal:F1} %, RNN {rnnFinal:F1} % test accuracy",
                "test accuracy (%)",
                new[]
                {
                    new Series("LSTM, hidden 32", new SKColor(0x1F, 0x77, 0xB4), lstmCurve),
                    new Series("RNN (tanh), hidden 32", new SKColor(0xE0, 0x6C, 0x00), rnnCurve),
                },
                new[]
                {
                    new Reference($"target {100 * TargetAccuracy:F0} %", new SKColor(0x2E, 0x9D, 0x4A), 100 * TargetAccuracy),
                    new Reference("chance 50 %", new SKColor(0x99, 0x99, 0x99), 50),
                }, yMin: 0, yMax: 100);
            progress.Line($"plotted {Path.GetFullPath(png)}; saved memory-lstm{steps}.safetensors and memory-rnn{steps}.safetensors in {Path.GetFullPath(folder)}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: cannot write to {folder}: {e.Message}");
            return 1;
        }
        return 0;
    }

    public static ulong TrainSeed(ulong seed) => unchecked(seed * 0x9E3779B97F4A7C15UL + 33);

    private static string Reached(int epoch) => epoch > 0 ? $">= 95 % from epoch {epoch}" : "never >= 95 %";

    private static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
}
