using System;
using NetGen;
using NetGen.Cpu;
using NetGen.Data;

namespace NetGen.Examples.Generative;

/// <summary>What the trainer needs of a VAE network (<see cref="Vae"/> and <see cref="Vae2"/> implement it with their generated members).</summary>
public interface IVaeNetwork : INetwork
{
    ReadOnlySpan<float> Forward(ReadOnlySpan<float> image, ReadOnlySpan<float> noise, int batch, bool training = false);
    ReadOnlySpan<float> MeanOutput { get; }
    ReadOnlySpan<float> LogVarOutput { get; }
    ReadOnlySpan<float> Backward(ReadOnlySpan<float> logitsGradient, ReadOnlySpan<float> meanGradient, ReadOnlySpan<float> logVarGradient, bool inputGradient = true);
}

public partial class Vae : IVaeNetwork { }
public partial class Vae2 : IVaeNetwork { }

/// <summary>Test-set negative ELBO per image: reconstruction (summed BCE over the 784 pixels) plus KL to N(0, I).</summary>
public readonly record struct VaeEvaluation(double Reconstruction, double Kl)
{
    public double NegativeElbo => Reconstruction + Kl;
}

/// <summary>
/// Trains a VAE on MNIST digits (pixels in [0, 1] as Bernoulli means) by maximising the ELBO: the loss per image is
/// the binary cross entropy of the decoder's logits summed over the 784 pixels plus KL(q(z|x) || N(0, I)), averaged
/// over the batch; Adam. The reparameterization noise is drawn from a seeded <see cref="Rng"/> and fed as the
/// network's second input.
/// </summary>
public sealed class VaeTrainer
{
    public const int Pixels = 784;

    private readonly Dataset _train, _test;
    private readonly BatchIterator _batches;
    private readonly Adam _optimizer;
    private readonly float[] _noise, _dLogits, _dMean, _dLogVar, _testNoise;
    private Rng _rng;

    /// <param name="latent">2 or 20 latent dimensions.</param>
    public VaeTrainer(Dataset train, Dataset test, int latent = 20, int batch = 128, float learningRate = 1e-3f, ulong seed = 1, Backend backend = Backend.Cpu)
    {
        if (latent != 2 && latent != 20) throw new ArgumentOutOfRangeException(nameof(latent), latent, "The VAE is declared with 2 or 20 latent dimensions.");
        if (train.SampleSize != Pixels || test.SampleSize != Pixels) throw new ArgumentException("The VAE needs 28x28 images.");
        _train = train;
        _test = test;
        Latent = latent;
        Batch = batch;
        var options = new NetworkOptions { Capacity = batch, Seed = seed, Backend = backend };
        Network = latent == 20 ? new Vae(options) : new Vae2(options);
        _optimizer = new Adam(learningRate);
        _batches = new BatchIterator(train, batch, seed + 1);
        _rng = new Rng(seed + 2);
        _noise = new float[batch * latent];
        _dLogits = new float[batch * Pixels];
        _dMean = new float[batch * latent];
        _dLogVar = new float[batch * latent];
        // One fixed noise draw per test image, so every epoch's test ELBO uses the same z samples.
        _testNoise = new float[test.Count * latent];
        var testRng = new Rng(seed + 3);
        Common.Gaussian(_testNoise, ref testRng);
    }

    public IVaeNetwork Network { get; }
    public int Latent { get; }
    public int Batch { get; }
    public int BatchesPerEpoch => _batches.BatchesPerEpoch;

    /// <summary>One pass over the training set; returns the mean training loss (negative ELBO, nats per image). <paramref name="progress"/> gets (step, loss so far).</summary>
    public double TrainEpoch(Action<int, double>? progress = null)
    {
        _batches.Shuffle();
        double sum = 0;
        int images = 0, step = 0;
        while (_batches.TryNext(out int n))
        {
            sum += Step(_batches.Features, n) * n;
            images += n;
            progress?.Invoke(++step, sum / images);
        }
        return sum / images;
    }

