using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NetGen.Examples.Zoo;
using Xunit;

namespace NetGen.Integration.Tests;

/// <summary>
/// The model zoo (examples/Zoo) against torchvision: parameter counts (trainable floats, as
/// <c>sum(p.numel() for p in model.parameters())</c> counts them) and state_dict names. VGG-16 and AlexNet
/// are only checked at compile time: an instance holds hundreds of MB of weights and gradients.
/// </summary>
public class ZooTests
{
    [Fact]
    public void AlexNet_has_torchvisions_parameter_count() => Assert.Equal(61_100_840, AlexNet.ParameterCount);

    [Fact]
    public void Vgg16_has_torchvisions_parameter_count() => Assert.Equal(138_357_544, Vgg16.ParameterCount);

    [Fact]
    public void GoogLeNet_has_torchvisions_parameter_count() => Assert.Equal(6_624_904, GoogLeNet.ParameterCount);

    [Fact]
    public void ResNet18_has_torchvisions_parameter_count() => Assert.Equal(11_689_512, ResNet18.ParameterCount);

    [Fact]
    public void ResNet50_has_torchvisions_parameter_count() => Assert.Equal(25_557_032, ResNet50.ParameterCount);

    [Fact]
    public void Networks_without_BatchNorm_have_no_buffers_and_schemas_add_up()
    {
        Assert.Equal(0, AlexNet.BufferCount);
        Assert.Equal(0, Vgg16.BufferCount);
        // Two floats (running mean and variance) per BatchNorm channel, i.e. as many as the BatchNorm parameters.
        Assert.Equal(9_600, ResNet18.BufferCount);
        Assert.Equal(53_120, ResNet50.BufferCount);
        Assert.Equal(14_560, GoogLeNet.BufferCount);

        Assert.Equal(ResNet18.ParameterCount, ResNet18.ParameterSchema.Sum(p => p.Length));
        Assert.Equal(ResNet18.BufferCount, ResNet18.BufferSchema.Sum(p => p.Length));
        Assert.Equal(Vgg16.ParameterCount, Vgg16.ParameterSchema.Sum(p => p.Length));
        Assert.Equal(GoogLeNet.BufferCount, GoogLeNet.BufferSchema.Sum(p => p.Length));
    }

    [Fact]
    public void ResNet18_uses_torchvisions_state_dict_names_and_shapes()
    {
        var parameters = ResNet18.ParameterSchema.ToDictionary(p => p.Name, p => p.ShapeText);
        Assert.Equal("64x3x7x7", parameters["conv1.weight"]);
        Assert.Equal("64", parameters["bn1.weight"]);
        Assert.Equal("64x64x3x3", parameters["layer1.0.conv1.weight"]);
        Assert.Equal("128x64x3x3", parameters["layer2.0.conv1.weight"]);
        Assert.Equal("128x64x1x1", parameters["layer2.0.downsample.0.weight"]);
        Assert.Equal("128", parameters["layer2.0.downsample.1.bias"]);
        Assert.Equal("512x512x3x3", parameters["layer4.1.conv2.weight"]);
        Assert.Equal("1000x512", parameters["fc.weight"]);
        Assert.Equal("1000", parameters["fc.bias"]);
        Assert.DoesNotContain("conv1.bias", parameters.Keys);                   // bias: false before BatchNorm
        Assert.DoesNotContain("layer1.0.downsample.0.weight", parameters.Keys); // layer1 keeps the shape: identity shortcut
        Assert.Equal(62, parameters.Count);                                     // torchvision: 62 parameter tensors

        var buffers = ResNet18.BufferSchema.Select(b => b.Name).ToList();
        Assert.Contains("bn1.running_mean", buffers);
        Assert.Contains("bn1.running_var", buffers);
        Assert.Contains("layer2.0.downsample.1.running_var", buffers);
        Assert.Contains("layer4.1.bn2.running_mean", buffers);
        Assert.Equal(40, buffers.Count); // 20 BatchNorms (torchvision also has num_batches_tracked, which NetGen does not keep)
        Assert.Empty(buffers.Intersect(parameters.Keys));
    }

