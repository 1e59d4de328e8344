using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Parsing;

/// <summary>
/// Reads one [Network] class into a <see cref="NetworkSpec"/> by partially evaluating its Forward
/// method: constants are computed, loops unrolled, helper methods inlined, and every layer call
/// becomes a graph node whose shape is inferred on the spot (so <c>x.Channels</c> works).
/// Nothing Roslyn-typed leaves this class.
/// </summary>
internal sealed partial class NetworkParser
{
    private const string LayersType = "NetGen.Layers";
    private const string TensorType = "NetGen.Tensor";
    private const string ShapeAttribute = "NetGen.ShapeAttribute";
    private const string Conv2dAttribute = "NetGen.Conv2dAttribute";
    private const string DenseAttribute = "NetGen.DenseAttribute";
    private const int MaxLoopIterations = 10000;

    private readonly INamedTypeSymbol _type;
    private readonly Compilation _compilation;
    private readonly CancellationToken _cancellationToken;
    private readonly List<NodeSpec> _nodes = new();
    private readonly List<ParamSpec> _params = new();
    private readonly Dictionary<int, LocationInfo?> _nodeLocations = new();
    private readonly HashSet<string> _layerNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _opCounters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MemberLayer> _memberLayers = new(StringComparer.Ordinal);
    private readonly List<DiagnosticInfo> _diagnostics = new();
    private readonly Stack<IMethodSymbol> _callStack = new();

