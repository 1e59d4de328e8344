using System;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Model;

namespace NetGen.Generator.Parsing;

/// <summary>A value of the partial evaluator: a compile-time constant or a symbolic tensor.</summary>
internal abstract record Value
{
    public abstract string Describe();
}

internal sealed record IntValue(int Value) : Value
{
    public override string Describe() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

internal sealed record DoubleValue(double Value) : Value
{
    public override string Describe() => Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

internal sealed record BoolValue(bool Value) : Value
{
    public override string Describe() => Value ? "true" : "false";
}

internal sealed record StringValue(string? Value) : Value
{
    public override string Describe() => Value is null ? "null" : "\"" + Value + "\"";
}

/// <summary>A tensor in the graph being built: the node that produces it and its per-sample shape.</summary>
internal sealed record TensorValue(int Node, Shape Shape, string Origin) : Value
{
    public override string Describe() => Shape + " (from " + Origin + ")";
}

internal sealed record TupleValue(Value[] Items) : Value
{
    public override string Describe() => "(" + string.Join(", ", Array.ConvertAll(Items, i => i.Describe())) + ")";
}

internal sealed record ArrayValue(Value[] Items) : Value
{
    public override string Describe() => "[" + string.Join(", ", Array.ConvertAll(Items, i => i.Describe())) + "]";
}

/// <summary>Stops evaluation of one network with a diagnostic.</summary>
internal sealed class SpecException : Exception
{
    public SpecException(DiagnosticInfo info) : base(info.Id) => Info = info;

    public DiagnosticInfo Info { get; }
}

/// <summary>An expression whose value is not known at compile time; the caller decides which diagnostic fits.</summary>
internal sealed class NotConstantException : Exception
{
    public NotConstantException(SyntaxNode node) : base(node.ToString()) => Node = node;

    public SyntaxNode Node { get; }
}
