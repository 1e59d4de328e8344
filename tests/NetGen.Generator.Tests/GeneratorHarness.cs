using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace NetGen.Generator.Tests;

/// <summary>Runs the NetGen generator (and analyzer) over source text, as the compiler would.</summary>
internal static class GeneratorHarness
{
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is var f && (f.StartsWith("System.", StringComparison.Ordinal) || f is "mscorlib.dll" or "netstandard.dll"))
            .ToList();
        paths.Add(typeof(NetGen.INetwork).Assembly.Location);   // NetGen.Runtime
        paths.Add(typeof(NetGen.Tensor).Assembly.Location);     // NetGen.Attributes
        return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    });

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static CSharpCompilation Compile(params string[] sources) =>
        CSharpCompilation.Create("UserAssembly",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: i == 0 ? "Network.cs" : $"Network{i}.cs")),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create(
            new[] { new NetworkGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public sealed record Result(GeneratorDriverRunResult Run, Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics, ImmutableArray<Diagnostic> CompileDiagnostics)
    {
        public string GeneratedText => string.Join("\n", Run.GeneratedTrees.Select(t => t.GetText().ToString()));

        /// <summary>The CPU files (NAME.g.cs): everything but the CUDA paths.</summary>
        public string CpuText => string.Join("\n", Run.GeneratedTrees.Where(t => !t.FilePath.EndsWith(".Cuda.g.cs")).Select(t => t.GetText().ToString()));

        /// <summary>The CUDA paths (NAME.Cuda.g.cs), emitted for networks whose every op runs on CUDA.</summary>
        public string CudaText => string.Join("\n", Run.GeneratedTrees.Where(t => t.FilePath.EndsWith(".Cuda.g.cs")).Select(t => t.GetText().ToString()));

        public IEnumerable<Diagnostic> Errors => CompileDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);
    }

    public static Result Run(params string[] sources)
    {
        var compilation = Compile(sources);
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var run = driver.GetRunResult();
        var exception = run.Results.Select(r => r.Exception).FirstOrDefault(e => e is not null);
        if (exception is not null) throw new InvalidOperationException("The generator threw (the compiler would report CS8785): " + exception);
        return new Result(run, output, generatorDiagnostics, output.GetDiagnostics());
    }

    /// <summary>Runs the NG0007 analyzer over a compilation.</summary>
    public static ImmutableArray<Diagnostic> Analyze(Compilation compilation) =>
        compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new NetGen.Generator.Diagnostics.LayerCallAnalyzer()))
            .GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
}
