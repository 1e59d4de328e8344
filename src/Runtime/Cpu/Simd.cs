using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>Instruction-set width a vectorised kernel runs with. The scalar path is the reference.</summary>
public enum SimdPath { Scalar, Vector128, Vector256, Vector512 }

/// <summary>Which <see cref="SimdPath"/>s this machine accelerates, and the one the public kernels use.</summary>
public static class Simd
{
    /// <summary>The widest hardware-accelerated path; every public kernel dispatches to it.</summary>
    public static SimdPath Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdPath.Vector512 :
        Vector256.IsHardwareAccelerated ? SimdPath.Vector256 :
        Vector128.IsHardwareAccelerated ? SimdPath.Vector128 :
        SimdPath.Scalar;

    /// <summary>True when <paramref name="p"/> is hardware accelerated here (Scalar always is).</summary>
    public static bool IsSupported(SimdPath p) => p switch
    {
        SimdPath.Scalar => true,
        SimdPath.Vector128 => Vector128.IsHardwareAccelerated,
        SimdPath.Vector256 => Vector256.IsHardwareAccelerated,
        SimdPath.Vector512 => Vector512.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>Floats in one vector of <paramref name="p"/> (Scalar: 1).</summary>
    internal static int Width(SimdPath p) => p switch
    {
        SimdPath.Vector512 => 16,
        SimdPath.Vector256 => 8,
        SimdPath.Vector128 => 4,
        _ => 1,
    };
}