    [Fact]
    public void GoogLeNet_and_ResNet50_use_torchvisions_state_dict_names()
    {
        var googlenet = GoogLeNet.ParameterSchema.ToDictionary(p => p.Name, p => p.ShapeText);
        Assert.Equal("64x3x7x7", googlenet["conv1.conv.weight"]);
        Assert.Equal("96x192x1x1", googlenet["inception3a.branch2.0.conv.weight"]);
        Assert.Equal("32x16x3x3", googlenet["inception3a.branch3.1.conv.weight"]); // torchvision's 3x3 in the "5x5" branch
        Assert.Equal("128x832x1x1", googlenet["inception5b.branch4.1.conv.weight"]);
        Assert.Equal("1000x1024", googlenet["fc.weight"]);
        Assert.Contains("inception4e.branch1.bn.running_var", GoogLeNet.BufferSchema.Select(b => b.Name));

        var resnet50 = ResNet50.ParameterSchema.ToDictionary(p => p.Name, p => p.ShapeText);
        Assert.Equal("128x128x3x3", resnet50["layer2.0.conv2.weight"]);   // v1.5: the 3x3 carries the stride
        Assert.Equal("512x128x1x1", resnet50["layer2.0.conv3.weight"]);
        Assert.Equal("256x64x1x1", resnet50["layer1.0.downsample.0.weight"]); // 64 -> 256 channels at stride 1
        Assert.Equal("2048", resnet50["layer4.2.bn3.bias"]);
        Assert.Equal("1000x2048", resnet50["fc.weight"]);
        Assert.Equal(161, resnet50.Count);                                 // torchvision: 161 parameter tensors

        var alexnet = AlexNet.ParameterSchema.Select(p => p.Name).ToArray();
        Assert.Equal(new[]
        {
            "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias", "features.6.weight", "features.6.bias",
            "features.8.weight", "features.8.bias", "features.10.weight", "features.10.bias",
            "classifier.1.weight", "classifier.1.bias", "classifier.4.weight", "classifier.4.bias", "classifier.6.weight", "classifier.6.bias",
        }, alexnet);
        var vgg = Vgg16.ParameterSchema.Where(p => p.Name.EndsWith(".weight", StringComparison.Ordinal)).Select(p => p.Name[..^7]).ToArray();
        Assert.Equal(new[]
        {
            "features.0", "features.2", "features.5", "features.7", "features.10", "features.12", "features.14",
            "features.17", "features.19", "features.21", "features.24", "features.26", "features.28",
            "classifier.0", "classifier.3", "classifier.6",
        }, vgg);
    }

