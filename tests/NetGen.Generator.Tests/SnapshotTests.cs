using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace NetGen.Generator.Tests;

public class SnapshotTests
{
    [Fact]
    public void LeNet5_generated_code_matches_snapshot_and_compiles()
    {
        var result = GeneratorHarness.Run(Sources.LeNet5);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.Errors);
        Assert.Equal(2, result.Run.GeneratedTrees.Length);
        Assert.EndsWith("NetGen.Examples.LeNet5.LeNet5.g.cs", result.Run.GeneratedTrees[0].FilePath);
        Assert.EndsWith("NetGen.Examples.LeNet5.LeNet5.Cuda.g.cs", result.Run.GeneratedTrees[1].FilePath);
        Snapshot.Match(result.CpuText, "LeNet5");
    }

    [Fact]
    public void LeNet5_CUDA_path_matches_snapshot_and_compiles()
    {
        var result = GeneratorHarness.Run(Sources.LeNet5);
        Assert.Empty(result.Errors);
        Snapshot.Match(result.CudaText, "LeNet5.Cuda");
    }

    [Fact]
    public void TinyDag_generated_code_matches_snapshot_and_compiles()
    {
        var result = GeneratorHarness.Run(Sources.TinyDag);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.Errors);
        Snapshot.Match(result.CpuText, "TinyDag");
    }

    [Fact]
    public void TinyDag_CUDA_path_takes_both_inputs_and_returns_both_gradients()
    {
        var result = GeneratorHarness.Run(Sources.TinyDag);
        Assert.Empty(result.Errors);
        Assert.Contains("public global::System.ReadOnlySpan<float> Forward(global::System.ReadOnlySpan<float> image, global::System.ReadOnlySpan<float> extra, int batch, bool training)", result.CudaText);
        Assert.Contains("var result = _cuda.Forward(image, extra, batch, training);", result.CpuText);
        Snapshot.Match(result.CudaText, "TinyDag.Cuda");
    }

    [Fact]
    public void Recurrent_layers_CUDA_path_matches_snapshot_and_compiles()
    {
        // an LSTM with initial states (three inputs) into a two-layer bidirectional GRU's last state: every recurrent
        // variant the CUDA path emits (own sequences, reverse directions, last-state selection, state gradients)
        const string source = """
            using NetGen;
            using static NetGen.Layers;
            namespace Demo;
            [Network]
            public partial class TinySequence
            {
                Tensor Forward([Shape(5, 3)] Tensor x, [Shape(4)] Tensor h0, [Shape(4)] Tensor c0) =>
                    Dense(Gru(Lstm(x, hidden: 4, initialHidden: h0, initialCell: c0), hidden: 3, layers: 2, bidirectional: true, returnSequences: false), 2);
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.Errors);
        Assert.Contains("L1Reverse.Backward(batch, ", result.CudaText);
        Snapshot.Match(result.CpuText, "TinySequence");
        Snapshot.Match(result.CudaText, "TinySequence.Cuda");
    }

    [Fact]
    public void A_CUDA_path_with_three_outputs_copies_each_out_and_each_gradient_in()
    {
        const string source = """
            using NetGen;
            using static NetGen.Layers;
            namespace Demo;
            [Network]
            public partial class TinyVae
            {
                (Tensor Reconstruction, Tensor Mean, Tensor LogVar) Forward([Shape(12)] Tensor x, [Shape(3)] Tensor noise)
                {
                    var h = Relu(Dense(x, 8));
                    var mean = Dense(h, 3);
                    var logVar = Dense(h, 3);
                    var z = mean + Exp(Scale(logVar, 0.5)) * noise;
                    return (Sigmoid(Dense(z, 12)), mean, logVar);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.Errors);
        string cuda = result.CudaText;
        Assert.Contains("Backward(global::System.ReadOnlySpan<float> reconstructionGradient, global::System.ReadOnlySpan<float> meanGradient, global::System.ReadOnlySpan<float> logVarGradient, int batch, bool inputGradient)", cuda);
        Assert.Contains("return _cuda.Backward(reconstructionGradient, meanGradient, logVarGradient, batch, inputGradient);", result.CpuText);
        // the outputs read inside (mean, logVar) get the caller's gradient in their slot, and their readers add to it
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(cuda, @"_context\.CopyToDevice\([^;]*Gradient\.Slice").Count);
        Assert.Contains("// Mean", cuda);
        Assert.Contains("// LogVar", cuda);
        Assert.DoesNotContain("public float TrainStep", cuda); // one loss per output is the caller's, as on the CPU
        Assert.Contains("_outputBatch = batch; _outputTraining = training;", result.CpuText);
    }

    [Fact]
    public void LeNet5_summary_reports_61706_parameters()
    {
        var result = GeneratorHarness.Run(Sources.LeNet5);
        Assert.Contains("public const int ParameterCount = 61706;", result.GeneratedText);
        Assert.Contains("Total parameters: 61,706", result.GeneratedText);
    }

    [Fact]
    public void Parameter_names_follow_members_and_explicit_names()
    {
        var text = GeneratorHarness.Run(Sources.TinyDag).GeneratedText;
        foreach (var name in new[] { "conv1.weight", "conv2.weight", "conv3.bias", "dense1.weight", "Shared.weight", "head.weight", "head.bias" })
            Assert.Contains("new(\"" + name + "\"", text);
        // Shared is called twice but owns one set of weights.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "new\\(\"Shared.weight\"").Cast<object>());
    }

    [Fact]
    public void Networks_in_the_global_namespace_and_nested_classes_compile()
    {
        const string source = """
            using NetGen;
            using static NetGen.Layers;

            [Network]
            public partial class GlobalNet
            {
                Tensor Forward([Shape(3)] Tensor x) => Dense(x, 2);
            }

            namespace Outer.Inner
            {
                public partial class Host
                {
                    internal partial struct Holder
                    {
                        [Network]
                        internal partial class NestedNet
                        {
                            [Dense(4)] private partial Tensor Hidden(Tensor x);
                            Tensor Forward([Shape(3)] Tensor @in) => Relu(Hidden(@in));
                        }
                    }
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.Errors);
        Assert.Equal(new[] { "GlobalNet.Cuda.g.cs", "GlobalNet.g.cs", "Outer.Inner.Host.Holder.NestedNet.Cuda.g.cs", "Outer.Inner.Host.Holder.NestedNet.g.cs" },
            result.Run.GeneratedTrees.Select(t => System.IO.Path.GetFileName(t.FilePath)).OrderBy(x => x));
    }

    [Fact]
    public void Generic_network_classes_are_reported_not_generated()
    {
        const string source = """
            using NetGen;
            using static NetGen.Layers;

            [Network]
            public partial class GenericNet<T>
            {
                Tensor Forward([Shape(3)] Tensor x) => Dense(x, 2);
            }
            """;
        var result = GeneratorHarness.Run(source);
        var d = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal("NG0006", d.Id);
        Assert.Contains("generic", d.GetMessage());
        Assert.Empty(result.Run.GeneratedTrees);
    }
}
