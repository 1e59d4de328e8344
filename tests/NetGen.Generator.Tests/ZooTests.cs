using System;
using System.Diagnostics;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Generator.Tests;

/// <summary>The zoo (examples/Zoo) through the generator: torchvision's parameter counts, snapshot, build cost.</summary>
public class ZooTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("AlexNet", 61_100_840)]
    [InlineData("Vgg16", 138_357_544)]
    [InlineData("GoogLeNet", 6_624_904)]
    [InlineData("ResNet18", 11_689_512)]
    [InlineData("ResNet50", 25_557_032)]
    public void Parameter_count_equals_torchvision(string network, int expected)
    {
        string source = network switch
        {
            "AlexNet" => Sources.AlexNet, "Vgg16" => Sources.Vgg16, "GoogLeNet" => Sources.GoogLeNet,
            "ResNet18" => Sources.ResNet18, _ => Sources.ResNet50,
        };
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.Errors);
        Assert.Contains("public const int ParameterCount = " + expected + ";", result.GeneratedText);
        Assert.Contains("Total parameters: " + expected.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), result.GeneratedText);
    }

    [Fact]
    public void ResNet18_generated_code_matches_snapshot_and_compiles()
    {
        var result = GeneratorHarness.Run(Sources.ResNet18);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.Errors);
        Assert.Contains("new(\"layer2.0.downsample.1.running_var\"", result.GeneratedText);
        Assert.Contains("20 BatchNorms folded", result.GeneratedText);
        Snapshot.Match(result.CpuText, "ResNet18");
        Snapshot.Match(result.CudaText, "ResNet18.Cuda");
    }

    [Fact]
    public void AlexNet_CUDA_path_with_Dropout_matches_snapshot_and_compiles()
    {
        var result = GeneratorHarness.Run(Sources.AlexNet);
        Assert.Empty(result.Errors);
        // two Dropouts: two keys, drawn per training pass in forward order, and each backward multiplies by its mask
        Assert.Contains("new ulong[2]", result.CudaText);
        Assert.Contains("_dropoutForward.Run(", result.CudaText);
        Assert.Contains("_multiplyBackward.Run(", result.CudaText);
        Snapshot.Match(result.CudaText, "AlexNet.Cuda");
    }

    [Fact]
    public void GoogLeNet_gets_a_CUDA_path_with_Concat_and_ceil_mode_pooling()
    {
        var result = GeneratorHarness.Run(Sources.GoogLeNet);
        Assert.Empty(result.Errors);
        Assert.Contains("CudaBackend.Use(options, \"GoogLeNet\", unsupported: null)", result.CpuText);
        // each inception block concatenates four branches: four copies forward, four slices backward
        Assert.Equal(9 * 4, System.Text.RegularExpressions.Regex.Matches(result.CudaText, "_concatForward.Run\\(").Count);
        Assert.Equal(9 * 4, System.Text.RegularExpressions.Regex.Matches(result.CudaText, "_concatBackward.Run\\(").Count);
        // maxpool1: 64x112x112 -> 64x56x56, kernel 3, stride 2, no padding, ceil mode (the size the CPU plans)
        Assert.Contains("_maxPoolForward.Run(batch * 200704, A(", result.CudaText);
        Assert.Contains("batch * 64, 112, 112, 56, 56, 3, 2, 0);", result.CudaText);
    }

    [Fact]
    public void Every_op_has_a_CUDA_path_so_a_recurrent_network_gets_its_CUDA_file()
    {
        // The unsupported branch (the CPU-only constructor line naming the op) stays for ops that land on the CPU first;
        // tests/NetGen.Integration.Tests/CudaBackendTests checks the runtime's message for it.
        Assert.All(Enum.GetValues<NetGen.Generator.Model.OpKind>(), op => Assert.True(NetGen.Generator.Emit.CudaEmitter.HasCudaPath(op), op + " has no CUDA path"));
        const string source = """
            using NetGen;
            using static NetGen.Layers;
            namespace Demo;
            [Network]
            public partial class Classifier
            {
                Tensor Forward([Shape(5, 3)] Tensor x) => Lstm(x, 4);
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.Errors);
        Assert.Contains("_lstm1L0.Forward(batch, ", result.CudaText);
        Assert.Contains("CudaBackend.Use(options, \"Classifier\", unsupported: null)", result.CpuText);
    }

    [Fact]
    public void Editing_ResNet50_reruns_the_generator_for_that_network_only()
    {
        var compilation = GeneratorHarness.Compile(Sources.AlexNet, Sources.GoogLeNet, Sources.ResNet18, Sources.ResNet50);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var oldTree = compilation.SyntaxTrees.Single(t => t.ToString().Contains("class ResNet50"));
        string text = oldTree.ToString();
        int at = text.IndexOf("1000, name: \"fc\"", StringComparison.Ordinal);
        Assert.True(at >= 0, "ResNet50.cs no longer ends in a 1000-way fc");
        var newTree = oldTree.WithChangedText(oldTree.GetText().Replace(at, 4, "1001"));
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree));

        var reasons = driver.GetRunResult().Results.Single().TrackedSteps["NetGen.Parse"]
            .SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.Equal(4, reasons.Count);
        Assert.Single(reasons, r => r == IncrementalStepRunReason.Modified);
        Assert.Equal(3, reasons.Count(r => r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));
        Assert.Contains(driver.GetRunResult().GeneratedTrees, t => t.ToString().Contains("class ResNet50") && t.ToString().Contains("OutputSize = 1001;"));
    }

    [Fact]
    public void ResNet50_generator_time_is_reported()
    {
        var compilation = GeneratorHarness.Compile(Sources.ResNet50);
        GeneratorHarness.CreateDriver().RunGenerators(compilation); // warm up the generator's code paths
        var clock = Stopwatch.StartNew();
        var driver = GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(Sources.ResNet50));
        clock.Stop();
        var generated = string.Concat(driver.GetRunResult().GeneratedTrees.Select(t => t.ToString())); // the CPU file, then the CUDA path
        Assert.Contains("public const int ParameterCount = 25557032;", generated);
        output.WriteLine($"ResNet-50: generator run (parse, shapes, plan, emit) {clock.Elapsed.TotalMilliseconds:F0} ms, {generated.Length:N0} characters generated");
    }
}
