using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using NetGen.Data;
using NetGen.Examples.Generative.Imaging;
using SkiaSharp;

namespace NetGen.Examples.Generative;

/// <summary>The <c>pix2pix</c> command: inpainting with a U-Net and a PatchGAN; held-out L1 against the identity baseline every epoch.</summary>
public static class Pix2PixCommand
{
    public static int Run(CommandLine o, Dataset train, Dataset test)
    {
        int epochs = o.Epochs ?? 5, batch = o.Batch ?? 32;
        float lr = o.LearningRate ?? 1e-3f;
        var trainer = new Pix2PixTrainer(train, test, batch, o.Seed, o.Lambda, lr, o.Backend);
        Console.WriteLine("backend: " + trainer.G.ActiveBackend);
        Console.WriteLine($"pix2pix inpainting: U-Net generator {trainer.G.Parameters.Length:N0} parameters (2x28x28 -> 28, 14, 7, 4 -> 1x28x28, skip connections), " +
            $"PatchGAN discriminator {trainer.D.Parameters.Length:N0} parameters (7x7 logits); loss BCE + {F(o.Lambda)} * L1, Adam lr {F(lr)} betas (0.5, 0.999), " +
            $"batch {batch}, {epochs} epochs, seed {o.Seed}; {train.Count:N0} training digits (fresh random 10x10 blocks every epoch), {test.Count:N0} held-out digits (one fixed block each)");
        Console.WriteLine("held-out L1: mean |output - digit| per pixel in [0, 1] units, over all pixels (and inside the erased block); " +
            "identity baseline: output = the erased input; mean-fill baseline: the block filled with the mean training pixel");

        var progress = new Progress();
        var start = trainer.Evaluate();
        progress.Line($"epoch {0,3}/{epochs}  held-out L1 {start.L1:F4} (block {start.BlockL1:F4})  identity {start.IdentityL1:F4} (block {start.IdentityBlockL1:F4})  [untrained]");
        var steps = new List<double>();
        var l1 = new List<double>();
        var dLoss = new List<double>();
        var adversarial = new List<double>();
        var heldOut = new List<double> { start.L1 };
        int perEpoch = trainer.BatchesPerEpoch;
        InpaintingEvaluation last = start;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            double before = progress.Elapsed, l1Sum = 0, dSum = 0, advSum = 0;
            int count = 0;
            trainer.TrainEpoch((step, r) =>
            {
                steps.Add(epoch - 1 + (double)step / perEpoch);
                l1.Add(r.L1 / 2);   // [0, 1] pixel units, like the held-out numbers
                dLoss.Add(r.DiscriminatorLoss);
                adversarial.Add(r.AdversarialLoss);
                l1Sum += r.L1 / 2; dSum += r.DiscriminatorLoss; advSum += r.AdversarialLoss;
                count++;
                progress.Live($"epoch {epoch}/{epochs}  step {step}/{perEpoch}  L1 {l1Sum / count:F4}  D {dSum / count:F3}  G adv {advSum / count:F3}  elapsed {progress.Elapsed:F1} s");
            });
            last = trainer.Evaluate();
            heldOut.Add(last.L1);
            progress.Line($"epoch {epoch,3}/{epochs}  train L1 {l1Sum / count:F4}  D loss {dSum / count:F3}  G adversarial {advSum / count:F3}  " +
                $"held-out L1 {last.L1:F4} (block {last.BlockL1:F4})  identity {last.IdentityL1:F4} (block {last.IdentityBlockL1:F4})  " +
                $"{progress.Elapsed - before:F1} s  elapsed {progress.Elapsed:F1} s");
        }
        Console.WriteLine($"trained {epochs} epochs ({epochs * perEpoch:N0} iterations) in {progress.Elapsed:F1} s; held-out L1 {last.L1:F4} vs identity {last.IdentityL1:F4} " +
            $"({(last.L1 < last.IdentityL1 ? "below" : "NOT below")} the baseline); inside the block {last.BlockL1:F4} vs identity {last.IdentityBlockL1:F4} " +
            $"and mean fill {last.MeanFillBlockL1:F4} ({last.BlockGainOverMeanFill:P1} lower than mean fill, {trainer.TestCount:N0} held-out pairs)");

        var written = new List<string>();
        trainer.G.Save(Path.Combine(o.Output, "pix2pix-generator.safetensors"));

        // Input (erased block tinted red) | target | output triples for the first held-out digits.
        const int rows = 8, triples = 4;
        int shown = Math.Min(rows * triples, trainer.TestCount);
        var outputs = trainer.Complete(shown);
        var grid = new ImageGrid(rows, 3 * triples) { GroupColumns = 3, Title = "pix2pix inpainting: input (erased block in red) | target | output" };
        for (int i = 0; i < shown; i++)
        {
            int r = i / triples, c = 3 * (i % triples);
            var (top, left) = trainer.TestBlocks[i];
            grid.SetTile(r, c, trainer.TestCondition.Slice(i * Pix2PixTrainer.ConditionSize, Pix2PixTrainer.Pixels), -1f, 1f);
            grid.Tint(r, c, top, left, Pix2PixTrainer.Block, Pix2PixTrainer.Block, new SKColor(0xE0, 0x20, 0x20));
            grid.SetTile(r, c + 1, trainer.TestTarget.Slice(i * Pix2PixTrainer.Pixels, Pix2PixTrainer.Pixels), -1f, 1f);
            grid.SetTile(r, c + 2, outputs.AsSpan(i * Pix2PixTrainer.Pixels, Pix2PixTrainer.Pixels), -1f, 1f);
        }
        string triplesPath = Path.Combine(o.Output, "pix2pix-triples.png");
        grid.Save(triplesPath);
        written.Add(triplesPath);

        int smooth = Math.Max(1, Math.Min(25, steps.Count / 10));
        var losses = new LineChart($"pix2pix inpainting on {train.Count:N0} digits: losses per iteration", "epoch", "loss")
            .Add("discriminator BCE", steps, dLoss, width: 3f, color: 0, smooth: smooth)
            .Add("generator adversarial BCE", steps, adversarial, width: 3f, color: 1, smooth: smooth)
            .Add("generator L1 ([0, 1] units, x10)", steps, l1.Select(v => 10 * v).ToList(), width: 3f, color: 2, smooth: smooth);
        string lossPath = Path.Combine(o.Output, "pix2pix-loss.png");
        losses.Save(lossPath);
        written.Add(lossPath);

        var epochsAxis = Enumerable.Range(0, epochs + 1).Select(e => (double)e).ToList();
        var l1Chart = new LineChart($"pix2pix: held-out L1 on {test.Count:N0} digits (epoch 0: untrained)", "epoch", "mean |output - digit| per pixel ([0, 1] units)")
            { YMin = 0 };
        l1Chart.Add("U-Net output", epochsAxis, heldOut, dots: true, color: 2);
        l1Chart.References.Add(("identity baseline", last.IdentityL1));
        string l1Path = Path.Combine(o.Output, "pix2pix-heldout-l1.png");
        l1Chart.Save(l1Path);
        written.Add(l1Path);

        foreach (string path in written) Console.WriteLine("wrote " + Path.GetFullPath(path));
        return 0;
    }

    private static string F(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