    /// <summary>One Adam step on <paramref name="n"/> images; returns the batch's mean negative ELBO.</summary>
    public double Step(ReadOnlySpan<float> images, int n)
    {
        var noise = _noise.AsSpan(0, n * Latent);
        Common.Gaussian(noise, ref _rng);
        var net = Network;
        net.ZeroGradients();
        var logits = net.Forward(images, noise, n, training: true);
        // BCE-with-logits returns the mean over n*784 elements and d(mean)/d(logits); the loss here is summed over
        // pixels and averaged over images, so both scale by 784.
        var dLogits = _dLogits.AsSpan(0, n * Pixels);
        double reconstruction = Pixels * (double)Losses.BinaryCrossEntropyWithLogits(logits, images, n, Pixels, dLogits);
        Elementwise.Scale(dLogits, Pixels);
        double kl = Losses.KlDivergenceToStandardNormal(net.MeanOutput, net.LogVarOutput, n, Latent,
            _dMean.AsSpan(0, n * Latent), _dLogVar.AsSpan(0, n * Latent));
        net.Backward(dLogits, _dMean.AsSpan(0, n * Latent), _dLogVar.AsSpan(0, n * Latent), inputGradient: false);
        _optimizer.Step(net.Parameters, net.Gradients);
        return reconstruction + kl;
    }

    /// <summary>Negative ELBO per image on the test set (inference mode, the fixed noise draw).</summary>
    public VaeEvaluation Evaluate() => Evaluate(_test, _testNoise);

    /// <summary>Negative ELBO per image of <paramref name="data"/> with the given noise ([count x latent]).</summary>
    public VaeEvaluation Evaluate(Dataset data, ReadOnlySpan<float> noise)
    {
        double reconstruction = 0, kl = 0;
        for (int start = 0; start < data.Count; start += Batch)
        {
            int n = Math.Min(Batch, data.Count - start);
            var images = data.Features.AsSpan(start * Pixels, n * Pixels);
            var logits = Network.Forward(images, noise.Slice(start * Latent, n * Latent), n);
            reconstruction += n * Pixels * (double)Losses.BinaryCrossEntropyWithLogits(logits, images, n, Pixels, default);
            kl += n * (double)Losses.KlDivergenceToStandardNormal(Network.MeanOutput, Network.LogVarOutput, n, Latent, default, default);
        }
        return new VaeEvaluation(reconstruction / data.Count, kl / data.Count);
    }

    /// <summary>Reconstructions (pixel probabilities) of the first <paramref name="count"/> test images, with the mean code (no noise).</summary>
    public float[] Reconstruct(int count)
    {
        var result = new float[count * Pixels];
        var zero = new float[Batch * Latent];
        for (int start = 0; start < count; start += Batch)
        {
            int n = Math.Min(Batch, count - start);
            Network.Forward(_test.Features.AsSpan(start * Pixels, n * Pixels), zero.AsSpan(0, n * Latent), n).CopyTo(result.AsSpan(start * Pixels));
        }
        Common.Sigmoid(result);
        return result;
    }

    /// <summary>Decodes latent codes ([count x latent]) to pixel probabilities ([count x 784]) with a decoder network sharing the trained weights.</summary>
    public float[] Decode(ReadOnlySpan<float> codes, int count)
    {
        ISingleInputNetwork decoder = Latent == 20 ? new VaeDecoder(new NetworkOptions { Capacity = Batch }) : new Vae2Decoder(new NetworkOptions { Capacity = Batch });
        Common.CopyByName(Network, decoder);
        var result = new float[count * Pixels];
        for (int start = 0; start < count; start += Batch)
        {
            int n = Math.Min(Batch, count - start);
            decoder.Forward(codes.Slice(start * Latent, n * Latent), n).CopyTo(result.AsSpan(start * Pixels));
        }
        Common.Sigmoid(result);
        return result;
    }

    /// <summary>Mean KL per latent dimension over the test set (which dimensions the model uses).</summary>
    public double[] KlPerDimension()
    {
        var perDim = new double[Latent];
        for (int start = 0; start < _test.Count; start += Batch)
        {
            int n = Math.Min(Batch, _test.Count - start);
            Network.Forward(_test.Features.AsSpan(start * Pixels, n * Pixels), _testNoise.AsSpan(start * Latent, n * Latent), n);
            var mean = Network.MeanOutput;
            var logVar = Network.LogVarOutput;
            for (int i = 0; i < n * Latent; i++)
                perDim[i % Latent] += -0.5 * (1 + logVar[i] - mean[i] * mean[i] - Math.Exp(logVar[i]));
        }
        for (int j = 0; j < Latent; j++) perDim[j] /= _test.Count;
        return perDim;
    }
}
