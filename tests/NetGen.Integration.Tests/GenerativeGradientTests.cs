using System;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace NetGen.Integration.Tests;

/// <summary>Finite-difference checks of the generative models' ops, a small U-Net, and a multi-output VAE.</summary>
public class GenerativeGradientTests
{
    private static NetworkOptions Options(int capacity = 4) => new() { Capacity = capacity, Seed = 6 };
    private static readonly GradientCheck.Options Kinked = new(Epsilon: 1e-3f, Atol: 5e-3);

    [Fact] public void ConvTranspose2d_with_stride_padding_and_output_padding() => GradientCheck.Network(new ConvTransposeNet(Options()));
    [Fact] public void ConvTranspose2d_without_bias() => GradientCheck.Network(new ConvTransposeNoBiasNet(Options()));
    [Fact] public void Upsample_nearest() => GradientCheck.Network(new UpsampleNearestNet(Options()));
    [Fact] public void Upsample_bilinear() => GradientCheck.Network(new UpsampleBilinearNet(Options()));
    [Fact] public void Exp_scale_and_reshape() => GradientCheck.Network(new ExpScaleReshapeNet(Options()));
    [Fact] public void Small_unet_with_skip_connection() => GradientCheck.Network(new TinyUNet(Options()), Kinked);

    [Fact]
    public void A_frozen_network_passes_input_gradients_but_keeps_its_parameters()
    {
        var net = new TinyUNet(Options());
        GradientCheck.Frozen(net, frozen => net.Frozen = frozen);

        var x = Enumerable.Range(0, 2 * TinyUNet.InputSize).Select(i => MathF.Sin(0.3f * i)).ToArray();
        var before = net.Parameters.ToArray();
        var targets = new float[2 * TinyUNet.OutputSize];
        net.TrainStep(x, targets, 2, Loss.MeanSquaredError, new Sgd(0.1f));
        Assert.Equal(before, net.Parameters.ToArray());
    }

    [Fact]
    public void Vae_with_noise_input_and_three_outputs()
    {
        const int batch = 3;
        var net = new TinyVae(Options());
        var rng = new Rng(12);
        float[] Random(int n) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = rng.NextUniform(-1f, 1f); return v; }
        var x = Random(batch * TinyVae.XSize);
        var noise = Random(batch * TinyVae.NoiseSize);
        var r1 = Random(batch * TinyVae.ReconstructionSize);
        var r2 = Random(batch * TinyVae.MeanSize);
        var r3 = Random(batch * TinyVae.LogVarSize);

        // L = r1 . reconstruction + r2 . mean + r3 . logVar, so dL/d(output) = r.
        double Loss()
        {
            net.Forward(x, noise, batch, training: true);
            double sum = 0;
            var reconstruction = net.ReconstructionOutput; var mean = net.MeanOutput; var logVar = net.LogVarOutput;
            for (int i = 0; i < r1.Length; i++) sum += (double)r1[i] * reconstruction[i];
            for (int i = 0; i < r2.Length; i++) sum += (double)r2[i] * mean[i];
            for (int i = 0; i < r3.Length; i++) sum += (double)r3[i] * logVar[i];
            return sum;
        }

        net.ZeroGradients();
        net.Forward(x, noise, batch, training: true);
        Assert.Equal(batch * 12, net.ReconstructionOutput.Length);
        var dx = net.Backward(r1, r2, r3).ToArray();
        var dNoise = net.NoiseGradient.ToArray();
        var dParameters = net.Gradients.ToArray();

        var options = new GradientCheck.Options(Epsilon: 1e-3f, Atol: 5e-3);
        var report = new GradientCheck.Report(nameof(TinyVae));
        for (int i = 0; i < net.Parameters.Length; i++)
            GradientCheck.Check(Loss, net.Parameters, i, dParameters[i], "parameter " + GradientCheck.NameOf(net, i), options, report);
        for (int i = 0; i < x.Length; i++) GradientCheck.Check(Loss, x, i, dx[i], "x[" + i + "]", options, report);
        for (int i = 0; i < noise.Length; i++) GradientCheck.Check(Loss, noise, i, dNoise[i], "noise[" + i + "]", options, report);
        report.AssertClean();
    }

    [Fact]
    public void Vae_inference_outputs_match_training_outputs_and_onnx_runtime()
    {
        const int batch = 2;
        var net = new TinyVae(Options());
        var x = Enumerable.Range(0, batch * 12).Select(i => MathF.Sin(i)).ToArray();
        var noise = Enumerable.Range(0, batch * 3).Select(i => MathF.Cos(i)).ToArray();
        net.Forward(x, noise, batch, training: true);
        var training = (net.ReconstructionOutput.ToArray(), net.MeanOutput.ToArray(), net.LogVarOutput.ToArray());
        var first = net.Forward(x, noise, batch).ToArray();
        Assert.Equal(training.Item1, first);
        Assert.Equal(training.Item1, net.ReconstructionOutput.ToArray());
        Assert.Equal(training.Item2, net.MeanOutput.ToArray());
        Assert.Equal(training.Item3, net.LogVarOutput.ToArray());

        string path = Path.Combine(Path.GetTempPath(), "netgen-vae-" + Guid.NewGuid().ToString("N") + ".onnx");
        try
        {
            net.ExportOnnx(path);
            using var session = new InferenceSession(path);
            using var results = session.Run(new[]
            {
                NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, new[] { batch, 12 })),
                NamedOnnxValue.CreateFromTensor("noise", new DenseTensor<float>(noise, new[] { batch, 3 })),
            });
            var outputs = results.ToDictionary(r => r.Name, r => r.AsEnumerable<float>().ToArray());
            Assert.Equal(3, outputs.Count);
            foreach (var (expected, actual) in new[] { (training.Item1, outputs.Values.ElementAt(0)), (training.Item2, outputs["mean"]), (training.Item3, outputs["logvar"]) })
                for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5, $"{expected[i]} vs {actual[i]}");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
