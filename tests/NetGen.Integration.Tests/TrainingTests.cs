using System;
using NetGen.Data;
using NetGen.Examples.LeNet5;
using Xunit;

namespace NetGen.Integration.Tests;

public class TrainingTests
{
    /// <summary>
    /// The worked example from the course material: inputs (2, 3), target 1, weights I1->H1 0.11,
    /// I2->H1 0.21, I1->H2 0.12, I2->H2 0.08, H1->O 0.14, H2->O 0.15, identity activations, squared
    /// error, one SGD step at lr 0.05.
    /// </summary>
    [Fact]
    public void Worked_example_2_2_1_one_sgd_step()
    {
        var net = new WorkedExample(new NetworkOptions { Capacity = 1 });
        // Dense weights are [out, in] as in PyTorch: row h holds the weights into hidden unit h.
        float[] hidden = { 0.11f, 0.21f, 0.12f, 0.08f };
        float[] output = { 0.14f, 0.15f };
        hidden.CopyTo(net.Parameters.Slice(Offset(net, "Hidden.weight"), 4));
        output.CopyTo(net.Parameters.Slice(Offset(net, "Out.weight"), 2));
        float[] input = { 2f, 3f };
        float[] target = { 1f };

        float before = net.Forward(input, 1)[0];
        Assert.Equal(0.191, before, 0.005);
        var gradient = new float[1];
        float errorBefore = Loss.MeanSquaredError.Compute(new[] { before }, target, 1, 1, gradient);
        Assert.Equal(0.654, errorBefore, 0.005);

        float stepLoss = net.TrainStep(input, target, 1, Loss.MeanSquaredError, new Sgd(0.05f));
        Assert.Equal(errorBefore, stepLoss, 1e-6);

        float after = net.Forward(input, 1)[0];
        Assert.Equal(0.3286, after, 0.005);
        float errorAfter = Loss.MeanSquaredError.Compute(new[] { after }, target, 1, 1, gradient);
        Assert.Equal(0.4508, errorAfter, 0.005);
    }

    private static int Offset(INetwork net, string name)
    {
        foreach (var p in net.Schema)
            if (p.Name == name) return p.Offset;
        throw new ArgumentException(name);
    }

    private static readonly float[] XorInputs = { 0, 0, 0, 1, 1, 0, 1, 1 };
    private static readonly float[] XorTargets = { 0, 1, 1, 0 };

    private static int TrainXor(ISingleInputNetwork net, int epochs)
    {
        var sgd = new Sgd(0.5f, momentum: 0.9f);
        for (int epoch = 0; epoch < epochs; epoch++)
            net.TrainStep(XorInputs, XorTargets, 4, Loss.MeanSquaredError, sgd);
        var y = net.Forward(XorInputs, 4);
        int correct = 0;
        for (int i = 0; i < 4; i++)
            if ((y[i] > 0.5f) == (XorTargets[i] > 0.5f)) correct++;
        return correct;
    }

    [Fact]
    public void Xor_single_layer_cannot_fit_but_2_2_1_mlp_does()
    {
        // A single sigmoid unit is a linear classifier: at most 3 of the 4 XOR points are separable.
        int linear = TrainXor(new SingleLayerXor(new NetworkOptions { Capacity = 4, Seed = 1 }), 3000);
        Assert.True(linear <= 3, $"a single layer classified {linear}/4 XOR points");

        int mlp = TrainXor(new MlpXor(new NetworkOptions { Capacity = 4, Seed = 1 }), 3000);
        Assert.Equal(4, mlp);
    }

    [Fact]
    public void LeNet5_trains_on_a_subset_to_90_percent()
    {
        var train = Mnist.LoadBundled(train: true);
        var test = Mnist.LoadBundled(train: false);
        // A 4,000-digit subset, two epochs.
        var subset = new Dataset(train.Features.AsSpan(0, 4000 * train.SampleSize).ToArray(), train.Labels.AsSpan(0, 4000).ToArray(), 28, 28);
        var net = new LeNet5(new NetworkOptions { Capacity = 32, Seed = 1 });
        var sgd = new Sgd(0.05f, momentum: 0.9f);
        var batches = new BatchIterator(subset, 32, seed: 1);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            batches.Shuffle();
            while (batches.TryNext(out int count))
                net.TrainStep(batches.Features, batches.Labels, count, Loss.SoftmaxCrossEntropy, sgd);
        }
        double accuracy = Metrics.Accuracy(net, test);
        Assert.True(accuracy >= 0.90, $"test accuracy {accuracy:P2} after 2 epochs on 4,000 digits");
    }

    [Fact]
    public void Training_is_deterministic_for_a_seed()
    {
        float[] Run(ulong seed)
        {
            var net = new LeNet5(new NetworkOptions { Capacity = 8, Seed = seed });
            var data = Mnist.LoadBundled(train: true);
            var sgd = new Sgd(0.05f, momentum: 0.9f);
            for (int step = 0; step < 5; step++)
                net.TrainStep(data.Features.AsSpan(step * 8 * 784, 8 * 784), data.Labels.AsSpan(step * 8, 8), 8, Loss.SoftmaxCrossEntropy, sgd);
            return net.Parameters.ToArray();
        }
        Assert.Equal(Run(5), Run(5));
        Assert.NotEqual(Run(5), Run(6));
    }
}
