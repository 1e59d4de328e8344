using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using NetGen;
using NetGen.Data;
using NetGen.Examples.Generative.Imaging;

namespace NetGen.Examples.Generative;

/// <summary>The <c>gan</c> command: trains a (conditional) DCGAN, draws a sample grid after every epoch and the loss curves.</summary>
public static class GanCommand
{
    public static int Run(CommandLine o, Dataset train)
    {
        int epochs = o.Epochs ?? 10, batch = o.Batch ?? 32;
        float lr = o.LearningRate ?? 2e-4f;
        bool conditional = o.Conditional;
        string prefix = conditional ? "cgan" : "gan";
        var trainer = new GanTrainer(train, conditional, batch, o.Seed, lr, o.Backend);
        Console.WriteLine("backend: " + trainer.Generator.ActiveBackend);
        Console.WriteLine($"{(conditional ? "conditional DCGAN" : "DCGAN")}: generator {trainer.Generator.Parameters.Length:N0} parameters " +
            $"(100{(conditional ? " + 10 label" : "")} -> 128x7x7 -> 64x14x14 -> 1x28x28), discriminator {trainer.Discriminator.Parameters.Length:N0} parameters; " +
            $"BCE with logits, Adam lr {F(lr)} betas (0.5, 0.999), batch {batch}, {epochs} epochs, seed {o.Seed}, {train.Count:N0} training digits in [-1, 1]");

        // Fixed noise for the grids: 10x10; conditional rows are classes 0..9 with the same noise in every row.
        const int side = 10;
        var rng = new Rng(o.Seed + 13);
        var noise = new float[side * side * GanTrainer.NoiseSize];
        var classes = new int[side * side];
        if (conditional)
        {
            var column = new float[side * GanTrainer.NoiseSize];
            Common.Gaussian(column, ref rng);
            for (int r = 0; r < side; r++)
            {
                column.CopyTo(noise.AsSpan(r * side * GanTrainer.NoiseSize));
                for (int c = 0; c < side; c++) classes[r * side + c] = r;
            }
        }
        else
        {
            Common.Gaussian(noise, ref rng);
        }

        var progress = new Progress();
        var steps = new List<double>();
        var dLoss = new List<double>();
        var gLoss = new List<double>();
        var written = new List<string>();
        int perEpoch = trainer.BatchesPerEpoch;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            double before = progress.Elapsed, dSum = 0, gSum = 0, real = 0, fake = 0;
            int count = 0;
            trainer.TrainEpoch((step, r) =>
            {
                steps.Add(epoch - 1 + (double)step / perEpoch);
                dLoss.Add(r.DiscriminatorLoss);
                gLoss.Add(r.GeneratorLoss);
                dSum += r.DiscriminatorLoss; gSum += r.GeneratorLoss; real += r.RealScore; fake += r.FakeScore;
                count++;
                progress.Live($"epoch {epoch}/{epochs}  step {step}/{perEpoch}  D loss {dSum / count:F3}  G loss {gSum / count:F3}  elapsed {progress.Elapsed:F1} s");
            });
            double seconds = progress.Elapsed - before;
            string snapshot = Path.Combine(o.Output, $"{prefix}-epoch-{epoch:D2}.png");
            Draw(trainer, noise, classes, side, $"{(conditional ? "conditional DCGAN, one class per row" : "DCGAN")}: epoch {epoch}", snapshot);
            if (epoch == epochs) written.Add(snapshot);
            progress.Line($"epoch {epoch,3}/{epochs}  D loss {dSum / count:F3}  G loss {gSum / count:F3}  D(x) {real / count:F3}  D(G(z)) {fake / count:F3}  " +
                $"{seconds:F1} s  elapsed {progress.Elapsed:F1} s  -> {snapshot}");
        }
        Console.WriteLine($"trained {epochs} epochs ({epochs * perEpoch:N0} iterations) in {progress.Elapsed:F1} s");

        string samples = Path.Combine(o.Output, prefix + "-samples.png");
        Draw(trainer, noise, classes, side, conditional ? "conditional DCGAN: digits 0-9, one class per row, same noise per column" : $"DCGAN samples after {epochs} epochs", samples);
        written.Add(samples);
        trainer.Generator.Save(Path.Combine(o.Output, prefix + "-generator.safetensors"));
        trainer.Discriminator.Save(Path.Combine(o.Output, prefix + "-discriminator.safetensors"));

