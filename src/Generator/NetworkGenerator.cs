using System.Linq;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Parsing;
using NetGen.Generator.Planning;

namespace NetGen.Generator;

/// <summary>
/// The NetGen incremental generator. Wiring only: Parsing reads a [Network] class into an equatable
/// <see cref="NetworkSpec"/> (shapes inferred on the way), Planning lays out memory, Emit writes C#.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class NetworkGenerator : IIncrementalGenerator
{
    public const string NetworkAttributeName = "NetGen.NetworkAttribute";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var networks = context.SyntaxProvider.ForAttributeWithMetadataName(
                NetworkAttributeName,
                predicate: static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                transform: static (ctx, ct) => NetworkParser.Parse((INamedTypeSymbol)ctx.TargetSymbol, ctx.SemanticModel.Compilation, ct))
            .WithTrackingName("NetGen.Parse");

        context.RegisterSourceOutput(networks, static (spc, spec) => Execute(spc, spec));
    }

    private static void Execute(SourceProductionContext context, NetworkSpec spec)
    {
        foreach (var diagnostic in spec.Diagnostics)
            context.ReportDiagnostic(Descriptors.ToDiagnostic(diagnostic));
        bool failed = spec.Output < 0 || spec.HasErrors;
        if (failed && spec.LayerMembers.Count == 0)
            return;

        string source;
        string? cuda = null;
        try
        {
            // A network with errors still gets its layer-member bodies, so the NG diagnostic is not
            // buried under CS8795 "partial method must have an implementation".
            if (failed)
            {
                source = CpuEmitter.EmitMembersOnly(spec);
            }
            else
            {
                var plan = Planner.Build(spec);
                source = CpuEmitter.Emit(plan);
                if (CudaEmitter.Unsupported(plan) is null) cuda = CudaEmitter.Emit(plan);
            }
        }
        catch (System.Exception e) when (e is not System.OperationCanceledException)
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.InternalError, Location.None, spec.ClassName, e.GetType().Name + ": " + e.Message));
            return;
        }
        string hint = (spec.Namespace is null ? "" : spec.Namespace + ".") + string.Concat(spec.ContainingTypes.Select(t => t.Split(' ').Last() + ".")) + spec.ClassName + ".g.cs";
        context.AddSource(hint, source);
        if (cuda is not null) context.AddSource(hint.Substring(0, hint.Length - ".g.cs".Length) + ".Cuda.g.cs", cuda);
    }
}
