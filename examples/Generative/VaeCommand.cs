using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using NetGen;
using NetGen.Data;
using NetGen.Examples.Generative.Imaging;

namespace NetGen.Examples.Generative;

/// <summary>The <c>vae</c> command: trains, reports the test negative ELBO every epoch, draws grids and the loss curve.</summary>
public static class VaeCommand
{
    public static int Run(CommandLine o, Dataset train, Dataset test)
    {
        int epochs = o.Epochs ?? 20, batch = o.Batch ?? 128, latent = o.Latent;
        float lr = o.LearningRate ?? 1e-3f;
        string prefix = latent == 20 ? "vae" : "vae2d";
        var trainer = new VaeTrainer(train, test, latent, batch, lr, o.Seed, o.Backend);
        Console.WriteLine("backend: " + trainer.Network.ActiveBackend);
        Console.WriteLine($"VAE 784-400-{latent}-400-784 (ReLU, Bernoulli decoder on logits), {trainer.Network.Parameters.Length:N0} parameters; " +
            $"Adam lr {F(lr)}, batch {batch}, {epochs} epochs, seed {o.Seed}; {train.Count:N0} training and {test.Count:N0} test digits");
        Console.WriteLine("loss: negative ELBO per image in nats = BCE summed over the 784 pixels + KL(q(z|x) || N(0, I)); " +
            "test: inference mode with one fixed noise draw per test digit");

        var progress = new Progress();
        var start = trainer.Evaluate();
        progress.Line($"epoch {0,3}/{epochs}  test -ELBO {start.NegativeElbo,7:F2} nats/image (BCE {start.Reconstruction:F2} + KL {start.Kl:F2})  [untrained]");
        var trainLoss = new List<double>();
        var testLoss = new List<double> { start.NegativeElbo };
        double trainingSeconds = 0;
        VaeEvaluation last = start;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            double before = progress.Elapsed;
            double loss = trainer.TrainEpoch((step, running) =>
                progress.Live($"epoch {epoch}/{epochs}  step {step}/{trainer.BatchesPerEpoch}  train -ELBO {running:F2}  elapsed {progress.Elapsed:F1} s"));
            last = trainer.Evaluate();
            double seconds = progress.Elapsed - before;
            trainingSeconds += seconds;
            trainLoss.Add(loss);
            testLoss.Add(last.NegativeElbo);
            progress.Line($"epoch {epoch,3}/{epochs}  train -ELBO {loss,7:F2}  test -ELBO {last.NegativeElbo,7:F2} nats/image (BCE {last.Reconstruction:F2} + KL {last.Kl:F2})  " +
                $"{seconds:F2} s  elapsed {progress.Elapsed:F1} s");
        }
        Console.WriteLine($"trained {epochs} epochs in {trainingSeconds:F1} s (training and the per-epoch test evaluation); " +
            $"final test negative ELBO {last.NegativeElbo:F2} nats per image");

        string output = o.Output;
        trainer.Network.Save(Path.Combine(output, prefix + ".safetensors"));
        var written = new List<string>();

        // Input / reconstruction pairs (reconstructions decode the posterior mean: zero noise).
        const int pairRows = 8, pairs = 6;
        int shown = Math.Min(pairRows * pairs, test.Count);
        var reconstructions = trainer.Reconstruct(shown);
        var grid = new ImageGrid(pairRows, 2 * pairs) { GroupColumns = 2, Title = $"VAE (latent {latent}): test digit | reconstruction" };
        for (int i = 0; i < shown; i++)
        {
            grid.SetTile(i / pairs, 2 * (i % pairs), test.GetFeatures(i));
            grid.SetTile(i / pairs, 2 * (i % pairs) + 1, reconstructions.AsSpan(i * VaeTrainer.Pixels, VaeTrainer.Pixels));
        }
        written.Add(Save(grid, output, prefix + "-reconstructions.png"));

        // Samples: z ~ N(0, I) through the decoder (pixel probabilities).
        const int side = 8;
        var rng = new Rng(o.Seed + 11);
        var codes = new float[side * side * latent];
        Common.Gaussian(codes, ref rng);
        var samples = trainer.Decode(codes, side * side);
        var sampleGrid = new ImageGrid(side, side) { Title = $"VAE (latent {latent}): decoded samples z ~ N(0, I)" };
        for (int i = 0; i < side * side; i++) sampleGrid.SetTile(i / side, i % side, samples.AsSpan(i * VaeTrainer.Pixels, VaeTrainer.Pixels));
        written.Add(Save(sampleGrid, output, prefix + "-samples.png"));

        // Latent traversal: a 2-d grid of codes at normal quantiles. With 2 latent dimensions this is the whole
        // manifold; with 20 it is the slice through the origin along the two dimensions with the largest KL (the
        // ones the model uses most), every other dimension 0.
        int steps = latent == 2 ? 20 : 15;
        int dimA = 0, dimB = 1;
        string what;
        if (latent == 2)
        {
            what = "latent manifold";
        }
        else
        {
            var kl = trainer.KlPerDimension();
            var order = Enumerable.Range(0, latent).OrderByDescending(j => kl[j]).ToArray();
            dimA = order[0];
            dimB = order[1];
            what = $"z{dimA} (KL {kl[dimA]:F2}) down, z{dimB} (KL {kl[dimB]:F2}) across, other dims 0";
            Console.WriteLine($"latent traversal: dimensions {dimA} and {dimB} (largest test KL: {kl[dimA]:F2} and {kl[dimB]:F2} nats)");
        }
        var traversalCodes = new float[steps * steps * latent];
        for (int r = 0; r < steps; r++)
        {
            for (int c = 0; c < steps; c++)
            {
                var z = traversalCodes.AsSpan((r * steps + c) * latent, latent);
                z[dimA] = (float)Common.NormalQuantile(0.05 + 0.9 * r / (steps - 1));
                z[dimB] = (float)Common.NormalQuantile(0.05 + 0.9 * c / (steps - 1));
            }
        }
        var traversal = trainer.Decode(traversalCodes, steps * steps);
        var traversalGrid = new ImageGrid(steps, steps) { Scale = 2, Gap = 1, Title = $"VAE (latent {latent}): {what}, quantiles 5%..95%" };
        for (int i = 0; i < steps * steps; i++) traversalGrid.SetTile(i / steps, i % steps, traversal.AsSpan(i * VaeTrainer.Pixels, VaeTrainer.Pixels));
        written.Add(Save(traversalGrid, output, prefix + "-latent-traversal.png"));

        // Loss curves (epoch 0 is the untrained network's test value, left off the chart: it dwarfs the rest).
        var epochsAxis = Enumerable.Range(1, epochs).Select(e => (double)e).ToList();
        var chart = new LineChart($"VAE 784-400-{latent}-400-784 on {train.Count:N0} digits: negative ELBO", "epoch", "negative ELBO (nats per image)")
            .Add("train (mean over the epoch)", epochsAxis, trainLoss, dots: true)
            .Add("test (end of epoch)", epochsAxis, testLoss.Skip(1).ToList(), dots: true);
        string chartPath = Path.Combine(output, prefix + "-loss.png");
        chart.Save(chartPath);
        written.Add(chartPath);

        foreach (string path in written) Console.WriteLine("wrote " + Path.GetFullPath(path));
        return 0;
    }

    private static string Save(ImageGrid grid, string folder, string name)
    {
        string path = Path.Combine(folder, name);
        grid.Save(path);
        return path;
    }

    private static string F(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
