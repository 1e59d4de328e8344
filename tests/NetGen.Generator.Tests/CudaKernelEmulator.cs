using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;

namespace NetGen.Generator.Tests;

/// <summary>
/// Runs the generator's CUDA C on the CPU: g++ compiles the very source NVRTC would get, behind a shim that defines
/// <c>__global__</c> away and makes blockIdx / threadIdx / blockDim / gridDim plain variables. Every generated kernel is
/// a grid-stride loop over independent indices, so running the threads of a launch one after another computes what
/// the GPU computes; a launch of several blocks of several threads exercises the stride arithmetic.
/// <c>-ffp-contract=off</c> keeps g++ from fusing multiply-adds, as NVRTC is told with <c>--fmad=false</c>.
/// </summary>
internal sealed unsafe class CudaKernelEmulator : IDisposable
{
    private const string Shim = """
        // NetGen test shim: CUDA's launch coordinates as ordinary variables, one thread at a time.
        #include <math.h>
        struct netgen_dim3 { unsigned int x, y, z; };
        static netgen_dim3 blockIdx, threadIdx, blockDim, gridDim;
        extern "C" void netgen_emulator_set_thread(unsigned int block, unsigned int thread, unsigned int blocks, unsigned int threads)
        {
            blockIdx.x = block; threadIdx.x = thread; gridDim.x = blocks; blockDim.x = threads;
            blockIdx.y = blockIdx.z = threadIdx.y = threadIdx.z = 0;
            gridDim.y = gridDim.z = blockDim.y = blockDim.z = 1;
        }
        #define __global__
        #define __device__
        #include "kernels.cu"
        #include "launchers.cpp"
        """;

    private readonly nint _library;
    private readonly string _directory;
    private readonly delegate* unmanaged<uint, uint, uint, uint, void> _setThread;

    private CudaKernelEmulator(nint library, string directory)
    {
        _library = library;
        _directory = directory;
        _setThread = (delegate* unmanaged<uint, uint, uint, uint, void>)NativeLibrary.GetExport(library, "netgen_emulator_set_thread");
    }

