using System;

namespace NetGen;

/// <summary>
/// One tensor as described by a safetensors header: its name, dtype string (e.g. <c>F32</c>),
/// shape, and byte range <c>[Begin, End)</c> relative to the start of the data buffer
/// (the bytes that follow the 8-byte length and the JSON header).
/// </summary>
public sealed class SafetensorsEntry
{
    public SafetensorsEntry(string name, string dtype, int[] shape, long begin, long end)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        DType = dtype ?? throw new ArgumentNullException(nameof(dtype));
        Shape = shape ?? throw new ArgumentNullException(nameof(shape));
        Begin = begin;
        End = end;
    }

    /// <summary>Tensor name, e.g. <c>C1.weight</c>.</summary>
    public string Name { get; }

    /// <summary>Safetensors dtype string, e.g. <c>F32</c>, <c>F16</c>, <c>BF16</c>.</summary>
    public string DType { get; }

    /// <summary>Dimensions, outermost first.</summary>
    public int[] Shape { get; }

    /// <summary>First byte of the tensor, relative to the data buffer.</summary>
    public long Begin { get; }

    /// <summary>One past the last byte of the tensor, relative to the data buffer.</summary>
    public long End { get; }

    /// <summary><see cref="End"/> - <see cref="Begin"/>.</summary>
    public long ByteLength => End - Begin;

    public override string ToString() =>
        $"{Name} {DType} {Safetensors.FormatShape(Shape)} [{Begin}, {End})";
}