    private NetworkParser(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
    {
        _type = type;
        _compilation = compilation;
        _cancellationToken = cancellationToken;
    }

    /// <summary>A member-declared layer: created on first call, shared afterwards.</summary>
    private sealed class MemberLayer
    {
        public required IMethodSymbol Method { get; init; }
        public required OpKind Op { get; init; }
        public required string Name { get; init; }
        public required int OutFeatures { get; init; }
        public int Kernel { get; init; }
        public int Stride { get; init; }
        public int Padding { get; init; }
        public bool Bias { get; init; }
        public int DeclaredIn { get; init; }
        public int Weight { get; set; } = -1;
        public int BiasIndex { get; set; } = -1;
        public int InFeatures { get; set; }
        public int Calls { get; set; }
    }

    public static NetworkSpec Parse(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
    {
        var parser = new NetworkParser(type, compilation, cancellationToken);
        return parser.Run();
    }

    private NetworkSpec Run()
    {
        var inputs = new List<InputSpec>();
        var members = new List<LayerMemberSpec>();
        var outputs = new List<OutputSpec>();
        int output = -1;
        try
        {
            CheckPartial();
            CollectMemberDeclarations(members);
            CollectMemberLayers();
            var forward = FindForward();
            var env = new Dictionary<string, Value>(StringComparer.Ordinal);
            foreach (var parameter in forward.Parameters)
            {
                var shapeAttr = parameter.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == ShapeAttribute);
                if (shapeAttr is null)
                    throw Error(Descriptors.MissingShape, parameter.Locations.FirstOrDefault(), parameter.Name);
                var dims = shapeAttr.ConstructorArguments.Length == 1 && shapeAttr.ConstructorArguments[0].Kind == TypedConstantKind.Array
                    ? shapeAttr.ConstructorArguments[0].Values.Select(v => v.Value is int i ? i : 0).ToArray()
                    : shapeAttr.ConstructorArguments.Select(v => v.Value is int i ? i : 0).ToArray();
                var attrSyntax = shapeAttr.ApplicationSyntaxReference?.GetSyntax(_cancellationToken);
                var attrLocation = attrSyntax?.GetLocation();
                // A dimension that is not a constant (a field, a local: C# also reports CS0182) has no value here:
                // name it, rather than report a zero dimension. For a sequence this is its length.
                var dimensionValues = shapeAttr.ConstructorArguments.Length == 1 && shapeAttr.ConstructorArguments[0].Kind == TypedConstantKind.Array
                    ? shapeAttr.ConstructorArguments[0].Values.Select(v => v.Value).ToArray()
                    : shapeAttr.ConstructorArguments.Select(v => v.Value).ToArray();
                var argumentSyntax = (attrSyntax as AttributeSyntax)?.ArgumentList?.Arguments;
                for (int d = 0; d < (argumentSyntax?.Count ?? 0); d++)
                {
                    if (d < dimensionValues.Length && dimensionValues[d] is int) continue;
                    var argument = argumentSyntax!.Value[d];
                    throw Error(Descriptors.NonConstantArgument, argument.GetLocation(),
                        argumentSyntax.Value.Count == 2 && d == 0 ? "steps (the sequence length)" : "dimension " + (d + 1),
                        "[Shape] on '" + parameter.Name + "'", argument.Expression.ToString());
                }
                if (dims.Length == 0 || dims.Any(d => d <= 0))
                    throw Error(Descriptors.InvalidArgument, attrLocation, "dimensions", "[Shape] on '" + parameter.Name + "'",
                        "(" + string.Join(", ", dims) + ")", "give one or more positive dimensions");
                if (dims.Length is < 1 or > 3)
                    throw Error(Descriptors.InvalidArgument, attrLocation, "dimensions", "[Shape] on '" + parameter.Name + "'",
                        "(" + string.Join(", ", dims) + ")", "inputs are flat vectors [Shape(N)], sequences [Shape(Steps, Features)] or images [Shape(C, H, W)]");
                var shape = Shape.Of(dims);
                int node = AddNode(OpKind.Input, parameter.Name, Array.Empty<int>(), shape, 0, 0, 0, -1, -1, parameter.Locations.FirstOrDefault());
                inputs.Add(new InputSpec(parameter.Name, node, shape));
                env[parameter.Name] = new TensorValue(node, shape, parameter.Name);
            }

            var result = InvokeMethodBody(forward, env, forward.Locations.FirstOrDefault());
            if (result is TensorValue tensor)
            {
                output = tensor.Node;
                outputs.Add(new OutputSpec("Output", tensor.Node));
            }
            else if (result is TupleValue tuple && tuple.Items.All(i => i is TensorValue))
            {
                var elements = (forward.ReturnType as INamedTypeSymbol)?.TupleElements ?? default;
                for (int i = 0; i < tuple.Items.Length; i++)
                {
                    var t = (TensorValue)tuple.Items[i];
                    string name = !elements.IsDefault && i < elements.Length && elements[i].IsExplicitlyNamedTupleElement
                        ? elements[i].Name : "Output" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (outputs.Any(o => o.Node == t.Node))
                        throw Error(Descriptors.UnsupportedConstruct, forward.Locations.FirstOrDefault(), "Returning " + t.Describe() + " twice",
                            "each output must be a different tensor");
                    if (_nodes[t.Node].Op == OpKind.Input)
                        throw Error(Descriptors.UnsupportedConstruct, forward.Locations.FirstOrDefault(), "Returning the input '" + t.Origin + "' unchanged",
                            "an output must be computed by the network");
                    outputs.Add(new OutputSpec(name, t.Node));
                }
                output = outputs[0].Node;
            }
            else
                throw Error(Descriptors.MissingForward, forward.Locations.FirstOrDefault(), _type.Name,
                    "; Forward must return a Tensor or a tuple of Tensors");
        }
        catch (SpecException e)
        {
            _diagnostics.Add(e.Info);
        }
        catch (NotConstantException e)
        {
            _diagnostics.Add(new DiagnosticInfo(Descriptors.UnsupportedConstruct.Id, Descriptors.ToInfo(e.Node.GetLocation()),
                new[] { "'" + e.Node + "'", "it is neither a local of the specification, a Forward input, nor a compile-time constant" }.ToEquatableArray()));
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            _diagnostics.Add(new DiagnosticInfo(Descriptors.InternalError.Id, Descriptors.ToInfo(_type.Locations.FirstOrDefault()),
                new[] { _type.Name, e.GetType().Name + ": " + e.Message }.ToEquatableArray()));
        }

        var nodes = _nodes;
        var parameters = _params;
        if (output >= 0 && !_diagnostics.Any(d => Descriptors.IsError(d.Id)))
        {
            (nodes, parameters, var map) = Prune(inputs, outputs.Select(o => o.Node).ToList());
            for (int i = 0; i < outputs.Count; i++) outputs[i] = outputs[i] with { Node = map(outputs[i].Node) };
            output = outputs[0].Node;
        }
        else
        {
            output = -1;
            outputs.Clear();
        }

        return new NetworkSpec(
            _type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : null,
            _type.Name,
            ContainingTypes().ToEquatableArray(),
            Accessibility(_type.DeclaredAccessibility),
            inputs.ToEquatableArray(),
            nodes.ToEquatableArray(),
            AssignInit(nodes, parameters).ToEquatableArray(),
            members.ToEquatableArray(),
            output,
            _diagnostics.ToEquatableArray())
        {
            Outputs = outputs.ToEquatableArray(),
        };
    }

    private IEnumerable<string> ContainingTypes()
    {
        var stack = new Stack<string>();
        for (var t = _type.ContainingType; t is not null; t = t.ContainingType)
            stack.Push((t.IsRecord ? "record " : t.TypeKind == TypeKind.Struct ? "struct " : "class ") + t.Name);
        return stack;
    }

    private static string Accessibility(Accessibility accessibility) => accessibility switch
    {
        Microsoft.CodeAnalysis.Accessibility.Public => "public",
        Microsoft.CodeAnalysis.Accessibility.Internal => "internal",
        Microsoft.CodeAnalysis.Accessibility.Private => "private",
        Microsoft.CodeAnalysis.Accessibility.Protected => "protected",
        Microsoft.CodeAnalysis.Accessibility.ProtectedOrInternal => "protected internal",
        Microsoft.CodeAnalysis.Accessibility.ProtectedAndInternal => "private protected",
        _ => "internal",
    };

    private void CheckPartial()
    {
        if (_type.IsGenericType || _type.IsStatic || _type.IsAbstract)
            throw Error(Descriptors.UnsupportedConstruct, _type.Locations.FirstOrDefault(),
                "A " + (_type.IsGenericType ? "generic" : _type.IsStatic ? "static" : "abstract") + " [Network] class",
                "a network is a concrete, non-generic partial class");
        for (var t = _type.ContainingType; t is not null; t = t.ContainingType)
        {
            if (t.IsGenericType)
                throw Error(Descriptors.UnsupportedConstruct, _type.Locations.FirstOrDefault(), "A [Network] class inside the generic type '" + t.Name + "'",
                    "declare the network outside generic types");
        }
        for (var t = _type; t is not null; t = t.ContainingType)
        {
            foreach (var reference in t.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(_cancellationToken) is TypeDeclarationSyntax decl && !decl.Modifiers.Any(SyntaxKind.PartialKeyword))
                    throw Error(Descriptors.NotPartial, decl.Identifier.GetLocation(), t.Name);
            }
        }
    }