    /// <summary>The g++ the tests use, or null (with the reason) when this machine has none.</summary>
    public static string? FindCompiler(out string reason)
    {
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (folder.Length == 0) continue;
            string candidate = Path.Combine(folder, "g++");
            if (File.Exists(candidate))
            {
                reason = "";
                return candidate;
            }
        }
        reason = "skipped: no g++ on PATH to compile the generated CUDA C for the CPU";
        return null;
    }

    /// <summary>Compiles <paramref name="kernelSource"/>; a compile error fails the test with g++'s own message.</summary>
    public static CudaKernelEmulator Build(string compiler, string kernelSource)
    {
        string directory = Path.Combine(Path.GetTempPath(), "netgen-cuda-emulator-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "kernels.cu"), kernelSource);
        File.WriteAllText(Path.Combine(directory, "shim.cpp"), Shim);
        File.WriteAllText(Path.Combine(directory, "launchers.cpp"), Launchers(kernelSource));
        string library = Path.Combine(directory, "libkernels.so");
        var start = new ProcessStartInfo(compiler)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = directory,
        };
        foreach (string argument in new[] { "-std=c++17", "-O1", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Werror", "-shared", "-fPIC", "shim.cpp", "-o", library })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"g++ rejected the generated CUDA C (exit {process.ExitCode}):\n{errors}\n--- source ---\n{kernelSource}");
        return new CudaKernelEmulator(NativeLibrary.Load(library), directory);
    }

    /// <summary>
    /// One launcher per kernel, <c>netgen_launch_&lt;kernel&gt;(void** args, blocks, threads)</c>: it unpacks an argument array
    /// exactly as cuLaunchKernel does (one pointer per argument) and runs every thread of the launch, so runtime code that
    /// marshals arguments for the GPU can run here unchanged.
    /// </summary>
    private static string Launchers(string kernelSource)
    {
        var text = new System.Text.StringBuilder();
        foreach (System.Text.RegularExpressions.Match kernel in System.Text.RegularExpressions.Regex.Matches(kernelSource, @"extern ""C"" __global__ void (\w+)\(([^)]*)\)"))
        {
            string[] parameters = kernel.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var arguments = new List<string>();
            for (int i = 0; i < parameters.Length; i++)
            {
                var parts = System.Text.RegularExpressions.Regex.Match(parameters[i], @"^(.*?)\s*(\w+)$");
                arguments.Add("*(" + parts.Groups[1].Value + "*)args[" + i + "]");
            }
            text.Append("extern \"C\" void netgen_launch_").Append(kernel.Groups[1].Value).Append("(void** args, unsigned int blocks, unsigned int threads)\n{\n")
                .Append("    for (unsigned int b = 0; b < blocks; b++)\n        for (unsigned int t = 0; t < threads; t++)\n        {\n")
                .Append("            netgen_emulator_set_thread(b, t, blocks, threads);\n            ")
                .Append(kernel.Groups[1].Value).Append('(').Append(string.Join(", ", arguments)).Append(");\n        }\n}\n");
        }
        return text.ToString();
    }

    /// <summary>The launcher of a kernel (see <see cref="Launchers"/>).</summary>
    public delegate* unmanaged<void**, uint, uint, void> Launcher(string name) =>
        (delegate* unmanaged<void**, uint, uint, void>)NativeLibrary.GetExport(_library, "netgen_launch_" + name);

    /// <summary>The address of an <c>extern "C"</c> kernel.</summary>
    public nint Kernel(string name) => NativeLibrary.GetExport(_library, name);

    /// <summary>
    /// Enumerates the threads of a launch of <paramref name="blocks"/> x <paramref name="threads"/>, setting the launch
    /// coordinates before each: call the kernel once per item.
    /// </summary>
    public IEnumerable<(uint Block, uint Thread)> Launch(uint blocks, uint threads)
    {
        for (uint b = 0; b < blocks; b++)
        {
            for (uint t = 0; t < threads; t++)
            {
                SetThread(b, t, blocks, threads);
                yield return (b, t);
            }
        }
    }

    private void SetThread(uint block, uint thread, uint blocks, uint threads) => _setThread(block, thread, blocks, threads);

    public void Dispose()
    {
        NativeLibrary.Free(_library);
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// The generator's whole kernel catalogue compiled once per test class (an xunit class fixture), or the reason it
/// could not be ("skipped: no g++ ..."), and the comparison the emulation tests share.
/// </summary>
public sealed class CudaEmulatorFixture : IDisposable
{
    private readonly CudaKernelEmulator? _emulator;
    private readonly string _skip;

    public CudaEmulatorFixture()
    {
        string? compiler = CudaKernelEmulator.FindCompiler(out _skip);
        if (compiler is not null)
            _emulator = CudaKernelEmulator.Build(compiler, NetGen.Generator.Emit.CudaKernels.Source("AllKernels", NetGen.Generator.Emit.CudaKernels.All));
    }

    /// <summary>The emulator, or the test is skipped with the reason.</summary>
    internal CudaKernelEmulator Emulator
    {
        get
        {
            Xunit.Skip.If(_emulator is null, _skip);
            return _emulator!;
        }
    }

    public void Dispose() => _emulator?.Dispose();

    /// <summary>
    /// Asserts |expected - actual| / max(1, |expected|) &lt;= tolerance element by element (naming the first element that
    /// is not) and writes the worst error to the test output.
    /// </summary>
    public static void Close(Xunit.Abstractions.ITestOutputHelper output, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Xunit.Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]) / Math.Max(1.0, Math.Abs(expected[i]));
            Xunit.Assert.True(error <= tolerance, $"{what}[{i}]: CPU {expected[i]:R}, CUDA {actual[i]:R} (error {error:E2} > {tolerance:E0})");
            worst = Math.Max(worst, error);
        }
        output.WriteLine($"{what}: worst relative error {worst:E2} (tolerance {tolerance:E0})");
    }
}