    [Fact]
    public void ResNet18_checkpoint_holds_parameters_and_running_statistics()
    {
        string path = Path.Combine(Path.GetTempPath(), "netgen-zoo-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            var net = new ResNet18(new NetworkOptions { Capacity = 1, Seed = 3 });
            net.Save(path);
            var names = Safetensors.ReadHeader(path).Select(e => e.Name).ToHashSet();
            Assert.Contains("layer1.0.conv1.weight", names);
            Assert.Contains("layer2.0.downsample.1.bias", names);
            Assert.Contains("fc.weight", names);
            Assert.Contains("bn1.running_mean", names);
            Assert.Contains("layer3.1.bn2.running_var", names);
            Assert.Equal(ResNet18.ParameterSchema.Count + ResNet18.BufferSchema.Count, names.Count);

            // Round trip: a differently seeded network that loads the file computes the same logits.
            var input = RandomInput(ResNet18.InputSize, seed: 4);
            float[] expected = net.Forward(input, 1).ToArray();
            var other = new ResNet18(new NetworkOptions { Capacity = 1, Seed = 9 });
            Assert.NotEqual(expected, other.Forward(input, 1).ToArray());
            other.Load(path);
            Assert.Equal(expected, other.Forward(input, 1).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("googlenet")]
    [InlineData("resnet18")]
    [InlineData("resnet50")]
    public void Inference_at_batch_1_gives_finite_logits(string name)
    {
        ISingleInputNetwork net = name switch
        {
            "googlenet" => new GoogLeNet(new NetworkOptions { Capacity = 1 }),
            "resnet18" => new ResNet18(new NetworkOptions { Capacity = 1 }),
            _ => new ResNet50(new NetworkOptions { Capacity = 1 }),
        };
        var logits = net.Forward(RandomInput(net.InputSize, seed: 5), 1);
        Assert.Equal(1000, logits.Length);
        foreach (float v in logits) Assert.True(float.IsFinite(v), $"{name}: non-finite logit {v}");
        float first = logits[0];
        Assert.Contains(logits.ToArray(), v => v != first); // not a constant output
    }

    [Fact]
    public void A_capacity_whose_arena_does_not_fit_one_array_is_a_clear_error()
    {
        // ResNet-50 keeps about 37.7 M floats per training sample: 57 samples exceed Array.MaxLength.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ResNet50(new NetworkOptions { Capacity = 64 }));
        Assert.Contains("ResNet50: the activation arena needs", e.Message);
        Assert.Contains("NetworkOptions.Capacity can be at most 56", e.Message);
    }

    [Fact]
    public void ResNet18_training_step_gives_finite_gradients_in_every_tensor()
    {
        const int batch = 2;
        var net = new ResNet18(new NetworkOptions { Capacity = batch, Seed = 1 });
        var output = net.Forward(RandomInput(batch * ResNet18.InputSize, seed: 6), batch, training: true);
        foreach (float v in output) Assert.True(float.IsFinite(v));
        net.Backward(RandomInput(batch * ResNet18.OutputSize, seed: 7), inputGradient: false);
        var gradients = net.Gradients;
        foreach (var p in ResNet18.ParameterSchema)
        {
            var g = gradients.Slice(p.Offset, p.Length);
            bool nonZero = false;
            foreach (float v in g)
            {
                Assert.True(float.IsFinite(v), $"{p.Name}: non-finite gradient");
                nonZero |= v != 0;
            }
            Assert.True(nonZero, $"{p.Name}: all-zero gradient");
        }
    }

    [Fact]
    public void Zoo_command_line_lists_summarises_and_rejects_bad_input()
    {
        var (code, output) = RunZoo("list");
        Assert.True(code == 0, output);
        Assert.Contains("11,689,512", output);
        Assert.Contains("138,357,544", output);

        (code, output) = RunZoo("summary", "resnet50");
        Assert.True(code == 0, output);
        Assert.Contains("Total parameters: 25,557,032", output);
        Assert.Contains("layer4.2.conv3", output);

        (code, output) = RunZoo("summary", "resnet34");
        Assert.Equal(2, code);
        Assert.Contains("unknown network 'resnet34'", output);

        (code, output) = RunZoo("bench", "resnet18", "--batch", "0");
        Assert.Equal(2, code);
        Assert.Contains("--batch", output);

        (code, output) = RunZoo("bench", "resnet18", "--iterations");
        Assert.Equal(2, code);

        (code, output) = RunZoo("train", "resnet18");
        Assert.Equal(2, code);
        Assert.Contains("usage:", output);
    }

    private static float[] RandomInput(int length, ulong seed)
    {
        var rng = new Rng(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextGaussian();
        return values;
    }

    private static (int ExitCode, string Output) RunZoo(params string[] args)
    {
        // The example is a project reference, so its assembly and runtime config sit next to ours.
        string dll = Path.Combine(AppContext.BaseDirectory, "Zoo.dll");
        Assert.True(File.Exists(dll), "missing " + dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "the zoo did not finish in 60 s");
        return (process.ExitCode, stdout + stderr.Result);
    }
}
