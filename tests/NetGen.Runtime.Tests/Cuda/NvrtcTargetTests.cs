using System;
using NetGen.Cuda;
using Xunit;

namespace NetGen.Runtime.Tests;

/// <summary>What NVRTC compiles for, given the device and the architectures this NVRTC knows (no GPU needed).</summary>
public class NvrtcTargetTests
{
    private static readonly int[] Cuda13 = { 75, 80, 86, 87, 89, 90, 100, 103, 110, 120, 121 };

    [Theory]
    [InlineData(90, "sm_90")]   // H100, H200
    [InlineData(75, "sm_75")]   // the oldest CUDA 13 supports
    [InlineData(121, "sm_121")]
    public void A_device_this_NVRTC_knows_gets_a_CUBIN_for_its_own_architecture(int device, string architecture)
    {
        Assert.Equal(new NvrtcTarget(architecture, Ptx: false), NvrtcTarget.For(device, Cuda13, "13.0"));
    }

    [Fact]
    public void An_NVRTC_that_cannot_list_its_architectures_compiles_for_the_device_and_lets_NVRTC_judge()
    {
        Assert.Equal(new NvrtcTarget("sm_90", Ptx: false), NvrtcTarget.For(90, null, "11.1"));
        Assert.Equal(new NvrtcTarget("sm_90", Ptx: false), NvrtcTarget.For(90, Array.Empty<int>(), "11.1"));
    }

    [Theory]
    [InlineData(100, "compute_90")]  // a newer GPU than a CUDA 12.0-era NVRTC knows: the newest below it
    [InlineData(120, "compute_90")]
    [InlineData(88, "compute_87")]   // not listed, between two that are: the one below, never the one above
    public void A_device_newer_than_this_NVRTC_knows_gets_PTX_for_the_newest_architecture_at_or_below_it(int device, string architecture)
    {
        int[] cuda12 = { 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90 };
        Assert.Equal(new NvrtcTarget(architecture, Ptx: true), NvrtcTarget.For(device, cuda12, "12.0"));
    }

    [Fact]
    public void A_device_older_than_everything_this_NVRTC_knows_is_a_clear_error()
    {
        var error = Assert.Throws<NotSupportedException>(() => NvrtcTarget.For(70, Cuda13, "13.0"));
        Assert.Equal("NVRTC 13.0 cannot compile for this GPU (compute capability 7.0, sm_70): it supports sm_75 to sm_121. " +
                     "Use CUDA libraries that still support this GPU (point NETGEN_CUDA_PATH at their folder), or run on the CPU (Backend.Cpu).",
                     error.Message);
    }
}
