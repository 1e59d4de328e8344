using System;
using System.Linq;

namespace NetGen.Generator.Model;

/// <summary>Where a diagnostic points, without holding a Roslyn SyntaxTree.</summary>
internal sealed record LocationInfo(string FilePath, int Start, int Length, int StartLine, int StartColumn, int EndLine, int EndColumn);

/// <summary>A diagnostic carried through the pipeline as plain data.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments);

/// <summary>The operations a node can perform.</summary>
internal enum OpKind
{
    Input,
    Conv2d,
    Dense,
    AvgPool2d,
    MaxPool2d,
    Flatten,
    Tanh,
    Relu,
    Sigmoid,
    Softmax,
    Add,
    Multiply,
    BatchNorm,
    Dropout,
    LocalResponseNorm,
    Concat,
    AdaptiveAvgPool2d,
    LeakyRelu,
    ConvTranspose2d,
    Upsample,
    Exp,
    Reshape,
    Scale,
    Recurrent,
    Step,
}

/// <summary>A per-sample shape (the batch dimension is a runtime value and never appears here).</summary>
internal sealed record Shape(EquatableArray<int> Dims)
{
    public static Shape Of(params int[] dims) => new(new EquatableArray<int>(dims));

    public int Rank => Dims.Count;

    public int Size => Dims.Aggregate(1, (a, b) => a * b);

    public int C => Dims[0];

    public int H => Dims[1];

    public int W => Dims[2];

    public override string ToString() => string.Join("x", Dims);
}

/// <summary>
/// One node of the forward graph. Integer arguments are op-specific:
/// Conv2d: Kernel, Stride, Padding; pooling: Kernel, Stride, Padding, CeilMode; LocalResponseNorm: Kernel = size.
/// Real arguments (<see cref="Reals"/>): BatchNorm (momentum, epsilon); Dropout (p);
/// LocalResponseNorm (alpha, beta, k); LeakyRelu (slope); Scale (factor).
/// ConvTranspose2d: Kernel, Stride, Padding, and output padding in <see cref="Extra"/>; Upsample: Kernel = scale,
/// <see cref="CeilMode"/> = bilinear.
/// BatchNorm: Weight = gamma, Bias = beta, Buffer = running_mean (running_var is the next parameter index).
/// </summary>
internal sealed record NodeSpec(
    int Id,
    OpKind Op,
    string Name,
    EquatableArray<int> Inputs,
    Shape Shape,
    int Kernel,
    int Stride,
    int Padding,
    int Weight,
    int Bias,
    int Line)
{
    public bool HasParameters => Weight >= 0;

    public EquatableArray<double> Reals { get; init; } = EquatableArray<double>.Empty;

    public bool CeilMode { get; init; }

    /// <summary>An op-specific extra integer (ConvTranspose2d: output padding).</summary>
    public int Extra { get; init; }

    /// <summary>First buffer (non-trainable state) of the node, or -1.</summary>
    public int Buffer { get; init; } = -1;

    public double Real(int index) => Reals[index];

    /// <summary>Recurrent: parameters per layer and direction (weight_ih, weight_hh, bias_ih, bias_hh), the first at <see cref="Weight"/>.</summary>
    public int RecurrentParameterCount => Op == OpKind.Recurrent ? 4 * Stride * Padding : 0;
}

/// <summary>Initialisation scheme of a parameter tensor.</summary>
internal enum InitKind { Zeros, XavierUniform, HeNormal, Ones, UniformHidden }

/// <summary>
/// A named parameter tensor (weights or bias), or a buffer (<see cref="IsBuffer"/>: state saved in checkpoints but
/// not trained, such as BatchNorm's running statistics).
/// </summary>
internal sealed record ParamSpec(int Index, string Name, EquatableArray<int> Shape, InitKind Init, int FanIn, int FanOut)
{
    public bool IsBuffer { get; init; }

    public int Size => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>A Forward output: the tuple element's name (or Output1, Output2, ...) and its node.</summary>
internal sealed record OutputSpec(string Name, int Node);

/// <summary>A Forward input.</summary>
internal sealed record InputSpec(string Name, int Node, Shape Shape);

/// <summary>A layer member declared as an attributed partial method: the generator emits its marker body.</summary>
internal sealed record LayerMemberSpec(string Name, string Accessibility, string ReturnType, string ParameterList);

/// <summary>Everything the emitter needs to know about one [Network] class. No Roslyn types.</summary>
internal sealed record NetworkSpec(
    string? Namespace,
    string ClassName,
    EquatableArray<string> ContainingTypes,
    string Accessibility,
    EquatableArray<InputSpec> Inputs,
    EquatableArray<NodeSpec> Nodes,
    EquatableArray<ParamSpec> Parameters,
    EquatableArray<LayerMemberSpec> LayerMembers,
    int Output,
    EquatableArray<DiagnosticInfo> Diagnostics)
{
    /// <summary>Every output, in the order Forward returns them; <see cref="Output"/> is the first.</summary>
    public EquatableArray<OutputSpec> Outputs { get; init; } = EquatableArray<OutputSpec>.Empty;

    public bool HasSeveralOutputs => Outputs.Count > 1;

    public bool IsOutput(int node) => Outputs.Any(o => o.Node == node);

    public bool HasErrors => Diagnostics.Any(d => NetGen.Generator.Diagnostics.Descriptors.IsError(d.Id));
}
