using System.Runtime.Intrinsics;
using NetGen;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class SimdTests
{
    [Fact]
    public void ScalarIsAlwaysSupported() => Assert.True(Simd.IsSupported(SimdPath.Scalar));

    [Fact]
    public void BestIsSupportedAndIsTheWidestAcceleratedPath()
    {
        Assert.True(Simd.IsSupported(Simd.Best));
        SimdPath widest = SimdPath.Scalar;
        if (Vector128.IsHardwareAccelerated) widest = SimdPath.Vector128;
        if (Vector256.IsHardwareAccelerated) widest = SimdPath.Vector256;
        if (Vector512.IsHardwareAccelerated) widest = SimdPath.Vector512;
        Assert.Equal(widest, Simd.Best);
    }

    [Fact]
    public void IsSupportedMatchesHardwareAcceleration()
    {
        Assert.Equal(Vector128.IsHardwareAccelerated, Simd.IsSupported(SimdPath.Vector128));
        Assert.Equal(Vector256.IsHardwareAccelerated, Simd.IsSupported(SimdPath.Vector256));
        Assert.Equal(Vector512.IsHardwareAccelerated, Simd.IsSupported(SimdPath.Vector512));
        Assert.False(Simd.IsSupported((SimdPath)42));
    }
}