    /// <summary>Attributed partial methods whose implementation (a throwing marker body) the generator emits.</summary>
    private void CollectMemberDeclarations(List<LayerMemberSpec> members)
    {
        foreach (var method in _type.GetMembers().OfType<IMethodSymbol>())
        {
            bool isLayer = method.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() is Conv2dAttribute or DenseAttribute);
            if (!isLayer || !method.IsPartialDefinition || method.PartialImplementationPart is not null) continue;
            var parameters = string.Join(", ", method.Parameters.Select(p =>
                p.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) + " @" + p.Name));
            members.Add(new LayerMemberSpec(method.Name, Accessibility(method.DeclaredAccessibility),
                method.ReturnType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat), parameters));
        }
    }

    private void CollectMemberLayers()
    {
        foreach (var method in _type.GetMembers().OfType<IMethodSymbol>())
        {
            var attr = method.GetAttributes().FirstOrDefault(a =>
                a.AttributeClass?.ToDisplayString() is Conv2dAttribute or DenseAttribute);
            if (attr is null) continue;
            bool isConv = attr.AttributeClass!.ToDisplayString() == Conv2dAttribute;
            int outFeatures = attr.ConstructorArguments.Length > 0 && attr.ConstructorArguments[0].Value is int o ? o : 0;
            int kernel = 3, stride = 1, padding = 0, declaredIn = 0;
            bool bias = true;
            string name = method.Name;
            foreach (var named in attr.NamedArguments)
            {
                switch (named.Key)
                {
                    case "Kernel": kernel = (int)named.Value.Value!; break;
                    case "Stride": stride = (int)named.Value.Value!; break;
                    case "Padding": padding = (int)named.Value.Value!; break;
                    case "Bias": bias = (bool)named.Value.Value!; break;
                    case "InChannels": case "InFeatures": declaredIn = (int)named.Value.Value!; break;
                    case "Name": name = named.Value.Value as string ?? method.Name; break;
                }
            }

            var location = attr.ApplicationSyntaxReference?.GetSyntax(_cancellationToken).GetLocation();
            string what = method.Name + " (" + (isConv ? "Conv2d" : "Dense") + ")";
            if (outFeatures <= 0)
                throw Error(Descriptors.InvalidArgument, location, isConv ? "outChannels" : "units", what, outFeatures.ToString(), "it must be positive");
            if (isConv)
                ValidateConvArguments(what, kernel, stride, padding, location);
            if (!_layerNames.Add(name))
                throw Error(Descriptors.DuplicateName, location, name);

            _memberLayers[method.Name] = new MemberLayer
            {
                Method = method, Op = isConv ? OpKind.Conv2d : OpKind.Dense, Name = name, OutFeatures = outFeatures,
                Kernel = kernel, Stride = stride, Padding = padding, Bias = bias, DeclaredIn = declaredIn,
            };

        }
    }

    private void ValidateConvArguments(string what, int kernel, int stride, int padding, Location? location)
    {
        if (kernel <= 0) throw Error(Descriptors.InvalidArgument, location, "kernel", what, kernel.ToString(), "it must be positive");
        if (stride <= 0) throw Error(Descriptors.InvalidArgument, location, "stride", what, stride.ToString(), "it must be positive");
        if (padding < 0) throw Error(Descriptors.InvalidArgument, location, "padding", what, padding.ToString(), "it must not be negative");
    }

    private IMethodSymbol FindForward()
    {
        var candidates = _type.GetMembers("Forward").OfType<IMethodSymbol>()
            .Where(m => m.DeclaringSyntaxReferences.Any(r => r.GetSyntax(_cancellationToken) is MethodDeclarationSyntax { Body: not null } or MethodDeclarationSyntax { ExpressionBody: not null }))
            .ToList();
        var location = _type.Locations.FirstOrDefault();
        if (candidates.Count != 1)
            throw Error(Descriptors.MissingForward, location, _type.Name, candidates.Count == 0 ? "" : "; found " + candidates.Count);
        var forward = candidates[0];
        bool tensorTuple = forward.ReturnType is INamedTypeSymbol { IsTupleType: true } tuple
                           && tuple.TupleElements.All(e => e.Type.ToDisplayString() == TensorType);
        if (forward.ReturnType.ToDisplayString() != TensorType && !tensorTuple)
            throw Error(Descriptors.MissingForward, forward.Locations.FirstOrDefault(), _type.Name,
                "; Forward returns " + forward.ReturnType.ToDisplayString());
        foreach (var p in forward.Parameters)
        {
            if (p.Type.ToDisplayString() != TensorType)
                throw Error(Descriptors.MissingForward, p.Locations.FirstOrDefault(), _type.Name,
                    "; parameter '" + p.Name + "' is " + p.Type.ToDisplayString() + ", not Tensor");
        }
        if (forward.Parameters.Length == 0)
            throw Error(Descriptors.MissingForward, forward.Locations.FirstOrDefault(), _type.Name, "; Forward has no inputs");
        return forward;
    }

    // ---------------------------------------------------------------- graph building

    private int AddNode(OpKind op, string name, int[] inputs, Shape shape, int kernel, int stride, int padding, int weight, int bias, Location? location,
        double[]? reals = null, bool ceilMode = false, int buffer = -1, int extra = 0)
    {
        int id = _nodes.Count;
        int line = location?.GetLineSpan().StartLinePosition.Line + 1 ?? 0;
        _nodes.Add(new NodeSpec(id, op, name, inputs.ToEquatableArray(), shape, kernel, stride, padding, weight, bias, line)
        {
            Reals = (reals ?? Array.Empty<double>()).ToEquatableArray(),
            CeilMode = ceilMode,
            Buffer = buffer,
            Extra = extra,
        });
        _nodeLocations[id] = Descriptors.ToInfo(location);
        return id;
    }

    private int AddParam(string name, int[] shape, int fanIn, int fanOut, bool buffer = false)
    {
        int index = _params.Count;
        _params.Add(new ParamSpec(index, name, shape.ToEquatableArray(), InitKind.Zeros, fanIn, fanOut) { IsBuffer = buffer });
        return index;
    }

    private string AutoName(string prefix)
    {
        _opCounters.TryGetValue(prefix, out int n);
        string name;
        do
        {
            n++;
            name = prefix + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        } while (_layerNames.Contains(name));
        _opCounters[prefix] = n;
        _layerNames.Add(name);
        return name;
    }

    /// <summary>Drops nodes that do not reach the output (with a warning) and renumbers nodes and parameters.</summary>
    private (List<NodeSpec>, List<ParamSpec>, Func<int, int>) Prune(List<InputSpec> inputs, List<int> outputs)
    {
        var live = new bool[_nodes.Count];
        var stack = new Stack<int>(outputs);
        while (stack.Count > 0)
        {
            int n = stack.Pop();
            if (live[n]) continue;
            live[n] = true;
            foreach (var i in _nodes[n].Inputs) stack.Push(i);
        }
        foreach (var input in inputs) live[input.Node] = true;

        // Warn once per dead branch: at its last node (the one nothing consumes).
        var consumed = new HashSet<int>(_nodes.SelectMany(n => n.Inputs));
        foreach (var node in _nodes.Where(n => !live[n.Id] && !consumed.Contains(n.Id)))
            _diagnostics.Add(new DiagnosticInfo(Descriptors.UnusedLayer.Id, _nodeLocations[node.Id],
                new[] { node.Name + " (" + node.Op + ")" }.ToEquatableArray()));
        if (live.All(l => l)) return (_nodes, _params, id => id);

        var liveParams = new HashSet<int>(_nodes.Where(n => live[n.Id])
            .SelectMany(n => n.Op == OpKind.Recurrent ? Enumerable.Range(n.Weight, n.RecurrentParameterCount)
                : n.Buffer >= 0 ? new[] { n.Weight, n.Bias, n.Buffer, n.Buffer + 1 } : new[] { n.Weight, n.Bias }).Where(i => i >= 0));
        var paramMap = new Dictionary<int, int>();
        var parameters = new List<ParamSpec>();
        foreach (var p in _params.Where(p => liveParams.Contains(p.Index)))
        {
            paramMap[p.Index] = parameters.Count;
            parameters.Add(p with { Index = parameters.Count });
        }
        var nodeMap = new Dictionary<int, int>();
        var nodes = new List<NodeSpec>();
        foreach (var node in _nodes.Where(n => live[n.Id]))
        {
            nodeMap[node.Id] = nodes.Count;
            nodes.Add(node with
            {
                Id = nodes.Count,
                Inputs = node.Inputs.Select(i => nodeMap[i]).ToEquatableArray(),
                Weight = node.Weight >= 0 ? paramMap[node.Weight] : -1,
                Bias = node.Bias >= 0 ? paramMap[node.Bias] : -1,
                Buffer = node.Buffer >= 0 ? paramMap[node.Buffer] : -1,
            });
        }
        for (int i = 0; i < inputs.Count; i++)
            inputs[i] = inputs[i] with { Node = nodeMap[inputs[i].Node] };
        return (nodes, parameters, id => nodeMap[id]);
    }

    /// <summary>
    /// He-normal for weights feeding a ReLU (directly or through a BatchNorm), Xavier-uniform otherwise, zeros for
    /// biases; BatchNorm: gamma ones, beta zeros, running mean zeros, running variance ones.
    /// </summary>
    private static List<ParamSpec> AssignInit(List<NodeSpec> nodes, List<ParamSpec> parameters)
    {
        var result = parameters.ToList();
        bool FeedsRelu(int id) => nodes.Any(c => c.Inputs.Contains(id)
            && (c.Op is OpKind.Relu or OpKind.LeakyRelu || (c.Op is OpKind.BatchNorm or OpKind.Add && FeedsRelu(c.Id))));
        foreach (var node in nodes.Where(n => n.HasParameters))
        {
            if (node.Op == OpKind.Recurrent)
            {
                for (int i = 0; i < node.RecurrentParameterCount; i++)
                    result[node.Weight + i] = result[node.Weight + i] with { Init = InitKind.UniformHidden, FanIn = node.Kernel };
                continue;
            }
            if (node.Op == OpKind.BatchNorm)
            {
                result[node.Weight] = result[node.Weight] with { Init = InitKind.Ones };
                result[node.Buffer + 1] = result[node.Buffer + 1] with { Init = InitKind.Ones };
                continue;
            }
            result[node.Weight] = result[node.Weight] with { Init = FeedsRelu(node.Id) ? InitKind.HeNormal : InitKind.XavierUniform };
        }
        return result;
    }

    private SpecException Error(DiagnosticDescriptor descriptor, Location? location, params string[] arguments) =>
        new(new DiagnosticInfo(descriptor.Id, Descriptors.ToInfo(location), arguments.ToEquatableArray()));

    private SpecException Error(DiagnosticDescriptor descriptor, SyntaxNode node, params string[] arguments) =>
        Error(descriptor, node.GetLocation(), arguments);
}