        int smooth = Math.Max(1, Math.Min(50, steps.Count / 10));
        var chart = new LineChart($"{(conditional ? "Conditional DCGAN" : "DCGAN")} on {train.Count:N0} digits: losses per iteration", "epoch", "BCE loss")
            .Add("discriminator (real + fake)", steps, dLoss, width: 1f, color: 0, alpha: 70)
            .Add("generator", steps, gLoss, width: 1f, color: 1, alpha: 70)
            .Add("discriminator", steps, dLoss, width: 3f, color: 0, smooth: smooth)
            .Add("generator", steps, gLoss, width: 3f, color: 1, smooth: smooth);
        string chartPath = Path.Combine(o.Output, prefix + "-loss.png");
        chart.Save(chartPath);
        written.Add(chartPath);
        foreach (string path in written) Console.WriteLine("wrote " + Path.GetFullPath(path));

        if (conditional)
        {
            string? classifier = o.Classifier ?? (File.Exists("lenet5.safetensors") ? "lenet5.safetensors" : null);
            if (classifier is null)
                Console.WriteLine("class check skipped: no LeNet-5 checkpoint (run `dotnet run -c Release --project examples/LeNet5` first, or pass --classifier F)");
            else
                ClassCheck(trainer, classifier, o.Seed);
        }
        return 0;
    }

    /// <summary>Generated digits per class for the class check (1,000 in all).</summary>
    public const int CheckPerClass = 100;

    /// <summary>
    /// The conditional GAN's class check: 100 fresh digits per class, each labelled by a LeNet-5 trained on real digits
    /// (examples/LeNet5's checkpoint); prints the share labelled as the class they were generated for, overall and per class.
    /// </summary>
    public static double ClassCheck(GanTrainer trainer, string classifierPath, ulong seed)
    {
        var lenet = new NetGen.Examples.LeNet5.LeNet5(new NetworkOptions { Capacity = CheckPerClass });
        lenet.Load(classifierPath);
        var rng = new Rng(seed + 101);
        var noise = new float[CheckPerClass * GanTrainer.NoiseSize];
        var classes = new int[CheckPerClass];
        var hits = new int[GanTrainer.Classes];
        for (int digit = 0; digit < GanTrainer.Classes; digit++)
        {
            Common.Gaussian(noise, ref rng);
            Array.Fill(classes, digit);
            float[] images = trainer.Generate(noise, classes, CheckPerClass);
            // generator pixels are in [-1, 1]; LeNet-5 reads [0, 1] pixels standardised like its training digits
            for (int i = 0; i < images.Length; i++) images[i] = (images[i] + 1f) / 2f;
            Mnist.Normalize(images);
            ReadOnlySpan<float> logits = lenet.Forward(images, CheckPerClass);
            for (int i = 0; i < CheckPerClass; i++)
                if (ArgMax(logits.Slice(i * GanTrainer.Classes, GanTrainer.Classes)) == digit) hits[digit]++;
        }
        int total = 0;
        foreach (int h in hits) total += h;
        double share = (double)total / (GanTrainer.Classes * CheckPerClass);
        Console.WriteLine($"class check: LeNet-5 ({classifierPath}) labels {total:N0} of {GanTrainer.Classes * CheckPerClass:N0} generated digits " +
            $"({share:P1}) as the class they were generated for; per class 0-9: {string.Join(" ", hits)} of {CheckPerClass}");
        return share;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static void Draw(GanTrainer trainer, float[] noise, int[] classes, int side, string title, string path)
    {
        var images = trainer.Generate(noise, classes, side * side);
        var grid = new ImageGrid(side, side) { Title = title };
        for (int i = 0; i < side * side; i++) grid.SetTile(i / side, i % side, images.AsSpan(i * GanTrainer.Pixels, GanTrainer.Pixels), -1f, 1f);
        if (trainer.Conditional)
            for (int r = 0; r < side; r++) grid.SetRowLabel(r, r.ToString(CultureInfo.InvariantCulture));
        grid.Save(path);
    }

    private static string F(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
