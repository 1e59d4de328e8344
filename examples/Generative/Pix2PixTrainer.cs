using System;
using NetGen;
using NetGen.Cpu;
using NetGen.Data;

namespace NetGen.Examples.Generative;

/// <summary>Losses of one pix2pix iteration.</summary>
/// <param name="DiscriminatorLoss">0.5 (BCE(D(c, y), 1) + BCE(D(c, G(c)), 0)) averaged over the 7x7 patch logits, as in pix2pix.</param>
/// <param name="AdversarialLoss">BCE(D(c, G(c)), 1), the generator's adversarial term.</param>
/// <param name="L1">Mean |G(c) - y| over the pixels, in the network's [-1, 1] units (the generator's loss adds lambda times it).</param>
public readonly record struct Pix2PixStep(double DiscriminatorLoss, double AdversarialLoss, double L1);

/// <summary>
/// Held-out L1 in [0, 1] pixel units: the generator's output against the full digit, the identity baseline (the erased
/// input itself, whose block holds the background) and, inside the block, the mean-fill baseline (the block filled with
/// the training digits' mean pixel value).
/// </summary>
public readonly record struct InpaintingEvaluation(double L1, double IdentityL1, double BlockL1, double IdentityBlockL1, double MeanFillBlockL1)
{
    /// <summary>How much lower the generator's L1 inside the block is than the mean-fill baseline's (0.4 = 40% lower).</summary>
    public double BlockGainOverMeanFill => 1 - BlockL1 / MeanFillBlockL1;
}

/// <summary>
/// pix2pix (Isola et al.) on an inpainting task built from the digits: a random 10x10 block of the digit is erased (set
/// to the background) and the U-Net generator must produce the full digit. The condition has two channels, the erased
/// digit and the block's mask. The PatchGAN discriminator judges (condition, image) pairs with a 7x7 grid of logits.
/// Generator loss: BCE adversarial term + lambda (100) * L1; Adam (default 1e-3: pix2pix's 2e-4 is tuned for batch 1
/// and many more steps), betas (0.5, 0.999), for both networks.
/// Pixels are in [-1, 1] inside the networks.
/// </summary>
public sealed class Pix2PixTrainer
{
    public const int Pixels = 784, Side = 28, Block = 10, ConditionSize = 2 * Pixels, PatchLogits = 49;

    /// <summary>The erased block's top-left corner is uniform in [BlockMin, BlockMax] on both axes: inside the central 20x20 where MNIST digits lie.</summary>
    public const int BlockMin = 4, BlockMax = 14;

    private readonly BatchIterator _batches;
    private readonly Adam _generatorOptimizer, _discriminatorOptimizer;
    private readonly float[] _condition, _fake, _ones, _zeros, _dLogits, _dL1;
    private readonly float[] _testCondition, _testTarget;
    private readonly (int Top, int Left)[] _testBlocks;
    private Rng _rng;

    public Pix2PixTrainer(Dataset train, Dataset test, int batch = 32, ulong seed = 1, float lambda = 100f, float learningRate = 1e-3f, Backend backend = Backend.Cpu)
    {
        if (train.SampleSize != Pixels || test.SampleSize != Pixels) throw new ArgumentException("pix2pix here needs 28x28 images.");
        Batch = batch;
        Lambda = lambda;
        _batches = new BatchIterator(new Dataset(Common.ToSigned(train.Features), train.Labels, Side, Side), batch, seed + 1);
        double sum = 0;
        foreach (float pixel in train.Features) sum += pixel;
        MeanPixel = (float)(2 * sum / train.Features.Length - 1);   // [-1, 1] units
        _rng = new Rng(seed + 2);
        G = new UNetGenerator(new NetworkOptions { Capacity = batch, Seed = seed, Backend = backend });
        D = new PatchDiscriminator(new NetworkOptions { Capacity = batch, Seed = seed + 7, Backend = backend });
        InitializeNearIdentity(G);
        _generatorOptimizer = new Adam(learningRate, beta1: 0.5f, beta2: 0.999f);
        _discriminatorOptimizer = new Adam(learningRate, beta1: 0.5f, beta2: 0.999f);
        _condition = new float[batch * ConditionSize];
        _fake = new float[batch * Pixels];
        _ones = new float[batch * PatchLogits];
        Array.Fill(_ones, 1f);
        _zeros = new float[batch * PatchLogits];
        _dLogits = new float[batch * PatchLogits];
        _dL1 = new float[batch * Pixels];

        // A fixed held-out task: every test digit with one block erased, drawn once from the seed.
        _testTarget = Common.ToSigned(test.Features);
        _testCondition = new float[test.Count * ConditionSize];
        _testBlocks = new (int, int)[test.Count];
        var testRng = new Rng(seed + 3);
        for (int i = 0; i < test.Count; i++)
            _testBlocks[i] = Erase(_testTarget.AsSpan(i * Pixels, Pixels), _testCondition.AsSpan(i * ConditionSize, ConditionSize), ref testRng);
        TestCount = test.Count;
    }

