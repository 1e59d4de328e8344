using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

public class CpuCacheTests
{
    [Fact]
    public void DetectsAPlausibleL2()
    {
        Assert.InRange(CpuCache.L2Bytes, 64 * 1024, 1 << 30);
        Assert.Contains(CpuCache.L2Source, new[] { "NETGEN_L2_KB", "cpuid", "sysfs", "default" });
        Assert.Equal(GemmPacked.ColumnsFor(CpuCache.L2Bytes), GemmPacked.NC);
    }

    [Theory]
    [InlineData(1 << 20, 512, 200 * 1024)]        // the tuned machine (Zen 5): the constants it was tuned with
    [InlineData(512 * 1024, 256, 100 * 1024)]     // Zen 3: half the B block, half the direct-B limit
    [InlineData(256 * 1024, 128, 50 * 1024)]
    [InlineData(2 << 20, 512, 200 * 1024)]        // larger caches keep the measured values
    [InlineData(1280 * 1024, 512, 200 * 1024)]
    [InlineData(96 * 1024, 128, 96 * 200)]        // never fewer than 128 columns
    public void BlockingFollowsTheL2(int l2Bytes, int columns, int directBFloats)
    {
        Assert.Equal(columns, GemmPacked.ColumnsFor(l2Bytes));
        Assert.Equal(directBFloats, GemmPacked.DirectBFloatsFor(l2Bytes));
    }

    [Theory]
    [InlineData("1024K", 1 << 20)]
    [InlineData("2M\n", 2 << 20)]
    [InlineData("524288", 512 * 1024)]
    [InlineData("", 0)]
    [InlineData("-1K", 0)]
    [InlineData("lots", 0)]
    public void ParsesSysfsSizes(string text, int bytes) => Assert.Equal(bytes, CpuCache.ParseSize(text));
}
