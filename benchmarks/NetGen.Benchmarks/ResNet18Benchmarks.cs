using System;
using BenchmarkDotNet.Attributes;
using NetGen.Examples.Zoo;

namespace NetGen.Benchmarks;

/// <summary>
/// ResNet-18 (examples/Zoo, torchvision layout, 3x224x224) on the generated CPU path: inference at batch 1
/// (BatchNorm folded into the convolutions) and one SGD training step at batch 8.
/// </summary>
[MemoryDiagnoser]
public class ResNet18Benchmarks
{
    private ResNet18 _inference = null!, _training = null!;
    private float[] _images = null!;
    private int[] _labels = null!;
    private Sgd _sgd = null!;

    [GlobalSetup]
    public void Setup()
    {
        _inference = new ResNet18(new NetworkOptions { Capacity = 1, Seed = 1 });
        _training = new ResNet18(new NetworkOptions { Capacity = 8, Seed = 1 });
        var rng = new Rng(2);
        _images = new float[8 * ResNet18.InputSize];
        for (int i = 0; i < _images.Length; i++) _images[i] = rng.NextUniform(-2f, 2f);
        _labels = new int[8];
        for (int i = 0; i < _labels.Length; i++) _labels[i] = rng.NextInt(1000);
        _sgd = new Sgd(0.01f, momentum: 0.9f, weightDecay: 1e-4f);
        _training.TrainStep(_images, _labels, 8, Loss.SoftmaxCrossEntropy, _sgd); // allocates the momentum buffer once
        _inference.Forward(_images.AsSpan(0, ResNet18.InputSize), 1);            // folds the BatchNorms once
    }

    [Benchmark(Description = "ResNet-18 inference, batch 1")]
    public float Inference1() => _inference.Forward(_images.AsSpan(0, ResNet18.InputSize), 1)[0];

    [Benchmark(Description = "ResNet-18 train step, batch 8")]
    public float TrainStep8() => _training.TrainStep(_images, _labels, 8, Loss.SoftmaxCrossEntropy, _sgd);
}
