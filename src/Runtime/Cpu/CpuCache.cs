using System;
using System.Globalization;
using System.IO;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Cpu;

/// <summary>
/// The per-core L2 cache size the SGEMM blocking is sized to, read once: the environment variable NETGEN_L2_KB
/// when it holds a positive number (for a virtual machine whose CPUID reports the wrong cache), else CPUID leaf
/// 0x80000006 (ECX bits 31..16: L2 KB, on AMD and Intel), else Linux's
/// /sys/devices/system/cpu/cpu0/cache, else 1 MB (the tuned machine's size).
/// </summary>
internal static class CpuCache
{
    /// <summary>The L2 size the blocking constants were tuned on (AMD Zen 5: 1 MB per core).</summary>
    internal const int TunedL2Bytes = 1 << 20;

    private static readonly (int Bytes, string Source) Detected = Detect();

    /// <summary>Bytes of L2 per core.</summary>
    internal static int L2Bytes => Detected.Bytes;

    /// <summary>Where <see cref="L2Bytes"/> came from: "NETGEN_L2_KB", "cpuid", "sysfs" or "default".</summary>
    internal static string L2Source => Detected.Source;

    private static (int, string) Detect()
    {
        string? env = Environment.GetEnvironmentVariable("NETGEN_L2_KB");
        if (env != null && int.TryParse(env.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int kb) && kb > 0 && kb <= 1 << 20)
            return (kb * 1024, "NETGEN_L2_KB");
        int bytes = FromCpuId();
        if (bytes > 0) return (bytes, "cpuid");
        bytes = FromSysfs();
        if (bytes > 0) return (bytes, "sysfs");
        return (TunedL2Bytes, "default");
    }

    private static int FromCpuId()
    {
        if (!X86Base.IsSupported) return 0;
        try
        {
            (int maxExtended, _, _, _) = X86Base.CpuId(unchecked((int)0x80000000), 0);
            if ((uint)maxExtended < 0x80000006) return 0;
            (_, _, int ecx, _) = X86Base.CpuId(unchecked((int)0x80000006), 0);
            uint kb = (uint)ecx >> 16;
            return kb is > 0 and <= 1 << 16 ? (int)kb * 1024 : 0;
        }
        catch (PlatformNotSupportedException)
        {
            return 0;
        }
    }

    private static int FromSysfs()
    {
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (!Directory.Exists(root)) return 0;
            foreach (string index in Directory.GetDirectories(root, "index*"))
            {
                string level = File.ReadAllText(Path.Combine(index, "level")).Trim();
                string type = File.ReadAllText(Path.Combine(index, "type")).Trim();
                if (level != "2" || type == "Instruction") continue;
                int bytes = ParseSize(File.ReadAllText(Path.Combine(index, "size")));
                if (bytes > 0) return bytes;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>A sysfs cache size ("1024K", "2M", "524288"): bytes, or 0 when it is not one.</summary>
    internal static int ParseSize(string text)
    {
        text = text.Trim();
        int scale = 1;
        if (text.EndsWith('K')) { scale = 1024; text = text[..^1]; }
        else if (text.EndsWith('M')) { scale = 1024 * 1024; text = text[..^1]; }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0 && value <= int.MaxValue / scale
            ? value * scale : 0;
    }
}
