using NetGen.Tests.Shared;
using System;
using System.IO;
using NetGen.Examples.LeNet5;
using Xunit;

namespace NetGen.Integration.Tests;

public class RuntimeBehaviourTests
{
    private static float[] RandomInput(int length, ulong seed)
    {
        var rng = new Rng(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = rng.NextUniform(-1, 1);
        return values;
    }

    [Fact]
    public void LeNet5_summary_reports_61706_parameters()
    {
        Assert.Equal(61706, LeNet5.ParameterCount);
        Assert.Contains("Total parameters: 61,706", LeNet5.Summary);
        Assert.Contains("C3              Conv2d     16x10x10               2,416", LeNet5.Summary);
        var net = new LeNet5();
        int sum = 0;
        foreach (var p in LeNet5.ParameterSchema) sum += p.Length;
        Assert.Equal(61706, sum);
        Assert.Equal(61706, net.Parameters.Length);
    }

    [Fact]
    public void Steady_state_training_step_allocates_nothing()
    {
        var net = new LeNet5(new NetworkOptions { Capacity = 64 });
        var input = RandomInput(64 * LeNet5.InputSize, 1);
        var labels = new int[64];
        for (int i = 0; i < labels.Length; i++) labels[i] = i % 10;
        var sgd = new Sgd(0.01f, momentum: 0.9f, weightDecay: 1e-4f);
        for (int i = 0; i < 3; i++) net.TrainStep(input, labels, 64, Loss.SoftmaxCrossEntropy, sgd); // warm-up: JIT, momentum buffer

        long allocated = Allocations.SteadyState(() =>
        {
            net.TrainStep(input, labels, 64, Loss.SoftmaxCrossEntropy, sgd);
            net.Forward(input, 64);
            net.Forward(input, 1);
        }, callsPerWindow: 5, windows: 4, warmup: 0);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Inference_and_training_layouts_give_the_same_output()
    {
        var net = new LeNet5(new NetworkOptions { Capacity = 5 });
        var input = RandomInput(5 * LeNet5.InputSize, 2);
        var inference = net.Forward(input, 5).ToArray();
        var training = net.Forward(input, 5, training: true).ToArray();
        Assert.Equal(inference, training);
        // A smaller batch gives the same per-sample results.
        Assert.Equal(inference.AsSpan(0, 2 * LeNet5.OutputSize).ToArray(), net.Forward(input.AsSpan(0, 2 * LeNet5.InputSize), 2).ToArray());
    }

    [Fact]
    public void Save_and_load_round_trip_through_safetensors()
    {
        string directory = Path.Combine(Path.GetTempPath(), "netgen-" + Guid.NewGuid().ToString("N"));
        string path = Path.Combine(directory, "lenet5.safetensors");
        try
        {
            var a = new LeNet5(new NetworkOptions { Seed = 1 });
            a.Save(path);
            var b = new LeNet5(new NetworkOptions { Seed = 2 });
            Assert.NotEqual(a.Parameters.ToArray(), b.Parameters.ToArray());
            b.Load(path);
            Assert.Equal(a.Parameters.ToArray(), b.Parameters.ToArray());
            var names = Safetensors.ReadHeader(path);
            Assert.Contains(names, e => e.Name == "C1.weight" && e.Shape.AsSpan().SequenceEqual(new[] { 6, 1, 5, 5 }));
            Assert.Equal("LeNet5", Safetensors.ReadMetadata(path)["netgen.network"]);
            Assert.Empty(Directory.GetFiles(directory, "*.tmp*"));
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Loading_another_networks_checkpoint_names_the_file_and_tensor_and_changes_nothing()
    {
        string path = Path.Combine(Path.GetTempPath(), "netgen-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            new ConvNet().Save(path);
            var net = new LeNet5();
            var before = net.Parameters.ToArray();
            var e = Assert.Throws<CheckpointException>(() => net.Load(path));
            Assert.Contains(path, e.Message);
            Assert.NotNull(e.TensorName);
            Assert.Equal(before, net.Parameters.ToArray());

            File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
            var truncated = Assert.Throws<CheckpointException>(() => net.Load(path));
            Assert.Contains(path, truncated.Message);
            Assert.Equal(before, net.Parameters.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Misuse_gives_clear_errors()
    {
        var net = new LeNet5(new NetworkOptions { Capacity = 4 });
        var input = new float[4 * LeNet5.InputSize];
        var e1 = Assert.Throws<InvalidOperationException>(() => net.Backward(new float[4 * 10]));
        Assert.Contains("Forward(..., training: true)", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => net.Forward(new float[5 * LeNet5.InputSize], 5));
        Assert.Contains("capacity 4", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => net.Forward(input.AsSpan(0, 100), 1));
        Assert.Contains("'image' has 100 floats but the batch needs 784", e3.Message);
        net.Forward(input, 4, training: true);
        net.Forward(input, 4); // inference reuses buffers: backward is no longer valid
        Assert.Throws<InvalidOperationException>(() => net.Backward(new float[4 * 10]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LeNet5(new NetworkOptions { Capacity = 0 }));
        // A span returned by the network itself cannot be fed back in: inference reuses that memory.
        var loop = new SharedWeightsNet(new NetworkOptions { Capacity = 2 }); // 4 floats in, 4 out
        var e5 = Assert.Throws<ArgumentException>(() =>
        {
            var y = loop.Forward(new float[2 * 4], 2);
            loop.Forward(y, 2);
        });
        Assert.Contains("own activation buffer", e5.Message);
#pragma warning disable NG0007 // deliberately calling a marker outside a network to see what happens at run time
        var e4 = Assert.Throws<InvalidOperationException>(() => Layers.Relu(default));
#pragma warning restore NG0007
        Assert.Contains("never run", e4.Message);
    }

    [Fact]
    public void Sgd_with_momentum_and_weight_decay_matches_pytorch_formula()
    {
        var p = new[] { 1f, -2f };
        var g = new[] { 0.5f, 0.25f };
        var sgd = new Sgd(0.1f, momentum: 0.9f, weightDecay: 0.01f);
        sgd.Step(p, g);
        // v = g + wd p; p -= lr v
        Assert.Equal(1f - 0.1f * (0.5f + 0.01f), p[0], 6);
        float v1 = 0.25f + 0.01f * -2f;
        Assert.Equal(-2f - 0.1f * v1, p[1], 6);
        float p1 = p[1];
        sgd.Step(p, g);
        float v2 = 0.9f * v1 + 0.25f + 0.01f * p1;
        Assert.Equal(p1 - 0.1f * v2, p[1], 6);
        Assert.Throws<InvalidOperationException>(() => sgd.Step(new float[3], new float[3]));
    }
}
