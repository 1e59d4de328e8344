using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>One test per NG diagnostic: id, the exact source span it points at, and the message.</summary>
public class DiagnosticTests
{
    private static string Network(string members, string body, string extraParameters = "", string extra = "") => $$"""
        using NetGen;
        using static NetGen.Layers;

        namespace Demo;

        [Network]
        public partial class Net
        {
        {{members}}
            Tensor Forward([Shape(1, 8, 8)] Tensor image{{extraParameters}})
            {
        {{body}}
            }
        {{extra}}
        }
        """;

    private static Diagnostic Single(string source, string id)
    {
        var result = GeneratorHarness.Run(source);
        var diagnostics = result.GeneratorDiagnostics.Where(d => d.Id.StartsWith("NG")).ToList();
        Assert.True(diagnostics.Count == 1, "expected one NG diagnostic, got: " + string.Join("; ", diagnostics));
        Assert.Equal(id, diagnostics[0].Id);
        // A network with errors generates no network code, and only the NG diagnostic is an error
        // (the layer members still get their bodies, so there is no CS8795 beside it).
        Assert.DoesNotContain(result.Run.GeneratedTrees, t => t.ToString().Contains("public global::System.ReadOnlySpan<float> Forward("));
        Assert.DoesNotContain(result.CompileDiagnostics, d => d.Id == "CS8795");
        return diagnostics[0];
    }

    private static void AssertAt(Diagnostic diagnostic, string source, string expectedText)
    {
        // Generator diagnostics carry file + span (no SyntaxTree survives the pipeline), so compare
        // against the source text directly.
        Assert.EndsWith(".cs", diagnostic.Location.GetLineSpan().Path);
        var span = diagnostic.Location.SourceSpan;
        Assert.Equal(expectedText, source.Substring(span.Start, span.Length));
    }

    [Fact]
    public void NG0001_channel_mismatch_names_the_layer_and_shapes()
    {
        var source = Network("    [Conv2d(16, Kernel = 3, InChannels = 3)] private partial Tensor C3(Tensor x);",
            "        var x = AvgPool2d(Relu(Conv2d(image, 6, 3, padding: 1)), 2);\n        return Flatten(C3(x));");
        var d = Single(source, "NG0001");
        AssertAt(d, source, "C3(x)");
        Assert.Equal("C3 (Conv2d) expects 3 input channels; C3 receives 6x4x4 (from avgpool1)", d.GetMessage());
    }

    [Fact]
    public void NG0001_shared_dense_called_with_another_width()
    {
        var source = Network("    [Dense(4)] private partial Tensor D(Tensor x);",
            "        var a = D(Flatten(image));\n        return D(a);");
        var d = Single(source, "NG0001");
        AssertAt(d, source, "D(a)");
        Assert.Equal("D (Dense) expects 64 input features; D receives 4 (from D)", d.GetMessage());
    }

    [Fact]
    public void NG0002_non_positive_output_size()
    {
        var source = Network("", "        return Flatten(Conv2d(image, 4, kernel: 9));");
        var d = Single(source, "NG0002");
        AssertAt(d, source, "Conv2d(image, 4, kernel: 9)");
        Assert.Equal("conv1 (Conv2d) on input 1x8x8 (from image) with kernel 9, stride 1, padding 0 gives output 4x0x0: every dimension must be positive", d.GetMessage());
    }

    [Fact]
    public void NG0003_dense_after_unflattened_tensor()
    {
        var source = Network("", "        var x = Relu(Conv2d(image, 4, 3, padding: 1));\n        return Dense(x, 10);");
        var d = Single(source, "NG0003");
        AssertAt(d, source, "x");
        Assert.Equal(source.IndexOf("Dense(x, 10)") + "Dense(".Length, d.Location.SourceSpan.Start);
        Assert.Equal("Dense needs a flat tensor but receives 4x8x8 (from relu1); insert Flatten(...) first", d.GetMessage());
    }

    [Fact]
    public void NG0004_input_without_shape()
    {
        var source = Network("", "        return Flatten(image);", extraParameters: ", Tensor mask");
        var d = Single(source, "NG0004");
        AssertAt(d, source, "mask");
        Assert.Equal("Forward parameter 'mask' needs a [Shape(...)] attribute giving its per-sample dimensions, e.g. [Shape(1, 28, 28)]", d.GetMessage());
    }

