using System;
using BenchmarkDotNet.Attributes;
using NetGen.Examples.LeNet5;

namespace NetGen.Benchmarks;

/// <summary>
/// LeNet-5 (the example network) on the generated CPU path: one training step at batch 64 and
/// inference at batch 1 and 64. MemoryDiagnoser reports managed bytes per operation (expected: 0).
/// </summary>
[MemoryDiagnoser]
public class LeNet5Benchmarks
{
    private LeNet5 _net = null!;
    private float[] _images = null!;
    private int[] _labels = null!;
    private Sgd _sgd = null!;

    [GlobalSetup]
    public void Setup()
    {
        _net = new LeNet5(new NetworkOptions { Capacity = 64, Seed = 1 });
        var rng = new Rng(1);
        _images = new float[64 * LeNet5.InputSize];
        for (int i = 0; i < _images.Length; i++) _images[i] = rng.NextUniform(-0.5f, 2.5f);
        _labels = new int[64];
        for (int i = 0; i < _labels.Length; i++) _labels[i] = rng.NextInt(10);
        _sgd = new Sgd(0.01f, momentum: 0.9f, weightDecay: 5e-4f);
        _net.TrainStep(_images, _labels, 64, Loss.SoftmaxCrossEntropy, _sgd); // allocates the momentum buffer once
    }

    [Benchmark(Description = "LeNet-5 train step, batch 64")]
    public float TrainStep64() => _net.TrainStep(_images, _labels, 64, Loss.SoftmaxCrossEntropy, _sgd);

    [Benchmark(Description = "LeNet-5 inference, batch 1")]
    public float Inference1() => _net.Forward(_images.AsSpan(0, LeNet5.InputSize), 1)[0];

    [Benchmark(Description = "LeNet-5 inference, batch 64")]
    public float Inference64() => _net.Forward(_images, 64)[0];
}
