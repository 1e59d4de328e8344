using System;

namespace NetGen;

/// <summary>
/// One named parameter tensor of a network: its name (as in the checkpoint, e.g. <c>C1.weight</c>),
/// its shape, and where it lives in the network's flat parameter array.
/// The generator emits one static schema per network; the runtime never reflects.
/// </summary>
public sealed class ParameterInfo
{
    public ParameterInfo(string name, int[] shape, int offset)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        Shape = shape ?? throw new ArgumentNullException(nameof(shape));
        Offset = offset;
        int length = 1;
        foreach (int d in shape) length = checked(length * d);
        Length = length;
    }

    /// <summary>Checkpoint name, e.g. <c>C1.weight</c>.</summary>
    public string Name { get; }

    /// <summary>Dimensions, outermost first (a Conv2d weight is [out, in, k, k] as in PyTorch).</summary>
    public int[] Shape { get; }

    /// <summary>Start index in the flat parameter (and gradient) array.</summary>
    public int Offset { get; }

    /// <summary>Number of elements (product of <see cref="Shape"/>).</summary>
    public int Length { get; }

    /// <summary>The shape written as <c>6x1x5x5</c>.</summary>
    public string ShapeText => string.Join("x", Shape);

    public override string ToString() => $"{Name} [{ShapeText}] @ {Offset}";
}