    [Fact]
    public void NG0005_non_constant_layer_argument()
    {
        var source = Network("    private int k = 3;", "        return Flatten(Conv2d(image, 4, kernel: k));");
        var d = Single(source, "NG0005");
        Assert.Equal(source.IndexOf("kernel: k") + "kernel: ".Length, d.Location.SourceSpan.Start);
        Assert.Equal(1, d.Location.SourceSpan.Length);
        Assert.Equal("Argument 'kernel' of Conv2d must be a compile-time constant, but 'k' is not", d.GetMessage());
    }

    [Fact]
    public void NG0006_unsupported_construct()
    {
        var source = Network("", "        var x = image;\n        while (true) { x = Relu(x); }\n        return Flatten(x);");
        var d = Single(source, "NG0006");
        AssertAt(d, source, "while (true) { x = Relu(x); }");
        Assert.Equal("'while (true) { x = Relu(x); }' (While statement) is not supported in a network specification: use locals, if, for/foreach with constant bounds, helper calls and return", d.GetMessage());
    }

    [Fact]
    public void NG0007_layer_function_called_outside_a_network()
    {
        const string source = """
            using NetGen;
            using static NetGen.Layers;

            public class NotANetwork
            {
                public Tensor Apply(Tensor x) => Relu(x);
            }
            """;
        var compilation = GeneratorHarness.Compile(source);
        var diagnostics = GeneratorHarness.Analyze(compilation);
        var d = Assert.Single(diagnostics);
        Assert.Equal("NG0007", d.Id);
        AssertAt(d, source, "Relu(x)");
        Assert.Equal("'Layers.Relu' is a NetGen layer marker and only has meaning inside the Forward specification of a [Network] partial class; it throws if run", d.GetMessage());
        // Tensor operators and shape properties are markers too.
        const string operators = """
            using NetGen;

            public static class Helpers
            {
                public static Tensor Twice(Tensor x) => x + x;
                public static int Depth(Tensor x) => x.Channels;
            }
            """;
        // The analyzer runs concurrently, so order the diagnostics by position before comparing.
        var flagged = GeneratorHarness.Analyze(GeneratorHarness.Compile(operators)).OrderBy(f => f.Location.SourceSpan.Start).ToList();
        Assert.Equal(new[] { "x + x", "x.Channels" }, flagged.Select(f => operators.Substring(f.Location.SourceSpan.Start, f.Location.SourceSpan.Length)));
        Assert.All(flagged, f => Assert.Equal("NG0007", f.Id));
        // Inside a [Network] class the same call is the specification, not a mistake.
        Assert.Empty(GeneratorHarness.Analyze(GeneratorHarness.Compile(Sources.LeNet5)));
    }

    [Fact]
    public void NG0008_missing_forward()
    {
        const string source = """
            using NetGen;

            [Network]
            public partial class Empty
            {
            }
            """;
        var d = Single(source, "NG0008");
        AssertAt(d, source, "Empty");
        Assert.Equal("[Network] class 'Empty' needs exactly one method 'Tensor Forward(...)' whose parameters are [Shape]-annotated Tensors", d.GetMessage());
    }

    [Fact]
    public void NG0009_class_not_partial()
    {
        const string source = """
            using NetGen;
            using static NetGen.Layers;

            [Network]
            public class Plain
            {
                Tensor Forward([Shape(4)] Tensor x) => Relu(x);
            }
            """;
        var d = Single(source, "NG0009");
        AssertAt(d, source, "Plain");
        Assert.Equal("[Network] class 'Plain' must be declared partial (and so must every class that contains it)", d.GetMessage());
    }

    [Fact]
    public void NG0010_recursive_helper()
    {
        var source = Network("", "        return Flatten(Deep(image));",
            extra: "    Tensor Deep(Tensor x) => Relu(Deep(x));");
        var d = Single(source, "NG0010");
        AssertAt(d, source, "Deep(x)");
        Assert.Equal("Helper method 'Deep' calls itself (through Forward -> Deep -> Deep); a network specification must be finite", d.GetMessage());
    }

    [Fact]
    public void NG0011_invalid_argument_value()
    {
        var source = Network("", "        return Flatten(Conv2d(image, 4, 3, stride: 0));");
        var d = Single(source, "NG0011");
        AssertAt(d, source, "Conv2d(image, 4, 3, stride: 0)");
        Assert.Equal("Argument 'stride' of Conv2d is 0; it must be positive", d.GetMessage());
    }

