using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Parsing;

/// <summary>Calls: layer functions, member-declared layers, inlined helper methods.</summary>
internal sealed partial class NetworkParser
{
    /// <summary>An evaluated argument and the syntax it came from (for diagnostics).</summary>
    private readonly record struct Argument(Value Value, SyntaxNode Syntax);

    private Value EvaluateInvocation(InvocationExpressionSyntax invocation, Dictionary<string, Value> env)
    {
        var info = Model(invocation).GetSymbolInfo(invocation, _cancellationToken);
        var method = info.Symbol as IMethodSymbol ?? info.CandidateSymbols.OfType<IMethodSymbol>().FirstOrDefault();
        if (method is null)
            throw Error(Descriptors.UnsupportedConstruct, invocation, Describe(invocation), "the called method could not be resolved");

        string containing = method.ContainingType?.ToDisplayString() ?? "";
        if (containing == LayersType && method.Name != "NotInForward")
            return LayerFunction(method, invocation, env);

        if (SymbolEqualityComparer.Default.Equals(method.ContainingType, _type))
        {
            if (_memberLayers.TryGetValue(method.Name, out var layer) && method.Parameters.Length == layer.Method.Parameters.Length)
                return MemberLayerCall(layer, invocation, env);
            return InlineHelper(method, invocation, env);
        }

        if (containing == "System.Math" && method.Name is "Max" or "Min" or "Abs")
        {
            var args = invocation.ArgumentList.Arguments.Select(a => EvaluateConstant(a.Expression, env, method.Name, a.Expression.ToString())).ToArray();
            if (args.All(a => a is IntValue))
            {
                var ints = args.Cast<IntValue>().Select(a => a.Value).ToArray();
                return new IntValue(method.Name == "Max" ? ints.Max() : method.Name == "Min" ? ints.Min() : Math.Abs(ints[0]));
            }
        }

        throw Error(Descriptors.UnsupportedConstruct, invocation, "Calling '" + method.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat) + "'",
            "a specification may call NetGen.Layers functions, layer members and helper methods of this class");
    }

    private Value EvaluateConstant(ExpressionSyntax expression, Dictionary<string, Value> env, string owner, string parameter)
    {
        try
        {
            return Evaluate(expression, env);
        }
        catch (NotConstantException e)
        {
            throw Error(Descriptors.NonConstantArgument, expression, parameter, owner, e.Node.ToString());
        }
    }

    /// <summary>Binds call arguments to the method's parameters (positional, named, defaults).</summary>
    private Dictionary<string, Argument> BindArguments(IMethodSymbol method, InvocationExpressionSyntax invocation, Dictionary<string, Value> env, string owner)
    {
        var result = new Dictionary<string, Argument>(StringComparer.Ordinal);
        var arguments = invocation.ArgumentList.Arguments;
        for (int i = 0; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            var parameter = argument.NameColon is { } nameColon
                ? method.Parameters.FirstOrDefault(p => p.Name == nameColon.Name.Identifier.ValueText)
                : i < method.Parameters.Length ? method.Parameters[i] : null;
            if (parameter is null)
                throw Error(Descriptors.UnsupportedConstruct, argument, "The argument '" + argument + "'", "it matches no parameter of " + owner);
            Value value;
            if (parameter.Type.ToDisplayString() == TensorType)
            {
                try
                {
                    value = Evaluate(argument.Expression, env);
                }
                catch (NotConstantException e)
                {
                    throw Error(Descriptors.UnsupportedConstruct, e.Node, "'" + e.Node + "'", "only the Forward inputs and tensors computed from them can flow through a network");
                }
            }
            else
            {
                value = EvaluateConstant(argument.Expression, env, owner, parameter.Name);
            }
            result[parameter.Name] = new Argument(value, argument.Expression);
        }
        foreach (var parameter in method.Parameters)
        {
            if (result.ContainsKey(parameter.Name)) continue;
            if (!parameter.HasExplicitDefaultValue)
                throw Error(Descriptors.UnsupportedConstruct, invocation, "The call '" + invocation + "'", "parameter '" + parameter.Name + "' has no value");
            result[parameter.Name] = new Argument(parameter.ExplicitDefaultValue switch
            {
                int i => new IntValue(i),
                bool b => new BoolValue(b),
                double d => new DoubleValue(d),
                string s => new StringValue(s),
                _ => new StringValue(null),
            }, invocation);
        }
        return result;
    }

    private TensorValue TensorArgument(Dictionary<string, Argument> args, string name, string owner)
    {
        var argument = args[name];
        return argument.Value as TensorValue
            ?? throw Error(Descriptors.InvalidArgument, argument.Syntax, name, owner, argument.Value.Describe(), "it must be a tensor");
    }

    private int IntArgument(Dictionary<string, Argument> args, string name, string owner)
    {
        var argument = args[name];
        return argument.Value is IntValue i ? i.Value
            : throw Error(Descriptors.InvalidArgument, argument.Syntax, name, owner, argument.Value.Describe(), "it must be an int");
    }

    private bool BoolArgument(Dictionary<string, Argument> args, string name, string owner)
    {
        var argument = args[name];
        return argument.Value is BoolValue b ? b.Value
            : throw Error(Descriptors.InvalidArgument, argument.Syntax, name, owner, argument.Value.Describe(), "it must be a bool");
    }

    private double RealArgument(Dictionary<string, Argument> args, string name, string owner)
    {
        var argument = args[name];
        return argument.Value switch
        {
            DoubleValue d when !double.IsNaN(d.Value) && !double.IsInfinity(d.Value) => d.Value,
            IntValue i => i.Value,
            _ => throw Error(Descriptors.InvalidArgument, argument.Syntax, name, owner, argument.Value.Describe(), "it must be a finite number"),
        };
    }

    /// <summary>Concat(a, b, ...): along the channels of CxHxW tensors (equal H and W) or the features of flat ones.</summary>
    private Value ConcatCall(InvocationExpressionSyntax invocation, Dictionary<string, Value> env)
    {
        const string op = "Concat";
        var arguments = invocation.ArgumentList.Arguments;
        if (arguments.Count < 2)
            throw Error(Descriptors.InvalidArgument, invocation, "tensors", op, Format(arguments.Count) + " tensor(s)", "concatenate two or more tensors");
        var tensors = new List<TensorValue>();
        foreach (var argument in arguments)
        {
            Value value;
            try
            {
                value = Evaluate(argument.Expression, env);
            }
            catch (NotConstantException e)
            {
                throw Error(Descriptors.UnsupportedConstruct, e.Node, "'" + e.Node + "'", "only the Forward inputs and tensors computed from them can flow through a network");
            }
            if (value is ArrayValue array && arguments.Count == 1)
                throw Error(Descriptors.UnsupportedConstruct, argument, "An array of tensors", "pass the tensors as separate arguments: Concat(a, b, c)");
            tensors.Add(value as TensorValue
                ?? throw Error(Descriptors.InvalidArgument, argument.Expression, "tensors", op, value.Describe(), "every argument must be a tensor"));
        }
        var first = tensors[0];
        for (int i = 1; i < tensors.Count; i++)
        {
            var t = tensors[i];
            if (t.Shape.Rank != first.Shape.Rank)
                throw Error(Descriptors.ConcatMismatch, arguments[i].Expression, first.Describe(), t.Describe(), "; both must be images (CxHxW) or both flat");
            if (first.Shape.Rank == 3 && (t.Shape.H != first.Shape.H || t.Shape.W != first.Shape.W))
                throw Error(Descriptors.ConcatMismatch, arguments[i].Expression, first.Describe(), t.Describe(),
                    "; concatenation along channels needs equal height and width (" + Format(first.Shape.H) + "x" + Format(first.Shape.W) + " vs " +
                    Format(t.Shape.H) + "x" + Format(t.Shape.W) + "): adjust the stride or padding of one branch, or pool it");
            if (first.Shape.Rank != 1 && first.Shape.Rank != 3)
                throw Error(Descriptors.ConcatMismatch, arguments[i].Expression, first.Describe(), t.Describe(), "; only CxHxW and flat tensors concatenate");
        }
        int total = tensors.Sum(t => t.Shape.Dims[0]);
        var shape = first.Shape.Rank == 3 ? Shape.Of(total, first.Shape.H, first.Shape.W) : Shape.Of(total);
        string name = AutoName("concat");
        int id = AddNode(OpKind.Concat, name, tensors.Select(t => t.Node).ToArray(), shape, 0, 0, 0, -1, -1, invocation.GetLocation());
        return new TensorValue(id, shape, name);
    }

    /// <summary>Rnn / Lstm / Gru: one node for all layers and directions; PyTorch's parameter names and order.</summary>
    private Value RecurrentCall(string op, Dictionary<string, Argument> args, TensorValue x, Location location)
    {
        if (x.Shape.Rank != 2)
            throw Error(Descriptors.InvalidArgument, args["x"].Syntax, "x", op, x.Describe(), op + " runs over a [Steps, Features] sequence: declare the input as [Shape(steps, features)]");
        int hidden = IntArgument(args, "hidden", op), layers = IntArgument(args, "layers", op);
        bool bidirectional = BoolArgument(args, "bidirectional", op), sequences = BoolArgument(args, "returnSequences", op);
        if (hidden <= 0) throw Error(Descriptors.InvalidArgument, args["hidden"].Syntax, "hidden", op, Format(hidden), "it must be positive");
        if (layers <= 0) throw Error(Descriptors.InvalidArgument, args["layers"].Syntax, "layers", op, Format(layers), "it must be positive");
        var inputs = new List<int> { x.Node };
        foreach (var stateName in op == "Lstm" ? new[] { "initialHidden", "initialCell" } : new[] { "initialHidden" })
        {
            var state = args[stateName];
            if (state.Value is StringValue { Value: null }) continue;
            if (state.Value is not TensorValue s)
                throw Error(Descriptors.InvalidArgument, state.Syntax, stateName, op, state.Value.Describe(), "it must be a tensor");
            if (layers != 1 || bidirectional)
                throw Error(Descriptors.InvalidArgument, state.Syntax, stateName, op, s.Describe(), "initial states are supported for one layer in one direction");
            if (s.Shape.Rank != 1 || s.Shape.Size != hidden)
                throw Error(Descriptors.InvalidArgument, state.Syntax, stateName, op, s.Describe(), "it must be a flat [" + Format(hidden) + "] tensor per sample");
            if (stateName == "initialCell" && inputs.Count == 1)
                throw Error(Descriptors.InvalidArgument, state.Syntax, stateName, op, s.Describe(), "give initialHidden too");
            inputs.Add(s.Node);
        }
        string name = NameArgument(args, op) ?? AutoName(op.ToLowerInvariant());
        int gates = op == "Lstm" ? 4 : op == "Gru" ? 3 : 1, directions = bidirectional ? 2 : 1;
        int first = -1;
        for (int layer = 0; layer < layers; layer++)
        {
            int inFeatures = layer == 0 ? x.Shape.Dims[1] : hidden * directions;
            for (int d = 0; d < directions; d++)
            {
                string suffix = "_l" + Format(layer) + (d == 1 ? "_reverse" : "");
                int w = AddParam(name + ".weight_ih" + suffix, new[] { gates * hidden, inFeatures }, inFeatures, hidden);
                AddParam(name + ".weight_hh" + suffix, new[] { gates * hidden, hidden }, hidden, hidden);
                AddParam(name + ".bias_ih" + suffix, new[] { gates * hidden }, 0, 0);
                AddParam(name + ".bias_hh" + suffix, new[] { gates * hidden }, 0, 0);
                if (first < 0) first = w;
            }
        }
        int steps = x.Shape.Dims[0];
        var shape = sequences ? Shape.Of(steps, hidden * directions) : Shape.Of(hidden * directions);
        int cell = op == "Rnn" ? 0 : op == "Lstm" ? 1 : 2;
        // Kernel = hidden, Stride = layers, Padding = directions, CeilMode = return sequences, Extra = cell (0 Rnn, 1 Lstm, 2 Gru).
        int id = AddNode(OpKind.Recurrent, name, inputs.ToArray(), shape, hidden, layers, directions, first, -1, location, ceilMode: sequences, extra: cell);
        return new TensorValue(id, shape, name);
    }

    /// <summary>Stack(a, b, ...): flat tensors of one length become a [count, Features] sequence.</summary>
    private Value StackCall(InvocationExpressionSyntax invocation, Dictionary<string, Value> env)
    {
        const string op = "Stack";
        var arguments = invocation.ArgumentList.Arguments;
        var tensors = new List<TensorValue>();
        foreach (var argument in arguments)
        {
            var value = Evaluate(argument.Expression, env);
            var t = value as TensorValue
                ?? throw Error(Descriptors.InvalidArgument, argument.Expression, "steps", op, value.Describe(), "every argument must be a tensor");
            if (t.Shape.Rank != 1 || (tensors.Count > 0 && t.Shape.Size != tensors[0].Shape.Size))
                throw Error(Descriptors.InvalidArgument, argument.Expression, "steps", op, t.Describe(), "every step must be a flat tensor of the same length");
            tensors.Add(t);
        }
        if (tensors.Count == 0)
            throw Error(Descriptors.InvalidArgument, invocation, "steps", op, "0 tensors", "stack one or more tensors");
        var shape = Shape.Of(tensors.Count, tensors[0].Shape.Size);
        string name = AutoName("stack");
        int id = AddNode(OpKind.Concat, name, tensors.Select(t => t.Node).ToArray(), shape, 0, 0, 0, -1, -1, invocation.GetLocation());
        return new TensorValue(id, shape, name);
    }

    private string? NameArgument(Dictionary<string, Argument> args, string owner)
    {
        if (!args.TryGetValue("name", out var argument)) return null;
        if (argument.Value is not StringValue s)
            throw Error(Descriptors.InvalidArgument, argument.Syntax, "name", owner, argument.Value.Describe(), "it must be a string");
        if (s.Value is null) return null;
        if (s.Value.Length == 0 || s.Value.Any(c => char.IsWhiteSpace(c) || c == '"' || c == '\\'))
            throw Error(Descriptors.InvalidArgument, argument.Syntax, "name", owner, argument.Value.Describe(), "use a non-empty name without spaces, quotes or backslashes");
        if (!_layerNames.Add(s.Value))
            throw Error(Descriptors.DuplicateName, argument.Syntax, s.Value);
        return s.Value;
    }

    private Value LayerFunction(IMethodSymbol method, InvocationExpressionSyntax invocation, Dictionary<string, Value> env)
    {
        string op = method.Name;
        if (op == "Concat") return ConcatCall(invocation, env);
        if (op == "Stack") return StackCall(invocation, env);
        var args = BindArguments(method, invocation, env, op);
        var x = TensorArgument(args, "x", op);
        var location = invocation.GetLocation();
        switch (op)
        {
            case "Conv2d":
            {
                int outChannels = IntArgument(args, "outChannels", op), kernel = IntArgument(args, "kernel", op);
                int stride = IntArgument(args, "stride", op), padding = IntArgument(args, "padding", op);
                bool bias = BoolArgument(args, "bias", op);
                if (outChannels <= 0) throw Error(Descriptors.InvalidArgument, args["outChannels"].Syntax, "outChannels", op, Format(outChannels), "it must be positive");
                ValidateConvArguments(op, kernel, stride, padding, location);
                RequireImage(x, op, args["x"].Syntax);
                string name = NameArgument(args, op) ?? AutoName("conv");
                int weight = AddParam(name + ".weight", new[] { outChannels, x.Shape.C, kernel, kernel }, x.Shape.C * kernel * kernel, outChannels * kernel * kernel);
                int biasIndex = bias ? AddParam(name + ".bias", new[] { outChannels }, 0, 0) : -1;
                return Conv(name, x, outChannels, kernel, stride, padding, weight, biasIndex, location);
            }
            case "Dense":
            {
                int units = IntArgument(args, "units", op);
                bool bias = BoolArgument(args, "bias", op);
                if (units <= 0) throw Error(Descriptors.InvalidArgument, args["units"].Syntax, "units", op, Format(units), "it must be positive");
                RequireFlatOrSequence(x, op, args["x"].Syntax);
                string name = NameArgument(args, op) ?? AutoName("dense");
                int inFeatures = RowFeatures(x.Shape);
                int weight = AddParam(name + ".weight", new[] { units, inFeatures }, inFeatures, units);
                int biasIndex = bias ? AddParam(name + ".bias", new[] { units }, 0, 0) : -1;
                return Node(OpKind.Dense, name, x, RowsOf(x.Shape, units), 0, 0, 0, weight, biasIndex, location);
            }
            case "AvgPool2d":
            case "MaxPool2d":
            {
                int kernel = IntArgument(args, "kernel", op), stride = IntArgument(args, "stride", op);
                int padding = args.ContainsKey("padding") ? IntArgument(args, "padding", op) : 0;
                bool ceil = args.ContainsKey("ceilMode") && BoolArgument(args, "ceilMode", op);
                if (stride == 0) stride = kernel;
                if (kernel <= 0) throw Error(Descriptors.InvalidArgument, args["kernel"].Syntax, "kernel", op, Format(kernel), "it must be positive");
                if (stride < 0) throw Error(Descriptors.InvalidArgument, args["stride"].Syntax, "stride", op, Format(stride), "it must be positive (0 means: equal to the kernel)");
                if (padding < 0 || padding > kernel / 2)
                    throw Error(Descriptors.InvalidArgument, args["padding"].Syntax, "padding", op, Format(padding), "it must be between 0 and kernel/2 (" + Format(kernel / 2) + "), as in PyTorch");
                RequireImage(x, op, args["x"].Syntax);
                var shape = ShapeRules.Pool(x.Shape, kernel, stride, padding, ceil);
                if (shape.Dims.Any(d => d <= 0))
                    throw Error(Descriptors.NonPositiveOutput, invocation, op, x.Describe(),
                        "kernel " + kernel + ", stride " + stride + (padding > 0 ? ", padding " + padding : "") + (ceil ? ", ceil mode" : ""), shape.ToString());
                string name = AutoName(op == "AvgPool2d" ? "avgpool" : "maxpool");
                int id = AddNode(op == "AvgPool2d" ? OpKind.AvgPool2d : OpKind.MaxPool2d, name, new[] { x.Node }, shape, kernel, stride, padding, -1, -1, location,
                    ceilMode: ceil);
                return new TensorValue(id, shape, name);
            }
            case "BatchNorm":
            {
                double momentum = RealArgument(args, "momentum", op), epsilon = RealArgument(args, "epsilon", op);
                if (!(momentum >= 0 && momentum <= 1))
                    throw Error(Descriptors.InvalidArgument, args["momentum"].Syntax, "momentum", op, args["momentum"].Value.Describe(), "it must be between 0 and 1");
                if (!(epsilon > 0))
                    throw Error(Descriptors.InvalidArgument, args["epsilon"].Syntax, "epsilon", op, args["epsilon"].Value.Describe(), "it must be positive");
                if (x.Shape.Rank != 1 && x.Shape.Rank != 3)
                    throw Error(Descriptors.InvalidArgument, args["x"].Syntax, "x", op, x.Describe(), "BatchNorm needs a CxHxW image or a flat tensor");
                string name = NameArgument(args, op) ?? AutoName("bn");
                int features = x.Shape.Dims[0];
                int gamma = AddParam(name + ".weight", new[] { features }, 0, 0);
                int beta = AddParam(name + ".bias", new[] { features }, 0, 0);
                int mean = AddParam(name + ".running_mean", new[] { features }, 0, 0, buffer: true);
                AddParam(name + ".running_var", new[] { features }, 0, 0, buffer: true);
                int id = AddNode(OpKind.BatchNorm, name, new[] { x.Node }, x.Shape, 0, 0, 0, gamma, beta, location,
                    reals: new[] { momentum, epsilon }, buffer: mean);
                return new TensorValue(id, x.Shape, name);
            }
            case "Dropout":
            {
                double p = RealArgument(args, "p", op);
                if (!(p >= 0 && p < 1))
                    throw Error(Descriptors.InvalidArgument, args["p"].Syntax, "p", op, args["p"].Value.Describe(), "the drop probability must be in [0, 1)");
                string name = AutoName("dropout");
                int id = AddNode(OpKind.Dropout, name, new[] { x.Node }, x.Shape, 0, 0, 0, -1, -1, location, reals: new[] { p });
                return new TensorValue(id, x.Shape, name);
            }
            case "LocalResponseNorm":
            {
                int size = IntArgument(args, "size", op);
                double alpha = RealArgument(args, "alpha", op), beta = RealArgument(args, "beta", op), k = RealArgument(args, "k", op);
                if (size <= 0) throw Error(Descriptors.InvalidArgument, args["size"].Syntax, "size", op, Format(size), "it must be positive");
                RequireImage(x, op, args["x"].Syntax);
                string name = AutoName("lrn");
                int id = AddNode(OpKind.LocalResponseNorm, name, new[] { x.Node }, x.Shape, size, 0, 0, -1, -1, location, reals: new[] { alpha, beta, k });
                return new TensorValue(id, x.Shape, name);
            }
            case "GlobalAvgPool":
            case "AdaptiveAvgPool2d":
            {
                RequireImage(x, op, args["x"].Syntax);
                int height = op == "GlobalAvgPool" ? 1 : IntArgument(args, "height", op);
                int width = op == "GlobalAvgPool" ? 1 : IntArgument(args, "width", op);
                if (height <= 0) throw Error(Descriptors.InvalidArgument, args["height"].Syntax, "height", op, Format(height), "it must be positive");
                if (width <= 0) throw Error(Descriptors.InvalidArgument, args["width"].Syntax, "width", op, Format(width), "it must be positive");
                string name = AutoName(op == "GlobalAvgPool" ? "gap" : "adaptivepool");
                var shape = Shape.Of(x.Shape.C, height, width);
                return Node(OpKind.AdaptiveAvgPool2d, name, x, shape, 0, 0, 0, -1, -1, location);
            }
            case "LeakyRelu":
            {
                double slope = RealArgument(args, "slope", op);
                string name = AutoName("leakyrelu");
                int id = AddNode(OpKind.LeakyRelu, name, new[] { x.Node }, x.Shape, 0, 0, 0, -1, -1, location, reals: new[] { slope });
                return new TensorValue(id, x.Shape, name);
            }
            case "Identity":
                return x;
            case "Rnn":
            case "Lstm":
            case "Gru":
                return RecurrentCall(op, args, x, location);
            case "Step":
            {
                if (x.Shape.Rank != 2)
                    throw Error(Descriptors.InvalidArgument, args["x"].Syntax, "x", op, x.Describe(), "Step takes a time step of a [Steps, Features] sequence");
                int t = IntArgument(args, "t", op), steps = x.Shape.Dims[0];
                if (t < -steps || t >= steps)
                    throw Error(Descriptors.InvalidArgument, args["t"].Syntax, "t", op, Format(t), "the sequence has " + Format(steps) + " steps (use 0.." + Format(steps - 1) + ", or -1 for the last)");
                if (t < 0) t += steps;
                string name = AutoName("step");
                return Node(OpKind.Step, name, x, Shape.Of(x.Shape.Dims[1]), t, 0, 0, -1, -1, location);
            }
            case "ConvTranspose2d":
            {
                int outChannels = IntArgument(args, "outChannels", op), kernel = IntArgument(args, "kernel", op);
                int stride = IntArgument(args, "stride", op), padding = IntArgument(args, "padding", op);
                int outputPadding = IntArgument(args, "outputPadding", op);
                bool bias = BoolArgument(args, "bias", op);
                if (outChannels <= 0) throw Error(Descriptors.InvalidArgument, args["outChannels"].Syntax, "outChannels", op, Format(outChannels), "it must be positive");
                ValidateConvArguments(op, kernel, stride, padding, location);
                if (outputPadding < 0 || outputPadding >= stride)
                    throw Error(Descriptors.InvalidArgument, args["outputPadding"].Syntax, "outputPadding", op, Format(outputPadding), "it must be at least 0 and smaller than the stride (" + Format(stride) + "), as in PyTorch");
                RequireImage(x, op, args["x"].Syntax);
                var shape = ShapeRules.ConvTranspose(x.Shape, outChannels, kernel, stride, padding, outputPadding);
                if (shape.Dims.Any(d => d <= 0))
                    throw Error(Descriptors.NonPositiveOutput, invocation, op, x.Describe(), "kernel " + kernel + ", stride " + stride + ", padding " + padding, shape.ToString());
                string name = NameArgument(args, op) ?? AutoName("deconv");
                // PyTorch's weight is [in, out, k, k]; its fan-in for initialisation is out * k * k.
                int weight = AddParam(name + ".weight", new[] { x.Shape.C, outChannels, kernel, kernel }, outChannels * kernel * kernel, x.Shape.C * kernel * kernel);
                int biasIndex = bias ? AddParam(name + ".bias", new[] { outChannels }, 0, 0) : -1;
                int id = AddNode(OpKind.ConvTranspose2d, name, new[] { x.Node }, shape, kernel, stride, padding, weight, biasIndex, location, extra: outputPadding);
                return new TensorValue(id, shape, name);
            }
            case "Upsample":
            {
                int scale = IntArgument(args, "scale", op);
                bool bilinear = BoolArgument(args, "bilinear", op);
                if (scale <= 0) throw Error(Descriptors.InvalidArgument, args["scale"].Syntax, "scale", op, Format(scale), "it must be positive");
                RequireImage(x, op, args["x"].Syntax);
                var shape = Shape.Of(x.Shape.C, x.Shape.H * scale, x.Shape.W * scale);
                string name = AutoName("upsample");
                int id = AddNode(OpKind.Upsample, name, new[] { x.Node }, shape, scale, 0, 0, -1, -1, location, ceilMode: bilinear);
                return new TensorValue(id, shape, name);
            }
            case "Exp":
                return Node(OpKind.Exp, AutoName("exp"), x, x.Shape, 0, 0, 0, -1, -1, location);
            case "Scale":
            {
                double factor = RealArgument(args, "factor", op);
                string name = AutoName("scale");
                int id = AddNode(OpKind.Scale, name, new[] { x.Node }, x.Shape, 0, 0, 0, -1, -1, location, reals: new[] { factor });
                return new TensorValue(id, x.Shape, name);
            }
            case "Reshape":
            {
                int c = IntArgument(args, "channels", op), h = IntArgument(args, "height", op), w = IntArgument(args, "width", op);
                if (c <= 0 || h <= 0 || w <= 0 || (long)c * h * w != x.Shape.Size)
                    throw Error(Descriptors.InvalidArgument, invocation, "shape", op, Format(c) + "x" + Format(h) + "x" + Format(w),
                        "it must hold exactly the " + Format(x.Shape.Size) + " values of " + x.Describe());
                var shape = Shape.Of(c, h, w);
                if (shape.Equals(x.Shape)) return x;
                return Node(OpKind.Reshape, AutoName("reshape"), x, shape, 0, 0, 0, -1, -1, location);
            }
            case "Flatten":
                if (x.Shape.Rank == 1) return x;
                return Node(OpKind.Flatten, AutoName("flatten"), x, Shape.Of(x.Shape.Size), 0, 0, 0, -1, -1, location);
            case "Tanh":
                return Node(OpKind.Tanh, AutoName("tanh"), x, x.Shape, 0, 0, 0, -1, -1, location);
            case "Relu":
                return Node(OpKind.Relu, AutoName("relu"), x, x.Shape, 0, 0, 0, -1, -1, location);
            case "Sigmoid":
                return Node(OpKind.Sigmoid, AutoName("sigmoid"), x, x.Shape, 0, 0, 0, -1, -1, location);
            case "Softmax":
                if (x.Shape.Rank == 3)
                    throw Error(Descriptors.InvalidArgument, args["x"].Syntax, "x", op, x.Describe(), "Softmax works over the features of a flat tensor (or of each step of a sequence); insert Flatten(...) first");
                return Node(OpKind.Softmax, AutoName("softmax"), x, x.Shape, 0, 0, 0, -1, -1, location);
            default:
                throw Error(Descriptors.UnsupportedConstruct, invocation, "The layer function '" + op + "'", "this version of the generator does not implement it yet");
        }
    }

    private Value MemberLayerCall(MemberLayer layer, InvocationExpressionSyntax invocation, Dictionary<string, Value> env)
    {
        var args = BindArguments(layer.Method, invocation, env, layer.Method.Name);
        var tensors = args.Values.Select(a => a.Value).OfType<TensorValue>().ToList();
        if (tensors.Count != 1 || layer.Method.ReturnType.ToDisplayString() != TensorType)
            throw Error(Descriptors.UnsupportedConstruct, invocation, "The layer member '" + layer.Method.Name + "'", "a layer member takes one Tensor and returns a Tensor");
        var x = tensors[0];
        var location = invocation.GetLocation();
        string what = layer.Method.Name + " (" + layer.Op + ")";
        layer.Calls++;
        string nodeName = layer.Calls == 1 ? layer.Name : layer.Name + "_" + Format(layer.Calls);

        if (layer.Op == OpKind.Conv2d)
        {
            RequireImage(x, what, invocation);
            int expected = layer.Weight >= 0 ? layer.InFeatures : layer.DeclaredIn;
            if (expected > 0 && expected != x.Shape.C)
                throw Error(Descriptors.ChannelMismatch, invocation, what, Format(expected) + " input channels", layer.Method.Name, x.Describe());
            if (layer.Weight < 0)
            {
                layer.InFeatures = x.Shape.C;
                int k = layer.Kernel;
                layer.Weight = AddParam(layer.Name + ".weight", new[] { layer.OutFeatures, x.Shape.C, k, k }, x.Shape.C * k * k, layer.OutFeatures * k * k);
                layer.BiasIndex = layer.Bias ? AddParam(layer.Name + ".bias", new[] { layer.OutFeatures }, 0, 0) : -1;
            }
            return Conv(nodeName, x, layer.OutFeatures, layer.Kernel, layer.Stride, layer.Padding, layer.Weight, layer.BiasIndex, location, what);
        }

        RequireFlatOrSequence(x, what, invocation);
        int features = RowFeatures(x.Shape);
        int expectedIn = layer.Weight >= 0 ? layer.InFeatures : layer.DeclaredIn;
        if (expectedIn > 0 && expectedIn != features)
            throw Error(Descriptors.ChannelMismatch, invocation, what, Format(expectedIn) + " input features", layer.Method.Name, x.Describe());
        if (layer.Weight < 0)
        {
            layer.InFeatures = features;
            layer.Weight = AddParam(layer.Name + ".weight", new[] { layer.OutFeatures, features }, features, layer.OutFeatures);
            layer.BiasIndex = layer.Bias ? AddParam(layer.Name + ".bias", new[] { layer.OutFeatures }, 0, 0) : -1;
        }
        return Node(OpKind.Dense, nodeName, x, RowsOf(x.Shape, layer.OutFeatures), 0, 0, 0, layer.Weight, layer.BiasIndex, location);
    }

    private Value InlineHelper(IMethodSymbol method, InvocationExpressionSyntax invocation, Dictionary<string, Value> env)
    {
        var args = BindArguments(method, invocation, env, method.Name);
        var inner = new Dictionary<string, Value>(StringComparer.Ordinal);
        foreach (var p in method.Parameters) inner[p.Name] = args[p.Name].Value;
        return InvokeMethodBody(method, inner, invocation.GetLocation())
            ?? throw Error(Descriptors.UnsupportedConstruct, invocation, "The helper '" + method.Name + "'", "it must return a value");
    }

    private TensorValue Conv(string name, TensorValue x, int outChannels, int kernel, int stride, int padding, int weight, int bias, Location location, string? what = null)
    {
        var shape = ShapeRules.Conv(x.Shape, outChannels, kernel, stride, padding);
        if (shape.Dims.Any(d => d <= 0))
            throw Error(Descriptors.NonPositiveOutput, location, what ?? name + " (Conv2d)", x.Describe(),
                "kernel " + kernel + ", stride " + stride + ", padding " + padding, shape.ToString());
        return Node(OpKind.Conv2d, name, x, shape, kernel, stride, padding, weight, bias, location);
    }

    private TensorValue Node(OpKind op, string name, TensorValue x, Shape shape, int kernel, int stride, int padding, int weight, int bias, Location location)
    {
        int id = AddNode(op, name, new[] { x.Node }, shape, kernel, stride, padding, weight, bias, location);
        return new TensorValue(id, shape, name);
    }

    private void RequireImage(TensorValue x, string owner, SyntaxNode at)
    {
        if (x.Shape.Rank != 3)
            throw Error(Descriptors.InvalidArgument, at, "x", owner, x.Describe(), owner.Split(' ')[0] + " needs a CxHxW image tensor");
    }

    /// <summary>Dense and Softmax act on a flat tensor, or on every step of a [Steps, Features] sequence.</summary>
    private void RequireFlatOrSequence(TensorValue x, string owner, SyntaxNode at)
    {
        if (x.Shape.Rank == 3)
            throw Error(Descriptors.DenseNotFlat, at, owner, x.Describe());
    }

    /// <summary>Features of one row: the whole flat tensor, or one step of a sequence.</summary>
    internal static int RowFeatures(Shape shape) => shape.Rank == 2 ? shape.Dims[1] : shape.Size;

    /// <summary>The shape of a per-row op with <paramref name="features"/> outputs: [features], or [Steps, features].</summary>
    private static Shape RowsOf(Shape input, int features) => input.Rank == 2 ? Shape.Of(input.Dims[0], features) : Shape.Of(features);

}
