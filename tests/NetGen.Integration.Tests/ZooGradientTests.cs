using System;
using System.IO;
using System.Linq;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Integration.Tests;

/// <summary>Finite-difference checks of the zoo's ops and blocks (BatchNorm in training mode: batch statistics).</summary>
public class ZooGradientTests
{
    private static NetworkOptions Options(int capacity = 4) => new() { Capacity = capacity, Seed = 5 };

    // ReLU and max-pool kinks: the small step of the foundation's kinked checks (ADR 0003).
    private static readonly GradientCheck.Options Kinked = new(Epsilon: 1e-3f, Atol: 5e-3);

    [Fact] public void Inception_block() => GradientCheck.Network(new InceptionBlockNet(Options()), Kinked);
    [Fact] public void Basic_residual_block() => GradientCheck.Network(new BasicBlockNet(Options()), Kinked);
    [Fact] public void Basic_residual_block_with_downsampling() => GradientCheck.Network(new BasicBlockDownsampleNet(Options()), Kinked);
    [Fact] public void Bottleneck_block() => GradientCheck.Network(new BottleneckNet(Options()), Kinked);
    [Fact] public void BatchNorm2d_training() => GradientCheck.Network(new BatchNorm2dNet(Options()));
    [Fact] public void BatchNorm1d_training() => GradientCheck.Network(new BatchNorm1dNet(Options()), new GradientCheck.Options(Batch: 4));
    [Fact] public void Local_response_norm() => GradientCheck.Network(new LocalResponseNormNet(Options()));
    [Fact] public void Leaky_relu() => GradientCheck.Network(new LeakyReluNet(Options()), Kinked);
    [Fact] public void Adaptive_and_global_average_pooling_with_concat() => GradientCheck.Network(new AdaptivePoolNet(Options()));
    [Fact] public void Max_pool_with_padding_and_ceil_mode() => GradientCheck.Network(new PaddedCeilMaxPoolNet(Options()), Kinked);

    [Fact]
    public void Dropout_with_a_fixed_mask()
    {
        var net = new DropoutNet(Options());
        GradientCheck.Network(net, new GradientCheck.Options(BeforeForward: () => net.SeedDropout(42)));
    }

    [Fact]
    public void Dropout_masks_change_between_steps_and_vanish_in_inference()
    {
        var net = new DropoutNet(Options());
        var input = new float[2 * DropoutNet.InputSize];
        for (int i = 0; i < input.Length; i++) input[i] = 0.1f * (i + 1);
        var a = net.Forward(input, 2, training: true).ToArray();
        var b = net.Forward(input, 2, training: true).ToArray();
        Assert.NotEqual(a, b);
        net.SeedDropout(9);
        var c = net.Forward(input, 2, training: true).ToArray();
        net.SeedDropout(9);
        Assert.Equal(c, net.Forward(input, 2, training: true).ToArray());
        var inference1 = net.Forward(input, 2).ToArray();
        Assert.Equal(inference1, net.Forward(input, 2).ToArray());
    }

    [Fact]
    public void Inference_uses_running_statistics_and_folds_batchnorm_into_the_convolution()
    {
        Assert.Contains("2 BatchNorms folded", FoldNet.Summary);
        var net = new FoldNet(Options(8));
        var rng = new Rng(3);
        const int batch = 8;
        var input = new float[batch * FoldNet.InputSize];
        for (int i = 0; i < input.Length; i++) input[i] = rng.NextUniform(-1f, 2f);
        var labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = i % 3;
        var sgd = new Sgd(0.05f, momentum: 0.9f);
        for (int step = 0; step < 5; step++) net.TrainStep(input, labels, batch, Loss.SoftmaxCrossEntropy, sgd);

        // The running statistics moved away from (0, 1).
        Assert.Contains(net.Buffers.ToArray(), v => v != 0f && v != 1f);
        AssertMatchesUnfolded(net, input, batch);

        // A write through Parameters (and through Buffers) is seen by the next inference.
        net.Parameters[0] += 0.5f;
        AssertMatchesUnfolded(net, input, batch);
        net.Buffers[1] -= 0.25f;
        AssertMatchesUnfolded(net, input, batch);
    }

