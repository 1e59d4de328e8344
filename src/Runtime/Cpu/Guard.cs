using System;
using System.Diagnostics.CodeAnalysis;

namespace NetGen.Cpu;

/// <summary>Argument checks shared by the kernels. They run once per call, never inside loops.</summary>
internal static class Guard
{
    public static void NonNegative(int value, string name)
    {
        if (value < 0) ThrowNegative(value, name);
    }

    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive but is {value}.");
    }

    /// <summary>Span <paramref name="name"/> must hold at least <paramref name="required"/> elements (only that prefix is used).</summary>
    public static void AtLeast(int length, long required, string name)
    {
        if (length < required) ThrowTooShort(length, required, name);
    }

    /// <summary>Optional span (bias): empty, or at least <paramref name="required"/> elements.</summary>
    public static void EmptyOrAtLeast(int length, long required, string name)
    {
        if (length != 0 && length < required)
            throw new ArgumentException($"Span '{name}' must be empty or hold at least {required} elements but has {length}.", name);
    }

    /// <summary>Elementwise kernels: every span has exactly the destination's length.</summary>
    public static void SameLength(int length, int expected, string name)
    {
        if (length != expected)
            throw new ArgumentException($"Span '{name}' has {length} elements but the destination has {expected}; elementwise kernels need equal lengths.", name);
    }

    [DoesNotReturn]
    private static void ThrowNegative(int value, string name)
        => throw new ArgumentOutOfRangeException(name, value, $"{name} must be non-negative but is {value}.");

    [DoesNotReturn]
    private static void ThrowTooShort(int length, long required, string name)
        => throw new ArgumentException($"Span '{name}' is too short: it has {length} elements but {required} are required.", name);
}