    public UNetGenerator G { get; }
    public PatchDiscriminator D { get; }
    public int Batch { get; }
    public float Lambda { get; }
    public int TestCount { get; }
    /// <summary>The training digits' mean pixel value in the network's [-1, 1] units: the mean-fill baseline's block value.</summary>
    public float MeanPixel { get; }
    public int BatchesPerEpoch => _batches.BatchesPerEpoch;

    /// <summary>The held-out conditions ([count x 2x28x28]: erased digit, mask), targets ([count x 784], [-1, 1]) and blocks.</summary>
    public ReadOnlySpan<float> TestCondition => _testCondition;
    public ReadOnlySpan<float> TestTarget => _testTarget;
    public ReadOnlySpan<(int Top, int Left)> TestBlocks => _testBlocks;

    /// <summary>
    /// Starts the generator close to copying its input: the output convolution's centre tap on the condition's image
    /// channel gets <see cref="CopyWeight"/> added (tanh(3 x) is within 0.005 of x = -1 or 1), the other weights keep
    /// their random initialisation. Without it the U-Net spends its first few hundred Adam steps (each moves a weight
    /// by at most about the learning rate) learning to reproduce the 684 known pixels before it can beat the identity
    /// baseline; with it, training goes to the erased block at once.
    /// </summary>
    public static void InitializeNearIdentity(UNetGenerator g)
    {
        var info = System.Linq.Enumerable.Single(UNetGenerator.ParameterSchema, p => p.Name == "out.weight");   // [1, 8 + 2, 3, 3]
        int inputs = info.Shape[1], imageChannel = inputs - 2;   // Concat(d1, condition): the condition's image channel
        g.Parameters[info.Offset + (imageChannel * 3 + 1) * 3 + 1] += CopyWeight;
    }

    /// <summary>Added to the output convolution's centre tap on the condition's image channel (see <see cref="InitializeNearIdentity"/>).</summary>
    public const float CopyWeight = 3f;

    /// <summary>
    /// Writes the condition of one digit (pixels in [-1, 1]): channel 0 the digit with a random 10x10 block set to the
    /// background (-1), channel 1 the block's mask (1 inside, 0 outside). Returns the block's corner.
    /// </summary>
    public static (int Top, int Left) Erase(ReadOnlySpan<float> digit, Span<float> condition, ref Rng rng)
    {
        int top = BlockMin + rng.NextInt(BlockMax - BlockMin + 1);
        int left = BlockMin + rng.NextInt(BlockMax - BlockMin + 1);
        var image = condition.Slice(0, Pixels);
        var mask = condition.Slice(Pixels, Pixels);
        digit.Slice(0, Pixels).CopyTo(image);
        mask.Clear();
        for (int y = top; y < top + Block; y++)
        {
            image.Slice(y * Side + left, Block).Fill(-1f);
            mask.Slice(y * Side + left, Block).Fill(1f);
        }
        return (top, left);
    }

    /// <summary>One pass over the training set with fresh random blocks; <paramref name="onStep"/> gets every step's losses.</summary>
    public void TrainEpoch(Action<int, Pix2PixStep>? onStep = null)
    {
        _batches.Shuffle();
        int step = 0;
        while (_batches.TryNext(out int n))
        {
            for (int i = 0; i < n; i++)
                Erase(_batches.Features.AsSpan(i * Pixels, Pixels), _condition.AsSpan(i * ConditionSize, ConditionSize), ref _rng);
            var result = Step(_condition.AsSpan(0, n * ConditionSize), _batches.Features.AsSpan(0, n * Pixels), n);
            onStep?.Invoke(++step, result);
        }
    }

