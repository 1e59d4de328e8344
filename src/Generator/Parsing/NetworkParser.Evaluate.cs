using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Model;

namespace NetGen.Generator.Parsing;

/// <summary>The partial evaluator over the supported C# subset.</summary>
internal sealed partial class NetworkParser
{
    /// <summary>Signals a <c>return</c> out of nested statements.</summary>
    private sealed class Returned
    {
        public Value? Value;
    }

    private SemanticModel Model(SyntaxNode node) => _compilation.GetSemanticModel(node.SyntaxTree);

    /// <summary>Runs a method body (Forward or an inlined helper) in the given environment.</summary>
    private Value? InvokeMethodBody(IMethodSymbol method, Dictionary<string, Value> env, Location? callSite)
    {
        if (_callStack.Contains(method, SymbolEqualityComparer.Default))
        {
            var chain = string.Join(" -> ", _callStack.Reverse().Select(m => m.Name).Concat(new[] { method.Name }));
            throw Error(Descriptors.Recursion, callSite, method.Name, chain);
        }
        var syntax = method.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_cancellationToken)).OfType<MethodDeclarationSyntax>()
            .FirstOrDefault(m => m.Body is not null || m.ExpressionBody is not null);
        if (syntax is null)
            throw Error(Descriptors.UnsupportedConstruct, callSite, "Calling '" + method.Name + "'", "only methods with a body in this class can be inlined");

        _callStack.Push(method);
        try
        {
            if (syntax.ExpressionBody is { } arrow)
                return Evaluate(arrow.Expression, env);
            var returned = new Returned();
            foreach (var statement in syntax.Body!.Statements)
            {
                if (Execute(statement, env, returned)) return returned.Value;
            }
            return null;
        }
        finally
        {
            _callStack.Pop();
        }
    }

    /// <summary>Executes one statement; returns true when a <c>return</c> was reached.</summary>
    private bool Execute(StatementSyntax statement, Dictionary<string, Value> env, Returned returned)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        switch (statement)
        {
            case BlockSyntax block:
                foreach (var s in block.Statements)
                    if (Execute(s, env, returned)) return true;
                return false;

            case EmptyStatementSyntax:
                return false;

            case LocalDeclarationStatementSyntax local:
                foreach (var variable in local.Declaration.Variables)
                {
                    if (variable.Initializer is null)
                        throw Error(Descriptors.UnsupportedConstruct, variable, "A local without an initializer", "give '" + variable.Identifier.ValueText + "' a value where it is declared");
                    env[variable.Identifier.ValueText] = Evaluate(variable.Initializer.Value, env);
                }
                return false;

            case ExpressionStatementSyntax expression:
                EvaluateStatementExpression(expression.Expression, env);
                return false;

            case ReturnStatementSyntax ret:
                returned.Value = ret.Expression is null ? null : Evaluate(ret.Expression, env);
                return true;

            case IfStatementSyntax ifStatement:
            {
                bool condition = EvaluateCondition(ifStatement.Condition, env, "if");
                if (condition) return Execute(ifStatement.Statement, env, returned);
                return ifStatement.Else is not null && Execute(ifStatement.Else.Statement, env, returned);
            }

            case ForStatementSyntax forStatement:
                return ExecuteFor(forStatement, env, returned);

            case ForEachStatementSyntax forEach:
            {
                var items = EvaluateLoopSource(forEach.Expression, env, forEach);
                foreach (var item in items)
                {
                    env[forEach.Identifier.ValueText] = item;
                    if (Execute(forEach.Statement, env, returned)) return true;
                }
                return false;
            }

            case ForEachVariableStatementSyntax forEachVariable:
            {
                var items = EvaluateLoopSource(forEachVariable.Expression, env, forEachVariable);
                foreach (var item in items)
                {
                    Bind(forEachVariable.Variable, item, env);
                    if (Execute(forEachVariable.Statement, env, returned)) return true;
                }
                return false;
            }

            default:
                throw Error(Descriptors.UnsupportedConstruct, statement, Describe(statement), "use locals, if, for/foreach with constant bounds, helper calls and return");
        }
    }

    private bool ExecuteFor(ForStatementSyntax loop, Dictionary<string, Value> env, Returned returned)
    {
        if (loop.Declaration is { } declaration)
        {
            foreach (var variable in declaration.Variables)
                env[variable.Identifier.ValueText] = variable.Initializer is null
                    ? throw Error(Descriptors.NonConstantLoop, loop.ForKeyword.GetLocation(), "for", "the loop variable has no initial value")
                    : EvaluateLoopPart(variable.Initializer.Value, env, loop);
        }
        foreach (var initializer in loop.Initializers)
            EvaluateStatementExpression(initializer, env);

        for (int iteration = 0; ; iteration++)
        {
            if (iteration >= MaxLoopIterations)
                throw Error(Descriptors.NonConstantLoop, loop.ForKeyword.GetLocation(), "for", "it runs more than " + MaxLoopIterations + " times");
            if (loop.Condition is not null)
            {
                bool go;
                try
                {
                    go = EvaluateCondition(loop.Condition, env, "for");
                }
                catch (NotConstantException e)
                {
                    throw Error(Descriptors.NonConstantLoop, loop.ForKeyword.GetLocation(), "for", "'" + e.Node + "' is not a compile-time constant");
                }
                if (!go) return false;
            }
            if (Execute(loop.Statement, env, returned)) return true;
            foreach (var incrementor in loop.Incrementors)
                EvaluateStatementExpression(incrementor, env);
        }
    }

    private Value EvaluateLoopPart(ExpressionSyntax expression, Dictionary<string, Value> env, SyntaxNode loop)
    {
        try
        {
            return Evaluate(expression, env);
        }
        catch (NotConstantException e)
        {
            throw Error(Descriptors.NonConstantLoop, loop.GetFirstToken().GetLocation(), loop.GetFirstToken().Text, "'" + e.Node + "' is not a compile-time constant");
        }
    }

    private Value[] EvaluateLoopSource(ExpressionSyntax expression, Dictionary<string, Value> env, SyntaxNode loop)
    {
        var source = EvaluateLoopPart(expression, env, loop);
        if (source is ArrayValue array)
        {
            if (array.Items.Length > MaxLoopIterations)
                throw Error(Descriptors.NonConstantLoop, loop.GetFirstToken().GetLocation(), "foreach", "it runs more than " + MaxLoopIterations + " times");
            return array.Items;
        }
        throw Error(Descriptors.NonConstantLoop, loop.GetFirstToken().GetLocation(), "foreach", "it must iterate over an array of constants such as new[] { 64, 128 }");
    }

    private bool EvaluateCondition(ExpressionSyntax condition, Dictionary<string, Value> env, string what)
    {
        var value = Evaluate(condition, env);
        return value is BoolValue b ? b.Value
            : throw Error(Descriptors.UnsupportedConstruct, condition, "The " + what + " condition '" + condition + "'", "it must be a compile-time constant bool");
    }

    private void EvaluateStatementExpression(ExpressionSyntax expression, Dictionary<string, Value> env)
    {
        switch (expression)
        {
            case AssignmentExpressionSyntax assignment:
            {
                Value value;
                if (assignment.IsKind(SyntaxKind.SimpleAssignmentExpression))
                {
                    value = Evaluate(assignment.Right, env);
                }
                else
                {
                    var op = assignment.Kind() switch
                    {
                        SyntaxKind.AddAssignmentExpression => SyntaxKind.AddExpression,
                        SyntaxKind.SubtractAssignmentExpression => SyntaxKind.SubtractExpression,
                        SyntaxKind.MultiplyAssignmentExpression => SyntaxKind.MultiplyExpression,
                        SyntaxKind.DivideAssignmentExpression => SyntaxKind.DivideExpression,
                        _ => throw Error(Descriptors.UnsupportedConstruct, assignment, "The operator '" + assignment.OperatorToken.Text + "'", "use =, +=, -=, *= or /="),
                    };
                    value = Binary(op, Evaluate(assignment.Left, env), Evaluate(assignment.Right, env), assignment);
                }
                Bind(assignment.Left, value, env);
                return;
            }
            case PostfixUnaryExpressionSyntax or PrefixUnaryExpressionSyntax:
            {
                var (operand, increment) = expression switch
                {
                    PostfixUnaryExpressionSyntax p => (p.Operand, p.IsKind(SyntaxKind.PostIncrementExpression) ? 1 : p.IsKind(SyntaxKind.PostDecrementExpression) ? -1 : 0),
                    PrefixUnaryExpressionSyntax p => (p.Operand, p.IsKind(SyntaxKind.PreIncrementExpression) ? 1 : p.IsKind(SyntaxKind.PreDecrementExpression) ? -1 : 0),
                    _ => throw new InvalidOperationException(),
                };
                if (increment == 0 || Evaluate(operand, env) is not IntValue current)
                    throw Error(Descriptors.UnsupportedConstruct, expression, "The statement '" + expression + "'", "only ++ and -- on int locals are supported");
                Bind(operand, new IntValue(current.Value + increment), env);
                return;
            }
            default:
                throw Error(Descriptors.UnsupportedConstruct, expression, "The statement '" + expression + "'",
                    "a layer call must be assigned to a local or returned");
        }
    }

    /// <summary>Assigns a value to a local, a declaration, or a tuple of them.</summary>
    private void Bind(SyntaxNode target, Value value, Dictionary<string, Value> env)
    {
        switch (target)
        {
            case IdentifierNameSyntax identifier:
                if (!env.ContainsKey(identifier.Identifier.ValueText))
                    throw Error(Descriptors.UnsupportedConstruct, target, "Assigning to '" + identifier + "'", "only locals of the specification can be assigned");
                env[identifier.Identifier.ValueText] = value;
                return;
            case DeclarationExpressionSyntax declaration:
                Bind(declaration.Designation, value, env);
                return;
            case SingleVariableDesignationSyntax single:
                env[single.Identifier.ValueText] = value;
                return;
            case DiscardDesignationSyntax:
                return;
            case ParenthesizedVariableDesignationSyntax parenthesized:
                BindTuple(target, parenthesized.Variables.Cast<SyntaxNode>().ToList(), value, env);
                return;
            case TupleExpressionSyntax tuple:
                BindTuple(target, tuple.Arguments.Select(a => (SyntaxNode)a.Expression).ToList(), value, env);
                return;
            default:
                throw Error(Descriptors.UnsupportedConstruct, target, "Assigning to '" + target + "'", "only locals of the specification can be assigned");
        }
    }

    private void BindTuple(SyntaxNode target, List<SyntaxNode> parts, Value value, Dictionary<string, Value> env)
    {
        if (value is not TupleValue tuple || tuple.Items.Length != parts.Count)
            throw Error(Descriptors.UnsupportedConstruct, target, "Deconstructing " + value.Describe(), "the value is not a tuple of " + parts.Count + " items");
        for (int i = 0; i < parts.Count; i++) Bind(parts[i], tuple.Items[i], env);
    }

    // ---------------------------------------------------------------- expressions

    private Value Evaluate(ExpressionSyntax expression, Dictionary<string, Value> env)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        switch (expression)
        {
            case ParenthesizedExpressionSyntax parenthesized:
                return Evaluate(parenthesized.Expression, env);

            case LiteralExpressionSyntax literal:
                return literal.Token.Value switch
                {
                    int i => new IntValue(i),
                    double d => new DoubleValue(d),
                    float f => new DoubleValue(f),
                    bool b => new BoolValue(b),
                    string s => new StringValue(s),
                    null when literal.IsKind(SyntaxKind.NullLiteralExpression) => new StringValue(null),
                    _ => throw Error(Descriptors.UnsupportedConstruct, literal, "The literal " + literal, "use int, double, bool or string constants"),
                };

            case IdentifierNameSyntax identifier:
                if (env.TryGetValue(identifier.Identifier.ValueText, out var local)) return local;
                return Constant(identifier);

            case MemberAccessExpressionSyntax member:
                return EvaluateMemberAccess(member, env);

            case InterpolatedStringExpressionSyntax interpolated:
                return EvaluateInterpolated(interpolated, env);

            case InvocationExpressionSyntax invocation:
                return EvaluateInvocation(invocation, env);

            case BinaryExpressionSyntax binary:
                if (binary.IsKind(SyntaxKind.LogicalAndExpression) || binary.IsKind(SyntaxKind.LogicalOrExpression))
                {
                    bool left = EvaluateCondition(binary.Left, env, "'" + binary.OperatorToken.Text + "'");
                    if (binary.IsKind(SyntaxKind.LogicalAndExpression) && !left) return new BoolValue(false);
                    if (binary.IsKind(SyntaxKind.LogicalOrExpression) && left) return new BoolValue(true);
                    return new BoolValue(EvaluateCondition(binary.Right, env, "'" + binary.OperatorToken.Text + "'"));
                }
                return Binary(binary.Kind(), Evaluate(binary.Left, env), Evaluate(binary.Right, env), binary);

            case PrefixUnaryExpressionSyntax unary:
            {
                var operand = Evaluate(unary.Operand, env);
                return (unary.Kind(), operand) switch
                {
                    (SyntaxKind.UnaryMinusExpression, IntValue i) => new IntValue(-i.Value),
                    (SyntaxKind.UnaryMinusExpression, DoubleValue d) => new DoubleValue(-d.Value),
                    (SyntaxKind.UnaryPlusExpression, IntValue or DoubleValue) => operand,
                    (SyntaxKind.LogicalNotExpression, BoolValue b) => new BoolValue(!b.Value),
                    _ => throw Error(Descriptors.UnsupportedConstruct, unary, "The operator '" + unary.OperatorToken.Text + "' on " + operand.Describe(), "it is not defined in a specification"),
                };
            }

            case ConditionalExpressionSyntax conditional:
                return EvaluateCondition(conditional.Condition, env, "?:")
                    ? Evaluate(conditional.WhenTrue, env)
                    : Evaluate(conditional.WhenFalse, env);

            case TupleExpressionSyntax tuple:
                return new TupleValue(tuple.Arguments.Select(a => Evaluate(a.Expression, env)).ToArray());

            case ImplicitArrayCreationExpressionSyntax implicitArray:
                return new ArrayValue(implicitArray.Initializer.Expressions.Select(e => Evaluate(e, env)).ToArray());

            case ArrayCreationExpressionSyntax { Initializer: not null } array:
                return new ArrayValue(array.Initializer.Expressions.Select(e => Evaluate(e, env)).ToArray());

            case CollectionExpressionSyntax collection:
                return new ArrayValue(collection.Elements.Select(e => e is ExpressionElementSyntax item
                    ? Evaluate(item.Expression, env)
                    : throw Error(Descriptors.UnsupportedConstruct, e, "A spread element", "list the items")).ToArray());

            case ElementAccessExpressionSyntax elementAccess:
            {
                var target = Evaluate(elementAccess.Expression, env);
                if (target is ArrayValue arr && elementAccess.ArgumentList.Arguments.Count == 1
                    && Evaluate(elementAccess.ArgumentList.Arguments[0].Expression, env) is IntValue index)
                {
                    if (index.Value < 0 || index.Value >= arr.Items.Length)
                        throw Error(Descriptors.UnsupportedConstruct, elementAccess, "The index " + index.Value, "it is outside the array of " + arr.Items.Length + " items");
                    return arr.Items[index.Value];
                }
                throw Error(Descriptors.UnsupportedConstruct, elementAccess, "The element access '" + elementAccess + "'", "only constant arrays can be indexed by constant ints");
            }

            case CastExpressionSyntax cast:
            {
                var value = Evaluate(cast.Expression, env);
                var typeName = cast.Type.ToString();
                return (typeName, value) switch
                {
                    ("int", DoubleValue d) => new IntValue((int)d.Value),
                    ("int", IntValue) => value,
                    ("double" or "float", IntValue i) => new DoubleValue(i.Value),
                    ("double" or "float", DoubleValue) => value,
                    _ => throw Error(Descriptors.UnsupportedConstruct, cast, "The cast '" + cast + "'", "only int/double casts of constants are supported"),
                };
            }

            default:
                throw Error(Descriptors.UnsupportedConstruct, expression, Describe(expression), "use constants, locals, layer calls, helper calls and + / * on tensors");
        }
    }

    /// <summary>A C# constant (literal, const field, enum); anything else is not known at compile time.</summary>
    private Value Constant(ExpressionSyntax expression)
    {
        var constant = Model(expression).GetConstantValue(expression, _cancellationToken);
        if (constant.HasValue)
        {
            switch (constant.Value)
            {
                case int i: return new IntValue(i);
                case double d: return new DoubleValue(d);
                case float f: return new DoubleValue(f);
                case bool b: return new BoolValue(b);
                case string s: return new StringValue(s);
                case long l when l >= int.MinValue && l <= int.MaxValue: return new IntValue((int)l);
            }
        }
        throw new NotConstantException(expression);
    }

    private Value EvaluateMemberAccess(MemberAccessExpressionSyntax member, Dictionary<string, Value> env)
    {
        var constant = Model(member).GetConstantValue(member, _cancellationToken);
        if (constant.HasValue) return Constant(member);

        var target = Evaluate(member.Expression, env);
        string name = member.Name.Identifier.ValueText;
        switch (target)
        {
            case TensorValue tensor:
                bool image = tensor.Shape.Rank == 3;
                return name switch
                {
                    "Channels" when image => new IntValue(tensor.Shape.C),
                    "Height" when image => new IntValue(tensor.Shape.H),
                    "Width" when image => new IntValue(tensor.Shape.W),
                    "Features" when tensor.Shape.Rank == 1 => new IntValue(tensor.Shape.Dims[0]),
                    "Features" when tensor.Shape.Rank == 2 => new IntValue(tensor.Shape.Dims[1]),
                    "Steps" when tensor.Shape.Rank == 2 => new IntValue(tensor.Shape.Dims[0]),
                    "Size" => new IntValue(tensor.Shape.Size),
                    "Channels" or "Height" or "Width" or "Features" or "Steps" => throw Error(Descriptors.UnsupportedConstruct, member,
                        "'" + member + "'", "'" + member.Expression + "' is " + tensor.Shape + (image ? " (use Channels, Height or Width)" : tensor.Shape.Rank == 2 ? " (use Steps or Features)" : " (use Features or Size)")),
                    _ => throw Error(Descriptors.UnsupportedConstruct, member, "'" + member + "'", "a tensor has Channels, Height, Width, Steps, Features and Size"),
                };
            case ArrayValue array when name == "Length":
                return new IntValue(array.Items.Length);
            case TupleValue tuple when name.StartsWith("Item", StringComparison.Ordinal)
                                      && int.TryParse(name.Substring(4), out int item) && item >= 1 && item <= tuple.Items.Length:
                return tuple.Items[item - 1];
            default:
                throw new NotConstantException(member);
        }
    }

    private Value Binary(SyntaxKind kind, Value left, Value right, SyntaxNode node)
    {
        if (left is TensorValue a && right is TensorValue b)
        {
            var op = kind switch
            {
                SyntaxKind.AddExpression => OpKind.Add,
                SyntaxKind.MultiplyExpression => OpKind.Multiply,
                _ => throw Error(Descriptors.UnsupportedConstruct, node, "The operator '" + OperatorText(kind) + "' on tensors", "tensors support + and *"),
            };
            string opName = op == OpKind.Add ? "Tensor +" : "Tensor *";
            if (!a.Shape.Equals(b.Shape))
            {
                string hint = op == OpKind.Add && a.Shape.Rank == 3 && b.Shape.Rank == 3
                    ? "; for a residual connection, project the shortcut with a 1x1 Conv2d (stride " + Math.Max(1, b.Shape.H / Math.Max(1, a.Shape.H)) + ") to " + a.Shape
                    : "";
                throw Error(Descriptors.ShapeMismatch, node, opName, a.Describe(), b.Describe(), hint);
            }
            string name = AutoName(op == OpKind.Add ? "add" : "mul");
            int id = AddNode(op, name, new[] { a.Node, b.Node }, a.Shape, 0, 0, 0, -1, -1, node.GetLocation());
            return new TensorValue(id, a.Shape, name);
        }

        if (left is TensorValue || right is TensorValue)
            throw Error(Descriptors.UnsupportedConstruct, node, "The operator '" + OperatorText(kind) + "' between " + left.Describe() + " and " + right.Describe(),
                "tensors combine only with tensors of the same shape");

        if (left is IntValue li && right is IntValue ri)
        {
            int x = li.Value, y = ri.Value;
            switch (kind)
            {
                case SyntaxKind.AddExpression: return new IntValue(x + y);
                case SyntaxKind.SubtractExpression: return new IntValue(x - y);
                case SyntaxKind.MultiplyExpression: return new IntValue(x * y);
                case SyntaxKind.DivideExpression when y != 0: return new IntValue(x / y);
                case SyntaxKind.ModuloExpression when y != 0: return new IntValue(x % y);
                case SyntaxKind.EqualsExpression: return new BoolValue(x == y);
                case SyntaxKind.NotEqualsExpression: return new BoolValue(x != y);
                case SyntaxKind.LessThanExpression: return new BoolValue(x < y);
                case SyntaxKind.LessThanOrEqualExpression: return new BoolValue(x <= y);
                case SyntaxKind.GreaterThanExpression: return new BoolValue(x > y);
                case SyntaxKind.GreaterThanOrEqualExpression: return new BoolValue(x >= y);
                case SyntaxKind.LeftShiftExpression: return new IntValue(x << y);
                case SyntaxKind.RightShiftExpression: return new IntValue(x >> y);
            }
        }
        if (left is IntValue or DoubleValue && right is IntValue or DoubleValue)
        {
            double x = left is IntValue l1 ? l1.Value : ((DoubleValue)left).Value;
            double y = right is IntValue r1 ? r1.Value : ((DoubleValue)right).Value;
            switch (kind)
            {
                case SyntaxKind.AddExpression: return new DoubleValue(x + y);
                case SyntaxKind.SubtractExpression: return new DoubleValue(x - y);
                case SyntaxKind.MultiplyExpression: return new DoubleValue(x * y);
                case SyntaxKind.DivideExpression: return new DoubleValue(x / y);
                case SyntaxKind.LessThanExpression: return new BoolValue(x < y);
                case SyntaxKind.LessThanOrEqualExpression: return new BoolValue(x <= y);
                case SyntaxKind.GreaterThanExpression: return new BoolValue(x > y);
                case SyntaxKind.GreaterThanOrEqualExpression: return new BoolValue(x >= y);
                case SyntaxKind.EqualsExpression: return new BoolValue(x == y);
                case SyntaxKind.NotEqualsExpression: return new BoolValue(x != y);
            }
        }
        if (left is BoolValue lb && right is BoolValue rb)
        {
            switch (kind)
            {
                case SyntaxKind.EqualsExpression: return new BoolValue(lb.Value == rb.Value);
                case SyntaxKind.NotEqualsExpression: return new BoolValue(lb.Value != rb.Value);
                case SyntaxKind.BitwiseAndExpression: return new BoolValue(lb.Value & rb.Value);
                case SyntaxKind.BitwiseOrExpression: return new BoolValue(lb.Value | rb.Value);
            }
        }
        if (kind == SyntaxKind.AddExpression && (left is StringValue || right is StringValue)
            && left is StringValue or IntValue && right is StringValue or IntValue)
            return new StringValue(Text(left) + Text(right));
        throw Error(Descriptors.UnsupportedConstruct, node, "The operator '" + OperatorText(kind) + "' between " + left.Describe() + " and " + right.Describe(),
            "it is not defined on these constants");
    }

    /// <summary>$"layer{i}.{j}.conv1": holes must be int or string constants (format specifiers are not supported).</summary>
    private Value EvaluateInterpolated(InterpolatedStringExpressionSyntax interpolated, Dictionary<string, Value> env)
    {
        var text = new System.Text.StringBuilder();
        foreach (var content in interpolated.Contents)
        {
            switch (content)
            {
                case InterpolatedStringTextSyntax literal:
                    text.Append(literal.TextToken.ValueText);
                    break;
                case InterpolationSyntax { AlignmentClause: null, FormatClause: null } hole:
                    var value = Evaluate(hole.Expression, env);
                    if (value is not (IntValue or StringValue))
                        throw Error(Descriptors.UnsupportedConstruct, hole, "The interpolation " + hole, "only int and string constants can be interpolated into a name");
                    text.Append(Text(value));
                    break;
                default:
                    throw Error(Descriptors.UnsupportedConstruct, content, "The interpolation " + content, "alignment and format specifiers are not supported in a specification");
            }
        }
        return new StringValue(text.ToString());
    }

    private static string Text(Value value) => value switch
    {
        IntValue i => Format(i.Value),
        StringValue s => s.Value ?? "",
        _ => value.Describe(),
    };

    private static string OperatorText(SyntaxKind kind) => kind switch
    {
        SyntaxKind.AddExpression => "+",
        SyntaxKind.SubtractExpression => "-",
        SyntaxKind.MultiplyExpression => "*",
        SyntaxKind.DivideExpression => "/",
        SyntaxKind.ModuloExpression => "%",
        SyntaxKind.EqualsExpression => "==",
        SyntaxKind.NotEqualsExpression => "!=",
        SyntaxKind.LessThanExpression => "<",
        SyntaxKind.LessThanOrEqualExpression => "<=",
        SyntaxKind.GreaterThanExpression => ">",
        SyntaxKind.GreaterThanOrEqualExpression => ">=",
        _ => kind.ToString(),
    };

    private static string Describe(SyntaxNode node)
    {
        string text = node.ToString();
        if (text.Length > 40) text = text.Substring(0, 37) + "...";
        text = text.Replace('\n', ' ').Replace('\r', ' ');
        string kind = node.Kind().ToString();
        if (kind.EndsWith("Statement", StringComparison.Ordinal)) kind = kind.Substring(0, kind.Length - "Statement".Length) + " statement";
        else if (kind.EndsWith("Expression", StringComparison.Ordinal)) kind = kind.Substring(0, kind.Length - "Expression".Length) + " expression";
        return "'" + text + "' (" + kind + ")";
    }

    private static string Format(int value) => value.ToString(CultureInfo.InvariantCulture);
}