    /// <summary>Reference: convolution, then BatchNorm with running statistics, kernel by kernel, without folding.</summary>
    private static void AssertMatchesUnfolded(FoldNet net, float[] input, int batch)
    {
        float[] Tensor(string name)
        {
            var p = FoldNet.ParameterSchema.Concat(FoldNet.BufferSchema).Single(x => x.Name == name);
            return p.Offset < FoldNet.ParameterCount
                ? net.Parameters.Slice(p.Offset, p.Length).ToArray()
                : net.Buffers.Slice(p.Offset - FoldNet.ParameterCount, p.Length).ToArray();
        }

        var g1 = new Conv2dGeometry(2, 6, 6, 4, 3, 1, 1);
        var g2 = new Conv2dGeometry(4, 6, 6, 4, 3, 2, 0);
        var scratch = new float[Math.Max(g1.ColumnSize, g2.ColumnSize)];
        var c1 = new float[batch * g1.OutputSize];
        var a1 = new float[batch * g1.OutputSize];
        Conv2d.Forward(c1, input, Tensor("conv1.weight"), Tensor("conv1.bias"), batch, g1, scratch);
        BatchNorm.ForwardInference(a1, c1, Tensor("bn1.weight"), Tensor("bn1.bias"), Tensor("bn1.running_mean"), Tensor("bn1.running_var"), batch, 4, 36, 1e-5f);
        Activations.ReluForward(a1, a1);
        var c2 = new float[batch * g2.OutputSize];
        var a2 = new float[batch * g2.OutputSize];
        Conv2d.Forward(c2, a1, Tensor("conv2.weight"), default, batch, g2, scratch);
        BatchNorm.ForwardInference(a2, c2, Tensor("bn2.weight"), Tensor("bn2.bias"), Tensor("bn2.running_mean"), Tensor("bn2.running_var"), batch, 4, 4, 1e-5f);
        Activations.ReluForward(a2, a2);
        var expected = new float[batch * FoldNet.OutputSize];
        Dense.Forward(expected, a2, Tensor("fc.weight"), Tensor("fc.bias"), batch, 16, 3);

        var actual = net.Forward(input, batch).ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 + 1e-4 * Math.Abs(expected[i]), $"output {i}: folded {actual[i]}, reference {expected[i]}");
    }

    [Fact]
    public void Checkpoints_hold_parameters_and_buffers()
    {
        var net = new FoldNet(Options(8));
        var input = new float[8 * FoldNet.InputSize];
        for (int i = 0; i < input.Length; i++) input[i] = (i % 7) * 0.3f - 0.5f;
        net.Forward(input, 8, training: true);
        string path = Path.Combine(Path.GetTempPath(), "netgen-fold-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            net.Save(path);
            var names = Safetensors.ReadHeader(path).Select(e => e.Name).ToArray();
            Assert.Contains("bn1.running_mean", names);
            Assert.Contains("bn2.running_var", names);
            Assert.Contains("conv1.weight", names);
            var copy = new FoldNet(new NetworkOptions { Capacity = 8, Seed = 99 });
            copy.Load(path);
            Assert.Equal(net.Parameters.ToArray(), copy.Parameters.ToArray());
            Assert.Equal(net.Buffers.ToArray(), copy.Buffers.ToArray());
            Assert.Equal(net.Forward(input, 8).ToArray(), copy.Forward(input, 8).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Parameter_count_excludes_buffers_and_schema_names_follow_torchvision()
    {
        Assert.Equal(2 * 4 * 9 + 4 + 4 + 4 + 4 * 4 * 9 + 4 + 4 + 16 * 3 + 3, FoldNet.ParameterCount);
        Assert.Equal(4 * 4, FoldNet.BufferCount);
        Assert.Equal(new[] { "bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var" }, FoldNet.BufferSchema.Select(p => p.Name));
        Assert.Contains(BasicBlockDownsampleNet.ParameterSchema, p => p.Name == "downsample.1.weight");
        Assert.Contains(InceptionBlockNet.ParameterSchema, p => p.Name == "branch2.1.conv.weight");
    }
}
