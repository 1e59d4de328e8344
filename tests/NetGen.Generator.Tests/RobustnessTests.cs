using System.Linq;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>The generator never throws: malformed declarations produce diagnostics, never CS8785.</summary>
public class RobustnessTests
{
    public static TheoryData<string> Malformed => new()
    {
        // Forward with a body that does not compile.
        "using NetGen; using static NetGen.Layers; [Network] public partial class A { Tensor Forward([Shape(4)] Tensor x) { return Relu(y); } }",
        // Forward returning the wrong type.
        "using NetGen; [Network] public partial class B { int Forward([Shape(4)] Tensor x) => 3; }",
        // Non-Tensor input.
        "using NetGen; using static NetGen.Layers; [Network] public partial class C { Tensor Forward([Shape(4)] int x) => default; }",
        // Empty and negative shapes.
        "using NetGen; using static NetGen.Layers; [Network] public partial class D { Tensor Forward([Shape] Tensor x) => Relu(x); }",
        "using NetGen; using static NetGen.Layers; [Network] public partial class E { Tensor Forward([Shape(-1, 2)] Tensor x) => Relu(x); }",
        // Layer attribute with nonsense values.
        "using NetGen; using static NetGen.Layers; [Network] public partial class F { [Conv2d(-3, Kernel = 0)] private partial Tensor C(Tensor x); Tensor Forward([Shape(1, 4, 4)] Tensor x) => C(x); }",
        // Lambdas, object creation, string interpolation.
        "using NetGen; using static NetGen.Layers; [Network] public partial class G { Tensor Forward([Shape(4)] Tensor x) { System.Func<int> f = () => 1; return x; } }",
        "using NetGen; using static NetGen.Layers; [Network] public partial class H { Tensor Forward([Shape(4)] Tensor x) { var o = new object(); return x; } }",
        // Division by zero and overflow in constants.
        "using NetGen; using static NetGen.Layers; [Network] public partial class I { Tensor Forward([Shape(4)] Tensor x) { int z = 0; return Dense(x, 4 / z); } }",
        // Infinite loop.
        "using NetGen; using static NetGen.Layers; [Network] public partial class J { Tensor Forward([Shape(4)] Tensor x) { for (int i = 0; i < 1; i += 0) x = Relu(x); return x; } }",
        // Mutual recursion.
        "using NetGen; using static NetGen.Layers; [Network] public partial class K { Tensor Forward([Shape(4)] Tensor x) => P(x); Tensor P(Tensor x) => Q(x); Tensor Q(Tensor x) => P(x); }",
        // Two Forward methods.
        "using NetGen; using static NetGen.Layers; [Network] public partial class L { Tensor Forward([Shape(4)] Tensor x) => x; Tensor Forward([Shape(4)] Tensor x, [Shape(4)] Tensor y) => x; }",
        // Returning nothing useful / a tuple.
        "using NetGen; using static NetGen.Layers; [Network] public partial class M { (Tensor, Tensor) Forward([Shape(4)] Tensor x) => (x, x); }",
        "using NetGen; using static NetGen.Layers; [Network] public partial class N { Tensor Forward([Shape(4)] Tensor x) => (x, x).Item1 + Softmax(Conv2d(x, 2, 3)); }",
        // Index out of range, deconstruction mismatch.
        "using NetGen; using static NetGen.Layers; [Network] public partial class O { Tensor Forward([Shape(4)] Tensor x) { var a = new[] { 1, 2 }; return Dense(x, a[5]); } }",
        "using NetGen; using static NetGen.Layers; [Network] public partial class P { Tensor Forward([Shape(4)] Tensor x) { var (a, b) = (1, 2, 3); return x; } }",
        // Nested in a non-partial class.
        "using NetGen; using static NetGen.Layers; public class Outer { [Network] public partial class Q { Tensor Forward([Shape(4)] Tensor x) => Relu(x); } }",
        // Incomplete code while typing.
        "using NetGen; using static NetGen.Layers; [Network] public partial class R { Tensor Forward([Shape(4)] Tensor x) { var y = Dense(x, ; return y; } }",
        "using NetGen; using static NetGen.Layers; [Network] public partial class S { Tensor Forward([Shape(4)] Tensor x) { return MaxPool2d(x, 2, stride: -1); } }",
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_declarations_report_diagnostics_and_never_crash(string source)
    {
        var result = GeneratorHarness.Run(source); // throws if the generator threw
        Assert.DoesNotContain(result.CompileDiagnostics.Concat(result.GeneratorDiagnostics), d => d.Id == "CS8785");
        Assert.DoesNotContain(result.GeneratorDiagnostics, d => d.Id == "NG0099");
        Assert.True(result.GeneratorDiagnostics.Any(d => d.Id.StartsWith("NG")) || result.CompileDiagnostics.Any(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error),
            "a malformed declaration must be reported");
    }

    /// <summary>
    /// Every prefix of real declarations (as while typing), cut every few characters: the generator
    /// must never throw, whatever half-written code it sees.
    /// </summary>
    [Theory]
    [InlineData(nameof(Sources.LeNet5))]
    [InlineData(nameof(Sources.TinyDag))]
    public void Every_prefix_of_a_declaration_is_handled(string which)
    {
        string source = which == nameof(Sources.LeNet5) ? Sources.LeNet5 : Sources.TinyDag;
        int runs = 0;
        for (int length = 0; length <= source.Length; length += 5)
        {
            var result = GeneratorHarness.Run(source.Substring(0, length)); // throws if the generator threw
            Assert.DoesNotContain(result.GeneratorDiagnostics, d => d.Id is "CS8785" or "NG0099");
            runs++;
        }
        Assert.True(runs > 50);
    }

    /// <summary>Each declaration with one line removed (a lost declaration, a missing return, ...).</summary>
    [Theory]
    [InlineData(nameof(Sources.LeNet5))]
    [InlineData(nameof(Sources.TinyDag))]
    public void Every_single_line_deletion_is_handled(string which)
    {
        var lines = (which == nameof(Sources.LeNet5) ? Sources.LeNet5 : Sources.TinyDag).Split('\n');
        for (int skip = 0; skip < lines.Length; skip++)
        {
            string source = string.Join("\n", lines.Where((_, i) => i != skip));
            var result = GeneratorHarness.Run(source);
            Assert.DoesNotContain(result.GeneratorDiagnostics, d => d.Id is "CS8785" or "NG0099");
        }
    }
}
