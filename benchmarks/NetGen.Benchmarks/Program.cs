using System;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Environments;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.NativeAot;
using NetGen.Benchmarks;

// dotnet run -c Release --project benchmarks/NetGen.Benchmarks -- --filter '*'
// (see docs/benchmarks.md for the exact commands behind each table).
//
// OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on some machines here to force OpenBLAS's Haswell
// kernels; they make the OpenBLAS baseline slower than it is, so they are removed for this process
// and the benchmark processes it starts. On Linux Environment.SetEnvironmentVariable only edits .NET's own
// copy (which child processes inherit), so the native environment that OpenBLAS reads in this process is
// edited too, before the library is loaded.
foreach (var name in new[] { "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE" })
{
    if (Environment.GetEnvironmentVariable(name) is { } value)
    {
        Console.WriteLine($"// unset {name}={value} for the OpenBLAS peer");
        Environment.SetEnvironmentVariable(name, null);
        if (!OperatingSystem.IsWindows()) NativeEnvironment.Unset(name);
    }
}
Console.WriteLine("// peer: " + OpenBlas.Describe());
Console.WriteLine($"// NetGen SIMD path: {NetGen.Cpu.Simd.Best}, threads: {Environment.ProcessorCount} (NETGEN_THREADS overrides)");

// --jit-and-aot: every selected benchmark runs twice, under the JIT and as a NativeAOT executable (the
// deployment issue's "AOT within 10% of JIT"). BenchmarkDotNet's built-in NativeAOT job restores the
// ILCompiler from a .NET nightly feed; this one uses the SDK's own ILCompiler from the configured feeds.
IConfig? config = null;
if (Array.IndexOf(args, "--jit-and-aot") is int at and >= 0)
{
    args = args[..at].Concat(args[(at + 1)..]).ToArray();
    var aot = NativeAotToolchain.CreateBuilder()
        .UseNuGet("", "https://api.nuget.org/v3/index.json")
        .TargetFrameworkMoniker("net10.0")
        .DisplayName("NativeAOT 10.0")
        .ToToolchain();
    config = DefaultConfig.Instance
        .AddJob(Job.Default.WithId("JIT").AsBaseline())
        .AddJob(Job.Default.WithRuntime(NativeAotRuntime.Net10_0).WithToolchain(aot).WithId("NativeAOT"));
}
BenchmarkSwitcher.FromAssembly(typeof(LeNet5Benchmarks).Assembly).Run(args, config);

internal static partial class NativeEnvironment
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "unsetenv", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int UnsetEnv(string name);

    public static void Unset(string name) => UnsetEnv(name);
}
