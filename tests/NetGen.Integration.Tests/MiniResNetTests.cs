using System;
using System.Diagnostics;
using NetGen.Data;
using Xunit;
using Xunit.Abstractions;
using static NetGen.Layers;

namespace NetGen.Integration.Tests;

/// <summary>
/// ResNet-18's code path at MNIST size: a conv + BatchNorm + ReLU stem with max pooling, one basic block per
/// stage (8, 16, 32 channels; BatchNorm after every convolution; a 1x1 convolution + BatchNorm projection on
/// the shortcut when the shape changes), global average pooling, Flatten and a 10-way classifier.
/// Names follow torchvision's ResNet (conv1, bn1, layer2.0.downsample.0, fc).
/// </summary>
[Network]
public partial class MiniResNet
{
    Tensor Forward([Shape(1, 28, 28)] Tensor image)
    {
        var x = Relu(BatchNorm(Conv2d(image, 8, 3, padding: 1, bias: false, name: "conv1"), name: "bn1")); // 8x28x28
        x = MaxPool2d(x, 2);                                                                                  // 8x14x14

        // (channels, stride) of layer1 .. layer3
        var stages = new[] { (8, 1), (16, 2), (32, 2) };
        int layer = 1;
        foreach (var (channels, stride) in stages)
        {
            x = BasicBlock(x, $"layer{layer}.0", channels, stride);
            layer++;
        }                                                                                                     // 32x4x4

        return Dense(Flatten(GlobalAvgPool(x)), 10, name: "fc");
    }

    Tensor BasicBlock(Tensor x, string name, int channels, int stride)
    {
        var y = Relu(BatchNorm(Conv2d(x, channels, 3, stride: stride, padding: 1, bias: false, name: $"{name}.conv1"), name: $"{name}.bn1"));
        y = BatchNorm(Conv2d(y, channels, 3, padding: 1, bias: false, name: $"{name}.conv2"), name: $"{name}.bn2");

        var shortcut = stride != 1 || x.Channels != channels
            ? BatchNorm(Conv2d(x, channels, 1, stride: stride, bias: false, name: $"{name}.downsample.0"), name: $"{name}.downsample.1")
            : Identity(x);
        return Relu(y + shortcut);
    }
}

public class MiniResNetTests(ITestOutputHelper output)
{
    private const int Epochs = 6;
    private const int Batch = 32;
    private const float LearningRate = 0.1f;

    [Fact]
    [Trait("Category", "Training")]
    public void MiniResNet_trains_on_the_bundled_digits_to_97_percent()
    {
        var train = Mnist.LoadBundled(train: true);
        var test = Mnist.LoadBundled(train: false);
        Mnist.Normalize(train.Features);
        Mnist.Normalize(test.Features);

        var net = new MiniResNet(new NetworkOptions { Capacity = Batch, Seed = 1 });
        var sgd = new Sgd(LearningRate, momentum: 0.9f, weightDecay: 5e-4f);
        var batches = new BatchIterator(train, Batch, seed: 1);
        output.WriteLine($"MiniResNet: {MiniResNet.ParameterCount:N0} parameters, {MiniResNet.BufferCount:N0} buffers; " +
                         $"{Epochs} epochs, batch {Batch}, lr {LearningRate} (cosine), momentum 0.9, weight decay 5e-4, seed 1");

        var clock = Stopwatch.StartNew();
        double accuracy = 0;
        for (int epoch = 1; epoch <= Epochs; epoch++)
        {
            sgd.LearningRate = (float)(LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / Epochs)));
            batches.Shuffle();
            double lossSum = 0;
            int steps = 0;
            while (batches.TryNext(out int count))
            {
                lossSum += net.TrainStep(batches.Features, batches.Labels, count, Loss.SoftmaxCrossEntropy, sgd);
                steps++;
            }
            // Inference mode: BatchNorm uses the running statistics.
            accuracy = Metrics.Accuracy(net, test);
            output.WriteLine($"epoch {epoch}/{Epochs}  loss {lossSum / steps:F4}  test accuracy {accuracy:P2}  {clock.Elapsed.TotalSeconds:F1} s");
        }
        output.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s; test accuracy {accuracy:P2} on {test.Count:N0} held-out digits");

        Assert.True(accuracy >= 0.97, $"test accuracy {accuracy:P2} after {Epochs} epochs");
    }

}