    [Fact]
    public void NG0012_residual_add_with_mismatched_shapes_suggests_projection()
    {
        var source = Network("", "        var y = Conv2d(image, 4, 3, stride: 2, padding: 1);\n        return Flatten(y + image);");
        var d = Single(source, "NG0012");
        AssertAt(d, source, "y + image");
        Assert.Equal("Tensor + needs operands of the same shape but receives 4x4x4 (from conv1) and 1x8x8 (from image); for a residual connection, project the shortcut with a 1x1 Conv2d (stride 2) to 4x4x4", d.GetMessage());
    }

    [Fact]
    public void NG0013_loop_bound_not_constant()
    {
        var source = Network("    private int depth = 3;", "        var x = image;\n        for (int i = 0; i < depth; i++) x = Relu(x);\n        return Flatten(x);");
        var d = Single(source, "NG0013");
        AssertAt(d, source, "for");
        Assert.Equal("for: the loop must have compile-time constant bounds and at most 10000 iterations ('depth' is not a compile-time constant)", d.GetMessage());
    }

    [Fact]
    public void NG0014_duplicate_layer_name()
    {
        var source = Network("", "        var x = Dense(Flatten(image), 10, name: \"head\");\n        return Dense(x, 10, name: \"head\");");
        var d = Single(source, "NG0014");
        Assert.Equal(source.LastIndexOf("\"head\""), d.Location.SourceSpan.Start);
        Assert.Equal("Two layers are both named 'head'; parameter names must be unique", d.GetMessage());
    }

    [Fact]
    public void NG0015_unused_layer_is_a_warning_and_code_is_still_generated()
    {
        var source = Network("", "        var unused = Dense(Flatten(image), 5);\n        return Dense(Flatten(image), 10);");
        var result = GeneratorHarness.Run(source);
        var d = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal("NG0015", d.Id);
        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        AssertAt(d, source, "Dense(Flatten(image), 5)");
        Assert.Equal("The result of dense1 (Dense) does not reach the network output; its computation and parameters are dropped", d.GetMessage());
        Assert.Empty(result.Errors);
        Assert.Contains("public const int ParameterCount = 650;", result.GeneratedText);
    }

    // ---- the zoo's DAG cases

    [Fact]
    public void NG0016_concat_with_mismatched_spatial_sizes()
    {
        var source = Network("", "        var a = Conv2d(image, 4, 1);\n        var b = Conv2d(image, 4, 3, stride: 2, padding: 1);\n        return Flatten(Concat(a, b));");
        var d = Single(source, "NG0016");
        AssertAt(d, source, "b");
        Assert.Equal("Concat cannot join 4x8x8 (from conv1) and 4x4x4 (from conv2); concatenation along channels needs equal height and width (8x8 vs 4x4): adjust the stride or padding of one branch, or pool it", d.GetMessage());
    }

    [Fact]
    public void NG0016_concat_of_an_image_and_a_flat_tensor()
    {
        var source = Network("", "        var a = Flatten(image);\n        return Flatten(Concat(image, a));");
        var d = Single(source, "NG0016");
        AssertAt(d, source, "a");
        Assert.Equal("Concat cannot join 1x8x8 (from image) and 64 (from flatten1); both must be images (CxHxW) or both flat", d.GetMessage());
    }

    [Fact]
    public void NG0012_residual_block_with_a_stride_suggests_projection()
    {
        var source = Network("", "        var x = Conv2d(image, 4, 3, padding: 1);\n        return Flatten(Block(x, 8, 2));",
            extra: "    Tensor Block(Tensor x, int channels, int stride)\n    {\n        var y = Relu(BatchNorm(Conv2d(x, channels, 3, stride, padding: 1, bias: false)));\n        return Relu(y + x);\n    }");
        var d = Single(source, "NG0012");
        AssertAt(d, source, "y + x");
        Assert.Contains("for a residual connection, project the shortcut with a 1x1 Conv2d (stride 2) to 8x4x4", d.GetMessage());
    }

    [Fact]
    public void NG0005_block_argument_that_is_not_constant()
    {
        var source = Network("    private int width = 8;", "        return Flatten(Block(image, width));",
            extra: "    Tensor Block(Tensor x, int channels) => Relu(BatchNorm(Conv2d(x, channels, 3, padding: 1)));");
        var d = Single(source, "NG0005");
        AssertAt(d, source, "width");
        Assert.Equal("Argument 'channels' of Block must be a compile-time constant, but 'width' is not", d.GetMessage());
    }

