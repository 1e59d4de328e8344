using System;
using NetGen;
using NetGen.Cpu;
using NetGen.Data;

namespace NetGen.Examples.Generative;

/// <summary>Losses of one GAN iteration.</summary>
/// <param name="DiscriminatorLoss">BCE on the real batch (target 1) plus BCE on the fake batch (target 0), as in PyTorch's DCGAN example.</param>
/// <param name="GeneratorLoss">Non-saturating generator loss: BCE of D(G(z)) against target 1, after the discriminator's step.</param>
/// <param name="RealScore">Mean D(x) = sigmoid(logit) on the real batch.</param>
/// <param name="FakeScore">Mean D(G(z)) on the fake batch before the discriminator's step.</param>
public readonly record struct GanStep(double DiscriminatorLoss, double GeneratorLoss, double RealScore, double FakeScore);

/// <summary>
/// DCGAN training on MNIST digits scaled to [-1, 1]: per iteration one discriminator step (real batch and a
/// detached fake batch, BCE with logits) and one generator step through the frozen discriminator
/// (<c>Frozen = true</c>, <c>Backward(..., inputGradient: true)</c>, whose input gradient feeds the generator's
/// <c>Backward</c>). Adam 2e-4, betas (0.5, 0.999) for both. With <paramref name="conditional"/> the label's one-hot
/// vector is a second input of both networks; fake batches get uniformly random labels.
/// </summary>
public sealed class GanTrainer
{
    public const int Pixels = 784, NoiseSize = 100, Classes = 10, LabelPlaneSize = 10 * 14 * 14;

    private readonly BatchIterator _batches;
    private readonly Adam _generatorOptimizer, _discriminatorOptimizer;
    private readonly float[] _noise, _fake, _fakeLabels, _realLabels, _fakePlanes, _realPlanes, _ones, _zeros, _dLogits;
    private readonly int[] _fakeClasses;
    private Rng _rng;

    public GanTrainer(Dataset train, bool conditional = false, int batch = 32, ulong seed = 1, float learningRate = 2e-4f, Backend backend = Backend.Cpu)
    {
        if (train.SampleSize != Pixels) throw new ArgumentException("The GAN needs 28x28 images.");
        Conditional = conditional;
        Batch = batch;
        var signed = new Dataset(Common.ToSigned(train.Features), train.Labels, 28, 28);
        _batches = new BatchIterator(signed, batch, seed + 1);
        _rng = new Rng(seed + 2);
        // Capacity covers the 100-image sample grids too.
        int capacity = Math.Max(batch, 100);
        var gOptions = new NetworkOptions { Capacity = capacity, Seed = seed, Backend = backend };
        var dOptions = new NetworkOptions { Capacity = batch, Seed = seed + 7, Backend = backend };
        if (conditional)
        {
            ConditionalG = new ConditionalGenerator(gOptions);
            ConditionalD = new ConditionalDiscriminator(dOptions);
        }
        else
        {
            G = new DcganGenerator(gOptions);
            D = new DcganDiscriminator(dOptions);
        }
        Common.DcganInit(Generator, seed + 100);
        Common.DcganInit(Discriminator, seed + 101);
        _generatorOptimizer = new Adam(learningRate, beta1: 0.5f, beta2: 0.999f);
        _discriminatorOptimizer = new Adam(learningRate, beta1: 0.5f, beta2: 0.999f);
        _noise = new float[capacity * NoiseSize];
        _fake = new float[batch * Pixels];
        _fakeLabels = new float[capacity * Classes];
        _realLabels = new float[batch * Classes];
        _fakePlanes = new float[batch * LabelPlaneSize];
        _realPlanes = new float[batch * LabelPlaneSize];
        _fakeClasses = new int[batch];
        _ones = new float[batch];
        _zeros = new float[batch];
        Array.Fill(_ones, 1f);
        _dLogits = new float[batch];
    }

    public bool Conditional { get; }
    public int Batch { get; }
    public int BatchesPerEpoch => _batches.BatchesPerEpoch;

    /// <summary>The unconditional networks (null when conditional).</summary>
    public DcganGenerator? G { get; }
    public DcganDiscriminator? D { get; }

    /// <summary>The conditional networks (null when unconditional).</summary>
    public ConditionalGenerator? ConditionalG { get; }
    public ConditionalDiscriminator? ConditionalD { get; }

    public INetwork Generator => (INetwork?)G ?? ConditionalG!;
    public INetwork Discriminator => (INetwork?)D ?? ConditionalD!;

    /// <summary>One pass over the training set; <paramref name="onStep"/> gets every step's losses.</summary>
    public void TrainEpoch(Action<int, GanStep>? onStep = null)
    {
        _batches.Shuffle();
        int step = 0;
        while (_batches.TryNext(out int n))
        {
            var result = Step(_batches.Features, _batches.Labels, n);
            onStep?.Invoke(++step, result);
        }
    }

