using System;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NetGen.Examples.LeNet5;
using NetGen.Examples.Zoo;
using Xunit;

namespace NetGen.Integration.Tests;

/// <summary>
/// ExportOnnx against ONNX Runtime 1.31.1: the exported model, run by ORT, gives NetGen's CPU inference output
/// within 1e-4 (absolute, plus 1e-4 relative).
/// </summary>
public class OnnxExportTests
{
    private static float[] Random(int count, ulong seed, float low = -1f, float high = 1f)
    {
        var rng = new Rng(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = rng.NextUniform(low, high);
        return values;
    }

    /// <summary>Exports, runs in ORT, compares with NetGen's Forward; returns the largest absolute difference.</summary>
    private static double Compare(ISingleInputNetwork net, int[] inputShape, int batch, ulong seed = 1)
    {
        var input = Random(batch * net.InputSize, seed);
        var expected = net.Forward(input, batch).ToArray();
        string path = Path.Combine(Path.GetTempPath(), "netgen-" + net.GetType().Name + "-" + Guid.NewGuid().ToString("N") + ".onnx");
        try
        {
            net.ExportOnnx(path);
            using var session = new InferenceSession(path);
            string inputName = session.InputMetadata.Keys.Single();
            var tensor = new DenseTensor<float>(input, new[] { batch }.Concat(inputShape).ToArray());
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(inputName, tensor) });
            var actual = results.Single().AsEnumerable<float>().ToArray();
            Assert.Equal(expected.Length, actual.Length);
            double worst = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                double difference = Math.Abs(expected[i] - actual[i]);
                Assert.True(difference <= 1e-4 + 1e-4 * Math.Abs(expected[i]),
                    $"{net.GetType().Name} output {i}: NetGen {expected[i]}, ONNX Runtime {actual[i]}");
                worst = Math.Max(worst, difference);
            }
            return worst;
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LeNet5_matches_onnx_runtime() => Compare(new LeNet5(new NetworkOptions { Capacity = 3 }), new[] { 1, 28, 28 }, 3);

    [Fact]
    public void ResNet18_with_trained_running_statistics_matches_onnx_runtime()
    {
        var net = new ResNet18(new NetworkOptions { Capacity = 2, Seed = 4 });
        // Running statistics away from (0, 1) and gamma/beta away from (1, 0), so BatchNorm really computes something.
        var buffers = net.Buffers;
        var rng = new Rng(8);
        foreach (var p in ResNet18.BufferSchema)
        {
            bool variance = p.Name.EndsWith("running_var", StringComparison.Ordinal);
            for (int i = 0; i < p.Length; i++)
                buffers[p.Offset - ResNet18.ParameterCount + i] = variance ? rng.NextUniform(0.5f, 2f) : rng.NextUniform(-0.2f, 0.2f);
        }
        foreach (var p in ResNet18.ParameterSchema.Where(p => p.Name.Contains(".bn") || p.Name.StartsWith("bn1") || p.Name.Contains("downsample.1")))
            for (int i = 0; i < p.Length; i++) net.Parameters[p.Offset + i] += rng.NextUniform(-0.1f, 0.1f);
        Compare(net, new[] { 3, 224, 224 }, 2);
    }

    [Fact] public void Inception_block_matches_onnx_runtime() => Compare(new InceptionBlockNet(new NetworkOptions { Capacity = 2 }), new[] { 4, 5, 5 }, 2);
    [Fact] public void BatchNorm1d_matches_onnx_runtime() => Compare(new BatchNorm1dNet(new NetworkOptions { Capacity = 4 }), new[] { 6 }, 4);
    [Fact] public void Dropout_exports_as_identity() => Compare(new DropoutNet(new NetworkOptions { Capacity = 2 }), new[] { 8 }, 2);
    [Fact] public void Local_response_norm_matches_onnx_runtime() => Compare(new LocalResponseNormNet(new NetworkOptions { Capacity = 2 }), new[] { 2, 4, 4 }, 2);
    [Fact] public void Leaky_relu_matches_onnx_runtime() => Compare(new LeakyReluNet(new NetworkOptions { Capacity = 2 }), new[] { 10 }, 2);
    [Fact] public void Padded_ceil_mode_max_pool_matches_onnx_runtime() => Compare(new PaddedCeilMaxPoolNet(new NetworkOptions { Capacity = 2 }), new[] { 2, 7, 7 }, 2);
    [Fact] public void Two_branch_residual_dag_matches_onnx_runtime() => Compare(new BasicBlockDownsampleNet(new NetworkOptions { Capacity = 2 }), new[] { 3, 6, 6 }, 2);

    [Fact] public void ConvTranspose2d_matches_onnx_runtime() => Compare(new ConvTransposeNet(new NetworkOptions { Capacity = 2 }), new[] { 3, 4, 4 }, 2);
    [Fact] public void Upsample_nearest_matches_onnx_runtime() => Compare(new UpsampleNearestNet(new NetworkOptions { Capacity = 2 }), new[] { 2, 3, 4 }, 2);
    [Fact] public void Upsample_bilinear_matches_onnx_runtime() => Compare(new UpsampleBilinearNet(new NetworkOptions { Capacity = 2 }), new[] { 2, 3, 4 }, 2);
    [Fact] public void Exp_scale_reshape_match_onnx_runtime() => Compare(new ExpScaleReshapeNet(new NetworkOptions { Capacity = 2 }), new[] { 6 }, 2);
    [Fact] public void Small_unet_matches_onnx_runtime() => Compare(new TinyUNet(new NetworkOptions { Capacity = 2 }), new[] { 1, 8, 8 }, 2);

    [Fact]
    public void Uneven_adaptive_pooling_is_reported_as_not_exportable()
    {
        var net = new AdaptivePoolNet(new NetworkOptions { Capacity = 1 });
        string path = Path.Combine(Path.GetTempPath(), "netgen-uneven-" + Guid.NewGuid().ToString("N") + ".onnx");
        var e = Assert.Throws<NotSupportedException>(() => net.ExportOnnx(path));
        Assert.Contains("uneven bins", e.Message);
        Assert.False(File.Exists(path));
    }
}
