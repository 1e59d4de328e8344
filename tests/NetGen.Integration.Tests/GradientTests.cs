using System;
using NetGen.Examples.LeNet5;
using Xunit;

namespace NetGen.Integration.Tests;

/// <summary>Finite-difference checks of the generated backward pass, op by op and end to end.</summary>
public class GradientTests
{
    private static NetworkOptions Options(int capacity = 4) => new() { Capacity = capacity, Seed = 3 };

    // Smooth ops: epsilon 1e-2 keeps float32 round-off small against the O(eps^2) truncation error.
    [Fact] public void Conv2d_with_bias_and_padding() => GradientCheck.Network(new ConvNet(Options()));
    [Fact] public void Conv2d_strided_without_bias() => GradientCheck.Network(new StridedConvNoBiasNet(Options()));
    [Fact] public void Dense_with_bias() => GradientCheck.Network(new DenseNet(Options()));
    [Fact] public void Dense_without_bias() => GradientCheck.Network(new DenseNoBiasNet(Options()));
    [Fact] public void AvgPool2d() => GradientCheck.Network(new AvgPoolNet(Options()));
    [Fact] public void Tanh() => GradientCheck.Network(new TanhNet(Options()));
    [Fact] public void Sigmoid() => GradientCheck.Network(new SigmoidNet(Options()));
    [Fact] public void Softmax() => GradientCheck.Network(new SoftmaxNet(Options()));
    [Fact] public void Flatten() => GradientCheck.Network(new FlattenNet(Options()));
    [Fact] public void Add_and_multiply_with_fan_out() => GradientCheck.Network(new AddMultiplyNet(Options()));
    [Fact] public void Shared_weights_accumulate() => GradientCheck.Network(new SharedWeightsNet(Options()));

    // Piecewise-linear ops: a smaller epsilon so no perturbation crosses a kink (ReLU at 0, a max
    // changing its argmax); float round-off then dominates, hence the larger absolute tolerance.
    private static readonly GradientCheck.Options Kinked = new(Epsilon: 1e-3f, Atol: 5e-3);

    [Fact] public void Relu() => GradientCheck.Network(new ReluNet(Options()), Kinked);
    [Fact] public void MaxPool2d() => GradientCheck.Network(new MaxPoolNet(Options()), Kinked);
    [Fact] public void MaxPool2d_overlapping_windows() => GradientCheck.Network(new OverlappingMaxPoolNet(Options()), Kinked);

    [Fact]
    public void LeNet5_end_to_end() => GradientCheck.Network(new LeNet5(Options(2)), new GradientCheck.Options(MaxChecks: 300));

    [Fact]
    public void TinyDag_two_inputs_end_to_end()
    {
        var net = new TinyDag(Options(2));
        var rng = new Rng(11);
        const int batch = 2;
        var image = Random(batch * TinyDag.ImageSize, ref rng);
        var extra = Random(batch * TinyDag.ExtraSize, ref rng);
        var projection = Random(batch * TinyDag.OutputSize, ref rng);
        double Loss()
        {
            var y = net.Forward(image, extra, batch, training: true);
            double sum = 0;
            for (int i = 0; i < projection.Length; i++) sum += (double)projection[i] * y[i];
            return sum;
        }

        net.ZeroGradients();
        net.Forward(image, extra, batch, training: true);
        var imageGradient = net.Backward(projection).ToArray();
        Assert.Equal(imageGradient, net.ImageGradient.ToArray());
        var extraGradient = net.ExtraGradient.ToArray();
        var parameterGradient = net.Gradients.ToArray();

        var options = new GradientCheck.Options(Epsilon: 1e-3f, Atol: 5e-3);
        var report = new GradientCheck.Report(nameof(TinyDag));
        foreach (int i in GradientCheck.Sample(net.Parameters.Length, 300, ref rng))
            GradientCheck.Check(Loss, net.Parameters, i, parameterGradient[i], "parameter " + GradientCheck.NameOf(net, i), options, report);
        foreach (int i in GradientCheck.Sample(image.Length, 64, ref rng))
            GradientCheck.Check(Loss, image, i, imageGradient[i], "image[" + i + "]", options, report);
        for (int i = 0; i < extra.Length; i++)
            GradientCheck.Check(Loss, extra, i, extraGradient[i], "extra[" + i + "]", options, report);
        report.AssertClean();
    }

    private static float[] Random(int length, ref Rng rng)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = rng.NextUniform(-1f, 1f);
        return values;
    }
}