    /// <summary>One discriminator step and one generator step.</summary>
    public Pix2PixStep Step(ReadOnlySpan<float> condition, ReadOnlySpan<float> target, int n)
    {
        int logitCount = n * PatchLogits;
        var dLogits = _dLogits.AsSpan(0, logitCount);
        var fake = _fake.AsSpan(0, n * Pixels);
        G.Forward(condition, n, training: true).CopyTo(fake);

        // Discriminator: real pairs -> 1, fake pairs (detached) -> 0; pix2pix halves the sum.
        D.Frozen = false;
        D.ZeroGradients();
        double lossReal = Losses.BinaryCrossEntropyWithLogits(D.Forward(target, condition, n, training: true), _ones.AsSpan(0, logitCount), n, PatchLogits, dLogits);
        Elementwise.Scale(dLogits, 0.5f);
        D.Backward(dLogits, inputGradient: false);
        double lossFake = Losses.BinaryCrossEntropyWithLogits(D.Forward(fake, condition, n, training: true), _zeros.AsSpan(0, logitCount), n, PatchLogits, dLogits);
        Elementwise.Scale(dLogits, 0.5f);
        D.Backward(dLogits, inputGradient: false);
        _discriminatorOptimizer.Step(D.Parameters, D.Gradients);

        // Generator: adversarial term through the frozen discriminator plus lambda * L1 to the full digit.
        D.Frozen = true;
        double adversarial, l1;
        try
        {
            G.ZeroGradients();
            adversarial = Losses.BinaryCrossEntropyWithLogits(D.Forward(fake, condition, n, training: true), _ones.AsSpan(0, logitCount), n, PatchLogits, dLogits);
            var dFake = D.Backward(dLogits, inputGradient: true);   // d(adversarial)/d(image), the first input
            var dOutput = _dL1.AsSpan(0, n * Pixels);
            l1 = Losses.L1(fake, target, n, Pixels, dOutput);
            Elementwise.Scale(dOutput, Lambda);
            Elementwise.CopyOrAdd(dOutput, dFake, accumulate: true);
            G.Backward(dOutput, inputGradient: false);
            _generatorOptimizer.Step(G.Parameters, G.Gradients);
        }
        finally
        {
            D.Frozen = false;
        }
        return new Pix2PixStep(0.5 * (lossReal + lossFake), adversarial, l1);
    }

    /// <summary>Generator outputs ([-1, 1]) for the first <paramref name="count"/> held-out conditions (inference mode).</summary>
    public float[] Complete(int count)
    {
        var result = new float[count * Pixels];
        for (int start = 0; start < count; start += Batch)
        {
            int n = Math.Min(Batch, count - start);
            G.Forward(_testCondition.AsSpan(start * ConditionSize, n * ConditionSize), n).CopyTo(result.AsSpan(start * Pixels));
        }
        return result;
    }

    /// <summary>
    /// L1 on the held-out digits in [0, 1] pixel units (mean over all 784 pixels, and over the erased block only): the
    /// generator's raw output (no pasting of the known pixels) against the identity baseline, which outputs the erased
    /// input and so errs only inside the block, and (inside the block) the mean-fill baseline.
    /// </summary>
    public InpaintingEvaluation Evaluate()
    {
        var output = Complete(TestCount);
        double all = 0, identity = 0, block = 0, identityBlock = 0, meanFillBlock = 0;
        for (int i = 0; i < TestCount; i++)
        {
            var o = output.AsSpan(i * Pixels, Pixels);
            var t = _testTarget.AsSpan(i * Pixels, Pixels);
            var x = _testCondition.AsSpan(i * ConditionSize, Pixels);
            var mask = _testCondition.AsSpan(i * ConditionSize + Pixels, Pixels);
            for (int p = 0; p < Pixels; p++)
            {
                double e = Math.Abs(o[p] - t[p]), b = Math.Abs(x[p] - t[p]);
                all += e;
                identity += b;
                if (mask[p] > 0.5f) { block += e; identityBlock += b; meanFillBlock += Math.Abs(MeanPixel - t[p]); }
            }
        }
        // [-1, 1] differences are twice the [0, 1] ones.
        double pixels = 2.0 * TestCount * Pixels, blockPixels = 2.0 * TestCount * Block * Block;
        return new InpaintingEvaluation(all / pixels, identity / pixels, block / blockPixels, identityBlock / blockPixels, meanFillBlock / blockPixels);
    }
}
