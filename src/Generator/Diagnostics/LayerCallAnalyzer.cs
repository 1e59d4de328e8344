using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace NetGen.Generator.Diagnostics;

/// <summary>
/// NG0007: a NetGen layer marker (a <c>NetGen.Layers</c> function or a <c>Tensor</c> operator) used
/// outside a [Network] class. Such code compiles but throws when run, so it is flagged at build time.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LayerCallAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.LayerOutsideNetwork);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var layers = start.Compilation.GetTypeByMetadataName("NetGen.Layers");
            var tensor = start.Compilation.GetTypeByMetadataName("NetGen.Tensor");
            var network = start.Compilation.GetTypeByMetadataName(NetworkGenerator.NetworkAttributeName);
            if (layers is null || tensor is null) return;
            start.RegisterOperationAction(op =>
            {
                var invocation = (IInvocationOperation)op.Operation;
                var method = invocation.TargetMethod;
                if (!SymbolEqualityComparer.Default.Equals(method.ContainingType, layers) || method.Name == "NotInForward") return;
                if (InsideNetwork(op.ContainingSymbol, network)) return;
                op.ReportDiagnostic(Diagnostic.Create(Descriptors.LayerOutsideNetwork, invocation.Syntax.GetLocation(), "Layers." + method.Name));
            }, OperationKind.Invocation);
            start.RegisterOperationAction(op =>
            {
                var binary = (IBinaryOperation)op.Operation;
                if (!SymbolEqualityComparer.Default.Equals(binary.OperatorMethod?.ContainingType, tensor)) return;
                if (InsideNetwork(op.ContainingSymbol, network)) return;
                op.ReportDiagnostic(Diagnostic.Create(Descriptors.LayerOutsideNetwork, binary.Syntax.GetLocation(), "Tensor " + binary.OperatorMethod!.Name.Replace("op_Addition", "+").Replace("op_Multiply", "*")));
            }, OperationKind.Binary);
            start.RegisterOperationAction(op =>
            {
                var property = (IPropertyReferenceOperation)op.Operation;
                if (!SymbolEqualityComparer.Default.Equals(property.Property.ContainingType, tensor)) return;
                if (InsideNetwork(op.ContainingSymbol, network)) return;
                op.ReportDiagnostic(Diagnostic.Create(Descriptors.LayerOutsideNetwork, property.Syntax.GetLocation(), "Tensor." + property.Property.Name));
            }, OperationKind.PropertyReference);
        });
    }

    private static bool InsideNetwork(ISymbol? symbol, INamedTypeSymbol? network)
    {
        if (network is null) return false;
        for (var type = symbol as INamedTypeSymbol ?? symbol?.ContainingType; type is not null; type = type.ContainingType)
        {
            if (type.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, network)))
                return true;
        }
        return false;
    }
}