    [Theory]
    [InlineData("MaxPool2d(image, 3, stride: 2, padding: 2)", "padding: 2", "Argument 'padding' of MaxPool2d is 2; it must be between 0 and kernel/2 (1), as in PyTorch")]
    [InlineData("Dropout(image, p: 1.0)", "p: 1.0", "Argument 'p' of Dropout is 1; the drop probability must be in [0, 1)")]
    [InlineData("BatchNorm(image, epsilon: 0)", "epsilon: 0", "Argument 'epsilon' of BatchNorm is 0; it must be positive")]
    [InlineData("AdaptiveAvgPool2d(image, 0, 2)", "0", "Argument 'height' of AdaptiveAvgPool2d is 0; it must be positive")]
    [InlineData("LocalResponseNorm(image, size: 0)", "size: 0", "Argument 'size' of LocalResponseNorm is 0; it must be positive")]
    public void NG0011_invalid_zoo_op_arguments(string call, string at, string message)
    {
        var source = Network("", "        return Flatten(" + call + ");");
        var d = Single(source, "NG0011");
        AssertAt(d, source, at.Contains(':') ? at.Substring(at.IndexOf(':') + 2) : at);
        Assert.Equal(message, d.GetMessage());
    }

    // ---- generative models' ops

    [Theory]
    [InlineData("ConvTranspose2d(image, 4, 3, stride: 2, outputPadding: 2)", "2", "Argument 'outputPadding' of ConvTranspose2d is 2; it must be at least 0 and smaller than the stride (2), as in PyTorch")]
    [InlineData("Reshape(image, 2, 4, 4)", "Reshape(image, 2, 4, 4)", "Argument 'shape' of Reshape is 2x4x4; it must hold exactly the 64 values of 1x8x8 (from image)")]
    [InlineData("Upsample(image, scale: 0)", "0", "Argument 'scale' of Upsample is 0; it must be positive")]
    public void NG0011_invalid_generative_op_arguments(string call, string at, string message)
    {
        var source = Network("", "        return Flatten(" + call + ");");
        var d = Single(source, "NG0011");
        AssertAt(d, source, at);
        Assert.Equal(message, d.GetMessage());
    }

    [Fact]
    public void NG0006_returning_the_same_tensor_twice()
    {
        const string source = """
            using NetGen;
            using static NetGen.Layers;

            [Network]
            public partial class Twice
            {
                (Tensor A, Tensor B) Forward([Shape(4)] Tensor x)
                {
                    var y = Dense(x, 2);
                    return (y, y);
                }
            }
            """;
        var d = Single(source, "NG0006");
        Assert.Equal("Returning 2 (from dense1) twice is not supported in a network specification: each output must be a different tensor", d.GetMessage());
    }

    // ---- recurrent networks

    [Fact]
    public void NG0005_sequence_length_that_is_not_a_constant()
    {
        // C# itself rejects a non-constant attribute argument (CS0182); the generator names it instead of crashing or
        // reporting a zero-length sequence.
        var source = Network("    private static int steps = 20;", "        return Lstm(sequence, 8, returnSequences: false);",
            extraParameters: ", [Shape(steps, 4)] Tensor sequence");
        var d = Single(source, "NG0005");
        Assert.Equal(source.IndexOf("Shape(steps") + "Shape(".Length, d.Location.SourceSpan.Start);
        Assert.Equal("Argument 'steps (the sequence length)' of [Shape] on 'sequence' must be a compile-time constant, but 'steps' is not", d.GetMessage());
    }

    [Fact]
    public void NG0011_lstm_over_an_image_asks_for_a_sequence()
    {
        var source = Network("", "        return Lstm(image, 8, returnSequences: false);");
        var d = Single(source, "NG0011");
        AssertAt(d, source, "image");
        Assert.Equal("Argument 'x' of Lstm is 1x8x8 (from image); Lstm runs over a [Steps, Features] sequence: declare the input as [Shape(steps, features)]", d.GetMessage());
    }

    [Fact]
    public void NG0011_step_outside_the_sequence()
    {
        const string source = """
            using NetGen;
            using static NetGen.Layers;

            [Network]
            public partial class Seq
            {
                Tensor Forward([Shape(5, 3)] Tensor x) => Step(x, 5);
            }
            """;
        var d = Single(source, "NG0011");
        Assert.Equal("Argument 't' of Step is 5; the sequence has 5 steps (use 0..4, or -1 for the last)", d.GetMessage());
    }
}