    /// <summary>One discriminator step and one generator step on a real batch (pixels in [-1, 1]).</summary>
    public GanStep Step(ReadOnlySpan<float> real, ReadOnlySpan<int> labels, int n)
    {
        var noise = _noise.AsSpan(0, n * NoiseSize);
        Common.Gaussian(noise, ref _rng);
        var fake = _fake.AsSpan(0, n * Pixels);
        var dLogits = _dLogits.AsSpan(0, n);
        var ones = _ones.AsSpan(0, n);
        var zeros = _zeros.AsSpan(0, n);
        var realPlanes = _realPlanes.AsSpan(0, n * LabelPlaneSize);
        var fakePlanes = _fakePlanes.AsSpan(0, n * LabelPlaneSize);
        var fakeLabels = _fakeLabels.AsSpan(0, n * Classes);
        if (Conditional)
        {
            for (int i = 0; i < n; i++) _fakeClasses[i] = _rng.NextInt(Classes);
            Common.OneHot(_fakeClasses, n, Classes, fakeLabels);
            LabelPlanes(_fakeClasses, n, fakePlanes);
            LabelPlanes(labels, n, realPlanes);
        }

        // The fake batch, kept for both steps (the generator's activations stay for its Backward).
        GeneratorForward(noise, fakeLabels, n, training: true).CopyTo(fake);

        // Discriminator step: real -> 1, fake (detached: nothing flows into G) -> 0.
        var disc = Discriminator;
        SetDiscriminatorFrozen(false);
        disc.ZeroGradients();
        var realLogits = DiscriminatorForward(real, realPlanes, n);
        double realScore = MeanSigmoid(realLogits);
        double lossReal = Losses.BinaryCrossEntropyWithLogits(realLogits, ones, n, 1, dLogits);
        DiscriminatorBackward(dLogits, inputGradient: false);
        var fakeLogits = DiscriminatorForward(fake, fakePlanes, n);
        double fakeScore = MeanSigmoid(fakeLogits);
        double lossFake = Losses.BinaryCrossEntropyWithLogits(fakeLogits, zeros, n, 1, dLogits);
        DiscriminatorBackward(dLogits, inputGradient: false);
        _discriminatorOptimizer.Step(disc.Parameters, disc.Gradients);

        // Generator step through the frozen discriminator: its parameters keep their gradients (zero), the gradient
        // with respect to its image input feeds the generator's Backward.
        double generatorLoss = GeneratorStep(fake, fakePlanes, n);
        return new GanStep(lossReal + lossFake, generatorLoss, realScore, fakeScore);
    }

    /// <summary>
    /// The generator's half of an iteration, also used by the tests: D(fake) against target 1, the gradient through the
    /// frozen discriminator into the generator (whose last Forward produced <paramref name="fake"/>), one Adam step of G.
    /// </summary>
    public double GeneratorStep(ReadOnlySpan<float> fake, ReadOnlySpan<float> fakePlanes, int n)
    {
        var disc = Discriminator;
        var gen = Generator;
        var dLogits = _dLogits.AsSpan(0, n);
        SetDiscriminatorFrozen(true);
        try
        {
            gen.ZeroGradients();
            var logits = DiscriminatorForward(fake, fakePlanes, n);
            double loss = Losses.BinaryCrossEntropyWithLogits(logits, _ones.AsSpan(0, n), n, 1, dLogits);
            var dFake = DiscriminatorBackward(dLogits, inputGradient: true);
            if (G is not null) G.Backward(dFake, inputGradient: false);
            else ConditionalG!.Backward(dFake, inputGradient: false);
            _generatorOptimizer.Step(gen.Parameters, gen.Gradients);
            return loss;
        }
        finally
        {
            SetDiscriminatorFrozen(false);
        }
    }

    private void SetDiscriminatorFrozen(bool frozen)
    {
        if (D is not null) D.Frozen = frozen;
        else ConditionalD!.Frozen = frozen;
    }

    /// <summary>Runs the generator: <paramref name="labels"/> ([n x 10] one-hot) only when conditional.</summary>
    public ReadOnlySpan<float> GeneratorForward(ReadOnlySpan<float> noise, ReadOnlySpan<float> labels, int n, bool training) =>
        G is not null ? G.Forward(noise, n, training) : ConditionalG!.Forward(noise, labels, n, training);

    private ReadOnlySpan<float> DiscriminatorForward(ReadOnlySpan<float> images, ReadOnlySpan<float> planes, int n) =>
        D is not null ? D.Forward(images, n, training: true) : ConditionalD!.Forward(images, planes, n, training: true);

    private ReadOnlySpan<float> DiscriminatorBackward(ReadOnlySpan<float> dLogits, bool inputGradient) =>
        D is not null ? D.Backward(dLogits, inputGradient) : ConditionalD!.Backward(dLogits, inputGradient);

    /// <summary>Writes the label planes of the conditional discriminator: plane c is all ones for class c ([n x 10x14x14]).</summary>
    public static void LabelPlanes(ReadOnlySpan<int> labels, int n, Span<float> planes)
    {
        const int plane = 14 * 14;
        planes.Slice(0, n * LabelPlaneSize).Clear();
        for (int i = 0; i < n; i++) planes.Slice(i * LabelPlaneSize + labels[i] * plane, plane).Fill(1f);
    }

    /// <summary>
    /// Generates images (pixels in [-1, 1]) from given noise ([count x 100]) and, when conditional, classes. Uses the
    /// generator's inference mode (BatchNorm running statistics).
    /// </summary>
    public float[] Generate(ReadOnlySpan<float> noise, ReadOnlySpan<int> classes, int count)
    {
        var labels = new float[count * Classes];
        if (Conditional) Common.OneHot(classes, count, Classes, labels);
        var result = new float[count * Pixels];
        int capacity = Generator.Capacity;
        for (int start = 0; start < count; start += capacity)
        {
            int n = Math.Min(capacity, count - start);
            GeneratorForward(noise.Slice(start * NoiseSize, n * NoiseSize), labels.AsSpan(start * Classes, n * Classes), n, training: false)
                .CopyTo(result.AsSpan(start * Pixels));
        }
        return result;
    }

    private static double MeanSigmoid(ReadOnlySpan<float> logits)
    {
        double sum = 0;
        foreach (float x in logits) sum += 1.0 / (1.0 + Math.Exp(-x));
        return sum / logits.Length;
    }
}
