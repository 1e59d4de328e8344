using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Model;

namespace NetGen.Generator.Diagnostics;

/// <summary>The one table of NetGen diagnostics. Ids are stable; never reuse a retired id.</summary>
internal static class Descriptors
{
    private const string Category = "NetGen";

    public static readonly DiagnosticDescriptor ChannelMismatch = Error("NG0001", "Input channels do not match",
        "{0} expects {1}; {2} receives {3}");

    public static readonly DiagnosticDescriptor NonPositiveOutput = Error("NG0002", "Output size is not positive",
        "{0} on input {1} with {2} gives output {3}: every dimension must be positive");

    public static readonly DiagnosticDescriptor DenseNotFlat = Error("NG0003", "Dense needs a flat tensor",
        "{0} needs a flat tensor but receives {1}; insert Flatten(...) first");

    public static readonly DiagnosticDescriptor MissingShape = Error("NG0004", "Input without [Shape]",
        "Forward parameter '{0}' needs a [Shape(...)] attribute giving its per-sample dimensions, e.g. [Shape(1, 28, 28)]");

    public static readonly DiagnosticDescriptor NonConstantArgument = Error("NG0005", "Layer argument is not a compile-time constant",
        "Argument '{0}' of {1} must be a compile-time constant, but '{2}' is not");

    public static readonly DiagnosticDescriptor UnsupportedConstruct = Error("NG0006", "Unsupported construct in a network specification",
        "{0} is not supported in a network specification: {1}");

    public static readonly DiagnosticDescriptor LayerOutsideNetwork = Error("NG0007", "Layer function called outside a network",
        "'{0}' is a NetGen layer marker and only has meaning inside the Forward specification of a [Network] partial class; it throws if run");

    public static readonly DiagnosticDescriptor MissingForward = Error("NG0008", "Network has no Forward method",
        "[Network] class '{0}' needs exactly one method 'Tensor Forward(...)' whose parameters are [Shape]-annotated Tensors{1}");

    public static readonly DiagnosticDescriptor NotPartial = Error("NG0009", "Network class must be partial",
        "[Network] class '{0}' must be declared partial (and so must every class that contains it)");

    public static readonly DiagnosticDescriptor Recursion = Error("NG0010", "Recursive helper method",
        "Helper method '{0}' calls itself (through {1}); a network specification must be finite");

    public static readonly DiagnosticDescriptor InvalidArgument = Error("NG0011", "Invalid layer argument",
        "Argument '{0}' of {1} is {2}; {3}");

    public static readonly DiagnosticDescriptor ShapeMismatch = Error("NG0012", "Tensor shapes do not match",
        "{0} needs operands of the same shape but receives {1} and {2}{3}");

    public static readonly DiagnosticDescriptor NonConstantLoop = Error("NG0013", "Loop is not a compile-time constant",
        "{0}: the loop must have compile-time constant bounds and at most 10000 iterations ({1})");

    public static readonly DiagnosticDescriptor DuplicateName = Error("NG0014", "Duplicate parameter name",
        "Two layers are both named '{0}'; parameter names must be unique");

    public static readonly DiagnosticDescriptor UnusedLayer = Warning("NG0015", "Layer result is never used",
        "The result of {0} does not reach the network output; its computation and parameters are dropped");

    public static readonly DiagnosticDescriptor ConcatMismatch = Error("NG0016", "Concat operands do not fit",
        "Concat cannot join {0} and {1}{2}");

    public static readonly DiagnosticDescriptor InternalError = Error("NG0099", "NetGen generator internal error",
        "The NetGen generator failed on '{0}': {1}. Please report this with the declaration.");

    private static readonly Dictionary<string, DiagnosticDescriptor> ById = new[]
    {
        ChannelMismatch, NonPositiveOutput, DenseNotFlat, MissingShape, NonConstantArgument, UnsupportedConstruct,
        LayerOutsideNetwork, MissingForward, NotPartial, Recursion, InvalidArgument, ShapeMismatch, NonConstantLoop,
        DuplicateName, UnusedLayer, ConcatMismatch, InternalError,
    }.ToDictionary(d => d.Id);

    public static DiagnosticDescriptor Get(string id) => ById[id];

    public static bool IsError(string id) => ById[id].DefaultSeverity == DiagnosticSeverity.Error;

    public static Diagnostic ToDiagnostic(DiagnosticInfo info)
    {
        Location location = Location.None;
        if (info.Location is { } l)
        {
            location = Location.Create(l.FilePath, new Microsoft.CodeAnalysis.Text.TextSpan(l.Start, l.Length),
                new Microsoft.CodeAnalysis.Text.LinePositionSpan(
                    new Microsoft.CodeAnalysis.Text.LinePosition(l.StartLine, l.StartColumn),
                    new Microsoft.CodeAnalysis.Text.LinePosition(l.EndLine, l.EndColumn)));
        }
        return Diagnostic.Create(Get(info.Id), location, info.Arguments.Cast<object>().ToArray());
    }

    public static LocationInfo? ToInfo(Location? location)
    {
        if (location is null || location.SourceTree is null) return null;
        var span = location.GetLineSpan();
        return new LocationInfo(location.SourceTree.FilePath, location.SourceSpan.Start, location.SourceSpan.Length,
            span.StartLinePosition.Line, span.StartLinePosition.Character, span.EndLinePosition.Line, span.EndLinePosition.Character);
    }

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static DiagnosticDescriptor Warning(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);
}
